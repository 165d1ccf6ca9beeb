// IPv6 framing (dataplane/packet.h): UDP with its mandatory checksum
// (RFC 8200 §8.1), extension headers (RFC 8200 §4), fragments, ICMPv6
// hand-off and neighbour discovery (RFC 4861 §4.3, §4.4, §7.1, §7.2),
// tagged and untagged; checked against frames the Linux kernel sent, and
// the writers' output against the kernel's own byte for byte.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "dataplane/packet.h"

namespace dtlsgw::dataplane::packet {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes hex(std::string_view text) {
  Bytes out;
  auto nibble = [](char c) {
    return static_cast<uint8_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
  };
  std::string digits;
  for (char c : text) {
    if (c != ' ' && c != '\n') {
      digits.push_back(c);
    }
  }
  for (size_t i = 0; i + 1 < digits.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(nibble(digits[i]) << 4 | nibble(digits[i + 1])));
  }
  return out;
}

Ipv6 v6(std::string_view text) { return parse_ipv6(text).value(); }
MacAddress mac(std::string_view text) { return parse_mac(text).value(); }
uint16_t be16(const Bytes& b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }
void put16(Bytes& b, size_t at, size_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}

// The textbook RFC 1071 sum, 16 bits at a time, independent of packet.cc.
uint16_t reference_sum(const Bytes& b, size_t from, size_t n, uint64_t initial = 0) {
  uint64_t s = initial;
  for (size_t i = 0; i < n; i += 2) {
    s += static_cast<uint64_t>(b[from + i]) << 8 | (i + 1 < n ? b[from + i + 1] : 0);
  }
  while (s >> 16) {
    s = (s & 0xffff) + (s >> 16);
  }
  return static_cast<uint16_t>(s);
}

// RFC 8200 §8.1's pseudo-header as bytes: source, destination, 32-bit
// upper-layer length, three zero bytes, next header.
Bytes pseudo_header(const Bytes& f, size_t l3, size_t length, uint8_t next_header) {
  Bytes p(f.begin() + static_cast<long>(l3 + 8), f.begin() + static_cast<long>(l3 + 40));
  const Bytes tail = {static_cast<uint8_t>(length >> 24),
                      static_cast<uint8_t>(length >> 16),
                      static_cast<uint8_t>(length >> 8),
                      static_cast<uint8_t>(length),
                      0,
                      0,
                      0,
                      next_header};
  p.insert(p.end(), tail.begin(), tail.end());
  return p;
}

// Whether the upper-layer packet at f[at .. at + length) checksums right.
bool checksum_ok(const Bytes& f, size_t l3, size_t at, size_t length, uint8_t next_header) {
  const Bytes p = pseudo_header(f, l3, length, next_header);
  return reference_sum(f, at, length, reference_sum(p, 0, p.size())) == 0xffff;
}

// Recomputes the checksum at f[at + checksum_at] of the upper-layer
// packet at f[at ..], which runs to the end of the IPv6 payload.
void fix_checksum(Bytes& f, size_t l3, size_t at, size_t checksum_at, uint8_t next_header) {
  const size_t length = l3 + 40 + be16(f, l3 + 4) - at;
  put16(f, at + checksum_at, 0);
  const Bytes p = pseudo_header(f, l3, length, next_header);
  auto c = static_cast<uint16_t>(~reference_sum(f, at, length, reference_sum(p, 0, p.size())));
  if (next_header == 17 && c == 0) {
    c = 0xffff;
  }
  put16(f, at + checksum_at, c);
}

const MacAddress kGatewayMac = mac("02:00:5e:00:53:01");
const MacAddress kPeerMac = mac("02:00:5e:00:53:02");
const Ipv6 kGatewayIp = v6("2001:db8::1");
const Ipv6 kPeerIp = v6("2001:db8:1::7");

UdpEndpoints endpoints(bool vlan) {
  UdpEndpoints e;
  e.source_mac = kPeerMac;
  e.destination_mac = kGatewayMac;
  e.has_vlan = vlan;
  e.vlan_tci = vlan ? 0x2064 : 0;  // PCP 1, VLAN 100
  e.set_addresses(IpAddress::from(kPeerIp), IpAddress::from(kGatewayIp));
  e.source_port = 49152;
  e.destination_port = 5684;
  return e;
}

// An IPv6/UDP frame made by write_udp_headers and set_udp_checksum,
// payload 0x00, 0x01, ...
Bytes udp_frame(bool vlan, size_t payload_length) {
  const UdpEndpoints e = endpoints(vlan);
  const size_t headers = udp_headers_length(e);
  Bytes f(headers + payload_length);
  for (size_t i = 0; i < payload_length; ++i) {
    f[headers + i] = static_cast<uint8_t>(i);
  }
  write_udp_headers(f.data(), e, payload_length, 0);
  set_udp_checksum(f.data() + (vlan ? 18 : 14));
  return f;
}

FrameResult parse(const Bytes& f, Frame& out) { return parse_frame(f, out); }
FrameResult parse(const Bytes& f) {
  Frame out;
  return parse_frame(f, out);
}

class BothTags : public ::testing::TestWithParam<bool> {
 protected:
  bool vlan() const { return GetParam(); }
  size_t l3() const { return vlan() ? 18 : 14; }
};
INSTANTIATE_TEST_SUITE_P(Vlan, BothTags, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "tagged" : "untagged"; });

// Inserts an extension header `h` (its first byte, Next Header, is
// overwritten) right after the fixed header of `f`, chaining it in and
// fixing the payload length. The upper layer's checksum is unchanged: the
// pseudo-header carries the upper layer's own length.
void insert_extension(Bytes& f, size_t l3, uint8_t type, Bytes h) {
  h[0] = f[l3 + 6];
  f[l3 + 6] = type;
  f.insert(f.begin() + static_cast<long>(l3 + 40), h.begin(), h.end());
  put16(f, l3 + 4, be16(f, l3 + 4) + h.size());
}

// --- Frames sent by the Linux kernel ---------------------------------------
//
// Captured on a veth pair between two network namespaces (Linux 6.x,
// Debian 12 host): `ip netns add dtv6a; ip netns add dtv6b; ip link add
// dtv6a type veth peer name dtv6b`, MACs 02:00:5e:00:53:0a / :0b,
// addresses 2001:db8::a (and ::c, ::e) / 2001:db8::b, `ethtool -K ... tx
// off` so the kernel computes UDP checksums itself rather than leaving
// them to a (virtual) offload. A Python AF_PACKET socket (ETH_P_ALL) bound
// to dtv6b in its namespace printed every frame as hex while dtv6a sent
// UDP datagrams from Python sockets (sendto [2001:db8::b]:5684 from port
// 49152; sendto [2001:db8::b]:9) and added 2001:db8::e with duplicate
// address detection on. tcpdump was not installed; the AF_PACKET socket
// sees the same bytes.

