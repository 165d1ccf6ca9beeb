#include "bench/dtls_peers.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "bench/cookie_mac.h"

namespace dtlsgw::bench {
namespace {

// ---- Credentials -------------------------------------------------------------

bool write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  BIO* b = BIO_new_file(path.c_str(), "w");
  if (b == nullptr) {
    return false;
  }
  const bool ok = (cert == nullptr || PEM_write_bio_X509(b, cert) == 1) &&
                  (key == nullptr ||
                   PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  BIO_free(b);
  return ok;
}

// A self-signed P-256 certificate, O=dtlsgw CN=bench gateway, valid a day.
X509* self_signed(EVP_PKEY* key) {
  X509* x = X509_new();
  if (x == nullptr) {
    return nullptr;
  }
  X509_NAME* name = X509_get_subject_name(x);
  const auto* o = reinterpret_cast<const unsigned char*>("dtlsgw");
  const auto* cn = reinterpret_cast<const unsigned char*>("bench gateway");
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* bc = X509V3_EXT_conf_nid(nullptr, &v3, NID_basic_constraints, "CA:FALSE");
  const bool ok =
      X509_set_version(x, X509_VERSION_3) && ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
      X509_gmtime_adj(X509_getm_notBefore(x), -3600) != nullptr &&
      X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600) != nullptr && X509_set_pubkey(x, key) &&
      X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, o, -1, -1, 0) &&
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0) &&
      X509_set_issuer_name(x, name) && bc != nullptr && X509_add_ext(x, bc, -1) &&
      X509_sign(x, key, EVP_sha256()) > 0;
  X509_EXTENSION_free(bc);
  if (!ok) {
    X509_free(x);
    return nullptr;
  }
  return x;
}

struct CredentialFiles {
  CredentialFiles() {
    char tmpl[] = "/tmp/dtlsgw-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      return;
    }
    c.dir = tmpl;
    c.ecdsa = {c.dir + "/ecdsa-chain.pem", c.dir + "/ecdsa-key.pem"};
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    X509* cert = key == nullptr ? nullptr : self_signed(key);
    good = cert != nullptr && write_pem(c.ecdsa.chain_file, cert, nullptr) &&
           write_pem(c.ecdsa.key_file, nullptr, key);
    X509_free(cert);
    EVP_PKEY_free(key);

    c.psk_identity = "urn:dev:ops:dtlsgw-bench-0001";
    c.psk.resize(16);
    good = good && RAND_bytes(c.psk.data(), static_cast<int>(c.psk.size())) == 1;
    c.psk_file = c.dir + "/psk.txt";
    std::ofstream out(c.psk_file);
    out << c.psk_identity << ":";
    static constexpr char kHex[] = "0123456789abcdef";
    for (uint8_t b : c.psk) {
      out << kHex[b >> 4] << kHex[b & 15];
    }
    out << "\n";
    good = good && static_cast<bool>(out);
  }
  ~CredentialFiles() {
    if (!c.dir.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(c.dir, ignored);
    }
  }
  BenchCredentials c;
  bool good = false;
};

// ---- Callbacks ---------------------------------------------------------------

unsigned int client_timer(SSL* /*ssl*/, unsigned int previous_us) {
  // Over memory nothing is lost: a timer that never fires within a run.
  return previous_us == 0 ? 10u * 1000 * 1000 : std::min(previous_us * 2, 60u * 1000 * 1000);
}

unsigned int client_psk(SSL* /*ssl*/, const char* /*hint*/, char* identity,
                        unsigned int max_identity_length, unsigned char* psk,
                        unsigned int max_psk_length) {
  const BenchCredentials& c = bench_credentials();
  if (c.psk_identity.size() + 1 > max_identity_length || c.psk.size() > max_psk_length) {
    return 0;
  }
  std::memcpy(identity, c.psk_identity.c_str(), c.psk_identity.size() + 1);
  std::memcpy(psk, c.psk.data(), c.psk.size());
  return static_cast<unsigned int>(c.psk.size());
}

unsigned int bare_server_psk(SSL* /*ssl*/, const char* identity, unsigned char* psk,
                             unsigned int max_psk_length) {
  const BenchCredentials& c = bench_credentials();
  if (identity == nullptr || c.psk_identity != identity || c.psk.size() > max_psk_length) {
    return 0;
  }
  std::memcpy(psk, c.psk.data(), c.psk.size());
  return static_cast<unsigned int>(c.psk.size());
}

// Cookies as `openssl s_server` makes them: an HMAC, under a secret made
// at start, of the peer's address and port.
struct BareCookies {
  std::unique_ptr<OpensslHmacSha256> mac;
};

