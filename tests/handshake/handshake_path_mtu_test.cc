// Path MTU reports applied to handshakes (HandshakeTable::set_path_mtu,
// HandshakeEngine::set_path_mtu): what the control process does with the
// dataplane's path_mtu event. A report lowers the MTU of the peer's
// running handshake, so its next flight (here: the retransmission of the
// certificate flight) fits; it is remembered for the peer's next
// handshake; it never raises the MTU, and is clamped to what OpenSSL can
// fragment for.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "handshake/handshake_table.h"
#include "tests/handshake/test_support.h"

namespace dtlsgw::handshake::test {
namespace {

using D = HandshakeTable::Disposition;

ClientOptions certificate_client() {
  ClientOptions o;
  // A certificate flight: larger than the small MTUs below.
  o.cipher_suites = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256";
  return o;
}

TableConfig table_config() {
  TableConfig c;
  c.engine = test_engine_config();
  c.engine.path_mtu = 1200;
  return c;
}

size_t largest(const std::vector<Datagram>& flight) {
  size_t n = 0;
  for (const Datagram& d : flight) {
    n = std::max(n, d.size());
  }
  return n;
}

std::vector<HandshakeTable::TimerOutcome> wait_for_timer(HandshakeTable& table) {
  for (int i = 0; i < 40; ++i) {
    const auto wake = table.next_wakeup();
    if (!wake) {
      break;
    }
    std::this_thread::sleep_until(*wake);
    auto fired = table.tick(Clock::now());
    if (!fired.empty()) {
      return fired;
    }
  }
  ADD_FAILURE() << "no timer fired";
  return {};
}

// Alternates client and table until the handover (or 16 rounds).
bool complete(HandshakeTable& table, TestClient& client, const PeerAddress& peer,
              std::vector<Datagram> down, size_t max_datagram) {
  for (int round = 0; round < 16; ++round) {
    EXPECT_LE(largest(down), max_datagram);
    client.deliver(down);
    down.clear();
    for (const Datagram& d : client.step()) {
      HandshakeTable::Result r = table.on_datagram(peer, d, Clock::now());
      down.insert(down.end(), r.to_send.begin(), r.to_send.end());
      if (r.handover.has_value()) {
        EXPECT_LE(largest(r.handover->final_flight), max_datagram);
        return true;
      }
    }
  }
  return false;
}

TEST(PathMtu, ReportRefitsTheRunningHandshakesNextFlight) {
  Server server;
  HandshakeTable table(server.context, *server.crypto, table_config());
  const PeerAddress peer = client_address();
  TestClient client(certificate_client(), server_address());
  const HandshakeTable::Result first =
      table.on_datagram(peer, cookie_exchange(client, *server.cookies, peer), Clock::now());
  ASSERT_EQ(first.disposition, D::started);
  // The certificate flight filled 1200-byte datagrams.
  ASSERT_GT(largest(first.to_send), 600u);
  ASSERT_LE(largest(first.to_send), 1200u);

  // "Fragmentation needed, MTU 628" for that flight (IPv4: 600 bytes of
  // UDP payload); the flight is lost, and its retransmission fits.
  ASSERT_TRUE(table.set_path_mtu(peer, 600));
  EXPECT_EQ(table.find(peer)->path_mtu(), 600);
  const auto fired = wait_for_timer(table);
  ASSERT_EQ(fired.size(), 1u);
  const std::vector<Datagram>& again = fired[0].result.to_send;
  ASSERT_FALSE(again.empty());
  EXPECT_LE(largest(again), 600u);
  EXPECT_GT(again.size(), first.to_send.size());
  // The handshake completes at the smaller MTU.
  EXPECT_TRUE(complete(table, client, peer, again, 600));
  EXPECT_EQ(table.counters().completed, 1u);
}

TEST(PathMtu, RememberedForThePeersNextHandshake) {
  Server server;
  HandshakeTable table(server.context, *server.crypto, table_config());
  const PeerAddress peer = client_address(10, 40001);
  const PeerAddress other = client_address(11, 40001);
  // Reported while no handshake runs (an established session's flow).
  EXPECT_FALSE(table.set_path_mtu(peer, 500));
  EXPECT_EQ(table.path_mtu_for(peer), 500);
  EXPECT_EQ(table.path_mtu_for(other), 1200);

  TestClient client(certificate_client(), server_address());
  const HandshakeTable::Result r =
      table.on_datagram(peer, cookie_exchange(client, *server.cookies, peer), Clock::now());
  ASSERT_EQ(r.disposition, D::started);
  EXPECT_LE(largest(r.to_send), 500u);
  EXPECT_TRUE(complete(table, client, peer, r.to_send, 500));

  TestClient elsewhere(certificate_client(), server_address());
  const HandshakeTable::Result r2 =
      table.on_datagram(other, cookie_exchange(elsewhere, *server.cookies, other), Clock::now());
  ASSERT_EQ(r2.disposition, D::started);
  EXPECT_GT(largest(r2.to_send), 500u) << "another peer keeps the configured MTU";
}

TEST(PathMtu, NeverRaisedClampedToOpenSslsMinimumAndForgotten) {
  Server server;
  HandshakeTable table(server.context, *server.crypto, table_config());
  const PeerAddress peer = client_address(12, 40002);
  EXPECT_FALSE(table.set_path_mtu(peer, 1300));  // above the configured 1200
  EXPECT_EQ(table.path_mtu_for(peer), 1200);
  EXPECT_EQ(table.path_mtus_remembered(), 0u);
  table.set_path_mtu(peer, 800);
  table.set_path_mtu(peer, 900);  // higher than what is known: ignored
  EXPECT_EQ(table.path_mtu_for(peer), 800);
  // RFC 1191's 68-byte IPv4 minimum is below what OpenSSL fragments for.
  table.set_path_mtu(peer, 68 - 28);
  const long minimum = HandshakeEngine::minimum_path_mtu(PeerAddress::Family::ipv4);
  EXPECT_EQ(table.path_mtu_for(peer), minimum);
  TestClient client(certificate_client(), server_address());
  const HandshakeTable::Result r =
      table.on_datagram(peer, cookie_exchange(client, *server.cookies, peer), Clock::now());
  ASSERT_EQ(r.disposition, D::started) << "a clamped MTU still starts";
  EXPECT_LE(largest(r.to_send), static_cast<size_t>(minimum));
  table.forget_path_mtu(peer);
  EXPECT_EQ(table.path_mtu_for(peer), 1200);
  EXPECT_EQ(table.path_mtus_remembered(), 0u);
}

}  // namespace
}  // namespace dtlsgw::handshake::test
