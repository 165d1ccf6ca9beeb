// Big-endian loads and stores: the only place byte order is converted
// (STYLE.md rule 6: byte order conversions only at the parse edge).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace dtlsgw::record::wire {

constexpr uint16_t load_u16(const uint8_t* p) {
  return static_cast<uint16_t>((uint16_t{p[0]} << 8) | p[1]);
}

// Outside constant evaluation the wide loads and stores are one unaligned
// access and a byte swap: GCC does not merge the byte loops below (the
// data path reads and writes a record number per record).
constexpr uint64_t load_u64(const uint8_t* p) {
  if (!std::is_constant_evaluated()) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return std::endian::native == std::endian::little ? __builtin_bswap64(v) : v;
  }
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) {
    v = (v << 8) | p[i];
  }
  return v;
}

constexpr uint64_t load_u48(const uint8_t* p) {
  if (!std::is_constant_evaluated()) {
    uint64_t v = 0;
    std::memcpy(&v, p, 6);  // the six bytes first in memory, then two zeros
    return (std::endian::native == std::endian::little ? __builtin_bswap64(v) : v) >> 16;
  }
  uint64_t v = 0;
  for (size_t i = 0; i < 6; ++i) {
    v = (v << 8) | p[i];
  }
  return v;
}

constexpr void store_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

constexpr void store_u48(uint8_t* p, uint64_t v) {
  for (size_t i = 0; i < 6; ++i) {
    p[5 - i] = static_cast<uint8_t>(v >> (8 * i));
  }
}

constexpr void store_u64(uint8_t* p, uint64_t v) {
  if (!std::is_constant_evaluated()) {
    const uint64_t be = std::endian::native == std::endian::little ? __builtin_bswap64(v) : v;
    std::memcpy(p, &be, 8);
    return;
  }
  for (size_t i = 0; i < 8; ++i) {
    p[7 - i] = static_cast<uint8_t>(v >> (8 * i));
  }
}

}  // namespace dtlsgw::record::wire
