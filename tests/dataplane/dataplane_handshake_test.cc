// A real OpenSSL DTLS 1.2 client completes its handshake THROUGH the
// dataplane, the test playing the control process (dataplane_control.h):
//
//   client ClientHello ─frame─> outside port ─> HelloVerifyRequest (the
//   dataplane's, stateless) ─> client ClientHello with the cookie ─> punt
//   ring ─> HandshakeEngine ─> ctl-tx ring ─> client ─> ... ─> Handover ─>
//   InstallMessage on the owner's keys ring ─> the worker installs, then
//   sends the final flight ─> client done ─> application data both ways.
//
// Also: a lost final flight is answered from the dataplane's cache when the
// client retransmits its Finished, and the InstallMessage conversion
// (control/install_message.h) refuses every out-of-bound Handover.
#include <gtest/gtest.h>
#include <openssl/rand.h>
#include <rte_mempool.h>
#include <rte_ring_elem.h>

#include <chrono>
#include <thread>

#include "handshake/cipher_suites.h"
#include "tests/handshake/gnutls_client.h"
#include "tests/dataplane/dataplane_control.h"

namespace dtlsgw::test {
namespace {

using dataplane::Counter;

struct SuiteCase {
  const char* name;          // for the test name
  const char* openssl_name;  // the only suite the client offers
  bool psk;
  record::Aead aead;
  uint16_t iana;
};

const SuiteCase kSuites[] = {
    {"PskAes128Ccm8", "PSK-AES128-CCM8", true, record::Aead::aes128_ccm8, 0xc0a8},
    {"EcdheEcdsaAes128Gcm", "ECDHE-ECDSA-AES128-GCM-SHA256", false, record::Aead::aes128_gcm,
     0xc02b},
    {"EcdheEcdsaChaCha20", "ECDHE-ECDSA-CHACHA20-POLY1305", false,
     record::Aead::chacha20_poly1305, 0xcca9},
};

hst::ClientOptions client_options(const SuiteCase& s) {
  hst::ClientOptions o;
  o.cipher_suites = s.openssl_name;
  if (s.psk) {
    o.psk_identity = hst::kPskIdentity;
    o.psk.assign(hst::psk_key().begin(), hst::psk_key().end());
  }
  return o;
}

unsigned in_use(const char* pool_name) {
  return rte_mempool_in_use_count(rte_mempool_lookup(pool_name));
}

// Client ⇄ dataplane ⇄ control until the client is done. With
// `lose_final_flight`, the final flight the dataplane sends after
// installing never reaches the client (and the loop stops there).
template <typename Client>
void run_handshake(Harness& h, const Peer& wire, Client& client, Control& control,
                   bool lose_final_flight = false) {
  const Bytes hello = cookie_exchange_through(h, wire, client);
  ASSERT_FALSE(hello.empty());
  h.to_outside(wire.frame(hello));
  h.poll();
  // The cookie ClientHello is punted, flagged verified, and the flow is
  // now a handshake in progress for its owner.
  ASSERT_EQ(control.run(), 1u) << h.counters();
  ASSERT_NE(control.engine, nullptr);
  EXPECT_EQ(control.punt_flags[0], contract::kPuntCookieVerified);
  EXPECT_EQ(control.first.flow, wire.flow());
  EXPECT_EQ(std::memcmp(control.first.peer_mac, kPeerMac.bytes, 6), 0);
  EXPECT_EQ(h.worker(h.ctx().owner_of(wire.flow())).pending_handshakes(), 1u);
  h.poll();
  for (int round = 0; round < 16 && !client.done(); ++round) {
    std::vector<Bytes> to_client = payloads_to(h, wire);
    if (control.installed && lose_final_flight) {
      EXPECT_EQ(to_client.size(), control.final_flight.size());
      return;  // lost on the way
    }
    ASSERT_FALSE(to_client.empty()) << "round " << round << ": " << h.counters();
    client.deliver(to_client);
    const std::vector<hs::Datagram> to_server = client.step();
    ASSERT_FALSE(client.failed()) << client.error();
    for (const hs::Datagram& d : to_server) {
      h.to_outside(wire.frame(d));
    }
    h.poll();
    control.run();
    h.poll();
  }
  EXPECT_TRUE(client.done()) << h.counters();
  EXPECT_TRUE(control.installed);
}

// Application data: client → backend in plaintext, backend → client sealed
// by the dataplane above OpenSSL's numbers.
template <typename Client>
void exchange_data(Harness& h, const Peer& wire, Client& client, const Control& control) {
  const Bytes request = text("GET /sensors/temperature");
  h.to_outside(wire.frame(client.write(request)));
  h.poll();
  const std::vector<Bytes> inside = h.sent_inside();
  ASSERT_EQ(inside.size(), 1u) << h.counters();
  dataplane::packet::Frame f;
  auto plaintext = udp_payload(inside[0], &f);
  ASSERT_TRUE(plaintext);
  EXPECT_EQ(*plaintext, request);
  EXPECT_EQ(f.destination, ip("10.0.0.2"));
  EXPECT_EQ(f.destination_port, 7);
  EXPECT_EQ(f.source, ip("10.0.0.1"));

  const Bytes reply = text("21.5 C");
  h.to_inside(backend_frame(f.source_port, reply));
  h.poll();
  const std::vector<Bytes> to_client = payloads_to(h, wire);
  ASSERT_EQ(to_client.size(), 1u) << h.counters();
  // DESIGN.md: never encrypt two plaintexts under one (key, epoch,
  // sequence): the dataplane starts above OpenSSL's last epoch-1 write.
  EXPECT_EQ(to_client[0][3], 0);
  EXPECT_EQ(to_client[0][4], 1);
  EXPECT_GE(first_record_sequence(to_client[0]), control.server_first_sequence);
  client.deliver(to_client[0]);
  const std::vector<Bytes> got = client.read_all();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], reply);
}

