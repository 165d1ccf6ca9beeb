// The load generator's Ethernet/IPv4/UDP frames, on plain byte spans (no
// DPDK), built and parsed with the dataplane's own packet.h so that both
// ends agree on the wire format by construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/net_types.h"
#include "dataplane/packet.h"

namespace dtlsgw::loadgen {

using dataplane::Ipv4;
using dataplane::MacAddress;
namespace packet = dataplane::packet;

inline constexpr MacAddress kBroadcastMac = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

// Writes a whole untagged frame: Ethernet / IPv4 / UDP headers (UDP
// checksum 0, "none", RFC 768 over IPv4) followed by `payload`. Returns
// its length, or 0 if it does not fit in `out` or in one IPv4 packet.
size_t write_udp_frame(std::span<uint8_t> out, const packet::UdpEndpoints& e,
                       std::span<const uint8_t> payload, uint16_t ip_id);

// The endpoints of an answer to `frame`: addresses, ports and MACs
// swapped, sent from `our_mac` (the echo backend answers this way).
packet::UdpEndpoints reply_endpoints(const packet::Frame& frame, const MacAddress& our_mac);

// One IPv4 address and UDP port as a single integer, for demultiplexing
// the gateway's answers back to the client they are addressed to.
constexpr uint64_t endpoint_key(Ipv4 address, uint16_t port) {
  return (static_cast<uint64_t>(address.be) << 16) | port;
}

}  // namespace dtlsgw::loadgen
