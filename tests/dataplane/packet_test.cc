// Ethernet / 802.1Q / ARP / IPv4 / UDP framing (dataplane/packet.h):
// every FrameResult, tagged and untagged, Ethernet padding, IP options,
// checksums against RFC 1071's example and packets checksummed by the
// Linux kernel, and ARP frames byte for byte.
#include "dataplane/packet.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

namespace dtlsgw::dataplane::packet {
namespace {

using Bytes = std::vector<uint8_t>;

Ipv4 ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  const uint8_t bytes[4] = {a, b, c, d};
  Ipv4 v;
  std::memcpy(&v.be, bytes, 4);
  return v;
}

MacAddress mac(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t e, uint8_t f) {
  return MacAddress{{a, b, c, d, e, f}};
}

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

uint16_t be16(const Bytes& b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }

// The textbook RFC 1071 sum, 16 bits at a time: the oracle for the fast one.
uint16_t reference_sum(const uint8_t* p, size_t n, uint32_t initial = 0) {
  uint64_t s = initial;
  for (size_t i = 0; i < n; i += 2) {
    s += static_cast<uint64_t>(p[i]) << 8 | (i + 1 < n ? p[i + 1] : 0);
  }
  while (s >> 16) {
    s = (s & 0xffff) + (s >> 16);
  }
  return static_cast<uint16_t>(s);
}

// Recomputes the IPv4 header checksum at `l3` after a test edited it.
void fix_ip_checksum(Bytes& f, size_t l3) {
  const size_t ihl = size_t{f[l3] & 0x0fu} * 4;
  f[l3 + 10] = 0;
  f[l3 + 11] = 0;
  const auto c = static_cast<uint16_t>(~internet_checksum(f.data() + l3, ihl));
  f[l3 + 10] = static_cast<uint8_t>(c >> 8);
  f[l3 + 11] = static_cast<uint8_t>(c);
}

const MacAddress kGatewayMac = mac(0x02, 0x00, 0x5e, 0x00, 0x53, 0x01);
const MacAddress kPeerMac = mac(0x02, 0x00, 0x5e, 0x00, 0x53, 0x02);
const Ipv4 kGatewayIp = ip(192, 0, 2, 1);
const Ipv4 kPeerIp = ip(198, 51, 100, 7);

UdpEndpoints endpoints(bool vlan) {
  UdpEndpoints e;
  e.source_mac = kPeerMac;
  e.destination_mac = kGatewayMac;
  e.has_vlan = vlan;
  e.vlan_tci = vlan ? 0x2064 : 0;  // PCP 1, VLAN 100
  e.source = kPeerIp;
  e.destination = kGatewayIp;
  e.source_port = 49152;
  e.destination_port = 5684;  // CoAP over DTLS
  return e;
}

// A UDP frame made by write_udp_headers, payload 0x00, 0x01, ...
Bytes udp_frame(bool vlan, size_t payload_length, uint16_t ip_id = 0x1234) {
  Bytes f(udp_headers_length(vlan) + payload_length);
  for (size_t i = 0; i < payload_length; ++i) {
    f[udp_headers_length(vlan) + i] = static_cast<uint8_t>(i);
  }
  write_udp_headers(f.data(), endpoints(vlan), payload_length, ip_id);
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

// --- Checksums ------------------------------------------------------------

// RFC 1071 §3 ("Numerical Examples"): "Consider the eight-byte sequence
// 00-01-f2-03-f4-f5-f6-f7 ... [sums to] ddf2 ... the checksum is ... 220d."
TEST(InternetChecksum, Rfc1071Section3Example) {
  const Bytes b = hex("0001f203f4f5f6f7");
  EXPECT_EQ(internet_checksum(b.data(), b.size()), 0xddf2);
  EXPECT_EQ(static_cast<uint16_t>(~internet_checksum(b.data(), b.size())), 0x220d);
  // §2(B): the sum does not depend on where the words start.
  Bytes shifted = {0xaa};
  shifted.insert(shifted.end(), b.begin(), b.end());
  EXPECT_EQ(internet_checksum(shifted.data() + 1, b.size()), 0xddf2);
}

// RFC 1071 §4.1: "Handle left-over byte, if any": a last odd byte is the
// high half of a zero-padded word.
TEST(InternetChecksum, OddLengthPadsTheLastByteAsHighHalf) {
  const Bytes b = hex("0001f203f4f5f6f7ab");
  EXPECT_EQ(internet_checksum(b.data(), b.size()), reference_sum(b.data(), b.size()));
  const uint8_t one = 0x12;
  EXPECT_EQ(internet_checksum(&one, 1), 0x1200);
  EXPECT_EQ(internet_checksum(&one, 0), 0);
  EXPECT_EQ(internet_checksum(&one, 0, 0x1234), 0x1234);
}

TEST(InternetChecksum, MatchesTheTextbookSumAtEveryLengthAndAlignment) {
  Bytes data(600);
  uint64_t x = 0x647431736777;  // splitmix-ish, fixed
  for (auto& b : data) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    b = static_cast<uint8_t>(x >> 56);
  }
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t n = 0; n + offset <= 520; ++n) {
      const uint8_t* p = data.data() + offset;
      ASSERT_EQ(internet_checksum(p, n), reference_sum(p, n)) << "offset " << offset << " n " << n;
      ASSERT_EQ(internet_checksum(p, n, 0xfffe1), reference_sum(p, n, 0xfffe1)) << n;
    }
  }
}

