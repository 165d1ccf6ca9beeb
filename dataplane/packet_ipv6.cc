// IPv6 framing (packet.h): the fixed header and the extension headers
// (RFC 8200 §4) walked to UDP or ICMPv6, UDP over IPv6 with its mandatory
// checksum, and ICMPv6 neighbour discovery (RFC 4861): solicitations and
// advertisements validated as §7.1 lists, and written as §7.2 asks. The
// helpers it shares with IPv4 are in packet_internal.h.
//
// As in packet.cc, every parse step checks the span before it loads.
#include <cstring>

#include "dataplane/packet.h"
#include "dataplane/packet_internal.h"
#include "dtls_record/wire.h"

namespace dtlsgw::dataplane::packet {

using namespace packet_internal;  // NOLINT: the packet files' own helpers

namespace {

// Next Header values (IANA "Assigned Internet Protocol Numbers").
constexpr uint8_t kNextHopByHop = 0;
constexpr uint8_t kNextRouting = 43;
constexpr uint8_t kNextFragment = 44;
constexpr uint8_t kNextIcmpv6 = 58;
constexpr uint8_t kNextDestinationOptions = 60;
constexpr size_t kFragmentHeaderLength = 8;  // RFC 8200 §4.5

// ICMPv6 neighbour discovery (RFC 4861 §4.3, §4.4, §4.6.1).
constexpr uint8_t kIcmpv6NeighborSolicitation = 135;
constexpr uint8_t kIcmpv6NeighborAdvertisement = 136;
constexpr uint8_t kNdHopLimit = 255;
constexpr size_t kNdMinimumLength = 24;  // type .. target address
constexpr uint8_t kOptionSourceLinkLayer = 1;
constexpr uint8_t kOptionTargetLinkLayer = 2;
constexpr uint8_t kNaRouter = 0x80;
constexpr uint8_t kNaSolicited = 0x40;
constexpr uint8_t kNaOverride = 0x20;
// ff02::1, all nodes (RFC 4291 §2.7.1).
constexpr Ipv6 kAllNodes = {{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};

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

}  // namespace

namespace packet_internal {

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
  // IPv4-mapped addresses never appear on an IPv6 wire (RFC 4291
  // §2.5.5.2, RFC 6052 §5.1's advice on such packets); the data path holds
  // IPv4 addresses mapped, so a forged one would pass for an IPv4 peer or
  // backend.
  if (out.source_address.is_v4() || out.destination_address.is_v4()) [[unlikely]] {
    return FrameResult::bad_ip_header;
  }
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

}  // namespace packet_internal

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
