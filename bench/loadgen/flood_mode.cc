// dtlsgw-loadgen flood: cookieless ClientHellos from spoofed sources toward
// the gateway's listener, at a set rate or as fast as the port takes them;
// counts the HelloVerifyRequests that come back to those sources.
//
// The gateway's dataplane answers a cookieless ClientHello itself, without
// state (RFC 6347 §4.2.1): the flood measures that path and, from outside
// this program, that the control process stays idle meanwhile
// (bench/control_scenario.py). Every answer is checked: addressed to a
// source we could have sent from (flood_hello.h, spoofed_source), from the
// listener, a HelloVerifyRequest with a cookie.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench/loadgen/flood_hello.h"
#include "bench/loadgen/frames_port.h"
#include "bench/loadgen/frames_setup.h"
#include "bench/loadgen/modes.h"
#include "bench/loadgen/port_setup.h"
#include "dataplane/config.h"

namespace dtlsgw::loadgen {

namespace {

struct FloodOptions {
  std::string config;
  std::string outside_port = "0";
  double rate = 0;  // ClientHellos per second; 0: as fast as possible
  double duration_s = 10;
  std::string json;
};

void flood_usage() {
  std::fputs(
      "usage: dtlsgw-loadgen flood [EAL arguments] -- --config FILE [options]\n"
      "  --config FILE        the gateway's TOML (outside address, first listener's port)\n"
      "  --outside-port P     DPDK port (name or id) facing the gateway's outside (0)\n"
      "  --rate PPS           ClientHellos per second; 0 = as fast as possible (0)\n"
      "  --duration S         seconds of flood (10)\n"
      "  --json FILE          write the results as JSON\n",
      stderr);
}

bool parse_flood_options(const std::vector<std::string>& args, FloodOptions& o) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "--help" || a == "-h") {
      return false;
    }
    if (!has_value) {
      std::fprintf(stderr, "dtlsgw-loadgen flood: %s needs a value\n", a.c_str());
      return false;
    }
    const std::string& v = args[++i];
    bool ok = true;
    if (a == "--config") {
      o.config = v;
    } else if (a == "--outside-port") {
      o.outside_port = v;
    } else if (a == "--rate") {
      ok = parse_number(v, 0, 1e9, o.rate);
    } else if (a == "--duration") {
      ok = parse_number(v, 0.1, 86400, o.duration_s);
    } else if (a == "--json") {
      o.json = v;
    } else {
      std::fprintf(stderr, "dtlsgw-loadgen flood: unknown option %s\n", a.c_str());
      return false;
    }
    if (!ok) {
      std::fprintf(stderr, "dtlsgw-loadgen flood: bad value for %s: '%s'\n", a.c_str(), v.c_str());
      return false;
    }
  }
  if (o.config.empty()) {
    std::fputs("dtlsgw-loadgen flood: --config is required\n", stderr);
    return false;
  }
  return true;
}

struct FloodCounts {
  uint64_t sent = 0;     // accepted by the port
  uint64_t tx_full = 0;  // bursts the port took only part of (ring full)
  uint64_t no_mbuf = 0;
  uint64_t hello_verify = 0;      // good HelloVerifyRequests to our sources
  uint64_t not_hello_verify = 0;  // from the listener, but not a good HVR
  uint64_t not_ours = 0;          // other frames (ARP, other addresses)
};

// Counts the frames of a burst: HelloVerifyRequests from the listener to
// one of our spoofed sources, bad answers, and the rest.
void count_answers(std::span<rte_mbuf*> burst, Ipv4 gateway, uint16_t listener, uint64_t key,
                   FloodCounts& c) {
  for (rte_mbuf* m : burst) {
    const uint8_t* data = rte_pktmbuf_mtod(m, const uint8_t*);
    packet::Frame frame;
    const auto r = packet::parse_frame({data, rte_pktmbuf_data_len(m)}, frame);
    if (r != packet::FrameResult::udp || frame.source != gateway || frame.source_port != listener ||
        !is_spoofed_source(frame.destination, frame.destination_port, key)) {
      ++c.not_ours;
      continue;
    }
    HelloVerifyRequest hvr;
    if (parse_hello_verify_request({data + frame.payload_offset, frame.payload_length}, hvr) ==
        HelloVerifyResult::ok) {
      ++c.hello_verify;
    } else {
      ++c.not_hello_verify;
    }
  }
}