// Many carries: all ones sum to all ones, and a long run of 0xff.. 0x01
// words wraps the 64-bit accumulator's carries around.
TEST(InternetChecksum, EndAroundCarriesOnLongBuffers) {
  Bytes ones(65536, 0xff);
  EXPECT_EQ(internet_checksum(ones.data(), ones.size()), 0xffff);
  Bytes mixed(65535);
  for (size_t i = 0; i < mixed.size(); ++i) {
    mixed[i] = i % 3 == 0 ? 0x01 : 0xff;
  }
  EXPECT_EQ(internet_checksum(mixed.data(), mixed.size()),
            reference_sum(mixed.data(), mixed.size()));
  EXPECT_EQ(internet_checksum(ones.data(), 4, 0xffffffff),
            reference_sum(ones.data(), 4, 0xffffffff));
}

// Two UDP datagrams over loopback, captured off `lo` with an AF_PACKET
// socket (Linux 6.x). The sender corked them (MSG_MORE), so the kernel
// computed the UDP checksum in software rather than leaving it to a
// (virtual) offload; Ethernet addresses are zero on `lo`.
//   127.0.0.1:49152 -> 127.0.0.1:5684 "dtlsgw checksum!"  (even length)
//   127.0.0.1:49153 -> 127.0.0.1:5684 "dtlsgw, odd"       (odd length)
struct Captured {
  const char* hex;
  uint16_t ip_checksum;
  uint16_t udp_checksum;
  uint16_t source_port;
  const char* payload;
};
const Captured kCaptured[] = {
    {"000000000000000000000000 0800"
     "4500002c87c440004011b4fa7f0000017f000001"
     "c00016340018265d"
     "64746c73677720636865636b73756d21",
     0xb4fa, 0x265d, 49152, "dtlsgw checksum!"},
    {"000000000000000000000000 0800"
     "450000278a4c40004011b2777f0000017f000001"
     "c00116340013f3ab"
     "64746c7367772c206f6464",
     0xb277, 0xf3ab, 49153, "dtlsgw, odd"},
};

TEST(Checksums, MatchTheKernelsOnCapturedPackets) {
  for (const Captured& c : kCaptured) {
    SCOPED_TRACE(c.payload);
    const Bytes captured = hex(c.hex);
    Frame f;
    ASSERT_EQ(parse(captured, f), FrameResult::udp);
    EXPECT_EQ(f.source, ip(127, 0, 0, 1));
    EXPECT_EQ(f.destination, ip(127, 0, 0, 1));
    EXPECT_EQ(f.source_port, c.source_port);
    EXPECT_EQ(f.destination_port, 5684);
    ASSERT_EQ(f.payload_length, std::strlen(c.payload));
    EXPECT_EQ(std::memcmp(captured.data() + f.payload_offset, c.payload, f.payload_length), 0);
    // A right checksum sums to all ones over what it covers.
    EXPECT_EQ(internet_checksum(captured.data() + 14, 20), 0xffff);

    // Recomputed from scratch, both checksums come out as the kernel's.
    Bytes mine = captured;
    fix_ip_checksum(mine, 14);
    EXPECT_EQ(be16(mine, 24), c.ip_checksum);
    mine[40] = 0x5a;  // garbage in the UDP checksum field: overwritten
    mine[41] = 0xa5;
    set_udp_checksum(mine.data() + 14);
    EXPECT_EQ(be16(mine, 40), c.udp_checksum);
    EXPECT_EQ(mine, captured);

    // And write_udp_headers, given the same fields, writes the same IP
    // header except the identification (and so the checksum).
    UdpEndpoints e;
    e.source = e.destination = ip(127, 0, 0, 1);
    e.source_port = c.source_port;
    e.destination_port = 5684;
    Bytes written = captured;
    write_udp_headers(written.data(), e, f.payload_length, be16(captured, 18));
    EXPECT_EQ(be16(written, 24), c.ip_checksum);
    set_udp_checksum(written.data() + 14);
    EXPECT_EQ(written, captured);
  }
}

