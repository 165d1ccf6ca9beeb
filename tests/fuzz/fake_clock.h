// The wall clock OpenSSL reads in handshake_engine_fuzz and in the seed
// generator: fake_clock.cc defines gettimeofday() and time() in the
// program itself, which the dynamic linker then binds libssl's calls to
// (OpenSSL 3.0's DTLS timers read gettimeofday, session times read time).
// The handshake driver sets it from its synthetic clock, so a tick in the
// input moves OpenSSL's retransmission timers and the table's timer wheel
// together, and a run depends on nothing but the input. Link fake_clock.cc
// only into programs that want this.
#pragma once

#include <cstdint>

namespace dtlsgw::handshake::fuzz {

// Microseconds since the Unix epoch.
inline int64_t& fake_clock_us() {
  static int64_t us = int64_t{1'700'000'000} * 1'000'000;
  return us;
}

}  // namespace dtlsgw::handshake::fuzz
