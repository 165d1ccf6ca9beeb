// MemorySanitizer as a constant-time checker (the "ctgrind" idea): the
// secret operand of a compare is marked uninitialised, so MSan reports any
// branch taken on it and any address computed from it. The record layer's
// tag compare and the cookie check (dtls_record/constant_time.h) must reach
// their verdict without either; the verdict is then declared public and
// checked against the expected one.
//
// `constant_time_msan --control` runs an early-exit compare on the same
// inputs, which MSan must report: the proof that this check can fail.
// Built with clang++ -fsanitize=memory by tests/constant_time/meson.build,
// whatever compiler builds the rest; run by run_constant_time_check.py.
#include <sanitizer/msan_interface.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>

#include "dtls_record/constant_time.h"

namespace {

bool early_exit_equal(const uint8_t* a, const uint8_t* b, size_t length) {
  for (size_t i = 0; i < length; ++i) {
    if (a[i] != b[i]) {
      return false;
    }
  }
  return true;
}

using Compare = bool (*)(const uint8_t*, const uint8_t*, size_t);

// One case: `computed` is secret (the tag the engine computed, or the
// cookie MAC); `received` came from the wire.
bool run_case(Compare compare, size_t length, long differ_at, bool both_secret) {
  uint8_t computed[64];
  uint8_t received[64];
  for (size_t i = 0; i < length; ++i) {
    computed[i] = static_cast<uint8_t>(0x5a + 7 * i);
    received[i] = computed[i];
  }
  if (differ_at >= 0) {
    received[differ_at] ^= 0x01;
  }
  __msan_poison(computed, length);
  if (both_secret) {
    __msan_poison(received, length);
  }
  bool verdict = compare(computed, received, length);
  __msan_unpoison(&verdict, sizeof verdict);  // the verdict is public
  __msan_unpoison(computed, length);
  __msan_unpoison(received, length);
  const bool expected = differ_at < 0;
  if (verdict != expected) {
    std::fprintf(stderr, "length %zu, difference at %ld: verdict %d, expected %d\n", length,
                 differ_at, verdict, expected);
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const bool control = argc > 1 && std::strcmp(argv[1], "--control") == 0;
  const Compare compare = control ? early_exit_equal : dtlsgw::record::equal_in_constant_time;
  // Tag lengths (CCM-8, 16-byte AEAD tags), an odd length, the cookie MAC
  // and a 32-byte MAC.
  const size_t lengths[] = {8, 13, 16, 32};
  int cases = 0;
  for (const size_t length : lengths) {
    const long positions[] = {-1, 0, static_cast<long>(length / 2), static_cast<long>(length - 1)};
    for (const long at : positions) {
      for (const bool both : {false, true}) {
        if (!run_case(compare, length, at, both)) {
          return 1;
        }
        ++cases;
      }
    }
  }
  std::printf("constant-time compare: %d cases, no branch or address on secret bytes\n", cases);
  return 0;
}
