// Several workers on several queues, running concurrently (issue: "two
// lcores with RSS-like distribution and hand-off under load"): frames land
// on a queue chosen by a hash that knows nothing of session ownership, as a
// NIC's RSS does, and two threads poll the two workers at the same time.
// Every record must reach the backend exactly once, every reply must reach
// its peer, and the hand-off counters must match the frames that landed on
// the wrong queue.
#include <gtest/gtest.h>
#include <rte_hash_crc.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "tests/dataplane/dataplane_harness.h"

namespace dtlsgw::test {
namespace {

using dataplane::Counter;

Bytes stamp(uint32_t peer, uint32_t n) {
  Bytes b(24, 0x5a);
  for (int i = 0; i < 4; ++i) {
    b[i] = static_cast<uint8_t>(peer >> (8 * i));
    b[4 + i] = static_cast<uint8_t>(n >> (8 * i));
  }
  return b;
}

std::pair<uint32_t, uint32_t> unstamp(const Bytes& b) {
  uint32_t peer = 0, n = 0;
  for (int i = 0; i < 4; ++i) {
    peer |= uint32_t{b[i]} << (8 * i);
    n |= uint32_t{b[4 + i]} << (8 * i);
  }
  return {peer, n};
}

// The queue a NIC's RSS would pick: a hash of the addresses and ports
// unrelated to DataplaneContext::owner_of. Not a CRC: owner_of is one, and
// CRCs are linear, so two of them over the same fields can agree in their
// low bit for every flow (they did, once FlowKey held 16-byte addresses).
unsigned rss_queue(dataplane::Ipv4 source, uint16_t source_port) {
  uint64_t h = (uint64_t{source.be} << 16 | source_port) * 0x9e3779b97f4a7c15ull;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  return static_cast<unsigned>((h >> 32) % kQueues);
}

// Polls every worker from its own thread until told to stop.
class ConcurrentWorkers {
 public:
  explicit ConcurrentWorkers(Harness& h) {
    for (unsigned w = 0; w < h.dp().worker_count(); ++w) {
      threads_.emplace_back([this, &h, w] {
        while (!stop_.load(std::memory_order_relaxed)) {
          h.worker(w).poll();
        }
      });
    }
  }
  ~ConcurrentWorkers() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) {
        t.join();
      }
    }
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

// Collects frames from `take` until `want` arrived or 20 s passed.
template <typename Take>
std::vector<Bytes> collect(Take take, size_t want) {
  std::vector<Bytes> got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
    for (Bytes& f : take()) {
      got.push_back(std::move(f));
    }
    std::this_thread::yield();
  }
  return got;
}

TEST(MultiQueue, RssDistributionAndHandOffUnderLoadBothDirections) {
  static_assert(kQueues == 2);
  Harness h(test_config(2));
  constexpr uint32_t kPeers = 48;
  constexpr uint32_t kRecordsPerPeer = 30;  // 1,440 records, then as many replies
  std::vector<std::unique_ptr<Peer>> peers;
  unsigned owners[2] = {0, 0};
  for (uint32_t i = 0; i < kPeers; ++i) {
    const std::string address = "192.0.2." + std::to_string(10 + i % 40);
    peers.push_back(std::make_unique<Peer>(address.c_str(), static_cast<uint16_t>(40000 + i)));
    h.install(*peers.back());
    ++owners[h.ctx().owner_of(peers.back()->flow())];
  }
  ASSERT_EQ(h.dp().sessions().size(), kPeers) << h.counters();
  ASSERT_GT(owners[0], 0u);
  ASSERT_GT(owners[1], 0u);

  // Outside → inside: records interleaved across peers, each on its RSS
  // queue; count those that land away from their owner.
  uint64_t misplaced = 0;
  for (uint32_t n = 0; n < kRecordsPerPeer; ++n) {
    for (uint32_t i = 0; i < kPeers; ++i) {
      Peer& p = *peers[i];
      const unsigned q = rss_queue(p.address, p.port);
      misplaced += q != h.ctx().owner_of(p.flow());
      h.to_outside(p.frame(p.record(stamp(i, n))), q);
    }
  }
  ASSERT_GT(misplaced, 0u) << "the RSS stand-in must send some flows to the other worker";
  const size_t records = size_t{kPeers} * kRecordsPerPeer;
  std::vector<Bytes> inside;
  {
    ConcurrentWorkers running(h);
    inside = collect([&] { return h.sent_inside(); }, records);
  }
  ASSERT_EQ(inside.size(), records) << h.counters();
  EXPECT_EQ(h.count(Counter::handoff_sent), misplaced);
  EXPECT_EQ(h.count(Counter::handoff_received), misplaced);
  EXPECT_EQ(h.count(Counter::handoff_ring_full), 0u);
  EXPECT_EQ(h.count(Counter::records_decrypted), records);

  // Exactly once each, in order per peer (one flow stays on one queue and
  // one owner, so hand-off must not reorder it), each peer from its own
  // inside source port.
  std::map<uint32_t, uint32_t> next;
  std::map<uint32_t, uint16_t> inside_port;
  std::set<uint16_t> ports;
  for (const Bytes& f : inside) {
    dataplane::packet::Frame parsed;
    const auto payload = udp_payload(f, &parsed);
    ASSERT_TRUE(payload);
    ASSERT_EQ(payload->size(), 24u);
    const auto [peer, n] = unstamp(*payload);
    ASSERT_LT(peer, kPeers);
    EXPECT_EQ(n, next[peer]++) << "peer " << peer;
    const auto [it, fresh] = inside_port.emplace(peer, parsed.source_port);
    EXPECT_EQ(it->second, parsed.source_port);
    if (fresh) {
      EXPECT_TRUE(ports.insert(parsed.source_port).second) << "two sessions share a port";
    }
  }
  ASSERT_EQ(inside_port.size(), kPeers);

  // Inside → outside: the backend's replies, RSS-spread over the inside
  // queues by the backend's flow; each is steered to the session's owner.
  const uint64_t handoffs_before = h.count(Counter::handoff_sent);
  uint64_t inside_misplaced = 0;
  for (uint32_t n = 0; n < kRecordsPerPeer; ++n) {
    for (uint32_t i = 0; i < kPeers; ++i) {
      const uint16_t port = inside_port[i];
      const unsigned q = rss_queue(ip("10.0.0.2"), port);
      inside_misplaced += q != h.ctx().owner_of(peers[i]->flow());
      h.to_inside(backend_frame(port, stamp(i, n)), q);
    }
  }
  std::vector<Bytes> outside;
  {
    ConcurrentWorkers running(h);
    outside = collect([&] { return h.sent_outside(); }, records);
  }
  ASSERT_EQ(outside.size(), records) << h.counters();
  EXPECT_EQ(h.count(Counter::handoff_sent) - handoffs_before, inside_misplaced);
  EXPECT_EQ(h.count(Counter::records_encrypted), records);
  std::map<uint32_t, uint32_t> replies;
  for (const Bytes& f : outside) {
    dataplane::packet::Frame parsed;
    ASSERT_TRUE(udp_payload(f, &parsed));
    // Find the peer by its port, then open with its keys.
    const uint32_t i = parsed.destination_port - 40000u;
    ASSERT_LT(i, kPeers);
    auto opened = peers[i]->open(f);
    ASSERT_TRUE(opened) << "peer " << i;
    ASSERT_EQ(opened->size(), 1u);
    const auto [peer, n] = unstamp(opened->front().second);
    EXPECT_EQ(peer, i);
    EXPECT_EQ(n, replies[i]++);
  }
}

}  // namespace
}  // namespace dtlsgw::test
