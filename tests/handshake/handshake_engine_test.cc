// The handshake engine against a real OpenSSL 3.0 DTLS 1.2 client, after
// the dataplane's stateless cookie exchange (RFC 6347 §4.2.1), for every
// suite dtlsgw serves. The Handover is checked the way the dataplane uses
// it: its keys open the client's first application record (dtls_record
// ReadEpoch), and a record sealed with them above OpenSSL's last epoch-1
// number, avoiding OpenSSL's GCM nonces, is read by the client's SSL_read.
#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <string>

#include "dtls_record/record_protection.h"
#include "handshake/client_hello.h"
#include "tests/handshake/test_support.h"

namespace dtlsgw::handshake {

void PrintTo(const CipherSuite* suite, std::ostream* os) { *os << suite->openssl_name; }

namespace test {
namespace {

ClientOptions options_for(const CipherSuite& suite) {
  ClientOptions o;
  o.cipher_suites = std::string(suite.openssl_name);
  if (suite.key_exchange == KeyExchange::psk || suite.key_exchange == KeyExchange::ecdhe_psk) {
    o.psk_identity = kPskIdentity;
    o.psk.assign(psk_key().begin(), psk_key().end());
  }
  return o;
}

std::vector<const CipherSuite*> all_suites() {
  std::vector<const CipherSuite*> v;
  for (const CipherSuite& s : dtls12_aead_suites()) {
    v.push_back(&s);
  }
  return v;
}

std::string suite_name(const ::testing::TestParamInfo<const CipherSuite*>& info) {
  std::string n(info.param->openssl_name);
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
}

class EverySuite : public ::testing::TestWithParam<const CipherSuite*> {};

INSTANTIATE_TEST_SUITE_P(Suites, EverySuite, ::testing::ValuesIn(all_suites()), suite_name);

TEST_P(EverySuite, FullHandshakeHandsOverWorkingKeys) {
  const CipherSuite& suite = *GetParam();
  Server server;
  TestClient client(options_for(suite), server_address());
  std::string why;
  auto engine = handshake(server, client, test_engine_config(), why);
  ASSERT_EQ(engine->state(), HandshakeState::complete) << why;
  ASSERT_TRUE(client.done());
  ASSERT_TRUE(engine->has_handover());
  EXPECT_TRUE(engine->unanswered_bio_controls().empty())
      << "first unanswered BIO control: " << engine->unanswered_bio_controls()[0];
  // The cookie verify callback ran in DTLSv1_listen and in SSL_accept.
  EXPECT_EQ(engine->stats().cookie_verifications, 2u);

  Handover h = engine->take_handover();
  EXPECT_FALSE(engine->has_handover());
  EXPECT_EQ(h.peer, client_address());
  EXPECT_EQ(h.suite, suite.iana_id);
  EXPECT_EQ(h.suite, SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(client.ssl())));
  EXPECT_EQ(h.keys.aead(), suite.aead);
  const record::AeadParams& p = record::aead_params(suite.aead);
  EXPECT_EQ(h.keys.client_write_key().size(), p.key_length);
  EXPECT_EQ(h.keys.client_write_iv().size(), p.fixed_iv_length);
  EXPECT_FALSE(h.resumed);
  // DESIGN.md: OpenSSL's own epoch-1 writes end at sequence 0 (Finished).
  EXPECT_EQ(h.server_last_sequence, 0u);
  const bool gcm = suite.aead == record::Aead::aes128_gcm || suite.aead == record::Aead::aes256_gcm;
  EXPECT_EQ(h.server_explicit_nonces.size(), gcm ? 1u : 0u);
  // The client's Finished, epoch 1 sequence 0, consumed and authenticated.
  EXPECT_EQ(h.client_sequences, std::vector<uint64_t>{0});
  EXPECT_EQ(h.client_highest_sequence(), 0u);
  EXPECT_TRUE(h.client_pending_records.empty());

  const bool psk =
      suite.key_exchange == KeyExchange::psk || suite.key_exchange == KeyExchange::ecdhe_psk;
  EXPECT_EQ(h.identity.kind, psk ? PeerIdentity::Kind::psk : PeerIdentity::Kind::none);
  EXPECT_EQ(h.identity.name, psk ? kPskIdentity : "");

  // Final flight: NewSessionTicket + ChangeCipherSpec + Finished (tickets
  // are on and the client supports them).
  ASSERT_FALSE(h.final_flight.empty());
  size_t epoch1 = 0;
  bool change_cipher_spec = false;
  for (const Datagram& d : h.final_flight) {
    for (const RecordInfo& r : records_of(d)) {
      change_cipher_spec |= r.type == 20;
      epoch1 += r.epoch == 1;
    }
  }
  EXPECT_TRUE(change_cipher_spec);
  EXPECT_EQ(epoch1, 1u);

