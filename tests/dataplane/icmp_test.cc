// ICMP path MTU reports (dataplane/icmp.h): RFC 792 / RFC 1191
// "fragmentation needed", RFC 4443 §3.2 "packet too big", and the
// frag-needed and packet-too-big the gateway writes for its backends. The
// messages are built here field by field, with an independent checksum.
#include "dataplane/icmp.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "dataplane/packet.h"

namespace dtlsgw::dataplane::icmp {
namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, size_t at, unsigned v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}
unsigned get16(const Bytes& b, size_t at) { return unsigned{b[at]} << 8 | b[at + 1]; }

// RFC 1071, the textbook way.
unsigned slow_sum(const uint8_t* p, size_t n, unsigned long s = 0) {
  for (size_t i = 0; i < n; ++i) {
    s += (i % 2 == 0) ? unsigned{p[i]} << 8 : p[i];
  }
  while (s > 0xffff) {
    s = (s & 0xffff) + (s >> 16);
  }
  return static_cast<unsigned>(s);
}

const uint8_t kGateway[4] = {192, 0, 2, 1};
const uint8_t kPeer[4] = {198, 51, 100, 7};
const uint8_t kRouter[4] = {203, 0, 113, 9};

// The IPv4/UDP datagram we sent: 192.0.2.1:4433 → 198.51.100.7:40000,
// `length` bytes of IP packet, DF set, payload starting with a DTLS 1.2
// record header (epoch 1, sequence 5).
Bytes our_datagram(size_t length) {
  Bytes d(length, 0x5a);
  d[0] = 0x45;
  d[1] = 0;
  put16(d, 2, static_cast<unsigned>(length));
  put16(d, 4, 0x1234);
  put16(d, 6, 0x4000);
  d[8] = 64;
  d[9] = 17;
  put16(d, 10, 0);
  std::memcpy(&d[12], kGateway, 4);
  std::memcpy(&d[16], kPeer, 4);
  put16(d, 10, ~slow_sum(d.data(), 20) & 0xffff);
  put16(d, 20, 4433);
  put16(d, 22, 40000);
  put16(d, 24, static_cast<unsigned>(length - 20));
  put16(d, 26, 0);
  const uint8_t record[13] = {23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 5, 0x05, 0x00};
  std::memcpy(&d[28], record, sizeof record);
  return d;
}

// An ICMPv4 message from the router, quoting `quote_bytes` of `quoted`.
Bytes icmpv4(uint8_t type, uint8_t code, unsigned mtu, const Bytes& quoted, size_t quote_bytes) {
  const size_t length = 20 + 8 + quote_bytes;
  Bytes p(length, 0);
  p[0] = 0x45;
  put16(p, 2, static_cast<unsigned>(length));
  p[8] = 255;
  p[9] = 1;
  std::memcpy(&p[12], kRouter, 4);
  std::memcpy(&p[16], kGateway, 4);
  put16(p, 10, ~slow_sum(p.data(), 20) & 0xffff);
  p[20] = type;
  p[21] = code;
  put16(p, 26, mtu);
  std::memcpy(&p[28], quoted.data(), quote_bytes);
  put16(p, 22, ~slow_sum(&p[20], length - 20) & 0xffff);
  return p;
}

Bytes frag_needed(unsigned mtu, size_t quoted_length = 1500, size_t quote_bytes = 28 + 13) {
  return icmpv4(3, 4, mtu, our_datagram(quoted_length), quote_bytes);
}

TEST(IcmpV4, Rfc1191NextHopMtuNamesOurFlow) {
  Report r;
  const Bytes p = frag_needed(1400);
  ASSERT_EQ(parse_icmpv4(p, r), Result::path_mtu);
  EXPECT_FALSE(r.ipv6);
  EXPECT_EQ(r.mtu, 1400u);
  EXPECT_EQ(r.quoted_length, 1500u);
  EXPECT_EQ(std::memcmp(r.source.data(), kGateway, 4), 0);
  EXPECT_EQ(std::memcmp(r.destination.data(), kPeer, 4), 0);
  EXPECT_EQ(r.source_port, 4433);
  EXPECT_EQ(r.destination_port, 40000);
  // The quote reaches the record header: type, version, epoch, sequence.
  ASSERT_EQ(r.quoted_payload.size(), 13u);
  EXPECT_EQ(r.quoted_payload[0], 23);
  EXPECT_EQ(r.quoted_payload[10], 5);
}

