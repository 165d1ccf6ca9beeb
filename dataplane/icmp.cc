// ICMP path MTU reports (icmp.h). Not on the per-packet path of DTLS
// traffic: plain loops, every length checked before the load it guards.
#include "dataplane/icmp.h"

#include <algorithm>
#include <cstring>

namespace dtlsgw::dataplane::icmp {

namespace {

constexpr size_t kIpv4HeaderLength = 20;
constexpr size_t kIpv6HeaderLength = 40;
constexpr size_t kIpv6FragmentHeaderLength = 8;
constexpr size_t kUdpHeaderLength = 8;
constexpr size_t kIcmpHeaderLength = 8;
constexpr uint8_t kIpProtocolUdp = 17;
constexpr uint8_t kIpv6NextHeaderFragment = 44;
// RFC 792: Destination Unreachable, code 4 "fragmentation needed and DF set".
constexpr uint8_t kIcmpDestinationUnreachable = 3;
constexpr uint8_t kIcmpFragmentationNeeded = 4;
// RFC 4443 §3.2: Packet Too Big (its code is 0 and ignored by the receiver).
constexpr uint8_t kIcmpv6PacketTooBig = 2;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void put16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// RFC 1071 one's-complement sum of 16-bit big-endian words, not folded.
uint64_t sum_words(const uint8_t* p, size_t n, uint64_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) {
    sum += be16(p + i);
  }
  if (n % 2 != 0) {
    sum += uint32_t{p[n - 1]} << 8;  // padded with a zero byte
  }
  return sum;
}
uint16_t fold(uint64_t sum) {
  while (sum > 0xffff) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(sum);
}

}  // namespace

std::string_view to_string(Result r) {
  switch (r) {
    case Result::path_mtu:
      return "path_mtu";
    case Result::not_icmp:
      return "not_icmp";
    case Result::truncated:
      return "truncated";
    case Result::bad_ip_header:
      return "bad_ip_header";
    case Result::bad_checksum:
      return "bad_checksum";
    case Result::other_message:
      return "other_message";
    case Result::bad_quote:
      return "bad_quote";
    case Result::below_minimum:
      return "below_minimum";
    case Result::not_below_quote:
      return "not_below_quote";
  }
  return "invalid";
}

uint32_t plateau_below(uint32_t length) {
  // RFC 1191 §7, table 7-1, the plateaus (largest first).
  static constexpr uint32_t kPlateaus[] = {65535, 32000, 17914, 8166, 4352, 2002,
                                           1492,  1006,  508,   296,  68};
  for (const uint32_t p : kPlateaus) {
    if (p < length) {
      return p;
    }
  }
  return kIpv4MinimumMtu;
}

Result parse_icmpv4(std::span<const uint8_t> packet, Report& out) {
  const uint8_t* ip = packet.data();
  if (packet.size() < kIpv4HeaderLength) {
    return Result::truncated;
  }
  const size_t header_length = size_t{ip[0] & 0x0fu} * 4;
  if ((ip[0] >> 4) != 4 || header_length < kIpv4HeaderLength) {
    return Result::bad_ip_header;
  }
  if (header_length > packet.size()) {
    return Result::truncated;
  }
  const size_t total_length = be16(ip + 2);
  if (total_length < header_length) {
    return Result::bad_ip_header;
  }
  if (total_length > packet.size()) {
    return Result::truncated;
  }
  if (ip[9] != kIpProtocolIcmp) {
    return Result::not_icmp;
  }
  // A fragment of an ICMP message: not the whole message (and routers
  // keep their error messages within 576 bytes, RFC 1812 §4.3.2.3).
  if ((be16(ip + 6) & 0x3fff) != 0) {
    return Result::truncated;
  }
  const uint8_t* msg = ip + header_length;
  const size_t msg_length = total_length - header_length;
  if (msg_length < kIcmpHeaderLength) {
    return Result::truncated;
  }
  // RFC 792: the checksum covers the whole ICMP message.
  if (fold(sum_words(msg, msg_length)) != 0xffff) {
    return Result::bad_checksum;
  }
  if (msg[0] != kIcmpDestinationUnreachable || msg[1] != kIcmpFragmentationNeeded) {
    return Result::other_message;
  }
  // RFC 1191 §4: the low-order 16 bits of the unused field are the
  // next-hop MTU.
  uint32_t mtu = be16(msg + 6);

  // RFC 792: the quote is the internet header plus at least the first 64
  // bits of the datagram's data: our UDP header.
  const uint8_t* q = msg + kIcmpHeaderLength;
  const size_t q_size = msg_length - kIcmpHeaderLength;
  if (q_size < kIpv4HeaderLength) {
    return Result::bad_quote;
  }
  const size_t q_header = size_t{q[0] & 0x0fu} * 4;
  if ((q[0] >> 4) != 4 || q_header < kIpv4HeaderLength || q_header + kUdpHeaderLength > q_size ||
      q[9] != kIpProtocolUdp) {
    return Result::bad_quote;
  }
  // Only a first fragment (offset 0) starts with the UDP header; ours are
  // never fragmented anyway (DF).
  if ((be16(q + 6) & 0x1fff) != 0) {
    return Result::bad_quote;
  }
  const uint32_t q_total = be16(q + 2);
  if (q_total < q_header + kUdpHeaderLength) {
    return Result::bad_quote;
  }
  out.ipv6 = false;
  out.source = {};
  out.destination = {};
  std::memcpy(out.source.data(), q + 12, 4);
  std::memcpy(out.destination.data(), q + 16, 4);
  out.source_port = be16(q + q_header);
  out.destination_port = be16(q + q_header + 2);
  out.quoted_length = q_total;
  const size_t payload_start = q_header + kUdpHeaderLength;
  const size_t payload_end = std::min<size_t>(q_size, q_total);
  out.quoted_payload = {q + payload_start, payload_end - payload_start};
  if (mtu == 0) {
    // RFC 1191 §5: a router that predates the MTU field; guess the
    // plateau below the datagram that did not fit.
    mtu = plateau_below(q_total);
  }
  // RFC 1191 §3: never below 68 (a smaller report is a lie or a broken
  // router; 68 is what every IPv4 path carries).
  mtu = std::max(mtu, kIpv4MinimumMtu);
  if (mtu >= q_total) {
    // The datagram that "did not fit" was no larger than the MTU: bogus.
    return Result::not_below_quote;
  }
  out.mtu = mtu;
  return Result::path_mtu;
}