// 2001:db8::a:49152 -> 2001:db8::b:5684 "dtlsgw over ipv6!" (17 bytes),
// flow label 0x4ab58, checksum 0x8c05 computed by the kernel.
const char* const kKernelUdp =
    "02005e00530b 02005e00530a 86dd"
    "6004ab58 0019 11 40 20010db800000000000000000000000a 20010db800000000000000000000000b"
    "c000 1634 0019 8c05"
    "64746c736777206f766572206970763621";
// 2001:db8::c:59967 -> 2001:db8::b:9 "x" (odd length, 1 byte).
const char* const kKernelUdpOdd =
    "02005e00530b 02005e00530a 86dd"
    "600cbf03 0009 11 40 20010db800000000000000000000000c 20010db800000000000000000000000b"
    "ea3f 0009 0009 420a 78";
// The neighbour solicitation dtv6a sent before that first datagram:
// 2001:db8::a -> ff02::1:ff00:b, who has 2001:db8::b, with a Source
// Link-Layer Address option.
const char* const kKernelNs =
    "3333ff00000b 02005e00530a 86dd"
    "60000000 0020 3a ff 20010db800000000000000000000000a ff0200000000000000000001ff00000b"
    "87 00 6b02 00000000 20010db800000000000000000000000b 01 01 02005e00530a";
// And one from 2001:db8::c (the address that sent the odd datagram).
const char* const kKernelNsFromC =
    "3333ff00000b 02005e00530a 86dd"
    "60000000 0020 3a ff 20010db800000000000000000000000c ff0200000000000000000001ff00000b"
    "87 00 6b00 00000000 20010db800000000000000000000000b 01 01 02005e00530a";
// dtv6b's kernel's answer to it (sent on dtv6b, PACKET_OUTGOING): Solicited
// and Override, a Target Link-Layer Address option.
const char* const kKernelNa =
    "02005e00530a 02005e00530b 86dd"
    "60000000 0020 3a ff 20010db800000000000000000000000b 20010db800000000000000000000000c"
    "88 00 d94a 60000000 20010db800000000000000000000000b 02 01 02005e00530b";
// Duplicate address detection for 2001:db8::e: from ::, to its
// solicited-node address, no link-layer option but a Nonce (RFC 7527,
// type 14), which a receiver that does not know it ignores.
const char* const kKernelDadNs =
    "3333ff00000e 02005e00530a 86dd"
    "60000000 0020 3a ff 00000000000000000000000000000000 ff0200000000000000000001ff00000e"
    "87 00 cb56 00000000 20010db800000000000000000000000e 0e 01 bdd7ed4ac850";
// The MLDv2 report that joined that solicited-node group: a Hop-by-Hop
// header with Router Alert (RFC 2711) and PadN before ICMPv6 type 143.
const char* const kKernelMldReport =
    "333300000016 02005e00530a 86dd"
    "60000000 0060 00 01 fe8000000000000000005efffe00530a ff020000000000000000000000000016"
    "3a 00 05 02 0000 01 00"
    "8f00 6782 0000 0004"
    "04000000 ff0200000000000000000001ff00000e 04000000 ff0200000000000000000001ff00000c"
    "04000000 ff0200000000000000000001ff00530a 04000000 ff0200000000000000000001ff00000a";
// dtv6b's port unreachable for the datagram to port 9 (ICMPv6 type 1).
const char* const kKernelPortUnreachable =
    "02005e00530a 02005e00530b 86dd"
    "600c1ef8 0039 3a 40 20010db800000000000000000000000b 20010db800000000000000000000000c"
    "01 04 72c0 00000000"
    "600cbf030009114020010db800000000000000000000000c20010db800000000000000000000000b"
    "ea3f00090009420a78";

TEST(KernelFrames, UdpParsesAndItsChecksumIsVerified) {
  struct Case {
    const char* hex;
    const char* source;
    uint16_t source_port;
    uint16_t destination_port;
    std::string_view payload;
  };
  for (const Case& c : {Case{kKernelUdp, "2001:db8::a", 49152, 5684, "dtlsgw over ipv6!"},
                        Case{kKernelUdpOdd, "2001:db8::c", 59967, 9, "x"}}) {
    SCOPED_TRACE(c.payload);
    const Bytes captured = hex(c.hex);
    Frame f;
    ASSERT_EQ(parse(captured, f), FrameResult::udp);
    EXPECT_EQ(f.ip_version, 6);
    EXPECT_EQ(f.source_mac, mac("02:00:5e:00:53:0a"));
    EXPECT_EQ(f.source_address, IpAddress::from(v6(c.source)));
    EXPECT_EQ(f.destination_address, IpAddress::from(v6("2001:db8::b")));
    EXPECT_EQ(f.source, Ipv4{});  // never a configured IPv4 address
    EXPECT_EQ(f.destination, Ipv4{});
    EXPECT_EQ(f.l3_header_length, 40);
    EXPECT_EQ(f.l4_offset, 54);
    EXPECT_EQ(f.source_port, c.source_port);
    EXPECT_EQ(f.destination_port, c.destination_port);
    EXPECT_EQ(f.payload_offset, 62);
    ASSERT_EQ(f.payload_length, c.payload.size());
    EXPECT_EQ(
        std::string_view(reinterpret_cast<const char*>(captured.data()) + 62, f.payload_length),
        c.payload);

    // Written by us for the same endpoints: the same frame but for the
    // flow label (we send 0, RFC 6437 allows it), and the kernel's
    // checksum, which the flow label does not enter.
    UdpEndpoints e;
    e.source_mac = f.source_mac;
    e.destination_mac = f.destination_mac;
    e.set_addresses(f.source_address, f.destination_address);
    EXPECT_EQ(e.ip_version, 6);
    e.source_port = f.source_port;
    e.destination_port = f.destination_port;
    Bytes written = captured;
    written[56] ^= 0x5a;  // garbage in the checksum field: overwritten
    write_udp_headers(written.data(), e, f.payload_length, 0);
    set_udp_checksum(written.data() + 14);
    Bytes expected = captured;
    expected[15] = 0;
    expected[16] = 0;
    expected[17] = 0;
    EXPECT_EQ(written, expected);

    // A flipped payload bit is caught.
    Bytes corrupt = captured;
    corrupt.back() ^= 0x01;
    EXPECT_EQ(parse(corrupt), FrameResult::bad_udp_checksum);
  }
}

