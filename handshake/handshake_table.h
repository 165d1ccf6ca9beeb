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
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dtls_record/crypto_context.h"
#include "handshake/handshake_engine.h"

namespace dtlsgw::handshake {

struct TableConfig {
  size_t max_handshakes = 10000;
  size_t max_handshakes_per_source = 32;
  // How long a completed handshake's (peer, ClientHello.random) is kept to
  // refuse a replay of its cookie ClientHello; at least the cookie secret's
  // rotation period, since a cookie stays valid for two periods.
  std::chrono::seconds recent_lifetime{300};
  size_t max_recent = 100000;
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
    timer,         // from on_timer / expire
  };

  struct Result {
    Disposition disposition = Disposition::no_handshake;
    std::vector<Datagram> to_send;         // to the peer, in order
    std::optional<Handover> handover;      // the handshake just completed
    std::optional<FailureReason> failure;  // the handshake just failed
  };

  HandshakeTable(std::shared_ptr<ServerContext> context, record::CryptoContext& crypto,
                 const TableConfig& config);
  ~HandshakeTable();
  HandshakeTable(const HandshakeTable&) = delete;
  HandshakeTable& operator=(const HandshakeTable&) = delete;

  // New handshakes use `context` (a reload); running ones keep theirs.
  void set_context(std::shared_ptr<ServerContext> context) { context_ = std::move(context); }

  // A datagram the dataplane punted from `peer`.
  Result on_datagram(const PeerAddress& peer, std::span<const uint8_t> datagram, TimePoint now);
  // The peer's timer fired (at or after next_deadline(peer)).
  Result on_timer(const PeerAddress& peer, TimePoint now);
  // Runs every engine whose deadline has passed (a linear scan: for tests
  // and small tables; the control loop uses a timer wheel and on_timer).
  std::vector<std::pair<PeerAddress, Result>> expire(TimePoint now);

  // TimePoint::max() if the peer has no engine.
  TimePoint next_deadline(const PeerAddress& peer) const;
  const HandshakeEngine* find(const PeerAddress& peer) const;
  size_t size() const { return engines_.size(); }
  size_t handshakes_from(const PeerAddress& peer) const;
  const TableCounters& counters() const { return counters_; }

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
  struct RecentKey {
    PeerAddress peer;
    std::array<uint8_t, 32> random;
    friend bool operator==(const RecentKey&, const RecentKey&) = default;
  };
  struct RecentHash {
    size_t operator()(const RecentKey& k) const;
  };
  using Engines = std::unordered_map<PeerAddress, std::unique_ptr<HandshakeEngine>, PeerHash>;

  static SourceKey source_of(const PeerAddress& p);
  static std::optional<RecentKey> recent_key(const HandshakeEngine& e);
  // Starts an engine for a cookie ClientHello; nullptr (result filled) if
  // it failed at once.
  std::unique_ptr<HandshakeEngine> start(const PeerAddress& peer, std::span<const uint8_t> datagram,
                                         TimePoint now, Result& result);
  void insert(const PeerAddress& peer, std::unique_ptr<HandshakeEngine> engine);
  void erase(Engines::iterator it);
  // Hands over or counts the failure of a finished engine, and removes it.
  void settle(Engines::iterator it, Result& result, TimePoint now);
  void remember(const RecentKey& key, TimePoint now);
  void forget_expired(TimePoint now);

  std::shared_ptr<ServerContext> context_;
  record::CryptoContext& crypto_;
  TableConfig config_;
  Engines engines_;
  std::unordered_map<SourceKey, uint32_t, SourceHash> per_source_;
  std::unordered_map<RecentKey, TimePoint, RecentHash> recent_;
  std::deque<std::pair<TimePoint, RecentKey>> recent_order_;
  TableCounters counters_;
};

std::string_view to_string(HandshakeTable::Disposition d);

}  // namespace dtlsgw::handshake
