// What packet.cc (Ethernet, ARP, IPv4, UDP, the checksums) and
// packet_ipv6.cc (IPv6, neighbour discovery) share, internal to the
// dataplane library. The writers are inline here so that each file still
// builds its frames without a call, as when they were one file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dataplane/net_types.h"
#include "dataplane/packet.h"
#include "dtls_record/wire.h"

namespace dtlsgw::dataplane::packet::packet_internal {

using record::wire::load_u16;
using record::wire::store_u16;

// UDP's number, as IPv4's Protocol and as IPv6's Next Header.
inline constexpr uint8_t kIpProtocolUdp = 17;
inline constexpr size_t kIcmpHeaderLength = 4;  // type, code, checksum

// The IPv6 fixed header (RFC 8200 §3), as offsets.
inline constexpr size_t kIp6PayloadLength = 4;
inline constexpr size_t kIp6NextHeader = 6;
inline constexpr size_t kIp6HopLimit = 7;
inline constexpr size_t kIp6Source = 8;
inline constexpr size_t kIp6Destination = 24;

inline void copy_mac(uint8_t* to, const MacAddress& mac) {
  std::memcpy(to, mac.bytes, sizeof mac.bytes);
}
inline void load_mac(MacAddress& mac, const uint8_t* from) {
  std::memcpy(mac.bytes, from, sizeof mac.bytes);
}

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

// packet_ipv6.cc: parse_frame's IPv6 branch.
FrameResult parse_ipv6(const uint8_t* frame, size_t l3, size_t available, bool udp_checksum_good,
                       Frame& out);

}  // namespace dtlsgw::dataplane::packet::packet_internal
