// One OpenSSL DTLS 1.2 connection over kernel UDP sockets on loopback, set
// up the way a plain OpenSSL server deploys it: the server's socket is
// bound, DTLSv1_listen answers the first ClientHello with a
// HelloVerifyRequest (RFC 6347 §4.2.1) and returns on the ClientHello that
// carries the cookie, then the socket is connect()ed to that peer and the
// BIO told so (BIO_CTRL_DGRAM_SET_CONNECTED) before SSL_accept. The
// client's socket is connected to the server from the start.
//
// Suite: TLS_PSK_WITH_AES_128_GCM_SHA256 (0x00A8, OpenSSL
// "PSK-AES128-GCM-SHA256", RFC 5487 §3): AES-128-GCM records (RFC 5288)
// with the least handshake machinery. The record layer, which is all the
// benchmark times, is the same for ECDHE-ECDSA-AES128-GCM-SHA256.
//
// Nothing of dtlsgw is used here: this is what a user would deploy
// instead of it (bench/kernel_dtls/README.md).
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>

namespace dtlsgw::bench {

// The two ends of one DTLS connection. The handshake runs in two threads
// (server_handshake and client_handshake at the same time, one each);
// afterwards each SSL belongs to the thread that uses it.
class DtlsUdpPair {
 public:
  // Both sockets on 127.0.0.1, the SSL objects made, nothing sent yet.
  // `receive_buffer` bytes are asked for on both sockets (SO_RCVBUFFORCE,
  // else SO_RCVBUF capped by net.core.rmem_max).
  static std::unique_ptr<DtlsUdpPair> create(int receive_buffer, std::string& why);
  ~DtlsUdpPair();
  DtlsUdpPair(const DtlsUdpPair&) = delete;
  DtlsUdpPair& operator=(const DtlsUdpPair&) = delete;

  // DTLSv1_listen, connect, SSL_accept. Empty string on success, else why.
  std::string server_handshake();
  // SSL_connect. Empty string on success, else why.
  std::string client_handshake();

  SSL* server() const { return server_ssl_; }
  SSL* client() const { return client_ssl_; }
  // The negotiated suite's OpenSSL name ("" before the handshake).
  std::string suite() const;
  // The receive buffer the kernel granted (getsockopt SO_RCVBUF) on the
  // server's and the client's socket.
  int server_receive_buffer() const { return server_rcvbuf_; }
  int client_receive_buffer() const { return client_rcvbuf_; }

  // SSL_read/SSL_write on either end give up after this long without a
  // datagram (BIO_CTRL_DGRAM_SET_RECV_TIMEOUT): a lost record ends a
  // round instead of hanging it.
  static constexpr int kReceiveTimeoutMs = 300;

 private:
  DtlsUdpPair() = default;

  SSL_CTX* server_ctx_ = nullptr;
  SSL_CTX* client_ctx_ = nullptr;
  SSL* server_ssl_ = nullptr;
  SSL* client_ssl_ = nullptr;
  int server_fd_ = -1;
  int client_fd_ = -1;
  int server_rcvbuf_ = 0;
  int client_rcvbuf_ = 0;
};

}  // namespace dtlsgw::bench
