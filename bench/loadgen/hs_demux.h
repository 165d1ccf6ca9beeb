// The handshake mode's clients behind one port: each handshake gets its own
// source address and port (as many distinct clients would), and the
// gateway's answers are handed back to the client by their destination.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>

#include "bench/loadgen/frames.h"

namespace dtlsgw::loadgen {

struct ClientEndpoint {
  Ipv4 address;
  uint16_t port = 0;  // host order
  friend bool operator==(const ClientEndpoint&, const ClientEndpoint&) = default;
};

// The n-th handshake's source: addresses from 198.18.0.0/15 (RFC 2544's
// benchmarking range) in turn, then the next port (1024 up). Distinct for
// the first 131072 × 64512 handshakes, so a new handshake never lands on
// the flow of an earlier session (which would be a renegotiation-like
// restart, RFC 6347 §4.2.8, not a new client).
ClientEndpoint client_endpoint(uint64_t n);

// Which client slot an answer belongs to, by destination address:port.
class ClientDemux {
 public:
  // False if the endpoint is already taken.
  bool add(const ClientEndpoint& e, uint32_t slot);
  void remove(const ClientEndpoint& e);
  std::optional<uint32_t> find(Ipv4 destination, uint16_t destination_port) const;
  size_t size() const { return slots_.size(); }

 private:
  std::unordered_map<uint64_t, uint32_t> slots_;
};

}  // namespace dtlsgw::loadgen
