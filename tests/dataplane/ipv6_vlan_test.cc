// IPv6 and 802.1Q VLANs in the data path, in-process on net_ring ports:
// IPv6 peers of a dual-stack listener to IPv4 and IPv6 backends, both
// ways; neighbour discovery answered for the gateway's IPv6 addresses and
// used to resolve an IPv6 backend; an IPv4 and an IPv6 peer that share
// their low address bytes and port kept apart; IPv6 fragments reassembled;
// an ICMPv6 packet too big lowering an IPv6 session's path MTU, the IPv6
// backend told with one of its own, and the MTU restored after
// path_mtu_timeout; a PROXY v2 header naming an IPv6 peer; a port with a
// VLAN taking only its tag and tagging all it sends.
#include <gtest/gtest.h>

#include <cstring>

#include "dataplane/icmp.h"
#include "tests/dataplane/dataplane_harness.h"
#include "tests/dataplane/proxy_v2_parser.h"

namespace dtlsgw::test {
namespace {

using dataplane::Counter;
using dataplane::packet::FrameResult;
namespace icmp = dataplane::icmp;
namespace packet = dataplane::packet;

constexpr size_t kL3 = packet::kEthernetHeaderLength;
// AES-128-GCM in DTLS 1.2: header 13 + explicit nonce 8, tag 16.
constexpr size_t kRecordGrowth = 13 + 8 + 16;
constexpr const char* kBackend6 = "2001:db8:2::2";
constexpr uint16_t kListener6Backend = 4434;  // → [kBackend6]:7
const dataplane::MacAddress kGatewayOutsideMac = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
const dataplane::MacAddress kRouterMac = {{0x02, 0x00, 0x00, 0x00, 0x09, 0x09}};

Bytes filled(size_t n, uint8_t v) { return Bytes(n, v); }

dataplane::Ipv6 ip6(const char* text) { return *dataplane::parse_ipv6(text); }

// test_config, dual-stack: outside kOutside6/64, inside kInside6/64, and a
// second listener whose backend is IPv6 (a static neighbour unless
// `resolve_backend6`: then neighbour discovery finds it).
dataplane::Config dual_stack_config(uint16_t outside_vlan = 0, uint16_t inside_vlan = 0,
                                    bool resolve_backend6 = false) {
  dataplane::Config c = test_config();
  c.outside.address6 = ip6(kOutside6);
  c.inside.address6 = ip6(kInside6);
  c.outside.vlan = outside_vlan;
  c.inside.vlan = inside_vlan;
  dataplane::ListenerConfig l;
  l.port = kListener6Backend;
  l.backend_address = any_ip(kBackend6);
  l.backend_port = 7;
  c.listeners.push_back(l);
  if (!resolve_backend6) {
    c.neighbors.push_back({any_ip(kBackend6), kBackendMac});
  }
  return c;
}

// The flow of `peer` on listener `port`.
contract::InstallMessage install_on(const Peer& peer, uint16_t port) {
  contract::InstallMessage m = peer.install_message();
  m.flow.listener_port = port;
  return m;
}

// Sends one record from `peer` (to `listener`) and returns the frames the
// gateway sent inside.
std::vector<Bytes> peer_sends(Harness& h, Peer& peer, const Bytes& plaintext,
                              uint16_t listener = 4433) {
  h.to_outside(peer.frame(peer.record(plaintext), listener));
  h.poll();
  return h.sent_inside();
}

// A neighbour solicitation for `target` from `source` (its MAC in the
// Source Link-Layer Address option), to the solicited-node address.
Bytes solicitation(const char* source, const char* target, dataplane::MacAddress source_mac,
                   uint16_t vlan = 0) {
  Bytes f(packet::neighbor_frame_length(true));
  const size_t n = packet::write_neighbor_solicitation(f, source_mac, ip6(source), ip6(target),
                                                       vlan != 0, vlan);
  EXPECT_NE(n, 0u);
  f.resize(n);
  return f;
}

// The neighbour advertisement `who` (at `who_mac`) would send answering
// the gateway's solicitation `ns`.
Bytes advertisement_answering(const Bytes& ns, dataplane::MacAddress who_mac) {
  packet::Frame parsed;
  EXPECT_EQ(packet::parse_frame(ns, parsed), FrameResult::neighbor_solicitation);
  Bytes f(packet::neighbor_frame_length(true));
  const size_t n = packet::write_neighbor_advertisement(f, parsed, who_mac);
  EXPECT_NE(n, 0u);
  f.resize(n);
  return f;
}

TEST(Ipv6, PeerToIpv4BackendBothWays) {
  Harness h(dual_stack_config());
  Peer peer("2001:db8:1::10", 40000);
  h.install(peer);
  const auto inside = peer_sends(h, peer, filled(100, 0x11));
  ASSERT_EQ(inside.size(), 1u) << h.counters();
  packet::Frame f;
  auto plaintext = udp_payload(inside[0], &f);
  ASSERT_TRUE(plaintext);
  EXPECT_EQ(*plaintext, filled(100, 0x11));
  EXPECT_EQ(f.ip_version, 4);
  EXPECT_EQ(f.source, ip("10.0.0.1"));
  EXPECT_EQ(f.destination, ip("10.0.0.2"));
  EXPECT_EQ(f.destination_port, 7);

  // The reply: an IPv6 frame whose UDP checksum parse_frame verifies
  // (mandatory over IPv6), from the listener's IPv6 address.
  h.to_inside(backend_frame(f.source_port, filled(300, 0x22)));
  h.poll();
  const auto outside = h.sent_outside();
  ASSERT_EQ(outside.size(), 1u) << h.counters();
  packet::Frame o;
  ASSERT_TRUE(udp_payload(outside[0], &o));
  EXPECT_EQ(o.ip_version, 6);
  EXPECT_EQ(outside[0].size(), kL3 + 40 + 8 + kRecordGrowth + 300);
  auto opened = peer.open(outside[0]);
  ASSERT_TRUE(opened);
  ASSERT_EQ(opened->size(), 1u);
  EXPECT_EQ(opened->at(0).second, filled(300, 0x22));
}

// Rx checksum offload over IPv6: a datagram whose UDP checksum the device
// marks good is not summed again (here the checksum is wrong, which only
// the device's word covers); without the mark it is refused.
TEST(Ipv6, DeviceVerifiedUdpChecksumIsNotSummedAgain) {
  Harness h(dual_stack_config());
  Peer peer("2001:db8:1::10", 40000);
  h.install(peer);
  Bytes frame = peer.frame(peer.record(filled(64, 0x33)));
  frame[kL3 + 40 + 6] ^= 0x5a;  // the UDP checksum
  h.to_outside(frame);
  h.poll();
  EXPECT_TRUE(h.sent_inside().empty());
  EXPECT_EQ(h.count(Counter::drop_malformed_frame), 1u);
  h.to_outside(frame, 0, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
  h.poll();
  const auto inside = h.sent_inside();
  ASSERT_EQ(inside.size(), 1u) << h.counters();
  EXPECT_EQ(*udp_payload(inside[0]), filled(64, 0x33));
}

TEST(Ipv6, PeerToIpv6BackendResolvedByNeighbourDiscovery) {
  Harness h(dual_stack_config(0, 0, true));
  Peer peer("2001:db8:1::10", 40000);
  h.install(install_on(peer, kListener6Backend));
  // Worker 0 solicits the unresolved next hop from the inside address.
  h.poll();
  const auto solicited = h.sent_inside();
  ASSERT_EQ(solicited.size(), 1u) << h.counters();
  packet::Frame ns;
  ASSERT_EQ(packet::parse_frame(solicited[0], ns), FrameResult::neighbor_solicitation);
  EXPECT_EQ(ns.nd.target, ip6(kBackend6));
  EXPECT_EQ(ns.nd.source, ip6(kInside6));
  EXPECT_EQ(h.count(Counter::nd_solicitations_sent), 1u);

  // Unresolved: the plaintext cannot go yet.
  EXPECT_TRUE(peer_sends(h, peer, filled(10, 1), kListener6Backend).empty());
  EXPECT_EQ(h.count(Counter::drop_no_next_hop), 1u) << h.counters();

  h.to_inside(advertisement_answering(solicited[0], kBackendMac));
  h.poll();
  EXPECT_EQ(h.count(Counter::nd_learned), 1u) << h.counters();

  const auto inside = peer_sends(h, peer, filled(64, 0x33), kListener6Backend);
  ASSERT_EQ(inside.size(), 1u) << h.counters();
  packet::Frame f;
  auto plaintext = udp_payload(inside[0], &f);  // the UDP checksum verified
  ASSERT_TRUE(plaintext);
  EXPECT_EQ(*plaintext, filled(64, 0x33));
  EXPECT_EQ(f.ip_version, 6);
  EXPECT_EQ(f.source_address, any_ip(kInside6));
  EXPECT_EQ(f.destination_address, any_ip(kBackend6));
  EXPECT_EQ(f.destination_mac, kBackendMac);

  h.to_inside(backend_frame(f.source_port, filled(200, 0x44), kBackend6, 7));
  h.poll();
  const auto outside = h.sent_outside();
  ASSERT_EQ(outside.size(), 1u) << h.counters();
  auto opened = peer.open(outside[0]);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->at(0).second, filled(200, 0x44));
  // An IPv4 datagram from the same port to the IPv4 inside address is not
  // that session's.
  h.to_inside(backend_frame(f.source_port, filled(8, 1), "10.0.0.2", 7));
  h.poll();
  EXPECT_TRUE(h.sent_outside().empty());
}

TEST(Ipv6, NeighbourSolicitationsForOurAddressesAreAnswered) {
  Harness h(dual_stack_config(0, 0, true));
  h.poll();
  h.sent_inside();  // the solicitation for the IPv6 backend
  const dataplane::MacAddress outside_mac = h.ctx().outside_mac;
  const dataplane::MacAddress inside_mac = h.ctx().inside_mac;
  const dataplane::MacAddress host = {{0x02, 0, 0, 0, 0x05, 0x05}};
  h.to_outside(solicitation("2001:db8:1::10", kOutside6, host));
  h.to_outside(solicitation("2001:db8:1::10", "2001:db8:1::99", host));  // not ours
  h.to_inside(solicitation(kBackend6, kInside6, kBackendMac));
  h.poll();
  EXPECT_EQ(h.count(Counter::nd_advertisements_sent), 2u) << h.counters();
  for (const auto& [frames, ours, our_mac, peer_mac] :
       {std::tuple{h.sent_outside(), kOutside6, outside_mac, host},
        std::tuple{h.sent_inside(), kInside6, inside_mac, kBackendMac}}) {
    ASSERT_EQ(frames.size(), 1u);
    packet::Frame na;
    ASSERT_EQ(packet::parse_frame(frames[0], na), FrameResult::neighbor_advertisement);
    EXPECT_EQ(na.nd.target, ip6(ours));
    EXPECT_TRUE(na.nd.solicited);
    EXPECT_TRUE(na.nd.has_link_layer_address);
    EXPECT_EQ(na.nd.link_layer_address, our_mac);
    EXPECT_EQ(na.destination_mac, peer_mac);
  }
  // The backend's solicitation taught its MAC (RFC 4861 §7.2.3).
  EXPECT_EQ(h.count(Counter::nd_learned), 1u);
}

TEST(Ipv6, Ipv4AndIpv6PeersWithTheSameLowBytesAndPortAreKeptApart) {
  Harness h(dual_stack_config());
  Peer v4("192.0.2.10", 40000, record::Aead::aes128_gcm, 1);
  Peer v6("::c000:20a", 40000, record::Aead::aes128_gcm, 2);  // low 32 bits 192.0.2.10
  v6.gateway = any_ip(kOutside6);
  h.install(v4);
  h.install(v6);
  ASSERT_EQ(h.dp().sessions().size(), 2u) << h.counters();
  const auto a = peer_sends(h, v4, filled(5, 0x0a));
  const auto b = peer_sends(h, v6, filled(6, 0x0b));
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  packet::Frame fa, fb;
  ASSERT_TRUE(udp_payload(a[0], &fa));
  ASSERT_TRUE(udp_payload(b[0], &fb));
  EXPECT_NE(fa.source_port, fb.source_port);
  // Each reply reaches its own peer only.
  h.to_inside(backend_frame(fa.source_port, filled(7, 0xa0)));
  h.to_inside(backend_frame(fb.source_port, filled(8, 0xb0)));
  h.poll();
  const auto out = h.sent_outside();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(v4.open(out[0]));
  EXPECT_FALSE(v6.open(out[0]));
  EXPECT_TRUE(v6.open(out[1]));
  EXPECT_FALSE(v4.open(out[1]));
  // An IPv6 frame to the IPv4 listener address, or without an IPv6
  // outside address, is not for us.
  h.to_outside(v6.frame(v6.record(filled(1, 1))));
  h.poll();
  EXPECT_EQ(h.sent_inside().size(), 1u);
}

TEST(Ipv6, PeerOfAGatewayWithoutAnIpv6AddressIsNotForUs) {
  Harness h;  // IPv4 only
  Peer peer("2001:db8:1::10", 40000);
  h.to_outside(peer.frame(peer.record(filled(4, 1))));
  h.to_outside(solicitation("2001:db8:1::10", kOutside6, kPeerMac));
  h.poll();
  EXPECT_TRUE(h.sent_inside().empty());
  EXPECT_TRUE(h.sent_outside().empty());
  EXPECT_EQ(h.count(Counter::drop_not_for_us), 1u) << h.counters();
  // And control cannot install an IPv6 flow there.
  h.install(peer);
  EXPECT_EQ(h.dp().sessions().size(), 0u);
}

// Splits the UDP datagram of IPv6 frame `whole` into two fragments at
// `first_length` bytes of it (a multiple of 8), Fragment header right
// after the fixed header (RFC 8200 §4.5).
std::vector<Bytes> fragment6(const Bytes& whole, size_t first_length, uint32_t id) {
  const size_t l3 = kL3;
  const uint8_t* ip = whole.data() + l3;
  const size_t upper = (size_t{ip[4]} << 8 | ip[5]);
  std::vector<Bytes> out;
  for (size_t offset = 0; offset < upper; offset += first_length) {
    const size_t n = std::min(first_length, upper - offset);
    const bool more = offset + n < upper;
    Bytes f(whole.begin(), whole.begin() + l3 + 40);
    f[l3 + 6] = 44;  // Next Header: Fragment
    const size_t payload_length = 8 + n;
    f[l3 + 4] = static_cast<uint8_t>(payload_length >> 8);
    f[l3 + 5] = static_cast<uint8_t>(payload_length);
    const uint16_t offset_field = static_cast<uint16_t>(offset / 8 << 3 | (more ? 1 : 0));
    const uint8_t header[8] = {17, 0, static_cast<uint8_t>(offset_field >> 8),
                               static_cast<uint8_t>(offset_field),
                               static_cast<uint8_t>(id >> 24), static_cast<uint8_t>(id >> 16),
                               static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id)};
    f.insert(f.end(), header, header + 8);
    f.insert(f.end(), ip + 40 + offset, ip + 40 + offset + n);
    out.push_back(f);
  }
  return out;
}

TEST(Ipv6, FragmentedDatagramIsReassembled) {
  Harness h(dual_stack_config());
  Peer peer("2001:db8:1::10", 40000);
  h.install(peer);
  const Bytes whole = peer.frame(peer.record(filled(900, 0x5a)));
  const auto fragments = fragment6(whole, 512, 77);
  ASSERT_EQ(fragments.size(), 2u);
  h.to_outside(fragments[1]);
  h.to_outside(fragments[0]);
  h.poll();
  EXPECT_EQ(h.count(Counter::datagrams_reassembled), 1u) << h.counters();
  const auto inside = h.sent_inside();
  ASSERT_EQ(inside.size(), 1u) << h.counters();
  EXPECT_EQ(udp_payload(inside[0]), filled(900, 0x5a));
  // Fragments to an address not ours take no reassembly buffer.
  Peer stranger("2001:db8:1::11", 40001);
  stranger.gateway = any_ip("2001:db8:1::99");
  h.to_outside(fragment6(stranger.frame(filled(600, 1)), 512, 78)[0]);
  h.poll();
  EXPECT_EQ(h.count(Counter::fragments_received), 2u);
}

// A router's packet too big (`mtu`) to the gateway's outside IPv6
// address, quoting the IP packet of `sent` (a frame the gateway sent).
Bytes packet_too_big_for(const Bytes& sent, uint32_t mtu) {
  Bytes out(kL3 + icmp::kMaxIcmpv6ErrorLength);
  const size_t n =
      icmp::write_packet_too_big({out.data() + kL3, icmp::kMaxIcmpv6ErrorLength},
                                 {sent.data() + kL3, sent.size() - kL3}, ip6("2001:db8:1::fe"),
                                 mtu);
  EXPECT_NE(n, 0u);
  out.resize(kL3 + n);
  std::memcpy(out.data(), kGatewayOutsideMac.bytes, 6);
  std::memcpy(out.data() + 6, kRouterMac.bytes, 6);
  out[12] = 0x86;
  out[13] = 0xdd;
  return out;
}

TEST(Ipv6, PacketTooBigLowersThePathMtuUntilItAgesOut) {
  dataplane::Config c = dual_stack_config();
  c.path_mtu_timeout = std::chrono::seconds(10);
  Harness h(c);
  Peer peer("2001:db8:1::10", 40000);
  h.install(install_on(peer, kListener6Backend));
  const auto first = peer_sends(h, peer, filled(4, 1), kListener6Backend);
  ASSERT_EQ(first.size(), 1u) << h.counters();
  packet::Frame f;
  ASSERT_TRUE(udp_payload(first[0], &f));
  const uint16_t gateway_port = f.source_port;
  const auto backend_sends = [&](size_t n) {
    h.to_inside(backend_frame(gateway_port, filled(n, 0x42), kBackend6, 7));
    h.poll();
    return h.sent_outside();
  };
  const auto sent = backend_sends(1300);
  ASSERT_EQ(sent.size(), 1u) << h.counters();
  h.events();

  h.to_outside(packet_too_big_for(sent[0], 1280));
  h.poll();
  EXPECT_EQ(h.count(Counter::icmp_path_mtu_lowered), 1u) << h.counters();
  const auto events = h.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, contract::EventKind::path_mtu);
  EXPECT_EQ(events[0].detail, 1280);

