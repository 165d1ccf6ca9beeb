// The control process's side of the contract, played by the test itself
// (DESIGN.md, "Processes"): punted datagrams go to a HandshakeEngine, what
// the engine writes goes back through the ctl-tx ring, and a completed
// engine's Handover goes to the owning worker's keys ring as an
// InstallMessage (control/install_message.h). The test polls the workers,
// so every step is deterministic. Header-only: shared by the dataplane
// tests that run real OpenSSL clients through the gateway.
#pragma once

#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring_elem.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/install_message.h"
#include "handshake/client_hello.h"
#include "tests/dataplane/dataplane_harness.h"
#include "tests/handshake/test_support.h"

namespace dtlsgw::test {

namespace hs = dtlsgw::handshake;
namespace hst = dtlsgw::handshake::test;

// The address the dataplane's cookie covers for frames from `wire`.
inline hs::PeerAddress peer_address(const Peer& wire) {
  return hs::PeerAddress::v4(reinterpret_cast<const uint8_t*>(&wire.address.be), wire.port);
}

// The UDP payloads of the frames the gateway sent on its outside port;
// each must be addressed to `wire` from the listener.
inline std::vector<Bytes> payloads_to(Harness& h, const Peer& wire) {
  std::vector<Bytes> out;
  for (const Bytes& f : h.sent_outside()) {
    dataplane::packet::Frame parsed;
    auto payload = udp_payload(f, &parsed);
    EXPECT_TRUE(payload.has_value());
    if (!payload) {
      continue;
    }
    EXPECT_EQ(parsed.destination, wire.address);
    EXPECT_EQ(parsed.destination_port, wire.port);
    EXPECT_EQ(parsed.source, ip("192.0.2.1"));
    EXPECT_EQ(parsed.source_port, 4433);
    EXPECT_EQ(parsed.destination_mac, kPeerMac);
    out.push_back(std::move(*payload));
  }
  return out;
}

// The control process adopts the cookie secrets the dataplane published in
// the ready memzone, so OpenSSL's cookie callback (run again by
// DTLSv1_listen) accepts the dataplane's cookies.
inline void adopt_dataplane_cookie_secrets(Harness& h, hst::Server& server) {
  hs::CookieSecrets secrets;
  ASSERT_TRUE(contract::read_cookie_secrets(h.ctx().ready->cookies, secrets));
  ASSERT_TRUE(secrets.has_current);
  // CookieMaker::set_secrets reloads a key only when its generation
  // changes, and both the Server and the dataplane start at generation 1
  // with different keys: forget the Server's own first.
  server.cookies->set_secrets(hs::CookieSecrets{});
  server.cookies->set_secrets(secrets);
  server.secrets = secrets;
  OPENSSL_cleanse(&secrets, sizeof(secrets));
}

// Record sequence number (48 bits) of the first record of a datagram.
inline uint64_t first_record_sequence(const Bytes& d) {
  uint64_t s = 0;
  for (size_t i = 5; i < 11 && i < d.size(); ++i) {
    s = s << 8 | d[i];
  }
  return s;
}

inline Bytes text(const char* s) { return Bytes(s, s + std::strlen(s)); }

// The client's first ClientHello into the outside port and the dataplane's
// HelloVerifyRequest back: checks RFC 6347 §4.2.1 (sequence echoed, no
// amplification) and returns the client's ClientHello with the cookie (not
// yet sent), or empty with a failure reported. `Client`: hst::TestClient
// (OpenSSL) or hst::GnutlsClient.
template <typename Client>
Bytes cookie_exchange_through(Harness& h, const Peer& wire, Client& client) {
  const std::vector<hs::Datagram> first = client.step();
  EXPECT_EQ(first.size(), 1u);
  if (first.size() != 1) {
    return {};
  }
  const uint64_t before = h.count(dataplane::Counter::hello_verify_requests);
  const unsigned punts_before = rte_ring_count(h.ctx().punt);
  h.to_outside(wire.frame(first[0]));
  h.poll();
  const std::vector<Bytes> replies = payloads_to(h, wire);
  EXPECT_EQ(replies.size(), 1u) << h.counters();
  EXPECT_EQ(rte_ring_count(h.ctx().punt), punts_before)
      << "a ClientHello without a cookie is never punted";
  if (replies.size() != 1) {
    return {};
  }
  const Bytes& hvr = replies[0];
  EXPECT_EQ(h.count(dataplane::Counter::hello_verify_requests), before + 1);
  // RFC 6347 §4.2.1: "The server MUST use the record sequence number in the
  // ClientHello as the record sequence number in the HelloVerifyRequest";
  // and the reply is no larger than the request (no amplification).
  EXPECT_LE(hvr.size(), first[0].size());
  EXPECT_EQ(hvr[0], 22);  // handshake
  EXPECT_EQ(hvr[3], 0);   // epoch 0
  EXPECT_EQ(hvr[4], 0);
  EXPECT_EQ(first_record_sequence(hvr), first_record_sequence(first[0]));
  EXPECT_EQ(hvr[13], 3);  // hello_verify_request
  client.deliver(hvr);
  const std::vector<hs::Datagram> second = client.step();
  EXPECT_FALSE(client.failed()) << client.error();
  EXPECT_EQ(second.size(), 1u) << "the client accepts the HelloVerifyRequest";
  if (second.size() != 1) {
    return {};
  }
  hs::ClientHello hello;
  EXPECT_EQ(hs::parse_client_hello(second[0], hello), hs::ClientHelloResult::ok);
  EXPECT_EQ(hello.cookie.size(), hs::kCookieLength) << "the ClientHello carries the cookie";
  return second[0];
}

// Engine timers long enough that nothing retransmits while a test runs
// (the tests that want a retransmission drive it themselves).
inline hs::EngineConfig quiet_engine_config() {
  hs::EngineConfig c;
  c.initial_retransmission_timeout = std::chrono::seconds(10);
  c.max_retransmission_timeout = std::chrono::seconds(20);
  c.handshake_timeout = std::chrono::seconds(60);
  return c;
}

// One handshake's control-process side.
class Control {
 public:
  Control(Harness& h, hst::Server& server, hs::EngineConfig config = quiet_engine_config())
      : h_(h), server_(server), config_(config),
        ctl_pool_(rte_mempool_lookup(contract::kCtlTxPoolName)) {
    EXPECT_NE(ctl_pool_, nullptr);
  }

