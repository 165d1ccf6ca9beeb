// The handshake table: one engine per peer (so per ClientHello.random), the
// limits, replay refusal after completion, restarts, and counters.
#include "handshake/handshake_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "handshake/client_hello.h"
#include "handshake/timer_wheel.h"
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

// The overall deadline, driven only by the table's timers: the loop asks
// next_wakeup(), ticks there, and nothing else runs the engine.
TEST(HandshakeTable, DeadlineThroughTickRemovesAndCountsTheHandshake) {
  Server server;
  TableConfig c = table_config();
  c.engine.handshake_timeout = 50ms;
  c.engine.initial_retransmission_timeout = 1s;
  c.engine.max_retransmission_timeout = 2s;
  const TimePoint t0 = Clock::now();
  HandshakeTable table(server.context, *server.crypto, c, t0);
  EXPECT_FALSE(table.next_wakeup().has_value());
  const PeerAddress peer = client_address();
  TestClient client(client_options(), server_address());
  ASSERT_EQ(table.on_datagram(peer, cookie_exchange(client, *server.cookies, peer), t0).disposition,
            D::started);
  EXPECT_EQ(table.next_deadline(peer), t0 + 50ms);
  EXPECT_EQ(table.timers_armed(), 1u);
  // Never early: nothing fires before the deadline, however close.
  EXPECT_TRUE(table.tick(t0 + 10ms).empty());
  EXPECT_TRUE(table.tick(t0 + 49ms).empty());
  EXPECT_EQ(table.size(), 1u);

  // The event loop: sleep (here: jump) to next_wakeup(), tick.
  std::vector<HandshakeTable::TimerOutcome> fired;
  int wakeups = 0;
  while (fired.empty() && wakeups < 10) {
    const std::optional<TimePoint> wake = table.next_wakeup();
    ASSERT_TRUE(wake.has_value());
    // Never later than the deadline rounded up to the 1 ms tick.
    EXPECT_LT(*wake, t0 + 51ms);
    fired = table.tick(*wake);
    ++wakeups;
  }
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].peer, peer);
  EXPECT_EQ(fired[0].result.disposition, D::timer);
  EXPECT_EQ(fired[0].result.failure, FailureReason::deadline_exceeded);
  EXPECT_TRUE(fired[0].result.to_send.empty());
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.timers_armed(), 0u);
  EXPECT_FALSE(table.next_wakeup().has_value());
  EXPECT_EQ(table.handshakes_from(peer), 0u);
  EXPECT_EQ(table.counters().failed[static_cast<size_t>(FailureReason::deadline_exceeded)], 1u);
  EXPECT_EQ(table.counters().timers_fired, 1u);
  EXPECT_EQ(table.next_deadline(peer), TimePoint::max());
}

// Sleeps until next_wakeup() and ticks at the real clock (OpenSSL's DTLS
// timers run on it), until a tick reports something; the outcomes.
std::vector<HandshakeTable::TimerOutcome> sleep_and_tick(HandshakeTable& table, int max_wakeups,
                                                         int* wakeups = nullptr) {
  for (int i = 0; i < max_wakeups; ++i) {
    const std::optional<TimePoint> wake = table.next_wakeup();
    if (!wake.has_value()) {
      ADD_FAILURE() << "no timer armed";
      return {};
    }
    std::this_thread::sleep_until(*wake);
    if (wakeups != nullptr) {
      ++*wakeups;
    }
    std::vector<HandshakeTable::TimerOutcome> fired = table.tick(Clock::now());
    if (!fired.empty()) {
      return fired;
    }
  }
  ADD_FAILURE() << "no timer fired in " << max_wakeups << " wake-ups";
  return {};
}

