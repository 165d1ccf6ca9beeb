// The OpenSSL peers of the handshake benchmark (bench/README.md): the
// credentials both servers load, the one DTLS 1.2 client every server
// under test talks to, and the bare OpenSSL server dtlsgw's control path
// is held against. All over memory: a datagram is a std::vector handed
// between the peers through handshake/datagram_bio (the same transport for
// the bare server and dtlsgw, so it is not part of the difference).
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "handshake/datagram_bio.h"
#include "handshake/peer_address.h"
#include "handshake/server_context.h"

namespace dtlsgw::bench {

using handshake::Datagram;

// Peer addresses (RFC 5737, RFC 3849 documentation ranges): the n-th
// client (its own address and port), and the server the clients talk to.
handshake::PeerAddress client_peer(size_t n, bool ipv6);
handshake::PeerAddress server_peer();

// Made once per process in a temporary directory, removed at exit: an
// ECDSA P-256 self-signed server certificate and a PSK file with one
// identity (the servers load files, as in production).
struct BenchCredentials {
  std::string dir;
  handshake::CertificateFiles ecdsa;
  std::string psk_file;
  std::string psk_identity;
  std::vector<uint8_t> psk;
};
const BenchCredentials& bench_credentials();

// What the client offers. One client configuration per benchmark, the same
// for every server measured.
struct ClientConfig {
  std::string cipher_suites;  // OpenSSL cipher list
  std::string groups;         // supported_groups, e.g. "P-256"; empty: OpenSSL's
  bool psk = false;           // offer bench_credentials()' PSK identity
};

// SSL_CTX of the client; SSL objects are made per handshake.
class ClientContext {
 public:
  static std::unique_ptr<ClientContext> create(const ClientConfig& config, std::string& why);
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;
  SSL_CTX* ssl_ctx() const { return ctx_; }

 private:
  ClientContext() = default;
  SSL_CTX* ctx_ = nullptr;
};

// One client handshake: an OpenSSL DTLS 1.2 client over a memory link,
// retransmission timer at 10 s so that nothing is ever retransmitted.
class Client {
 public:
  Client(const ClientContext& context, const handshake::PeerAddress& server);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool ok() const { return ssl_ != nullptr; }
  // SSL_do_handshake; returns the datagrams the client wrote.
  std::vector<Datagram> step();
  void deliver(std::vector<Datagram>& ds);
  bool done() const { return done_; }
  bool failed() const { return failed_; }
  // The suite negotiated (IANA number), 0 before completion.
  uint16_t suite() const;

 private:
  handshake::DatagramLink link_;
  SSL* ssl_ = nullptr;
  bool done_ = false;
  bool failed_ = false;
};

// Bare OpenSSL 3.0 DTLS 1.2 server: the SSL_CTX configured as dtlsgw's
// ServerContext configures its own (same options, suite, certificate and
// key files, PSK, session cache and tickets), but OpenSSL's built-in ticket
// keys, a plain PSK lookup, and cookies made the way `openssl s_server`
// makes them (an HMAC of the peer address; here HMAC-SHA-256 through a
// keyed EVP_MAC context). Nothing of dtlsgw's handshake code.
struct BareServerConfig {
  std::string cipher_suite;  // OpenSSL name
  bool certificate = true;   // load bench_credentials().ecdsa
  bool psk = false;          // accept bench_credentials()' PSK identity
  long session_cache_size = 20000;
  long session_lifetime_seconds = 7200;
};

class BareServer {
 public:
  static std::unique_ptr<BareServer> create(const BareServerConfig& config, std::string& why);
  ~BareServer();
  BareServer(const BareServer&) = delete;
  BareServer& operator=(const BareServer&) = delete;
  SSL_CTX* ssl_ctx() const { return ctx_; }

 private:
  BareServer() = default;
  SSL_CTX* ctx_ = nullptr;
};

// One server connection of a BareServer: an SSL over its own memory link.
class BareConnection {
 public:
  // The MTU is OpenSSL's, in bytes of UDP payload; SSL_OP_NO_QUERY_MTU.
  BareConnection(const BareServer& server, const handshake::PeerAddress& peer, long mtu);
  ~BareConnection();
  BareConnection(const BareConnection&) = delete;
  BareConnection& operator=(const BareConnection&) = delete;

  bool ok() const { return ssl_ != nullptr; }
  // DTLSv1_listen on `d`: 1 when it carried a valid cookie (the SSL is
  // then ready for accept), 0 when OpenSSL answered it with a
  // HelloVerifyRequest (in `out`), < 0 on error.
  int listen(const Datagram& d, std::vector<Datagram>& out);
  // Feeds `d` (none when empty) and runs SSL_accept; what the server
  // wrote goes to `out`. 1 complete, 0 in progress, -1 failed.
  int accept(const Datagram* d, std::vector<Datagram>& out);
  uint16_t suite() const;

 private:
  handshake::DatagramLink link_;
  SSL* ssl_ = nullptr;
};

}  // namespace dtlsgw::bench
