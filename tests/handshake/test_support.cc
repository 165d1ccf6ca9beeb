#include "tests/handshake/test_support.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "dtls_record/record_protection.h"
#include "handshake/client_hello.h"

namespace dtlsgw::handshake::test {
namespace {

[[noreturn]] void die(const std::string& what) {
  throw std::runtime_error(what + ": " + drain_openssl_errors());
}

EVP_PKEY* ec_key() {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (k == nullptr) {
    die("EC key");
  }
  return k;
}

EVP_PKEY* rsa_key() {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
  if (k == nullptr) {
    die("RSA key");
  }
  return k;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
  if (ext == nullptr || !X509_add_ext(cert, ext, -1)) {
    die("extension");
  }
  X509_EXTENSION_free(ext);
}

// A certificate for `key` named O=dtlsgw, CN=`cn`, signed by issuer_key
// (self-signed when issuer is null).
X509* make_certificate(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, bool ca,
                       long serial) {
  X509* x = X509_new();
  X509_NAME* name = X509_get_subject_name(x);
  const bool ok =
      x != nullptr && X509_set_version(x, X509_VERSION_3) &&
      ASN1_INTEGER_set(X509_get_serialNumber(x), serial) &&
      X509_gmtime_adj(X509_getm_notBefore(x), -3600) != nullptr &&
      X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600) != nullptr && X509_set_pubkey(x, key) &&
      X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("dtlsgw"), -1, -1, 0) &&
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(cn), -1, -1, 0) &&
      X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  if (!ok) {
    die("certificate");
  }
  X509* issuer_cert = issuer != nullptr ? issuer : x;
  add_extension(x, issuer_cert, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (ca) {
    add_extension(x, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  }
  add_extension(x, issuer_cert, NID_subject_key_identifier, "hash");
  if (X509_sign(x, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) <= 0) {
    die("sign");
  }
  return x;
}

void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  BIO* b = BIO_new_file(path.c_str(), "w");
  if (b == nullptr) {
    die("open " + path);
  }
  const bool ok =
      (cert == nullptr || PEM_write_bio_X509(b, cert)) &&
      (key == nullptr || PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr));
  BIO_free(b);
  if (!ok) {
    die("write " + path);
  }
}

std::string hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : bytes) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

struct CredentialFiles {
  CredentialFiles() {
    char tmpl[] = "/tmp/dtlsgw-handshake-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      throw std::runtime_error("mkdtemp");
    }
    c.dir = tmpl;
    const auto path = [&](const char* n) { return c.dir + "/" + n; };

    EVP_PKEY* ec = ec_key();
    X509* ec_cert = make_certificate(ec, "gateway ecdsa", nullptr, nullptr, false, 1);
    c.ecdsa = {path("ecdsa-chain.pem"), path("ecdsa-key.pem")};
    write_pem(c.ecdsa.chain_file, ec_cert, nullptr);
    write_pem(c.ecdsa.key_file, nullptr, ec);

    EVP_PKEY* rsa = rsa_key();
    X509* rsa_cert = make_certificate(rsa, "gateway rsa", nullptr, nullptr, false, 2);
    c.rsa = {path("rsa-chain.pem"), path("rsa-key.pem")};
    write_pem(c.rsa.chain_file, rsa_cert, nullptr);
    write_pem(c.rsa.key_file, nullptr, rsa);

    EVP_PKEY* ca = ec_key();
    X509* ca_cert = make_certificate(ca, "device ca", nullptr, nullptr, true, 3);
    c.client_ca_file = path("client-ca.pem");
    write_pem(c.client_ca_file, ca_cert, nullptr);

    EVP_PKEY* device = ec_key();
    X509* device_cert = make_certificate(device, "device-42", ca_cert, ca, false, 4);
    c.client = {path("client-chain.pem"), path("client-key.pem")};
    write_pem(c.client.chain_file, device_cert, nullptr);
    write_pem(c.client.key_file, nullptr, device);
    c.client_subject = "CN=device-42,O=dtlsgw";

    EVP_PKEY* other = ec_key();
    X509* other_cert = make_certificate(other, "stranger", nullptr, nullptr, false, 5);
    c.stranger = {path("stranger-chain.pem"), path("stranger-key.pem")};
    write_pem(c.stranger.chain_file, other_cert, nullptr);
    write_pem(c.stranger.key_file, nullptr, other);

    c.psk_file = path("psk.txt");
    std::ofstream(c.psk_file) << "# test identities\n"
                              << kPskIdentity << ":" << hex(psk_key()) << "\n\n"
                              << kCoapIdentity << ":" << hex(coap_psk_key()) << "\r\n";

