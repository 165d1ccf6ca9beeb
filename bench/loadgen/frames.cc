#include "bench/loadgen/frames.h"

#include <cstring>

namespace dtlsgw::loadgen {

size_t write_udp_frame(std::span<uint8_t> out, const packet::UdpEndpoints& e,
                       std::span<const uint8_t> payload, uint16_t ip_id) {
  const size_t headers = packet::udp_headers_length(e.has_vlan);
  if (payload.size() > packet::kMaxUdpPayload || out.size() < headers + payload.size()) {
    return 0;
  }
  packet::write_udp_headers(out.data(), e, payload.size(), ip_id);
  if (!payload.empty()) {
    std::memcpy(out.data() + headers, payload.data(), payload.size());
  }
  return headers + payload.size();
}

packet::UdpEndpoints reply_endpoints(const packet::Frame& frame, const MacAddress& our_mac) {
  packet::UdpEndpoints e;
  e.source_mac = our_mac;
  e.destination_mac = frame.source_mac;
  e.has_vlan = frame.has_vlan;
  e.vlan_tci = frame.vlan_tci;
  e.source = frame.destination;
  e.destination = frame.source;
  e.source_port = frame.destination_port;
  e.destination_port = frame.source_port;
  return e;
}

}  // namespace dtlsgw::loadgen