TEST(KernelFrames, NeighborSolicitations) {
  Frame f;
  ASSERT_EQ(parse(hex(kKernelNs), f), FrameResult::neighbor_solicitation);
  EXPECT_EQ(f.ip_version, 6);
  EXPECT_EQ(f.nd.target, v6("2001:db8::b"));
  EXPECT_EQ(f.nd.source, v6("2001:db8::a"));
  EXPECT_TRUE(f.nd.has_link_layer_address);
  EXPECT_EQ(f.nd.link_layer_address, mac("02:00:5e:00:53:0a"));
  EXPECT_EQ(f.destination_address, IpAddress::from(v6("ff02::1:ff00:b")));
  EXPECT_EQ(f.l4_offset, 54);
  EXPECT_EQ(f.l4_length, 32);

  ASSERT_EQ(parse(hex(kKernelDadNs), f), FrameResult::neighbor_solicitation);
  EXPECT_EQ(f.nd.target, v6("2001:db8::e"));
  EXPECT_TRUE(is_unspecified(f.nd.source));
  EXPECT_FALSE(f.nd.has_link_layer_address);  // the nonce is not one
}

TEST(KernelFrames, NeighborAdvertisement) {
  Frame f;
  ASSERT_EQ(parse(hex(kKernelNa), f), FrameResult::neighbor_advertisement);
  EXPECT_EQ(f.nd.target, v6("2001:db8::b"));
  EXPECT_EQ(f.nd.source, v6("2001:db8::b"));
  EXPECT_TRUE(f.nd.has_link_layer_address);
  EXPECT_EQ(f.nd.link_layer_address, mac("02:00:5e:00:53:0b"));
  EXPECT_FALSE(f.nd.router);
  EXPECT_TRUE(f.nd.solicited);
  EXPECT_TRUE(f.nd.override_flag);
}

// The kernel's answer to its neighbour's solicitation, and ours, agree
// byte for byte (RFC 4861 §7.2.4); so do the solicitations (§7.2.2).
TEST(KernelFrames, OurNeighborMessagesAreTheKernels) {
  Frame ns;
  ASSERT_EQ(parse(hex(kKernelNsFromC), ns), FrameResult::neighbor_solicitation);
  Bytes na(neighbor_frame_length(false));
  ASSERT_EQ(write_neighbor_advertisement(na, ns, mac("02:00:5e:00:53:0b")), na.size());
  EXPECT_EQ(na, hex(kKernelNa));

  Bytes solicitation(neighbor_frame_length(false));
  ASSERT_EQ(write_neighbor_solicitation(solicitation, mac("02:00:5e:00:53:0a"), v6("2001:db8::c"),
                                        v6("2001:db8::b"), false, 0),
            solicitation.size());
  EXPECT_EQ(solicitation, hex(kKernelNsFromC));
  ASSERT_EQ(write_neighbor_solicitation(solicitation, mac("02:00:5e:00:53:0a"), v6("2001:db8::a"),
                                        v6("2001:db8::b"), false, 0),
            solicitation.size());
  EXPECT_EQ(solicitation, hex(kKernelNs));
}

// Frames written by write_udp_headers + set_udp_checksum that the Linux
// kernel accepted: sent out of dtv6a with an AF_PACKET socket, they
// reached a UDP socket bound to [2001:db8::b]:5684 in dtv6b (rx checksum
// offload off there, so the kernel checked in software); the same frames
// with the checksum's low bit flipped were counted as Udp6InCsumErrors
// (`nstat`) and not delivered. Pinned here byte for byte.
TEST(KernelFrames, OurUdpFramesTheKernelAccepted) {
  struct Case {
    std::string_view payload;
    const char* hex;
  };
  UdpEndpoints e;
  e.source_mac = mac("02:00:5e:00:53:0a");
  e.destination_mac = mac("02:00:5e:00:53:0b");
  e.set_addresses(IpAddress::from(v6("2001:db8::a")), IpAddress::from(v6("2001:db8::b")));
  e.source_port = 40000;
  e.destination_port = 5684;
  const std::string l2 = "02005e00530b 02005e00530a 86dd";
  const std::string addresses = "20010db800000000000000000000000a 20010db800000000000000000000000b";
  for (const Case& c : {
           Case{"written by dtlsgw",
                "60000000 0019 11 40 @ 9c40 1634 0019 4ca2 7772697474656e2062792064746c736777"},
           Case{"odd!!", "60000000 000d 11 40 @ 9c40 1634 000d fd52 6f64642121"},
           Case{"", "60000000 0008 11 40 @ 9c40 1634 0008 f1e2"},
       }) {
    std::string text = l2 + c.hex;
    text.replace(text.find('@'), 1, addresses);
    const Bytes accepted = hex(text);
    Bytes f(udp_headers_length(e) + c.payload.size());
    std::memcpy(f.data() + udp_headers_length(e), c.payload.data(), c.payload.size());
    write_udp_headers(f.data(), e, c.payload.size(), 0);
    set_udp_checksum(f.data() + 14);
    EXPECT_EQ(f, accepted) << c.payload;
    EXPECT_EQ(parse(f), FrameResult::udp);
  }
}

// Hop-by-Hop with Router Alert and PadN, then ICMPv6: walked, handed on.
TEST(KernelFrames, MldReportAndPortUnreachableAreIcmp) {
  Frame f;
  ASSERT_EQ(parse(hex(kKernelMldReport), f), FrameResult::icmp);
  EXPECT_EQ(f.l3_header_length, 48);
  EXPECT_EQ(f.l4_offset, 14 + 48);
  EXPECT_EQ(f.l4_length, 0x60 - 8);
  ASSERT_EQ(parse(hex(kKernelPortUnreachable), f), FrameResult::icmp);
  EXPECT_EQ(f.l3_header_length, 40);
  EXPECT_EQ(f.l4_length, 0x39);
  EXPECT_EQ(f.source_address, IpAddress::from(v6("2001:db8::b")));
}

// Every proper prefix of each kernel frame is truncated.
TEST(KernelFrames, EveryPrefixIsTruncated) {
  for (const char* text : {kKernelUdp, kKernelUdpOdd, kKernelNs, kKernelNa, kKernelDadNs,
                           kKernelMldReport, kKernelPortUnreachable}) {
    const Bytes f = hex(text);
    ASSERT_NE(parse(f), FrameResult::truncated);
    for (size_t n = 0; n < f.size(); ++n) {
      const Bytes prefix(f.begin(), f.begin() + static_cast<long>(n));
      EXPECT_EQ(parse(prefix), FrameResult::truncated) << n;
    }
  }
}

// --- UDP over IPv6 -----------------------------------------------------------