class ThroughTheDataplane : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(ThroughTheDataplane, HandshakeCompletesAndDataFlowsBothWays) {
  const SuiteCase& suite = GetParam();
  Harness h;
  hst::Server server;
  adopt_dataplane_cookie_secrets(h, server);
  const Peer wire("192.0.2.10", 40000);
  hst::TestClient client(client_options(suite), hst::server_address());
  Control control(h, server);
  run_handshake(h, wire, client, control);
  ASSERT_TRUE(client.done());
  ASSERT_TRUE(control.installed);

  EXPECT_EQ(control.suite, suite.iana);
  EXPECT_EQ(control.aead, suite.aead);
  EXPECT_EQ(SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(client.ssl())), suite.iana);
  if (suite.psk) {
    EXPECT_EQ(control.identity.kind, hs::PeerIdentity::Kind::psk);
    EXPECT_EQ(control.identity.name, hst::kPskIdentity);
  }
  if (suite.aead == record::Aead::aes128_gcm) {
    EXPECT_GT(control.foreign_nonces, 0u) << "OpenSSL's GCM explicit nonces are handed over";
  }
  // Every datagram after the cookie ClientHello was punted as part of a
  // handshake in progress, never as a new one.
  for (size_t i = 1; i < control.punt_flags.size(); ++i) {
    EXPECT_EQ(control.punt_flags[i], 0) << i;
  }
  EXPECT_GE(control.punt_flags.size(), 2u);
  EXPECT_EQ(control.after_install, 0u);
  EXPECT_EQ(h.count(Counter::ctl_tx_sent), control.ctl_tx_sent);
  EXPECT_EQ(h.count(Counter::ctl_tx_bad_message), 0u);
  EXPECT_EQ(h.count(Counter::keys_bad_message), 0u);
  EXPECT_EQ(h.count(Counter::sessions_installed), 1u);
  EXPECT_EQ(h.count(Counter::hello_verify_requests), 1u);
  EXPECT_EQ(h.count(Counter::punt_rate_limited) + h.count(Counter::punt_ring_full), 0u);
  EXPECT_EQ(h.dp().sessions().size(), 1u);
  EXPECT_EQ(h.worker().pending_handshakes(), 0u) << "the install ends the pending handshake";
  const auto events = h.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, contract::EventKind::installed);
  EXPECT_EQ(events[0].flow, wire.flow());

  exchange_data(h, wire, client, control);
  EXPECT_EQ(h.count(Counter::records_decrypted), 1u);
  EXPECT_EQ(h.count(Counter::records_encrypted), 1u);
  // Everything from the control pools went back: punts freed by the
  // control process, ctl-tx datagrams by the dataplane once sent, the
  // cached final flight once the client's data proved it arrived.
  EXPECT_EQ(in_use(contract::kPuntPoolName), 0u);
  EXPECT_EQ(in_use(contract::kCtlTxPoolName), 0u);
}