// RFC 6347 §4.2.4.1: the server's flight is lost; the table's tick, and
// nothing else, retransmits it when the timer expires, and the handshake
// completes from the retransmitted copy.
TEST(HandshakeTable, RetransmissionThroughTick) {
  Server server;
  HandshakeTable table(server.context, *server.crypto, table_config());
  const PeerAddress peer = client_address();
  TestClient client(client_options(), server_address());
  const TimePoint t0 = Clock::now();
  const HandshakeTable::Result first =
      table.on_datagram(peer, cookie_exchange(client, *server.cookies, peer), t0);
  ASSERT_EQ(first.disposition, D::started);
  ASSERT_FALSE(first.to_send.empty());  // lost
  EXPECT_TRUE(table.tick(Clock::now()).empty()) << "not due yet";
  const TimePoint deadline = table.next_deadline(peer);
  EXPECT_LE(deadline, t0 + 50ms);  // test_engine_config: 50 ms initial timer

  int wakeups = 0;
  const std::vector<HandshakeTable::TimerOutcome> fired = sleep_and_tick(table, 20, &wakeups);
  const TimePoint fired_at = Clock::now();
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_GE(fired_at, deadline) << "never early";
  EXPECT_LE(wakeups, static_cast<int>(TimerWheel::kLevels) + 1);
  EXPECT_EQ(fired[0].peer, peer);
  EXPECT_EQ(fired[0].result.disposition, D::timer);
  EXPECT_FALSE(fired[0].result.failure.has_value());
  // OpenSSL resends the flight one message per datagram.
  EXPECT_GE(fired[0].result.to_send.size(), first.to_send.size());
  EXPECT_EQ(table.find(peer)->stats().retransmissions, 1u);
  // Re-armed for the next, doubled, timeout.
  EXPECT_EQ(table.timers_armed(), 1u);
  EXPECT_GT(table.next_deadline(peer), fired_at + 50ms);

  std::optional<Handover> h = run(table, client, peer, fired[0].result.to_send);
  ASSERT_TRUE(h.has_value());
  expect_handover_keys_work(*server.crypto, client, *h);
  EXPECT_EQ(table.timers_armed(), 0u) << "the completed handshake's timer is released";
  EXPECT_FALSE(table.next_wakeup().has_value());
}

// A client that never answers: the table's tick retransmits
// max_retransmissions times with back-off, then fails the handshake.
TEST(HandshakeTable, RetransmissionsExhaustedThroughTick) {
  Server server;
  TableConfig c = table_config();
  c.engine.initial_retransmission_timeout = 20ms;
  c.engine.max_retransmission_timeout = 40ms;
  c.engine.max_retransmissions = 2;
  HandshakeTable table(server.context, *server.crypto, c);
  const PeerAddress peer = client_address();
  TestClient client(client_options(), server_address());
  ASSERT_EQ(table.on_datagram(peer, cookie_exchange(client, *server.cookies, peer), Clock::now())
                .disposition,
            D::started);
  int retransmitted_flights = 0;
  std::optional<FailureReason> failure;
  for (int round = 0; round < 5 && !failure.has_value(); ++round) {
    for (HandshakeTable::TimerOutcome& o : sleep_and_tick(table, 20)) {
      EXPECT_EQ(o.peer, peer);
      if (o.result.failure.has_value()) {
        failure = o.result.failure;
        EXPECT_TRUE(o.result.to_send.empty());
      } else {
        EXPECT_FALSE(o.result.to_send.empty());
        ++retransmitted_flights;
      }
    }
  }
  EXPECT_EQ(retransmitted_flights, 2);
  EXPECT_EQ(failure, FailureReason::retransmissions_exhausted);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.timers_armed(), 0u);
  EXPECT_EQ(table.counters().failed[static_cast<size_t>(FailureReason::retransmissions_exhausted)],
            1u);
}

// Every call that moves an engine's deadline moves its timer: a restart
// re-arms the slot for the new engine, a completion releases it.
TEST(HandshakeTable, OneArmedTimerPerRunningHandshake) {
  Server server;
  HandshakeTable table(server.context, *server.crypto, table_config());
  TestClient a(client_options(), server_address());
  TestClient b(client_options(), server_address());
  TestClient b_again(client_options(), server_address());
  const PeerAddress pa = client_address(1);
  const PeerAddress pb = client_address(2);
  const HandshakeTable::Result ra =
      table.on_datagram(pa, cookie_exchange(a, *server.cookies, pa), Clock::now());
  table.on_datagram(pb, cookie_exchange(b, *server.cookies, pb), Clock::now());
  EXPECT_EQ(table.timers_armed(), 2u);
  const HandshakeTable::Result restart =
      table.on_datagram(pb, cookie_exchange(b_again, *server.cookies, pb), Clock::now());
  EXPECT_EQ(restart.disposition, D::restarted);
  EXPECT_EQ(table.timers_armed(), 2u);
  const std::optional<TimePoint> wake = table.next_wakeup();
  ASSERT_TRUE(wake.has_value());
  EXPECT_LT(*wake, std::min(table.next_deadline(pa), table.next_deadline(pb)) + 1ms);
  ASSERT_TRUE(run(table, a, pa, ra.to_send).has_value());
  EXPECT_EQ(table.timers_armed(), 1u);
  ASSERT_TRUE(run(table, b_again, pb, restart.to_send).has_value());
  EXPECT_EQ(table.timers_armed(), 0u);
  EXPECT_EQ(table.timer_stats().fired, 0u);
}

// ---- Scale ------------------------------------------------------------------

