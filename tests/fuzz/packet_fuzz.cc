// libFuzzer harness: the dataplane's frame parser (dataplane/packet.h) on
// arbitrary bytes, the first thing every frame from a port meets.
//
// Properties:
//  - it reads only inside the input (ASan: libFuzzer hands us a heap
//    buffer of exactly `size` bytes) and never writes to it;
//  - its verdict is the one a slow, independent reading of the rules
//    (Ethernet, one 802.1Q tag, RFC 791, RFC 1071, RFC 768, RFC 826)
//    gives, rule for rule in the same order;
//  - for `udp`, the offsets it reports stay inside the frame and every field
//    is the wire's; headers written back for those endpoints parse to the
//    same endpoints;
//  - for `arp`, every field is the wire's, and the reply written into a
//    64-byte buffer has the promised length and parses back as the reply.
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
  FUZZ_CHECK(l3 + kIpv4HeaderLength <= size);
  const size_t ihl = (data[l3] & 15u) * 4u;
  FUZZ_CHECK(f.payload_offset == l3 + ihl + kUdpHeaderLength);
  FUZZ_CHECK(size_t{f.payload_offset} + f.payload_length <= size);
  const uint8_t* udp = data + l3 + ihl;
  FUZZ_CHECK(f.payload_length + kUdpHeaderLength == be16(udp + 4));
  FUZZ_CHECK(f.source_port == be16(udp) && f.destination_port == be16(udp + 2));
  FUZZ_CHECK(same_ip(f.source, data + l3 + 12) && same_ip(f.destination, data + l3 + 16));

  // Headers written back for the same endpoints parse to the same ones,
  // and carry a checksum the slow sum accepts.
  UdpEndpoints e;
  e.source_mac = f.source_mac;
  e.destination_mac = f.destination_mac;
  e.has_vlan = f.has_vlan;
  e.vlan_tci = f.vlan_tci;
  e.source = f.source;
  e.destination = f.destination;
  e.source_port = f.source_port;
  e.destination_port = f.destination_port;
  std::vector<uint8_t> out(udp_headers_length(f.has_vlan) + f.payload_length);
  std::memcpy(out.data() + udp_headers_length(f.has_vlan), data + f.payload_offset,
              f.payload_length);
  write_udp_headers(out.data(), e, f.payload_length, 0x55aa);
  set_udp_checksum(out.data() + l3);
  FUZZ_CHECK(slow_sum(out.data() + l3, kIpv4HeaderLength) == 0xffff);
  Frame back;
  FUZZ_CHECK(parse_frame(out, back) == FrameResult::udp);
  FUZZ_CHECK(back.destination_mac == f.destination_mac && back.source_mac == f.source_mac);
  FUZZ_CHECK(back.has_vlan == f.has_vlan && back.vlan_tci == f.vlan_tci);
  FUZZ_CHECK(back.source == f.source && back.destination == f.destination);
  FUZZ_CHECK(back.source_port == f.source_port && back.destination_port == f.destination_port);
  FUZZ_CHECK(back.payload_offset == udp_headers_length(f.has_vlan));
  FUZZ_CHECK(back.payload_length == f.payload_length);
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
  }
}

}  // namespace
}  // namespace dtlsgw::dataplane::packet::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dtlsgw::dataplane::packet::fuzz::check_frame(data, size);
  return 0;
}