  // Too big now: refused, and the IPv6 backend gets a packet too big.
  EXPECT_TRUE(backend_sends(1300).empty());
  EXPECT_EQ(h.count(Counter::drop_over_path_mtu), 1u);
  const auto told = h.sent_inside();
  ASSERT_EQ(told.size(), 1u);
  icmp::Report r;
  ASSERT_EQ(icmp::parse_icmpv6({told[0].data() + kL3, told[0].size() - kL3}, r),
            icmp::Result::path_mtu);
  EXPECT_EQ(r.mtu, icmp::kIpv6MinimumMtu);  // never below IPv6's minimum
  EXPECT_EQ(std::memcmp(r.source.data(), ip6(kBackend6).bytes, 16), 0);
  EXPECT_EQ(r.destination_port, gateway_port);
  EXPECT_EQ(backend_sends(1280 - 40 - 8 - kRecordGrowth).size(), 1u);

  // path_mtu_timeout later the idle sweep restores the port's MTU.
  h.worker().advance_clock_ms(11'000);
  for (int ms = 0; ms < 8; ++ms) {
    h.worker().advance_clock_ms(1);
    h.poll(1);
  }
  EXPECT_EQ(h.count(Counter::path_mtu_raised), 1u) << h.counters();
  EXPECT_EQ(backend_sends(1300).size(), 1u) << h.counters();
}

TEST(Ipv6, ProxyHeaderNamesTheIpv6PeerAndListener) {
  dataplane::Config c = dual_stack_config();
  c.listeners[0].proxy_protocol = true;
  Harness h(c);
  Peer peer("2001:db8:1::10", 40000);
  h.install(peer);
  const auto inside = peer_sends(h, peer, filled(20, 0x61));
  ASSERT_EQ(inside.size(), 1u) << h.counters();
  auto payload = udp_payload(inside[0]);
  ASSERT_TRUE(payload);
  // The parser written from HAProxy's specification (proxy_v2_test).
  const auto parsed = proxy_v2_parser::parse(*payload);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->family, AF_INET6);
  EXPECT_EQ(parsed->transport, 2);  // DGRAM
  EXPECT_EQ(parsed->source, "2001:db8:1::10");
  EXPECT_EQ(parsed->source_port, 40000);
  EXPECT_EQ(parsed->destination, kOutside6);
  EXPECT_EQ(parsed->destination_port, 4433);
  EXPECT_EQ(Bytes(payload->begin() + static_cast<long>(parsed->header_length), payload->end()),
            filled(20, 0x61));
}