// A cookie ClientHello as a PSK client's second ClientHello (RFC 6347
// §4.2.1: message_seq 1), offering PSK-AES128-CCM8 with extended master
// secret and renegotiation_info, with the cookie `cookies` makes for
// `peer`. Built directly rather than by an OpenSSL client: a client per
// handshake would cost more than the server side under test.
Datagram synthetic_cookie_client_hello(CookieMaker& cookies, const PeerAddress& peer, uint32_t n) {
  Bytes random = pattern(kRandomLength, static_cast<uint8_t>(n));
  for (size_t i = 0; i < 4; ++i) {  // distinct randoms
    random[i] = static_cast<uint8_t>(n >> (8 * i));
  }
  Bytes body;
  body.reserve(128);
  body.push_back(0xfe);  // client_version DTLS 1.2
  body.push_back(0xfd);
  body.insert(body.end(), random.begin(), random.end());
  body.push_back(0);  // session_id
  const size_t cookie_at = body.size() + 1;
  body.push_back(kCookieLength);
  body.insert(body.end(), kCookieLength, 0);          // filled in below
  const Bytes rest = {0x00, 0x02, 0xc0, 0xa8,         // cipher_suites: PSK-AES128-CCM8
                      0x01, 0x00,                     // compression_methods: null
                      0x00, 0x09,                     // extensions
                      0x00, 0x17, 0x00, 0x00,         //   extended_master_secret
                      0xff, 0x01, 0x00, 0x01, 0x00};  // renegotiation_info
  body.insert(body.end(), rest.begin(), rest.end());
  const auto length = static_cast<uint32_t>(body.size());
  const uint8_t l0 = static_cast<uint8_t>(length >> 16), l1 = static_cast<uint8_t>(length >> 8),
                l2 = static_cast<uint8_t>(length);
  const auto record_length = static_cast<uint16_t>(length + kHandshakeHeaderLength);
  // clang-format off
  Datagram d = {
      22, 0xfe, 0xfd,                    // handshake record, DTLS 1.2
      0, 0, 0, 0, 0, 0, 0, 1,            // epoch 0, sequence 1
      static_cast<uint8_t>(record_length >> 8), static_cast<uint8_t>(record_length),
      1, l0, l1, l2,                     // client_hello, length
      0, 1,                              // message_seq 1
      0, 0, 0, l0, l1, l2};              // one fragment: offset 0, the whole length
  // clang-format on
  const size_t body_at = d.size();
  d.insert(d.end(), body.begin(), body.end());
  ClientHello hello;
  uint8_t cookie[kCookieLength];
  if (parse_client_hello(d, hello) != ClientHelloResult::ok ||
      !cookies.make_cookie(peer, hello, cookie)) {
    throw std::runtime_error("synthetic ClientHello");
  }
  std::copy(cookie, cookie + kCookieLength, d.begin() + static_cast<long>(body_at + cookie_at));
  return d;
}

size_t resident_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stoul(line.substr(6));
    }
  }
  return 0;
}

// Many half-open handshakes at once (engines started from cookie
// ClientHellos, their ServerHello flights never answered) through the
// table's timer wheel: ticks before any deadline fire nothing and visit no
// slot; once a second has really passed (OpenSSL's timers run on the real
// clock) one tick retransmits every flight; a tick past the handshake
// deadline fails them all. The two firing ticks visit a handful of slots,
// not one per handshake.
//
// How many. Each half-open engine is a live OpenSSL SSL object holding its
// buffered flight. Measured with this test (DTLSGW_SCALE_HANDSHAKES=N
// overrides the count) on the 2-core development machine, OpenSSL 3.0:
//   gcc -O3:        ~70-110 us and 49 KiB resident per engine; 20,000
//                   engines: 1.4-2.2 s to start, 0.99 GB, 3.5 s in all.
//   clang ASan+UBSan: ~160 us and 79 KiB per engine; 10,000 engines:
//                   1.6 s, 0.79 GB, 3.5 s in all.
// 100,000 real engines would need ~4.9 GB (~7.9 GB under ASan) and 7-16 s
// to start: beyond a unit test's budget (~5 s, <= 1.5 GB), so this test
// runs 20,000 (10,000 under ASan), and the O(1) tick at 100,000 timers is
// shown on the wheel alone (WheelTickCostDoesNotGrowWithArmedTimers).
#if defined(__SANITIZE_ADDRESS__)
constexpr uint32_t kScaleHandshakes = 10'000;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr uint32_t kScaleHandshakes = 10'000;
#else
constexpr uint32_t kScaleHandshakes = 20'000;
#endif
#else
constexpr uint32_t kScaleHandshakes = 20'000;
#endif

