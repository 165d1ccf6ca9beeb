// The handshake engine against a second, independent client: GnuTLS 3.7
// (libgnutls, push/pull callbacks over memory datagram queues), after the
// dataplane's stateless cookie exchange (RFC 6347 §4.2.1), for every suite
// dtlsgw serves and both authentication modes (certificates, verified by
// the client against the server's self-signed certificate; PSK, RFC 4279).
// The Handover is checked as the dataplane uses it: its keys open GnuTLS's
// first application record in a ReadEpoch seeded with the consumed client
// numbers, and a record sealed in a WriteEpoch above OpenSSL's last
// epoch-1 number (avoiding its GCM nonces) is returned by
// gnutls_record_recv byte for byte.
//
// Suites: GnuTLS 3.7.9 has all 14 of dtlsgw's suites in DTLS 1.2
// (`gnutls-cli --list` with the priority strings of priority_for, gnutls_client.h):
// ECDHE-ECDSA, PSK with AES-128/256-GCM, ChaCha20-Poly1305, AES-128-CCM,
// AES-128-CCM-8; ECDHE-RSA with AES-128/256-GCM, ChaCha20-Poly1305; and
// ECDHE-PSK-ChaCha20-Poly1305. None is left out.
#include <gnutls/gnutls.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "handshake/client_hello.h"
#include "handshake/handshake_table.h"
#include "tests/handshake/gnutls_client.h"
#include "tests/handshake/test_support.h"