// RFC 768: "If the computed checksum is zero, it is transmitted as all
// ones (the equivalent in one's complement arithmetic)."
TEST(Checksums, ComputedZeroIsSentAsAllOnes) {
  Bytes f = udp_frame(false, 2);
  f[42] = f[43] = 0;
  set_udp_checksum(f.data() + 14);
  // With payload word 0 the checksum is c; the payload word c adds the
  // complement of everything else, so the sum becomes 0xffff and the
  // computed checksum 0.
  f[42] = f[40];
  f[43] = f[41];
  set_udp_checksum(f.data() + 14);
  EXPECT_EQ(be16(f, 40), 0xffff);
  // Still verifies: 0xffff and 0 are the same number in one's complement.
  const Bytes pseudo = {f[26], f[27], f[28], f[29], f[30], f[31], f[32], f[33], 0, 17, 0, 10};
  const uint16_t p = internet_checksum(pseudo.data(), pseudo.size());
  EXPECT_EQ(internet_checksum(f.data() + 34, 10, p), 0xffff);
}

// The UDP checksum covers options-free and option-carrying IP alike: the
// UDP header starts at IHL * 4.
TEST(Checksums, UdpChecksumSkipsIpOptions) {
  Bytes f = udp_frame(false, 5);
  // Insert a Router Alert option (RFC 2113: 94 04 00 00).
  const Bytes option = {0x94, 0x04, 0x00, 0x00};
  f.insert(f.begin() + 34, option.begin(), option.end());
  f[14] = 0x46;
  f[17] = static_cast<uint8_t>(f[17] + 4);
  fix_ip_checksum(f, 14);
  set_udp_checksum(f.data() + 14);
  const Bytes plain_frame = [] {
    Bytes g = udp_frame(false, 5);
    set_udp_checksum(g.data() + 14);
    return g;
  }();
  EXPECT_EQ(be16(f, 38 + 6), be16(plain_frame, 34 + 6));
}

// --- Parsing: accepted frames ---------------------------------------------

TEST_P(BothTags, WriteThenParseRoundTrips) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{1472}}) {
    const Bytes bytes = udp_frame(vlan(), n);
    Frame f;
    ASSERT_EQ(parse(bytes, f), FrameResult::udp) << n;
    EXPECT_EQ(f.destination_mac, kGatewayMac);
    EXPECT_EQ(f.source_mac, kPeerMac);
    EXPECT_EQ(f.has_vlan, vlan());
    EXPECT_EQ(f.vlan_tci, vlan() ? 0x2064 : 0);
    EXPECT_EQ(f.l3_offset, l3());
    EXPECT_EQ(f.source, kPeerIp);
    EXPECT_EQ(f.destination, kGatewayIp);
    EXPECT_EQ(f.source_port, 49152);
    EXPECT_EQ(f.destination_port, 5684);
    EXPECT_EQ(f.payload_offset, udp_headers_length(vlan()));
    EXPECT_EQ(f.payload_length, n);
    // The family-neutral fields, IPv4 mapped (RFC 4291 §2.5.5.2).
    EXPECT_EQ(f.ip_version, 4);
    EXPECT_EQ(f.l3_header_length, 20);
    EXPECT_EQ(f.source_address, IpAddress::from(kPeerIp));
    EXPECT_EQ(f.destination_address, IpAddress::from(kGatewayIp));
    EXPECT_TRUE(f.source_address.is_v4());
    EXPECT_EQ(f.l4_offset, l3() + 20);
    EXPECT_EQ(f.l4_length, n + 8);
  }
}