  // Sends `datagram` to the flow's peer through the ctl-tx ring, as the
  // control process does with what the engine writes.
  void send(const contract::FlowKey& flow, const uint8_t mac[6], const Bytes& datagram) {
    contract::CtlTxMessage msg;
    msg.flow = flow;
    std::memcpy(msg.peer_mac, mac, 6);
    msg.datagram = control::datagram_mbuf(ctl_pool_, datagram);
    ASSERT_NE(msg.datagram, nullptr);
    ASSERT_EQ(rte_ring_enqueue_elem(h_.ctx().ctl_tx, &msg, sizeof(msg)), 0);
    ++ctl_tx_sent;
  }

  // Takes every punted datagram: the cookie ClientHello starts the engine,
  // the rest feed it. What the engine writes goes out through ctl-tx,
  // except on completion: then the Handover (with the final flight) goes
  // to the owner's keys ring. Returns the number of punts taken.
  size_t run() {
    const std::vector<contract::PuntMessage> punts = h_.punts();
    for (const contract::PuntMessage& p : punts) {
      EXPECT_EQ(p.header.version, contract::kVersion);
      EXPECT_EQ(p.header.type, contract::MessageType::punt);
      EXPECT_EQ(p.worker, h_.ctx().owner_of(p.flow));
      EXPECT_EQ(p.datagram->pool, rte_mempool_lookup(contract::kPuntPoolName));
      const uint8_t* d = rte_pktmbuf_mtod(p.datagram, const uint8_t*);
      const Bytes datagram(d, d + rte_pktmbuf_data_len(p.datagram));
      rte_pktmbuf_free(p.datagram);
      punt_flags.push_back(p.flags);
      std::vector<hs::Datagram> out;
      if (engine == nullptr) {
        EXPECT_TRUE(p.flags & contract::kPuntCookieVerified)
            << "a handshake starts from a ClientHello whose cookie the dataplane verified";
        first = p;
        engine =
            hs::HandshakeEngine::create(server_.context, *server_.crypto, config_, p.flow.peer());
        out = engine->start(datagram, hs::Clock::now());
      } else if (installed) {
        // After the handover the control process never feeds OpenSSL
        // (DESIGN.md): the dataplane answers a retransmitted Finished.
        ++after_install;
        continue;
      } else {
        out = engine->on_datagram(datagram, hs::Clock::now());
      }
      EXPECT_NE(engine->state(), hs::HandshakeState::failed)
          << hs::to_string(engine->failure()) << ": " << engine->failure_detail();
      if (engine->state() == hs::HandshakeState::complete && engine->has_handover()) {
        // The final flight leaves only with the handover, after the keys
        // are installed (DESIGN.md): `out` is not sent.
        install();
        continue;
      }
      for (const hs::Datagram& o : out) {
        send(p.flow, p.peer_mac, o);
      }
    }
    return punts.size();
  }

