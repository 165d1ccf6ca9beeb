// RecentHandshakes (handshake/recent_handshakes.h): the replay memory of
// completed handshakes, against a std::map model under random operations,
// plus its edges: expiry, capacity eviction oldest first, re-remembering,
// growth, and keys that differ in one byte only.
#include "handshake/recent_handshakes.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <random>
#include <utility>

namespace dtlsgw::handshake {
namespace {

using namespace std::chrono_literals;
using Key = RecentHandshakes::Key;
using TimePoint = RecentHandshakes::TimePoint;

Key key_of(uint32_t n, uint8_t random_byte = 0) {
  Key k;
  const uint8_t a[4] = {192, 0, 2, static_cast<uint8_t>(n)};
  k.peer = PeerAddress::v4(a, static_cast<uint16_t>(1024 + (n >> 8)));
  std::memcpy(k.random.data(), &n, sizeof(n));
  k.random[31] = random_byte;
  return k;
}

TEST(RecentHandshakes, RemembersUntilItsExpiry) {
  RecentHandshakes r(100);
  const TimePoint t0{};
  EXPECT_FALSE(r.contains(key_of(1), t0));
  r.remember(key_of(1), t0 + 10s);
  EXPECT_TRUE(r.contains(key_of(1), t0));
  EXPECT_TRUE(r.contains(key_of(1), t0 + 9s));
  EXPECT_FALSE(r.contains(key_of(1), t0 + 10s)) << "expired at its expiry";
  EXPECT_FALSE(r.contains(key_of(2), t0));
  r.forget_expired(t0 + 10s);
  EXPECT_EQ(r.size(), 0u);
}

TEST(RecentHandshakes, OneDifferentByteIsAnotherKey) {
  RecentHandshakes r(100);
  const TimePoint t0{};
  r.remember(key_of(7), t0 + 10s);
  for (size_t i = 0; i < 32; ++i) {
    Key k = key_of(7);
    k.random[i] ^= 0x01;
    EXPECT_FALSE(r.contains(k, t0)) << "random byte " << i;
  }
  Key other_port = key_of(7);
  ++other_port.peer.port;
  EXPECT_FALSE(r.contains(other_port, t0));
  Key other_family = key_of(7);
  other_family.peer.family = PeerAddress::Family::ipv6;
  EXPECT_FALSE(r.contains(other_family, t0));
  EXPECT_TRUE(r.contains(key_of(7), t0));
}

TEST(RecentHandshakes, FullForgetsTheOldestFirst) {
  RecentHandshakes r(3);
  const TimePoint t0{};
  for (uint32_t n = 0; n < 5; ++n) {
    r.remember(key_of(n), t0 + 100s + std::chrono::seconds(n));
  }
  EXPECT_EQ(r.size(), 3u);
  EXPECT_FALSE(r.contains(key_of(0), t0));
  EXPECT_FALSE(r.contains(key_of(1), t0));
  EXPECT_TRUE(r.contains(key_of(2), t0));
  EXPECT_TRUE(r.contains(key_of(4), t0));
}

TEST(RecentHandshakes, RememberingAgainExtendsAndCountsOnce) {
  RecentHandshakes r(10);
  const TimePoint t0{};
  r.remember(key_of(1), t0 + 10s);
  r.remember(key_of(2), t0 + 11s);
  r.remember(key_of(1), t0 + 20s);
  EXPECT_EQ(r.size(), 2u);
  r.forget_expired(t0 + 15s);
  EXPECT_TRUE(r.contains(key_of(1), t0 + 15s)) << "the later expiry counts";
  EXPECT_FALSE(r.contains(key_of(2), t0 + 15s));
  EXPECT_EQ(r.size(), 1u);
}

TEST(RecentHandshakes, GrowsToItsCapacityAndNoFurther) {
  constexpr size_t kCapacity = 5000;  // several doublings of the ring
  RecentHandshakes r(kCapacity);
  const TimePoint t0{};
  for (uint32_t n = 0; n < 2 * kCapacity; ++n) {
    r.remember(key_of(n), t0 + 1000s + std::chrono::milliseconds(n));
    ASSERT_LE(r.size(), kCapacity);
  }
  EXPECT_EQ(r.size(), kCapacity);
  for (uint32_t n = 0; n < 2 * kCapacity; ++n) {
    ASSERT_EQ(r.contains(key_of(n), t0), n >= kCapacity) << n;
  }
}

// Random remember / forget_expired / contains against a model with the
// same rules (expiry, oldest-first eviction at capacity, re-remember).
TEST(RecentHandshakes, MatchesAModelUnderRandomOperations) {
  for (const size_t capacity : {1u, 7u, 64u, 300u}) {
    RecentHandshakes r(capacity);
    std::map<std::pair<uint32_t, uint8_t>, TimePoint> model;  // key -> expiry
    std::deque<std::pair<std::pair<uint32_t, uint8_t>, TimePoint>> order;
    std::mt19937 rng(static_cast<uint32_t>(capacity));
    TimePoint now{};
    for (int step = 0; step < 20000; ++step) {
      const auto id =
          std::make_pair(static_cast<uint32_t>(rng() % 500), static_cast<uint8_t>(rng() % 2));
      const Key k = key_of(id.first, id.second);
      switch (rng() % 4) {
        case 0:
        case 1: {
          const TimePoint until = now + std::chrono::milliseconds(100 + rng() % 50);
          // Expiries never go backwards: a later remember has a later one.
          const TimePoint at = order.empty() ? until : std::max(until, order.back().second);
          r.remember(k, at);
          if (model.contains(id)) {
            std::erase_if(order, [&](const auto& e) { return e.first == id; });
          } else if (model.size() >= capacity) {
            model.erase(order.front().first);
            order.pop_front();
          }
          model[id] = at;
          order.emplace_back(id, at);
          break;
        }
        case 2:
          now += std::chrono::milliseconds(rng() % 20);
          r.forget_expired(now);
          while (!order.empty() && order.front().second <= now) {
            model.erase(order.front().first);
            order.pop_front();
          }
          break;
        default: {
          const auto it = model.find(id);
          ASSERT_EQ(r.contains(k, now), it != model.end() && it->second > now)
              << "capacity " << capacity << " step " << step;
        }
      }
      ASSERT_EQ(r.size(), model.size()) << "capacity " << capacity << " step " << step;
    }
  }
}

}  // namespace
}  // namespace dtlsgw::handshake
