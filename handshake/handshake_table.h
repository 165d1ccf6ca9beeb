// The handshakes of one control process, keyed by peer address (the key
// punted datagrams are routed by). At most one engine per peer address, so
// at most one per (peer address, ClientHello.random): a retransmitted or
// replayed cookie ClientHello is routed to the engine already running for
// it, never starts a second (DESIGN.md); one whose handshake completed a
// moment ago is refused (remembered for `recent_lifetime`). A cookie
// ClientHello with a new random from a peer mid-handshake means the client
// restarted: its new handshake replaces the old one.
//
// Limits: concurrent handshakes in total and per source IP address (any
// port), and each handshake's deadline (EngineConfig::handshake_timeout).
// Every refusal and failure is counted.
//
// Timers. OpenSSL's DTLS timers run on the real clock; each engine exposes
// its next deadline (the RFC 6347 §4.2.4.1 retransmission timer or the
// handshake's overall deadline, whichever is earlier) and the table keeps
// one timer per handshake in a hierarchical timing wheel (timer_wheel.h)
// sized to max_handshakes. After every call that can move an engine's
// deadline (start, a routed datagram, a restart, a timer) the table
// schedules, moves or releases that engine's timer, so the wheel always
// holds exactly one armed timer per running handshake. The control loop
// sleeps until next_wakeup() and calls tick(now), which fires the due
// engines: a retransmission, or a failure at the deadline. A tick costs
// one engine call per due handshake plus one visit per occupied wheel slot
// whose time has come (at most one per level for a one-tick step): nothing
// per idle handshake, however many are armed (tests: 100,000 timers cost
// the same slot visits per tick as 1,000).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <memory_resource>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dtls_record/crypto_context.h"
#include "handshake/handshake_engine.h"
#include "handshake/recent_handshakes.h"
#include "handshake/timer_wheel.h"

namespace dtlsgw::handshake {

struct TableConfig {
  size_t max_handshakes = 10000;
  size_t max_handshakes_per_source = 32;
  // How long a completed handshake's (peer, ClientHello.random) is kept to
  // refuse a replay of its cookie ClientHello; at least the cookie secret's
  // rotation period, since a cookie stays valid for two periods.
  std::chrono::seconds recent_lifetime{300};
  size_t max_recent = 100000;
  // Resolution of the handshake timers: a timer fires in the first tick()
  // at or after its deadline rounded up to this many milliseconds.
  uint32_t timer_tick_ms = 1;
  EngineConfig engine;
};

struct TableCounters {
  uint64_t started = 0;                // engines created and started
  uint64_t completed = 0;              // handovers produced
  uint64_t routed = 0;                 // datagrams fed to a running engine
  uint64_t client_hello_repeats = 0;   // cookie ClientHello with the random of
                                       // the running engine: routed to it
  uint64_t restarted = 0;              // new random from a peer mid-handshake
  uint64_t refused_total_limit = 0;    // max_handshakes reached
  uint64_t refused_source_limit = 0;   // max_handshakes_per_source reached
  uint64_t refused_recent_replay = 0;  // cookie ClientHello of a completed handshake
  uint64_t no_handshake = 0;           // not a ClientHello, and no engine for the peer
  uint64_t timers_fired = 0;           // engine timers run by tick()
  std::array<uint64_t, kFailureReasonCount> failed{};  // by FailureReason
};

// Each counter's name and meaning, for telemetry (one table, STYLE.md).
void for_each_counter(const TableCounters& c,
                      const std::function<void(std::string_view name, std::string_view description,
                                               uint64_t value)>& f);

class HandshakeTable {
 public:
  enum class Disposition : uint8_t {
    started,    // a new engine
    routed,     // fed to the peer's engine
    restarted,  // the peer's engine replaced by a new one
    refused_total_limit,
    refused_source_limit,
    refused_recent_replay,
    no_handshake,  // dropped: nothing to route it to
    start_failed,  // the new engine failed at once (see failure)
    timer,         // from tick()
  };

  struct Result {
    Disposition disposition = Disposition::no_handshake;
    std::vector<Datagram> to_send;         // to the peer, in order
    std::optional<Handover> handover;      // the handshake just completed
    std::optional<FailureReason> failure;  // the handshake just failed
  };

  // What tick() reports for one handshake whose timer fired.
  struct TimerOutcome {
    PeerAddress peer;
    Result result;  // disposition `timer`
  };

  // `start` is the origin of the timer wheel's millisecond clock: pass the
  // control loop's clock at construction (every TimePoint handed to the
  // table afterwards should be at or after it; earlier ones count as it).
  HandshakeTable(std::shared_ptr<ServerContext> context, record::CryptoContext& crypto,
                 const TableConfig& config, TimePoint start = Clock::now());
  ~HandshakeTable();
  HandshakeTable(const HandshakeTable&) = delete;
  HandshakeTable& operator=(const HandshakeTable&) = delete;

  // New handshakes use `context` (a reload); running ones keep theirs.
  void set_context(std::shared_ptr<ServerContext> context) { context_ = std::move(context); }

  // A datagram the dataplane punted from `peer`.
  Result on_datagram(const PeerAddress& peer, std::span<const uint8_t> datagram, TimePoint now);

