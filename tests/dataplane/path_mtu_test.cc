// Path MTU in the worker (dataplane/worker_path_mtu.cc) in-process on
// net_ring ports: an ICMP "fragmentation needed" quoting a record the
// gateway sent lowers that session's path MTU, is counted and becomes a
// path_mtu event for the control process; reports for other flows, with
// a bad checksum, raising the MTU or quoting a record never sent change
// nothing; a backend datagram whose record would exceed the lowered MTU
// is refused with an ICMP frag-needed the backend's stack understands.
#include <gtest/gtest.h>

#include <cstring>

#include "dataplane/icmp.h"
#include "tests/dataplane/dataplane_harness.h"

namespace dtlsgw::test {
namespace {

using dataplane::Counter;
namespace icmp = dataplane::icmp;

constexpr size_t kL3 = 14;
// AES-128-GCM in DTLS 1.2: header 13 + explicit nonce 8, tag 16.
constexpr size_t kRecordGrowth = 13 + 8 + 16;
const dataplane::MacAddress kRouterMac = {{0x02, 0x00, 0x00, 0x00, 0x09, 0x09}};

Bytes filled(size_t n, uint8_t v) { return Bytes(n, v); }

// A router's ICMP frag-needed (next-hop `mtu`) to the gateway's outside
// address, quoting the IP packet of `sent` (a frame the gateway sent).
Bytes frag_needed_for(const Bytes& sent, uint16_t mtu) {
  const dataplane::Ipv4 router = ip("203.0.113.9");
  Bytes out(kL3 + icmp::kMaxIcmpv4ErrorLength);
  const size_t n =
      icmp::write_fragmentation_needed({out.data() + kL3, icmp::kMaxIcmpv4ErrorLength},
                                       {sent.data() + kL3, sent.size() - kL3}, router.be, mtu, 1);
  EXPECT_NE(n, 0u);
  out.resize(kL3 + n);
  std::memcpy(out.data(), mac("02:00:00:00:00:01").bytes, 6);
  std::memcpy(out.data() + 6, kRouterMac.bytes, 6);
  out[12] = 0x08;
  out[13] = 0x00;
  return out;
}

// An installed peer and the gateway's inside port for it.
struct Established {
  explicit Established(uint16_t port = 40000) : peer("192.0.2.10", port) {}
  Peer peer;
  uint16_t gateway_port = 0;
};

void establish(Harness& h, Established& s) {
  h.install(s.peer);
  h.to_outside(s.peer.frame(s.peer.record(filled(4, 1))));
  h.poll();
  dataplane::packet::Frame f;
  EXPECT_TRUE(udp_payload(h.sent_inside().at(0), &f));
  s.gateway_port = f.source_port;
  h.events();
}

// The backend sends `n` bytes; returns what the gateway sent the peer.
std::vector<Bytes> backend_sends(Harness& h, const Established& s, size_t n) {
  h.to_inside(backend_frame(s.gateway_port, filled(n, 0x42)));
  h.poll();
  return h.sent_outside();
}

TEST(PathMtu, FragNeededLowersTheSessionsPathMtuAndTellsControl) {
  Harness h;
  Established s;
  establish(h, s);
  const auto sent = backend_sends(h, s, 1200);
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_EQ(sent[0].size() - kL3, 20 + 8 + kRecordGrowth + 1200);

  h.to_outside(frag_needed_for(sent[0], 1000));
  h.poll();
  EXPECT_EQ(h.count(Counter::icmp_path_mtu_lowered), 1u) << h.counters();
  const auto events = h.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, contract::EventKind::path_mtu);
  EXPECT_EQ(events[0].detail, 1000);
  EXPECT_EQ(events[0].flow, s.peer.flow());

  // The same datagram again does not fit: refused, and the backend told.
  EXPECT_TRUE(backend_sends(h, s, 1200).empty());
  EXPECT_EQ(h.count(Counter::drop_over_path_mtu), 1u);
  EXPECT_EQ(h.count(Counter::icmp_frag_needed_sent), 1u);
  const auto to_backend = h.sent_inside();
  ASSERT_EQ(to_backend.size(), 1u);
  dataplane::MacAddress destination;
  std::memcpy(destination.bytes, to_backend[0].data(), 6);
  EXPECT_EQ(destination, kBackendMac);
  icmp::Report r;
  ASSERT_EQ(icmp::parse_icmpv4({to_backend[0].data() + kL3, to_backend[0].size() - kL3}, r),
            icmp::Result::path_mtu);
  // The largest backend packet whose record fits 1000 bytes.
  EXPECT_EQ(r.mtu, 1000 - kRecordGrowth);
  const uint32_t backend = ip("10.0.0.2").be;
  const uint32_t inside = ip("10.0.0.1").be;
  EXPECT_EQ(std::memcmp(r.source.data(), &backend, 4), 0);
  EXPECT_EQ(std::memcmp(r.destination.data(), &inside, 4), 0);
  EXPECT_EQ(r.source_port, 7);
  EXPECT_EQ(r.destination_port, s.gateway_port);
  EXPECT_EQ(std::memcmp(to_backend[0].data() + kL3 + 12, &inside, 4), 0);

