// Comparing authentication tags and MACs in constant time (DESIGN.md,
// "security invariants"): how long the compare takes, and which memory it
// reads, must not depend on where the bytes first differ, or a forger can
// learn a tag byte by byte from the timing of rejections.
//
// Every byte of both inputs is read and folded into one accumulator with
// XOR and OR; no branch and no address depends on the bytes' values. An
// empty asm statement hides the accumulator from the optimiser, so it
// cannot turn the loop back into an early-exit memcmp. Only the final
// verdict (equal or not), which the caller acts on anyway, is branched on.
//
// Inline rather than OpenSSL's CRYPTO_memcmp: a 16-byte tag is four loads
// and three ALU operations here, against a call into libcrypto per record
// (bench/explanations.md). tests/constant_time checks the property with
// MemorySanitizer, treating the tag bytes as secret.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

// MemorySanitizer counts an asm operand as a use of its value, so the
// MSan check (tests/constant_time) compiles the compare without the
// barrier: what it checks is then the optimiser's own output, with
// nothing to stop an early exit, which it would report.
#if defined(__has_feature)
#if __has_feature(memory_sanitizer)
#define DTLSGW_UNDER_MSAN 1
#endif
#endif
#ifndef DTLSGW_UNDER_MSAN
#define DTLSGW_UNDER_MSAN 0
#endif

namespace dtlsgw::record {

inline bool equal_in_constant_time(const uint8_t* a, const uint8_t* b, size_t length) {
  uint64_t difference = 0;
  size_t i = 0;
  if (length == 16) {  // every AEAD tag but CCM-8's, and the cookie MAC
    uint64_t x[2];
    uint64_t y[2];
    std::memcpy(x, a, 16);
    std::memcpy(y, b, 16);
    difference = (x[0] ^ y[0]) | (x[1] ^ y[1]);
    i = 16;
  }
  for (; i + 8 <= length; i += 8) {
    uint64_t x;
    uint64_t y;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    difference |= x ^ y;
  }
  for (; i < length; ++i) {
    difference |= static_cast<uint64_t>(a[i] ^ b[i]);
  }
#if (defined(__GNUC__) || defined(__clang__)) && !DTLSGW_UNDER_MSAN
  __asm__("" : "+r"(difference));
#endif
  return difference == 0;
}

}  // namespace dtlsgw::record