TEST(HandshakeTable, ManyHalfOpenHandshakesThroughTheWheel) {
  const char* env = std::getenv("DTLSGW_SCALE_HANDSHAKES");
  const uint32_t n = env != nullptr ? static_cast<uint32_t>(std::stoul(env)) : kScaleHandshakes;
  Server server;
  TableConfig c = table_config();
  c.max_handshakes = n;
  c.engine.initial_retransmission_timeout = 1s;
  c.engine.max_retransmission_timeout = 2s;
  c.engine.handshake_timeout = 30s;
  const TimePoint t0 = Clock::now();
  HandshakeTable table(server.context, *server.crypto, c, t0);

  const size_t rss_before = resident_kib();
  const auto started_at = Clock::now();
  for (uint32_t i = 0; i < n; ++i) {
    // 10.x.y.z: 256 addresses per /24, one port each.
    const uint8_t a[4] = {10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                          static_cast<uint8_t>(i)};
    const PeerAddress peer = PeerAddress::v4(a, 40000);
    const HandshakeTable::Result r =
        table.on_datagram(peer, synthetic_cookie_client_hello(*server.cookies, peer, i), t0);
    ASSERT_EQ(r.disposition, D::started) << i << " " << (r.failure ? to_string(*r.failure) : "");
    ASSERT_FALSE(r.to_send.empty());
  }
  const TimePoint last_started = Clock::now();
  const double start_seconds = std::chrono::duration<double>(last_started - started_at).count();
  const size_t rss_after = resident_kib();
  std::printf(
      "%u half-open handshakes: %.2f s to start (%.1f us each), %zu KiB resident "
      "(%.1f KiB each)\n",
      n, start_seconds, 1e6 * start_seconds / n, rss_after - rss_before,
      static_cast<double>(rss_after - rss_before) / n);
  EXPECT_EQ(table.size(), n);
  EXPECT_EQ(table.timers_armed(), n);

  // Every deadline is about t0 + 1 s (OpenSSL's retransmission timer) or
  // later: ticks through the first 500 ms fire nothing and visit no slot.
  const TimerWheelStats before = table.timer_stats();
  for (int ms = 1; ms <= 500; ++ms) {
    ASSERT_TRUE(table.tick(t0 + std::chrono::milliseconds(ms)).empty());
  }
  EXPECT_EQ(table.timer_stats().fired, before.fired);
  EXPECT_EQ(table.timer_stats().slot_visits, before.slot_visits);

  // OpenSSL's timers run on the real clock: once a second has really
  // passed since the last engine started, one tick retransmits every
  // flight and re-arms every timer (doubled: 2 s). Its slot visits are
  // bounded by the wheel's slots (kLevels * kSlots), not by n.
  std::this_thread::sleep_until(last_started + 1s + 20ms);
  const TimerWheelStats before_retransmission = table.timer_stats();
  const auto retransmission_started = Clock::now();
  const std::vector<HandshakeTable::TimerOutcome> retransmitted = table.tick(Clock::now());
  const double retransmission_seconds =
      std::chrono::duration<double>(Clock::now() - retransmission_started).count();
  ASSERT_EQ(retransmitted.size(), n);
  for (const HandshakeTable::TimerOutcome& o : retransmitted) {
    ASSERT_FALSE(o.result.failure.has_value());
    ASSERT_FALSE(o.result.to_send.empty());
  }
  const uint64_t retransmission_visits =
      table.timer_stats().slot_visits - before_retransmission.slot_visits;
  EXPECT_LE(retransmission_visits, uint64_t{TimerWheel::kLevels} * TimerWheel::kSlots);
  std::printf("retransmission tick: %zu flights in %.2f s, %llu slot visits\n",
              retransmitted.size(), retransmission_seconds,
              static_cast<unsigned long long>(retransmission_visits));
  EXPECT_EQ(table.timers_armed(), n);

  // Past the handshake deadline: one tick fails them all.
  const TimerWheelStats before_deadline = table.timer_stats();
  const std::vector<HandshakeTable::TimerOutcome> fired = table.tick(t0 + 31s);
  EXPECT_EQ(fired.size(), n);
  for (const HandshakeTable::TimerOutcome& o : fired) {
    ASSERT_EQ(o.result.failure, FailureReason::deadline_exceeded);
  }
  const uint64_t visits = table.timer_stats().slot_visits - before_deadline.slot_visits;
  EXPECT_LE(visits, uint64_t{TimerWheel::kLevels} * TimerWheel::kSlots);
  std::printf("deadline tick: %zu engines failed, %llu slot visits\n", fired.size(),
              static_cast<unsigned long long>(visits));
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.timers_armed(), 0u);
  EXPECT_EQ(table.counters().failed[static_cast<size_t>(FailureReason::deadline_exceeded)], n);
}