// The headers write_udp_headers promises, byte for byte: DF, TTL 64, UDP
// checksum 0 (RFC 768: "An all zero transmitted checksum value means that
// the transmitter generated no checksum").
TEST_P(BothTags, WritesExactHeaders) {
  const Bytes f = udp_frame(vlan(), 3, 0xbeef);
  const std::string l2 =
      vlan() ? "02005e005301 02005e005302 8100 2064 0800" : "02005e005301 02005e005302 0800";
  // 45 00 len=31 id=beef DF ttl=64 udp csum; 192.0.2.1 <- 198.51.100.7
  const Bytes expected = hex(l2 +
                             "4500001f beef 4000 4011 0000 c6336407 c0000201"
                             "c000 1634 000b 0000"
                             "000102");
  ASSERT_EQ(f.size(), expected.size());
  Bytes without_checksum = f;
  without_checksum[l3() + 10] = without_checksum[l3() + 11] = 0;
  EXPECT_EQ(without_checksum, expected);
  EXPECT_EQ(internet_checksum(f.data() + l3(), 20), 0xffff);
}

TEST(WriteUdpHeaders, LargestPayload) {
  Bytes f(udp_headers_length(false) + kMaxUdpPayload, 0x5c);
  write_udp_headers(f.data(), endpoints(false), kMaxUdpPayload, 1);
  EXPECT_EQ(be16(f, 16), 65535);
  EXPECT_EQ(be16(f, 38), 65515);
  Frame out;
  ASSERT_EQ(parse(f, out), FrameResult::udp);
  EXPECT_EQ(out.payload_length, kMaxUdpPayload);
  set_udp_checksum(f.data() + 14);
  const uint8_t pseudo[12] = {f[26], f[27], f[28], f[29], f[30], f[31],
                              f[32], f[33], 0,     17,    f[38], f[39]};
  EXPECT_EQ(internet_checksum(f.data() + 34, 65515, internet_checksum(pseudo, 12)), 0xffff);
}

// A short datagram in a minimum-size (60-byte) Ethernet frame: the padding
// after the IP packet is not payload, whatever it holds.
TEST_P(BothTags, EthernetPaddingIsNotPayload) {
  Bytes f = udp_frame(vlan(), 4);
  f.resize(60 + (vlan() ? 4 : 0), 0xee);
  Frame out;
  ASSERT_EQ(parse(f, out), FrameResult::udp);
  EXPECT_EQ(out.payload_length, 4);
  EXPECT_EQ(out.payload_offset, udp_headers_length(vlan()));
}

// UDP shorter than the IP packet leaves IP-level trailing bytes: the UDP
// length rules (RFC 768).
TEST_P(BothTags, UdpLengthBelowIpPayloadIsHonoured) {
  Bytes f = udp_frame(vlan(), 10);
  f[l3() + 24] = 0;
  f[l3() + 25] = 8 + 6;
  Frame out;
  ASSERT_EQ(parse(f, out), FrameResult::udp);
  EXPECT_EQ(out.payload_length, 6);
}

// RFC 791 §3.1: IHL is the header length in 32-bit words; options follow
// the 20 fixed bytes and the data starts after them.
TEST_P(BothTags, IpOptionsMoveThePayload) {
  for (size_t option_words : {1u, 2u, 10u}) {
    Bytes f = udp_frame(vlan(), 7);
    Bytes options(option_words * 4, 0x01);  // NOPs
    options.back() = 0x00;                  // End of Option List
    f.insert(f.begin() + static_cast<long>(l3() + 20), options.begin(), options.end());
    f[l3()] = static_cast<uint8_t>(0x40 | (5 + option_words));
    const size_t total = 20 + options.size() + 8 + 7;
    f[l3() + 2] = static_cast<uint8_t>(total >> 8);
    f[l3() + 3] = static_cast<uint8_t>(total);
    fix_ip_checksum(f, l3());
    Frame out;
    ASSERT_EQ(parse(f, out), FrameResult::udp) << option_words;
    EXPECT_EQ(out.payload_offset, l3() + 20 + options.size() + 8);
    EXPECT_EQ(out.payload_length, 7);
    EXPECT_EQ(out.destination_port, 5684);
    EXPECT_EQ(f[out.payload_offset], 0);
    EXPECT_EQ(f[out.payload_offset + 6], 6);
  }
}

// DF alone is no fragment; nor is the reserved bit's presence ours to judge.
TEST_P(BothTags, DontFragmentIsNotAFragment) {
  Bytes f = udp_frame(vlan(), 4);
  f[l3() + 6] = 0x40;
  fix_ip_checksum(f, l3());
  EXPECT_EQ(parse(f), FrameResult::udp);
  f[l3() + 6] = 0x00;
  fix_ip_checksum(f, l3());
  EXPECT_EQ(parse(f), FrameResult::udp);
}