TEST_P(BothTags, WriteThenParseRoundTrips) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{1452}}) {
    const Bytes bytes = udp_frame(vlan(), n);
    ASSERT_EQ(bytes.size(), udp_headers_length(vlan(), 6) + n);
    Frame f;
    ASSERT_EQ(parse(bytes, f), FrameResult::udp) << n;
    EXPECT_EQ(f.destination_mac, kGatewayMac);
    EXPECT_EQ(f.source_mac, kPeerMac);
    EXPECT_EQ(f.has_vlan, vlan());
    EXPECT_EQ(f.vlan_tci, vlan() ? 0x2064 : 0);
    EXPECT_EQ(f.l3_offset, l3());
    EXPECT_EQ(f.ip_version, 6);
    EXPECT_EQ(f.l3_header_length, 40);
    EXPECT_EQ(f.source_address, IpAddress::from(kPeerIp));
    EXPECT_EQ(f.destination_address, IpAddress::from(kGatewayIp));
    EXPECT_EQ(f.source_port, 49152);
    EXPECT_EQ(f.destination_port, 5684);
    EXPECT_EQ(f.payload_offset, l3() + 48);
    EXPECT_EQ(f.payload_length, n);
    EXPECT_EQ(f.l4_offset, l3() + 40);
    EXPECT_EQ(f.l4_length, n + 8);
    EXPECT_TRUE(checksum_ok(bytes, l3(), l3() + 40, n + 8, 17));
  }
}

// The fields write_udp_headers promises, byte for byte; the checksum
// field holds the pseudo-header sum until set_udp_checksum (what DPDK's
// offload wants: rte_ipv6_phdr_cksum).
TEST_P(BothTags, WritesExactHeaders) {
  const UdpEndpoints e = endpoints(vlan());
  Bytes f(udp_headers_length(e) + 3, 0xcc);
  f[f.size() - 3] = 0;
  f[f.size() - 2] = 1;
  f[f.size() - 1] = 2;
  write_udp_headers(f.data(), e, 3, 0xbeef);
  const std::string l2 =
      vlan() ? "02005e005301 02005e005302 8100 2064 86dd" : "02005e005301 02005e005302 86dd";
  const Bytes expected = hex(l2 +
                             "60000000 000b 11 40"
                             "20010db8000100000000000000000007 20010db8000000000000000000000001"
                             "c000 1634 000b 0000"
                             "000102");
  Bytes without_checksum = f;
  put16(without_checksum, l3() + 46, 0);
  EXPECT_EQ(without_checksum, expected);
  const Bytes p = pseudo_header(f, l3(), 11, 17);
  EXPECT_EQ(be16(f, l3() + 46), reference_sum(p, 0, p.size()));
  EXPECT_EQ(be16(f, l3() + 46), ipv6_pseudo_header_sum(f.data() + l3(), 11, 17));
  EXPECT_EQ(parse(f), FrameResult::bad_udp_checksum);  // not finished yet
  set_udp_checksum(f.data() + l3());
  EXPECT_TRUE(checksum_ok(f, l3(), l3() + 40, 11, 17));
  EXPECT_EQ(parse(f), FrameResult::udp);
}

TEST(WriteUdpHeaders, LargestIpv6Payload) {
  const UdpEndpoints e = endpoints(false);
  Bytes f(udp_headers_length(e) + kMaxUdp6Payload, 0x5c);
  write_udp_headers(f.data(), e, kMaxUdp6Payload, 0);
  set_udp_checksum(f.data() + 14);
  EXPECT_EQ(be16(f, 18), 65535);  // payload length
  EXPECT_EQ(be16(f, 58), 65535);  // UDP length
  Frame out;
  ASSERT_EQ(parse(f, out), FrameResult::bad_ip_header);  // ends past 65535
  EXPECT_TRUE(checksum_ok(f, 14, 54, 65535, 17));
  // The largest that fits a 16-bit frame offset parses.
  const size_t n = 65535 - 14 - 48;
  Bytes g(udp_headers_length(e) + n, 0xa5);
  write_udp_headers(g.data(), e, n, 0);
  set_udp_checksum(g.data() + 14);
  ASSERT_EQ(parse(g, out), FrameResult::udp);
  EXPECT_EQ(out.payload_length, n);
}

// RFC 8200 §8.1: "if that computation yields a result of zero, it must be
// changed to hex FFFF for placement in the UDP header."
TEST_P(BothTags, ComputedZeroIsSentAsAllOnes) {
  Bytes f = udp_frame(vlan(), 2);
  const size_t csum = l3() + 46;
  put16(f, l3() + 48, 0);
  set_udp_checksum(f.data() + l3());
  // The payload word equal to the checksum it had with a zero payload
  // completes the sum to all ones: the computed checksum becomes 0.
  f[l3() + 48] = f[csum];
  f[l3() + 49] = f[csum + 1];
  set_udp_checksum(f.data() + l3());
  EXPECT_EQ(be16(f, csum), 0xffff);
  EXPECT_TRUE(checksum_ok(f, l3(), l3() + 40, 10, 17));
  EXPECT_EQ(parse(f), FrameResult::udp);
}

// RFC 8200 §8.1: "IPv6 receivers must discard UDP packets containing a
// zero checksum", and one that is wrong: every bit of the addresses, the
// UDP header and the payload is covered (the length bits may be caught as
// a bad length first).
TEST_P(BothTags, ZeroOrWrongChecksumIsRefused) {
  const Bytes good = udp_frame(vlan(), 13);
  Bytes zero = good;
  put16(zero, l3() + 46, 0);
  EXPECT_EQ(parse(zero), FrameResult::bad_udp_checksum);
  for (size_t byte = l3() + 8; byte < good.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes f = good;
      f[byte] ^= static_cast<uint8_t>(1u << bit);
      const FrameResult r = parse(f);
      if (byte == l3() + 44 || byte == l3() + 45) {
        EXPECT_TRUE(r == FrameResult::bad_udp_length || r == FrameResult::bad_udp_checksum) << byte;
      } else {
        EXPECT_EQ(r, FrameResult::bad_udp_checksum) << byte << "." << bit;
      }
    }
  }
}

// With the NIC's word that the checksum is good, it is not summed again;
// a zero checksum is still no checksum. IPv4 is unaffected.
TEST_P(BothTags, NicVerifiedChecksumIsNotSummedAgain) {
  Bytes f = udp_frame(vlan(), 13);
  f.back() ^= 0x01;
  Frame out;
  const VerifiedChecksums udp_good{.ipv4_header = false, .udp = true};
  EXPECT_EQ(parse_frame(f, out, VerifiedChecksums{}), FrameResult::bad_udp_checksum);
  ASSERT_EQ(parse_frame(f, out, udp_good), FrameResult::udp);
  EXPECT_EQ(out.payload_length, 13);
  put16(f, l3() + 46, 0);
  EXPECT_EQ(parse_frame(f, out, udp_good), FrameResult::bad_udp_checksum);
}

