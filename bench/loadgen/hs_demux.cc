#include "bench/loadgen/hs_demux.h"

namespace dtlsgw::loadgen {

namespace {
constexpr uint32_t kBenchmarkNet = 0xc6120000;               // 198.18.0.0
constexpr uint64_t kBenchmarkAddresses = uint64_t{1} << 17;  // a /15
constexpr uint64_t kFirstPort = 1024;
constexpr uint64_t kPorts = 65536 - kFirstPort;
}  // namespace

ClientEndpoint client_endpoint(uint64_t n) {
  ClientEndpoint e;
  e.address.be = __builtin_bswap32(kBenchmarkNet + static_cast<uint32_t>(n % kBenchmarkAddresses));
  e.port = static_cast<uint16_t>(kFirstPort + (n / kBenchmarkAddresses) % kPorts);
  return e;
}

bool ClientDemux::add(const ClientEndpoint& e, uint32_t slot) {
  return slots_.emplace(endpoint_key(e.address, e.port), slot).second;
}

void ClientDemux::remove(const ClientEndpoint& e) { slots_.erase(endpoint_key(e.address, e.port)); }

std::optional<uint32_t> ClientDemux::find(Ipv4 destination, uint16_t destination_port) const {
  const auto it = slots_.find(endpoint_key(destination, destination_port));
  if (it == slots_.end()) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace dtlsgw::loadgen
