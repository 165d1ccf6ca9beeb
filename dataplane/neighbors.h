// Next hops on the inside port (backends on-link, or the inside gateway):
// their MAC addresses, static from the configuration or learned from ARP
// (RFC 826) or neighbour discovery (RFC 4861). A small fixed table made at
// start-up (one entry per distinct next hop, either family); any worker
// may learn an entry, every worker reads them, so each MAC is one atomic
// word.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "dataplane/net_types.h"

namespace dtlsgw::dataplane {

class Neighbors {
 public:
  // Index of the entry for `address` (added if new).
  uint16_t add(const IpAddress& address);
  void set_static(const IpAddress& address, const MacAddress& mac);

  bool lookup(uint16_t index, MacAddress& out) const {
    const uint64_t v = entries_[index].mac.load(std::memory_order_acquire);
    if ((v & kValid) == 0) {
      return false;
    }
    // The MAC is the word's low 48 bits, first byte most significant
    // (pack); x86 is little-endian.
    const uint64_t be = __builtin_bswap64(v << 16);
    std::memcpy(out.bytes, &be, 6);
    return true;
  }
  // Learns `mac` for `address` if it is one of ours and not static.
  // Returns true if the entry changed.
  bool learn(const IpAddress& address, const MacAddress& mac);

  size_t size() const { return count_; }
  const IpAddress& address(uint16_t index) const { return entries_[index].address; }
  bool resolved(uint16_t index) const {
    return entries_[index].mac.load(std::memory_order_relaxed) & kValid;
  }

 private:
  static constexpr uint64_t kValid = uint64_t{1} << 63;
  static constexpr uint64_t kStatic = uint64_t{1} << 62;
  static constexpr size_t kCapacity = 512;
  struct Entry {
    IpAddress address;  // IPv4 mapped, or IPv6
    std::atomic<uint64_t> mac{0};
  };
  static uint64_t pack(const MacAddress& mac, uint64_t flags);
  std::unique_ptr<Entry[]> entries_ = std::make_unique<Entry[]>(kCapacity);
  size_t count_ = 0;
};

}  // namespace dtlsgw::dataplane