// Traffic class, flow label and hop limit are not covered, nor checked.
TEST_P(BothTags, FlowLabelAndHopLimitAreNotChecked) {
  Bytes f = udp_frame(vlan(), 5);
  f[l3() + 1] = 0xff;
  f[l3() + 2] = 0x12;
  f[l3() + 3] = 0x34;
  f[l3() + 7] = 1;
  EXPECT_EQ(parse(f), FrameResult::udp);
}

TEST_P(BothTags, EthernetPaddingIsNotPayload) {
  Bytes f = udp_frame(vlan(), 2);  // 64 or 68 bytes already: pad more
  f.resize(f.size() + 20, 0xee);
  Frame out;
  ASSERT_EQ(parse(f, out), FrameResult::udp);
  EXPECT_EQ(out.payload_length, 2);
}

TEST_P(BothTags, EveryPrefixIsTruncated) {
  const Bytes f = udp_frame(vlan(), 9);
  for (size_t n = 0; n < f.size(); ++n) {
    const Bytes prefix(f.begin(), f.begin() + static_cast<long>(n));
    EXPECT_EQ(parse(prefix), FrameResult::truncated) << n;
  }
  EXPECT_EQ(parse(f), FrameResult::udp);
}

TEST_P(BothTags, PayloadLengthBeyondTheFrameIsTruncated) {
  Bytes f = udp_frame(vlan(), 9);
  put16(f, l3() + 4, be16(f, l3() + 4) + 1);
  EXPECT_EQ(parse(f), FrameResult::truncated);
}

// An IPv6 payload too short for a UDP header, whatever follows it.
TEST_P(BothTags, PayloadShorterThanUdpHeaderIsTruncated) {
  Bytes f = udp_frame(vlan(), 0);
  put16(f, l3() + 4, 7);
  EXPECT_EQ(parse(f), FrameResult::truncated);
}

// RFC 8200 §3: "Version 4-bit Internet Protocol version number = 6."
TEST_P(BothTags, VersionMustBe6) {
  for (uint8_t first : {uint8_t{0x40}, uint8_t{0x00}, uint8_t{0x70}, uint8_t{0xf0}}) {
    Bytes f = udp_frame(vlan(), 4);
    f[l3()] = first;
    EXPECT_EQ(parse(f), FrameResult::bad_ip_header) << int{first};
  }
}

// RFC 4291 §2.5.5.2: ::ffff:a.b.c.d is not an address on an IPv6 wire; the
// data path holds IPv4 addresses so, and a forged one would pass for IPv4.
TEST_P(BothTags, Ipv4MappedSourceOrDestinationIsRefused) {
  for (const size_t at : {size_t{8}, size_t{24}}) {  // source, destination
    Bytes f = udp_frame(vlan(), 4);
    std::fill(f.begin() + static_cast<long>(l3() + at),
              f.begin() + static_cast<long>(l3() + at + 10), 0);
    f[l3() + at + 10] = 0xff;
    f[l3() + at + 11] = 0xff;
    fix_checksum(f, l3(), l3() + 40, 6, 17);
    EXPECT_EQ(parse(f), FrameResult::bad_ip_header) << at;
    // The same with one bit off the mapped prefix is an IPv6 address.
    f[l3() + at + 9] = 1;
    fix_checksum(f, l3(), l3() + 40, 6, 17);
    EXPECT_EQ(parse(f), FrameResult::udp) << at;
  }
}

// RFC 768 lengths; 0 would be a jumbogram's (RFC 2675 §4), unsupported.
TEST_P(BothTags, BadUdpLengths) {
  for (uint16_t length : {uint16_t{0}, uint16_t{7}, uint16_t{8 + 9}, uint16_t{0xffff}}) {
    Bytes f = udp_frame(vlan(), 8);
    put16(f, l3() + 44, length);
    EXPECT_EQ(parse(f), FrameResult::bad_udp_length) << length;
  }
  // A UDP length below the IPv6 payload's is honoured (and checksummed
  // over the UDP length only).
  Bytes f = udp_frame(vlan(), 8);
  put16(f, l3() + 44, 8 + 5);
  fix_checksum(f, l3(), l3() + 40, 6, 17);
  // fix_checksum summed the whole payload; redo over the UDP length.
  put16(f, l3() + 46, 0);
  {
    const Bytes p = pseudo_header(f, l3(), 13, 17);
    put16(f, l3() + 46,
          static_cast<uint16_t>(~reference_sum(f, l3() + 40, 13, reference_sum(p, 0, p.size()))));
  }
  Frame out;
  ASSERT_EQ(parse(f, out), FrameResult::udp);
  EXPECT_EQ(out.payload_length, 5);
  EXPECT_EQ(out.l4_length, 13);
}

// Frame's offsets are 16-bit: a packet reaching past 65535 bytes into the
// frame is refused rather than wrapped.
TEST(ParseIpv6, PacketsEndingPast65535AreRefused) {
  const UdpEndpoints e = endpoints(true);
  const size_t n = 65535 - 18 - 48 + 1;
  Bytes f(udp_headers_length(e) + n);
  write_udp_headers(f.data(), e, n, 0);
  set_udp_checksum(f.data() + 18);
  EXPECT_EQ(parse(f), FrameResult::bad_ip_header);
}

// --- Extension headers (RFC 8200 §4) ---------------------------------------

// Hop-by-Hop (PadN), Destination Options (Pad1s and an unknown 00-type
// option: "skip over this option"), Routing with Segments Left 0 ("ignore
// the Routing header"), an atomic fragment (RFC 6946 §4), Destination
// Options again: all walked to UDP.
TEST_P(BothTags, ExtensionHeadersAreWalked) {
  Bytes f = udp_frame(vlan(), 11);
  insert_extension(f, l3(), 60, hex("00 00 0001 0000 0000"));  // Pad1 Pad1 PadN(4)
  insert_extension(f, l3(), 44, hex("00 00 0000 12345678"));   // atomic fragment
  insert_extension(f, l3(), 43, hex("00 02 00 00 00000000 20010db8000000000000000000000099"));
  insert_extension(f, l3(), 60, hex("00 00 1e 02 abcd 01 00"));  // type 0x1e: skip
  insert_extension(f, l3(), 0, hex("00 00 01 04 00000000"));
  Frame out;
  ASSERT_EQ(parse(f, out), FrameResult::udp);
  const size_t extensions = 8 + 8 + 24 + 8 + 8;
  EXPECT_EQ(out.l3_header_length, 40 + extensions);
  EXPECT_EQ(out.l4_offset, l3() + 40 + extensions);
  EXPECT_EQ(out.payload_offset, l3() + 48 + extensions);
  EXPECT_EQ(out.payload_length, 11);
  EXPECT_EQ(out.destination_port, 5684);
  EXPECT_EQ(f[out.payload_offset + 10], 10);
  // And every prefix of that is truncated.
  for (size_t n = 0; n < f.size(); ++n) {
    const Bytes prefix(f.begin(), f.begin() + static_cast<long>(n));
    ASSERT_EQ(parse(prefix), FrameResult::truncated) << n;
  }
}

