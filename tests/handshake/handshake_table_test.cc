// The handshake table: one engine per peer (so per ClientHello.random), the
// limits, replay refusal after completion, restarts, and counters.
#include "handshake/handshake_table.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "tests/handshake/test_support.h"

namespace dtlsgw::handshake::test {
namespace {

using namespace std::chrono_literals;
using D = HandshakeTable::Disposition;

ClientOptions client_options() {
  ClientOptions o;
  o.cipher_suites = "PSK-AES128-CCM8";
  o.psk_identity = kPskIdentity;
  o.psk.assign(psk_key().begin(), psk_key().end());
  return o;
}

TableConfig table_config() {
  TableConfig c;
  c.engine = test_engine_config();
  return c;
}

// Alternates the client and the table until the table hands over.
std::optional<Handover> run(HandshakeTable& table, TestClient& client, const PeerAddress& peer,
                            std::vector<Datagram> down) {
  for (int round = 0; round < 16; ++round) {
    client.deliver(down);
    down.clear();
    for (const Datagram& d : client.step()) {
      HandshakeTable::Result r = table.on_datagram(peer, d, Clock::now());
      EXPECT_EQ(r.disposition, D::routed);
      down.insert(down.end(), r.to_send.begin(), r.to_send.end());
      if (r.handover.has_value()) {
        client.deliver(down);
        client.step();
        return std::move(r.handover);
      }
    }
  }
  return std::nullopt;
}

TEST(HandshakeTable, RepeatedCookieClientHelloRoutesToTheRunningEngine) {
  Server server;
  HandshakeTable table(server.context, *server.crypto, table_config());
  const PeerAddress peer = client_address();
  TestClient client(client_options(), server_address());
  const Datagram hello = cookie_exchange(client, *server.cookies, peer);

  HandshakeTable::Result first = table.on_datagram(peer, hello, Clock::now());
  EXPECT_EQ(first.disposition, D::started);
  EXPECT_FALSE(first.to_send.empty());
  const HandshakeEngine* engine = table.find(peer);
  ASSERT_NE(engine, nullptr);
  for (int i = 0; i < 3; ++i) {
    HandshakeTable::Result again = table.on_datagram(peer, hello, Clock::now());
    EXPECT_EQ(again.disposition, D::routed);
    EXPECT_EQ(table.find(peer), engine) << "never a second engine";
  }
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.counters().started, 1u);
  EXPECT_EQ(table.counters().client_hello_repeats, 3u);

  std::optional<Handover> h = run(table, client, peer, first.to_send);
  ASSERT_TRUE(h.has_value());
  EXPECT_TRUE(client.done()) << client.error();
  EXPECT_EQ(h->peer, peer);
  EXPECT_EQ(h->identity.name, kPskIdentity);
  expect_handover_keys_work(*server.crypto, client, *h);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.handshakes_from(peer), 0u);
  EXPECT_EQ(table.counters().completed, 1u);

  // The same cookie ClientHello after completion (a replay, or a late
  // retransmission): refused, not a second handshake.
  HandshakeTable::Result replay = table.on_datagram(peer, hello, Clock::now());
  EXPECT_EQ(replay.disposition, D::refused_recent_replay);
  EXPECT_TRUE(replay.to_send.empty());
  EXPECT_EQ(table.counters().refused_recent_replay, 1u);
  EXPECT_EQ(table.counters().started, 1u);
}

TEST(HandshakeTable, RecentMemoryExpires) {
  Server server;
  TableConfig c = table_config();
  c.recent_lifetime = 1s;
  HandshakeTable table(server.context, *server.crypto, c);
  const PeerAddress peer = client_address();
  TestClient client(client_options(), server_address());
  const Datagram hello = cookie_exchange(client, *server.cookies, peer);
  HandshakeTable::Result first = table.on_datagram(peer, hello, Clock::now());
  ASSERT_TRUE(run(table, client, peer, first.to_send).has_value());
  EXPECT_EQ(table.on_datagram(peer, hello, Clock::now()).disposition, D::refused_recent_replay);
  EXPECT_EQ(table.on_datagram(peer, hello, Clock::now() + 2s).disposition, D::started);
}

TEST(HandshakeTable, TotalLimit) {
  Server server;
  TableConfig c = table_config();
  c.max_handshakes = 2;
  HandshakeTable table(server.context, *server.crypto, c);
  std::vector<D> got;
  for (uint8_t host = 1; host <= 3; ++host) {
    TestClient client(client_options(), server_address());
    const PeerAddress peer = client_address(host);
    got.push_back(
        table.on_datagram(peer, cookie_exchange(client, *server.cookies, peer), Clock::now())
            .disposition);
  }
  EXPECT_EQ(got, (std::vector<D>{D::started, D::started, D::refused_total_limit}));
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.counters().refused_total_limit, 1u);
}

TEST(HandshakeTable, PerSourceLimitCountsAddressesNotPorts) {
  Server server;
  TableConfig c = table_config();
  c.max_handshakes_per_source = 2;
  HandshakeTable table(server.context, *server.crypto, c);
  auto offer = [&](const PeerAddress& peer) {
    TestClient client(client_options(), server_address());
    return table.on_datagram(peer, cookie_exchange(client, *server.cookies, peer), Clock::now())
        .disposition;
  };
  EXPECT_EQ(offer(client_address(7, 1001)), D::started);
  EXPECT_EQ(offer(client_address(7, 1002)), D::started);
  EXPECT_EQ(offer(client_address(7, 1003)), D::refused_source_limit);
  EXPECT_EQ(offer(client_address(8, 1003)), D::started);
  EXPECT_EQ(table.handshakes_from(client_address(7, 9)), 2u);
  EXPECT_EQ(table.counters().refused_source_limit, 1u);
}

