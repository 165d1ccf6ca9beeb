// The hash of the data path's table keys: CRC32-C exactly as DPDK's
// rte_hash_crc computes it, but with loads that need no alignment.
// rte_hash_crc reads 8 bytes at a time through a uint64_t pointer, which
// is undefined behaviour (and a UBSan failure) for a key at an address
// that is not a multiple of 8; contract::FlowKey holds bytes and 16-bit
// ports, so it is only 2-aligned inside the contract's messages. memcpy
// compiles to the same unaligned loads x86 allows.
#pragma once

#include <rte_hash_crc.h>

#include <cstdint>
#include <cstring>

namespace dtlsgw::dataplane {

inline uint32_t key_hash(const void* data, uint32_t length, uint32_t init) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (; length >= 8; length -= 8, p += 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    init = rte_hash_crc_8byte(v, init);
  }
  if (length & 4) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    init = rte_hash_crc_4byte(v, init);
    p += 4;
  }
  if (length & 2) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    init = rte_hash_crc_2byte(v, init);
    p += 2;
  }
  if (length & 1) {
    init = rte_hash_crc_1byte(*p, init);
  }
  return init;
}

}  // namespace dtlsgw::dataplane
