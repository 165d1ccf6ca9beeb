// dtlsgw-loadgen: drives a dtlsgw dataplane through DPDK ports (net_memif
// here, real NICs elsewhere). See modes.h and bench/README.md.
#include <cstdio>
#include <cstring>
#include <string_view>

#include "bench/loadgen/modes.h"

namespace {

void usage(std::FILE* out) {
  std::fputs(
      "usage: dtlsgw-loadgen MODE [EAL arguments] -- [options]\n"
      "modes:\n"
      "  data       records of chosen sizes for static-key sessions, both directions\n"
      "  handshake  full DTLS handshakes from many in-memory OpenSSL clients\n"
      "  flood      ClientHellos from spoofed sources; counts HelloVerifyRequests\n"
      "`dtlsgw-loadgen MODE -- --help` lists a mode's options.\n",
      out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const std::string_view mode = argv[1];
  if (mode == "-h" || mode == "--help") {
    usage(stdout);
    return 0;
  }
  // The mode sees argv[0] followed by the rest, as EAL expects.
  argv[1] = argv[0];
  if (mode == "data") {
    return dtlsgw::loadgen::run_data_mode(argc - 1, argv + 1);
  }
  if (mode == "handshake") {
    return dtlsgw::loadgen::run_handshake_mode(argc - 1, argv + 1);
  }
  if (mode == "flood") {
    return dtlsgw::loadgen::run_flood_mode(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "dtlsgw-loadgen: unknown mode '%s'\n", argv[0]);
  usage(stderr);
  return 2;
}
