// dtlsgw-control: the control process, a DPDK secondary attached to a
// running dtlsgw-dataplane.
//
//   dtlsgw-control -l <lcore> --proc-type=secondary --file-prefix <same as
//       the dataplane> -- --config FILE [--wait SECONDS]
//
// It waits for the dataplane's ready memzone (up to --wait seconds, default
// 30), then runs the handshakes. SIGHUP reloads certificates and PSKs from
// FILE; SIGINT and SIGTERM stop it. It exits with a clear message when the
// dataplane goes away: a primary cannot restart under a live secondary.
#include <rte_eal.h>
#include <rte_errno.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "control/control.h"

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

void on_stop(int) { g_stop.store(true); }
void on_hangup(int) { g_reload.store(true); }

void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [EAL arguments] -- --config FILE [--wait SECONDS]\n"
               "  EAL: --proc-type=secondary and the dataplane's --file-prefix; an lcore of "
               "its own (-l)\n",
               argv0);
}

void log_line(const std::string& s) {
  std::printf("dtlsgw-control: %s\n", s.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dtlsgw;
  int own = 1;
  while (own < argc && std::strcmp(argv[own], "--") != 0) {
    ++own;
  }
  std::string config_path;
  int wait_s = 30;
  for (int i = own + 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      config_path = argv[++i];
    } else if (std::strcmp(argv[i], "--wait") == 0 && i + 1 < argc) {
      wait_s = std::atoi(argv[++i]);
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
  auto config = dataplane::load_config(config_path, error);
  if (!config) {
    std::fprintf(stderr, "dtlsgw-control: %s\n", error.c_str());
    return 1;
  }
  if (rte_eal_init(own, argv) < 0) {
    std::fprintf(stderr, "dtlsgw-control: EAL initialisation failed: %s\n",
                 rte_strerror(rte_errno));
    return 1;
  }
  if (rte_eal_process_type() != RTE_PROC_SECONDARY) {
    std::fprintf(stderr, "dtlsgw-control: run it as a secondary process "
                         "(--proc-type=secondary, the dataplane's --file-prefix)\n");
    rte_eal_cleanup();
    return 1;
  }
  std::signal(SIGINT, on_stop);
  std::signal(SIGTERM, on_stop);
  std::signal(SIGHUP, on_hangup);

  control::Attachment shm;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
  while (!control::attach(shm, error)) {
    if (g_stop.load() || std::chrono::steady_clock::now() >= give_up) {
      std::fprintf(stderr, "dtlsgw-control: %s\n", error.c_str());
      rte_eal_cleanup();
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  int status = 0;
  {
    auto control = control::Control::create(*config, shm, error);
    if (!control) {
      std::fprintf(stderr, "dtlsgw-control: %s\n", error.c_str());
      rte_eal_cleanup();
      return 1;
    }
    shm.ready->control_pid.store(static_cast<uint32_t>(getpid()));
    log_line("attached to the dataplane (" + std::to_string(shm.workers) + " workers)");

    const auto interval = config->summary_interval.count() != 0
                              ? std::chrono::milliseconds(config->summary_interval)
                              : std::chrono::milliseconds(5000);
    auto next_status = std::chrono::steady_clock::now() + interval;
    auto next_check = std::chrono::steady_clock::now();
    uint64_t last_heartbeat = shm.ready->dataplane_heartbeat.load();
    auto heartbeat_seen = std::chrono::steady_clock::now();
    while (!g_stop.load()) {
      const auto now = control::Clock::now();
      const unsigned handled = control->poll(now);
      if (g_reload.exchange(false)) {
        auto fresh = dataplane::load_config(config_path, error);
        if (fresh && control->reload(*fresh, error)) {
          log_line("reloaded certificates and PSKs from " + config_path);
        } else {
          log_line("reload refused, keeping the running configuration: " + error);
        }
      }
      if (now >= next_check) {
        next_check = now + std::chrono::milliseconds(250);
        const uint64_t beat = shm.ready->dataplane_heartbeat.load();
        if (beat != last_heartbeat) {
          last_heartbeat = beat;
          heartbeat_seen = now;
        }
        if (!rte_eal_primary_proc_alive(nullptr) ||
            shm.ready->magic != contract::kReadyMagic ||
            now - heartbeat_seen > std::chrono::seconds(3)) {
          log_line("the dataplane is gone (no heartbeat); exiting. Restart the dataplane, "
                   "then this process.");
          status = 1;
          break;
        }
      }
      if (now >= next_status) {
        next_status += interval;
        log_line(control->status_line());
      }
      if (handled == 0) {
        // Idle: sleep a little (at most 200 µs of extra handshake latency)
        // unless a timer is due sooner.
        const auto wake = std::min(control->next_wakeup(now),
                                   now + std::chrono::microseconds(200));
        std::this_thread::sleep_until(wake);
      }
    }
    log_line("stopping: " + control->status_line());
    if (shm.ready->magic == contract::kReadyMagic) {
      shm.ready->control_pid.store(0);
    }
  }
  rte_eal_cleanup();
  return status;
}