TEST(IcmpV4, Rfc792MinimalQuoteIsEnough) {
  // "the internet header plus the first 64 bits of the original datagram"
  Report r;
  ASSERT_EQ(parse_icmpv4(frag_needed(1400, 1500, 28), r), Result::path_mtu);
  EXPECT_EQ(r.destination_port, 40000);
  EXPECT_TRUE(r.quoted_payload.empty());
  // One byte less and the ports are not all there.
  EXPECT_EQ(parse_icmpv4(frag_needed(1400, 1500, 27), r), Result::bad_quote);
}

TEST(IcmpV4, Rfc1191Section5ZeroMtuMeansThePlateauBelow) {
  Report r;
  ASSERT_EQ(parse_icmpv4(frag_needed(0, 1500), r), Result::path_mtu);
  EXPECT_EQ(r.mtu, 1492u);
  ASSERT_EQ(parse_icmpv4(frag_needed(0, 1006), r), Result::path_mtu);
  EXPECT_EQ(r.mtu, 508u);
  EXPECT_EQ(plateau_below(65535), 32000u);
  EXPECT_EQ(plateau_below(1493), 1492u);
  EXPECT_EQ(plateau_below(69), 68u);
  EXPECT_EQ(plateau_below(10), 68u);
}

TEST(IcmpV4, MtuBelow68IsClampedTo68) {
  // RFC 1191 §3: 68 octets is the IPv4 minimum every path carries.
  Report r;
  for (const unsigned mtu : {1u, 20u, 67u}) {
    ASSERT_EQ(parse_icmpv4(frag_needed(mtu, 576), r), Result::path_mtu) << mtu;
    EXPECT_EQ(r.mtu, 68u);
  }
  ASSERT_EQ(parse_icmpv4(frag_needed(69, 576), r), Result::path_mtu);
  EXPECT_EQ(r.mtu, 69u);
}

TEST(IcmpV4, MtuNotBelowTheQuotedLengthIsBogus) {
  Report r;
  EXPECT_EQ(parse_icmpv4(frag_needed(1500, 1500), r), Result::not_below_quote);
  EXPECT_EQ(parse_icmpv4(frag_needed(9000, 1500), r), Result::not_below_quote);
  EXPECT_EQ(parse_icmpv4(frag_needed(1499, 1500), r), Result::path_mtu);
}

TEST(IcmpV4, EveryFlippedByteOfTheMessageFailsTheChecksum) {
  const Bytes good = frag_needed(1400);
  for (size_t i = 20; i < good.size(); ++i) {
    Bytes bad = good;
    bad[i] ^= 0x10;
    Report r;
    EXPECT_EQ(parse_icmpv4(bad, r), Result::bad_checksum) << "byte " << i;
  }
}

TEST(IcmpV4, OtherMessagesAreNotReports) {
  Report r;
  const Bytes quoted = our_datagram(1500);
  EXPECT_EQ(parse_icmpv4(icmpv4(3, 3, 1400, quoted, 28), r), Result::other_message);  // port
  EXPECT_EQ(parse_icmpv4(icmpv4(0, 0, 0, quoted, 28), r), Result::other_message);     // echo
  EXPECT_EQ(parse_icmpv4(icmpv4(11, 0, 0, quoted, 28), r), Result::other_message);    // TTL
}