// ---- VLANs ----------------------------------------------------------------

TEST(Vlan, PortsTakeOnlyTheirTagAndTagAllTheySend) {
  Harness h(dual_stack_config(100, 200));
  Peer peer("192.0.2.10", 40000);
  peer.vlan = 100;
  h.install(peer);
  const auto inside = peer_sends(h, peer, filled(50, 0x66));
  ASSERT_EQ(inside.size(), 1u) << h.counters();
  packet::Frame f;
  auto plaintext = udp_payload(inside[0], &f);
  ASSERT_TRUE(plaintext);
  EXPECT_EQ(*plaintext, filled(50, 0x66));
  EXPECT_TRUE(f.has_vlan);
  EXPECT_EQ(f.vlan_tci & 0x0fff, 200);

  h.to_inside(backend_frame(f.source_port, filled(70, 0x77), "10.0.0.2", 7, 200));
  h.poll();
  const auto outside = h.sent_outside();
  ASSERT_EQ(outside.size(), 1u) << h.counters();
  auto opened = peer.open(outside[0]);  // checks the tag is 100
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->at(0).second, filled(70, 0x77));

  // Untagged, or on another VLAN: dropped and counted, both ports.
  for (const uint16_t wrong : {0, 101}) {
    peer.vlan = wrong;
    h.to_outside(peer.frame(peer.record(filled(3, 1))));
    h.to_inside(backend_frame(f.source_port, filled(3, 1), "10.0.0.2", 7, wrong ? 201 : 0));
  }
  h.poll();
  EXPECT_TRUE(h.sent_inside().empty());
  EXPECT_TRUE(h.sent_outside().empty());
  EXPECT_EQ(h.count(Counter::drop_wrong_vlan), 4u) << h.counters();

  // Neighbour discovery on the VLAN: answered with its tag.
  h.to_outside(solicitation("2001:db8:1::10", kOutside6, kPeerMac, 100));
  h.poll();
  const auto na = h.sent_outside();
  ASSERT_EQ(na.size(), 1u) << h.counters();
  packet::Frame parsed;
  ASSERT_EQ(packet::parse_frame(na[0], parsed), FrameResult::neighbor_advertisement);
  EXPECT_TRUE(parsed.has_vlan);
  EXPECT_EQ(parsed.vlan_tci & 0x0fff, 100);
}

