// ICMP "fragmentation needed" (ICMPv4 type 3 code 4, RFC 792 and RFC 1191
// §4) and ICMPv6 "packet too big" (type 2, RFC 4443 §3.2): the path MTU
// reports a router sends back when a datagram we sent with DF set (IPv4)
// or any datagram (IPv6) did not fit its next hop. Pure (no DPDK), on
// plain byte spans, so it is unit-tested and fuzzed without EAL.
//
// The parser reads only inside the span and trusts no length it has not
// checked against it. It returns the flow of the datagram the report
// quotes, which is a datagram WE sent: its source is the gateway's
// address and listener port, its destination the peer. Whether that flow
// is one of the gateway's is the caller's question (the session table);
// the parser only checks that the quote is an IPv4/IPv6 UDP header.
//
// RFC 5927 (ICMP attacks against TCP) applies to UDP as much: a forged
// report can only lower a path MTU, never raise it; the caller accepts it
// only for a flow it has, and only below the flow's current estimate.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dataplane/net_types.h"

namespace dtlsgw::dataplane::icmp {

// RFC 791 §3.1 / RFC 1191 §3: every IPv4 host must take 68-byte datagrams.
inline constexpr uint32_t kIpv4MinimumMtu = 68;
// RFC 8200 §5: every IPv6 link carries 1280-byte packets.
inline constexpr uint32_t kIpv6MinimumMtu = 1280;
inline constexpr uint8_t kIpProtocolIcmp = 1;
inline constexpr uint8_t kIpProtocolIcmpv6 = 58;

enum class Result : uint8_t {
  path_mtu,         // a report quoting a UDP datagram: Report is filled
  not_icmp,         // another IP protocol (or IPv6 extension headers before ICMPv6)
  truncated,        // shorter than its headers or their length fields
  bad_ip_header,    // the outer header's version, IHL or lengths are wrong
  bad_checksum,     // the ICMP checksum (ICMPv6: with the pseudo-header) is wrong
  other_message,    // ICMP of another type or code (echo, unreachable...)
  bad_quote,        // the quoted packet is not an IPv4/IPv6 UDP header we could send
  below_minimum,    // ICMPv6 MTU below 1280 (RFC 8201 §4: discard)
  not_below_quote,  // the MTU is not below the quoted packet's length
};
inline constexpr size_t kResultCount = 9;
std::string_view to_string(Result r);

// What a report says about one of our datagrams.
struct Report {
  bool ipv6 = false;
  // Of the quoted datagram (ours): network byte order, IPv4 in the first 4.
  std::array<uint8_t, 16> source{};
  std::array<uint8_t, 16> destination{};
  uint16_t source_port = 0;       // host order
  uint16_t destination_port = 0;  // host order
  // The path MTU in bytes of IP packet (header included), after the rules:
  // IPv4 clamped up to 68; a zero field (a pre-RFC 1191 router) replaced
  // by the plateau below the quoted length (RFC 1191 §5).
  uint32_t mtu = 0;
  // The quoted datagram's IP total length (IPv6: 40 + payload length).
  uint32_t quoted_length = 0;
  // The quoted bytes after the UDP header (routers quote at least 8 bytes
  // of payload for IPv4, RFC 792; as much as fits in 576 or 1280 bytes
  // often): lets the caller check a DTLS record header it sent.
  std::span<const uint8_t> quoted_payload;
};

// `ipv4_packet` starts at the IPv4 header; bytes after its total length
// (Ethernet padding) are ignored.
Result parse_icmpv4(std::span<const uint8_t> ipv4_packet, Report& out);
// `ipv6_packet` starts at the IPv6 header, whose next header must be
// ICMPv6 (58); bytes after its payload length are ignored.
Result parse_icmpv6(std::span<const uint8_t> ipv6_packet, Report& out);

// RFC 1191 §7, table 7-1: the plateau just below `length` (at least 68).
uint32_t plateau_below(uint32_t length);

// RFC 1812 §4.3.2.3: an ICMP error holds as much of the offending packet as
// keeps it within 576 bytes.
inline constexpr size_t kMaxIcmpv4ErrorLength = 576;

// Writes an ICMPv4 "fragmentation needed and DF set" (type 3 code 4) with
// next-hop MTU `mtu` (RFC 1191 §4) into `out`, as an IPv4 packet from
// `source` (network order) to the offending packet's source: IPv4 header
// (no options, TTL 64, DF clear), ICMP header, and the quote of
// `offending` (an IPv4 packet starting at its header), cut to fit 576
// bytes. Returns the packet's length, or 0 if `offending` is shorter than
// its IPv4 header plus 8 bytes or `out` is too small.
size_t write_fragmentation_needed(std::span<uint8_t> out, std::span<const uint8_t> offending,
                                  uint32_t source, uint16_t mtu, uint16_t ip_id);

// RFC 4443 §2.4(c): an ICMPv6 error holds as much of the offending packet
// as keeps the error packet (IPv6 header included) within the IPv6
// minimum MTU.
inline constexpr size_t kMaxIcmpv6ErrorLength = kIpv6MinimumMtu;

// The ICMPv6 counterpart of write_fragmentation_needed: writes a "packet
// too big" (RFC 4443 §3.2: type 2, code 0, 32-bit MTU `mtu`) into `out`,
// as an IPv6 packet from `source` to the offending packet's source: IPv6
// header (traffic class and flow label 0, hop limit 64, no extension
// headers), ICMPv6 header with the checksum over the RFC 8200 §8.1
// pseudo-header (next header 58), and the quote of `offending` (an IPv6
// packet starting at its fixed header), cut to fit 1280 bytes. As for the
// IPv4 one, the caller writes the link layer: the offending frame's MACs
// swapped, its VLAN tag kept. `mtu` is sent as given; a receiver
// discards one below 1280 (RFC 8201 §4), so the caller clamps it up.
// Returns the packet's length, or 0 if `offending` is not IPv6, is shorter
// than its fixed header plus 8 bytes, comes from an address that names no
// single node (:: or multicast, RFC 4443 §2.4(e.6)), or `out` is too
// small.
size_t write_packet_too_big(std::span<uint8_t> out, std::span<const uint8_t> offending,
                            const Ipv6& source, uint32_t mtu);

}  // namespace dtlsgw::dataplane::icmp
