// The dataplane process's resources, made once after rte_eal_init: ports,
// mempools, the shared rings and the ready memzone of the contract, the
// session table and one Worker per worker lcore. main.cc and the
// in-process tests both build it from a Config.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/config.h"
#include "dataplane/worker.h"

struct rte_memzone;

namespace dtlsgw::dataplane {

class Dataplane {
 public:
  struct Options {
    // Tests on rings skip device configuration when the ports are
    // already set up (rte_eth_from_rings) and poll workers themselves.
    bool configure_ports = true;
    // Allow the static-keys file (benchmark builds only).
    bool allow_static_keys = false;
  };
  static std::unique_ptr<Dataplane> create(const Config& config, const Options& options,
                                           std::string& error);
  ~Dataplane();
  Dataplane(const Dataplane&) = delete;
  Dataplane& operator=(const Dataplane&) = delete;

  DataplaneContext& context() { return ctx_; }
  Worker& worker(unsigned i) { return *workers_[i]; }
  unsigned worker_count() const { return static_cast<unsigned>(workers_.size()); }
  SessionTable& sessions() { return *sessions_; }

  // Starts each worker's loop on its configured lcore.
  [[nodiscard]] bool launch(std::string& error);
  // Stops the loops and waits for them.
  void stop();
  // Main-lcore duties, called about every 100 ms: the heartbeat.
  void tick();

  // Totals over workers, and one line for the log.
  uint64_t total(Counter c) const;
  std::string summary_line() const;
  // Memory per session: the table's share, the replay window, and the key
  // schedules of each suite (both directions), with the total at capacity.
  std::string memory_report() const;

 private:
  Dataplane() = default;
  bool set_up_port(uint16_t port, unsigned queues, bool& checksum_offload, MacAddress& mac,
                   std::string& error);
  bool load_static_keys(std::string& error);

  DataplaneContext ctx_;
  std::unique_ptr<SessionTable> sessions_;
  std::vector<std::unique_ptr<Worker>> workers_;
  const rte_memzone* ready_zone_ = nullptr;
  std::atomic<bool> stop_{false};
  bool launched_ = false;
  std::vector<uint16_t> started_ports_;
};

// Registers /dtlsgw/stats, /dtlsgw/counters and /dtlsgw/sessions with DPDK
// telemetry (dpdk-telemetry.py); they read `dataplane` until it is gone.
void register_telemetry(Dataplane* dataplane);

}  // namespace dtlsgw::dataplane