// The client's handshake is complete but for our final flight, which was
// lost; its retransmission timer fires (RFC 6347 §4.2.4) and it resends its
// last flight, Finished included. With `packed`, the flight's records travel
// in one datagram (RFC 6347 §4.1.1 allows several records per datagram;
// GnuTLS and others pack the ChangeCipherSpec with the Finished).
void lost_final_flight(const SuiteCase& suite, bool packed) {
  Harness h;
  hst::Server server;
  adopt_dataplane_cookie_secrets(h, server);
  const Peer wire("192.0.2.10", 40000);
  hst::ClientOptions options = client_options(suite);
  options.initial_timeout = std::chrono::milliseconds(500);
  hst::TestClient client(options, hst::server_address());
  Control control(h, server);
  run_handshake(h, wire, client, control, /*lose_final_flight=*/true);
  ASSERT_TRUE(control.installed);
  ASSERT_FALSE(client.done());
  const auto events = h.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, contract::EventKind::installed);

  std::vector<hs::Datagram> again;
  for (int i = 0; i < 100 && again.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    again = client.handle_timeout();
  }
  ASSERT_FALSE(again.empty()) << "the client's retransmission timer did not fire";
  if (packed) {
    hs::Datagram one;
    for (const hs::Datagram& d : again) {
      one.insert(one.end(), d.begin(), d.end());
    }
    again = {one};
  }
  // The resend rate limit counts from the first send of the flight.
  h.worker(h.ctx().owner_of(wire.flow())).advance_clock_ms(1000);
  for (const hs::Datagram& d : again) {
    h.to_outside(wire.frame(d));
  }
  h.poll();
  EXPECT_EQ(h.count(Counter::final_flight_resent), 1u) << h.counters();
  const std::vector<Bytes> resent = payloads_to(h, wire);
  ASSERT_EQ(resent.size(), control.final_flight.size()) << h.counters();
  for (size_t i = 0; i < resent.size(); ++i) {
    EXPECT_EQ(resent[i], control.final_flight[i]) << "the cached bytes, unchanged";
  }
  // The control process hears nothing of it: OpenSSL must never answer
  // after the handover.
  EXPECT_TRUE(h.punts().empty());
  client.deliver(resent);
  EXPECT_TRUE(client.step().empty());
  ASSERT_TRUE(client.done()) << client.error();
  exchange_data(h, wire, client, control);
  EXPECT_EQ(in_use(contract::kCtlTxPoolName), 0u);
}

TEST_P(ThroughTheDataplane, LostFinalFlightIsResentFromTheDataplaneCache) {
  lost_final_flight(GetParam(), false);
}

TEST_P(ThroughTheDataplane, LostFinalFlightIsResentWhenThePeerPacksItsRecords) {
  lost_final_flight(GetParam(), true);
}

INSTANTIATE_TEST_SUITE_P(Suites, ThroughTheDataplane, ::testing::ValuesIn(kSuites),
                         [](const auto& info) { return std::string(info.param.name); });