Result parse_icmpv6(std::span<const uint8_t> packet, Report& out) {
  const uint8_t* ip = packet.data();
  if (packet.size() < kIpv6HeaderLength) {
    return Result::truncated;
  }
  if ((ip[0] >> 4) != 6) {
    return Result::bad_ip_header;
  }
  const size_t payload_length = be16(ip + 4);
  if (kIpv6HeaderLength + payload_length > packet.size()) {
    return Result::truncated;
  }
  // Routers send Packet Too Big without extension headers; anything else
  // is not worth a header walk here.
  if (ip[6] != kIpProtocolIcmpv6) {
    return Result::not_icmp;
  }
  const uint8_t* msg = ip + kIpv6HeaderLength;
  const size_t msg_length = payload_length;
  if (msg_length < kIcmpHeaderLength) {
    return Result::truncated;
  }
  // RFC 4443 §2.3, RFC 8200 §8.1: the checksum covers a pseudo-header
  // (source, destination, upper-layer length, next header 58) and the
  // whole ICMPv6 message.
  uint64_t sum = sum_words(ip + 8, 32);
  sum += static_cast<uint32_t>(msg_length) >> 16;
  sum += static_cast<uint32_t>(msg_length) & 0xffff;
  sum += kIpProtocolIcmpv6;
  if (fold(sum_words(msg, msg_length, sum)) != 0xffff) {
    return Result::bad_checksum;
  }
  if (msg[0] != kIcmpv6PacketTooBig) {
    return Result::other_message;
  }
  const uint32_t mtu = be32(msg + 4);

  // RFC 4443 §3.2: "as much of invoking packet as possible without the
  // ICMPv6 packet exceeding the minimum IPv6 MTU".
  const uint8_t* q = msg + kIcmpHeaderLength;
  const size_t q_size = msg_length - kIcmpHeaderLength;
  if (q_size < kIpv6HeaderLength || (q[0] >> 4) != 6) {
    return Result::bad_quote;
  }
  uint8_t next = q[6];
  size_t at = kIpv6HeaderLength;
  if (next == kIpv6NextHeaderFragment) {
    // RFC 8200 §4.5: only the first fragment (offset 0) holds the UDP
    // header.
    if (at + kIpv6FragmentHeaderLength > q_size || (be16(q + at + 2) & 0xfff8) != 0) {
      return Result::bad_quote;
    }
    next = q[at];
    at += kIpv6FragmentHeaderLength;
  }
  if (next != kIpProtocolUdp || at + kUdpHeaderLength > q_size) {
    return Result::bad_quote;
  }
  const uint32_t q_total = static_cast<uint32_t>(kIpv6HeaderLength + be16(q + 4));
  if (q_total < at + kUdpHeaderLength) {
    return Result::bad_quote;
  }
  out.ipv6 = true;
  std::memcpy(out.source.data(), q + 8, 16);
  std::memcpy(out.destination.data(), q + 24, 16);
  out.source_port = be16(q + at);
  out.destination_port = be16(q + at + 2);
  out.quoted_length = q_total;
  const size_t payload_start = at + kUdpHeaderLength;
  const size_t payload_end = std::max(payload_start, std::min<size_t>(q_size, q_total));
  out.quoted_payload = {q + payload_start, payload_end - payload_start};
  // RFC 8201 §4: a report below the IPv6 minimum link MTU is discarded
  // (RFC 1981's "include a fragment header" answer was withdrawn).
  if (mtu < kIpv6MinimumMtu) {
    return Result::below_minimum;
  }
  if (mtu >= q_total) {
    return Result::not_below_quote;
  }
  out.mtu = mtu;
  return Result::path_mtu;
}

