// Placeholder until the handshake mode lands (its owner replaces this file).
#include <cstdio>

#include "bench/loadgen/modes.h"

namespace dtlsgw::loadgen {

int run_handshake_mode(int, char**) {
  std::fputs("dtlsgw-loadgen: the handshake mode is not built yet\n", stderr);
  return 2;
}

}  // namespace dtlsgw::loadgen