TEST(IcmpV4, QuotesThatAreNotOurUdpAreRefused) {
  Report r;
  Bytes quoted = our_datagram(1500);
  quoted[9] = 6;  // TCP
  EXPECT_EQ(parse_icmpv4(icmpv4(3, 4, 1400, quoted, 28), r), Result::bad_quote);
  quoted = our_datagram(1500);
  put16(quoted, 6, 0x2000 | 185);  // a later fragment: no UDP header
  EXPECT_EQ(parse_icmpv4(icmpv4(3, 4, 1400, quoted, 28), r), Result::bad_quote);
  quoted = our_datagram(1500);
  quoted[0] = 0x65;  // version 6 in an IPv4 quote
  EXPECT_EQ(parse_icmpv4(icmpv4(3, 4, 1400, quoted, 28), r), Result::bad_quote);
}

TEST(IcmpV4, TruncationAndOuterHeader) {
  const Bytes good = frag_needed(1400);
  Report r;
  for (size_t n = 0; n < good.size(); ++n) {
    const Result res = parse_icmpv4({good.data(), n}, r);
    EXPECT_TRUE(res == Result::truncated) << n << " " << to_string(res);
  }
  Bytes padded = good;
  padded.resize(good.size() + 10, 0);  // Ethernet padding is ignored
  EXPECT_EQ(parse_icmpv4(padded, r), Result::path_mtu);
  Bytes udp = good;
  udp[9] = 17;
  EXPECT_EQ(parse_icmpv4(udp, r), Result::not_icmp);
  Bytes v6 = good;
  v6[0] = 0x65;
  EXPECT_EQ(parse_icmpv4(v6, r), Result::bad_ip_header);
}

// ---- ICMPv6 (RFC 4443 §3.2) ---------------------------------------------

const uint8_t kGateway6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const uint8_t kPeer6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
const uint8_t kRouter6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};

Bytes our_datagram6(size_t length, bool fragment_header = false) {
  Bytes d(length, 0x5a);
  d[0] = 0x60;
  d[1] = d[2] = d[3] = 0;
  put16(d, 4, static_cast<unsigned>(length - 40));
  d[6] = fragment_header ? 44 : 17;
  d[7] = 64;
  std::memcpy(&d[8], kGateway6, 16);
  std::memcpy(&d[24], kPeer6, 16);
  size_t udp = 40;
  if (fragment_header) {
    d[40] = 17;
    d[41] = 0;
    put16(d, 42, 1);  // offset 0, M
    put16(d, 44, 0);
    put16(d, 46, 77);
    udp = 48;
  }
  put16(d, udp, 4433);
  put16(d, udp + 2, 40000);
  put16(d, udp + 4, static_cast<unsigned>(length - udp));
  return d;
}

Bytes packet_too_big(uint32_t mtu, const Bytes& quoted, size_t quote_bytes) {
  const size_t payload = 8 + quote_bytes;
  Bytes p(40 + payload, 0);
  p[0] = 0x60;
  put16(p, 4, static_cast<unsigned>(payload));
  p[6] = 58;
  p[7] = 255;
  std::memcpy(&p[8], kRouter6, 16);
  std::memcpy(&p[24], kGateway6, 16);
  p[40] = 2;
  p[41] = 0;
  p[44] = static_cast<uint8_t>(mtu >> 24);
  p[45] = static_cast<uint8_t>(mtu >> 16);
  p[46] = static_cast<uint8_t>(mtu >> 8);
  p[47] = static_cast<uint8_t>(mtu);
  std::memcpy(&p[48], quoted.data(), quote_bytes);
  // RFC 8200 §8.1 pseudo-header: source, destination, length, next header.
  unsigned long pseudo = slow_sum(&p[8], 32);
  pseudo += payload + 58;
  put16(p, 42, ~slow_sum(&p[40], payload, pseudo) & 0xffff);
  return p;
}

TEST(IcmpV6, Rfc4443PacketTooBigNamesOurFlow) {
  Report r;
  const Bytes p = packet_too_big(1280, our_datagram6(1500), 1280 - 48);
  ASSERT_EQ(parse_icmpv6(p, r), Result::path_mtu);
  EXPECT_TRUE(r.ipv6);
  EXPECT_EQ(r.mtu, 1280u);
  EXPECT_EQ(r.quoted_length, 1500u);
  EXPECT_EQ(std::memcmp(r.source.data(), kGateway6, 16), 0);
  EXPECT_EQ(std::memcmp(r.destination.data(), kPeer6, 16), 0);
  EXPECT_EQ(r.source_port, 4433);
  EXPECT_EQ(r.destination_port, 40000);
  EXPECT_EQ(r.quoted_payload.size(), 1280u - 48 - 48);
}

