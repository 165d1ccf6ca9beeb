// What record_open_fuzz and the seed corpus generator (make_corpus.cc)
// agree on: the fixed keys of each AEAD, the epoch they read, and the
// meaning of an input's first byte. Keep the two in step: a seed sealed
// under other keys never authenticates, and the fuzzer then never gets past
// the tag check.
#pragma once

#include <array>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "dtls_record/aead_suite.h"
#include "dtls_record/record_number.h"

namespace dtlsgw::record::fuzz {

// Every record of the harness is sealed and read in this epoch; records of
// any other epoch are `unknown_epoch`.
inline constexpr Epoch kFuzzEpoch{1};

// Replay window sizes the selector byte can choose: the minimum, one that
// is not a multiple of 64, two words, and a large one.
inline constexpr std::array<uint32_t, 4> kFuzzWindows = {64, 100, 128, 4096};

// Deterministic key material, distinct per AEAD.
inline std::vector<uint8_t> fuzz_key(Aead aead) {
  const AeadParams& p = aead_params(aead);
  std::vector<uint8_t> k(p.key_length);
  for (size_t i = 0; i < k.size(); ++i) {
    k[i] = static_cast<uint8_t>(0x11 * (static_cast<size_t>(aead) + 1) + 7 * i);
  }
  return k;
}

inline std::vector<uint8_t> fuzz_fixed_iv(Aead aead) {
  const AeadParams& p = aead_params(aead);
  std::vector<uint8_t> iv(p.fixed_iv_length);
  for (size_t i = 0; i < iv.size(); ++i) {
    iv[i] = static_cast<uint8_t>(0x77 + 13 * (static_cast<size_t>(aead) + 1) + 3 * i);
  }
  return iv;
}

// record_open_fuzz input: one selector byte, then either a datagram (raw
// mode) or the instructions of seal-then-mutate mode.
//
//   bit 7     mode: 0 = raw datagram, 1 = seal then mutate
//   bits 3-4  replay window: kFuzzWindows[index]
//   bits 0-2  AEAD: value % kAeadCount
enum class OpenMode : uint8_t { raw_datagram, seal_then_mutate };

struct Selector {
  OpenMode mode = OpenMode::raw_datagram;
  Aead aead = Aead::aes128_gcm;
  uint32_t window_bits = 64;
};

inline Selector decode_selector(uint8_t b) {
  Selector s;
  s.mode = (b & 0x80) != 0 ? OpenMode::seal_then_mutate : OpenMode::raw_datagram;
  s.window_bits = kFuzzWindows[(b >> 3) & 3];
  s.aead = static_cast<Aead>((b & 7) % kAeadCount);
  return s;
}

inline uint8_t encode_selector(OpenMode mode, Aead aead, size_t window_index) {
  return static_cast<uint8_t>((mode == OpenMode::seal_then_mutate ? 0x80 : 0) |
                              ((window_index & 3) << 3) | static_cast<uint8_t>(aead));
}

// A violated property. __builtin_trap() rather than an exception or
// assert(): libFuzzer reports it as a crash in every build type, with the
// input that caused it.
#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond)) {       \
      __builtin_trap();  \
    }                    \
  } while (false)

}  // namespace dtlsgw::record::fuzz
