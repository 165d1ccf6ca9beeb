// gettimeofday() and time() on fake_clock_us() (fake_clock.h). Definitions
// in the executable take precedence over glibc's for every shared library
// the program loads, libssl included; glibc's own internal calls and
// clock_gettime (what libFuzzer and the C++ clocks use) are unaffected.
#include "tests/fuzz/fake_clock.h"

#include <sys/time.h>

#include <ctime>

extern "C" {

int gettimeofday(struct timeval* __restrict tv, void* __restrict /*tz*/) noexcept {
  const int64_t us = dtlsgw::handshake::fuzz::fake_clock_us();
  tv->tv_sec = static_cast<time_t>(us / 1'000'000);
  tv->tv_usec = static_cast<suseconds_t>(us % 1'000'000);
  return 0;
}

time_t time(time_t* out) noexcept {
  const auto now = static_cast<time_t>(dtlsgw::handshake::fuzz::fake_clock_us() / 1'000'000);
  if (out != nullptr) {
    *out = now;
  }
  return now;
}

}  // extern "C"