bool bare_cookie(SSL* ssl, uint8_t out[kCookieTagLength]) {
  const auto* cookies = static_cast<const BareCookies*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  const handshake::DatagramLink* link = handshake::datagram_link(SSL_get_rbio(ssl));
  if (cookies == nullptr || link == nullptr) {
    return false;
  }
  uint8_t in[1 + 16 + 2];
  const handshake::PeerAddress& p = link->peer;
  in[0] = static_cast<uint8_t>(p.family);
  std::memcpy(in + 1, p.address, p.address_length());
  in[1 + p.address_length()] = static_cast<uint8_t>(p.port >> 8);
  in[2 + p.address_length()] = static_cast<uint8_t>(p.port);
  return cookies->mac->mac(in, 3 + p.address_length(), out);
}

int bare_generate_cookie(SSL* ssl, unsigned char* cookie, unsigned int* length) {
  if (!bare_cookie(ssl, cookie)) {
    return 0;
  }
  *length = kCookieTagLength;
  return 1;
}

int bare_verify_cookie(SSL* ssl, const unsigned char* cookie, unsigned int length) {
  uint8_t expected[kCookieTagLength];
  return length == kCookieTagLength && bare_cookie(ssl, expected) &&
                 CRYPTO_memcmp(expected, cookie, kCookieTagLength) == 0
             ? 1
             : 0;
}

std::string openssl_errors() {
  std::string s;
  char buf[256];
  while (const unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof(buf));
    s += s.empty() ? "" : "; ";
    s += buf;
  }
  return s.empty() ? "no OpenSSL error" : s;
}

std::vector<Datagram> take(handshake::DatagramLink& link) {
  std::vector<Datagram> out = std::move(link.outbound);
  link.outbound.clear();
  return out;
}

uint16_t suite_of(SSL* ssl) {
  const SSL_CIPHER* c = ssl == nullptr ? nullptr : SSL_get_current_cipher(ssl);
  return c == nullptr ? 0 : SSL_CIPHER_get_protocol_id(c);
}

}  // namespace

handshake::PeerAddress client_peer(size_t n, bool ipv6) {
  const auto port = static_cast<uint16_t>(40000 + n % 20000);
  if (ipv6) {
    uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
    a[13] = static_cast<uint8_t>(n >> 16);
    a[14] = static_cast<uint8_t>(n >> 8);
    a[15] = static_cast<uint8_t>(1 + n % 254);
    return handshake::PeerAddress::v6(a, port);
  }
  const uint8_t a[4] = {192, 0, 2, static_cast<uint8_t>(1 + n % 254)};
  return handshake::PeerAddress::v4(a, port);
}

handshake::PeerAddress server_peer() {
  const uint8_t a[4] = {198, 51, 100, 1};
  return handshake::PeerAddress::v4(a, 5684);
}

const BenchCredentials& bench_credentials() {
  static const CredentialFiles files;
  if (!files.good) {
    std::fprintf(stderr, "handshake_bench: cannot make the credentials\n");
    std::abort();
  }
  return files.c;
}

// ---- Client ------------------------------------------------------------------

std::unique_ptr<ClientContext> ClientContext::create(const ClientConfig& config, std::string& why) {
  std::unique_ptr<ClientContext> c(new ClientContext());
  c->ctx_ = SSL_CTX_new(DTLS_client_method());
  if (c->ctx_ == nullptr || !SSL_CTX_set_min_proto_version(c->ctx_, DTLS1_2_VERSION) ||
      !SSL_CTX_set_max_proto_version(c->ctx_, DTLS1_2_VERSION) ||
      !SSL_CTX_set_cipher_list(c->ctx_, config.cipher_suites.c_str()) ||
      (!config.groups.empty() && !SSL_CTX_set1_groups_list(c->ctx_, config.groups.c_str()))) {
    why = "client context: " + openssl_errors();
    return nullptr;
  }
  SSL_CTX_set_options(c->ctx_, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_QUERY_MTU);
  SSL_CTX_set_verify(c->ctx_, SSL_VERIFY_NONE, nullptr);
  if (config.psk) {
    SSL_CTX_set_psk_client_callback(c->ctx_, client_psk);
  }
  return c;
}

ClientContext::~ClientContext() { SSL_CTX_free(ctx_); }

Client::Client(const ClientContext& context, const handshake::PeerAddress& server) {
  link_.peer = server;
  link_.mtu = 1200;
  SSL* ssl = SSL_new(context.ssl_ctx());
  BIO* bio = ssl == nullptr ? nullptr : handshake::new_datagram_bio(link_);
  if (bio == nullptr) {
    SSL_free(ssl);
    return;
  }
  SSL_set_bio(ssl, bio, bio);
  DTLS_set_timer_cb(ssl, client_timer);
  if (SSL_set_mtu(ssl, link_.mtu) <= 0) {
    SSL_free(ssl);
    return;
  }
  SSL_set_connect_state(ssl);
  ssl_ = ssl;
}

Client::~Client() {
  if (ssl_ != nullptr && done_) {
    SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  }
  SSL_free(ssl_);
}