// --- Parsing: every refusal -------------------------------------------------

TEST(FrameResultNames, AreDistinctAndCoverEveryValue) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kFrameResultCount; ++i) {
    const std::string_view n = to_string(static_cast<FrameResult>(i));
    EXPECT_NE(n, "invalid") << i;
    names.insert(n);
  }
  EXPECT_EQ(names.size(), kFrameResultCount);
  EXPECT_EQ(to_string(FrameResult::udp), "udp");
  EXPECT_EQ(to_string(FrameResult::bad_udp_length), "bad_udp_length");
  EXPECT_EQ(to_string(static_cast<FrameResult>(kFrameResultCount)), "invalid");
}

// Every proper prefix of a good frame is refused as truncated, and never
// read past (each prefix is its own exact-size heap buffer for ASan).
TEST_P(BothTags, EveryPrefixIsTruncated) {
  const Bytes f = udp_frame(vlan(), 9);
  for (size_t n = 0; n < f.size(); ++n) {
    const Bytes prefix(f.begin(), f.begin() + static_cast<long>(n));
    EXPECT_EQ(parse(prefix), FrameResult::truncated) << n;
  }
  EXPECT_EQ(parse(f), FrameResult::udp);
}

TEST_P(BothTags, IpTotalLengthBeyondTheFrameIsTruncated) {
  Bytes f = udp_frame(vlan(), 9);
  f[l3() + 3] = static_cast<uint8_t>(f[l3() + 3] + 1);
  fix_ip_checksum(f, l3());
  EXPECT_EQ(parse(f), FrameResult::truncated);
}

TEST_P(BothTags, IpOptionsBeyondTheFrameAreTruncated) {
  // IHL 15 (60 bytes) in a frame that ends 30 bytes after the IP header.
  Bytes f = udp_frame(vlan(), 2);
  f[l3()] = 0x4f;
  EXPECT_EQ(parse(f), FrameResult::truncated);
}

// An IP packet too short for a UDP header, whatever bytes follow it.
TEST_P(BothTags, IpPayloadShorterThanUdpHeaderIsTruncated) {
  Bytes f = udp_frame(vlan(), 0);
  f[l3() + 3] = 20 + 7;
  fix_ip_checksum(f, l3());
  EXPECT_EQ(parse(f), FrameResult::truncated);
}

TEST_P(BothTags, OtherEtherTypesAreNotIpv4) {
  // IPv6 (0x86dd) has its own tests (ipv6_packet_test.cc).
  for (uint16_t type : {uint16_t{0x88cc}, uint16_t{0x88a8}, uint16_t{0x0000}, uint16_t{0x0805}}) {
    Bytes f = udp_frame(vlan(), 4);
    f[l3() - 2] = static_cast<uint8_t>(type >> 8);
    f[l3() - 1] = static_cast<uint8_t>(type);
    EXPECT_EQ(parse(f), FrameResult::not_ipv4) << type;
  }
}

// 802.1ad / QinQ, two 0x8100 tags: only one is supported.
TEST(ParseFrame, SecondVlanTagIsNotIpv4) {
  Bytes f = udp_frame(true, 4);
  const Bytes inner = {0x81, 0x00, 0x00, 0x07};
  f.insert(f.begin() + 16, inner.begin(), inner.end());
  Frame out;
  EXPECT_EQ(parse(f, out), FrameResult::not_ipv4);
  EXPECT_TRUE(out.has_vlan);
  EXPECT_EQ(out.vlan_tci, 0x2064);
}

// RFC 791 §3.1: Version 4; IHL at least 5; total length at least the header.
TEST_P(BothTags, BadIpHeaders) {
  const Bytes good = udp_frame(vlan(), 12);
  auto with = [&](size_t at, uint8_t v, bool fix) {
    Bytes f = good;
    f[l3() + at] = v;
    if (fix) {
      fix_ip_checksum(f, l3());
    }
    return parse(f);
  };
  EXPECT_EQ(with(0, 0x65, true), FrameResult::bad_ip_header);   // version 6
  EXPECT_EQ(with(0, 0x05, true), FrameResult::bad_ip_header);   // version 0
  EXPECT_EQ(with(0, 0x44, false), FrameResult::bad_ip_header);  // IHL 4
  EXPECT_EQ(with(0, 0x40, false), FrameResult::bad_ip_header);  // IHL 0
  EXPECT_EQ(with(3, 19, true), FrameResult::bad_ip_header);     // total < 20
  EXPECT_EQ(with(3, 0, true), FrameResult::bad_ip_header);
  // total 21 .. 27 keeps a good header but leaves no room for UDP.
  EXPECT_EQ(with(3, 20, true), FrameResult::truncated);
}