  // Runs every handshake whose timer is due at `now` (its next_deadline()
  // has passed): OpenSSL retransmits its last flight, or the handshake
  // fails (retransmissions exhausted, deadline exceeded) and is removed.
  // Returns, in firing order, each handshake that has datagrams to send or
  // just failed; one whose timer fired before OpenSSL's real-clock timer
  // expired sends nothing and is re-armed, and is not reported.
  std::vector<TimerOutcome> tick(TimePoint now);
  // When the control loop should call tick() next; nothing when no
  // handshake is running. Never later than the earliest deadline rounded
  // up to timer_tick_ms; it may be earlier (the wheel then sorts that
  // deadline into a finer level and the next answer is tighter: at most a
  // few wake-ups per deadline, timer_wheel.h).
  std::optional<TimePoint> next_wakeup() const;

  // A path MTU report for `peer` (bytes of UDP payload): applied to the
  // peer's running handshake at once (its next flight and retransmissions
  // fit it) and remembered for the peer's next handshake (a rebooted
  // peer's, RFC 6347 §4.2.8), never raising what is remembered. True if a
  // running handshake took it. At most max_handshakes + max_recent peers
  // are remembered; beyond, only a running handshake gets it.
  bool set_path_mtu(const PeerAddress& peer, long path_mtu);
  // Forgets a remembered path MTU (the peer's session closed).
  void forget_path_mtu(const PeerAddress& peer) { path_mtus_.erase(peer); }
  // The path MTU the peer's next handshake starts with.
  long path_mtu_for(const PeerAddress& peer) const;
  size_t path_mtus_remembered() const { return path_mtus_.size(); }

  // TimePoint::max() if the peer has no engine.
  TimePoint next_deadline(const PeerAddress& peer) const;
  const HandshakeEngine* find(const PeerAddress& peer) const;
  size_t size() const { return engines_.size(); }
  size_t handshakes_from(const PeerAddress& peer) const;
  const TableCounters& counters() const { return counters_; }
  // Armed handshake timers: size() whenever no call is in progress.
  size_t timers_armed() const { return wheel_.size(); }
  const TimerWheelStats& timer_stats() const { return wheel_.stats(); }

 private:
  struct PeerHash {
    size_t operator()(const PeerAddress& p) const;
  };
  struct SourceKey {
    PeerAddress::Family family;
    std::array<uint8_t, 16> address;
    friend bool operator==(const SourceKey&, const SourceKey&) = default;
  };
  struct SourceHash {
    size_t operator()(const SourceKey& s) const;
  };
  using RecentKey = RecentHandshakes::Key;
  // A running handshake lives in slots_[id], id being its timer's id in
  // wheel_ (the pool hands out ids below max_handshakes): a firing timer
  // finds its engine without a hash lookup.
  using Engines = std::pmr::unordered_map<PeerAddress, TimerId, PeerHash>;

  static SourceKey source_of(const PeerAddress& p);
  static std::optional<RecentKey> recent_key(const HandshakeEngine& e);
  // Starts an engine for a cookie ClientHello; nullptr (result filled) if
  // it failed at once.
  std::unique_ptr<HandshakeEngine> start(const PeerAddress& peer, std::span<const uint8_t> datagram,
                                         TimePoint now, Result& result);
  // False (engine dropped) only if the timer pool is exhausted, which the
  // total limit rules out.
  bool insert(const PeerAddress& peer, std::unique_ptr<HandshakeEngine> engine);
  void erase(TimerId slot);
  // After any engine call: a finished engine is handed over or its failure
  // counted, and removed; a running one has its timer moved to its
  // next_deadline().
  void settle(TimerId slot, Result& result, TimePoint now);
  void arm(TimerId slot);
  // The wheel's clock: milliseconds since start_, rounded down for `now`
  // (so a timer never fires early) and up for deadlines.
  uint64_t wheel_now(TimePoint t) const;
  uint64_t wheel_deadline(TimePoint t) const;
  void remember(const RecentKey& key, TimePoint now);
  void forget_expired(TimePoint now);

  std::shared_ptr<ServerContext> context_;
  record::CryptoContext& crypto_;
  TableConfig config_;
  TimePoint start_;
  TimerWheel wheel_;
  std::vector<std::unique_ptr<HandshakeEngine>> slots_;
  // The maps' nodes come from a pool of the table's own, not from the heap
  // OpenSSL churns through for every handshake, and go back to it for less
  // than malloc would take (bench/README.md, "handshake"). Declared first:
  // destroyed after the maps.
  std::pmr::unsynchronized_pool_resource memory_;
  Engines engines_{&memory_};
  std::pmr::unordered_map<SourceKey, uint32_t, SourceHash> per_source_{&memory_};
  RecentHandshakes recent_;
  // Path MTUs learnt from ICMP reports, per peer (set_path_mtu).
  std::pmr::unordered_map<PeerAddress, long, PeerHash> path_mtus_{&memory_};
  TableCounters counters_;
};

std::string_view to_string(HandshakeTable::Disposition d);

}  // namespace dtlsgw::handshake
