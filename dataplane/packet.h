// Ethernet / 802.1Q / ARP / IPv4 / UDP framing for the dataplane, on plain
// byte spans (no DPDK), so it is unit-tested and fuzzed without EAL.
//
// Parsing never reads past the span and never trusts a length field it has
// not checked against it. Frames may carry Ethernet padding after the IP
// packet (60-byte minimum frame): lengths come from the IP and UDP headers.
// UDP checksums are not verified here (policy, DESIGN.md data path): a
// corrupted DTLS record fails its AEAD tag and is counted there, and the
// inside network is the gateway's own.
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
inline constexpr size_t kUdpHeaderLength = 8;
inline constexpr size_t kArpPacketLength = 28;   // Ethernet/IPv4 ARP
inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;

enum class FrameResult : uint8_t {
  udp,            // IPv4/UDP: Frame's IP and UDP fields are filled
  arp,            // Ethernet/IPv4 ARP: Frame::arp is filled
  not_ipv4,       // another EtherType (IPv6 arrives with a later issue)
  truncated,      // shorter than its headers or their length fields
  bad_ip_header,  // version, IHL, total length or header checksum wrong
  ip_fragment,    // MF set or a fragment offset (reassembly: later issue)
  not_udp,        // another IP protocol
  bad_udp_length, // UDP length below 8 or beyond the IP packet
  bad_arp,        // not Ethernet/IPv4 ARP (htype 1, ptype 0x0800, 6/4)
};
inline constexpr size_t kFrameResultCount = 9;
std::string_view to_string(FrameResult r);

struct ArpPacket {
  uint16_t operation = 0;  // 1 request, 2 reply (host order)
  MacAddress sender_mac;
  Ipv4 sender_ip;
  MacAddress target_mac;
  Ipv4 target_ip;
};

struct Frame {
  MacAddress destination_mac;
  MacAddress source_mac;
  bool has_vlan = false;
  uint16_t vlan_tci = 0;   // host order; 0 without a tag
  uint16_t l3_offset = 0;  // where the IPv4 header (or ARP packet) starts
  // IPv4 / UDP (FrameResult::udp)
  Ipv4 source;
  Ipv4 destination;
  uint16_t source_port = 0;       // host order
  uint16_t destination_port = 0;  // host order
  uint16_t payload_offset = 0;    // the UDP payload, from the frame's start
  uint16_t payload_length = 0;
  // ARP (FrameResult::arp)
  ArpPacket arp;
};

FrameResult parse_frame(std::span<const uint8_t> frame, Frame& out);

// The addresses of one UDP datagram to send.
struct UdpEndpoints {
  MacAddress source_mac;
  MacAddress destination_mac;
  bool has_vlan = false;
  uint16_t vlan_tci = 0;
  Ipv4 source;
  Ipv4 destination;
  uint16_t source_port = 0;       // host order
  uint16_t destination_port = 0;  // host order
};

constexpr size_t udp_headers_length(bool has_vlan) {
  return kEthernetHeaderLength + (has_vlan ? kVlanTagLength : 0) + kIpv4HeaderLength +
         kUdpHeaderLength;
}
// The largest UDP payload an IPv4 packet can carry.
inline constexpr size_t kMaxUdpPayload = 65535 - kIpv4HeaderLength - kUdpHeaderLength;

// Writes Ethernet (+ 802.1Q) / IPv4 (no options, DF set, TTL 64, header
// checksum computed) / UDP headers into out[0 .. udp_headers_length()),
// for a payload of `payload_length` bytes that follows them. The UDP
// checksum is left 0 ("no checksum", RFC 768 over IPv4): call
// set_udp_checksum, or let the NIC fill it. `payload_length` must be at
// most kMaxUdpPayload.
void write_udp_headers(uint8_t* out, const UdpEndpoints& e, size_t payload_length,
                       uint16_t ip_id);

// Computes the UDP checksum (RFC 768: pseudo-header, header, payload; a
// computed 0 is sent as 0xffff) of the IPv4/UDP packet at `ipv4_header`,
// whose header and UDP length fields are already written, and stores it.
void set_udp_checksum(uint8_t* ipv4_header);

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

}  // namespace dtlsgw::dataplane::packet
