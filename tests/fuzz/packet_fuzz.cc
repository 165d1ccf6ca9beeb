// libFuzzer harness: the dataplane's frame parser (dataplane/packet.h) on
// arbitrary bytes, the first thing every frame from a port meets.
//
// Properties:
//  - it reads only inside the input (ASan: libFuzzer hands us a heap
//    buffer of exactly `size` bytes) and never writes to it;
//  - its verdict is the one a slow, independent reading of the rules
//    (Ethernet, one 802.1Q tag, RFC 791, RFC 1071, RFC 768, RFC 826,
//    RFC 8200 §3, §4, §8.1, RFC 4861 §7.1) gives, rule for rule in the
//    same order;
//  - for `udp` (either family), the offsets it reports stay inside the
//    frame and every field is the wire's; headers written back for those
//    endpoints parse to the same endpoints;
//  - for `arp`, every field is the wire's, and the reply written into a
//    64-byte buffer has the promised length and parses back as the reply;
//  - for a neighbour solicitation, the advertisement written back parses
//    as one, for the same target, to the solicitor (or all-nodes);
//  - for `icmp` and `ip_fragment`, the offsets lie inside the frame.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "dataplane/packet.h"
#include "tests/fuzz/fuzz_keys.h"

namespace dtlsgw::dataplane::packet::fuzz {
namespace {

unsigned be16(const uint8_t* p) { return (unsigned{p[0]} << 8) | p[1]; }

// RFC 1071, the textbook way: 16-bit big-endian words, end-around carry.
unsigned slow_sum(const uint8_t* p, size_t n) {
  unsigned long s = 0;
  for (size_t i = 0; i < n; ++i) {
    s += (i % 2 == 0) ? unsigned{p[i]} << 8 : p[i];
  }
  while (s > 0xffff) {
    s = (s & 0xffff) + (s >> 16);
  }
  return static_cast<unsigned>(s);
}

// RFC 1071 sum of `n` bytes after `initial` (a previous unfolded sum).
unsigned long sum_words(const uint8_t* p, size_t n, unsigned long s = 0) {
  for (size_t i = 0; i < n; ++i) {
    s += (i % 2 == 0) ? unsigned{p[i]} << 8 : p[i];
  }
  return s;
}
unsigned fold(unsigned long s) {
  while (s > 0xffff) {
    s = (s & 0xffff) + (s >> 16);
  }
  return static_cast<unsigned>(s);
}
// RFC 8200 §8.1: the upper layer at q + at, `length` bytes, with the
// pseudo-header of the IPv6 packet q, sums to all ones.
bool upper_layer_sum_ok(const uint8_t* q, size_t at, size_t length, unsigned next) {
  unsigned long s = sum_words(q + 8, 32);
  s += (length >> 16) + (length & 0xffff) + next;
  return fold(sum_words(q + at, length, s)) == 0xffff;
}

// RFC 4861 §7.1.1 / §7.1.2 on the message at m, `n` bytes.
FrameResult expected_neighbor(const uint8_t* q, const uint8_t* m, size_t n, size_t at) {
  const FrameResult bad = FrameResult::bad_neighbor_discovery;
  if (q[7] != 255 || !upper_layer_sum_ok(q, at, n, 58) || m[1] != 0 || n < 24) {
    return bad;
  }
  if (m[8] == 0xff || q[8] == 0xff) {  // target or source multicast
    return bad;
  }
  bool source_option = false;
  for (size_t o = 24; o < n;) {
    if (n - o < 2 || m[o + 1] == 0 || m[o + 1] * 8u > n - o) {
      return bad;
    }
    source_option |= m[o] == 1;
    o += m[o + 1] * 8u;
  }
  bool unspecified = true;
  for (size_t i = 8; i < 24; ++i) {
    unspecified &= q[i] == 0;
  }
  if (m[0] == 135) {
    static const uint8_t kSolicitedNode[13] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
    if (unspecified && (std::memcmp(q + 24, kSolicitedNode, 13) != 0 || source_option)) {
      return bad;
    }
    return FrameResult::neighbor_solicitation;
  }
  if (q[24] == 0xff && (m[4] & 0x40) != 0) {
    return bad;
  }
  return FrameResult::neighbor_advertisement;
}

FrameResult expected_ipv6(const uint8_t* q, size_t left, size_t l3) {
  if (left < 40) {
    return FrameResult::truncated;
  }
  if (q[0] >> 4 != 6) {
    return FrameResult::bad_ip_header;
  }
  const size_t end = 40 + be16(q + 4);
  if (end > left) {
    return FrameResult::truncated;
  }
  if (l3 + end > 65535) {
    return FrameResult::bad_ip_header;
  }
  // ::ffff:0:0/96 as source or destination.
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(q + 8, kMapped, 12) == 0 || std::memcmp(q + 24, kMapped, 12) == 0) {
    return FrameResult::bad_ip_header;
  }
  unsigned next = q[6];
  size_t at = 40;
  for (int headers = 0;; ++headers) {
    if (next == 17) {
      if (end - at < 8) {
        return FrameResult::truncated;
      }
      const size_t length = be16(q + at + 4);
      if (length < 8 || length > end - at) {
        return FrameResult::bad_udp_length;
      }
      if (be16(q + at + 6) == 0 || !upper_layer_sum_ok(q, at, length, 17)) {
        return FrameResult::bad_udp_checksum;
      }
      return FrameResult::udp;
    }
    if (next == 58) {
      if (end - at < 4) {
        return FrameResult::truncated;
      }
      if (q[at] == 135 || q[at] == 136) {
        return expected_neighbor(q, q + at, end - at, at);
      }
      return FrameResult::icmp;
    }
    if (next != 0 && next != 43 && next != 60 && next != 44) {
      return FrameResult::not_udp;
    }
    if (headers == 8 || (next == 0 && at != 40)) {
      return FrameResult::bad_ip_header;
    }
    if (end - at < 8) {
      return FrameResult::truncated;
    }
    const uint8_t* h = q + at;
    if (next == 44) {
      const unsigned offset = be16(h + 2) >> 3;
      const bool more = (h[3] & 1) != 0;
      if (offset != 0 || more) {
        return FrameResult::ip_fragment;
      }
      next = h[0];
      at += 8;
      continue;
    }
    const size_t length = (h[1] + 1u) * 8u;
    if (length > end - at) {
      return FrameResult::truncated;
    }
    if (next == 43) {
      if (h[3] != 0) {
        return FrameResult::bad_ip_header;
      }
    } else {
      for (size_t o = 2; o < length;) {
        if (h[o] == 0) {
          ++o;
          continue;
        }
        if (o + 2 > length || o + 2 + h[o + 1] > length || (h[o] >> 6) != 0) {
          return FrameResult::bad_ip_header;
        }
        o += 2 + h[o + 1];
      }
    }
    next = h[0];
    at += length;
  }
}

FrameResult expected_result(const uint8_t* p, size_t size) {
  if (size < 14) {
    return FrameResult::truncated;
  }
  size_t l3 = 14;
  unsigned type = be16(p + 12);
  if (type == 0x8100) {
    if (size < 18) {
      return FrameResult::truncated;
    }
    type = be16(p + 16);
    l3 = 18;
  }
  const uint8_t* q = p + l3;
  const size_t left = size - l3;
  if (type == 0x0806) {
    if (left < 28) {
      return FrameResult::truncated;
    }
    const bool ethernet_ipv4 = be16(q) == 1 && be16(q + 2) == 0x0800 && q[4] == 6 && q[5] == 4;
    return ethernet_ipv4 ? FrameResult::arp : FrameResult::bad_arp;
  }
  if (type == 0x86dd) {
    return expected_ipv6(q, left, l3);
  }
  if (type != 0x0800) {
    return FrameResult::not_ipv4;
  }
  if (left < 20) {
    return FrameResult::truncated;
  }
  const size_t ihl = (q[0] & 15u) * 4u;
  if (q[0] >> 4 != 4 || ihl < 20) {
    return FrameResult::bad_ip_header;
  }
  if (ihl > left) {
    return FrameResult::truncated;
  }
  const size_t total = be16(q + 2);
  if (total < ihl) {
    return FrameResult::bad_ip_header;
  }
  if (total > left) {
    return FrameResult::truncated;
  }
  if (slow_sum(q, ihl) != 0xffff) {
    return FrameResult::bad_ip_header;
  }
  const bool more_fragments = (q[6] & 0x20) != 0;
  const unsigned offset = be16(q + 6) & 0x1fff;
  if (more_fragments || offset != 0) {
    return FrameResult::ip_fragment;
  }
  if (q[9] == 1) {
    return total - ihl < 4 ? FrameResult::truncated : FrameResult::icmp;
  }
  if (q[9] != 17) {
    return FrameResult::not_udp;
  }
  if (total - ihl < 8) {
    return FrameResult::truncated;
  }
  const size_t udp_length = be16(q + ihl + 4);
  if (udp_length < 8 || udp_length > total - ihl) {
    return FrameResult::bad_udp_length;
  }
  return FrameResult::udp;
}

bool same_ip(Ipv4 a, const uint8_t* wire) { return std::memcmp(&a.be, wire, 4) == 0; }
bool same_mac(const MacAddress& a, const uint8_t* wire) {
  return std::memcmp(a.bytes, wire, 6) == 0;
}

void check_udp(const uint8_t* data, size_t size, const Frame& f) {
  const size_t l3 = f.l3_offset;
  const size_t ip_header = f.l3_header_length;
  if (f.ip_version == 4) {
    FUZZ_CHECK(l3 + kIpv4HeaderLength <= size);
    FUZZ_CHECK(ip_header == (data[l3] & 15u) * 4u);
    FUZZ_CHECK(same_ip(f.source, data + l3 + 12) && same_ip(f.destination, data + l3 + 16));
    FUZZ_CHECK(f.source_address == IpAddress::from(f.source));
    FUZZ_CHECK(f.destination_address == IpAddress::from(f.destination));
  } else {
    FUZZ_CHECK(f.ip_version == 6);
    FUZZ_CHECK(ip_header >= kIpv6HeaderLength);
    FUZZ_CHECK(std::memcmp(f.source_address.bytes, data + l3 + 8, 16) == 0);
    FUZZ_CHECK(std::memcmp(f.destination_address.bytes, data + l3 + 24, 16) == 0);
    FUZZ_CHECK(f.source == Ipv4{} && f.destination == Ipv4{});
  }
  FUZZ_CHECK(f.l4_offset == l3 + ip_header);
  FUZZ_CHECK(f.payload_offset == l3 + ip_header + kUdpHeaderLength);
  FUZZ_CHECK(size_t{f.payload_offset} + f.payload_length <= size);
  const uint8_t* udp = data + l3 + ip_header;
  FUZZ_CHECK(f.payload_length + kUdpHeaderLength == be16(udp + 4));
  FUZZ_CHECK(f.l4_length == be16(udp + 4));
  FUZZ_CHECK(f.source_port == be16(udp) && f.destination_port == be16(udp + 2));

  // Headers written back for the same endpoints parse to the same ones,
  // and carry a checksum the slow sum accepts.
  UdpEndpoints e;
  e.source_mac = f.source_mac;
  e.destination_mac = f.destination_mac;
  e.has_vlan = f.has_vlan;
  e.vlan_tci = f.vlan_tci;
  e.set_addresses(f.source_address, f.destination_address);
  FUZZ_CHECK(e.ip_version == f.ip_version);
  e.source_port = f.source_port;
  e.destination_port = f.destination_port;
  const size_t headers = udp_headers_length(e);
  std::vector<uint8_t> out(headers + f.payload_length);
  std::memcpy(out.data() + headers, data + f.payload_offset, f.payload_length);
  write_udp_headers(out.data(), e, f.payload_length, 0x55aa);
  set_udp_checksum(out.data() + l3);
  if (f.ip_version == 4) {
    FUZZ_CHECK(slow_sum(out.data() + l3, kIpv4HeaderLength) == 0xffff);
  } else {
    FUZZ_CHECK(upper_layer_sum_ok(out.data() + l3, 40, kUdpHeaderLength + f.payload_length, 17));
  }
  Frame back;
  FUZZ_CHECK(parse_frame(out, back) == FrameResult::udp);
  FUZZ_CHECK(back.ip_version == f.ip_version);
  FUZZ_CHECK(back.destination_mac == f.destination_mac && back.source_mac == f.source_mac);
  FUZZ_CHECK(back.has_vlan == f.has_vlan && back.vlan_tci == f.vlan_tci);
  FUZZ_CHECK(back.source == f.source && back.destination == f.destination);
  FUZZ_CHECK(back.source_address == f.source_address);
  FUZZ_CHECK(back.destination_address == f.destination_address);
  FUZZ_CHECK(back.source_port == f.source_port && back.destination_port == f.destination_port);
  FUZZ_CHECK(back.payload_offset == headers);
  FUZZ_CHECK(back.payload_length == f.payload_length);
}

void check_neighbor(const uint8_t* data, size_t size, const Frame& f, FrameResult r) {
  FUZZ_CHECK(f.ip_version == 6);
  FUZZ_CHECK(size_t{f.l4_offset} + f.l4_length <= size && f.l4_length >= 24);
  const uint8_t* m = data + f.l4_offset;
  FUZZ_CHECK(std::memcmp(f.nd.target.bytes, m + 8, 16) == 0);
  FUZZ_CHECK(std::memcmp(f.nd.source.bytes, data + f.l3_offset + 8, 16) == 0);
  if (r != FrameResult::neighbor_solicitation) {
    FUZZ_CHECK(f.nd.solicited == ((m[4] & 0x40) != 0));
    return;
  }
  const MacAddress our_mac{{0x02, 0x00, 0x5e, 0x00, 0x53, 0x01}};
  // Exactly the promised length on the heap, so ASan sees a write past it.
  std::vector<uint8_t> na(neighbor_frame_length(f.has_vlan));
  FUZZ_CHECK(write_neighbor_advertisement(na, f, our_mac) == na.size());
  Frame back;
  FUZZ_CHECK(parse_frame(na, back) == FrameResult::neighbor_advertisement);
  FUZZ_CHECK(back.nd.target == f.nd.target && back.nd.link_layer_address == our_mac);
  FUZZ_CHECK(back.has_vlan == f.has_vlan && back.vlan_tci == f.vlan_tci);
  const bool dad = is_unspecified(f.nd.source);
  FUZZ_CHECK(back.nd.solicited == !dad && back.nd.override_flag);
  FUZZ_CHECK(back.source_address == IpAddress::from(f.nd.target));
  if (!dad) {
    FUZZ_CHECK(back.destination_address == IpAddress::from(f.nd.source));
    FUZZ_CHECK(back.destination_mac ==
               (f.nd.has_link_layer_address ? f.nd.link_layer_address : f.source_mac));
  }
  std::vector<uint8_t> small(na.size() - 1, 0xcc);
  FUZZ_CHECK(write_neighbor_advertisement(small, f, our_mac) == 0);
  FUZZ_CHECK(small == std::vector<uint8_t>(na.size() - 1, 0xcc));
}

void check_arp(const uint8_t* data, size_t size, const Frame& f) {
  const size_t l3 = f.l3_offset;
  FUZZ_CHECK(l3 + kArpPacketLength <= size);
  const uint8_t* a = data + l3;
  FUZZ_CHECK(f.arp.operation == be16(a + 6));
  FUZZ_CHECK(same_mac(f.arp.sender_mac, a + 8) && same_ip(f.arp.sender_ip, a + 14));
  FUZZ_CHECK(same_mac(f.arp.target_mac, a + 18) && same_ip(f.arp.target_ip, a + 24));

  const MacAddress our_mac{{0x02, 0x00, 0x5e, 0x00, 0x53, 0x01}};
  Ipv4 our_ip;
  std::memcpy(&our_ip.be, "\xc0\x00\x02\x01", 4);
  // Exactly 64 bytes on the heap, so ASan sees a write past the end.
  std::vector<uint8_t> reply(64);
  const size_t n = write_arp_reply(reply, f, our_mac, our_ip);
  FUZZ_CHECK(n == (f.has_vlan ? 46u : 42u));
  Frame back;
  FUZZ_CHECK(parse_frame(std::span<const uint8_t>(reply.data(), n), back) == FrameResult::arp);
  FUZZ_CHECK(back.destination_mac == f.arp.sender_mac && back.source_mac == our_mac);
  FUZZ_CHECK(back.has_vlan == f.has_vlan && back.vlan_tci == f.vlan_tci);
  FUZZ_CHECK(back.arp.operation == 2);
  FUZZ_CHECK(back.arp.sender_mac == our_mac && back.arp.sender_ip == our_ip);
  FUZZ_CHECK(back.arp.target_mac == f.arp.sender_mac && back.arp.target_ip == f.arp.sender_ip);
  // One byte short: refused, nothing written.
  std::vector<uint8_t> small(n - 1, 0xcc);
  FUZZ_CHECK(write_arp_reply(small, f, our_mac, our_ip) == 0);
  FUZZ_CHECK(small == std::vector<uint8_t>(n - 1, 0xcc));
}

void check_frame(const uint8_t* data, size_t size) {
  Frame f;
  const FrameResult r = parse_frame(std::span<const uint8_t>(data, size), f);
  FUZZ_CHECK(static_cast<size_t>(r) < kFrameResultCount);
  FUZZ_CHECK(to_string(r) != "invalid");
  FUZZ_CHECK(r == expected_result(data, size));
  // With the NIC's word for the UDP checksum, only an IPv6/UDP checksum
  // verdict can change (to udp, for a non-zero checksum); with its word
  // for the IPv4 header's, only a bad_ip_header one (which may have been
  // the checksum's).
  {
    Frame trusted;
    const FrameResult t = parse_frame(std::span<const uint8_t>(data, size), trusted,
                                      VerifiedChecksums{.ipv4_header = false, .udp = true});
    FUZZ_CHECK(t == r || (r == FrameResult::bad_udp_checksum && t == FrameResult::udp));
    const FrameResult h = parse_frame(std::span<const uint8_t>(data, size), trusted,
                                      VerifiedChecksums{.ipv4_header = true, .udp = false});
    FUZZ_CHECK(h == r || r == FrameResult::bad_ip_header);
  }
  if (size >= kEthernetHeaderLength) {
    FUZZ_CHECK(same_mac(f.destination_mac, data) && same_mac(f.source_mac, data + 6));
    const bool tagged = be16(data + 12) == kEtherTypeVlan;
    if (size >= kEthernetHeaderLength + kVlanTagLength || !tagged) {
      FUZZ_CHECK(f.has_vlan == tagged);
      FUZZ_CHECK(f.vlan_tci == (tagged ? be16(data + 14) : 0));
      FUZZ_CHECK(f.l3_offset == (tagged ? 18 : 14));
    }
  }
  if (r == FrameResult::udp) {
    check_udp(data, size, f);
  } else if (r == FrameResult::arp) {
    check_arp(data, size, f);
  } else if (r == FrameResult::neighbor_solicitation || r == FrameResult::neighbor_advertisement) {
    check_neighbor(data, size, f, r);
  } else if (r == FrameResult::icmp) {
    FUZZ_CHECK(f.ip_version == 4 || f.ip_version == 6);
    FUZZ_CHECK(size_t{f.l4_offset} + f.l4_length <= size && f.l4_length >= 4);
  } else if (r == FrameResult::ip_fragment) {
    FUZZ_CHECK(size_t{f.l3_offset} + f.l3_header_length <= size);
    FUZZ_CHECK(f.ip_version == 6 ? f.fragment_header_offset + 8u == f.l3_offset + f.l3_header_length
                                 : f.fragment_header_offset == 0);
  }
}

}  // namespace
}  // namespace dtlsgw::dataplane::packet::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dtlsgw::dataplane::packet::fuzz::check_frame(data, size);
  return 0;
}
