// One worker lcore's run-to-completion loop (DESIGN.md, "Data path"):
//
//   outside rx burst → parse → walk the DTLS records → HelloVerifyRequest
//   for cookieless ClientHellos → punt (token bucket) → batched open with
//   replay pre-check and post-authentication commit → plaintext UDP to the
//   backend; inside rx burst → find the session → batched seal → send.
//
// Plus, per loop: packets handed over by other workers, the worker's keys
// ring (handover, close), the ctl-tx ring (worker 0 only), and a slice of
// the idle sweep. poll() is one iteration, so tests drive workers from
// their own thread, deterministically; run() loops until told to stop.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/config.h"
#include "dataplane/contract.h"
#include "dataplane/counters.h"
#include "dataplane/neighbors.h"
#include "dataplane/session_table.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

namespace dtlsgw::dataplane {

inline constexpr uint16_t kNoListener = UINT16_MAX;

struct Listener {
  uint16_t port = 0;  // host order
  IpAddress backend;  // IPv4 (mapped) or IPv6
  uint16_t backend_port = 0;
  uint16_t backend_pool = 0;  // source-port pool (one per distinct backend)
  uint16_t next_hop = 0;  // Neighbors index
  // What the per-record forward path reads of the listener's configuration,
  // here beside the backend so it costs no other cache line.
  bool proxy_protocol = false;
  bool listener_rate_limited = false;  // listener_rate != 0
  uint32_t session_rate = 0;           // datagrams/s, 0: none
  uint32_t session_burst = 0;
};

// What every worker shares: made once by the Dataplane (or a test).
struct DataplaneContext {
  Config config;
  unsigned workers = 1;
  uint16_t outside_port = 0;
  uint16_t inside_port = 0;
  MacAddress outside_mac;
  MacAddress inside_mac;
  // Queue `i` of each port belongs to worker `i`.
  std::vector<Listener> listeners;
  std::vector<uint16_t> listener_by_port = std::vector<uint16_t>(65536, kNoListener);
  unsigned backends = 0;
  // The distinct backends (address, port), indexed by Listener::backend_pool
  // and InsideKey::backend, and a small open-addressing index over them
  // (at most 256 listeners, so 512 slots; kNoBackend in empty ones).
  std::vector<std::pair<IpAddress, uint16_t>> backend_list;
  std::array<uint16_t, 512> backend_index{};
  // The inside source addresses (inside.source_addresses, or the inside
  // addresses), indexed by InsideKey::local_address; IPv4 mapped.
  std::vector<IpAddress> inside_sources;
  // The gateway's own outside addresses as the data path compares them
  // (IPv4 mapped; the IPv6 one all-zero, which no packet carries, when not
  // configured), and whether there is an IPv6 one.
  IpAddress outside_v4;
  IpAddress outside_v6;
  bool outside_has_v6 = false;
  Neighbors neighbors;
  SessionTable* sessions = nullptr;
  rte_mempool* pool = nullptr;       // frames the workers build
  rte_mempool* punt_pool = nullptr;  // contract::kPuntPoolName
  rte_ring* punt = nullptr;
  rte_ring* ctl_tx = nullptr;
  rte_ring* events = nullptr;
  rte_ring* keys[contract::kMaxWorkers] = {};
  rte_ring* handoff[contract::kMaxWorkers] = {};  // mbufs for worker i
  contract::ReadyZone* ready = nullptr;
  std::unique_ptr<WorkerCounters[]> counters;  // one per worker
  uint64_t tsc_hz = 0;
  // Whether the devices fill IPv4 and UDP checksums (else software).
  bool outside_checksum_offload = false;
  bool inside_checksum_offload = false;

  // Fills listeners, listener_by_port, neighbors from `config`.
  void index_configuration();
  // The worker that owns the flow (and so its session).
  unsigned owner_of(const contract::FlowKey& flow) const;
  // The worker that owns an inside source port (ports are dealt out
  // round-robin, so the inside direction needs no lookup to find it).
  unsigned owner_of_local_port(uint16_t port) const {
    return (port - config.inside.source_port_first) % workers;
  }
  // The backend index of a datagram from `address`:`port` on the inside,
  // or kNoBackend.
  uint16_t backend_of(const IpAddress& address, uint16_t port) const {
    for (uint32_t h = backend_hash(address, port);; ++h) {
      const uint16_t i = backend_index[h % backend_index.size()];
      if (i == kNoBackend || (backend_list[i].first == address && backend_list[i].second == port)) {
        return i;
      }
    }
  }
  // The index of an inside source address, or kNoSource.
  uint8_t inside_source_of(const IpAddress& address) const {
    for (size_t i = 0; i < inside_sources.size(); ++i) {
      if (inside_sources[i] == address) {
        return static_cast<uint8_t>(i);
      }
    }
    return kNoSource;
  }
  static constexpr uint16_t kNoBackend = UINT16_MAX;
  static constexpr uint8_t kNoSource = UINT8_MAX;
  static uint32_t backend_hash(const IpAddress& address, uint16_t port) {
    uint64_t high, low;
    std::memcpy(&high, address.bytes, 8);
    std::memcpy(&low, address.bytes + 8, 8);
    const uint64_t h = ((high * 0x9e3779b97f4a7c15ull) ^ low ^ port) * 0x9e3779b97f4a7c15ull;
    return static_cast<uint32_t>(h >> 40);
  }
  // The gateway's outside address of `peer`'s family (the listener's).
  const IpAddress& outside_address_for(const IpAddress& peer) const {
    return peer.is_v4() ? outside_v4 : outside_v6;
  }
};

class Worker {
 public:
  static std::unique_ptr<Worker> create(DataplaneContext& ctx, unsigned index,
                                        std::string& error);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // One loop iteration. Returns the number of packets it handled.
  unsigned poll();
  // Loops until `stop`; registers with and reports to the table's RCU.
  void run(const std::atomic<bool>& stop);

  unsigned index() const { return index_; }
  WorkerCounters& counters() { return counters_; }

  // Installs a session as a keys-ring message would (static keys, tests);
  // only from the thread that polls this worker.
  void install(const contract::InstallMessage& msg, bool quiet = false);

  // Test hooks: the handshakes this worker expects, and its clock.
  size_t pending_handshakes() const;
  void advance_clock_ms(uint64_t ms) { clock_offset_ms_ += ms; }

  struct Impl;

 private:
  Worker(DataplaneContext& ctx, unsigned index);
  DataplaneContext& ctx_;
  unsigned index_;
  WorkerCounters& counters_;
  uint64_t clock_offset_ms_ = 0;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dtlsgw::dataplane
