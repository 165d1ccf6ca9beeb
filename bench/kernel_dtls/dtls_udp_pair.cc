#include "bench/kernel_dtls/dtls_udp_pair.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

namespace dtlsgw::bench {
namespace {

constexpr char kCipher[] = "PSK-AES128-GCM-SHA256";
constexpr char kIdentity[] = "kernel-dtls-bench";
// Handshake deadline: loopback loses nothing, but a loaded machine may
// deschedule either thread for a while.
constexpr auto kHandshakeDeadline = std::chrono::seconds(20);
// OpenSSL's link MTU (SSL_OP_NO_QUERY_MTU): an Ethernet MTU, as a server
// facing real clients would use, not loopback's 64 KiB. 1400-byte
// plaintexts still fit one record and one datagram.
constexpr long kLinkMtu = 1500;

// One per process, made before any thread starts.
struct Secrets {
  uint8_t psk[16] = {};
  uint8_t cookie[16] = {};
  bool ok = false;
  Secrets() { ok = RAND_bytes(psk, sizeof psk) == 1 && RAND_bytes(cookie, sizeof cookie) == 1; }
};
const Secrets& secrets() {
  static const Secrets s;
  return s;
}

unsigned int server_psk(SSL* /*ssl*/, const char* identity, unsigned char* psk,
                        unsigned int max_psk_length) {
  const Secrets& s = secrets();
  if (identity == nullptr || std::strcmp(identity, kIdentity) != 0 ||
      sizeof s.psk > max_psk_length) {
    return 0;
  }
  std::memcpy(psk, s.psk, sizeof s.psk);
  return sizeof s.psk;
}

unsigned int client_psk(SSL* /*ssl*/, const char* /*hint*/, char* identity,
                        unsigned int max_identity_length, unsigned char* psk,
                        unsigned int max_psk_length) {
  const Secrets& s = secrets();
  if (sizeof kIdentity > max_identity_length || sizeof s.psk > max_psk_length) {
    return 0;
  }
  std::memcpy(identity, kIdentity, sizeof kIdentity);
  std::memcpy(psk, s.psk, sizeof s.psk);
  return sizeof s.psk;
}

// The cookie exchange is not what is measured: a per-run random value
// (a real server MACs the peer's address, as `openssl s_server` does).
int generate_cookie(SSL* /*ssl*/, unsigned char* cookie, unsigned int* length) {
  std::memcpy(cookie, secrets().cookie, sizeof secrets().cookie);
  *length = sizeof secrets().cookie;
  return 1;
}

int verify_cookie(SSL* /*ssl*/, const unsigned char* cookie, unsigned int length) {
  return length == sizeof secrets().cookie && CRYPTO_memcmp(cookie, secrets().cookie, length) == 0
             ? 1
             : 0;
}

std::string openssl_errors(const char* what) {
  std::string s = what;
  char buf[256];
  while (const unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    s += ": ";
    s += buf;
  }
  return s;
}

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// Asks for `bytes` of receive buffer; returns what the kernel granted.
int grow_receive_buffer(int fd, int bytes) {
  // SO_RCVBUFFORCE (CAP_NET_ADMIN) ignores net.core.rmem_max; without the
  // capability SO_RCVBUF gets at most rmem_max.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0) {
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }
  int granted = 0;
  socklen_t length = sizeof granted;
  (void)getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &length);
  return granted;
}

void set_receive_timeout(SSL* ssl, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  BIO_ctrl(SSL_get_rbio(ssl), BIO_CTRL_DGRAM_SET_RECV_TIMEOUT, 0, &tv);
}

sockaddr_in local_address(int fd) {
  sockaddr_in a{};
  socklen_t length = sizeof a;
  (void)getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length);
  return a;
}

SSL_CTX* make_context(bool server) {
  SSL_CTX* ctx = SSL_CTX_new(server ? DTLS_server_method() : DTLS_client_method());
  if (ctx == nullptr) {
    return nullptr;
  }
  if (SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx, kCipher) != 1) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  // As `openssl s_server -dtls` does: whole datagrams are read at once.
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU);
  if (server) {
    SSL_CTX_set_psk_server_callback(ctx, server_psk);
    SSL_CTX_set_cookie_generate_cb(ctx, generate_cookie);
    SSL_CTX_set_cookie_verify_cb(ctx, verify_cookie);
  } else {
    SSL_CTX_set_psk_client_callback(ctx, client_psk);
  }
  return ctx;
}

// One SSL on `fd` through a datagram BIO.
SSL* make_ssl(SSL_CTX* ctx, int fd) {
  SSL* ssl = SSL_new(ctx);
  BIO* bio = ssl == nullptr ? nullptr : BIO_new_dgram(fd, BIO_NOCLOSE);
  if (bio == nullptr) {
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_bio(ssl, bio, bio);
  // The BIO takes off its IPv4 and UDP headers (28 bytes).
  DTLS_set_link_mtu(ssl, kLinkMtu);
  return ssl;
}

// Runs `step` (SSL_accept or SSL_connect) to completion on a blocking BIO:
// it returns on a DTLS timer expiry (the BIO's read timeout) to retransmit.
template <typename Step>
std::string run_handshake(SSL* ssl, Step step, const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + kHandshakeDeadline;
  for (;;) {
    const int r = step(ssl);
    if (r == 1) {
      return {};
    }
    const int e = SSL_get_error(ssl, r);
    if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
        std::chrono::steady_clock::now() > deadline) {
      return openssl_errors(what);
    }
    if (DTLSv1_handle_timeout(ssl) < 0) {
      return openssl_errors(what);
    }
  }
}

}  // namespace

