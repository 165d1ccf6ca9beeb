// dtlsgw-dataplane: the DPDK primary process.
//
//   dtlsgw-dataplane [EAL arguments] -- --config FILE [--check-config]
//
// EAL arguments come first (lcores with -l, the first being the main lcore
// that runs no worker; devices with -a or --vdev; --file-prefix), then
// dtlsgw's own after "--". SIGINT and SIGTERM stop it cleanly.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "dataplane/config.h"
#include "dataplane/dataplane.h"

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true); }

void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [EAL arguments] -- --config FILE [--check-config]\n"
               "  --config FILE    the gateway's TOML configuration\n"
               "  --check-config   validate FILE and exit\n",
               argv0);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dtlsgw::dataplane;
  // Our own arguments are read first so --check-config needs no EAL.
  int own = 1;
  while (own < argc && std::strcmp(argv[own], "--") != 0) {
    ++own;
  }
  std::string config_path;
  bool check_only = false;
  for (int i = own + 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      config_path = argv[++i];
    } else if (std::strcmp(argv[i], "--check-config") == 0) {
      check_only = true;
    } else {
      usage(argv[0]);
      return 2;
    }
  }
  if (config_path.empty()) {
    usage(argv[0]);
    return 2;
  }
  std::string error;
  auto config = load_config(config_path, error);
  if (!config) {
    std::fprintf(stderr, "dtlsgw-dataplane: %s\n", error.c_str());
    return 1;
  }
  if (check_only) {
    std::printf("%s: OK\n", config_path.c_str());
    return 0;
  }

  const int consumed = rte_eal_init(own, argv);
  if (consumed < 0) {
    std::fprintf(stderr, "dtlsgw-dataplane: EAL initialisation failed: %s\n",
                 rte_strerror(rte_errno));
    return 1;
  }
  if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
    std::fprintf(stderr, "dtlsgw-dataplane: must be the primary process (--proc-type)\n");
    rte_eal_cleanup();
    return 1;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  Dataplane::Options options;
#ifdef DTLSGW_STATIC_KEYS
  options.allow_static_keys = true;
#endif
  int status = 0;
  {
    auto dataplane = Dataplane::create(*config, options, error);
    if (!dataplane) {
      std::fprintf(stderr, "dtlsgw-dataplane: %s\n", error.c_str());
      status = 1;
    } else if (!dataplane->launch(error)) {
      std::fprintf(stderr, "dtlsgw-dataplane: %s\n", error.c_str());
      status = 1;
    } else {
      register_telemetry(dataplane.get());
      std::printf("dtlsgw-dataplane: %s\n", dataplane->memory_report().c_str());
      std::printf("dtlsgw-dataplane: running, %u workers, %zu listeners on %s\n",
                  dataplane->worker_count(), config->listeners.size(),
                  to_string(config->outside.address).c_str());
      std::fflush(stdout);
      const auto interval = config->summary_interval;
      auto next_summary = std::chrono::steady_clock::now() + interval;
      while (!g_stop.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        dataplane->tick();
        if (interval.count() != 0 && std::chrono::steady_clock::now() >= next_summary) {
          next_summary += interval;
          std::printf("dtlsgw-dataplane: %s\n", dataplane->summary_line().c_str());
          std::fflush(stdout);
        }
      }
      std::printf("dtlsgw-dataplane: stopping: %s\n", dataplane->summary_line().c_str());
      register_telemetry(nullptr);
      dataplane->stop();
    }
  }
  rte_eal_cleanup();
  return status;
}