// A second, independent client implementation through the same path:
// GnuTLS (its own record packing and retransmission logic).
class GnutlsThroughTheDataplane : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(GnutlsThroughTheDataplane, HandshakeCompletesAndDataFlowsBothWays) {
  const SuiteCase& suite = GetParam();
  Harness h;
  hst::Server server;
  adopt_dataplane_cookie_secrets(h, server);
  const Peer wire("192.0.2.10", 40000);
  hst::GnutlsClientOptions o;
  o.priority = hst::priority_for(*hs::find_suite(suite.openssl_name));
  if (suite.psk) {
    o.psk_identity = hst::kPskIdentity;
    o.psk.assign(hst::psk_key().begin(), hst::psk_key().end());
  }
  // Nothing retransmits unless the test makes it.
  o.retransmission_timeout = std::chrono::seconds(5);
  o.handshake_timeout = std::chrono::seconds(20);
  hst::GnutlsClient client(o);
  Control control(h, server);
  run_handshake(h, wire, client, control);
  ASSERT_TRUE(client.done()) << client.error();
  EXPECT_EQ(client.suite(), suite.iana);
  EXPECT_EQ(control.suite, suite.iana);
  EXPECT_EQ(h.count(Counter::sessions_installed), 1u);
  exchange_data(h, wire, client, control);
  EXPECT_EQ(in_use(contract::kPuntPoolName), 0u);
  EXPECT_EQ(in_use(contract::kCtlTxPoolName), 0u);
}

INSTANTIATE_TEST_SUITE_P(Suites, GnutlsThroughTheDataplane, ::testing::ValuesIn(kSuites),
                         [](const auto& info) { return std::string(info.param.name); });

// Two clients at once, from one address on two ports: each punt finds its
// own engine's flow, and both sessions end up installed.
TEST(ThroughTheDataplaneTwice, SecondHandshakeFromAnotherPort) {
  Harness h;
  hst::Server server;
  adopt_dataplane_cookie_secrets(h, server);
  for (uint16_t port : {40000, 40001}) {
    const Peer wire("192.0.2.10", port);
    hst::TestClient client(client_options(kSuites[0]), hst::server_address());
    Control control(h, server);
    run_handshake(h, wire, client, control);
    ASSERT_TRUE(client.done());
    exchange_data(h, wire, client, control);
  }
  EXPECT_EQ(h.dp().sessions().size(), 2u);
}

// ---- control/install_message --------------------------------------------

hs::Handover fake_handover(const Peer& wire) {
  hs::Handover h;
  h.peer = peer_address(wire);
  h.suite = 0xc0a8;
  uint8_t master[48];
  uint8_t client_random[32];
  uint8_t server_random[32];
  EXPECT_EQ(RAND_bytes(master, sizeof(master)), 1);
  EXPECT_EQ(RAND_bytes(client_random, sizeof(client_random)), 1);
  EXPECT_EQ(RAND_bytes(server_random, sizeof(server_random)), 1);
  EXPECT_TRUE(hs::expand_key_block(*hs::find_suite("PSK-AES128-CCM8"), master, client_random,
                                   server_random, h.keys));
  h.server_last_sequence = 0;
  h.client_sequences = {0};
  h.final_flight = {hs::Datagram(60, 0x16)};
  return h;
}

bool wiped(const contract::InstallMessage& m) {
  const contract::InstallMessage zero;
  return std::memcmp(m.client_write_key, zero.client_write_key, sizeof(m.client_write_key)) == 0 &&
         std::memcmp(m.server_write_key, zero.server_write_key, sizeof(m.server_write_key)) == 0 &&
         std::memcmp(m.client_write_iv, zero.client_write_iv, sizeof(m.client_write_iv)) == 0 &&
         std::memcmp(m.server_write_iv, zero.server_write_iv, sizeof(m.server_write_iv)) == 0 &&
         m.final_flight_count == 0 && m.pending_record_count == 0;
}