namespace dtlsgw::handshake {

void PrintTo(const CipherSuite* suite, std::ostream* os) { *os << suite->openssl_name; }

namespace test {
namespace {

using namespace std::chrono_literals;

constexpr uint8_t kChangeCipherSpec = 20;

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

bool is_psk(const CipherSuite& s) {
  return s.key_exchange == KeyExchange::psk || s.key_exchange == KeyExchange::ecdhe_psk;
}

constexpr uint16_t kRenegotiationInfoScsv = 0x00ff;

// ClientHello.cipher_suites of a ClientHello datagram.
std::vector<uint16_t> offered_suites(const Datagram& d) {
  ClientHello hello;
  if (parse_client_hello(d, hello) != ClientHelloResult::ok) {
    ADD_FAILURE() << "not a ClientHello";
    return {};
  }
  std::vector<uint16_t> out;
  for (size_t i = 0; i + 1 < hello.cipher_suites.size(); i += 2) {
    out.push_back(static_cast<uint16_t>(hello.cipher_suites[i] << 8 | hello.cipher_suites[i + 1]));
  }
  return out;
}

bool has_change_cipher_spec(const std::vector<Datagram>& flight) {
  for (const Datagram& d : flight) {
    for (const RecordInfo& r : records_of(d)) {
      if (r.type == kChangeCipherSpec) {
        return true;
      }
    }
  }
  return false;
}

std::vector<Datagram> to_engine(HandshakeEngine& e, const std::vector<Datagram>& in) {
  std::vector<Datagram> out;
  for (const Datagram& d : in) {
    std::vector<Datagram> answer = e.on_datagram(d, Clock::now());
    out.insert(out.end(), answer.begin(), answer.end());
  }
  return out;
}

// ---- Every suite -----------------------------------------------------------

class GnutlsEverySuite : public ::testing::TestWithParam<const CipherSuite*> {};

INSTANTIATE_TEST_SUITE_P(Suites, GnutlsEverySuite, ::testing::ValuesIn(all_suites()), suite_name);

TEST_P(GnutlsEverySuite, FullHandshakeHandsOverWorkingKeys) {
  const CipherSuite& suite = *GetParam();
  Server server;
  GnutlsClient client(gnutls_client_options(suite));
  const Datagram hello = cookie_exchange(client, *server.cookies, client_address());
  // The priority string offers this one suite (and the renegotiation SCSV,
  // RFC 5746 §3.3, if GnuTLS adds it), so the engine cannot pick another.
  std::vector<uint16_t> offered = offered_suites(hello);
  std::erase(offered, kRenegotiationInfoScsv);
  EXPECT_EQ(offered, std::vector<uint16_t>{suite.iana_id});
  auto engine = HandshakeEngine::create(server.context, *server.crypto, test_engine_config(),
                                        client_address());
  std::string why;
  ASSERT_TRUE(pump(client, *engine, engine->start(hello, Clock::now()), why)) << why;
  ASSERT_EQ(engine->state(), HandshakeState::complete);
  ASSERT_TRUE(client.done());
  ASSERT_TRUE(engine->has_handover());
  EXPECT_TRUE(engine->unanswered_bio_controls().empty());
  EXPECT_EQ(engine->stats().cookie_verifications, 2u);
  if (!is_psk(suite)) {
    // The client verified the server's certificate (gnutls_handshake would
    // have failed otherwise); say so explicitly.
    EXPECT_EQ(gnutls_session_get_verify_cert_status(client.session()), 0u);
  }

  Handover h = engine->take_handover();
  EXPECT_EQ(h.peer, client_address());
  EXPECT_EQ(h.suite, suite.iana_id);
  EXPECT_EQ(client.suite(), suite.iana_id) << "GnuTLS agrees on the suite";
  EXPECT_EQ(h.keys.aead(), suite.aead);
  const record::AeadParams& p = record::aead_params(suite.aead);
  EXPECT_EQ(h.keys.client_write_key().size(), p.key_length);
  EXPECT_EQ(h.keys.client_write_iv().size(), p.fixed_iv_length);
  EXPECT_FALSE(h.resumed);
  EXPECT_FALSE(client.resumed());
  EXPECT_EQ(h.server_last_sequence, 0u);
  const bool gcm = suite.aead == record::Aead::aes128_gcm || suite.aead == record::Aead::aes256_gcm;
  EXPECT_EQ(h.server_explicit_nonces.size(), gcm ? 1u : 0u);
  // GnuTLS's Finished, epoch 1 sequence 0, consumed and authenticated.
  EXPECT_EQ(h.client_sequences, std::vector<uint64_t>{0});
  EXPECT_TRUE(h.client_pending_records.empty());
  EXPECT_EQ(h.identity.kind, is_psk(suite) ? PeerIdentity::Kind::psk : PeerIdentity::Kind::none);
  EXPECT_EQ(h.identity.name, is_psk(suite) ? kPskIdentity : "");
  EXPECT_TRUE(has_change_cipher_spec(h.final_flight));

  expect_handover_keys_work(*server.crypto, client, h);
}

// ---- Authentication --------------------------------------------------------

// RFC 4279 §5.1: the identity is opaque bytes; a CoAP-style one with
// spaces and colons reaches the handover unchanged from GnuTLS too.
TEST(GnutlsPsk, CoapStyleIdentity) {
  Server server;
  GnutlsClientOptions o = gnutls_client_options(*find_suite("PSK-AES128-CCM8"));
  o.psk_identity = kCoapIdentity;
  o.psk.assign(coap_psk_key().begin(), coap_psk_key().end());
  GnutlsClient client(o);
  std::string why;
  auto engine = handshake(server, client, test_engine_config(), why);
  ASSERT_EQ(engine->state(), HandshakeState::complete) << why;
  Handover h = engine->take_handover();
  EXPECT_EQ(h.identity.kind, PeerIdentity::Kind::psk);
  EXPECT_EQ(h.identity.name, kCoapIdentity);
  expect_handover_keys_work(*server.crypto, client, h);
}

// The client really verifies: trusting only the RSA certificate, it refuses
// the ECDSA one. GnuTLS leaves the alert to the application
// (gnutls_alert_send_appropriate, RFC 5246 §7.2.2), which fails the engine
// with peer_alert.
TEST(GnutlsCertificate, ClientRefusesAnUntrustedServerCertificate) {
  Server server;
  GnutlsClientOptions o = gnutls_client_options(*find_suite("ECDHE-ECDSA-AES128-GCM-SHA256"));
  o.trust_files = {credentials().rsa.chain_file};
  GnutlsClient client(o);
  const Datagram hello = cookie_exchange(client, *server.cookies, client_address());
  auto engine = HandshakeEngine::create(server.context, *server.crypto, test_engine_config(),
                                        client_address());
  client.deliver(engine->start(hello, Clock::now()));
  EXPECT_TRUE(client.step_until_output().empty()) << "no alert without the application";
  ASSERT_TRUE(client.failed());
  EXPECT_EQ(client.error_code(), GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) << client.error();
  ASSERT_GE(gnutls_alert_send_appropriate(client.session(), client.error_code()), 0);
  const std::vector<Datagram> alert = client.take();
  ASSERT_EQ(alert.size(), 1u);
  EXPECT_TRUE(to_engine(*engine, alert).empty());
  EXPECT_EQ(engine->state(), HandshakeState::failed);
  EXPECT_EQ(engine->failure(), FailureReason::peer_alert) << engine->failure_detail();
  int level = 0;
  EXPECT_EQ(engine->alert_received(),
            gnutls_error_to_alert(GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR, &level));
  EXPECT_EQ(level, GNUTLS_AL_FATAL);
  EXPECT_FALSE(engine->alert_sent().has_value());
}

// RFC 5246 §7.4.6: a GnuTLS client certificate, verified by the server,
// names the peer in the handover.
TEST(GnutlsCertificate, ClientCertificateNamesThePeer) {
  ServerConfig config = full_server_config();
  config.client_ca_file = credentials().client_ca_file;
  Server server(config);
  GnutlsClientOptions o = gnutls_client_options(*find_suite("ECDHE-ECDSA-CHACHA20-POLY1305"));
  o.certificate = &credentials().client;
  GnutlsClient client(o);
  std::string why;
  auto engine = handshake(server, client, test_engine_config(), why);
  ASSERT_EQ(engine->state(), HandshakeState::complete) << why;
  Handover h = engine->take_handover();
  EXPECT_EQ(h.identity.kind, PeerIdentity::Kind::certificate);
  EXPECT_EQ(h.identity.name, credentials().client_subject);
  expect_handover_keys_work(*server.crypto, client, h);
}

// ---- Resumption (RFC 5246 §7.3 abbreviated handshake; RFC 5077 tickets) ----

// A first full handshake; returns GnuTLS's session data.
Bytes first_session(Server& server, const GnutlsClientOptions& options) {
  GnutlsClient client(options);
  std::string why;
  auto engine = handshake(server, client, test_engine_config(), why);
  if (engine->state() != HandshakeState::complete) {
    ADD_FAILURE() << why;
    return {};
  }
  return client.session_data();
}

// Resumes from `data`; expects completion and working keys; returns the
// handover.
std::optional<Handover> resume(Server& server, GnutlsClientOptions options, const Bytes& data) {
  options.resume = data;
  GnutlsClient client(options);
  std::string why;
  auto engine = handshake(server, client, test_engine_config(), why);
  EXPECT_EQ(engine->state(), HandshakeState::complete) << why;
  if (engine->state() != HandshakeState::complete) {
    return std::nullopt;
  }
  Handover h = engine->take_handover();
  EXPECT_EQ(h.resumed, client.resumed()) << "engine and GnuTLS disagree about resumption";
  EXPECT_EQ(client.suite(), h.suite);
  expect_handover_keys_work(*server.crypto, client, h);
  return h;
}

TEST(GnutlsResumption, ByTicket) {
  Server server;
  TicketKeys* keys = server.context->ticket_keys();
  ASSERT_NE(keys, nullptr);
  const GnutlsClientOptions o = gnutls_client_options(*find_suite("ECDHE-ECDSA-AES128-CCM"));
  const Bytes data = first_session(server, o);
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(keys->issued(), 1u) << "GnuTLS asked for a ticket and got one";
  std::optional<Handover> h = resume(server, o, data);
  ASSERT_TRUE(h.has_value());
  EXPECT_TRUE(h->resumed);
  EXPECT_EQ(keys->accepted_current(), 1u);
  // Abbreviated: the server's ServerHello + [NewSessionTicket] +
  // ChangeCipherSpec + Finished, GnuTLS's Finished ends it.
  ASSERT_FALSE(h->final_flight.empty());
  const std::vector<RecordInfo> first = records_of(h->final_flight.front());
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first[0].epoch, 0);
  EXPECT_EQ(h->client_sequences, std::vector<uint64_t>{0});
}

TEST(GnutlsResumption, BySessionId) {
  Server server;
  GnutlsClientOptions o = gnutls_client_options(*find_suite("PSK-AES256-GCM-SHA384"));
  o.tickets = false;
  const Bytes data = first_session(server, o);
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(server.context->ticket_keys()->issued(), 0u) << "GNUTLS_NO_TICKETS";
  std::optional<Handover> h = resume(server, o, data);
  ASSERT_TRUE(h.has_value());
  EXPECT_TRUE(h->resumed);
  // The PSK identity is carried by the cached session.
  EXPECT_EQ(h->identity.kind, PeerIdentity::Kind::psk);
  EXPECT_EQ(h->identity.name, kPskIdentity);
}

// ---- Loss ------------------------------------------------------------------

// The server's final flight is lost once. GnuTLS's timer runs out and it
// retransmits its last flight, the Finished under a new epoch-1 number
// (RFC 6347 §4.2.4); the engine answers with the cached final flight, byte
// for byte, without OpenSSL, and the handshake completes.
TEST(GnutlsLoss, FinalFlightLostEngineResendsCachedBytes) {
  Server server;
  GnutlsClient client(gnutls_client_options(*find_suite("ECDHE-RSA-AES256-GCM-SHA384")));
  const Datagram hello = cookie_exchange(client, *server.cookies, client_address());
  auto engine = HandshakeEngine::create(server.context, *server.crypto, test_engine_config(),
                                        client_address());
  const std::vector<Datagram> flight4 = engine->start(hello, Clock::now());
  client.deliver(flight4);
  const std::vector<Datagram> flight5 = client.step_until_output();
  ASSERT_FALSE(flight5.empty()) << client.error();
  const std::vector<Datagram> final_flight = to_engine(*engine, flight5);
  ASSERT_EQ(engine->state(), HandshakeState::complete) << engine->failure_detail();
  ASSERT_TRUE(has_change_cipher_spec(final_flight));
  EXPECT_EQ(final_flight, engine->final_flight());

  // ...lost. Nothing happens before GnuTLS's timer (50 ms) runs out.
  std::vector<Datagram> flight5_again;
  for (int attempt = 0; attempt < 20 && flight5_again.empty(); ++attempt) {
    std::this_thread::sleep_for(30ms);
    flight5_again = client.step();
  }
  ASSERT_FALSE(flight5_again.empty()) << "GnuTLS did not retransmit";
  ASSERT_FALSE(client.done());
  // The whole flight again (ClientKeyExchange, ChangeCipherSpec, Finished);
  // the Finished re-encrypted under the next epoch-1 number.
  std::vector<uint64_t> epoch1;
  for (const Datagram& d : flight5_again) {
    for (const RecordInfo& r : records_of(d)) {
      if (r.epoch == 1) {
        epoch1.push_back(r.sequence);
      }
    }
  }
  EXPECT_EQ(epoch1, std::vector<uint64_t>{1});

  const std::vector<Datagram> resent = to_engine(*engine, flight5_again);
  EXPECT_EQ(resent, final_flight) << "the cached final flight, byte for byte";
  EXPECT_EQ(engine->stats().final_flight_resends, 1u);
  // A replay of the same retransmission is not answered again.
  EXPECT_TRUE(to_engine(*engine, flight5_again).empty());

  client.deliver(resent);
  EXPECT_TRUE(client.step().empty());
  ASSERT_TRUE(client.done()) << client.error();
  Handover h = engine->take_handover();
  EXPECT_EQ(h.final_flight, final_flight);
  EXPECT_EQ(h.server_last_sequence, 0u);
  // Both Finished records are numbers the dataplane must treat as seen.
  EXPECT_EQ(h.client_sequences, (std::vector<uint64_t>{0, 1}));
  expect_handover_keys_work(*server.crypto, client, h);
}

// The server's first flight is lost. GnuTLS retransmits its cookie
// ClientHello (same random and cookie, a new record number, RFC 6347
// §4.2.4), which the control process routes to the engine already running
// for the peer (DESIGN.md); the engine's flight comes again, from OpenSSL's
// answer to the repeat or from its own timer, and the handshake completes.
TEST(GnutlsLoss, ServerHelloFlightLostClientRetransmitsItsClientHello) {
  Server server;
  GnutlsClient client(gnutls_client_options(*find_suite("PSK-CHACHA20-POLY1305")));
  const Datagram hello = cookie_exchange(client, *server.cookies, client_address());
  // The engine's timer is well behind GnuTLS's (50 ms), so the repeat
  // arrives before the engine would retransmit on its own.
  EngineConfig config = test_engine_config();
  config.initial_retransmission_timeout = 250ms;
  config.max_retransmission_timeout = 500ms;
  auto engine = HandshakeEngine::create(server.context, *server.crypto, config, client_address());
  ASSERT_FALSE(engine->start(hello, Clock::now()).empty());  // ...lost

  std::vector<Datagram> hello_again;
  for (int attempt = 0; attempt < 20 && hello_again.empty(); ++attempt) {
    std::this_thread::sleep_for(30ms);
    hello_again = client.step();
  }
  ASSERT_EQ(hello_again.size(), 1u) << "GnuTLS did not retransmit its ClientHello";
  ClientHello first;
  ClientHello again;
  ASSERT_EQ(parse_client_hello(hello, first), ClientHelloResult::ok);
  ASSERT_EQ(parse_client_hello(hello_again[0], again), ClientHelloResult::ok);
  EXPECT_TRUE(std::ranges::equal(first.random, again.random));
  EXPECT_TRUE(std::ranges::equal(first.cookie, again.cookie));
  EXPECT_GT(again.record_number.sequence(), first.record_number.sequence());
  EXPECT_EQ(server.cookies->verify_cookie(client_address(), again), CookieCheck::ok);

  std::vector<Datagram> flight4 = to_engine(*engine, hello_again);
  // OpenSSL 3.0 does not answer the repeat itself (observed: nothing at
  // once); its own timer repeats the flight, once. Either is correct here.
  for (int attempt = 0; attempt < 30 && flight4.empty(); ++attempt) {
    std::this_thread::sleep_for(30ms);
    flight4 = engine->on_timer(Clock::now());
  }
  ASSERT_FALSE(flight4.empty()) << "the engine never repeated its flight";
  EXPECT_LE(engine->stats().retransmissions, 1u);
  std::string why;
  ASSERT_TRUE(pump(client, *engine, flight4, why)) << why;
  Handover h = engine->take_handover();
  EXPECT_EQ(h.identity.name, kPskIdentity);
  expect_handover_keys_work(*server.crypto, client, h);
}

// ---- Path MTU (RFC 6347 §4.1.1.1, §4.2.3) --------------------------------

// A small path MTU: OpenSSL fragments the RSA certificate across
// datagrams, GnuTLS reassembles it and fragments its own client
// certificate; no datagram either way exceeds the path MTU.
TEST(GnutlsMtu, SmallPathMtuFragmentsBothWays) {
  constexpr long kPathMtu = 300;
  ServerConfig config = full_server_config();
  config.client_ca_file = credentials().client_ca_file;
  Server server(config);
  GnutlsClientOptions o = gnutls_client_options(*find_suite("ECDHE-RSA-CHACHA20-POLY1305"));
  o.certificate = &credentials().client;
  o.mtu = kPathMtu;
  GnutlsClient client(o);
  EngineConfig c = test_engine_config();
  c.path_mtu = kPathMtu;
  const Datagram hello = cookie_exchange(client, *server.cookies, client_address());
  auto engine = HandshakeEngine::create(server.context, *server.crypto, c, client_address());
  std::vector<Datagram> down = engine->start(hello, Clock::now());
  size_t largest_down = 0;
  size_t largest_up = 0;
  size_t datagrams_down = 0;
  size_t datagrams_up = 0;
  for (int round = 0; round < 32 && !(client.done() && down.empty()); ++round) {
    for (const Datagram& d : down) {
      largest_down = std::max(largest_down, d.size());
      ++datagrams_down;
    }
    client.deliver(down);
    down.clear();
    for (const Datagram& d : client.step()) {
      largest_up = std::max(largest_up, d.size());
      ++datagrams_up;
      std::vector<Datagram> answer = engine->on_datagram(d, Clock::now());
      down.insert(down.end(), answer.begin(), answer.end());
    }
    ASSERT_FALSE(client.failed()) << client.error();
    ASSERT_NE(engine->state(), HandshakeState::failed) << engine->failure_detail();
  }
  ASSERT_TRUE(client.done());
  ASSERT_EQ(engine->state(), HandshakeState::complete);
  EXPECT_LE(largest_down, static_cast<size_t>(kPathMtu));
  EXPECT_LE(largest_up, static_cast<size_t>(kPathMtu));
  EXPECT_GT(datagrams_down, 4u) << "the certificate flight was fragmented";
  EXPECT_GT(datagrams_up, 4u) << "the client certificate flight was fragmented";
  Handover h = engine->take_handover();
  EXPECT_EQ(h.identity.kind, PeerIdentity::Kind::certificate);
  EXPECT_EQ(h.identity.name, credentials().client_subject);
  expect_handover_keys_work(*server.crypto, client, h);
}

// ---- Through the handshake table -------------------------------------------

// The control process routes punted datagrams by peer through the table;
// GnuTLS's flights (one record per datagram or several) are routed to the
// one engine, and the table hands over.
TEST(GnutlsTable, HandshakeThroughTheTable) {
  Server server;
  TableConfig config;
  config.engine = test_engine_config();
  HandshakeTable table(server.context, *server.crypto, config);
  const PeerAddress peer = client_address(20, 50000);
  GnutlsClient client(gnutls_client_options(*find_suite("ECDHE-PSK-CHACHA20-POLY1305")));
  const Datagram hello = cookie_exchange(client, *server.cookies, peer);
  HandshakeTable::Result first = table.on_datagram(peer, hello, Clock::now());
  ASSERT_EQ(first.disposition, HandshakeTable::Disposition::started);

  std::optional<Handover> handover;
  std::vector<Datagram> down = std::move(first.to_send);
  for (int round = 0; round < 16 && !client.done() && !client.failed(); ++round) {
    client.deliver(down);
    down.clear();
    for (const Datagram& d : client.step()) {
      HandshakeTable::Result r = table.on_datagram(peer, d, Clock::now());
      EXPECT_EQ(r.disposition, HandshakeTable::Disposition::routed);
      down.insert(down.end(), r.to_send.begin(), r.to_send.end());
      if (r.handover.has_value()) {
        handover = std::move(r.handover);
      }
    }
  }
  ASSERT_TRUE(client.done()) << client.error();
  ASSERT_TRUE(handover.has_value());
  EXPECT_EQ(handover->peer, peer);
  EXPECT_EQ(handover->suite, 0xccac);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.counters().completed, 1u);
  expect_handover_keys_work(*server.crypto, client, *handover);
}

}  // namespace
}  // namespace test
}  // namespace dtlsgw::handshake