// The wheel alone at 100,000 timers, the scale the issue asks for ("a
// timer structure ... that handles 100,000 concurrent handshakes at O(1)
// cost per tick"), against 1,000: deadlines spread as RFC 6347 §4.2.4.1
// timers are (1 s initial, up to 60 s), then a tick every millisecond
// until all have fired. Measured through the wheel's own counters, not
// wall time: a tick visits at most one occupied slot per level (so at
// most kLevels), whether 1,000 or 100,000 timers are armed; the timers
// fired are the only work that grows with the count (a linear scan would
// touch every handshake on every tick: 6e9 checks here).
struct TickCost {
  uint64_t ticks = 0;
  uint64_t visits_before_first_deadline = 0;
  uint64_t max_visits_per_tick = 0;
  uint64_t total_visits = 0;
  uint64_t max_fired_per_tick = 0;
  uint64_t fired = 0;
  uint64_t cascaded = 0;
};

TickCost tick_every_millisecond(uint32_t timers) {
  TimerWheel wheel(TimerWheelConfig{.capacity = timers, .tick_ms = 1, .start_ms = 0});
  std::mt19937_64 rng(6347);
  for (uint32_t i = 0; i < timers; ++i) {
    const TimerAcquired t = wheel.acquire(i);
    EXPECT_EQ(t.result, TimerResult::ok);
    EXPECT_EQ(wheel.schedule(t.id, 1000 + rng() % 60000), TimerResult::ok);
  }
  TickCost cost;
  uint64_t now = 0;
  // 900 ms with nothing due (the first deadline is at 1 s, its level-1
  // slot starts at 960 ms): not one slot visited, at any count.
  for (; now < 900; ++now) {
    EXPECT_EQ(wheel.advance(now + 1, [](TimerId, uint64_t) {}), 0u);
  }
  cost.visits_before_first_deadline = wheel.stats().slot_visits;
  while (wheel.size() > 0) {
    const uint64_t visits = wheel.stats().slot_visits;
    const uint64_t fired = wheel.advance(++now, [&](TimerId id, uint64_t) { wheel.release(id); });
    cost.max_visits_per_tick =
        std::max(cost.max_visits_per_tick, wheel.stats().slot_visits - visits);
    cost.max_fired_per_tick = std::max(cost.max_fired_per_tick, fired);
  }
  cost.ticks = now;
  cost.total_visits = wheel.stats().slot_visits;
  cost.fired = wheel.stats().fired;
  cost.cascaded = wheel.stats().cascaded;
  return cost;
}

TEST(HandshakeTable, WheelTickCostDoesNotGrowWithArmedTimers) {
  const TickCost small = tick_every_millisecond(1'000);
  const TickCost large = tick_every_millisecond(100'000);
  for (const TickCost* c : {&small, &large}) {
    EXPECT_EQ(c->visits_before_first_deadline, 0u);
    EXPECT_LE(c->max_visits_per_tick, uint64_t{TimerWheel::kLevels});
    // At most one level-0 slot per tick, plus the cascades of the higher
    // levels' slots: bounded by elapsed time, not by the timers.
    EXPECT_LE(c->total_visits, c->ticks + c->ticks / 64 + c->ticks / 4096 + 3);
    EXPECT_LE(c->ticks, 61'000u);
  }
  EXPECT_EQ(small.fired, 1'000u);
  EXPECT_EQ(large.fired, 100'000u);
  // Each timer is re-sorted at most kLevels - 1 times: amortised O(1).
  EXPECT_LE(large.cascaded, 100'000u * (TimerWheel::kLevels - 1));
  std::printf(
      "timers  ticks  max slot visits/tick  slot visits  max fired/tick  cascaded\n"
      "%6u  %5llu  %20llu  %11llu  %14llu  %8llu\n%6u  %5llu  %20llu  %11llu  %14llu  %8llu\n",
      1'000u, static_cast<unsigned long long>(small.ticks),
      static_cast<unsigned long long>(small.max_visits_per_tick),
      static_cast<unsigned long long>(small.total_visits),
      static_cast<unsigned long long>(small.max_fired_per_tick),
      static_cast<unsigned long long>(small.cascaded), 100'000u,
      static_cast<unsigned long long>(large.ticks),
      static_cast<unsigned long long>(large.max_visits_per_tick),
      static_cast<unsigned long long>(large.total_visits),
      static_cast<unsigned long long>(large.max_fired_per_tick),
      static_cast<unsigned long long>(large.cascaded));
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
