#include "dataplane/neighbors.h"

namespace dtlsgw::dataplane {

uint64_t Neighbors::pack(const MacAddress& mac, uint64_t flags) {
  uint64_t v = 0;
  for (int i = 0; i < 6; ++i) {
    v = (v << 8) | mac.bytes[i];
  }
  return v | flags;
}

uint16_t Neighbors::add(const IpAddress& address) {
  for (size_t i = 0; i < count_; ++i) {
    if (entries_[i].address == address) {
      return static_cast<uint16_t>(i);
    }
  }
  // The configuration allows at most 256 listeners (one backend each) and
  // one gateway, so the table cannot overflow.
  entries_[count_].address = address;
  return static_cast<uint16_t>(count_++);
}

void Neighbors::set_static(const IpAddress& address, const MacAddress& mac) {
  entries_[add(address)].mac.store(pack(mac, kValid | kStatic), std::memory_order_release);
}

bool Neighbors::learn(const IpAddress& address, const MacAddress& mac) {
  for (size_t i = 0; i < count_; ++i) {
    if (entries_[i].address == address) {
      const uint64_t old = entries_[i].mac.load(std::memory_order_relaxed);
      const uint64_t fresh = pack(mac, kValid);
      if ((old & kStatic) || old == fresh) {
        return false;
      }
      entries_[i].mac.store(fresh, std::memory_order_release);
      return true;
    }
  }
  return false;
}

}  // namespace dtlsgw::dataplane