TEST(InstallMessage, CopiesTheHandover) {
  Harness h;
  rte_mempool* pool = rte_mempool_lookup(contract::kCtlTxPoolName);
  const Peer wire("192.0.2.10", 40000);
  hs::Handover handover = fake_handover(wire);
  handover.server_last_sequence = 2;
  handover.client_sequences = {0, 1};
  handover.server_explicit_nonces = {77, 78};
  handover.client_pending_records = {hs::Datagram(40, 0x17)};
  handover.identity = {hs::PeerIdentity::Kind::psk, "urn:imei:350000000000001-and-more"};
  contract::InstallMessage msg;
  ASSERT_EQ(control::make_install_message(handover, wire.flow(), kPeerMac.bytes, pool, msg),
            control::InstallError::ok);
  EXPECT_EQ(msg.header.type, contract::MessageType::install);
  EXPECT_EQ(msg.aead, static_cast<uint8_t>(record::Aead::aes128_ccm8));
  EXPECT_EQ(msg.suite, 0xc0a8);
  EXPECT_EQ(msg.flow, wire.flow());
  const std::string& who = handover.identity.name;
  EXPECT_TRUE(contract::same_identity(
      msg.identity, contract::make_identity(static_cast<uint8_t>(hs::PeerIdentity::Kind::psk),
                                            who.data(), who.size())));
  EXPECT_EQ(msg.identity.length, who.size());
  EXPECT_EQ(msg.key_length, 16);
  EXPECT_EQ(msg.iv_length, 4);
  EXPECT_EQ(std::memcmp(msg.client_write_key, handover.keys.client_write_key().data(), 16), 0);
  EXPECT_EQ(std::memcmp(msg.server_write_iv, handover.keys.server_write_iv().data(), 4), 0);
  EXPECT_EQ(msg.server_first_sequence, 3u);
  ASSERT_EQ(msg.client_sequence_count, 2u);
  EXPECT_EQ(msg.client_sequences[1], 1u);
  ASSERT_EQ(msg.foreign_nonce_count, 2u);
  EXPECT_EQ(msg.foreign_nonces[0], 77u);
  ASSERT_EQ(msg.final_flight_count, 1u);
  EXPECT_EQ(msg.final_flight[0]->pool, pool);
  EXPECT_EQ(rte_pktmbuf_data_len(msg.final_flight[0]), 60);
  ASSERT_EQ(msg.pending_record_count, 1u);
  EXPECT_EQ(rte_pktmbuf_data_len(msg.pending_records[0]), 40);
  EXPECT_EQ(rte_mempool_in_use_count(pool), 2u);
  control::wipe_install_message(msg);
  EXPECT_TRUE(wiped(msg));
  EXPECT_EQ(rte_mempool_in_use_count(pool), 0u);
}