std::unique_ptr<DtlsUdpPair> DtlsUdpPair::create(int receive_buffer, std::string& why) {
  if (!secrets().ok) {
    why = "RAND_bytes failed";
    return nullptr;
  }
  std::unique_ptr<DtlsUdpPair> p(new DtlsUdpPair());
  p->server_fd_ = socket(AF_INET, SOCK_DGRAM, 0);
  p->client_fd_ = socket(AF_INET, SOCK_DGRAM, 0);
  if (p->server_fd_ < 0 || p->client_fd_ < 0) {
    why = errno_text("socket");
    return nullptr;
  }
  sockaddr_in loopback{};
  loopback.sin_family = AF_INET;
  loopback.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(p->server_fd_, reinterpret_cast<const sockaddr*>(&loopback), sizeof loopback) != 0 ||
      bind(p->client_fd_, reinterpret_cast<const sockaddr*>(&loopback), sizeof loopback) != 0) {
    why = errno_text("bind 127.0.0.1");
    return nullptr;
  }
  const sockaddr_in server_address = local_address(p->server_fd_);
  if (connect(p->client_fd_, reinterpret_cast<const sockaddr*>(&server_address),
              sizeof server_address) != 0) {
    why = errno_text("connect");
    return nullptr;
  }
  p->server_rcvbuf_ = grow_receive_buffer(p->server_fd_, receive_buffer);
  p->client_rcvbuf_ = grow_receive_buffer(p->client_fd_, receive_buffer);

  p->server_ctx_ = make_context(true);
  p->client_ctx_ = make_context(false);
  if (p->server_ctx_ == nullptr || p->client_ctx_ == nullptr) {
    why = openssl_errors("SSL_CTX");
    return nullptr;
  }
  p->server_ssl_ = make_ssl(p->server_ctx_, p->server_fd_);
  p->client_ssl_ = make_ssl(p->client_ctx_, p->client_fd_);
  if (p->server_ssl_ == nullptr || p->client_ssl_ == nullptr) {
    why = openssl_errors("SSL_new");
    return nullptr;
  }
  BIO_ADDR* peer = BIO_ADDR_new();
  const bool set =
      peer != nullptr &&
      BIO_ADDR_rawmake(peer, AF_INET, &server_address.sin_addr, 4, server_address.sin_port) == 1 &&
      BIO_ctrl(SSL_get_rbio(p->client_ssl_), BIO_CTRL_DGRAM_SET_CONNECTED, 0, peer) == 1;
  BIO_ADDR_free(peer);
  if (!set) {
    why = openssl_errors("BIO_CTRL_DGRAM_SET_CONNECTED (client)");
    return nullptr;
  }
  SSL_set_connect_state(p->client_ssl_);
  set_receive_timeout(p->server_ssl_, kReceiveTimeoutMs);
  set_receive_timeout(p->client_ssl_, kReceiveTimeoutMs);
  return p;
}

DtlsUdpPair::~DtlsUdpPair() {
  SSL_free(server_ssl_);
  SSL_free(client_ssl_);
  SSL_CTX_free(server_ctx_);
  SSL_CTX_free(client_ctx_);
  if (server_fd_ >= 0) {
    close(server_fd_);
  }
  if (client_fd_ >= 0) {
    close(client_fd_);
  }
}

std::string DtlsUdpPair::server_handshake() {
  BIO_ADDR* peer = BIO_ADDR_new();
  if (peer == nullptr) {
    return "BIO_ADDR_new failed";
  }
  // DTLSv1_listen returns 0 after answering a ClientHello without a valid
  // cookie with a HelloVerifyRequest, and on a read timeout.
  const auto deadline = std::chrono::steady_clock::now() + kHandshakeDeadline;
  int r = 0;
  while ((r = DTLSv1_listen(server_ssl_, peer)) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
  }
  if (r != 1) {
    BIO_ADDR_free(peer);
    return openssl_errors("DTLSv1_listen");
  }
  // As a real server does once the cookie proved the address: this socket
  // now talks to that peer only (the kernel's connected-socket lookup), and
  // the BIO sends without a destination address.
  sockaddr_in a{};
  a.sin_family = AF_INET;
  size_t length = sizeof a.sin_addr;
  const bool raw =
      BIO_ADDR_family(peer) == AF_INET && BIO_ADDR_rawaddress(peer, &a.sin_addr, &length) == 1;
  a.sin_port = BIO_ADDR_rawport(peer);
  if (!raw || connect(server_fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    BIO_ADDR_free(peer);
    return errno_text("connect (server)");
  }
  BIO_ctrl(SSL_get_rbio(server_ssl_), BIO_CTRL_DGRAM_SET_CONNECTED, 0, peer);
  BIO_ADDR_free(peer);
  return run_handshake(server_ssl_, SSL_accept, "SSL_accept");
}

std::string DtlsUdpPair::client_handshake() {
  return run_handshake(client_ssl_, SSL_connect, "SSL_connect");
}

std::string DtlsUdpPair::suite() const {
  const char* name = server_ssl_ == nullptr ? nullptr : SSL_get_cipher_name(server_ssl_);
  return name == nullptr ? "" : name;
}

}  // namespace dtlsgw::bench