TEST(IcmpV6, QuotedFragmentHeaderIsSkipped) {
  Report r;
  ASSERT_EQ(parse_icmpv6(packet_too_big(1400, our_datagram6(1500, true), 56), r), Result::path_mtu);
  EXPECT_EQ(r.destination_port, 40000);
}

TEST(IcmpV6, Rfc8201BelowTheMinimumIsDiscarded) {
  Report r;
  EXPECT_EQ(parse_icmpv6(packet_too_big(1279, our_datagram6(1500), 48), r), Result::below_minimum);
  EXPECT_EQ(parse_icmpv6(packet_too_big(68, our_datagram6(1500), 48), r), Result::below_minimum);
  EXPECT_EQ(parse_icmpv6(packet_too_big(1500, our_datagram6(1500), 48), r),
            Result::not_below_quote);
}

TEST(IcmpV6, EveryFlippedByteFailsTheChecksum) {
  // Pseudo-header addresses included (RFC 4443 §2.3).
  const Bytes good = packet_too_big(1280, our_datagram6(1500), 64);
  for (size_t i = 8; i < good.size(); ++i) {
    Bytes bad = good;
    bad[i] ^= 0x01;
    Report r;
    EXPECT_EQ(parse_icmpv6(bad, r), Result::bad_checksum) << "byte " << i;
  }
}

TEST(IcmpV6, OtherMessagesAndTruncation) {
  Report r;
  Bytes p = packet_too_big(1280, our_datagram6(1500), 48);
  for (size_t n = 0; n < p.size(); ++n) {
    EXPECT_EQ(parse_icmpv6({p.data(), n}, r), Result::truncated) << n;
  }
  Bytes echo = p;
  echo[40] = 128;  // echo request, checksum fixed below
  put16(echo, 42, 0);
  unsigned long pseudo = slow_sum(&echo[8], 32) + (echo.size() - 40) + 58;
  put16(echo, 42, ~slow_sum(&echo[40], echo.size() - 40, pseudo) & 0xffff);
  EXPECT_EQ(parse_icmpv6(echo, r), Result::other_message);
  Bytes udp = p;
  udp[6] = 17;
  EXPECT_EQ(parse_icmpv6(udp, r), Result::not_icmp);
}

// ---- what the gateway writes for its backends -----------------------------

TEST(FragmentationNeeded, ParsesBackWithTheMtuAndA576ByteCap) {
  // A backend's datagram from 10.0.0.2:7 to the gateway's inside port.
  Bytes offending = our_datagram(1400);
  const uint8_t backend[4] = {10, 0, 0, 2};
  std::memcpy(&offending[12], backend, 4);
  uint32_t inside;
  const uint8_t inside_bytes[4] = {10, 0, 0, 1};
  std::memcpy(&inside, inside_bytes, 4);
  Bytes out(kMaxIcmpv4ErrorLength);
  const size_t n = write_fragmentation_needed(out, offending, inside, 1163, 9);
  ASSERT_EQ(n, kMaxIcmpv4ErrorLength);
  out.resize(n);
  EXPECT_EQ(slow_sum(out.data(), 20), 0xffffu);
  EXPECT_EQ(get16(out, 6) & 0x4000, 0u);  // DF clear
  EXPECT_EQ(std::memcmp(&out[16], backend, 4), 0);
  EXPECT_EQ(std::memcmp(&out[12], inside_bytes, 4), 0);
  Report r;
  ASSERT_EQ(parse_icmpv4(out, r), Result::path_mtu);
  EXPECT_EQ(r.mtu, 1163u);
  EXPECT_EQ(r.quoted_length, 1400u);
  EXPECT_EQ(std::memcmp(r.source.data(), backend, 4), 0);
  // A short offending packet is quoted whole.
  Bytes small_out(kMaxIcmpv4ErrorLength);
  const Bytes short_one = our_datagram(100);
  ASSERT_EQ(write_fragmentation_needed(small_out, short_one, inside, 68, 1), 20u + 8 + 100);
  // Too small a buffer, or no UDP header to quote: nothing.
  Bytes tiny(100);
  EXPECT_EQ(write_fragmentation_needed(tiny, offending, inside, 1163, 9), 0u);
  EXPECT_EQ(write_fragmentation_needed(out, {offending.data(), 27}, inside, 1163, 9), 0u);
}