TEST(InstallMessage, EveryBoundIsCheckedAndNothingLeaks) {
  Harness h;
  rte_mempool* pool = rte_mempool_lookup(contract::kCtlTxPoolName);
  const Peer wire("192.0.2.10", 40000);
  using control::InstallError;
  struct Case {
    const char* what;
    void (*mutate)(hs::Handover&);
    InstallError expected;
  };
  const Case cases[] = {
      {"final flight at the limit",
       [](hs::Handover& h) { h.final_flight.resize(4, hs::Datagram(60, 0x16)); },
       InstallError::ok},
      {"too many final-flight datagrams",
       [](hs::Handover& h) { h.final_flight.resize(5, hs::Datagram(60, 0x16)); },
       InstallError::too_many_final_flight_datagrams},
      {"too many client sequences", [](hs::Handover& h) { h.client_sequences.resize(9, 0); },
       InstallError::too_many_client_sequences},
      {"too many foreign nonces", [](hs::Handover& h) { h.server_explicit_nonces.resize(9, 1); },
       InstallError::too_many_foreign_nonces},
      {"too many pending records",
       [](hs::Handover& h) { h.client_pending_records.resize(5, hs::Datagram(20, 0x17)); },
       InstallError::too_many_pending_records},
      {"a final-flight datagram larger than an mbuf",
       [](hs::Handover& h) { h.final_flight.push_back(hs::Datagram(4000, 0x16)); },
       InstallError::datagram_too_large},
      {"a pending record larger than an mbuf",
       [](hs::Handover& h) { h.client_pending_records.push_back(hs::Datagram(4000, 0x17)); },
       InstallError::datagram_too_large},
      {"another peer", [](hs::Handover& h) { h.peer.port = 1; }, InstallError::peer_mismatch},
      // The flow is IPv4: an IPv6 peer with the same first bytes is another.
      {"IPv6", [](hs::Handover& h) { h.peer.family = hs::PeerAddress::Family::ipv6; },
       InstallError::peer_mismatch},
      {"no keys", [](hs::Handover& h) { h.keys.wipe(); }, InstallError::no_keys},
  };
  for (const Case& c : cases) {
    hs::Handover handover = fake_handover(wire);
    c.mutate(handover);
    contract::InstallMessage msg;
    const InstallError e =
        control::make_install_message(handover, wire.flow(), kPeerMac.bytes, pool, msg);
    EXPECT_EQ(e, c.expected) << c.what << ": " << control::to_string(e);
    if (e != InstallError::ok) {
      EXPECT_TRUE(wiped(msg)) << c.what;
      EXPECT_EQ(rte_mempool_in_use_count(pool), 0u) << c.what;
    }
    control::wipe_install_message(msg);
    EXPECT_EQ(rte_mempool_in_use_count(pool), 0u) << c.what;
  }
}

TEST(InstallMessage, InstallsThroughTheKeysRingAndAFullRingFreesTheMbufs) {
  Harness h;
  rte_mempool* pool = rte_mempool_lookup(contract::kCtlTxPoolName);
  const Peer wire("192.0.2.10", 40000);
  contract::InstallMessage msg;
  ASSERT_EQ(control::make_install_message(fake_handover(wire), wire.flow(), kPeerMac.bytes, pool,
                                          msg),
            control::InstallError::ok);
  ASSERT_TRUE(control::enqueue_install(h.ctx().keys[0], msg));
  EXPECT_TRUE(wiped(msg));
  h.poll(1);
  EXPECT_EQ(h.dp().sessions().size(), 1u) << h.counters();
  EXPECT_EQ(h.count(Counter::sessions_installed), 1u);
  EXPECT_EQ(payloads_to(h, wire).size(), 1u) << "the final flight";

  rte_ring* tiny = rte_ring_create_elem("install_test_tiny", sizeof(contract::KeysSlot), 1,
                                        SOCKET_ID_ANY, RING_F_EXACT_SZ | RING_F_SP_ENQ |
                                                           RING_F_SC_DEQ);
  ASSERT_NE(tiny, nullptr);
  const unsigned before = rte_mempool_in_use_count(pool);
  ASSERT_EQ(control::make_install_message(fake_handover(wire), wire.flow(), kPeerMac.bytes, pool,
                                          msg),
            control::InstallError::ok);
  ASSERT_TRUE(control::enqueue_install(tiny, msg));
  ASSERT_EQ(control::make_install_message(fake_handover(wire), wire.flow(), kPeerMac.bytes, pool,
                                          msg),
            control::InstallError::ok);
  EXPECT_FALSE(control::enqueue_install(tiny, msg)) << "never blocks on a full ring";
  EXPECT_TRUE(wiped(msg));
  EXPECT_EQ(rte_mempool_in_use_count(pool), before + 1) << "only the enqueued message's mbuf";
  contract::KeysSlot slot;
  ASSERT_EQ(rte_ring_dequeue_elem(tiny, &slot, sizeof(slot)), 0);
  control::wipe_install_message(slot.install);
  rte_ring_free(tiny);
  EXPECT_EQ(rte_mempool_in_use_count(pool), before);
}

}  // namespace
}  // namespace dtlsgw::test
