// dtlsgw-loadgen data: records of static-key sessions through the gateway,
// checked on the way out (bench/README.md, "Load generator").
//
//   open   peers → outside port: DTLS 1.2 application_data records (epoch 1,
//          increasing sequence numbers per session, sessions in uniform
//          random order); the backends receive the plaintext on the inside
//          port.
//   seal   backends → inside port: plaintext to each session's inside flow
//          (whose source port the gateway chose: learned in a warm-up of one
//          record per session); the peers receive records on the outside
//          port and read them with the server keys.
//   plain  plain datagrams outside → inside with no crypto, for measuring a
//          forwarder on the same ports (testpmd in io mode: t_io).
//
// Every payload starts with a stamp (data_stamp.h): session, sequence,
// send time, phase. Every received packet's stamp, length and addresses
// are checked; every Nth also gets a full check (--check-every: the whole
// plaintext, and in the seal direction the record's tag). One lcore drives
// both ports. AES-GCM records come from record_gcm.h, whose cost does not
// grow with the size, so the generator outruns the gateway's core; the
// other suites (the static-keys file's suite= of each session) are sealed
// and opened by the record layer (data_sessions.h): valid, but then the
// generator costs what the gateway does, so they measure coverage, not
// throughput.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "bench/loadgen/data_options.h"
#include "bench/loadgen/data_raw_aead.h"
#include "bench/loadgen/data_report.h"
#include "bench/loadgen/data_sessions.h"
#include "bench/loadgen/data_traffic.h"
#include "bench/loadgen/modes.h"
#include "bench/loadgen/port_setup.h"
#include "dataplane/config.h"
#include "dataplane/static_keys.h"