// A header whose checksum the device has verified (rx checksum offload)
// is not summed again; its version, lengths and protocol still are checked.
TEST_P(BothTags, DeviceVerifiedIpv4HeaderIsNotSummedAgain) {
  Bytes f = udp_frame(vlan(), 12);
  f[l3() + 10] ^= 0x5a;  // the checksum itself
  const VerifiedChecksums header_good{.ipv4_header = true, .udp = false};
  Frame out;
  EXPECT_EQ(parse(f, out), FrameResult::bad_ip_header);
  ASSERT_EQ(parse_frame(f, out, header_good), FrameResult::udp);
  EXPECT_EQ(out.payload_length, 12);
  Bytes ihl = f;
  ihl[l3()] = 0x44;
  EXPECT_EQ(parse_frame(ihl, out, header_good), FrameResult::bad_ip_header);
  Bytes longer = f;
  longer[l3() + 3] = static_cast<uint8_t>(longer[l3() + 3] + 1);  // total length past the frame
  EXPECT_EQ(parse_frame(longer, out, header_good), FrameResult::truncated);
  Bytes udp_length = f;
  udp_length[l3() + 25] = static_cast<uint8_t>(udp_length[l3() + 25] + 1);
  EXPECT_EQ(parse_frame(udp_length, out, header_good), FrameResult::bad_udp_length);
}

// RFC 1071 / RFC 791: one flipped bit anywhere in the header (checksum
// included) breaks the checksum.
TEST_P(BothTags, EveryHeaderBitIsCoveredByTheChecksum) {
  const Bytes good = udp_frame(vlan(), 12);
  for (size_t byte = 0; byte < 20; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes f = good;
      f[l3() + byte] ^= static_cast<uint8_t>(1u << bit);
      const FrameResult r = parse(f);
      // Version, IHL and total-length flips may be caught before the sum.
      if (byte == 0) {
        EXPECT_TRUE(r == FrameResult::bad_ip_header || r == FrameResult::truncated) << byte;
      } else if (byte == 2 || byte == 3) {
        EXPECT_TRUE(r == FrameResult::bad_ip_header || r == FrameResult::truncated) << byte;
      } else {
        EXPECT_EQ(r, FrameResult::bad_ip_header) << byte << "." << bit;
      }
    }
  }
}

TEST_P(BothTags, BadChecksumInOptionsHeader) {
  Bytes f = udp_frame(vlan(), 4);
  const Bytes option = {0x94, 0x04, 0x00, 0x00};
  f.insert(f.begin() + static_cast<long>(l3() + 20), option.begin(), option.end());
  f[l3()] = 0x46;
  f[l3() + 3] = static_cast<uint8_t>(f[l3() + 3] + 4);
  fix_ip_checksum(f, l3());
  ASSERT_EQ(parse(f), FrameResult::udp);
  f[l3() + 22] = 0x01;  // inside the option
  EXPECT_EQ(parse(f), FrameResult::bad_ip_header);
}

// RFC 791 §3.1: "More Fragments" or a non-zero "Fragment Offset".
TEST_P(BothTags, FragmentsAreRefused) {
  for (uint16_t flags :
       {uint16_t{0x2000}, uint16_t{0x0001}, uint16_t{0x1fff}, uint16_t{0x6000}, uint16_t{0x4100}}) {
    Bytes f = udp_frame(vlan(), 8);
    f[l3() + 6] = static_cast<uint8_t>(flags >> 8);
    f[l3() + 7] = static_cast<uint8_t>(flags);
    fix_ip_checksum(f, l3());
    Frame out;
    EXPECT_EQ(parse(f, out), FrameResult::ip_fragment) << flags;
    // What DPDK's IPv4 reassembly needs: l3_len and the addresses.
    EXPECT_EQ(out.ip_version, 4);
    EXPECT_EQ(out.l3_header_length, 20);
    EXPECT_EQ(out.fragment_header_offset, 0);
    EXPECT_EQ(out.source_address, IpAddress::from(kPeerIp));
  }
}