// ---- packet too big, what the gateway writes for IPv6 backends ------------

const uint8_t kBackend6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
const uint8_t kInside6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

Ipv6 inside6() {
  Ipv6 a;
  std::memcpy(a.bytes, kInside6, 16);
  return a;
}

// A backend's IPv6/UDP datagram from [fd00::2]:4433 to the gateway's
// inside address, `length` bytes of IP packet, with a counting payload so
// a misplaced quote shows.
Bytes backend_datagram6(size_t length) {
  Bytes d = our_datagram6(length);
  std::memcpy(&d[8], kBackend6, 16);
  std::memcpy(&d[24], kInside6, 16);
  for (size_t i = 48; i < length; ++i) {
    d[i] = static_cast<uint8_t>(i * 7);
  }
  return d;
}

// The RFC 8200 §8.1 pseudo-header plus the message, the textbook way.
unsigned icmpv6_sum(const Bytes& p) {
  const size_t msg_length = p.size() - 40;
  return slow_sum(&p[40], msg_length, slow_sum(&p[8], 32) + msg_length + 58);
}

TEST(PacketTooBig, Rfc4443Section32FieldsAndParseBack) {
  const Bytes offending = backend_datagram6(1400);
  Bytes out(kMaxIcmpv6ErrorLength);
  const size_t n = write_packet_too_big(out, offending, inside6(), 1300);
  // RFC 4443 §2.4(c): "as much of invoking packet as possible without
  // the ICMPv6 packet exceeding the minimum IPv6 MTU".
  ASSERT_EQ(n, 1280u);
  out.resize(n);
  EXPECT_EQ(out[0], 0x60);  // version 6, traffic class 0
  EXPECT_EQ(out[1] | out[2] | out[3], 0);
  EXPECT_EQ(get16(out, 4), 1280u - 40);
  EXPECT_EQ(out[6], 58);
  EXPECT_EQ(out[7], 64);  // hop limit: not neighbour discovery's 255
  EXPECT_EQ(std::memcmp(&out[8], kInside6, 16), 0);
  EXPECT_EQ(std::memcmp(&out[24], kBackend6, 16), 0);  // back to the sender
  // "Type 2, Code Set to 0 (zero) by the originator", "MTU: The Maximum
  // Transmission Unit of the next-hop link", 32 bits.
  EXPECT_EQ(out[40], 2);
  EXPECT_EQ(out[41], 0);
  EXPECT_EQ(get16(out, 44), 0u);
  EXPECT_EQ(get16(out, 46), 1300u);
  EXPECT_TRUE(std::equal(out.begin() + 48, out.end(), offending.begin()));

  Report r;
  ASSERT_EQ(parse_icmpv6(out, r), Result::path_mtu);
  EXPECT_TRUE(r.ipv6);
  EXPECT_EQ(r.mtu, 1300u);
  EXPECT_EQ(r.quoted_length, 1400u);
  EXPECT_EQ(std::memcmp(r.source.data(), kBackend6, 16), 0);
  EXPECT_EQ(std::memcmp(r.destination.data(), kInside6, 16), 0);
  EXPECT_EQ(r.source_port, 4433);
  EXPECT_EQ(r.destination_port, 40000);
  ASSERT_EQ(r.quoted_payload.size(), 1280u - 48 - 48);
  EXPECT_TRUE(std::equal(r.quoted_payload.begin(), r.quoted_payload.end(), offending.begin() + 48));
}