// A client that restarts (a new ClientHello.random from the same address
// and port) replaces its unfinished handshake.
TEST(HandshakeTable, NewRandomFromThePeerRestartsTheHandshake) {
  Server server;
  HandshakeTable table(server.context, *server.crypto, table_config());
  const PeerAddress peer = client_address();
  TestClient abandoned(client_options(), server_address());
  ASSERT_EQ(table.on_datagram(peer, cookie_exchange(abandoned, *server.cookies, peer), Clock::now())
                .disposition,
            D::started);
  const HandshakeEngine* old_engine = table.find(peer);

  TestClient client(client_options(), server_address());
  HandshakeTable::Result r =
      table.on_datagram(peer, cookie_exchange(client, *server.cookies, peer), Clock::now());
  EXPECT_EQ(r.disposition, D::restarted);
  EXPECT_NE(table.find(peer), old_engine);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.handshakes_from(peer), 1u);
  std::optional<Handover> h = run(table, client, peer, r.to_send);
  ASSERT_TRUE(h.has_value());
  expect_handover_keys_work(*server.crypto, client, *h);
  EXPECT_EQ(table.counters().restarted, 1u);
}

TEST(HandshakeTable, OnlyCookieClientHellosStartHandshakes) {
  Server server;
  HandshakeTable table(server.context, *server.crypto, table_config());
  const PeerAddress peer = client_address();
  TestClient client(client_options(), server_address());
  // The client's first, cookie-less ClientHello: the dataplane's business.
  const std::vector<Datagram> first = client.step();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(table.on_datagram(peer, first[0], Clock::now()).disposition, D::no_handshake);
  EXPECT_EQ(table.on_datagram(peer, pattern(40, 1), Clock::now()).disposition, D::no_handshake);
  EXPECT_EQ(table.counters().no_handshake, 2u);
  EXPECT_EQ(table.size(), 0u);
}

TEST(HandshakeTable, CookieForAnotherAddressFailsToStart) {
  Server server;
  HandshakeTable table(server.context, *server.crypto, table_config());
  TestClient client(client_options(), server_address());
  const Datagram hello = cookie_exchange(client, *server.cookies, client_address(1));
  HandshakeTable::Result r = table.on_datagram(client_address(2), hello, Clock::now());
  EXPECT_EQ(r.disposition, D::start_failed);
  EXPECT_EQ(r.failure, FailureReason::cookie_rejected);
  EXPECT_TRUE(r.to_send.empty());
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.counters().failed[static_cast<size_t>(FailureReason::cookie_rejected)], 1u);
}

TEST(HandshakeTable, DeadlineRemovesAndCountsTheHandshake) {
  Server server;
  TableConfig c = table_config();
  c.engine.handshake_timeout = 50ms;
  c.engine.initial_retransmission_timeout = 1s;
  c.engine.max_retransmission_timeout = 2s;
  HandshakeTable table(server.context, *server.crypto, c);
  const PeerAddress peer = client_address();
  TestClient client(client_options(), server_address());
  const TimePoint t0 = Clock::now();
  ASSERT_EQ(table.on_datagram(peer, cookie_exchange(client, *server.cookies, peer), t0).disposition,
            D::started);
  EXPECT_EQ(table.next_deadline(peer), t0 + 50ms);
  EXPECT_TRUE(table.expire(t0 + 10ms).empty());
  const auto expired = table.expire(t0 + 60ms);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].first, peer);
  EXPECT_EQ(expired[0].second.failure, FailureReason::deadline_exceeded);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.handshakes_from(peer), 0u);
  EXPECT_EQ(table.counters().failed[static_cast<size_t>(FailureReason::deadline_exceeded)], 1u);
  EXPECT_EQ(table.next_deadline(peer), TimePoint::max());
}

TEST(HandshakeTable, RetransmissionThroughOnTimer) {
  Server server;
  HandshakeTable table(server.context, *server.crypto, table_config());
  const PeerAddress peer = client_address();
  TestClient client(client_options(), server_address());
  const HandshakeTable::Result first =
      table.on_datagram(peer, cookie_exchange(client, *server.cookies, peer), Clock::now());
  ASSERT_EQ(first.disposition, D::started);
  EXPECT_TRUE(table.on_timer(peer, Clock::now()).to_send.empty()) << "not due yet";
  std::this_thread::sleep_until(table.next_deadline(peer));
  const HandshakeTable::Result again = table.on_timer(peer, Clock::now());
  EXPECT_EQ(again.disposition, D::timer);
  EXPECT_FALSE(again.to_send.empty());
  std::optional<Handover> h = run(table, client, peer, again.to_send);
  ASSERT_TRUE(h.has_value());
  expect_handover_keys_work(*server.crypto, client, *h);
}

TEST(HandshakeTable, EveryCounterHasANameAndADescription) {
  TableCounters c;
  c.started = 3;
  c.failed[static_cast<size_t>(FailureReason::peer_alert)] = 2;
  std::set<std::string> names;
  uint64_t total = 0;
  for_each_counter(c, [&](std::string_view name, std::string_view description, uint64_t v) {
    EXPECT_FALSE(description.empty()) << name;
    EXPECT_TRUE(names.emplace(name).second) << "duplicate " << name;
    total += v;
  });
  EXPECT_EQ(total, 5u);
  EXPECT_TRUE(names.contains("handshakes_failed_peer_alert"));
  EXPECT_FALSE(names.contains("handshakes_failed_none"));
}

}  // namespace
}  // namespace dtlsgw::handshake::test