TEST_P(BothTags, OtherProtocolsAreNotUdp) {
  for (uint8_t protocol : {uint8_t{58}, uint8_t{6}, uint8_t{136}, uint8_t{0}}) {
    Bytes f = udp_frame(vlan(), 8);
    f[l3() + 9] = protocol;
    fix_ip_checksum(f, l3());
    Frame out;
    EXPECT_EQ(parse(f, out), FrameResult::not_udp) << int{protocol};
    EXPECT_EQ(out.ip_version, 4);
  }
}

// ICMP (protocol 1) is handed on whole, for "fragmentation needed"
// (RFC 1191) to be read by its own parser: where it starts, how long.
TEST_P(BothTags, IcmpIsHandedOn) {
  Bytes f = udp_frame(vlan(), 8);  // 16 bytes after the IP header
  f[l3() + 9] = 1;
  fix_ip_checksum(f, l3());
  Frame out;
  ASSERT_EQ(parse(f, out), FrameResult::icmp);
  EXPECT_EQ(out.ip_version, 4);
  EXPECT_EQ(out.l4_offset, l3() + 20);
  EXPECT_EQ(out.l4_length, 16);
  EXPECT_EQ(out.source_address, IpAddress::from(kPeerIp));
  EXPECT_EQ(out.destination_address, IpAddress::from(kGatewayIp));
  // Fewer than the 4 bytes of type, code and checksum: cut.
  f[l3() + 3] = 20 + 3;
  fix_ip_checksum(f, l3());
  EXPECT_EQ(parse(f), FrameResult::truncated);
  f[l3() + 3] = 20 + 4;
  fix_ip_checksum(f, l3());
  ASSERT_EQ(parse(f, out), FrameResult::icmp);
  EXPECT_EQ(out.l4_length, 4);
}

// RFC 768: "Length is the length in octets of this user datagram including
// this header and the data. (This means the minimum value of the length is
// eight.)"
TEST_P(BothTags, BadUdpLengths) {
  for (uint16_t length : {uint16_t{0}, uint16_t{7}, uint16_t{8 + 9}, uint16_t{0xffff}}) {
    Bytes f = udp_frame(vlan(), 8);
    f[l3() + 24] = static_cast<uint8_t>(length >> 8);
    f[l3() + 25] = static_cast<uint8_t>(length);
    EXPECT_EQ(parse(f), FrameResult::bad_udp_length) << length;
  }
  // Beyond the IP packet even though the padded frame has the bytes.
  Bytes f = udp_frame(vlan(), 2);
  f.resize(f.size() + 30, 0);
  f[l3() + 25] = 8 + 3;
  EXPECT_EQ(parse(f), FrameResult::bad_udp_length);
}

// --- ARP --------------------------------------------------------------------

// Who has 192.0.2.1? Tell 198.51.100.7 (RFC 826), padded to 60 bytes as it
// arrives from a switch, untagged and on VLAN 100.
Bytes arp_request_frame(bool vlan) {
  const std::string l2 =
      vlan ? "ffffffffffff 02005e005302 8100 0064 0806" : "ffffffffffff 02005e005302 0806";
  Bytes f = hex(l2 +
                "0001 0800 06 04 0001"
                "02005e005302 c6336407"
                "000000000000 c0000201");
  f.resize(60 + (vlan ? 4 : 0), 0);
  return f;
}