    for (X509* x : {ec_cert, rsa_cert, ca_cert, device_cert, other_cert}) {
      X509_free(x);
    }
    for (EVP_PKEY* k : {ec, rsa, ca, device, other}) {
      EVP_PKEY_free(k);
    }
  }
  ~CredentialFiles() {
    std::error_code ignored;
    std::filesystem::remove_all(c.dir, ignored);
  }
  Credentials c;
};

// RFC 5737 documentation addresses.
constexpr uint8_t kClientNet[4] = {192, 0, 2, 0};
constexpr uint8_t kServerIp[4] = {198, 51, 100, 1};

unsigned int client_timer(SSL* ssl, unsigned int previous_us) {
  const auto* initial = static_cast<const std::chrono::microseconds*>(SSL_get_app_data(ssl));
  if (previous_us == 0) {
    return static_cast<unsigned int>(initial->count());
  }
  return std::min(previous_us * 2, 60u * 1000 * 1000);
}

unsigned int client_psk(SSL* ssl, const char* /*hint*/, char* identity,
                        unsigned int max_identity_length, unsigned char* psk,
                        unsigned int max_psk_length) {
  const auto* o = static_cast<const ClientOptions*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (o == nullptr || o->psk_identity.size() + 1 > max_identity_length ||
      o->psk.size() > max_psk_length) {
    return 0;
  }
  std::copy(o->psk_identity.begin(), o->psk_identity.end(), identity);
  identity[o->psk_identity.size()] = '\0';
  std::copy(o->psk.begin(), o->psk.end(), psk);
  return static_cast<unsigned int>(o->psk.size());
}

}  // namespace

const Credentials& credentials() {
  static const CredentialFiles files;
  return files.c;
}