std::vector<Datagram> Client::step() {
  if (!done_ && !failed_) {
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) {
      done_ = true;
    } else {
      const int e = SSL_get_error(ssl_, r);
      failed_ = e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE;
    }
  }
  ERR_clear_error();
  return take(link_);
}

void Client::deliver(std::vector<Datagram>& ds) {
  for (Datagram& d : ds) {
    link_.inbound.push_back(std::move(d));
  }
  ds.clear();
}

uint16_t Client::suite() const { return done_ ? suite_of(ssl_) : 0; }

// ---- Bare server -------------------------------------------------------------

std::unique_ptr<BareServer> BareServer::create(const BareServerConfig& config, std::string& why) {
  static BareCookies cookies;  // one secret per process, as s_server
  if (cookies.mac == nullptr) {
    uint8_t secret[32];
    if (RAND_bytes(secret, sizeof(secret)) != 1 ||
        (cookies.mac = OpensslHmacSha256::create(secret)) == nullptr) {
      why = "bare cookie secret";
      return nullptr;
    }
    OPENSSL_cleanse(secret, sizeof(secret));
  }
  const BenchCredentials& creds = bench_credentials();
  std::unique_ptr<BareServer> s(new BareServer());
  SSL_CTX* ctx = s->ctx_ = SSL_CTX_new(DTLS_server_method());
  static constexpr unsigned char kSessionIdContext[] = "bare";
  if (ctx == nullptr || !SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) ||
      !SSL_CTX_set_cipher_list(ctx, config.cipher_suite.c_str()) ||
      !SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof(kSessionIdContext) - 1)) {
    why = "bare context: " + openssl_errors();
    return nullptr;
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_QUERY_MTU |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  if (config.certificate &&
      (SSL_CTX_use_certificate_chain_file(ctx, creds.ecdsa.chain_file.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(ctx, creds.ecdsa.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
       SSL_CTX_check_private_key(ctx) != 1)) {
    why = "bare certificate: " + openssl_errors();
    return nullptr;
  }
  if (config.psk) {
    SSL_CTX_set_psk_server_callback(ctx, bare_server_psk);
  }
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(ctx, config.session_cache_size);
  SSL_CTX_set_timeout(ctx, config.session_lifetime_seconds);
  // Tickets on, with OpenSSL's own keys (AES-256-CBC + HMAC-SHA-256).
  SSL_CTX_set_app_data(ctx, &cookies);
  SSL_CTX_set_cookie_generate_cb(ctx, bare_generate_cookie);
  SSL_CTX_set_cookie_verify_cb(ctx, bare_verify_cookie);
  return s;
}

BareServer::~BareServer() { SSL_CTX_free(ctx_); }

BareConnection::BareConnection(const BareServer& server, const handshake::PeerAddress& peer,
                               long mtu) {
  link_.peer = peer;
  link_.mtu = mtu;
  SSL* ssl = SSL_new(server.ssl_ctx());
  BIO* bio = ssl == nullptr ? nullptr : handshake::new_datagram_bio(link_);
  if (bio == nullptr) {
    SSL_free(ssl);
    return;
  }
  SSL_set_bio(ssl, bio, bio);
  if (SSL_set_mtu(ssl, mtu) <= 0) {
    SSL_free(ssl);
    return;
  }
  SSL_set_accept_state(ssl);
  ssl_ = ssl;
}

BareConnection::~BareConnection() {
  if (ssl_ != nullptr && SSL_is_init_finished(ssl_)) {
    // As dtlsgw's engine does: no close_notify written, the session kept.
    SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  }
  SSL_free(ssl_);
}

int BareConnection::listen(const Datagram& d, std::vector<Datagram>& out) {
  link_.inbound.push_back(d);
  BIO_ADDR* client = BIO_ADDR_new();
  const int r = client == nullptr ? -1 : DTLSv1_listen(ssl_, client);
  BIO_ADDR_free(client);
  link_.inbound.clear();
  if (r == 1) {
    // DTLSv1_listen's SSL_clear may have reset the MTU.
    SSL_set_mtu(ssl_, link_.mtu);
  }
  ERR_clear_error();
  out = take(link_);
  return r;
}

int BareConnection::accept(const Datagram* d, std::vector<Datagram>& out) {
  if (d != nullptr) {
    link_.inbound.push_back(*d);
  }
  const int r = SSL_accept(ssl_);
  int result = 1;
  if (r != 1) {
    const int e = SSL_get_error(ssl_, r);
    result = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
  }
  ERR_clear_error();
  std::vector<Datagram> written = take(link_);
  out.insert(out.end(), std::make_move_iterator(written.begin()),
             std::make_move_iterator(written.end()));
  return result;
}

uint16_t BareConnection::suite() const {
  return ssl_ != nullptr && SSL_is_init_finished(ssl_) ? suite_of(ssl_) : 0;
}

}  // namespace dtlsgw::bench
