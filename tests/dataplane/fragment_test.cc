// IP reassembly in the worker (dataplane/fragments.h) in-process on
// net_ring ports: DTLS datagrams cut into IPv4 fragments come out whole
// (plaintext to the backend), in any order and with network duplicates;
// a flood of fragments that never complete is held in a fixed amount of
// memory and freed when its time is up; overlaps, too many fragments and
// oversized fragments are dropped and counted. The IPv6 path of the table
// is checked directly (the dataplane parses IPv6 from a later change).
#include <gtest/gtest.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "dataplane/fragments.h"
#include "tests/dataplane/dataplane_harness.h"

namespace dtlsgw::test {
namespace {

using dataplane::Counter;
using dataplane::FragmentTable;

constexpr size_t kL3 = 14;
constexpr size_t kIpHeader = 20;

void put16(Bytes& b, size_t at, unsigned v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}

Bytes text_of(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) {
    b[i] = static_cast<uint8_t>(seed + i * 7);
  }
  return b;
}

// One IPv4 fragment of `frame`'s IP payload: bytes [offset, offset+length)
// (RFC 791 §3.2: offset in 8-byte units, MF on all but the last).
Bytes piece(const Bytes& frame, size_t offset, size_t length, bool more, uint16_t id) {
  Bytes f(kL3 + kIpHeader + length);
  std::copy_n(frame.begin(), kL3 + kIpHeader, f.begin());
  std::copy_n(frame.begin() + static_cast<ptrdiff_t>(kL3 + kIpHeader + offset), length,
              f.begin() + kL3 + kIpHeader);
  put16(f, kL3 + 2, static_cast<unsigned>(kIpHeader + length));
  put16(f, kL3 + 4, id);
  put16(f, kL3 + 6, (more ? 0x2000u : 0u) | static_cast<unsigned>(offset / 8));
  put16(f, kL3 + 10, 0);
  auto* h = reinterpret_cast<rte_ipv4_hdr*>(f.data() + kL3);
  h->hdr_checksum = rte_ipv4_cksum(h);
  return f;
}

// `frame` cut at `cuts` (offsets into its IP payload, multiples of 8).
std::vector<Bytes> fragments(const Bytes& frame, std::vector<size_t> cuts, uint16_t id) {
  const size_t total = frame.size() - kL3 - kIpHeader;
  cuts.insert(cuts.begin(), 0);
  cuts.push_back(total);
  std::vector<Bytes> out;
  for (size_t k = 0; k + 1 < cuts.size(); ++k) {
    out.push_back(piece(frame, cuts[k], cuts[k + 1] - cuts[k], k + 2 < cuts.size(), id));
  }
  return out;
}

// Polls the (one) worker until its rings are empty.
void drain(Harness& h) {
  while (h.worker().poll() != 0) {
  }
}

unsigned fragment_buffers_held(unsigned worker = 0) {
  rte_mempool* p = rte_mempool_lookup(("dtlsgw_ipf" + std::to_string(worker) + "_frag").c_str());
  return p == nullptr ? ~0u : rte_mempool_in_use_count(p);
}

struct Order {
  const char* name;
  std::vector<size_t> cuts;
  std::vector<size_t> send;  // fragment indices, in sending order
  uint64_t duplicates;
};

class Reassembly : public ::testing::TestWithParam<Order> {};

TEST_P(Reassembly, DatagramComesOutWholeAndItsPlaintextIsForwarded) {
  const Order& o = GetParam();
  Harness h;
  Peer peer("192.0.2.10", 40000);
  h.install(peer);
  h.events();
  const Bytes plaintext = text_of(1000, 3);
  const Bytes frame = peer.frame(peer.record(plaintext));
  const auto pieces = fragments(frame, o.cuts, 0x4242);
  for (const size_t i : o.send) {
    h.to_outside(pieces[i]);
    h.poll(1);  // one fragment per burst, the order kept
  }
  h.poll();
  const auto sent = h.sent_inside();
  ASSERT_EQ(sent.size(), 1u) << h.counters();
  EXPECT_EQ(udp_payload(sent[0]), plaintext);
  EXPECT_EQ(h.count(Counter::fragments_received), o.send.size());
  EXPECT_EQ(h.count(Counter::datagrams_reassembled), 1u);
  EXPECT_EQ(h.count(Counter::drop_fragment_duplicate), o.duplicates);
  EXPECT_EQ(h.count(Counter::drop_replay), 0u);
  EXPECT_EQ(fragment_buffers_held(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Orders, Reassembly,
    ::testing::Values(Order{"two_in_order", {512}, {0, 1}, 0},
                      Order{"two_reversed", {512}, {1, 0}, 0},
                      Order{"two_first_duplicated", {512}, {0, 0, 1}, 1},
                      Order{"three_in_order", {264, 600}, {0, 1, 2}, 0},
                      Order{"three_reversed", {264, 600}, {2, 1, 0}, 0},
                      Order{"three_each_duplicated", {264, 600}, {1, 1, 2, 0, 2, 0}, 3},
                      Order{"three_middle_first", {264, 600}, {1, 0, 2}, 0}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Fragments, OneBurstOfFragmentsAndAFullDatagramAfterwards) {
  // Several datagrams interleaved in one burst, then a duplicate of an
  // already reassembled datagram's fragment (dropped, nothing held).
  Harness h;
  Peer peer("192.0.2.10", 40000);
  h.install(peer);
  std::vector<std::vector<Bytes>> all;
  for (uint16_t d = 0; d < 4; ++d) {
    all.push_back(fragments(peer.frame(peer.record(text_of(700 + d, static_cast<uint8_t>(d)))),
                            {320}, static_cast<uint16_t>(100 + d)));
  }
  for (size_t k = 0; k < 2; ++k) {
    for (auto& pieces : all) {
      h.to_outside(pieces[k]);
    }
  }
  h.poll();
  EXPECT_EQ(h.sent_inside().size(), 4u) << h.counters();
  h.to_outside(all[0][1]);
  h.poll();
  EXPECT_TRUE(h.sent_inside().empty());
  EXPECT_EQ(h.count(Counter::drop_fragment_duplicate), 1u);
  EXPECT_EQ(fragment_buffers_held(), 0u);
}

TEST(Fragments, FloodIsBoundedAndValidTrafficGoesOn) {
  Harness h;
  Peer peer("192.0.2.10", 40000);
  h.install(peer);
  const FragmentTable::Options limits;
  std::mt19937 random(7);
  // First fragments of datagrams that never complete: random IDs and
  // sources, more than the table has entries.
  const Bytes big = peer.frame(text_of(600, 9));
  const unsigned flood = 3 * limits.max_datagrams;
  for (unsigned i = 0; i < flood; ++i) {
    Bytes f = piece(big, 0, 256, true, static_cast<uint16_t>(random()));
    f[kL3 + 13] = static_cast<uint8_t>(random());  // the source address's
    f[kL3 + 14] = static_cast<uint8_t>(random());  // middle bytes
    put16(f, kL3 + 10, 0);
    auto* hdr = reinterpret_cast<rte_ipv4_hdr*>(f.data() + kL3);
    hdr->hdr_checksum = rte_ipv4_cksum(hdr);
    h.to_outside(f);
    if (i % 64 == 63) {
      drain(h);
    }
  }
  drain(h);
  // One buffer per incomplete datagram, at most max_datagrams of them.
  const unsigned held = fragment_buffers_held();
  EXPECT_LE(held, limits.max_datagrams);
  EXPECT_GE(held, limits.max_datagrams / 2);  // the table did fill up
  EXPECT_EQ(h.count(Counter::fragments_received), flood);
  EXPECT_GE(h.count(Counter::drop_fragment_datagram), flood - limits.max_datagrams);
  // Unfragmented records still go through.
  h.to_outside(peer.frame(peer.record(text_of(100, 1))));
  h.poll();
  EXPECT_EQ(h.sent_inside().size(), 1u) << h.counters();
  h.worker().advance_clock_ms(limits.timeout_ms + 20);
  h.poll(3);
  EXPECT_EQ(fragment_buffers_held(), 0u);
  EXPECT_GE(h.count(Counter::fragments_expired), held);

  // Datagrams of many fragments each: the buffer pool, not the port's
  // receive pool, runs dry.
  for (unsigned d = 0; d < limits.buffers / 4; ++d) {
    const uint16_t id = static_cast<uint16_t>(random());
    Bytes src = big;
    src[kL3 + 15] = static_cast<uint8_t>(d);
    src[kL3 + 14] = static_cast<uint8_t>(d >> 8);
    for (size_t k = 0; k < 7; ++k) {
      h.to_outside(piece(src, k * 64, 64, true, id));
    }
    drain(h);
  }
  EXPECT_LE(fragment_buffers_held(), limits.buffers);
  EXPECT_GT(h.count(Counter::drop_fragment_no_buffer), 0u) << h.counters();

  EXPECT_EQ(fragment_buffers_held(), limits.buffers);
  // Meanwhile unfragmented records still go through.
  h.to_outside(peer.frame(peer.record(text_of(100, 2))));
  h.poll();
  EXPECT_EQ(h.sent_inside().size(), 1u) << h.counters();

  // After the timeout every buffer is back, and a fragmented datagram
  // reassembles again.
  h.worker().advance_clock_ms(limits.timeout_ms + 20);
  h.poll(3);
  EXPECT_EQ(fragment_buffers_held(), 0u);
  const Bytes plaintext = text_of(900, 5);
  for (const Bytes& f : fragments(peer.frame(peer.record(plaintext)), {400}, 0x7777)) {
    h.to_outside(f);
  }
  h.poll();
  const auto sent = h.sent_inside();
  ASSERT_EQ(sent.size(), 1u) << h.counters();
  EXPECT_EQ(udp_payload(sent[0]), plaintext);
}

TEST(Fragments, IncompleteDatagramIsFreedWhenItsTimeIsUp) {
  Harness h;
  Peer peer("192.0.2.10", 40000);
  h.install(peer);
  const auto pieces = fragments(peer.frame(peer.record(text_of(800, 2))), {256, 512}, 0x999);
  h.to_outside(pieces[0]);
  h.to_outside(pieces[2]);
  h.poll();
  EXPECT_EQ(fragment_buffers_held(), 2u);
  h.worker().advance_clock_ms(FragmentTable::Options{}.timeout_ms - 100);
  h.poll();
  EXPECT_EQ(fragment_buffers_held(), 2u);  // not yet
  h.worker().advance_clock_ms(200);
  h.poll();
  EXPECT_EQ(fragment_buffers_held(), 0u);
  EXPECT_EQ(h.count(Counter::fragments_expired), 2u);
  // The missing middle arriving late completes nothing.
  h.to_outside(pieces[1]);
  h.poll();
  EXPECT_TRUE(h.sent_inside().empty());
  EXPECT_EQ(fragment_buffers_held(), 1u);
}

TEST(Fragments, OverlapsTooManyAndOversizedFragmentsAreDropped) {
  Harness h;
  Peer peer("192.0.2.10", 40000);
  h.install(peer);
  const Bytes frame = peer.frame(peer.record(text_of(1200, 4)));
  const size_t total = frame.size() - kL3 - kIpHeader;
  // Overlap whose lengths add up to the total (a hole at 512..768).
  h.to_outside(piece(frame, 0, 512, true, 1));
  h.to_outside(piece(frame, 256, 256, true, 1));
  h.to_outside(piece(frame, 768, total - 768, false, 1));
  // Overlap past the total.
  h.to_outside(piece(frame, 0, 512, true, 2));
  h.to_outside(piece(frame, 256, total - 256, false, 2));
  // A second, different, last fragment.
  h.to_outside(piece(frame, 512, total - 512, false, 3));
  h.to_outside(piece(frame, 520, total - 520, false, 3));
  h.poll();
  EXPECT_TRUE(h.sent_inside().empty());
  EXPECT_GE(h.count(Counter::drop_fragment_datagram), 3u) << h.counters();
  EXPECT_EQ(fragment_buffers_held(), 0u);

  // Nine fragments: over ip_frag's 8.
  std::vector<size_t> cuts;
  for (size_t c = 128; c < 9 * 128; c += 128) {
    cuts.push_back(c);
  }
  const auto nine = fragments(frame, cuts, 4);
  ASSERT_EQ(nine.size(), 9u);
  // The last first, so the one over the limit leaves nothing behind (ip_frag
  // forgets the datagram; later fragments of it would start it anew).
  h.to_outside(nine[8]);
  for (size_t k = 0; k < 8; ++k) {
    h.to_outside(nine[k]);
  }
  h.poll();
  EXPECT_TRUE(h.sent_inside().empty());
  EXPECT_EQ(fragment_buffers_held(), 0u);

  // A fragment frame longer than a reassembly buffer; a fragment whose
  // length is not a multiple of 8 with MF set; an empty fragment.
  const Bytes jumbo_frame = peer.frame(peer.record(text_of(1990, 6)));
  h.to_outside(piece(jumbo_frame, 0, 1984, true, 5));
  h.to_outside(piece(frame, 0, 500, true, 6));
  h.to_outside(piece(frame, 8, 0, true, 7));
  h.poll();
  EXPECT_EQ(h.count(Counter::drop_fragment_invalid), 3u) << h.counters();
  EXPECT_EQ(fragment_buffers_held(), 0u);
  EXPECT_TRUE(h.sent_inside().empty());

  // Fragments not for the gateway, or not UDP, take no buffer.
  Bytes other = piece(frame, 0, 512, true, 8);
  other[kL3 + 19] = 99;  // 192.0.2.99
  put16(other, kL3 + 10, 0);
  reinterpret_cast<rte_ipv4_hdr*>(other.data() + kL3)->hdr_checksum =
      rte_ipv4_cksum(reinterpret_cast<rte_ipv4_hdr*>(other.data() + kL3));
  h.to_outside(other);
  h.poll();
  EXPECT_EQ(fragment_buffers_held(), 0u);
  EXPECT_EQ(h.count(Counter::drop_not_for_us), 1u);

  // The session is unharmed.
  const Bytes plaintext = text_of(1000, 8);
  for (const Bytes& f : fragments(peer.frame(peer.record(plaintext)), {504}, 9)) {
    h.to_outside(f);
  }
  h.poll();
  const auto sent = h.sent_inside();
  ASSERT_EQ(sent.size(), 1u) << h.counters();
  EXPECT_EQ(udp_payload(sent[0]), plaintext);
}

TEST(Fragments, ReassembledOnOneWorkerHandedToTheOwner) {
  Harness h(test_config(2));
  // A peer whose flow worker 1 owns; its fragments arrive on queue 0.
  for (uint16_t port = 40000;; ++port) {
    Peer peer("192.0.2.10", port);
    if (h.ctx().owner_of(peer.flow()) != 1) {
      continue;
    }
    h.install(peer);
    const Bytes plaintext = text_of(1100, 1);
    for (const Bytes& f : fragments(peer.frame(peer.record(plaintext)), {600}, 77)) {
      h.to_outside(f, 0);
    }
    h.poll(3);
    const auto sent = h.sent_inside();
    ASSERT_EQ(sent.size(), 1u) << h.counters();
    EXPECT_EQ(udp_payload(sent[0]), plaintext);
    EXPECT_EQ(h.worker(0).counters().get(Counter::datagrams_reassembled), 1u);
    EXPECT_EQ(h.worker(1).counters().get(Counter::records_decrypted), 1u);
    break;
  }
}

// ---- the IPv6 path of the table (RFC 8200 §4.5) ---------------------------

// An Ethernet/IPv6/fragment header/`data` fragment.
Bytes ipv6_fragment(const Bytes& data, size_t offset, size_t length, bool more, uint32_t id) {
  Bytes f(kL3 + 40 + 8 + length, 0);
  put16(f, 12, 0x86dd);
  uint8_t* ip = f.data() + kL3;
  ip[0] = 0x60;
  ip[4] = static_cast<uint8_t>((8 + length) >> 8);
  ip[5] = static_cast<uint8_t>(8 + length);
  ip[6] = 44;
  ip[7] = 64;
  ip[8] = 0x20;
  ip[9] = 0x01;
  ip[23] = 7;
  ip[24] = 0x20;
  ip[25] = 0x01;
  ip[39] = 1;
  uint8_t* fh = ip + 40;
  fh[0] = 17;
  fh[2] = static_cast<uint8_t>(offset >> 8);
  fh[3] = static_cast<uint8_t>((offset & 0xf8) | (more ? 1 : 0));
  fh[4] = static_cast<uint8_t>(id >> 24);
  fh[5] = static_cast<uint8_t>(id >> 16);
  fh[6] = static_cast<uint8_t>(id >> 8);
  fh[7] = static_cast<uint8_t>(id);
  std::memcpy(fh + 8, data.data() + offset, length);
  return f;
}

TEST(Fragments, Ipv6FragmentsReassembleAndDuplicatesAreDropped) {
  init_eal();
  dataplane::WorkerCounters counters;
  std::string error;
  auto table = FragmentTable::create("f1_ipv6_test", {}, SOCKET_ID_ANY, counters, error);
  ASSERT_TRUE(table) << error;
  const Bytes udp = text_of(1000, 11);  // the fragmentable part
  const auto add = [&](const Bytes& f, uint64_t now) {
    return table->add_ipv6(f, kL3, kL3 + 40, now);
  };
  EXPECT_EQ(add(ipv6_fragment(udp, 512, 488, false, 5), 1), nullptr);
  EXPECT_EQ(add(ipv6_fragment(udp, 512, 488, false, 5), 1), nullptr);  // duplicate
  EXPECT_EQ(table->buffers_in_use(), 1u);
  rte_mbuf* whole = add(ipv6_fragment(udp, 0, 512, true, 5), 2);
  ASSERT_NE(whole, nullptr);
  EXPECT_EQ(rte_pktmbuf_data_len(whole), kL3 + 40 + udp.size());
  const auto* p = rte_pktmbuf_mtod(whole, const uint8_t*);
  EXPECT_EQ(p[kL3 + 6], 17);  // the fragment header is gone
  EXPECT_EQ((p[kL3 + 4] << 8 | p[kL3 + 5]), static_cast<int>(udp.size()));
  EXPECT_EQ(std::memcmp(p + kL3 + 40, udp.data(), udp.size()), 0);
  rte_pktmbuf_free(whole);
  EXPECT_EQ(counters.get(Counter::datagrams_reassembled), 1u);
  EXPECT_EQ(counters.get(Counter::drop_fragment_duplicate), 1u);
  EXPECT_EQ(table->buffers_in_use(), 0u);

  // An incomplete one expires; a fragment header not right after the IPv6
  // header, or a length not a multiple of 8 with M set, is refused.
  EXPECT_EQ(add(ipv6_fragment(udp, 0, 512, true, 6), 10), nullptr);
  EXPECT_EQ(table->buffers_in_use(), 1u);
  table->expire(10 + FragmentTable::Options{}.timeout_ms + 1);
  EXPECT_EQ(table->buffers_in_use(), 0u);
  EXPECT_EQ(counters.get(Counter::fragments_expired), 1u);
  const Bytes f = ipv6_fragment(udp, 0, 500, true, 7);
  EXPECT_EQ(add(f, 20), nullptr);
  EXPECT_EQ(table->add_ipv6(f, kL3, kL3 + 48, 20), nullptr);
  EXPECT_EQ(counters.get(Counter::drop_fragment_invalid), 2u);
  EXPECT_EQ(table->buffers_in_use(), 0u);
}

}  // namespace
}  // namespace dtlsgw::test
