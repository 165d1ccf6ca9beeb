// Ethernet / 802.1Q / ARP / IPv4 / IPv6 / UDP / ICMPv6 neighbour discovery
// framing for the dataplane, on plain byte spans (no DPDK), so it is
// unit-tested and fuzzed without EAL.
//
// Parsing never reads past the span and never trusts a length field it has
// not checked against it. Frames may carry Ethernet padding after the IP
// packet (60-byte minimum frame): lengths come from the IP and UDP headers.
// UDP checksums over IPv4 are not verified here (policy, DESIGN.md data
// path): a corrupted DTLS record fails its AEAD tag and is counted there,
// and the inside network is the gateway's own. Over IPv6 the checksum is
// mandatory (RFC 8200 §8.1: "IPv6 receivers must discard UDP packets
// containing a zero checksum"), and it is verified, as is every neighbour
// discovery message's (RFC 4861 §7.1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dataplane/net_types.h"

namespace dtlsgw::dataplane::packet {

inline constexpr size_t kEthernetHeaderLength = 14;
inline constexpr size_t kVlanTagLength = 4;
inline constexpr size_t kIpv4HeaderLength = 20;  // without options
inline constexpr size_t kIpv6HeaderLength = 40;  // the fixed header (RFC 8200 §3)
inline constexpr size_t kUdpHeaderLength = 8;
inline constexpr size_t kArpPacketLength = 28;  // Ethernet/IPv4 ARP
inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
// A neighbour solicitation or advertisement with one link-layer address
// option, as written here: 24 + 8 bytes of ICMPv6 (RFC 4861 §4.3, §4.4).
inline constexpr size_t kNeighborMessageLength = 32;
// Extension headers walked before giving up on a packet (RFC 8200 §4.1
// lists at most six kinds, Destination Options twice).
inline constexpr size_t kMaxIpv6ExtensionHeaders = 8;

enum class FrameResult : uint8_t {
  udp,             // IPv4 or IPv6 UDP: Frame's IP and UDP fields are filled
  arp,             // Ethernet/IPv4 ARP: Frame::arp is filled
  not_ipv4,        // another EtherType: neither IPv4, IPv6 nor ARP
  truncated,       // shorter than its headers or their length fields
  bad_ip_header,   // version, IHL, lengths, IPv4 header checksum, an
                   // IPv6 extension header that says discard (RFC 8200 §4),
                   // or an IPv4-mapped IPv6 source or destination
  ip_fragment,     // IPv4 MF or offset, or an IPv6 Fragment header that is
                   // not atomic: l3_header_length / fragment_header_offset
  not_udp,         // another IP protocol (or No Next Header)
  bad_udp_length,  // UDP length below 8 or beyond the IP packet
  bad_arp,         // not Ethernet/IPv4 ARP (htype 1, ptype 0x0800, 6/4)
  // Added with IPv6 (issue 6).
  bad_udp_checksum,        // IPv6/UDP checksum zero or wrong (RFC 8200 §8.1)
  icmp,                    // ICMP (IPv4) or ICMPv6 other than NS/NA: l4_*
  neighbor_solicitation,   // a valid NS (RFC 4861 §7.1.1): Frame::nd
  neighbor_advertisement,  // a valid NA (RFC 4861 §7.1.2): Frame::nd
  bad_neighbor_discovery,  // an NS or NA failing RFC 4861 §7.1 validation
};
inline constexpr size_t kFrameResultCount = 14;
std::string_view to_string(FrameResult r);

struct ArpPacket {
  uint16_t operation = 0;  // 1 request, 2 reply (host order)
  MacAddress sender_mac;
  Ipv4 sender_ip;
  MacAddress target_mac;
  Ipv4 target_ip;
};

// An ICMPv6 neighbour solicitation or advertisement (RFC 4861 §4.3, §4.4).
struct NeighborMessage {
  Ipv6 target;  // the address being resolved (NS) or announced (NA)
  Ipv6 source;  // the IPv6 source; :: for duplicate address detection
  // The link-layer address option: Source (type 1) in an NS, Target
  // (type 2) in an NA (RFC 4861 §4.6.1), when present with Ethernet's
  // length 1 (RFC 2464 §8).
  bool has_link_layer_address = false;
  MacAddress link_layer_address;
  // NA flags (RFC 4861 §4.4); false in an NS.
  bool router = false;
  bool solicited = false;
  bool override_flag = false;
};

struct Frame {
  MacAddress destination_mac;
  MacAddress source_mac;
  bool has_vlan = false;
  uint16_t vlan_tci = 0;   // host order; 0 without a tag
  uint16_t l3_offset = 0;  // where the IP header (or ARP packet) starts
  // IP (udp, icmp, ip_fragment, neighbor_*): 4 or 6; 0 otherwise.
  uint8_t ip_version = 0;
  // The IP header's length: IPv4 IHL * 4; IPv6 40 plus the extension
  // headers walked, through the Fragment header for ip_fragment (what
  // DPDK's rte_ipv6_frag_reassemble_packet wants as mbuf l3_len).
  uint16_t l3_header_length = 0;
  // ip_fragment over IPv6: where the Fragment header starts (from the
  // frame's start); 0 otherwise. DPDK 22.11's reassembly assumes it
  // directly follows the fixed header (l3_offset + 40).
  uint16_t fragment_header_offset = 0;
  // Both families (udp, icmp, ip_fragment, neighbor_*); IPv4 mapped.
  IpAddress source_address;
  IpAddress destination_address;
  // IPv4 only (udp); zero for IPv6, which never equals a configured
  // IPv4 address.
  Ipv4 source;
  Ipv4 destination;
  // The transport header and its data (udp: the UDP length; icmp and
  // neighbor_*: the rest of the IP packet), from the frame's start.
  uint16_t l4_offset = 0;
  uint16_t l4_length = 0;
  // UDP (udp)
  uint16_t source_port = 0;       // host order
  uint16_t destination_port = 0;  // host order
  uint16_t payload_offset = 0;    // the UDP payload, from the frame's start
  uint16_t payload_length = 0;
  // ARP (FrameResult::arp)
  ArpPacket arp;
  // Neighbour discovery (neighbor_solicitation, neighbor_advertisement)
  NeighborMessage nd;
};

// The checksums of a frame that the device has verified as good (DPDK's
// rx checksum offload: RTE_MBUF_F_RX_IP_CKSUM_GOOD, _L4_CKSUM_GOOD), which
// parse_frame then does not sum again: the IPv4 header's, and an IPv6/UDP
// datagram's (the pass over the payload is most of an IPv6 parse; a zero
// one is still refused). IPv4/UDP checksums are never summed on input
// (the AEAD, or the backend's datagram as sent, is what counts), and
// neighbour discovery checksums are always verified.
struct VerifiedChecksums {
  bool ipv4_header = false;
  bool udp = false;
};

FrameResult parse_frame(std::span<const uint8_t> frame, Frame& out);
FrameResult parse_frame(std::span<const uint8_t> frame, Frame& out, VerifiedChecksums verified);

// Whether a datagram parse_frame found (FrameResult::udp, `frame` its
// bytes) carries a UDP checksum. Over IPv4 a zero one means the sender
// computed none (RFC 768), whatever a device says of it: one that sums it
// anyway (DPDK's tap PMD has done so) must not get it dropped. IPv6 always
// carries one (RFC 8200 §8.1).
inline bool udp_checksum_sent(const uint8_t* frame, const Frame& f) {
  const uint8_t* checksum = frame + f.l4_offset + 6;  // RFC 768: after ports and length
  return f.ip_version != 4 || (checksum[0] | checksum[1]) != 0;
}

// The addresses of one UDP datagram to send. IPv4 (ip_version 4, the
// default) uses `source` / `destination`; IPv6 uses `source_address` /
// `destination_address`. set_addresses fills whichever the pair needs.
struct UdpEndpoints {
  MacAddress source_mac;
  MacAddress destination_mac;
  bool has_vlan = false;
  uint16_t vlan_tci = 0;
  Ipv4 source;
  Ipv4 destination;
  uint16_t source_port = 0;       // host order
  uint16_t destination_port = 0;  // host order
  uint8_t ip_version = 4;
  IpAddress source_address;
  IpAddress destination_address;