  void install() {
    hs::Handover handover = engine->take_handover();
    suite = handover.suite;
    aead = handover.keys.aead();
    final_flight = handover.final_flight;
    client_sequences = handover.client_sequences;
    server_first_sequence = handover.server_first_free_sequence();
    foreign_nonces = handover.server_explicit_nonces.size();
    identity = handover.identity;
    contract::InstallMessage msg;
    install_error = control::make_install_message(handover, first.flow, first.peer_mac,
                                                  ctl_pool_, msg);
    ASSERT_EQ(install_error, control::InstallError::ok) << control::to_string(install_error);
    EXPECT_EQ(msg.final_flight_count, final_flight.size());
    EXPECT_EQ(msg.server_first_sequence, server_first_sequence);
    EXPECT_EQ(msg.client_sequence_count, client_sequences.size());
    const unsigned owner = h_.ctx().owner_of(first.flow);
    ASSERT_TRUE(control::enqueue_install(h_.ctx().keys[owner], msg));
    // enqueue_install wiped the control process's copy of the keys.
    const contract::InstallMessage zero;
    EXPECT_EQ(std::memcmp(msg.client_write_key, zero.client_write_key, sizeof(zero.client_write_key)), 0);
    EXPECT_EQ(std::memcmp(msg.server_write_key, zero.server_write_key, sizeof(zero.server_write_key)), 0);
    installed = true;
  }

  std::unique_ptr<hs::HandshakeEngine> engine;
  contract::PuntMessage first;  // the cookie ClientHello's punt (datagram freed)
  std::vector<uint16_t> punt_flags;
  bool installed = false;
  size_t after_install = 0;
  size_t ctl_tx_sent = 0;
  // From the Handover, for the test's checks (no key material).
  control::InstallError install_error = control::InstallError::ok;
  uint16_t suite = 0;
  record::Aead aead = record::Aead::aes128_gcm;
  std::vector<hs::Datagram> final_flight;
  std::vector<uint64_t> client_sequences;
  uint64_t server_first_sequence = 0;
  size_t foreign_nonces = 0;
  hs::PeerIdentity identity;

 private:
  Harness& h_;
  hst::Server& server_;
  hs::EngineConfig config_;
  rte_mempool* ctl_pool_ = nullptr;
};

}  // namespace dtlsgw::test
