// make_pcaps: writes the pcaps, static keys and gateway configurations the
// pktgen profiles replay (bench/pktgen/README.md, pcap_builder.h). The
// output depends only on the arguments: the committed files in bench/pktgen
// are `make_pcaps --out bench/pktgen` with every default.
#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bench/pktgen/pcap_builder.h"

namespace {

using dtlsgw::pktgen::PcapOptions;

void usage() {
  std::fputs(
      "usage: make_pcaps [--out DIR] [--gateway-mac MAC] [--generator-mac MAC]\n"
      "                  [--backend-mac MAC] [--gateway-ip A.B.C.D] [--listener PORT]\n"
      "                  [--sessions N] [--records N] [--flood-frames N] [--seed N]\n"
      "  --out            directory to write into (default .)\n"
      "  --gateway-mac    the gateway's outside port (default 02:00:00:00:00:01)\n"
      "  --generator-mac  the generator's port 0, outside next hop (02:00:00:00:01:01)\n"
      "  --backend-mac    the generator's port 1, the backend's MAC (02:00:00:00:01:02)\n"
      "  --gateway-ip     outside address, .1 to .253 (default 192.0.2.1; .254 is the next hop)\n"
      "  --listener       UDP port of the listener (default 4433)\n"
      "  --sessions       static-key sessions (default 16)\n"
      "  --records        records per session in each data pcap (default 4)\n"
      "  --flood-frames   ClientHellos in the flood pcap (default 256)\n"
      "  --seed           every random byte derives from it (default 1)\n",
      stderr);
}

bool number(const char* text, uint64_t max, uint64_t& out) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0' || v > max) {
    return false;
  }
  out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  PcapOptions o;
  std::string out = ".";
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) {
      usage();
      return 2;
    }
    const char* v = argv[++i];
    uint64_t n = 0;
    bool ok = true;
    if (a == "--out") {
      out = v;
    } else if (a == "--gateway-mac" || a == "--generator-mac" || a == "--backend-mac") {
      const auto mac = dtlsgw::dataplane::parse_mac(v);
      ok = mac.has_value();
      if (ok) {
        (a == "--gateway-mac"     ? o.gateway_mac
         : a == "--generator-mac" ? o.generator_mac
                                  : o.backend_mac) = *mac;
      }
    } else if (a == "--gateway-ip") {
      // Its .254 in the /24 is the generator (the outside next hop).
      const auto ip = dtlsgw::dataplane::parse_ipv4(v);
      const uint32_t last = ip ? ntohl(ip->be) & 255 : 0;
      ok = ip.has_value() && last != 0 && last < 254;
      if (ok) {
        o.gateway_address = *ip;
      }
    } else if (a == "--listener") {
      ok = number(v, 65535, n) && n > 0;
      o.listener_port = static_cast<uint16_t>(n);
    } else if (a == "--sessions") {
      // The static-keys file's own bound is higher; a pcap of more would
      // not fit a generator's replay pool anyway.
      ok = number(v, 1'000'000, n) && n > 0;
      o.sessions = static_cast<uint32_t>(n);
    } else if (a == "--records") {
      ok = number(v, 1'000'000, n) && n > 0;
      o.records_per_session = static_cast<uint32_t>(n);
    } else if (a == "--flood-frames") {
      ok = number(v, 1'000'000, n) && n > 0;
      o.flood_frames = n;
    } else if (a == "--seed") {
      ok = number(v, UINT64_MAX, n);
      o.seed = n;
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "make_pcaps: bad option %s %s\n", argv[i - 1], v);
      usage();
      return 2;
    }
  }
  if (static_cast<uint64_t>(o.sessions) * o.records_per_session > 1'000'000) {
    std::fputs("make_pcaps: --sessions x --records must be at most 1,000,000 frames\n", stderr);
    return 2;
  }
  std::string error;
  if (!dtlsgw::pktgen::write_all(o, out, error)) {
    std::fprintf(stderr, "make_pcaps: %s\n", error.c_str());
    return 1;
  }
  return 0;
}