TEST(PacketTooBig, Rfc4443Section23ChecksumOverThePseudoHeader) {
  for (const size_t length : {48u, 49u, 101u, 1400u}) {  // odd lengths: the padded last byte
    const Bytes offending = backend_datagram6(length);
    Bytes out(kMaxIcmpv6ErrorLength);
    const size_t n = write_packet_too_big(out, offending, inside6(), 1280);
    ASSERT_EQ(n, std::min<size_t>(48 + length, 1280)) << length;
    out.resize(n);
    // The project's own checksum helpers and the textbook sum agree.
    const uint32_t msg_length = static_cast<uint32_t>(n - 40);
    EXPECT_EQ(packet::internet_checksum(&out[40], msg_length,
                                        packet::ipv6_pseudo_header_sum(out.data(), msg_length, 58)),
              0xffff)
        << length;
    EXPECT_EQ(icmpv6_sum(out), 0xffffu) << length;
  }
  // Every byte the checksum covers, pseudo-header addresses included.
  Bytes good(kMaxIcmpv6ErrorLength);
  good.resize(write_packet_too_big(good, backend_datagram6(200), inside6(), 1280));
  ASSERT_EQ(good.size(), 248u);
  for (size_t i = 8; i < good.size(); ++i) {
    Bytes bad = good;
    bad[i] ^= 0x01;
    Report r;
    EXPECT_EQ(parse_icmpv6(bad, r), Result::bad_checksum) << "byte " << i;
  }
}

TEST(PacketTooBig, QuoteIsCutToFit1280) {
  Bytes out(2000);
  // Quoted whole up to 1280 - 48 = 1232 bytes, cut beyond.
  EXPECT_EQ(write_packet_too_big(out, backend_datagram6(100), inside6(), 1280), 148u);
  EXPECT_EQ(write_packet_too_big(out, backend_datagram6(1232), inside6(), 1280), 1280u);
  EXPECT_EQ(write_packet_too_big(out, backend_datagram6(1233), inside6(), 1280), 1280u);
  EXPECT_EQ(write_packet_too_big(out, backend_datagram6(9000), inside6(), 1280), 1280u);
  // The quote says how long the packet was, beyond what it shows.
  const Bytes jumbo = backend_datagram6(9000);
  const size_t n = write_packet_too_big(out, jumbo, inside6(), 8000);
  Report r;
  ASSERT_EQ(parse_icmpv6({out.data(), n}, r), Result::path_mtu);
  EXPECT_EQ(r.quoted_length, 9000u);
  EXPECT_EQ(r.mtu, 8000u);
  EXPECT_EQ(icmpv6_sum(Bytes(out.begin(), out.begin() + static_cast<long>(n))), 0xffffu);
}

TEST(PacketTooBig, MtuFieldIs32Bits) {
  // RFC 4443 §3.2's MTU is 32 bits (RFC 2675 jumbograms): the high half
  // is written too. A quote claiming 40 + 65535 bytes lets it parse back.
  Bytes offending = backend_datagram6(1500);
  put16(offending, 4, 0xffff);
  Bytes out(kMaxIcmpv6ErrorLength);
  const size_t n = write_packet_too_big(out, offending, inside6(), 0x10002);
  ASSERT_EQ(n, 1280u);
  EXPECT_EQ(get16(out, 44), 0x0001u);
  EXPECT_EQ(get16(out, 46), 0x0002u);
  Report r;
  ASSERT_EQ(parse_icmpv6(out, r), Result::path_mtu);
  EXPECT_EQ(r.mtu, 0x10002u);
}