  // IPv4 if both are (mapped) IPv4, else IPv6.
  void set_addresses(const IpAddress& from, const IpAddress& to) {
    source_address = from;
    destination_address = to;
    ip_version = from.is_v4() && to.is_v4() ? 4 : 6;
    source = ip_version == 4 ? from.v4() : Ipv4{};
    destination = ip_version == 4 ? to.v4() : Ipv4{};
  }
};

constexpr size_t udp_headers_length(bool has_vlan) {
  return kEthernetHeaderLength + (has_vlan ? kVlanTagLength : 0) + kIpv4HeaderLength +
         kUdpHeaderLength;
}
constexpr size_t udp_headers_length(bool has_vlan, uint8_t ip_version) {
  return kEthernetHeaderLength + (has_vlan ? kVlanTagLength : 0) +
         (ip_version == 6 ? kIpv6HeaderLength : kIpv4HeaderLength) + kUdpHeaderLength;
}
constexpr size_t udp_headers_length(const UdpEndpoints& e) {
  return udp_headers_length(e.has_vlan, e.ip_version);
}
// The largest UDP payload an IPv4 packet can carry.
inline constexpr size_t kMaxUdpPayload = 65535 - kIpv4HeaderLength - kUdpHeaderLength;
// The largest an IPv6 packet without a jumbo option can carry: its
// payload length (RFC 8200 §3) does not count the fixed header.
inline constexpr size_t kMaxUdp6Payload = 65535 - kUdpHeaderLength;

// Writes Ethernet (+ 802.1Q) / IP / UDP headers into
// out[0 .. udp_headers_length(e)), for a payload of `payload_length` bytes
// that follows them.
// IPv4: no options, DF set, TTL 64, header checksum computed; the UDP
// checksum is left 0 ("no checksum", RFC 768 over IPv4): call
// set_udp_checksum, or let the NIC fill it. `ip_id` is the identification.
// IPv6: traffic class and flow label 0, hop limit 64, `ip_id` unused; the
// UDP checksum field holds the pseudo-header sum (RFC 8200 §8.1, not
// complemented), which is what a NIC's UDP checksum offload expects
// (DPDK's rte_ipv6_phdr_cksum): call set_udp_checksum once the payload is
// in place, or let the NIC finish it. Never send it as it is: a receiver
// discards an IPv6/UDP packet with a wrong checksum.
// `payload_length` must be at most kMaxUdpPayload (IPv4) or
// kMaxUdp6Payload (IPv6).
void write_udp_headers(uint8_t* out, const UdpEndpoints& e, size_t payload_length, uint16_t ip_id);

// Computes the UDP checksum (RFC 768: pseudo-header, header, payload; a
// computed 0 is sent as 0xffff, RFC 768 and RFC 8200 §8.1) of the UDP
// packet after `ip_header`, whose header and UDP length fields are already
// written, and stores it. The version nibble picks the family: IPv4 (UDP
// after IHL * 4 bytes) or IPv6 (UDP directly after the 40-byte header, as
// write_udp_headers puts it; the pseudo-header of RFC 8200 §8.1).
void set_udp_checksum(uint8_t* ip_header);

// The IPv6 pseudo-header sum (RFC 8200 §8.1: source, destination,
// upper-layer packet length, next header), host order, not complemented,
// of the IPv6 header at `ipv6_header`.
uint16_t ipv6_pseudo_header_sum(const uint8_t* ipv6_header, uint32_t upper_layer_length,
                                uint8_t next_header);

// RFC 1071 one's-complement sum folded to 16 bits, of `length` bytes,
// host order and not complemented: a checksum field holds its complement,
// and data that include a right checksum sum to 0xffff. `initial` is added
// in (a previous sum, e.g. of a pseudo-header).
uint16_t internet_checksum(const uint8_t* data, size_t length, uint32_t initial = 0);

// Writes a complete ARP reply frame (Ethernet + same VLAN tag as the
// request + ARP, 42 or 46 bytes, not padded) answering `request` from
// `our_mac`/`our_ip`, addressed to the requester's MAC. Returns its length,
// or 0 if `out` is too small.
size_t write_arp_reply(std::span<uint8_t> out, const Frame& request, MacAddress our_mac,
                       Ipv4 our_ip);

// Writes a broadcast ARP request for `target` (who-has) from our_mac /
// our_ip. Returns its length, or 0 if `out` is too small.
size_t write_arp_request(std::span<uint8_t> out, MacAddress our_mac, Ipv4 our_ip, Ipv4 target,
                         bool has_vlan, uint16_t vlan_tci);

// The length of a neighbour solicitation or advertisement frame written
// here: Ethernet (+ tag), IPv6, kNeighborMessageLength (86 or 90 bytes).
constexpr size_t neighbor_frame_length(bool has_vlan) {
  return kEthernetHeaderLength + (has_vlan ? kVlanTagLength : 0) + kIpv6HeaderLength +
         kNeighborMessageLength;
}

// Writes a neighbour advertisement answering `solicitation` (a Frame that
// parsed as neighbor_solicitation, whose nd.target the caller has checked
// is one of ours) from our_mac, with the same VLAN tag (RFC 4861 §7.2.4):
// source the target address, hop limit 255, Override set, a Target
// Link-Layer Address option with our_mac; to the solicitor's address with
// Solicited set, at the MAC of its Source Link-Layer Address option (or
// the frame's source MAC without one), or, when the solicitation came
// from :: (duplicate address detection), to all-nodes ff02::1 at
// 33:33:00:00:00:01 with Solicited clear. Returns the length
// (neighbor_frame_length), or 0 if `out` is too small.
size_t write_neighbor_advertisement(std::span<uint8_t> out, const Frame& solicitation,
                                    MacAddress our_mac);

// Writes a multicast neighbour solicitation for `target` from our_mac /
// our_ip (RFC 4861 §7.2.2): to target's solicited-node multicast address
// and its MAC 33:33:ff:XX:XX:XX (RFC 2464 §7), hop limit 255, a Source
// Link-Layer Address option with our_mac. Returns the length
// (neighbor_frame_length), or 0 if `out` is too small.
size_t write_neighbor_solicitation(std::span<uint8_t> out, MacAddress our_mac, const Ipv6& our_ip,
                                   const Ipv6& target, bool has_vlan, uint16_t vlan_tci);

}  // namespace dtlsgw::dataplane::packet