size_t write_fragmentation_needed(std::span<uint8_t> out, std::span<const uint8_t> offending,
                                  uint32_t source, uint16_t mtu, uint16_t ip_id) {
  if (offending.size() < kIpv4HeaderLength) {
    return 0;
  }
  const size_t offending_header = size_t{offending[0] & 0x0fu} * 4;
  if (offending_header < kIpv4HeaderLength ||
      offending.size() < offending_header + kUdpHeaderLength) {
    return 0;
  }
  const size_t quote =
      std::min(offending.size(), kMaxIcmpv4ErrorLength - kIpv4HeaderLength - kIcmpHeaderLength);
  const size_t length = kIpv4HeaderLength + kIcmpHeaderLength + quote;
  if (out.size() < length) {
    return 0;
  }
  uint8_t* ip = out.data();
  ip[0] = 0x45;
  ip[1] = 0xc0;  // precedence "internetwork control" (RFC 1812 §4.3.2.5)
  put16(ip + 2, static_cast<uint32_t>(length));
  put16(ip + 4, ip_id);
  put16(ip + 6, 0);
  ip[8] = 64;
  ip[9] = kIpProtocolIcmp;
  put16(ip + 10, 0);
  std::memcpy(ip + 12, &source, 4);
  std::memcpy(ip + 16, offending.data() + 12, 4);  // back to the sender
  put16(ip + 10, static_cast<uint16_t>(~fold(sum_words(ip, kIpv4HeaderLength))));
  uint8_t* msg = ip + kIpv4HeaderLength;
  msg[0] = kIcmpDestinationUnreachable;
  msg[1] = kIcmpFragmentationNeeded;
  put16(msg + 2, 0);
  put16(msg + 4, 0);
  put16(msg + 6, mtu);
  std::memcpy(msg + kIcmpHeaderLength, offending.data(), quote);
  put16(msg + 2, static_cast<uint16_t>(~fold(sum_words(msg, kIcmpHeaderLength + quote))));
  return length;
}

size_t write_packet_too_big(std::span<uint8_t> out, std::span<const uint8_t> offending,
                            const Ipv6& source, uint32_t mtu) {
  // The fixed header and 8 bytes after it: the UDP header the backend's
  // stack needs to find its socket.
  if (offending.size() < kIpv6HeaderLength + kUdpHeaderLength || (offending[0] >> 4) != 6) {
    return 0;
  }
  const uint8_t* to = offending.data() + 8;  // the offending packet's source
  // RFC 4443 §2.4(e.6): no error message to a source that does not name
  // a single node: the unspecified address, or a multicast one (ff00::/8).
  if (to[0] == 0xff || std::all_of(to, to + 16, [](uint8_t b) { return b == 0; })) {
    return 0;
  }
  const size_t quote =
      std::min(offending.size(), kMaxIcmpv6ErrorLength - kIpv6HeaderLength - kIcmpHeaderLength);
  const size_t msg_length = kIcmpHeaderLength + quote;
  const size_t length = kIpv6HeaderLength + msg_length;
  if (out.size() < length) {
    return 0;
  }
  uint8_t* ip = out.data();
  // RFC 8200 §3: version 6, traffic class and flow label 0.
  ip[0] = 0x60;
  ip[1] = ip[2] = ip[3] = 0;
  put16(ip + 4, static_cast<uint32_t>(msg_length));
  ip[6] = kIpProtocolIcmpv6;
  // Not neighbour discovery, so no 255 (RFC 4861 §6.1.2 and §7.1 ask it
  // only of ND): 64, as write_fragmentation_needed's TTL.
  ip[7] = 64;
  std::memcpy(ip + 8, source.bytes, 16);
  std::memcpy(ip + 24, to, 16);  // back to the sender
  uint8_t* msg = ip + kIpv6HeaderLength;
  msg[0] = kIcmpv6PacketTooBig;
  msg[1] = 0;  // RFC 4443 §3.2: "Set to 0 (zero) by the originator"
  put16(msg + 2, 0);
  put16(msg + 4, mtu >> 16);
  put16(msg + 6, mtu & 0xffff);
  std::memcpy(msg + kIcmpHeaderLength, offending.data(), quote);
  // RFC 4443 §2.3: the checksum covers the RFC 8200 §8.1 pseudo-header
  // (source, destination, upper-layer length, next header 58) and the
  // message.
  uint64_t sum = sum_words(ip + 8, 32);
  sum += static_cast<uint32_t>(msg_length) >> 16;
  sum += static_cast<uint32_t>(msg_length) & 0xffff;
  sum += kIpProtocolIcmpv6;
  put16(msg + 2, static_cast<uint16_t>(~fold(sum_words(msg, msg_length, sum))));
  return length;
}

}  // namespace dtlsgw::dataplane::icmp