// kMaxIpv6ExtensionHeaders walked, one more refused.
TEST_P(BothTags, ExtensionHeaderCountIsBounded) {
  Bytes f = udp_frame(vlan(), 3);
  for (size_t i = 0; i < kMaxIpv6ExtensionHeaders; ++i) {
    insert_extension(f, l3(), 60, hex("00 00 0104 00000000"));
  }
  ASSERT_EQ(parse(f), FrameResult::udp);
  insert_extension(f, l3(), 60, hex("00 00 0104 00000000"));
  EXPECT_EQ(parse(f), FrameResult::bad_ip_header);
}

// RFC 8200 §4.2: an option type whose two high bits are not 00 says
// discard (01), or discard and report (10, 11); Jumbo Payload (0xc2) is
// not supported. A malformed option list is discarded too.
TEST_P(BothTags, OptionsThatSayDiscardAreRefused) {
  for (const char* options :
       {"00 00 42 02 0000 0100", "00 00 82 02 0000 0100", "00 00 c2 04 00010000",
        "00 00 01 05 00000000", "00 00 00 00 00 00 00 01"}) {
    for (uint8_t type : {uint8_t{0}, uint8_t{60}}) {
      Bytes f = udp_frame(vlan(), 3);
      insert_extension(f, l3(), type, hex(options));
      EXPECT_EQ(parse(f), FrameResult::bad_ip_header) << options << " in " << int{type};
    }
  }
}

// RFC 8200 §4.3: Hop-by-Hop "is restricted to appear immediately after
// an IPv6 header".
TEST_P(BothTags, HopByHopOnlyFirst) {
  Bytes f = udp_frame(vlan(), 3);
  insert_extension(f, l3(), 0, hex("00 00 0104 00000000"));
  ASSERT_EQ(parse(f), FrameResult::udp);
  insert_extension(f, l3(), 60, hex("00 00 0104 00000000"));
  EXPECT_EQ(parse(f), FrameResult::bad_ip_header);
}

// RFC 8200 §4.4: with Segments Left non-zero the packet is bound for
// another node.
TEST_P(BothTags, RoutingHeaderWithSegmentsLeftIsRefused) {
  Bytes f = udp_frame(vlan(), 3);
  insert_extension(f, l3(), 43, hex("00 02 04 01 00000000 20010db8000000000000000000000099"));
  EXPECT_EQ(parse(f), FrameResult::bad_ip_header);
}

TEST_P(BothTags, ExtensionHeaderBeyondThePacketIsTruncated) {
  Bytes f = udp_frame(vlan(), 3);
  insert_extension(f, l3(), 60, hex("00 00 0104 00000000"));
  f[l3() + 41] = 3;  // claims 32 bytes; the packet has 8 + 11 after it
  EXPECT_EQ(parse(f), FrameResult::truncated);
}

// RFC 8200 §4.5: a non-atomic Fragment header: where it is and how long
// the headers before the fragmentable part are, for reassembly.
TEST_P(BothTags, FragmentsAreReported) {
  for (uint16_t offset_flags :
       {uint16_t{0x0001}, uint16_t{0x00b9}, uint16_t{0xfff8}, uint16_t{0x0008}}) {
    Bytes f = udp_frame(vlan(), 16);
    insert_extension(f, l3(), 44, hex("00 00 0000 0badcafe"));
    put16(f, l3() + 42, offset_flags);
    Frame out;
    ASSERT_EQ(parse(f, out), FrameResult::ip_fragment) << offset_flags;
    EXPECT_EQ(out.ip_version, 6);
    EXPECT_EQ(out.fragment_header_offset, l3() + 40);
    EXPECT_EQ(out.l3_header_length, 48);
    EXPECT_EQ(out.source_address, IpAddress::from(kPeerIp));
    // Behind a Hop-by-Hop header.
    insert_extension(f, l3(), 0, hex("00 00 0104 00000000"));
    ASSERT_EQ(parse(f, out), FrameResult::ip_fragment);
    EXPECT_EQ(out.fragment_header_offset, l3() + 48);
    EXPECT_EQ(out.l3_header_length, 56);
  }
  // Reserved bits alone do not make a fragment (offset 0, M 0).
  Bytes f = udp_frame(vlan(), 16);
  insert_extension(f, l3(), 44, hex("00 ff 0006 0badcafe"));
  EXPECT_EQ(parse(f), FrameResult::udp);
}

TEST_P(BothTags, OtherNextHeadersAreNotUdp) {
  for (uint8_t next : {uint8_t{6}, uint8_t{59}, uint8_t{50}, uint8_t{51}, uint8_t{1}, uint8_t{135},
                       uint8_t{255}}) {
    Bytes f = udp_frame(vlan(), 16);
    f[l3() + 6] = next;
    Frame out;
    EXPECT_EQ(parse(f, out), FrameResult::not_udp) << int{next};
    EXPECT_EQ(out.ip_version, 6);
    // Behind an extension header too.
    insert_extension(f, l3(), 60, hex("00 00 0104 00000000"));
    EXPECT_EQ(parse(f), FrameResult::not_udp) << int{next};
  }
}

// --- ICMPv6 -----------------------------------------------------------------

// An ICMPv6 echo request (RFC 4443 §4.1), not checked here: handed on.
TEST_P(BothTags, IcmpIsHandedOn) {
  Bytes f = udp_frame(vlan(), 8);
  f[l3() + 6] = 58;
  f[l3() + 40] = 128;
  Frame out;
  ASSERT_EQ(parse(f, out), FrameResult::icmp);
  EXPECT_EQ(out.l4_offset, l3() + 40);
  EXPECT_EQ(out.l4_length, 16);
  put16(f, l3() + 4, 3);
  EXPECT_EQ(parse(f), FrameResult::truncated);
  put16(f, l3() + 4, 4);
  ASSERT_EQ(parse(f, out), FrameResult::icmp);
  EXPECT_EQ(out.l4_length, 4);
}

// --- Neighbour discovery ----------------------------------------------------

// A neighbour solicitation from the peer for the gateway's address, to
// its solicited-node address, as the writer makes it.
Bytes ns_frame(bool vlan) {
  Bytes f(neighbor_frame_length(vlan));
  EXPECT_EQ(write_neighbor_solicitation(f, kPeerMac, kPeerIp, kGatewayIp, vlan, vlan ? 0x0064 : 0),
            f.size());
  return f;
}

