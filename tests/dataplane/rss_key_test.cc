// The RSS key the dataplane configures (dataplane/rss_key.h) makes the
// Toeplitz hash symmetric: a flow and its reverse hash alike, for IPv4 and
// IPv6 tuples with ports, at the key sizes devices report (40 bytes for
// most Intel NICs, 52 for some). No virtual device here implements an RSS
// key, so the hash is DPDK's software Toeplitz (rte_softrss), which NICs
// implement in hardware (and which DPDK's own tests check against Intel's
// published verification values). The control: the well-known default key
// of Microsoft's RSS specification is not symmetric.
#include <gtest/gtest.h>
#include <rte_thash.h>

#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "dataplane/rss_key.h"

namespace dtlsgw::dataplane {
namespace {

// rte_softrss's input: 32-bit words, host order. IPv4: source, destination,
// source port << 16 | destination port (RTE_THASH_V4_L4_LEN words).
uint32_t hash_v4(const std::vector<uint8_t>& key, uint32_t src, uint32_t dst, uint16_t sport,
                 uint16_t dport) {
  uint32_t tuple[RTE_THASH_V4_L4_LEN] = {src, dst, uint32_t{sport} << 16 | dport};
  return rte_softrss(tuple, RTE_THASH_V4_L4_LEN, key.data());
}

// IPv6: the two addresses (4 words each), then the ports.
uint32_t hash_v6(const std::vector<uint8_t>& key, const std::array<uint32_t, 4>& src,
                 const std::array<uint32_t, 4>& dst, uint16_t sport, uint16_t dport) {
  uint32_t tuple[RTE_THASH_V6_L4_LEN];
  for (int i = 0; i < 4; ++i) {
    tuple[i] = src[i];
    tuple[4 + i] = dst[i];
  }
  tuple[8] = uint32_t{sport} << 16 | dport;
  return rte_softrss(tuple, RTE_THASH_V6_L4_LEN, key.data());
}

TEST(RssKey, IsTheRepeated6d5aPattern) {
  const auto key = symmetric_rss_key(40);
  ASSERT_EQ(key.size(), 40u);
  for (size_t i = 0; i < key.size(); i += 2) {
    EXPECT_EQ(key[i], 0x6d);
    EXPECT_EQ(key[i + 1], 0x5a);
  }
}

TEST(RssKey, ToeplitzIsSymmetricForIpv4AndIpv6Flows) {
  std::mt19937 rng(2026);
  for (const size_t length : {40u, 52u}) {
    const auto key = symmetric_rss_key(length);
    std::vector<uint32_t> seen;
    for (int n = 0; n < 2000; ++n) {
      const auto a = static_cast<uint32_t>(rng()), b = static_cast<uint32_t>(rng());
      const auto sport = static_cast<uint16_t>(rng()), dport = static_cast<uint16_t>(rng());
      const uint32_t forward = hash_v4(key, a, b, sport, dport);
      EXPECT_EQ(forward, hash_v4(key, b, a, dport, sport)) << "key " << length << " flow " << n;
      seen.push_back(forward);
      std::array<uint32_t, 4> s, d;
      for (int i = 0; i < 4; ++i) {
        s[i] = static_cast<uint32_t>(rng());
        d[i] = static_cast<uint32_t>(rng());
      }
      EXPECT_EQ(hash_v6(key, s, d, sport, dport), hash_v6(key, d, s, dport, sport))
          << "key " << length << " flow " << n;
    }
    // Symmetric, not constant: the flows still spread over queues.
    std::array<unsigned, 4> queues{};
    for (uint32_t h : seen) {
      ++queues[h % 4];
    }
    for (unsigned q : queues) {
      EXPECT_GT(q, 2000u / 4 / 2) << "key " << length;
    }
  }
}

TEST(RssKey, TheDefaultMicrosoftKeyIsNotSymmetric) {
  // The RSS specification's sample key (what many drivers use by default).
  const std::vector<uint8_t> key = {
      0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
      0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
      0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
  // Microsoft's verification suite: 66.9.149.187:2794 → 161.142.100.80:1766
  // hashes to 0x51ccc178 (IPv4 with ports).
  EXPECT_EQ(hash_v4(key, 0x420995bb, 0xa18e6450, 2794, 1766), 0x51ccc178u);
  unsigned asymmetric = 0;
  std::mt19937 rng(7);
  for (int n = 0; n < 100; ++n) {
    const auto a = static_cast<uint32_t>(rng()), b = static_cast<uint32_t>(rng());
    const auto sport = static_cast<uint16_t>(rng()), dport = static_cast<uint16_t>(rng());
    asymmetric += hash_v4(key, a, b, sport, dport) != hash_v4(key, b, a, dport, sport);
  }
  EXPECT_GT(asymmetric, 90u);
}

}  // namespace
}  // namespace dtlsgw::dataplane