TEST_P(BothTags, ParsesAnArpRequest) {
  Frame f;
  ASSERT_EQ(parse(arp_request_frame(vlan()), f), FrameResult::arp);
  EXPECT_EQ(f.has_vlan, vlan());
  EXPECT_EQ(f.vlan_tci, vlan() ? 0x0064 : 0);
  EXPECT_EQ(f.l3_offset, l3());
  EXPECT_EQ(f.destination_mac, mac(0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
  EXPECT_EQ(f.source_mac, kPeerMac);
  EXPECT_EQ(f.arp.operation, 1);
  EXPECT_EQ(f.arp.sender_mac, kPeerMac);
  EXPECT_EQ(f.arp.sender_ip, kPeerIp);
  EXPECT_EQ(f.arp.target_mac, MacAddress{});
  EXPECT_EQ(f.arp.target_ip, kGatewayIp);
}

// RFC 826 "Packet Reception": "swap hardware and protocol fields, putting
// the local hardware and protocol addresses in the sender fields. Set the
// ar$op field to ares_op$REPLY. Send the packet to the (new) target
// hardware address on the same hardware on which the request was received."
TEST_P(BothTags, ArpReplyIsByteExact) {
  Frame request;
  ASSERT_EQ(parse(arp_request_frame(vlan()), request), FrameResult::arp);
  const std::string l2 =
      vlan() ? "02005e005302 02005e005301 8100 0064 0806" : "02005e005302 02005e005301 0806";
  const Bytes expected = hex(l2 +
                             "0001 0800 06 04 0002"
                             "02005e005301 c0000201"
                             "02005e005302 c6336407");
  Bytes out(64, 0xcc);
  const size_t n = write_arp_reply(out, request, kGatewayMac, kGatewayIp);
  ASSERT_EQ(n, vlan() ? 46u : 42u);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + static_cast<long>(n)), expected);
  EXPECT_EQ(out[n], 0xcc);  // nothing written past it
  // Exactly big enough also works.
  Bytes exact(n);
  EXPECT_EQ(write_arp_reply(exact, request, kGatewayMac, kGatewayIp), n);
  EXPECT_EQ(exact, expected);
  // And it parses back as a reply.
  Frame reply;
  ASSERT_EQ(parse(exact, reply), FrameResult::arp);
  EXPECT_EQ(reply.arp.operation, 2);
  EXPECT_EQ(reply.arp.target_ip, kPeerIp);
}

TEST_P(BothTags, ArpRequestIsByteExact) {
  const std::string l2 =
      vlan() ? "ffffffffffff 02005e005301 8100 2064 0806" : "ffffffffffff 02005e005301 0806";
  const Bytes expected = hex(l2 +
                             "0001 0800 06 04 0001"
                             "02005e005301 c0000201"
                             "000000000000 c6336407");
  Bytes out(64, 0xcc);
  const size_t n =
      write_arp_request(out, kGatewayMac, kGatewayIp, kPeerIp, vlan(), vlan() ? 0x2064 : 0);
  ASSERT_EQ(n, vlan() ? 46u : 42u);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + static_cast<long>(n)), expected);
  EXPECT_EQ(out[n], 0xcc);
  Frame parsed;
  ASSERT_EQ(parse(Bytes(out.begin(), out.begin() + static_cast<long>(n)), parsed),
            FrameResult::arp);
  EXPECT_EQ(parsed.arp.operation, 1);
  EXPECT_EQ(parsed.arp.target_ip, kPeerIp);
}

TEST_P(BothTags, ArpWritersRefuseASmallBuffer) {
  Frame request;
  ASSERT_EQ(parse(arp_request_frame(vlan()), request), FrameResult::arp);
  const size_t need = vlan() ? 46 : 42;
  Bytes small(need - 1, 0xcc);
  EXPECT_EQ(write_arp_reply(small, request, kGatewayMac, kGatewayIp), 0u);
  EXPECT_EQ(write_arp_request(small, kGatewayMac, kGatewayIp, kPeerIp, vlan(), 7), 0u);
  EXPECT_EQ(small, Bytes(need - 1, 0xcc));  // untouched
  EXPECT_EQ(write_arp_reply({}, request, kGatewayMac, kGatewayIp), 0u);
  EXPECT_EQ(write_arp_request({}, kGatewayMac, kGatewayIp, kPeerIp, vlan(), 7), 0u);
}

TEST_P(BothTags, ShortArpIsTruncated) {
  Bytes f = arp_request_frame(vlan());
  f.resize(l3() + 27);
  EXPECT_EQ(parse(f), FrameResult::truncated);
  f.resize(l3() + 28);
  EXPECT_EQ(parse(f), FrameResult::arp);
}

// Only Ethernet/IPv4 ARP: hardware type 1, protocol 0x0800, lengths 6, 4.
TEST_P(BothTags, NonEthernetIpv4ArpIsRefused) {
  const Bytes good = arp_request_frame(vlan());
  for (size_t at : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{4}, size_t{5}}) {
    Bytes f = good;
    f[l3() + at] ^= 0x10;
    EXPECT_EQ(parse(f), FrameResult::bad_arp) << at;
  }
  Bytes ipv6 = good;  // ptype 0x86dd
  ipv6[l3() + 2] = 0x86;
  ipv6[l3() + 3] = 0xdd;
  EXPECT_EQ(parse(ipv6), FrameResult::bad_arp);
}

}  // namespace
}  // namespace dtlsgw::dataplane::packet