std::string write_file(const std::string& name, const std::string& text) {
  const std::string p = credentials().dir + "/" + name;
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

std::span<const uint8_t> psk_key() {
  static const std::array<uint8_t, 16> k = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                            0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
  return k;
}

std::span<const uint8_t> coap_psk_key() {
  static const std::array<uint8_t, 9> k = {'s', 'e', 'c', 'r', 'e', 't', 'P', 'S', 'K'};
  return k;
}

ServerConfig full_server_config() {
  const Credentials& c = credentials();
  ServerConfig config;
  config.certificates = {c.ecdsa, c.rsa};
  config.psk_file = c.psk_file;
  return config;
}

Server::Server(const ServerConfig& config) {
  cookies = CookieMaker::create();
  crypto = record::CryptoContext::create();
  if (cookies == nullptr || crypto == nullptr) {
    throw std::runtime_error("CookieMaker or CryptoContext");
  }
  rotate_cookie_secrets();
  const Status s = ServerContext::create(config, *cookies, nullptr, context);
  if (!s) {
    throw std::runtime_error("ServerContext: " + s.message());
  }
}

void Server::rotate_cookie_secrets() {
  if (!rotate_cookie_secret(secrets)) {
    throw std::runtime_error("cookie secret");
  }
  cookies->set_secrets(secrets);
}

// ---- TestClient --------------------------------------------------------------

TestClient::TestClient(const ClientOptions& options, const PeerAddress& server)
    : initial_timeout_(options.initial_timeout) {
  link_.peer = server;
  link_.mtu = options.mtu;
  ctx_ = SSL_CTX_new(DTLS_client_method());
  if (ctx_ == nullptr) {
    die("client SSL_CTX_new");
  }
  options_ = std::make_unique<ClientOptions>(options);
  SSL_CTX_set_app_data(ctx_, options_.get());
  if (!SSL_CTX_set_min_proto_version(ctx_, DTLS1_2_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx_, DTLS1_2_VERSION) ||
      !SSL_CTX_set_cipher_list(ctx_, options.cipher_suites.c_str())) {
    die("client context");
  }
  SSL_CTX_set_options(ctx_, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_QUERY_MTU |
                                (options.tickets ? 0 : SSL_OP_NO_TICKET));
  SSL_CTX_set_verify(ctx_, options.verify_server ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (!options.psk_identity.empty()) {
    SSL_CTX_set_psk_client_callback(ctx_, client_psk);
  }
  if (options.certificate != nullptr &&
      (SSL_CTX_use_certificate_chain_file(ctx_, options.certificate->chain_file.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(ctx_, options.certificate->key_file.c_str(), SSL_FILETYPE_PEM) !=
           1)) {
    die("client certificate");
  }
  ssl_ = SSL_new(ctx_);
  BIO* bio = new_datagram_bio(link_);
  if (ssl_ == nullptr || bio == nullptr) {
    die("client SSL");
  }
  SSL_set_bio(ssl_, bio, bio);
  SSL_set_app_data(ssl_, &initial_timeout_);
  DTLS_set_timer_cb(ssl_, client_timer);
  if (SSL_set_mtu(ssl_, options.mtu) <= 0) {
    die("client MTU");
  }
  if (options.resume != nullptr && SSL_set_session(ssl_, options.resume) != 1) {
    die("client SSL_set_session");
  }
  SSL_set_connect_state(ssl_);
}

TestClient::~TestClient() {
  // Marked shut down without writing: SSL_free of a live connection would
  // mark its session not resumable (SSL_CTX_remove_session).
  if (ssl_ != nullptr && done_) {
    SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  }
  SSL_free(ssl_);
  SSL_CTX_free(ctx_);
}

std::vector<Datagram> TestClient::take() {
  std::vector<Datagram> out = std::move(link_.outbound);
  link_.outbound.clear();
  return out;
}

void TestClient::deliver(const std::vector<Datagram>& ds) {
  for (const Datagram& d : ds) {
    deliver(d);
  }
}

std::vector<Datagram> TestClient::step() {
  if (!done_ && !failed_) {
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) {
      done_ = true;
    } else {
      const int e = SSL_get_error(ssl_, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        failed_ = true;
        error_ = "client SSL_get_error " + std::to_string(e) + ": " + drain_openssl_errors();
      }
    }
  }
  ERR_clear_error();
  return take();
}

std::vector<Datagram> TestClient::handle_timeout() {
  DTLSv1_handle_timeout(ssl_);
  ERR_clear_error();
  return take();
}

Datagram TestClient::write(const Bytes& plaintext) {
  const int n = SSL_write(ssl_, plaintext.data(), static_cast<int>(plaintext.size()));
  if (n != static_cast<int>(plaintext.size())) {
    die("SSL_write");
  }
  std::vector<Datagram> out = take();
  if (out.size() != 1) {
    throw std::runtime_error("SSL_write wrote " + std::to_string(out.size()) + " datagrams");
  }
  return out[0];
}

std::vector<Bytes> TestClient::read_all() {
  std::vector<Bytes> got;
  for (;;) {
    Bytes buf(1 << 15);
    const int n = SSL_read(ssl_, buf.data(), static_cast<int>(buf.size()));
    if (n <= 0) {
      break;
    }
    buf.resize(static_cast<size_t>(n));
    got.push_back(std::move(buf));
  }
  ERR_clear_error();
  return got;
}

// ---- Exchanges -------------------------------------------------------------

PeerAddress client_address(uint8_t last_octet, uint16_t port) {
  uint8_t a[4] = {kClientNet[0], kClientNet[1], kClientNet[2], last_octet};
  return PeerAddress::v4(a, port);
}

PeerAddress server_address() { return PeerAddress::v4(kServerIp, 5684); }

Datagram cookie_exchange(TestClient& client, CookieMaker& cookies, const PeerAddress& peer) {
  std::vector<Datagram> first = client.step();
  if (first.size() != 1) {
    throw std::runtime_error("expected one ClientHello datagram, got " +
                             std::to_string(first.size()));
  }
  ClientHello hello;
  if (parse_client_hello(first[0], hello) != ClientHelloResult::ok ||
      cookies.verify_cookie(peer, hello) != CookieCheck::absent) {
    throw std::runtime_error("first ClientHello unusable");
  }
  Datagram hvr(CookieMaker::kHelloVerifyRequestLength);
  const size_t n = cookies.build_hello_verify_request(peer, hello, hvr);
  if (n == 0) {
    throw std::runtime_error("build_hello_verify_request");
  }
  hvr.resize(n);
  client.deliver(hvr);
  std::vector<Datagram> second = client.step();
  if (second.size() != 1) {
    throw std::runtime_error("expected one cookie ClientHello datagram, got " +
                             std::to_string(second.size()));
  }
  ClientHello with_cookie;
  if (parse_client_hello(second[0], with_cookie) != ClientHelloResult::ok ||
      cookies.verify_cookie(peer, with_cookie) != CookieCheck::ok) {
    throw std::runtime_error("cookie ClientHello does not verify");
  }
  return second[0];
}

EngineConfig test_engine_config() {
  EngineConfig c;
  c.initial_retransmission_timeout = std::chrono::milliseconds(50);
  c.max_retransmission_timeout = std::chrono::milliseconds(400);
  c.max_retransmissions = 4;
  c.handshake_timeout = std::chrono::seconds(10);
  return c;
}

bool pump(TestClient& client, HandshakeEngine& engine, std::vector<Datagram> to_client,
          std::string& why) {
  for (int round = 0; round < 32; ++round) {
    client.deliver(to_client);
    to_client.clear();
    const std::vector<Datagram> to_server = client.step();
    if (client.failed()) {
      why = client.error() + " (engine " + std::string(to_string(engine.failure())) + ": " +
            engine.failure_detail() + ")";
      return false;
    }
    for (const Datagram& d : to_server) {
      std::vector<Datagram> answer = engine.on_datagram(d, Clock::now());
      to_client.insert(to_client.end(), answer.begin(), answer.end());
    }
    if (engine.state() == HandshakeState::failed) {
      why = "engine failed: " + std::string(to_string(engine.failure())) + ": " +
            engine.failure_detail();
      return false;
    }
    if (client.done() && engine.state() == HandshakeState::complete && to_client.empty()) {
      return true;
    }
  }
  why = "handshake did not finish";
  return false;
}

// ---- Records ---------------------------------------------------------------

std::vector<Bytes> open_client_records(record::CryptoContext& crypto, const Handover& h,
                                       Datagram datagram) {
  record::ReadEpoch read;
  if (!read.install(crypto, record::Epoch{1}, h.keys.aead(), h.keys.client_write_key(),
                    h.keys.client_write_iv())) {
    throw std::runtime_error("ReadEpoch::install");
  }
  // As the dataplane does: the numbers the handshake consumed are seen.
  for (const uint64_t sequence : h.client_sequences) {
    read.replay_window().commit(sequence);
  }
  std::vector<Bytes> out;
  record::RecordWalker walker(datagram);
  record::RecordView r;
  while (walker.next(r)) {
    std::span<uint8_t> plaintext;
    if (r.header.number.epoch() == record::Epoch{1} &&
        open_record(crypto, read, r, plaintext) == record::OpenResult::ok) {
      out.emplace_back(plaintext.begin(), plaintext.end());
    }
  }
  return out;
}

Datagram seal_server_record(record::CryptoContext& crypto, const Handover& h,
                            const Bytes& plaintext, uint64_t* sequence) {
  record::WriteEpoch write;
  if (!write.install(crypto, record::Epoch{1}, h.keys.aead(), h.keys.server_write_key(),
                     h.keys.server_write_iv(), h.server_first_free_sequence(),
                     h.server_explicit_nonces)) {
    throw std::runtime_error("WriteEpoch::install");
  }
  Datagram buf(write.seal_prefix() + plaintext.size() + write.tag_length());
  std::copy(plaintext.begin(), plaintext.end(),
            buf.begin() + static_cast<long>(write.seal_prefix()));
  if (sequence != nullptr) {
    *sequence = write.next_number().sequence();
  }
  size_t length = 0;
  const record::SealResult r = seal_record(crypto, write, record::ContentType::application_data,
                                           buf, plaintext.size(), length);
  if (r != record::SealResult::ok) {
    throw std::runtime_error("seal_record: " + std::string(to_string(r)));
  }
  buf.resize(length);
  return buf;
}

void expect_handover_keys_work(record::CryptoContext& crypto, TestClient& client,
                               const Handover& h) {
  const Bytes up = pattern(100, 7);
  const std::vector<Bytes> opened = open_client_records(crypto, h, client.write(up));
  ASSERT_EQ(opened.size(), 1u) << "the client's application record did not open";
  EXPECT_EQ(opened[0], up);

  const Bytes down = pattern(300, 9);
  uint64_t sequence = 0;
  client.deliver(seal_server_record(crypto, h, down, &sequence));
  EXPECT_GT(sequence, h.server_last_sequence);
  const std::vector<Bytes> read = client.read_all();
  ASSERT_EQ(read.size(), 1u) << "the client did not read the dataplane's record";
  EXPECT_EQ(read[0], down);
}

std::vector<RecordInfo> records_of(const Datagram& d) {
  Datagram copy = d;
  std::vector<RecordInfo> out;
  record::RecordWalker walker(copy);
  record::RecordView r;
  while (walker.next(r)) {
    out.push_back({r.header.number.epoch().value, r.header.number.sequence(),
                   static_cast<uint8_t>(r.header.type), r.record.size(),
                   Bytes(r.fragment.begin(), r.fragment.end())});
  }
  return out;
}

Bytes pattern(size_t n, uint8_t seed) {
  Bytes v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i] = static_cast<uint8_t>(seed + 13 * i + (i >> 8));
  }
  return v;
}

}  // namespace dtlsgw::handshake::test