  expect_handover_keys_work(*server.crypto, client, h);
}

// ---- Resumption (RFC 5246 §7.3 abbreviated handshake; RFC 5077 tickets) ----

constexpr const char* kEcdsaGcm = "ECDHE-ECDSA-AES128-GCM-SHA256";

ClientOptions ecdsa_client(bool tickets = true) {
  ClientOptions o;
  o.cipher_suites = kEcdsaGcm;
  o.tickets = tickets;
  return o;
}

// A first full handshake; returns the client's session for resumption.
SSL_SESSION* first_session(Server& server, const ClientOptions& options) {
  TestClient client(options, server_address());
  std::string why;
  auto engine = handshake(server, client, test_engine_config(), why);
  if (engine->state() != HandshakeState::complete) {
    ADD_FAILURE() << why;
    return nullptr;
  }
  return client.get1_session();
}

struct SessionFree {
  void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
};
using Session = std::unique_ptr<SSL_SESSION, SessionFree>;

// Resumes `session`; expects completion and working keys. Returns the
// handover's `resumed`.
bool resume(Server& server, SSL_SESSION* session, ClientOptions options, Handover* out = nullptr) {
  options.resume = session;
  TestClient client(options, server_address());
  std::string why;
  auto engine = handshake(server, client, test_engine_config(), why);
  EXPECT_EQ(engine->state(), HandshakeState::complete) << why;
  if (engine->state() != HandshakeState::complete) {
    return false;
  }
  Handover h = engine->take_handover();
  EXPECT_EQ(h.resumed, SSL_session_reused(client.ssl()) == 1);
  expect_handover_keys_work(*server.crypto, client, h);
  const bool resumed = h.resumed;
  if (out != nullptr) {
    *out = std::move(h);
  }
  return resumed;
}

TEST(Resumption, BySessionIdHandsOverKeysTheSameWay) {
  Server server;
  Session session(first_session(server, ecdsa_client(/*tickets=*/false)));
  ASSERT_NE(session, nullptr);
  unsigned int id_length = 0;
  SSL_SESSION_get_id(session.get(), &id_length);
  EXPECT_GT(id_length, 0u) << "the server must have issued a session ID";
  Handover h;
  EXPECT_TRUE(resume(server, session.get(), ecdsa_client(false), &h));
  // Abbreviated handshake: the server's last flight is ServerHello +
  // ChangeCipherSpec + Finished, written at start, and the client's
  // Finished ends it.
  ASSERT_FALSE(h.final_flight.empty());
  const auto first = records_of(h.final_flight.front());
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first[0].epoch, 0);
  EXPECT_EQ(first[0].type, 22);
  EXPECT_EQ(h.server_last_sequence, 0u);
  EXPECT_EQ(h.client_sequences, std::vector<uint64_t>{0});
  EXPECT_EQ(h.suite, 0xc02b);
}

TEST(Resumption, BySessionIdNeedsTheServerCache) {
  ServerConfig config = full_server_config();
  config.session_cache = false;
  Server server(config);
  Session session(first_session(server, ecdsa_client(false)));
  ASSERT_NE(session, nullptr);
  EXPECT_FALSE(resume(server, session.get(), ecdsa_client(false)));
}

TEST(Resumption, ByTicketUnderCurrentAndPreviousKeyButNotOlder) {
  Server server;
  TicketKeys* keys = server.context->ticket_keys();
  ASSERT_NE(keys, nullptr);
  Session session(first_session(server, ecdsa_client()));
  ASSERT_NE(session, nullptr);
  EXPECT_TRUE(SSL_SESSION_has_ticket(session.get()));
  EXPECT_EQ(keys->issued(), 1u);

  EXPECT_TRUE(resume(server, session.get(), ecdsa_client()));
  EXPECT_EQ(keys->accepted_current(), 1u);

  // One rotation: the ticket is under the previous key, still accepted,
  // and renewed (a new ticket under the current key).
  ASSERT_TRUE(keys->rotate());
  const uint64_t issued = keys->issued();
  EXPECT_TRUE(resume(server, session.get(), ecdsa_client()));
  EXPECT_EQ(keys->accepted_previous(), 1u);
  EXPECT_EQ(keys->issued(), issued + 1);

  // Two rotations: the key is gone; a full handshake instead.
  ASSERT_TRUE(keys->rotate());
  EXPECT_FALSE(resume(server, session.get(), ecdsa_client()));
  EXPECT_EQ(keys->unknown(), 1u);
}

TEST(Resumption, TicketKeysSurviveAContextReload) {
  Server server;
  Session session(first_session(server, ecdsa_client()));
  ASSERT_NE(session, nullptr);
  std::shared_ptr<ServerContext> reloaded;
  ASSERT_TRUE(ServerContext::create(full_server_config(), *server.cookies,
                                    server.context->shared_ticket_keys(), reloaded));
  server.context = reloaded;
  EXPECT_TRUE(resume(server, session.get(), ecdsa_client()));
}

TEST(Resumption, PskIdentityIsCarriedByTheSession) {
  Server server;
  ClientOptions o = options_for(*find_suite("PSK-AES128-CCM8"));
  Session session(first_session(server, o));
  ASSERT_NE(session, nullptr);
  Handover h;
  EXPECT_TRUE(resume(server, session.get(), o, &h));
  EXPECT_EQ(h.identity.kind, PeerIdentity::Kind::psk);
  EXPECT_EQ(h.identity.name, kPskIdentity);
}

// ---- Client certificates (RFC 5246 §7.4.4, §7.4.6) ------------------------

ServerConfig verifying_config(bool require = true) {
  ServerConfig c = full_server_config();
  c.client_ca_file = credentials().client_ca_file;
  c.require_client_certificate = require;
  return c;
}

TEST(ClientCertificate, VerifiedCertificateNamesThePeer) {
  Server server(verifying_config());
  ClientOptions o = ecdsa_client();
  o.certificate = &credentials().client;
  TestClient client(o, server_address());
  std::string why;
  auto engine = handshake(server, client, test_engine_config(), why);
  ASSERT_EQ(engine->state(), HandshakeState::complete) << why;
  Handover h = engine->take_handover();
  EXPECT_EQ(h.identity.kind, PeerIdentity::Kind::certificate);
  EXPECT_EQ(h.identity.name, credentials().client_subject);
  expect_handover_keys_work(*server.crypto, client, h);
}

TEST(ClientCertificate, IdentitySurvivesResumption) {
  Server server(verifying_config());
  ClientOptions o = ecdsa_client();
  o.certificate = &credentials().client;
  Session session(first_session(server, o));
  ASSERT_NE(session, nullptr);
  Handover h;
  EXPECT_TRUE(resume(server, session.get(), o, &h));
  EXPECT_EQ(h.identity.kind, PeerIdentity::Kind::certificate);
  EXPECT_EQ(h.identity.name, credentials().client_subject);
}

TEST(ClientCertificate, MissingCertificateFailsWhenRequired) {
  Server server(verifying_config());
  TestClient client(ecdsa_client(), server_address());
  std::string why;
  auto engine = handshake(server, client, test_engine_config(), why);
  EXPECT_EQ(engine->state(), HandshakeState::failed);
  EXPECT_EQ(engine->failure(), FailureReason::protocol_error) << engine->failure_detail();
  EXPECT_TRUE(engine->alert_sent().has_value());
  EXPECT_FALSE(engine->has_handover());
}

TEST(ClientCertificate, UntrustedCertificateFails) {
  Server server(verifying_config());
  ClientOptions o = ecdsa_client();
  o.certificate = &credentials().stranger;
  TestClient client(o, server_address());
  std::string why;
  auto engine = handshake(server, client, test_engine_config(), why);
  EXPECT_EQ(engine->state(), HandshakeState::failed);
  EXPECT_EQ(engine->failure(), FailureReason::protocol_error);
  EXPECT_EQ(engine->alert_sent(), 48) << "unknown_ca (RFC 5246 §7.2.2)";
}

TEST(ClientCertificate, OptionalWhenNotRequired) {
  Server server(verifying_config(/*require=*/false));
  TestClient client(ecdsa_client(), server_address());
  std::string why;
  auto engine = handshake(server, client, test_engine_config(), why);
  ASSERT_EQ(engine->state(), HandshakeState::complete) << why;
  EXPECT_EQ(engine->take_handover().identity.kind, PeerIdentity::Kind::none);
}

TEST(ClientCertificate, NotRequestedWhenVerificationIsOff) {
  Server server;  // no client CA
  ClientOptions o = ecdsa_client();
  o.certificate = &credentials().client;
  TestClient client(o, server_address());
  std::string why;
  auto engine = handshake(server, client, test_engine_config(), why);
  ASSERT_EQ(engine->state(), HandshakeState::complete) << why;
  EXPECT_EQ(engine->take_handover().identity.kind, PeerIdentity::Kind::none);
}

// The client rejects the server's certificate and says so with a fatal
// alert (RFC 5246 §7.2.2): the engine fails with peer_alert.
TEST(Alerts, ClientRejectingTheServerCertificate) {
  Server server;
  ClientOptions o = ecdsa_client();
  o.verify_server = true;  // no trust anchors: the self-signed one fails
  TestClient client(o, server_address());
  const Datagram hello = cookie_exchange(client, *server.cookies, client_address());
  auto engine = HandshakeEngine::create(server.context, *server.crypto, test_engine_config(),
                                        client_address());
  client.deliver(engine->start(hello, Clock::now()));
  const std::vector<Datagram> alert = client.step();
  ASSERT_TRUE(client.failed());
  ASSERT_FALSE(alert.empty());
  for (const Datagram& d : alert) {
    engine->on_datagram(d, Clock::now());
  }
  EXPECT_EQ(engine->state(), HandshakeState::failed);
  EXPECT_EQ(engine->failure(), FailureReason::peer_alert) << engine->failure_detail();
  EXPECT_TRUE(engine->alert_received().has_value());
  EXPECT_FALSE(engine->alert_sent().has_value());
}

// ---- PSK identities (RFC 4279 §5.1) ----------------------------------------

TEST(PskIdentity, CoapStyleIdentityWithSpacesAndColons) {
  Server server;
  ClientOptions o;
  o.cipher_suites = "PSK-AES128-CCM8";
  o.psk_identity = kCoapIdentity;
  o.psk.assign(coap_psk_key().begin(), coap_psk_key().end());
  TestClient client(o, server_address());
  std::string why;
  auto engine = handshake(server, client, test_engine_config(), why);
  ASSERT_EQ(engine->state(), HandshakeState::complete) << why;
  Handover h = engine->take_handover();
  EXPECT_EQ(h.identity.kind, PeerIdentity::Kind::psk);
  EXPECT_EQ(h.identity.name, kCoapIdentity);
  expect_handover_keys_work(*server.crypto, client, h);
}

TEST(PskIdentity, UnknownIdentityFails) {
  Server server;
  ClientOptions o;
  o.cipher_suites = "PSK-AES128-GCM-SHA256";
  o.psk_identity = "nobody";
  o.psk.assign(psk_key().begin(), psk_key().end());
  TestClient client(o, server_address());
  std::string why;
  auto engine = handshake(server, client, test_engine_config(), why);
  EXPECT_EQ(engine->state(), HandshakeState::failed);
  EXPECT_EQ(engine->alert_sent(), 115) << "unknown_psk_identity (RFC 4279 §2)";
}

// A wrong key makes the client's epoch-1 Finished fail authentication,
// and DTLS discards such a record silently (RFC 6347 §4.1.2.7): the
// handshake never completes and ends at its deadline.
TEST(PskIdentity, WrongKeyNeverCompletes) {
  Server server;
  ClientOptions o;
  o.cipher_suites = "PSK-AES128-GCM-SHA256";
  o.psk_identity = kPskIdentity;
  o.psk.assign(psk_key().begin(), psk_key().end());
  o.psk[0] ^= 1;
  TestClient client(o, server_address());
  EngineConfig c = test_engine_config();
  c.handshake_timeout = std::chrono::milliseconds(100);
  std::string why;
  auto engine = handshake(server, client, c, why);
  EXPECT_NE(engine->state(), HandshakeState::complete);
  EXPECT_FALSE(engine->has_handover());
  const TimePoint deadline = engine->next_deadline();
  ASSERT_NE(deadline, TimePoint::max());
  engine->on_timer(std::max(deadline, Clock::now() + std::chrono::milliseconds(100)));
  EXPECT_EQ(engine->state(), HandshakeState::failed);
  EXPECT_EQ(engine->failure(), FailureReason::deadline_exceeded);
}

// ---- Start-up refusals -----------------------------------------------------

TEST(Start, CookieMadeForAnotherPeerIsRejected) {
  Server server;
  TestClient client(ecdsa_client(), server_address());
  const Datagram hello = cookie_exchange(client, *server.cookies, client_address(10));
  auto engine = HandshakeEngine::create(server.context, *server.crypto, test_engine_config(),
                                        client_address(11));
  EXPECT_TRUE(engine->start(hello, Clock::now()).empty()) << "no HelloVerifyRequest from here";
  EXPECT_EQ(engine->state(), HandshakeState::failed);
  EXPECT_EQ(engine->failure(), FailureReason::cookie_rejected) << engine->failure_detail();
}

// Cookie secrets rotate (cookie.h): a cookie made just before a rotation
// is still accepted under the previous secret, not after a second one.
TEST(Start, CookieFromThePreviousSecretIsAcceptedNotOlder) {
  for (const int rotations : {1, 2}) {
    SCOPED_TRACE(rotations);
    Server server;
    TestClient client(ecdsa_client(), server_address());
    const Datagram hello = cookie_exchange(client, *server.cookies, client_address());
    for (int i = 0; i < rotations; ++i) {
      server.rotate_cookie_secrets();
    }
    auto engine = HandshakeEngine::create(server.context, *server.crypto, test_engine_config(),
                                          client_address());
    const std::vector<Datagram> out = engine->start(hello, Clock::now());
    if (rotations == 1) {
      EXPECT_FALSE(out.empty());
      EXPECT_EQ(engine->state(), HandshakeState::in_progress);
    } else {
      EXPECT_TRUE(out.empty());
      EXPECT_EQ(engine->failure(), FailureReason::cookie_rejected);
    }
  }
}

// An IPv6 peer: the cookie covers its 16-byte address, the BIO reports it
// to DTLSv1_listen, and the handover names it.
TEST(Start, Ipv6PeerCompletes) {
  Server server;
  const uint8_t address[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42};
  const PeerAddress peer = PeerAddress::v6(address, 61616);
  ClientOptions o = options_for(*find_suite("ECDHE-PSK-CHACHA20-POLY1305"));
  TestClient client(o, server_address());
  std::string why;
  auto engine = handshake(server, client, test_engine_config(), why, peer);
  ASSERT_EQ(engine->state(), HandshakeState::complete) << why;
  Handover h = engine->take_handover();
  EXPECT_EQ(h.peer, peer);
  expect_handover_keys_work(*server.crypto, client, h);
}

// DESIGN.md, "OpenSSL 3.0 facts": after the dataplane's HelloVerifyRequest
// (message_seq 0), DTLSv1_listen + SSL_accept answer the cookie ClientHello
// with a ServerHello at message_seq 1 whose record mirrors the
// ClientHello's record sequence number.
TEST(Start, ServerHelloContinuesTheCookieExchangeNumbering) {
  Server server;
  TestClient client(ecdsa_client(), server_address());
  const Datagram hello = cookie_exchange(client, *server.cookies, client_address());
  ClientHello parsed;
  ASSERT_EQ(parse_client_hello(hello, parsed), ClientHelloResult::ok);
  EXPECT_EQ(parsed.message_seq, 1);
  auto engine = HandshakeEngine::create(server.context, *server.crypto, test_engine_config(),
                                        client_address());
  const std::vector<Datagram> out = engine->start(hello, Clock::now());
  ASSERT_FALSE(out.empty());
  const std::vector<RecordInfo> records = records_of(out[0]);
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records[0].epoch, 0);
  EXPECT_EQ(records[0].sequence, parsed.record_number.sequence());
  ASSERT_GE(records[0].fragment.size(), 12u);
  EXPECT_EQ(records[0].fragment[0], 2) << "ServerHello";
  EXPECT_EQ(records[0].fragment[4] << 8 | records[0].fragment[5], 1) << "message_seq";
}

