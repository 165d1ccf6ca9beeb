// Shared by the handshake tests: credentials written to a temporary
// directory as PEM files (the server loads files, as in production), a real
// OpenSSL 3.0 DTLS 1.2 client over memory datagram queues, the dataplane's
// stateless cookie exchange, and record helpers for the handover keys.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dtls_record/crypto_context.h"
#include "handshake/cipher_suites.h"
#include "handshake/cookie.h"
#include "handshake/datagram_bio.h"
#include "handshake/handshake_engine.h"
#include "handshake/peer_address.h"
#include "handshake/server_context.h"

namespace dtlsgw::handshake::test {

using Bytes = std::vector<uint8_t>;

// Files made once per test program (RSA key generation is the slow part).
struct Credentials {
  std::string dir;
  CertificateFiles ecdsa;      // server, P-256, self-signed
  CertificateFiles rsa;        // server, RSA-2048, self-signed
  std::string psk_file;        // kPskIdentity and kCoapIdentity
  CertificateFiles client;     // client, P-256, issued by client_ca
  std::string client_ca_file;  // the CA that issued `client`
  CertificateFiles stranger;   // client, P-256, self-signed, not trusted
  std::string client_subject;  // RFC 2253 subject of `client`
};
const Credentials& credentials();

// Writes `text` to a new file in the credentials directory; returns its path.
std::string write_file(const std::string& name, const std::string& text);

inline constexpr const char* kPskIdentity = "dtlsgw-test-client";
// A CoAP-style identity with spaces and colons (the last colon splits).
inline constexpr const char* kCoapIdentity = "urn:imei:35 0000:0001";
std::span<const uint8_t> psk_key();
std::span<const uint8_t> coap_psk_key();

// A server configuration with both certificates and the PSK file.
ServerConfig full_server_config();

// Cookie secrets, crypto context and a server context, as the control
// process holds them.
struct Server {
  explicit Server(const ServerConfig& config = full_server_config());
  // previous = current, a fresh current, adopted by `cookies`.
  void rotate_cookie_secrets();
  CookieSecrets secrets;
  std::unique_ptr<CookieMaker> cookies;
  std::unique_ptr<record::CryptoContext> crypto;
  std::shared_ptr<ServerContext> context;
};

struct ClientOptions {
  std::string cipher_suites = "ALL";  // OpenSSL cipher list the client offers
  std::string psk_identity;           // empty: no PSK callback
  std::vector<uint8_t> psk;
  const CertificateFiles* certificate = nullptr;
  SSL_SESSION* resume = nullptr;  // not owned
  bool tickets = true;
  // Verify the server's certificate (against an empty trust store: fails).
  bool verify_server = false;
  long mtu = 1200;
  std::chrono::microseconds initial_timeout{std::chrono::seconds(10)};
};

// An OpenSSL DTLS 1.2 client (renegotiation off, as peers usually run).
class TestClient {
 public:
  explicit TestClient(const ClientOptions& options, const PeerAddress& server_address);
  ~TestClient();
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  // Runs SSL_do_handshake; returns what the client wrote.
  std::vector<Datagram> step();
  void deliver(const Datagram& d) { link_.inbound.push_back(d); }
  void deliver(const std::vector<Datagram>& ds);
  // DTLSv1_handle_timeout; returns what the client wrote.
  std::vector<Datagram> handle_timeout();
  bool done() const { return done_; }
  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }
  SSL* ssl() const { return ssl_; }
  // SSL_write of one record; returns the datagram.
  Datagram write(const Bytes& plaintext);
  // SSL_read of everything delivered: the plaintexts read.
  std::vector<Bytes> read_all();
  SSL_SESSION* get1_session() const { return SSL_get1_session(ssl_); }

 private:
  std::vector<Datagram> take();
  std::unique_ptr<ClientOptions> options_;  // for the PSK callback
  DatagramLink link_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::chrono::microseconds initial_timeout_;
  bool done_ = false;
  bool failed_ = false;
  std::string error_;
};

PeerAddress client_address(uint8_t last_octet = 10, uint16_t port = 40000);
PeerAddress server_address();

// The dataplane's part: the client's first ClientHello answered with a
// HelloVerifyRequest built by CookieMaker; returns the cookie ClientHello.
Datagram cookie_exchange(TestClient& client, CookieMaker& cookies, const PeerAddress& peer);

// Engine configuration for tests: short timers.
EngineConfig test_engine_config();

// Alternates client and engine until both are done (no loss). False with a
// message in `why` if either fails or it does not finish.
bool pump(TestClient& client, HandshakeEngine& engine, std::vector<Datagram> to_client,
          std::string& why);

// Full handshake from scratch with any test client (OpenSSL's TestClient,
// GnutlsClient): the dataplane's cookie exchange, engine start, then pump.
// cookie_exchange and pump are the client type's overloads. Returns the
// engine (check its state).
template <typename Client>
std::unique_ptr<HandshakeEngine> handshake(Server& server, Client& client,
                                           const EngineConfig& config, std::string& why,
                                           const PeerAddress& peer = client_address()) {
  const Datagram hello = cookie_exchange(client, *server.cookies, peer);
  auto engine = HandshakeEngine::create(server.context, *server.crypto, config, peer);
  std::vector<Datagram> out = engine->start(hello, Clock::now());
  if (engine->state() == HandshakeState::failed) {
    why = "start failed: " + std::string(to_string(engine->failure())) + ": " +
          engine->failure_detail();
    return engine;
  }
  pump(client, *engine, std::move(out), why);
  return engine;
}

// Records under the handover keys.
// Opens every epoch-1 record of `datagram` with the client's write key,
// the replay window seeded with h.client_sequences as the dataplane seeds
// it; returns the plaintexts of those that open.
std::vector<Bytes> open_client_records(record::CryptoContext& crypto, const Handover& h,
                                       Datagram datagram);
// Seals `plaintext` as the dataplane would after the handover: numbered
// above OpenSSL's last epoch-1 write, avoiding OpenSSL's GCM nonces.
Datagram seal_server_record(record::CryptoContext& crypto, const Handover& h,
                            const Bytes& plaintext, uint64_t* sequence = nullptr);

// The handover's keys work in both directions against `client`: they open
// the client's next application record, and a record sealed with them
// (above OpenSSL's numbers, avoiding its GCM nonces) is read by SSL_read.
// Reports through gtest.
void expect_handover_keys_work(record::CryptoContext& crypto, TestClient& client,
                               const Handover& h);

// All records of a datagram: (epoch, sequence, type).
struct RecordInfo {
  uint16_t epoch;
  uint64_t sequence;
  uint8_t type;
  size_t length;  // header and fragment
  Bytes fragment;
};
std::vector<RecordInfo> records_of(const Datagram& d);

Bytes pattern(size_t n, uint8_t seed);

}  // namespace dtlsgw::handshake::test