// The writer's NS, parsed back (RFC 4861 §7.2.2).
TEST_P(BothTags, NeighborSolicitationIsWrittenAndParsed) {
  const Bytes f = ns_frame(vlan());
  ASSERT_EQ(f.size(), vlan() ? 90u : 86u);
  Frame out;
  ASSERT_EQ(parse(f, out), FrameResult::neighbor_solicitation);
  EXPECT_EQ(out.has_vlan, vlan());
  EXPECT_EQ(out.vlan_tci, vlan() ? 0x0064 : 0);
  EXPECT_EQ(out.destination_mac, mac("33:33:ff:00:00:01"));
  EXPECT_EQ(out.source_mac, kPeerMac);
  EXPECT_EQ(out.destination_address, IpAddress::from(v6("ff02::1:ff00:1")));
  EXPECT_EQ(out.source_address, IpAddress::from(kPeerIp));
  EXPECT_EQ(out.nd.target, kGatewayIp);
  EXPECT_EQ(out.nd.source, kPeerIp);
  EXPECT_TRUE(out.nd.has_link_layer_address);
  EXPECT_EQ(out.nd.link_layer_address, kPeerMac);
  EXPECT_EQ(f[l3() + 7], 255);  // hop limit
  EXPECT_TRUE(checksum_ok(f, l3(), l3() + 40, 32, 58));
  for (size_t n = 0; n < f.size(); ++n) {
    const Bytes prefix(f.begin(), f.begin() + static_cast<long>(n));
    ASSERT_EQ(parse(prefix), FrameResult::truncated) << n;
  }
}

// RFC 4861 §7.2.4, a unicast solicitor: Solicited and Override, to its
// address at the MAC of its Source Link-Layer Address option.
TEST_P(BothTags, AdvertisementAnswersASolicitation) {
  Frame ns;
  Bytes request = ns_frame(vlan());
  // The option's MAC, not the frame's source, is where the answer goes.
  const MacAddress option_mac = mac("02:00:5e:00:53:77");
  std::memcpy(request.data() + l3() + 40 + 26, option_mac.bytes, 6);
  fix_checksum(request, l3(), l3() + 40, 2, 58);
  ASSERT_EQ(parse(request, ns), FrameResult::neighbor_solicitation);
  Bytes out(100, 0xcc);
  const size_t n = write_neighbor_advertisement(out, ns, kGatewayMac);
  ASSERT_EQ(n, neighbor_frame_length(vlan()));
  EXPECT_EQ(out[n], 0xcc);
  const Bytes na(out.begin(), out.begin() + static_cast<long>(n));
  const std::string l2 =
      vlan() ? "02005e005377 02005e005301 8100 0064 86dd" : "02005e005377 02005e005301 86dd";
  Bytes expected = hex(l2 +
                       "60000000 0020 3a ff"
                       "20010db8000000000000000000000001 20010db8000100000000000000000007"
                       "88 00 0000 60000000 20010db8000000000000000000000001"
                       "02 01 02005e005301");
  fix_checksum(expected, l3(), l3() + 40, 2, 58);
  EXPECT_EQ(na, expected);
  Frame back;
  ASSERT_EQ(parse(na, back), FrameResult::neighbor_advertisement);
  EXPECT_EQ(back.nd.target, kGatewayIp);
  EXPECT_TRUE(back.nd.solicited);
  EXPECT_TRUE(back.nd.override_flag);
  EXPECT_FALSE(back.nd.router);
  EXPECT_EQ(back.nd.link_layer_address, kGatewayMac);
  EXPECT_EQ(back.has_vlan, vlan());
  EXPECT_EQ(back.vlan_tci, vlan() ? 0x0064 : 0);

  // Without the option, to the frame's source MAC.
  ns.nd.has_link_layer_address = false;
  ASSERT_EQ(write_neighbor_advertisement(out, ns, kGatewayMac), n);
  EXPECT_EQ(MacAddress(mac("02:00:5e:00:53:02")),
            (MacAddress{{out[0], out[1], out[2], out[3], out[4], out[5]}}));
}

// RFC 4861 §7.2.4: from the unspecified address (duplicate address
// detection), multicast to all-nodes with Solicited clear.
TEST_P(BothTags, AdvertisementAnswersDadToAllNodes) {
  Bytes request = ns_frame(vlan());
  std::memset(request.data() + l3() + 8, 0, 16);  // source ::
  put16(request, l3() + 4, 24);                   // no option
  request.resize(request.size() - 8);
  fix_checksum(request, l3(), l3() + 40, 2, 58);
  Frame ns;
  ASSERT_EQ(parse(request, ns), FrameResult::neighbor_solicitation);
  Bytes out(neighbor_frame_length(vlan()));
  ASSERT_EQ(write_neighbor_advertisement(out, ns, kGatewayMac), out.size());
  Frame back;
  ASSERT_EQ(parse(out, back), FrameResult::neighbor_advertisement);
  EXPECT_EQ(back.destination_mac, mac("33:33:00:00:00:01"));
  EXPECT_EQ(back.destination_address, IpAddress::from(v6("ff02::1")));
  EXPECT_EQ(back.source_address, IpAddress::from(kGatewayIp));
  EXPECT_FALSE(back.nd.solicited);
  EXPECT_TRUE(back.nd.override_flag);
}

TEST_P(BothTags, NeighborWritersRefuseASmallBuffer) {
  Frame ns;
  ASSERT_EQ(parse(ns_frame(vlan()), ns), FrameResult::neighbor_solicitation);
  Bytes small(neighbor_frame_length(vlan()) - 1, 0xcc);
  EXPECT_EQ(write_neighbor_advertisement(small, ns, kGatewayMac), 0u);
  EXPECT_EQ(write_neighbor_solicitation(small, kGatewayMac, kGatewayIp, kPeerIp, vlan(), 1), 0u);
  EXPECT_EQ(small, Bytes(neighbor_frame_length(vlan()) - 1, 0xcc));
}