int flood(const FloodOptions& o, const dataplane::Config& config) {
  std::string error;
  uint16_t port = 0;
  if (!parse_port(o.outside_port, port)) {
    std::fprintf(stderr, "dtlsgw-loadgen flood: no port '%s'\n", o.outside_port.c_str());
    return 2;
  }
  rte_mempool* pool = nullptr;
  if (!start_ports({port}, 8191, pool, 10000, error)) {
    std::fprintf(stderr, "dtlsgw-loadgen flood: %s\n", error.c_str());
    return 2;
  }
  ClientHelloTemplate hello;
  if (!hello.init(record_openssl_client_hello(error), error)) {
    std::fprintf(stderr, "dtlsgw-loadgen flood: %s\n", error.c_str());
    return 2;
  }
  const MacAddress our_mac = port_mac_address(port);
  const Ipv4 gateway = config.outside.address;
  const uint16_t listener = config.listeners.front().port;
  // The gateway's MAC, so that the frames are addressed to it; a device
  // that filters by MAC would drop broadcast ones.
  MacAddress gateway_mac = kBroadcastMac;
  const Ipv4 asker{__builtin_bswap32(0xc6120001)};  // 198.18.0.1 (RFC 2544)
  if (!resolve_mac(port, pool, our_mac, asker, gateway, std::chrono::milliseconds(2000),
                   gateway_mac)) {
    std::fputs("dtlsgw-loadgen flood: the gateway did not answer ARP; sending to broadcast\n",
               stderr);
  }

  std::random_device device;
  uint64_t rng = (static_cast<uint64_t>(device()) << 32) | device();
  const uint64_t key = splitmix64(rng);

  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t start = rte_get_tsc_cycles();
  const uint64_t end = start + static_cast<uint64_t>(o.duration_s * static_cast<double>(hz));
  // Answers still in flight when sending stops are awaited this long.
  const uint64_t drain_end = end + hz / 5;
  uint64_t next_progress = start + hz;
  FloodCounts c;
  FloodCounts last;
  uint64_t built = 0;
  unsigned pending = 0;
  uint64_t sequence = 0;
  constexpr unsigned kBurst = 32;
  rte_mbuf* tx[kBurst];
  rte_mbuf* rx[kBurst];
  uint64_t now = start;
  while (now < drain_end) {
    now = rte_get_tsc_cycles();
    if (now < end) {
      // Built packets the port has not taken yet stay at the front of
      // `tx` and go first: at the maximum rate the port (the peer's
      // polling) sets the pace, and nothing is built only to be freed.
      unsigned want = kBurst - pending;
      if (o.rate > 0) {
        const auto due = static_cast<uint64_t>(static_cast<double>(now - start) * o.rate /
                                               static_cast<double>(hz));
        want = due > built ? static_cast<unsigned>(std::min<uint64_t>(due - built, want)) : 0;
      }
      if (want > 0 && rte_pktmbuf_alloc_bulk(pool, tx + pending, want) != 0) {
        ++c.no_mbuf;
        want = 0;
      }
      for (unsigned i = pending; i < pending + want; ++i) {
        const SpoofedSource s = spoofed_source(splitmix64(rng), key);
        packet::UdpEndpoints e;
        e.source_mac = our_mac;
        e.destination_mac = gateway_mac;
        e.source = s.address;
        e.destination = gateway;
        e.source_port = s.port;
        e.destination_port = listener;
        uint8_t* p = rte_pktmbuf_mtod(tx[i], uint8_t*);
        packet::write_udp_headers(p, e, hello.size(), static_cast<uint16_t>(sequence));
        uint64_t random[4] = {splitmix64(rng), splitmix64(rng), splitmix64(rng), splitmix64(rng)};
        hello.write(p + packet::udp_headers_length(false), reinterpret_cast<uint8_t*>(random),
                    sequence++);
        tx[i]->data_len = static_cast<uint16_t>(packet::udp_headers_length(false) + hello.size());
        tx[i]->pkt_len = tx[i]->data_len;
      }
      built += want;
      pending += want;
      if (pending > 0) {
        const uint16_t done = rte_eth_tx_burst(port, 0, tx, static_cast<uint16_t>(pending));
        c.sent += done;
        if (done < pending) {
          ++c.tx_full;
          std::memmove(tx, tx + done, (pending - done) * sizeof(tx[0]));
        }
        pending -= done;
      }
    }
    // Receive until the ring is empty: the answers come as fast as we
    // send, and a ring left to fill while we were descheduled (this lcore
    // shares its CPU) loses them.
    uint16_t n = 0;
    do {
      n = rte_eth_rx_burst(port, 0, rx, kBurst);
      count_answers({rx, n}, gateway, listener, key, c);
      if (n > 0) {
        rte_pktmbuf_free_bulk(rx, n);
      }
    } while (n == kBurst);
    if (now >= next_progress && now < end) {
      next_progress += hz;
      std::fprintf(stderr,
                   "flood %5.1fs: %9" PRIu64 " ClientHello/s  %9" PRIu64
                   " HelloVerifyRequest/s  tx full %" PRIu64 "  bad %" PRIu64 "\n",
                   static_cast<double>(now - start) / static_cast<double>(hz), c.sent - last.sent,
                   c.hello_verify - last.hello_verify, c.tx_full - last.tx_full,
                   c.not_hello_verify);
      last = c;
    }
  }
  if (pending > 0) {
    rte_pktmbuf_free_bulk(tx, pending);
  }
  const double seconds = static_cast<double>(end - start) / static_cast<double>(hz);
  const double sent_rate = static_cast<double>(c.sent) / seconds;
  const double hvr_rate = static_cast<double>(c.hello_verify) / seconds;
  const double ratio =
      c.sent == 0 ? 0 : static_cast<double>(c.hello_verify) / static_cast<double>(c.sent);
  std::printf("flood: %.1f s, ClientHello %zu B\n", seconds, hello.size());
  std::printf("  ClientHellos sent      %12" PRIu64 "  (%.0f/s; ring full %" PRIu64 " times)\n",
              c.sent, sent_rate, c.tx_full);
  std::printf("  HelloVerifyRequests    %12" PRIu64 "  (%.0f/s)\n", c.hello_verify, hvr_rate);
  std::printf("  HVR / ClientHello      %12.4f\n", ratio);
  std::printf("  bad answers            %12" PRIu64 "\n", c.not_hello_verify);
  std::printf("  other frames           %12" PRIu64 "\n", c.not_ours);
  if (!o.json.empty()) {
    std::FILE* f = std::fopen(o.json.c_str(), "w");
    if (f == nullptr) {
      std::fprintf(stderr, "dtlsgw-loadgen flood: cannot write %s\n", o.json.c_str());
      return 2;
    }
    std::fprintf(f, "{\n  \"mode\": \"flood\",\n");
    std::fprintf(f, "  \"duration_s\": %.3f,\n", seconds);
    std::fprintf(f, "  \"rate_target\": %.0f,\n", o.rate);
    std::fprintf(f, "  \"client_hello_bytes\": %zu,\n", hello.size());
    std::fprintf(f, "  \"client_hellos_sent\": %" PRIu64 ",\n", c.sent);
    std::fprintf(f, "  \"client_hellos_per_s\": %.1f,\n", sent_rate);
    std::fprintf(f, "  \"tx_ring_full\": %" PRIu64 ",\n", c.tx_full);
    std::fprintf(f, "  \"no_mbuf\": %" PRIu64 ",\n", c.no_mbuf);
    std::fprintf(f, "  \"hello_verify_requests\": %" PRIu64 ",\n", c.hello_verify);
    std::fprintf(f, "  \"hello_verify_requests_per_s\": %.1f,\n", hvr_rate);
    std::fprintf(f, "  \"ratio\": %.6f,\n", ratio);
    std::fprintf(f, "  \"bad_answers\": %" PRIu64 ",\n", c.not_hello_verify);
    std::fprintf(f, "  \"other_frames\": %" PRIu64 "\n}\n", c.not_ours);
    std::fclose(f);
  }
  // Bad answers mean the gateway's HelloVerifyRequests are wrong.
  return c.not_hello_verify == 0 ? 0 : 1;
}

}  // namespace

int run_flood_mode(int argc, char** argv) {
  std::vector<std::string> args;
  std::string error;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      flood_usage();
      return 0;
    }
  }
  if (!init_eal(argc, argv, args, error)) {
    std::fprintf(stderr, "dtlsgw-loadgen flood: %s\n", error.c_str());
    return 2;
  }
  FloodOptions options;
  int status = 2;
  if (!parse_flood_options(args, options)) {
    flood_usage();
  } else if (auto config = dataplane::load_config(options.config, error); !config) {
    std::fprintf(stderr, "dtlsgw-loadgen flood: %s\n", error.c_str());
  } else {
    status = flood(options, *config);
  }
  stop_ports();
  rte_eal_cleanup();
  return status;
}

}  // namespace dtlsgw::loadgen