TEST(Vlan, IPv6PeerOnATaggedPortToAnIpv6Backend) {
  Harness h(dual_stack_config(100, 200));
  Peer peer("2001:db8:1::10", 40000);
  peer.vlan = 100;
  h.install(install_on(peer, kListener6Backend));
  const auto inside = peer_sends(h, peer, filled(33, 0x12), kListener6Backend);
  ASSERT_EQ(inside.size(), 1u) << h.counters();
  packet::Frame f;
  ASSERT_EQ(udp_payload(inside[0], &f), filled(33, 0x12));
  EXPECT_EQ(f.ip_version, 6);
  EXPECT_EQ(f.vlan_tci & 0x0fff, 200);
  h.to_inside(backend_frame(f.source_port, filled(44, 0x21), kBackend6, 7, 200));
  h.poll();
  const auto outside = h.sent_outside();
  ASSERT_EQ(outside.size(), 1u) << h.counters();
  auto opened = peer.open(outside[0]);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->at(0).second, filled(44, 0x21));
}

TEST(Vlan, ResolutionOfNextHopsIsTaggedToo) {
  dataplane::Config c = dual_stack_config(0, 200, true);
  c.neighbors.clear();  // the IPv4 backend is ARPed, the IPv6 one solicited
  Harness h(c);
  h.poll();
  const auto sent = h.sent_inside();
  ASSERT_EQ(sent.size(), 2u) << h.counters();
  for (const Bytes& frame : sent) {
    packet::Frame parsed;
    const FrameResult r = packet::parse_frame(frame, parsed);
    EXPECT_TRUE(r == FrameResult::arp || r == FrameResult::neighbor_solicitation);
    EXPECT_TRUE(parsed.has_vlan);
    EXPECT_EQ(parsed.vlan_tci & 0x0fff, 200);
  }
}

}  // namespace
}  // namespace dtlsgw::test