TEST(PacketTooBig, AsAFrameWithTheVlanTagKept) {
  // The caller frames it as worker_path_mtu.cc frames the IPv4 one: the
  // offending frame's source MAC becomes the destination, the gateway's
  // inside MAC the source, and the tag and EtherType are copied.
  const uint8_t backend_mac[6] = {0x02, 0, 0, 0, 0, 0x22};
  const uint8_t gateway_mac[6] = {0x02, 0, 0, 0, 0, 0x11};
  const Bytes datagram = backend_datagram6(1400);
  Bytes in(18);
  std::memcpy(&in[0], gateway_mac, 6);
  std::memcpy(&in[6], backend_mac, 6);
  put16(in, 12, 0x8100);
  put16(in, 14, 0x2000 | 42);  // PCP 1, VLAN 42
  put16(in, 16, 0x86dd);
  in.insert(in.end(), datagram.begin(), datagram.end());
  const size_t l2 = 18;

  Bytes out(l2 + kMaxIcmpv6ErrorLength);
  const size_t n = write_packet_too_big({out.data() + l2, kMaxIcmpv6ErrorLength},
                                        {in.data() + l2, in.size() - l2}, inside6(), 1300);
  ASSERT_EQ(n, 1280u);
  std::memcpy(&out[0], &in[6], 6);
  std::memcpy(&out[6], gateway_mac, 6);
  std::memcpy(&out[12], &in[12], l2 - 12);
  out.resize(l2 + n);

  packet::Frame f;
  ASSERT_EQ(packet::parse_frame(out, f), packet::FrameResult::icmp);
  EXPECT_EQ(std::memcmp(f.destination_mac.bytes, backend_mac, 6), 0);
  EXPECT_EQ(std::memcmp(f.source_mac.bytes, gateway_mac, 6), 0);
  EXPECT_TRUE(f.has_vlan);
  EXPECT_EQ(f.vlan_tci, 0x2000 | 42);
  EXPECT_EQ(f.ip_version, 6);
  EXPECT_EQ(f.l3_offset, l2);
  EXPECT_EQ(f.l4_offset, l2 + 40);
  EXPECT_EQ(f.l4_length, 1240u);
  EXPECT_EQ(std::memcmp(f.source_address.bytes, kInside6, 16), 0);
  EXPECT_EQ(std::memcmp(f.destination_address.bytes, kBackend6, 16), 0);
  Report r;
  ASSERT_EQ(parse_icmpv6({out.data() + f.l3_offset, out.size() - f.l3_offset}, r),
            Result::path_mtu);
  EXPECT_EQ(r.mtu, 1300u);
  EXPECT_EQ(std::memcmp(r.source.data(), kBackend6, 16), 0);
}

TEST(PacketTooBig, NothingWrittenWhenItCannotBe) {
  const Bytes offending = backend_datagram6(1400);
  // Too small a buffer, by one byte or by a lot.
  Bytes out(kMaxIcmpv6ErrorLength - 1);
  EXPECT_EQ(write_packet_too_big(out, offending, inside6(), 1280), 0u);
  Bytes small(147);
  EXPECT_EQ(write_packet_too_big(small, backend_datagram6(100), inside6(), 1280), 0u);
  small.resize(148);
  EXPECT_EQ(write_packet_too_big(small, backend_datagram6(100), inside6(), 1280), 148u);
  EXPECT_EQ(write_packet_too_big({}, offending, inside6(), 1280), 0u);
  // No UDP header to quote, or not IPv6.
  out.resize(kMaxIcmpv6ErrorLength);
  EXPECT_EQ(write_packet_too_big(out, {offending.data(), 47}, inside6(), 1280), 0u);
  EXPECT_EQ(write_packet_too_big(out, {offending.data(), 48}, inside6(), 1280), 96u);
  EXPECT_EQ(write_packet_too_big(out, our_datagram(1400), inside6(), 1280), 0u);
  // RFC 4443 §2.4(e.6): not to "a packet whose source address does not
  // uniquely identify a single node -- e.g., the IPv6 Unspecified
  // Address, an IPv6 multicast address".
  Bytes unspecified = offending;
  std::fill(unspecified.begin() + 8, unspecified.begin() + 24, 0);
  EXPECT_EQ(write_packet_too_big(out, unspecified, inside6(), 1280), 0u);
  Bytes multicast = offending;
  multicast[8] = 0xff;
  multicast[9] = 0x02;
  EXPECT_EQ(write_packet_too_big(out, multicast, inside6(), 1280), 0u);
}

}  // namespace
}  // namespace dtlsgw::dataplane::icmp