// RFC 4861 §7.1.1 / §7.1.2, one rule at a time; each edit keeps the
// checksum right unless the checksum is the point.
TEST_P(BothTags, NeighborDiscoveryValidation) {
  const size_t icmp = l3() + 40;
  const Bytes ns = ns_frame(vlan());
  Bytes na(neighbor_frame_length(vlan()));
  {
    Frame request;
    ASSERT_EQ(parse(ns, request), FrameResult::neighbor_solicitation);
    ASSERT_EQ(write_neighbor_advertisement(na, request, kGatewayMac), na.size());
    ASSERT_EQ(parse(na), FrameResult::neighbor_advertisement);
  }
  auto edited = [&](const Bytes& base, auto&& edit, bool fix = true) {
    Bytes f = base;
    edit(f);
    if (fix) {
      fix_checksum(f, l3(), icmp, 2, 58);
    }
    return parse(f);
  };
  constexpr FrameResult kBad = FrameResult::bad_neighbor_discovery;
  const Bytes* const bases[] = {&ns, &na};
  for (const Bytes* base : bases) {
    SCOPED_TRACE(base == &ns ? "NS" : "NA");
    // "The IP Hop Limit field has a value of 255".
    EXPECT_EQ(edited(*base, [&](Bytes& f) { f[l3() + 7] = 254; }), kBad);
    EXPECT_EQ(edited(*base, [&](Bytes& f) { f[l3() + 7] = 64; }), kBad);
    // "ICMP Checksum is valid" (every byte of the message covered; a
    // changed type byte makes another message).
    for (size_t at = icmp + 1; at < base->size(); ++at) {
      EXPECT_EQ(edited(
                    *base, [&](Bytes& f) { f[at] ^= 0x04; }, false),
                kBad)
          << at;
    }
    EXPECT_EQ(edited(
                  *base, [&](Bytes& f) { f[l3() + 8] ^= 0x01; }, false),
              kBad);  // source
    // "ICMP Code is 0."
    EXPECT_EQ(edited(*base, [&](Bytes& f) { f[icmp + 1] = 1; }), kBad);
    // "ICMP length ... is 24 or more octets."
    EXPECT_EQ(edited(*base,
                     [&](Bytes& f) {
                       put16(f, l3() + 4, 23);
                       f.resize(icmp + 23);
                     }),
              kBad);
    EXPECT_NE(edited(*base,
                     [&](Bytes& f) {
                       put16(f, l3() + 4, 24);
                       f.resize(icmp + 24);
                     }),
              kBad);
    // "Target Address is not a multicast address."
    EXPECT_EQ(edited(*base, [&](Bytes& f) { f[icmp + 8] = 0xff; }), kBad);
    // Nor is the source (RFC 4291 §2.7): an answer would go to it.
    EXPECT_EQ(edited(*base, [&](Bytes& f) { f[l3() + 8] = 0xff; }), kBad);
    // "All included options have a length that is greater than zero."
    EXPECT_EQ(edited(*base, [&](Bytes& f) { f[icmp + 25] = 0; }), kBad);
    // An option running past the message.
    EXPECT_EQ(edited(*base, [&](Bytes& f) { f[icmp + 25] = 2; }), kBad);
    // A one-byte tail is no option.
    EXPECT_EQ(edited(*base,
                     [&](Bytes& f) {
                       put16(f, l3() + 4, 33);
                       f.push_back(0);
                     }),
              kBad);
    // An unknown option is skipped; a link-layer option of another
    // length is not Ethernet's and is ignored (RFC 2464 §8).
    Frame out;
    Bytes f = *base;
    f[icmp + 24] = 14;  // Nonce (RFC 7527)
    fix_checksum(f, l3(), icmp, 2, 58);
    ASSERT_NE(parse(f, out), kBad);
    EXPECT_FALSE(out.nd.has_link_layer_address);
    f = *base;
    const Bytes longer = hex("0000000000000000");
    f.insert(f.end(), longer.begin(), longer.end());
    put16(f, l3() + 4, 40);
    f[icmp + 25] = 2;
    fix_checksum(f, l3(), icmp, 2, 58);
    ASSERT_NE(parse(f, out), kBad);
    EXPECT_FALSE(out.nd.has_link_layer_address);
  }
  // NS: "If the IP source address is the unspecified address, the IP
  // destination address is a solicited-node multicast address" and "there
  // is no source link-layer address option".
  auto unspecified = [&](Bytes& f) {
    std::memset(f.data() + l3() + 8, 0, 16);
    put16(f, l3() + 4, 24);
    f.resize(icmp + 24);
  };
  EXPECT_EQ(edited(ns, unspecified), FrameResult::neighbor_solicitation);
  EXPECT_EQ(edited(ns, [&](Bytes& f) { std::memset(f.data() + l3() + 8, 0, 16); }), kBad);
  EXPECT_EQ(edited(ns,
                   [&](Bytes& f) {
                     unspecified(f);
                     f[l3() + 24 + 11] = 0x02;  // ff02::2:ff00:1, not solicited-node
                   }),
            kBad);
  EXPECT_EQ(edited(ns,
                   [&](Bytes& f) {
                     unspecified(f);
                     std::memcpy(f.data() + l3() + 24, kGatewayIp.bytes, 16);  // unicast
                   }),
            kBad);
  // Unicast NS (address resolution refresh, RFC 4861 §7.3.3): fine.
  EXPECT_EQ(edited(ns, [&](Bytes& f) { std::memcpy(f.data() + l3() + 24, kGatewayIp.bytes, 16); }),
            FrameResult::neighbor_solicitation);
  // NA: "If the IP Destination Address is a multicast address the
  // Solicited flag is zero."
  EXPECT_EQ(edited(na, [&](Bytes& f) { f[l3() + 24] = 0xff; }), kBad);
  EXPECT_EQ(edited(na,
                   [&](Bytes& f) {
                     f[l3() + 24] = 0xff;
                     f[icmp + 4] = 0xa0;  // Router, Override
                   }),
            FrameResult::neighbor_advertisement);
  // NS/NA behind an extension header are still validated and accepted.
  Bytes behind = ns;
  insert_extension(behind, l3(), 60, hex("00 00 0104 00000000"));
  Frame out;
  ASSERT_EQ(parse(behind, out), FrameResult::neighbor_solicitation);
  EXPECT_EQ(out.l3_header_length, 48);
}

// Frames are reused across a burst: nothing of an earlier parse leaks.
TEST(ParseFrame, ReusedFrameCarriesNothingOver) {
  Frame f;
  ASSERT_EQ(parse(ns_frame(false), f), FrameResult::neighbor_solicitation);
  ASSERT_EQ(parse(hex(kKernelDadNs), f), FrameResult::neighbor_solicitation);
  EXPECT_FALSE(f.nd.has_link_layer_address);
  Bytes fragment = udp_frame(false, 16);
  insert_extension(fragment, 14, 44, hex("00 00 0001 0badcafe"));
  ASSERT_EQ(parse(fragment, f), FrameResult::ip_fragment);
  EXPECT_EQ(f.fragment_header_offset, 54);
  const Bytes arp =
      hex("ffffffffffff 02005e005302 0806 0001 0800 06 04 0001 02005e005302 c6336407 000000000000 "
          "c0000201");
  ASSERT_EQ(parse(arp, f), FrameResult::arp);
  EXPECT_EQ(f.ip_version, 0);
  EXPECT_EQ(f.fragment_header_offset, 0);
}

}  // namespace
}  // namespace dtlsgw::dataplane::packet