  // Exactly what fits still goes, and opens at the peer.
  const auto fits = backend_sends(h, s, 1000 - 20 - 8 - kRecordGrowth);
  ASSERT_EQ(fits.size(), 1u) << h.counters();
  EXPECT_EQ(fits[0].size() - kL3, 1000u);
  auto opened = s.peer.open(fits[0]);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->at(0).second, filled(1000 - 20 - 8 - kRecordGrowth, 0x42));
  EXPECT_TRUE(backend_sends(h, s, 1000 - 20 - 8 - kRecordGrowth + 1).empty());
  EXPECT_EQ(h.count(Counter::drop_over_path_mtu), 2u);

  // A later, lower report lowers it further; a higher one is ignored.
  h.to_outside(frag_needed_for(fits[0], 900));
  h.to_outside(frag_needed_for(fits[0], 950));
  h.poll();
  EXPECT_EQ(h.count(Counter::icmp_path_mtu_lowered), 2u);
  EXPECT_EQ(h.count(Counter::drop_icmp_not_ours), 1u);
  EXPECT_EQ(h.events().size(), 1u);
  EXPECT_TRUE(backend_sends(h, s, 900 - 20 - 8 - kRecordGrowth + 1).empty());
  EXPECT_EQ(backend_sends(h, s, 900 - 20 - 8 - kRecordGrowth).size(), 1u);
}

TEST(PathMtu, ReportsForOtherFlowsOrForgedChangeNothing) {
  Harness h;
  Established s;
  establish(h, s);
  const auto sent = backend_sends(h, s, 1200);
  ASSERT_EQ(sent.size(), 1u);

  // Another peer port (no such session), another listener port, and a
  // quote from another gateway address.
  Bytes other_port = sent[0];
  other_port[kL3 + 20 + 2] ^= 0x01;
  Bytes other_listener = sent[0];
  other_listener[kL3 + 20 + 1] ^= 0x01;
  Bytes other_source = sent[0];
  other_source[kL3 + 15] = 77;
  // A record number the gateway never used (RFC 5927 §4.1's check).
  Bytes unsent = sent[0];
  unsent[kL3 + 28 + 9] = 0x7f;
  for (const Bytes* q : {&other_port, &other_listener, &other_source, &unsent}) {
    h.to_outside(frag_needed_for(*q, 1000));
  }
  // A bad checksum, and an echo request.
  Bytes bad = frag_needed_for(sent[0], 1000);
  bad.back() ^= 0x01;
  h.to_outside(bad);
  Bytes echo = frag_needed_for(sent[0], 1000);
  echo[kL3 + 20] = 8;
  echo[kL3 + 21] = 0;
  echo[kL3 + 22] = 0;
  echo[kL3 + 23] = 0;
  const uint16_t sum = static_cast<uint16_t>(
      ~dataplane::packet::internet_checksum(echo.data() + kL3 + 20, echo.size() - kL3 - 20));
  echo[kL3 + 22] = static_cast<uint8_t>(sum >> 8);
  echo[kL3 + 23] = static_cast<uint8_t>(sum);
  h.to_outside(echo);
  // An MTU not below the quoted packet.
  h.to_outside(frag_needed_for(sent[0], 1400));
  h.poll();

  EXPECT_EQ(h.count(Counter::drop_icmp_not_ours), 4u) << h.counters();
  EXPECT_EQ(h.count(Counter::drop_icmp_invalid), 2u);
  EXPECT_EQ(h.count(Counter::drop_icmp_other), 1u);
  EXPECT_EQ(h.count(Counter::icmp_path_mtu_lowered), 0u);
  EXPECT_TRUE(h.events().empty());
  // The session's datagrams are as large as before.
  EXPECT_EQ(backend_sends(h, s, 1200).size(), 1u);
  EXPECT_EQ(h.count(Counter::drop_over_path_mtu), 0u);
}

TEST(PathMtu, ReportOnAnotherWorkersQueueReachesTheOwner) {
  Harness h(test_config(2));
  for (uint16_t port = 40000;; ++port) {
    Established s(port);
    if (h.ctx().owner_of(s.peer.flow()) != 1) {
      continue;
    }
    establish(h, s);
    h.to_inside(backend_frame(s.gateway_port, filled(1200, 1)), 1);
    h.poll();
    const auto sent = h.sent_outside();
    ASSERT_EQ(sent.size(), 1u) << h.counters();
    const uint64_t handed = h.worker(0).counters().get(Counter::handoff_sent);
    h.to_outside(frag_needed_for(sent[0], 1000), 0);
    h.poll(3);
    EXPECT_EQ(h.worker(1).counters().get(Counter::icmp_path_mtu_lowered), 1u) << h.counters();
    EXPECT_EQ(h.worker(0).counters().get(Counter::handoff_sent), handed + 1);
    h.to_inside(backend_frame(s.gateway_port, filled(1200, 1)), 1);
    h.poll();
    EXPECT_TRUE(h.sent_outside().empty());
    EXPECT_EQ(h.count(Counter::drop_over_path_mtu), 1u);
    break;
  }
}

}  // namespace
}  // namespace dtlsgw::test