namespace dtlsgw::loadgen {

namespace {

bool resolve_port(const std::string& text, uint16_t fallback, uint16_t& port, std::string& error) {
  if (text.empty()) {
    port = fallback;
  } else if (!port_by_name(text, port)) {
    unsigned id = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || end != text.data() + text.size() || id >= RTE_MAX_ETHPORTS) {
      error = "no DPDK port named '" + text + "'";
      return false;
    }
    port = static_cast<uint16_t>(id);
  }
  if (!rte_eth_dev_is_valid_port(port)) {
    error = "no DPDK port " + std::to_string(port) + " (" +
            std::to_string(rte_eth_dev_count_avail()) + " found; check --vdev / -a)";
    return false;
  }
  return true;
}

int run(const DataOptions& o, int eal_argc, char** argv) {
  std::string error;
  const auto config = dataplane::load_config(o.config_path, error);
  if (!config) {
    std::fprintf(stderr, "dtlsgw-loadgen data: %s\n", error.c_str());
    return 2;
  }
  const std::string keys_path =
      o.static_keys_path.empty() ? config->static_keys : o.static_keys_path;
  if (keys_path.empty()) {
    std::fprintf(stderr,
                 "dtlsgw-loadgen data: no static keys (--static-keys, or dataplane.static_keys "
                 "in %s)\n",
                 o.config_path.c_str());
    return 2;
  }
  const auto keys = dataplane::StaticKeys::load(keys_path, error);
  if (!keys) {
    std::fprintf(stderr, "dtlsgw-loadgen data: %s\n", error.c_str());
    return 2;
  }
  DataSessions sessions;
  const bool crypto = o.direction != DataDirection::plain;
  if (!sessions.build(*config, *keys, o.sessions, crypto, o.first_sequence, error)) {
    std::fprintf(stderr, "dtlsgw-loadgen data: %s\n", error.c_str());
    return 2;
  }
  if (crypto) {
    sessions.use_keys(true);
  } else {
    sessions.shape_for(kStampLength);  // unused, but indexable
  }

  if (rte_eal_init(eal_argc, argv) < 0) {
    std::fprintf(stderr, "dtlsgw-loadgen data: EAL initialisation failed: %s\n",
                 rte_strerror(rte_errno));
    return 2;
  }
  int status = 0;
  uint16_t outside = 0;
  uint16_t inside = 0;
  rte_mempool* pool = nullptr;
  if (!resolve_port(o.outside_port, config->outside.port_id, outside, error) ||
      !resolve_port(o.inside_port, config->inside.port_id, inside, error)) {
    status = 2;
  } else if ((pool = rte_pktmbuf_pool_create("loadgen_data", o.mbufs, 256, 0,
                                             RTE_MBUF_DEFAULT_BUF_SIZE,
                                             static_cast<int>(rte_socket_id()))) == nullptr) {
    error = std::string("cannot create the mbuf pool: ") + rte_strerror(rte_errno);
    status = 2;
  } else if (!start_port({outside}, pool, error) || !start_port({inside}, pool, error)) {
    status = 2;
  }
  DataReport report;
  if (status == 0) {
    DataTraffic traffic(o, *config, sessions, pool, outside, inside);
    if (!traffic.wait_for_links(error)) {
      status = 2;
    } else {
      report.gateway_macs = traffic.resolve_gateway_macs();
      std::fprintf(stderr, "dtlsgw-loadgen data: gateway MACs: %s\n", report.gateway_macs.c_str());
      if (o.direction == DataDirection::seal) {
        const size_t missing = traffic.learn_inside_ports();
        if (missing != 0) {
          error = std::to_string(missing) + " of " + std::to_string(sessions.size()) +
                  " sessions never answered the warm-up (no plaintext on the inside port)";
          status = 1;
        } else {
          sessions.use_keys(false);
        }
      }
      report.direction = to_string(o.direction);
      report.suite = crypto ? std::string(record::to_string(sessions.aead(0))) : "none";
      report.sessions = sessions.size();
      report.rate = o.rate;
      report.duration = o.duration;
      report.warmup = o.warmup;
      report.check_every = o.check_every;
      report.outside_port = std::to_string(outside);
      report.inside_port = std::to_string(inside);
      for (size_t i = 0; status == 0 && i < o.sizes.size(); ++i) {
        report.sizes.push_back(traffic.run_size(o.sizes[i], static_cast<uint32_t>(i)));
      }
      if (status == 0) {
        print_table(report);
        for (const SizeResult& s : report.sizes) {
          for (size_t f = 0; f < kVerifyFailureCount; ++f) {
            if (s.failures[f] != 0) {
              std::fprintf(stderr, "dtlsgw-loadgen data: %u B: %llu packets failed: %s\n", s.size,
                           static_cast<unsigned long long>(s.failures[f]),
                           to_string(static_cast<VerifyFailure>(f)));
            }
          }
        }
        if (report.any_failure()) {
          status = 1;
        }
        for (size_t i = 0; i < sessions.size(); ++i) {
          report.next_first_sequence =
              std::max(report.next_first_sequence, sessions[i].next_sequence);
        }
        if (crypto && !report.sizes.empty() && report.sizes[0].sent != 0 &&
            report.sizes[0].received * 10 < report.sizes[0].sent) {
          // Not a verification failure, but worth a hint: a likely cause.
          std::fprintf(stderr,
                       "dtlsgw-loadgen data: over 90%% lost; if the dataplane saw an earlier "
                       "run, it drops the same sequence numbers as replays (RFC 6347 "
                       "§4.1.2.6): restart it or pass --first-sequence %llu\n",
                       static_cast<unsigned long long>(report.next_first_sequence));
        }
        if (!o.json_path.empty()) {
          std::ofstream(o.json_path) << to_json(report);
        }
      }
    }
  }
  if (status != 0 && !error.empty()) {
    std::fprintf(stderr, "dtlsgw-loadgen data: %s\n", error.c_str());
  }
  stop_ports();
  rte_eal_cleanup();
  return status;
}

}  // namespace

int run_data_mode(int argc, char** argv) {
  int own = 1;
  while (own < argc && std::strcmp(argv[own], "--") != 0) {
    ++own;
  }
  std::string error;
  const auto options = parse_data_options(argc, argv, own + 1, error);
  if (!options) {
    std::fprintf(stderr, "dtlsgw-loadgen data: %s\n", error.c_str());
    print_data_usage(argv[0]);
    return 2;
  }
  if (options->help) {
    print_data_usage(argv[0]);
    return 0;
  }
  if (options->raw_aead) {
    const auto results = measure_raw_aead(options->sizes, options->duration / 8);
    const std::string json = raw_aead_json(results);
    if (!options->json_path.empty()) {
      std::ofstream(options->json_path) << json;
    }
    std::fputs(json.c_str(), stdout);
    return 0;
  }
  return run(*options, own, argv);
}

}  // namespace dtlsgw::loadgen
