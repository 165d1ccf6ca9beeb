// What the data mode writes into the first 32 bytes of every payload it
// sends (as plaintext inside a record, or as a plain datagram): which
// session and which of its packets, when it left, and which run it belongs
// to. The receiver checks it to count loss, duplicates and corruption and
// to measure latency. Both ends are this process, so host byte order and
// the TSC are shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace dtlsgw::loadgen {

struct Stamp {
  uint32_t session = 0;   // index in the static-keys file
  uint32_t run = 0;       // warm-up and each measured size have their own
  uint64_t sequence = 0;  // per session; the DTLS sequence number when sealed here
  uint64_t tsc = 0;       // rte_rdtsc() when the packet was built
};

inline constexpr size_t kStampBytes = 32;
inline constexpr uint32_t kStampMagic = 0x44474c31;  // "1LGD"

namespace stamp_detail {
// A 64-bit mix (SplitMix64's finaliser): any flipped bit of the fields
// changes the check word.
inline uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
inline uint32_t check_word(const Stamp& s) {
  uint64_t h = mix(kStampMagic ^ (uint64_t{s.session} << 32) ^ s.run);
  h = mix(h ^ s.sequence);
  h = mix(h ^ s.tsc);
  return static_cast<uint32_t>(h);
}
}  // namespace stamp_detail

// Layout: magic(4) session(4) run(4) check(4) sequence(8) tsc(8).
inline void write_stamp(const Stamp& s, uint8_t* out) {
  const uint32_t check = stamp_detail::check_word(s);
  std::memcpy(out, &kStampMagic, 4);
  std::memcpy(out + 4, &s.session, 4);
  std::memcpy(out + 8, &s.run, 4);
  std::memcpy(out + 12, &check, 4);
  std::memcpy(out + 16, &s.sequence, 8);
  std::memcpy(out + 24, &s.tsc, 8);
}

// False when the bytes are not a stamp this program wrote intact.
inline bool read_stamp(const uint8_t* in, Stamp& s) {
  uint32_t magic = 0;
  uint32_t check = 0;
  std::memcpy(&magic, in, 4);
  std::memcpy(&s.session, in + 4, 4);
  std::memcpy(&s.run, in + 8, 4);
  std::memcpy(&check, in + 12, 4);
  std::memcpy(&s.sequence, in + 16, 8);
  std::memcpy(&s.tsc, in + 24, 8);
  return magic == kStampMagic && check == stamp_detail::check_word(s);
}

// The plain payload past the stamp (plain datagrams and the seal
// direction's plaintext): a pattern whose phase depends on the session and
// sequence, so a full check catches any byte moved or changed, and which
// is one memcpy from pattern_table() to write.
inline uint8_t pattern_phase(const Stamp& s) {
  return static_cast<uint8_t>(s.sequence * 7 + s.session * 13);
}
inline uint8_t pattern_byte(const Stamp& s, size_t offset) {
  return static_cast<uint8_t>((offset + pattern_phase(s)) * 29);
}
// pattern_byte(s, offset) == pattern_table()[offset + pattern_phase(s)]
// for offsets below 2^14 + 64.
inline const uint8_t* pattern_table() {
  static const auto* table = [] {
    auto* t = new uint8_t[(1 << 14) + 64 + 256];
    for (size_t i = 0; i < (1 << 14) + 64 + 256; ++i) {
      t[i] = static_cast<uint8_t>(i * 29);
    }
    return t;
  }();
  return table;
}

}  // namespace dtlsgw::loadgen
