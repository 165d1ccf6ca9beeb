// Ethernet / 802.1Q / ARP / IPv4 / IPv6 / UDP / neighbour discovery
// framing (packet.h).
//
// Every parse step checks the span before it loads: the frame is trusted
// for nothing. The hot path (an untagged IPv4/UDP frame without options)
// is straight-line code: the only loop left in it is the header checksum's,
// and for a 20-byte header that is unrolled (sum_ipv4_header).
#include "dataplane/packet.h"

#include <bit>
#include <cassert>
#include <cstring>

#include "dtls_record/wire.h"

namespace dtlsgw::dataplane::packet {

using record::wire::load_u16;
using record::wire::store_u16;

namespace {

// The IPv4 header fields used here (RFC 791 §3.1), as offsets.
constexpr size_t kIpTotalLength = 2;
constexpr size_t kIpIdentification = 4;
constexpr size_t kIpFlagsFragment = 6;
constexpr size_t kIpTtl = 8;
constexpr size_t kIpProtocol = 9;
constexpr size_t kIpChecksum = 10;
constexpr size_t kIpSource = 12;
constexpr size_t kIpDestination = 16;
constexpr uint8_t kIpProtocolUdp = 17;
constexpr uint8_t kIpProtocolIcmp = 1;
constexpr uint16_t kIpDontFragment = 0x4000;
// MF and the 13-bit fragment offset: either one makes a fragment.
constexpr uint16_t kIpFragmentMask = 0x3fff;
constexpr uint8_t kDefaultTtl = 64;

// ARP for Ethernet/IPv4 (RFC 826): htype 1, ptype 0x0800, hlen 6, plen 4.
constexpr uint16_t kArpHardwareEthernet = 1;
constexpr uint16_t kArpRequest = 1;
constexpr uint16_t kArpReply = 2;

constexpr MacAddress kBroadcastMac = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

// The IPv6 fixed header (RFC 8200 §3), as offsets.
constexpr size_t kIp6PayloadLength = 4;
constexpr size_t kIp6NextHeader = 6;
constexpr size_t kIp6HopLimit = 7;
constexpr size_t kIp6Source = 8;
constexpr size_t kIp6Destination = 24;
// Next Header values (IANA "Assigned Internet Protocol Numbers").
constexpr uint8_t kNextHopByHop = 0;
constexpr uint8_t kNextRouting = 43;
constexpr uint8_t kNextFragment = 44;
constexpr uint8_t kNextIcmpv6 = 58;
constexpr uint8_t kNextDestinationOptions = 60;
constexpr size_t kFragmentHeaderLength = 8;  // RFC 8200 §4.5
constexpr uint8_t kDefaultHopLimit = 64;

// ICMPv6 neighbour discovery (RFC 4861 §4.3, §4.4, §4.6.1).
constexpr uint8_t kIcmpv6NeighborSolicitation = 135;
constexpr uint8_t kIcmpv6NeighborAdvertisement = 136;
constexpr uint8_t kNdHopLimit = 255;
constexpr size_t kNdMinimumLength = 24;  // type .. target address
constexpr size_t kIcmpHeaderLength = 4;  // type, code, checksum
constexpr uint8_t kOptionSourceLinkLayer = 1;
constexpr uint8_t kOptionTargetLinkLayer = 2;
constexpr uint8_t kNaRouter = 0x80;
constexpr uint8_t kNaSolicited = 0x40;
constexpr uint8_t kNaOverride = 0x20;
// ff02::1, all nodes (RFC 4291 §2.7.1).
constexpr Ipv6 kAllNodes = {{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};

// Native-order loads. The one's-complement sum is independent of byte order
// (RFC 1071 §2(B)): sum native words, swap the folded result once.
inline uint64_t load_native_u64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline uint32_t load_native_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline uint16_t load_native_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Adds with end-around carry (RFC 1071 §2(A)), 64 bits at a time.
inline uint64_t add_carry(uint64_t sum, uint64_t word) {
  sum += word;
  return sum + (sum < word ? 1 : 0);
}

// Folds a native-order 64-bit one's-complement sum to 16 bits, in network
// (big-endian) significance, as a host-order number.
inline uint16_t fold_native(uint64_t sum) {
  sum = (sum & 0xffffffff) + (sum >> 32);  // ≤ 33 bits
  sum = (sum & 0xffffffff) + (sum >> 32);  // ≤ 32 bits
  sum = (sum & 0xffff) + (sum >> 16);      // ≤ 17 bits
  sum = (sum & 0xffff) + (sum >> 16);      // 16 bits
  auto folded = static_cast<uint16_t>(sum);
  if constexpr (std::endian::native == std::endian::little) {
    folded = static_cast<uint16_t>((folded >> 8) | (folded << 8));
  }
  return folded;
}

inline uint16_t add_folded(uint16_t sum, uint32_t initial) {
  uint64_t s = uint64_t{sum} + initial;
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

// The sum of an option-less IPv4 header: two 8-byte and one 4-byte word,
// no loop (the per-packet case).
inline uint16_t sum_ipv4_header(const uint8_t* ip) {
  uint64_t s = load_native_u64(ip);
  s = add_carry(s, load_native_u64(ip + 8));
  s = add_carry(s, load_native_u32(ip + 16));
  return fold_native(s);
}

inline void copy_mac(uint8_t* to, const MacAddress& mac) {
  std::memcpy(to, mac.bytes, sizeof mac.bytes);
}
inline void load_mac(MacAddress& mac, const uint8_t* from) {
  std::memcpy(mac.bytes, from, sizeof mac.bytes);
}
inline Ipv4 load_ipv4(const uint8_t* from) {
  Ipv4 a;
  std::memcpy(&a.be, from, sizeof a.be);
  return a;
}
inline void store_ipv4(uint8_t* to, Ipv4 a) { std::memcpy(to, &a.be, sizeof a.be); }

// Ethernet header (+ one 802.1Q tag); returns where L3 starts.
inline size_t write_ethernet(uint8_t* out, const MacAddress& destination, const MacAddress& source,
                             bool has_vlan, uint16_t vlan_tci, uint16_t ether_type) {
  copy_mac(out, destination);
  copy_mac(out + 6, source);
  size_t at = 12;
  if (has_vlan) {
    store_u16(out + at, kEtherTypeVlan);
    store_u16(out + at + 2, vlan_tci);
    at += kVlanTagLength;
  }
  store_u16(out + at, ether_type);
  return at + 2;
}

// The IPv6 fixed header (RFC 8200 §3): version 6, traffic class and flow
// label 0.
inline void write_ipv6_header(uint8_t* ip, uint16_t payload_length, uint8_t next_header,
                              uint8_t hop_limit, const uint8_t* source,
                              const uint8_t* destination) {
  store_u16(ip, 0x6000);
  store_u16(ip + 2, 0);
  store_u16(ip + kIp6PayloadLength, payload_length);
  ip[kIp6NextHeader] = next_header;
  ip[kIp6HopLimit] = hop_limit;
  std::memcpy(ip + kIp6Source, source, 16);
  std::memcpy(ip + kIp6Destination, destination, 16);
}

// An IPv6 packet holding a neighbour solicitation or advertisement with
// one link-layer address option (RFC 4861 §4.3, §4.4, §4.6.1), hop limit
// 255, kIpv6HeaderLength + kNeighborMessageLength bytes at `ip`.
void write_neighbor_message(uint8_t* ip, uint8_t type, uint8_t flags, const Ipv6& source,
                            const Ipv6& destination, const Ipv6& target, uint8_t option,
                            const MacAddress& mac) {
  write_ipv6_header(ip, kNeighborMessageLength, kNextIcmpv6, kNdHopLimit, source.bytes,
                    destination.bytes);
  uint8_t* icmp = ip + kIpv6HeaderLength;
  icmp[0] = type;
  icmp[1] = 0;  // code
  store_u16(icmp + 2, 0);
  icmp[4] = flags;  // NA flags; reserved (0) in an NS
  icmp[5] = icmp[6] = icmp[7] = 0;
  std::memcpy(icmp + 8, target.bytes, sizeof target.bytes);
  icmp[24] = option;
  icmp[25] = 1;  // in units of 8 bytes
  copy_mac(icmp + 26, mac);
  // RFC 4443 §2.3: the ICMPv6 checksum covers the IPv6 pseudo-header.
  const uint16_t pseudo = ipv6_pseudo_header_sum(ip, kNeighborMessageLength, kNextIcmpv6);
  store_u16(icmp + 2,
            static_cast<uint16_t>(~internet_checksum(icmp, kNeighborMessageLength, pseudo)));
}

// An Ethernet/IPv4 ARP packet (RFC 826), 28 bytes at `out`.
inline void write_arp(uint8_t* out, uint16_t operation, const MacAddress& sender_mac,
                      Ipv4 sender_ip, const MacAddress& target_mac, Ipv4 target_ip) {
  store_u16(out, kArpHardwareEthernet);
  store_u16(out + 2, kEtherTypeIpv4);
  out[4] = sizeof(MacAddress::bytes);
  out[5] = sizeof(Ipv4::be);
  store_u16(out + 6, operation);
  copy_mac(out + 8, sender_mac);
  store_ipv4(out + 14, sender_ip);
  copy_mac(out + 18, target_mac);
  store_ipv4(out + 24, target_ip);
}

FrameResult parse_ipv4_udp(const uint8_t* frame, size_t l3, size_t available, Frame& out) {
  const uint8_t* ip = frame + l3;
  if (available < kIpv4HeaderLength) [[unlikely]] {
    return FrameResult::truncated;
  }
  const uint8_t version_ihl = ip[0];
  if ((version_ihl >> 4) != 4) [[unlikely]] {
    return FrameResult::bad_ip_header;
  }
  const size_t header_length = size_t{version_ihl & 0x0fu} * 4;
  if (header_length < kIpv4HeaderLength) [[unlikely]] {
    return FrameResult::bad_ip_header;
  }
  if (header_length > available) [[unlikely]] {
    return FrameResult::truncated;
  }
  const size_t total_length = load_u16(ip + kIpTotalLength);
  if (total_length < header_length) [[unlikely]] {
    return FrameResult::bad_ip_header;
  }
  // Bytes after total_length are Ethernet padding (a 60-byte minimum
  // frame); fewer bytes than it announces is a cut packet.
  if (total_length > available) [[unlikely]] {
    return FrameResult::truncated;
  }
  // RFC 1071: a header whose checksum is right sums to all ones.
  const uint16_t header_sum = header_length == kIpv4HeaderLength
                                  ? sum_ipv4_header(ip)
                                  : internet_checksum(ip, header_length);
  if (header_sum != 0xffff) [[unlikely]] {
    return FrameResult::bad_ip_header;
  }
  if ((load_u16(ip + kIpFlagsFragment) & kIpFragmentMask) != 0) [[unlikely]] {
    out.ip_version = 4;
    out.l3_header_length = static_cast<uint16_t>(header_length);
    out.source = load_ipv4(ip + kIpSource);
    out.destination = load_ipv4(ip + kIpDestination);
    out.source_address = IpAddress::from(out.source);
    out.destination_address = IpAddress::from(out.destination);
    return FrameResult::ip_fragment;
  }
  out.ip_version = 4;
  out.l3_header_length = static_cast<uint16_t>(header_length);
  out.source = load_ipv4(ip + kIpSource);
  out.destination = load_ipv4(ip + kIpDestination);
  out.source_address = IpAddress::from(out.source);
  out.destination_address = IpAddress::from(out.destination);
  const size_t ip_payload = total_length - header_length;
  out.l4_offset = static_cast<uint16_t>(l3 + header_length);
  if (ip[kIpProtocol] != kIpProtocolUdp) [[unlikely]] {
    // ICMP goes to its own parser (errors about our flows, RFC 1191).
    if (ip[kIpProtocol] == kIpProtocolIcmp) {
      if (ip_payload < kIcmpHeaderLength) {
        return FrameResult::truncated;
      }
      out.l4_length = static_cast<uint16_t>(ip_payload);
      return FrameResult::icmp;
    }
    return FrameResult::not_udp;
  }
  // RFC 768: the UDP length covers header and data, and the datagram lies
  // within the IP packet (whose options, if any, come before it).
  if (ip_payload < kUdpHeaderLength) [[unlikely]] {
    return FrameResult::truncated;
  }
  const uint8_t* udp = ip + header_length;
  const size_t udp_length = load_u16(udp + 4);
  if (udp_length < kUdpHeaderLength || udp_length > ip_payload) [[unlikely]] {
    return FrameResult::bad_udp_length;
  }
  out.l4_length = static_cast<uint16_t>(udp_length);
  out.source_port = load_u16(udp);
  out.destination_port = load_u16(udp + 2);
  // At most 18 + 60 + 8: fits.
  out.payload_offset = static_cast<uint16_t>(l3 + header_length + kUdpHeaderLength);
  out.payload_length = static_cast<uint16_t>(udp_length - kUdpHeaderLength);
  return FrameResult::udp;
}

inline Ipv6 load_ipv6(const uint8_t* from) {
  Ipv6 a;
  std::memcpy(a.bytes, from, sizeof a.bytes);
  return a;
}

// RFC 8200 §4.2: the options of a Hop-by-Hop or Destination Options header
// `h` of `length` bytes (its two-byte start included) let the packet be
// processed. None is acted on here: Pad1, PadN and every option whose
// type's two high bits are 00 are skipped ("skip over this option and
// continue processing the header"); any other type says discard, which
// is what an unrecognised one asks for (01, 10, 11) and what an
// unsupported one needs (Jumbo Payload, 0xc2). A malformed option list
// (an option running past the header) is discarded too.
bool ipv6_options_allow(const uint8_t* h, size_t length) {
  constexpr uint8_t kPad1 = 0;
  constexpr uint8_t kActionMask = 0xc0;
  size_t at = 2;
  while (at < length) {
    const uint8_t type = h[at];
    if (type == kPad1) {
      ++at;
      continue;
    }
    if (length - at < 2 || length - at - 2 < h[at + 1]) {
      return false;
    }
    if ((type & kActionMask) != 0) {
      return false;
    }
    at += 2 + size_t{h[at + 1]};
  }
  return true;
}

// UDP over IPv6 at ip[at .. end): RFC 768 lengths, RFC 8200 §8.1 checksum.
FrameResult parse_udp6(const uint8_t* ip, size_t at, size_t end, bool checksum_good, Frame& out) {
  if (end - at < kUdpHeaderLength) [[unlikely]] {
    return FrameResult::truncated;
  }
  const uint8_t* udp = ip + at;
  const size_t udp_length = load_u16(udp + 4);
  // A 0 length means a jumbogram (RFC 2675 §4), which is not supported.
  if (udp_length < kUdpHeaderLength || udp_length > end - at) [[unlikely]] {
    return FrameResult::bad_udp_length;
  }
  // RFC 8200 §8.1: "IPv6 receivers must discard UDP packets containing a
  // zero checksum". A right one sums, with the pseudo-header, to all ones
  // (the pseudo-header's destination is the final one: a Routing header
  // with segments left was refused).
  if (load_u16(udp + 6) == 0 ||
      (!checksum_good &&
       internet_checksum(udp, udp_length,
                         ipv6_pseudo_header_sum(ip, static_cast<uint32_t>(udp_length),
                                                kIpProtocolUdp)) != 0xffff)) [[unlikely]] {
    return FrameResult::bad_udp_checksum;
  }
  out.l4_length = static_cast<uint16_t>(udp_length);
  out.source_port = load_u16(udp);
  out.destination_port = load_u16(udp + 2);
  out.payload_offset = static_cast<uint16_t>(out.l4_offset + kUdpHeaderLength);
  out.payload_length = static_cast<uint16_t>(udp_length - kUdpHeaderLength);
  return FrameResult::udp;
}

// Whether `a` is a solicited-node multicast address, ff02::1:ff00:0/104
// (RFC 4291 §2.7.1).
bool is_solicited_node_multicast(const Ipv6& a) {
  static constexpr uint8_t kPrefix[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
  return std::memcmp(a.bytes, kPrefix, sizeof kPrefix) == 0;
}

// A neighbour solicitation or advertisement `icmp` of `length` bytes in
// the IPv6 packet `ip`, validated as RFC 4861 §7.1.1 / §7.1.2 list it.
FrameResult parse_neighbor_message(const uint8_t* ip, const uint8_t* icmp, size_t length,
                                   Frame& out) {
  constexpr FrameResult kBad = FrameResult::bad_neighbor_discovery;
  const bool solicitation = icmp[0] == kIcmpv6NeighborSolicitation;
  // "The IP Hop Limit field has a value of 255, i.e., the packet could
  // not possibly have been forwarded by a router."
  if (ip[kIp6HopLimit] != kNdHopLimit) {
    return kBad;
  }
  // "ICMP Checksum is valid." (RFC 4443 §2.3: the pseudo-header with
  // next header 58 and the ICMPv6 length.)
  if (internet_checksum(icmp, length,
                        ipv6_pseudo_header_sum(ip, static_cast<uint32_t>(length), kNextIcmpv6)) !=
      0xffff) {
    return kBad;
  }
  // "ICMP Code is 0." "ICMP length (derived from the IP length) is 24 or
  // more octets."
  if (icmp[1] != 0 || length < kNdMinimumLength) {
    return kBad;
  }
  NeighborMessage& nd = out.nd;
  nd = NeighborMessage{};
  nd.target = load_ipv6(icmp + 8);
  nd.source = load_ipv6(ip + kIp6Source);
  const Ipv6 destination = load_ipv6(ip + kIp6Destination);
  // "Target Address is not a multicast address." Nor is a source ever
  // one (RFC 4291 §2.7), and an answer would go to it.
  if (is_multicast(nd.target) || is_multicast(nd.source)) {
    return kBad;
  }
  // "All included options have a length that is greater than zero." The
  // link-layer address option this message may carry (RFC 4861 §4.6.1)
  // is the first of its type with Ethernet's length (RFC 2464 §8);
  // others are ignored ("Receivers MUST silently ignore any options they
  // do not recognize", §4.3).
  const uint8_t wanted = solicitation ? kOptionSourceLinkLayer : kOptionTargetLinkLayer;
  bool source_link_layer = false;
  for (size_t at = kNdMinimumLength; at < length;) {
    if (length - at < 2) {
      return kBad;
    }
    const size_t option_length = size_t{icmp[at + 1]} * 8;
    if (option_length == 0 || option_length > length - at) {
      return kBad;
    }
    if (icmp[at] == kOptionSourceLinkLayer) {
      source_link_layer = true;
    }
    if (icmp[at] == wanted && option_length == 8 && !nd.has_link_layer_address) {
      nd.has_link_layer_address = true;
      load_mac(nd.link_layer_address, icmp + at + 2);
    }
    at += option_length;
  }
  if (solicitation) {
    // "If the IP source address is the unspecified address, the IP
    // destination address is a solicited-node multicast address" and
    // "there is no source link-layer address option in the message."
    if (is_unspecified(nd.source) &&
        (!is_solicited_node_multicast(destination) || source_link_layer)) {
      return kBad;
    }
    return FrameResult::neighbor_solicitation;
  }
  nd.router = (icmp[4] & kNaRouter) != 0;
  nd.solicited = (icmp[4] & kNaSolicited) != 0;
  nd.override_flag = (icmp[4] & kNaOverride) != 0;
  // "If the IP Destination Address is a multicast address the Solicited
  // flag is zero."
  if (is_multicast(destination) && nd.solicited) {
    return kBad;
  }
  return FrameResult::neighbor_advertisement;
}

// An IPv6 packet at frame + l3 with `available` bytes after l3: the fixed
// header, the extension headers (RFC 8200 §4) to the upper layer, then UDP,
// ICMPv6 or neither.
FrameResult parse_ipv6(const uint8_t* frame, size_t l3, size_t available, bool udp_checksum_good,
                       Frame& out) {
  const uint8_t* ip = frame + l3;
  if (available < kIpv6HeaderLength) [[unlikely]] {
    return FrameResult::truncated;
  }
  if ((ip[0] >> 4) != 6) [[unlikely]] {
    return FrameResult::bad_ip_header;
  }
  // Bytes after the payload length are Ethernet padding, as for IPv4.
  const size_t end = kIpv6HeaderLength + load_u16(ip + kIp6PayloadLength);
  if (end > available) [[unlikely]] {
    return FrameResult::truncated;
  }
  // Frame's offsets are 16-bit, as is an mbuf's data length: a packet
  // ending past 65535 bytes into the frame cannot have come from one.
  if (l3 + end > 0xffff) [[unlikely]] {
    return FrameResult::bad_ip_header;
  }
  out.ip_version = 6;
  out.source_address = IpAddress::from(load_ipv6(ip + kIp6Source));
  out.destination_address = IpAddress::from(load_ipv6(ip + kIp6Destination));
  out.source = Ipv4{};
  out.destination = Ipv4{};
  uint8_t next = ip[kIp6NextHeader];
  size_t at = kIpv6HeaderLength;
  for (size_t headers = 0;; ++headers) {
    const uint8_t* h = ip + at;
    switch (next) {
      case kIpProtocolUdp:
        out.l3_header_length = static_cast<uint16_t>(at);
        out.l4_offset = static_cast<uint16_t>(l3 + at);
        return parse_udp6(ip, at, end, udp_checksum_good, out);
      case kNextIcmpv6: {
        out.l3_header_length = static_cast<uint16_t>(at);
        out.l4_offset = static_cast<uint16_t>(l3 + at);
        if (end - at < kIcmpHeaderLength) {
          return FrameResult::truncated;
        }
        out.l4_length = static_cast<uint16_t>(end - at);
        if (h[0] == kIcmpv6NeighborSolicitation || h[0] == kIcmpv6NeighborAdvertisement) {
          return parse_neighbor_message(ip, h, end - at, out);
        }
        // Everything else (errors such as Packet Too Big, echo, router
        // and multicast listener messages) is another parser's.
        return FrameResult::icmp;
      }
      case kNextHopByHop:
      case kNextRouting:
      case kNextDestinationOptions: {
        // RFC 8200 §4.3: Hop-by-Hop "is restricted to appear immediately
        // after an IPv6 header"; elsewhere it is a parameter problem.
        if (headers == kMaxIpv6ExtensionHeaders ||
            (next == kNextHopByHop && at != kIpv6HeaderLength)) {
          return FrameResult::bad_ip_header;
        }
        // Next Header, Hdr Ext Len in 8-octet units not counting the
        // first 8: each is at least 8 bytes (§4.3, §4.4, §4.6).
        if (end - at < 8) {
          return FrameResult::truncated;
        }
        const size_t length = (size_t{h[1]} + 1) * 8;
        if (length > end - at) {
          return FrameResult::truncated;
        }
        if (next == kNextRouting) {
          // §4.4: with Segments Left 0 the header is ignored; otherwise
          // the packet is on its way to another node, and dtlsgw is no
          // router.
          if (h[3] != 0) {
            return FrameResult::bad_ip_header;
          }
        } else if (!ipv6_options_allow(h, length)) {
          return FrameResult::bad_ip_header;
        }
        next = h[0];
        at += length;
        break;
      }
      case kNextFragment: {
        if (headers == kMaxIpv6ExtensionHeaders) {
          return FrameResult::bad_ip_header;
        }
        if (end - at < kFragmentHeaderLength) {
          return FrameResult::truncated;
        }
        // §4.5: Fragment Offset (13 bits), 2 reserved bits, M. Offset 0
        // without M is an atomic fragment, processed "in isolation from
        // any other packets/fragments" (RFC 6946 §4): walk on.
        constexpr uint16_t kOffsetAndMore = 0xfff9;
        if ((load_u16(h + 2) & kOffsetAndMore) != 0) {
          out.l3_header_length = static_cast<uint16_t>(at + kFragmentHeaderLength);
          out.fragment_header_offset = static_cast<uint16_t>(l3 + at);
          return FrameResult::ip_fragment;
        }
        next = h[0];
        at += kFragmentHeaderLength;
        break;
      }
      default:
        // TCP, ESP, AH, No Next Header (59), ...: not ours to carry.
        out.l3_header_length = static_cast<uint16_t>(at);
        return FrameResult::not_udp;
    }
  }
}

FrameResult parse_arp(const uint8_t* arp, size_t available, Frame& out) {
  if (available < kArpPacketLength) [[unlikely]] {
    return FrameResult::truncated;
  }
  if (load_u16(arp) != kArpHardwareEthernet || load_u16(arp + 2) != kEtherTypeIpv4 ||
      arp[4] != sizeof(MacAddress::bytes) || arp[5] != sizeof(Ipv4::be)) [[unlikely]] {
    return FrameResult::bad_arp;
  }
  out.arp.operation = load_u16(arp + 6);
  load_mac(out.arp.sender_mac, arp + 8);
  out.arp.sender_ip = load_ipv4(arp + 14);
  load_mac(out.arp.target_mac, arp + 18);
  out.arp.target_ip = load_ipv4(arp + 24);
  return FrameResult::arp;
}

}  // namespace

std::string_view to_string(FrameResult r) {
  switch (r) {
    case FrameResult::udp:
      return "udp";
    case FrameResult::arp:
      return "arp";
    case FrameResult::not_ipv4:
      return "not_ipv4";
    case FrameResult::truncated:
      return "truncated";
    case FrameResult::bad_ip_header:
      return "bad_ip_header";
    case FrameResult::ip_fragment:
      return "ip_fragment";
    case FrameResult::not_udp:
      return "not_udp";
    case FrameResult::bad_udp_length:
      return "bad_udp_length";
    case FrameResult::bad_arp:
      return "bad_arp";
    case FrameResult::bad_udp_checksum:
      return "bad_udp_checksum";
    case FrameResult::icmp:
      return "icmp";
    case FrameResult::neighbor_solicitation:
      return "neighbor_solicitation";
    case FrameResult::neighbor_advertisement:
      return "neighbor_advertisement";
    case FrameResult::bad_neighbor_discovery:
      return "bad_neighbor_discovery";
  }
  return "invalid";
}

FrameResult parse_frame(std::span<const uint8_t> frame, Frame& out) {
  return parse_frame(frame, out, false);
}

FrameResult parse_frame(std::span<const uint8_t> frame, Frame& out, bool udp_checksum_good) {
  const uint8_t* p = frame.data();
  const size_t size = frame.size();
  if (size < kEthernetHeaderLength) [[unlikely]] {
    return FrameResult::truncated;
  }
  load_mac(out.destination_mac, p);
  load_mac(out.source_mac, p + 6);
  uint16_t ether_type = load_u16(p + 12);
  size_t l3 = kEthernetHeaderLength;
  out.has_vlan = false;
  out.vlan_tci = 0;
  // One 802.1Q tag (IEEE 802.1Q §9.6). A second one (QinQ) leaves 0x8100
  // as the inner EtherType: not_ipv4.
  if (ether_type == kEtherTypeVlan) {
    if (size < kEthernetHeaderLength + kVlanTagLength) [[unlikely]] {
      return FrameResult::truncated;
    }
    out.has_vlan = true;
    out.vlan_tci = load_u16(p + 14);
    ether_type = load_u16(p + 16);
    l3 += kVlanTagLength;
  }
  out.l3_offset = static_cast<uint16_t>(l3);
  out.ip_version = 0;
  out.fragment_header_offset = 0;
  if (ether_type == kEtherTypeIpv4) [[likely]] {
    return parse_ipv4_udp(p, l3, size - l3, out);
  }
  if (ether_type == kEtherTypeIpv6) {
    return parse_ipv6(p, l3, size - l3, udp_checksum_good, out);
  }
  if (ether_type == kEtherTypeArp) {
    return parse_arp(p + l3, size - l3, out);
  }
  return FrameResult::not_ipv4;
}

void write_udp_headers(uint8_t* out, const UdpEndpoints& e, size_t payload_length, uint16_t ip_id) {
  if (e.ip_version == 6) {
    assert(payload_length <= kMaxUdp6Payload);
    uint8_t* ip = out + write_ethernet(out, e.destination_mac, e.source_mac, e.has_vlan, e.vlan_tci,
                                       kEtherTypeIpv6);
    const auto udp_length = static_cast<uint16_t>(kUdpHeaderLength + payload_length);
    write_ipv6_header(ip, udp_length, kIpProtocolUdp, kDefaultHopLimit, e.source_address.bytes,
                      e.destination_address.bytes);
    uint8_t* udp = ip + kIpv6HeaderLength;
    store_u16(udp, e.source_port);
    store_u16(udp + 2, e.destination_port);
    store_u16(udp + 4, udp_length);
    store_u16(udp + 6, ipv6_pseudo_header_sum(ip, udp_length, kIpProtocolUdp));
    return;
  }
  assert(payload_length <= kMaxUdpPayload);
  uint8_t* ip = out + write_ethernet(out, e.destination_mac, e.source_mac, e.has_vlan, e.vlan_tci,
                                     kEtherTypeIpv4);
  const auto udp_length = static_cast<uint16_t>(kUdpHeaderLength + payload_length);
  ip[0] = 0x45;  // version 4, IHL 5
  ip[1] = 0;     // DSCP / ECN
  store_u16(ip + kIpTotalLength, static_cast<uint16_t>(kIpv4HeaderLength + udp_length));
  store_u16(ip + kIpIdentification, ip_id);
  store_u16(ip + kIpFlagsFragment, kIpDontFragment);
  ip[kIpTtl] = kDefaultTtl;
  ip[kIpProtocol] = kIpProtocolUdp;
  store_u16(ip + kIpChecksum, 0);
  store_ipv4(ip + kIpSource, e.source);
  store_ipv4(ip + kIpDestination, e.destination);
  store_u16(ip + kIpChecksum, static_cast<uint16_t>(~sum_ipv4_header(ip)));
  uint8_t* udp = ip + kIpv4HeaderLength;
  store_u16(udp, e.source_port);
  store_u16(udp + 2, e.destination_port);
  store_u16(udp + 4, udp_length);
  store_u16(udp + 6, 0);
}

void set_udp_checksum(uint8_t* ip_header) {
  if ((ip_header[0] >> 4) == 6) {
    uint8_t* udp = ip_header + kIpv6HeaderLength;
    const uint16_t udp_length = load_u16(udp + 4);
    const uint16_t pseudo = ipv6_pseudo_header_sum(ip_header, udp_length, kIpProtocolUdp);
    store_u16(udp + 6, 0);
    auto checksum = static_cast<uint16_t>(~internet_checksum(udp, udp_length, pseudo));
    // RFC 8200 §8.1: "if that computation yields a result of zero, it
    // must be changed to hex FFFF for placement in the UDP header".
    store_u16(udp + 6, checksum == 0 ? 0xffff : checksum);
    return;
  }
  uint8_t* ipv4_header = ip_header;
  const size_t header_length = size_t{ipv4_header[0] & 0x0fu} * 4;
  uint8_t* udp = ipv4_header + header_length;
  const uint16_t udp_length = load_u16(udp + 4);
  // RFC 768 pseudo-header: source, destination, zero, protocol, UDP length.
  const uint16_t pseudo =
      internet_checksum(ipv4_header + kIpSource, 8, uint32_t{kIpProtocolUdp} + udp_length);
  store_u16(udp + 6, 0);
  auto checksum = static_cast<uint16_t>(~internet_checksum(udp, udp_length, pseudo));
  // RFC 768: "If the computed checksum is zero, it is transmitted as all
  // ones"; zero on the wire means no checksum.
  if (checksum == 0) {
    checksum = 0xffff;
  }
  store_u16(udp + 6, checksum);
}

uint16_t ipv6_pseudo_header_sum(const uint8_t* ipv6_header, uint32_t upper_layer_length,
                                uint8_t next_header) {
  // Source and destination (32 bytes), the 32-bit length, three zero
  // bytes and the next header (RFC 8200 §8.1).
  return internet_checksum(
      ipv6_header + kIp6Source, 32,
      (upper_layer_length >> 16) + (upper_layer_length & 0xffff) + next_header);
}

uint16_t internet_checksum(const uint8_t* data, size_t length, uint32_t initial) {
  // 32-bit words into two 64-bit accumulators: no carry to propagate (a
  // 64-bit sum of 32-bit words cannot overflow below 16 GiB) and two
  // independent add chains; measured faster than a 64-bit add-with-carry
  // chain on both gcc and clang at -O2.
  uint64_t s0 = 0;
  uint64_t s1 = 0;
  while (length >= 16) {
    s0 += load_native_u32(data);
    s1 += load_native_u32(data + 4);
    s0 += load_native_u32(data + 8);
    s1 += load_native_u32(data + 12);
    data += 16;
    length -= 16;
  }
  if (length >= 8) {
    s0 += load_native_u32(data);
    s1 += load_native_u32(data + 4);
    data += 8;
    length -= 8;
  }
  if (length >= 4) {
    s0 += load_native_u32(data);
    data += 4;
    length -= 4;
  }
  if (length >= 2) {
    s1 += load_native_u16(data);
    data += 2;
    length -= 2;
  }
  if (length == 1) {
    // The last odd byte is the high half of a zero-padded big-endian word
    // (RFC 1071 §4.1); in a native word that is where a byte at an even
    // offset sits.
    const uint8_t last[2] = {data[0], 0};
    s0 += load_native_u16(last);
  }
  return add_folded(fold_native(add_carry(s0, s1)), initial);
}

size_t write_arp_reply(std::span<uint8_t> out, const Frame& request, MacAddress our_mac,
                       Ipv4 our_ip) {
  const size_t length =
      kEthernetHeaderLength + (request.has_vlan ? kVlanTagLength : 0) + kArpPacketLength;
  if (out.size() < length) [[unlikely]] {
    return 0;
  }
  // RFC 826 ("Packet Reception"): swap sender and target, put our
  // addresses in the sender fields, set the opcode to reply, and send it to
  // the new target hardware address.
  const ArpPacket& a = request.arp;
  uint8_t* p = out.data();
  const size_t l3 =
      write_ethernet(p, a.sender_mac, our_mac, request.has_vlan, request.vlan_tci, kEtherTypeArp);
  write_arp(p + l3, kArpReply, our_mac, our_ip, a.sender_mac, a.sender_ip);
  return length;
}

size_t write_arp_request(std::span<uint8_t> out, MacAddress our_mac, Ipv4 our_ip, Ipv4 target,
                         bool has_vlan, uint16_t vlan_tci) {
  const size_t length = kEthernetHeaderLength + (has_vlan ? kVlanTagLength : 0) + kArpPacketLength;
  if (out.size() < length) [[unlikely]] {
    return 0;
  }
  // RFC 826: the target hardware address of a request is unknown (zero).
  uint8_t* p = out.data();
  const size_t l3 = write_ethernet(p, kBroadcastMac, our_mac, has_vlan, vlan_tci, kEtherTypeArp);
  write_arp(p + l3, kArpRequest, our_mac, our_ip, MacAddress{}, target);
  return length;
}

size_t write_neighbor_advertisement(std::span<uint8_t> out, const Frame& solicitation,
                                    MacAddress our_mac) {
  const size_t length = neighbor_frame_length(solicitation.has_vlan);
  if (out.size() < length) [[unlikely]] {
    return 0;
  }
  // RFC 4861 §7.2.4: "If the source of the solicitation is the
  // unspecified address, the node MUST set the Solicited flag to zero and
  // multicast the advertisement to the all-nodes address. Otherwise, the
  // node MUST set the Solicited flag to one and unicast the advertisement
  // to the Source Address of the solicitation." Override: "SHOULD be set
  // to one" (not an anycast or proxied target). The Target Link-Layer
  // Address option "MUST be included" when answering a multicast
  // solicitation, and is always included here.
  const NeighborMessage& ns = solicitation.nd;
  const bool from_unspecified = is_unspecified(ns.source);
  const Ipv6& to = from_unspecified ? kAllNodes : ns.source;
  const MacAddress to_mac = from_unspecified            ? multicast_mac(kAllNodes)
                            : ns.has_link_layer_address ? ns.link_layer_address
                                                        : solicitation.source_mac;
  const uint8_t flags = from_unspecified ? kNaOverride : (kNaSolicited | kNaOverride);
  uint8_t* p = out.data();
  const size_t l3 = write_ethernet(p, to_mac, our_mac, solicitation.has_vlan, solicitation.vlan_tci,
                                   kEtherTypeIpv6);
  write_neighbor_message(p + l3, kIcmpv6NeighborAdvertisement, flags, ns.target, to, ns.target,
                         kOptionTargetLinkLayer, our_mac);
  return length;
}

size_t write_neighbor_solicitation(std::span<uint8_t> out, MacAddress our_mac, const Ipv6& our_ip,
                                   const Ipv6& target, bool has_vlan, uint16_t vlan_tci) {
  const size_t length = neighbor_frame_length(has_vlan);
  if (out.size() < length) [[unlikely]] {
    return 0;
  }
  // RFC 4861 §7.2.2: multicast to the target's solicited-node address,
  // with our link-layer address in a Source Link-Layer Address option.
  const Ipv6 to = solicited_node_multicast(target);
  uint8_t* p = out.data();
  const size_t l3 =
      write_ethernet(p, multicast_mac(to), our_mac, has_vlan, vlan_tci, kEtherTypeIpv6);
  write_neighbor_message(p + l3, kIcmpv6NeighborSolicitation, 0, our_ip, to, target,
                         kOptionSourceLinkLayer, our_mac);
  return length;
}

}  // namespace dtlsgw::dataplane::packet