TEST(Start, GarbageIsNotAClientHello) {
  Server server;
  auto engine = HandshakeEngine::create(server.context, *server.crypto, test_engine_config(),
                                        client_address());
  EXPECT_TRUE(engine->start(pattern(80, 3), Clock::now()).empty());
  EXPECT_EQ(engine->failure(), FailureReason::bad_client_hello);
}

TEST(Start, MtuBelowOpenSslMinimumIsABadConfig) {
  Server server;
  EngineConfig c = test_engine_config();
  c.path_mtu = 100;
  auto engine = HandshakeEngine::create(server.context, *server.crypto, c, client_address());
  EXPECT_EQ(engine->state(), HandshakeState::failed);
  EXPECT_EQ(engine->failure(), FailureReason::bad_config);
}

// OpenSSL 3.0 treats a timer with under 15 ms left as expired; a shorter
// initial timeout would burn every retransmission inside start().
TEST(Start, RetransmissionTimeoutBelowFifteenMillisecondsIsABadConfig) {
  Server server;
  EngineConfig c = test_engine_config();
  c.initial_retransmission_timeout = std::chrono::milliseconds(14);
  auto engine = HandshakeEngine::create(server.context, *server.crypto, c, client_address());
  EXPECT_EQ(engine->failure(), FailureReason::bad_config);
  c.initial_retransmission_timeout = std::chrono::milliseconds(15);
  auto fine = HandshakeEngine::create(server.context, *server.crypto, c, client_address());
  EXPECT_EQ(fine->state(), HandshakeState::in_progress);
}

}  // namespace
}  // namespace test
}  // namespace dtlsgw::handshake
