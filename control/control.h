// The control process's loop (DESIGN.md, "Processes"): it reads the
// datagrams the dataplane punts, runs one OpenSSL handshake engine per
// peer (handshake::HandshakeTable), sends the engines' output through the
// ctl-tx ring, drives their retransmission timers, hands each completed
// handshake to the owning worker, and follows the sessions' lives through
// the events ring. It never touches the session table: it asks by message.
//
// poll() is one pass, so tests drive a Control in-process next to a
// Dataplane; dtlsgw-control (main.cc) loops it as a DPDK secondary process.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "dataplane/config.h"
#include "dataplane/contract.h"
#include "handshake/cookie.h"
#include "handshake/handshake_table.h"
#include "handshake/server_context.h"
#include "handshake/ticket_keys.h"

struct rte_mempool;
struct rte_ring;

namespace dtlsgw::control {

using Clock = handshake::Clock;
using TimePoint = handshake::TimePoint;

// The dataplane's shared objects, found by name (contract.h).
struct Attachment {
  contract::ReadyZone* ready = nullptr;
  rte_ring* punt = nullptr;
  rte_ring* ctl_tx = nullptr;
  rte_ring* events = nullptr;
  rte_ring* keys[contract::kMaxWorkers] = {};
  unsigned workers = 0;
  rte_mempool* ctl_pool = nullptr;
};

// Finds the ready memzone and everything it promises. False with a reason
// while the dataplane is not (yet) ready; the caller retries.
[[nodiscard]] bool attach(Attachment& out, std::string& error);

struct ControlStats {
  uint64_t punts = 0;              // punted datagrams read
  uint64_t punt_bad_message = 0;   // punt messages that failed their checks
  uint64_t datagrams_sent = 0;     // engine output queued on ctl-tx
  uint64_t ctl_tx_dropped = 0;     // ctl-tx ring full or pool empty
  uint64_t installs_sent = 0;      // handovers queued on a keys ring
  uint64_t install_errors = 0;     // handovers that could not be sent
  uint64_t installed = 0;          // confirmed by the dataplane
  uint64_t install_failed = 0;     // refused by the dataplane
  uint64_t closed = 0;             // sessions the dataplane closed
  uint64_t alerts = 0;             // authenticated alerts from peers
  uint64_t limits = 0;             // AEAD limit events
  uint64_t cookie_rotations = 0;
  uint64_t reloads = 0;
  uint64_t revoked_identities = 0;  // PSK identities removed by a reload
  uint64_t path_mtu_reports = 0;    // path MTU events (ICMP) from the dataplane
  uint64_t path_mtu_applied = 0;    // of them, taken by a running handshake
};

class Control {
 public:
  static std::unique_ptr<Control> create(const dataplane::Config& config,
                                         const Attachment& attachment, std::string& error,
                                         TimePoint now = Clock::now());
  ~Control();
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;

  // One pass: punted datagrams, due timers, events, cookie rotation, the
  // heartbeat. Returns how many items it handled.
  unsigned poll(TimePoint now);
  // When poll() has timed work next (nothing else wakes it but punts).
  TimePoint next_wakeup(TimePoint now) const;

  // Rebuilds the server context from `config`'s [handshake] (certificates,
  // PSK file); running handshakes keep the old one. PSK identities the new
  // file no longer has get their sessions closed. On error nothing changes.
  [[nodiscard]] bool reload(const dataplane::Config& config, std::string& error);

  // Handshakes in progress, completed, failed by reason; sessions.
  std::string status_line() const;
  const ControlStats& stats() const { return stats_; }
  const handshake::HandshakeTable& handshakes() const { return *table_; }
  // Sessions installed through this control process and not yet closed.
  size_t sessions_established() const { return established_.size(); }

 private:
  struct PeerInfo {
    contract::FlowKey flow;
    uint8_t mac[6] = {};
    uint16_t worker = 0;
  };
  struct SessionInfo {
    handshake::PeerIdentity identity;
    uint16_t suite = 0;
  };
  struct FlowHash {
    size_t operator()(const contract::FlowKey& f) const;
  };
  struct PeerHash {
    size_t operator()(const handshake::PeerAddress& p) const;
  };

  Control() = default;
  void adopt_cookie_secrets();
  void rotate_cookie_secrets(TimePoint now);
  void handle_punts(TimePoint now, unsigned& handled);
  void handle_events(unsigned& handled);
  void deliver(const handshake::PeerAddress& peer, handshake::HandshakeTable::Result& result);
  void send(const PeerInfo& info, const handshake::Datagram& d);
  void install(const PeerInfo& info, handshake::Handover& handover);
  void close_identity(const std::string& identity);

  dataplane::Config config_;
  Attachment shm_;
  std::unique_ptr<record::CryptoContext> crypto_;
  std::unique_ptr<handshake::CookieMaker> cookies_;
  uint32_t cookie_sequence_ = UINT32_MAX;
  std::shared_ptr<handshake::TicketKeys> tickets_;
  std::shared_ptr<handshake::ServerContext> context_;
  std::unique_ptr<handshake::HandshakeTable> table_;
  std::unordered_map<handshake::PeerAddress, PeerInfo, PeerHash> peers_;
  std::unordered_map<contract::FlowKey, SessionInfo, FlowHash> installing_;
  std::unordered_map<contract::FlowKey, SessionInfo, FlowHash> established_;
  TimePoint next_rotation_;
  ControlStats stats_;
};

}  // namespace dtlsgw::control
