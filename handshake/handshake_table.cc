#include "handshake/handshake_table.h"

#include <algorithm>
#include <cstring>

#include "handshake/client_hello.h"

namespace dtlsgw::handshake {
namespace {

// FNV-1a: peer addresses come from the network, but a punted datagram has
// already passed the cookie check, so flooding the table means owning the
// addresses; the per-source limit bounds what one address can hold.
uint64_t fnv(uint64_t h, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    h = (h ^ p[i]) * 0x100000001b3ull;
  }
  return h;
}
constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ull;

uint64_t hash_peer(const PeerAddress& p) {
  const uint8_t family = static_cast<uint8_t>(p.family);
  const uint8_t port[2] = {static_cast<uint8_t>(p.port >> 8), static_cast<uint8_t>(p.port)};
  uint64_t h = fnv(kFnvBasis, &family, 1);
  h = fnv(h, p.address, sizeof(p.address));
  return fnv(h, port, 2);
}

struct CounterInfo {
  std::string_view name;
  std::string_view description;
  uint64_t TableCounters::*member;
};

constexpr CounterInfo kCounters[] = {
    {"handshakes_started", "engines created for a cookie ClientHello", &TableCounters::started},
    {"handshakes_completed", "handshakes completed and handed over", &TableCounters::completed},
    {"handshake_datagrams_routed", "datagrams fed to the peer's running engine",
     &TableCounters::routed},
    {"handshake_client_hello_repeats",
     "cookie ClientHellos with the running engine's random, routed to it",
     &TableCounters::client_hello_repeats},
    {"handshakes_restarted", "a new ClientHello.random from a peer mid-handshake replaced it",
     &TableCounters::restarted},
    {"handshakes_refused_total_limit", "refused: max_handshakes running",
     &TableCounters::refused_total_limit},
    {"handshakes_refused_source_limit", "refused: max_handshakes_per_source from that address",
     &TableCounters::refused_source_limit},
    {"handshakes_refused_recent_replay",
     "refused: the cookie ClientHello of a handshake that just completed",
     &TableCounters::refused_recent_replay},
    {"handshake_no_engine", "dropped: not a ClientHello and no handshake for the peer",
     &TableCounters::no_handshake},
    {"handshake_timers_fired", "handshake timers (retransmission or deadline) run by tick",
     &TableCounters::timers_fired},
};

// The wheel's pool holds at most this many timers (timer_wheel.h).
constexpr size_t kMaxWheelTimers = UINT32_MAX - 3;

}  // namespace

void for_each_counter(const TableCounters& c,
                      const std::function<void(std::string_view, std::string_view, uint64_t)>& f) {
  for (const CounterInfo& i : kCounters) {
    f(i.name, i.description, c.*i.member);
  }
  static constexpr std::string_view kFailureDescription = "handshakes failed, by reason";
  static const std::array<std::string, kFailureReasonCount> kFailureNames = [] {
    std::array<std::string, kFailureReasonCount> names;
    for (size_t r = 0; r < kFailureReasonCount; ++r) {
      names[r] = "handshakes_failed_" + std::string(to_string(static_cast<FailureReason>(r)));
    }
    return names;
  }();
  for (size_t r = 1; r < kFailureReasonCount; ++r) {  // `none` is not a failure
    f(kFailureNames[r], kFailureDescription, c.failed[r]);
  }
}

std::string_view to_string(HandshakeTable::Disposition d) {
  using D = HandshakeTable::Disposition;
  switch (d) {
    case D::started:
      return "started";
    case D::routed:
      return "routed";
    case D::restarted:
      return "restarted";
    case D::refused_total_limit:
      return "refused_total_limit";
    case D::refused_source_limit:
      return "refused_source_limit";
    case D::refused_recent_replay:
      return "refused_recent_replay";
    case D::no_handshake:
      return "no_handshake";
    case D::start_failed:
      return "start_failed";
    case D::timer:
      return "timer";
  }
  return "invalid";
}

size_t HandshakeTable::PeerHash::operator()(const PeerAddress& p) const {
  return static_cast<size_t>(hash_peer(p));
}

size_t HandshakeTable::SourceHash::operator()(const SourceKey& s) const {
  const uint8_t family = static_cast<uint8_t>(s.family);
  return static_cast<size_t>(fnv(fnv(kFnvBasis, &family, 1), s.address.data(), s.address.size()));
}

HandshakeTable::HandshakeTable(std::shared_ptr<ServerContext> context,
                               record::CryptoContext& crypto, const TableConfig& config,
                               TimePoint start)
    : context_(std::move(context)),
      crypto_(crypto),
      config_(config),
      start_(start),
      wheel_(TimerWheelConfig{
          .capacity = static_cast<uint32_t>(std::min(config.max_handshakes, kMaxWheelTimers)),
          .tick_ms = config.timer_tick_ms,
          .start_ms = 0}),
      recent_(config.max_recent) {
  config_.max_handshakes = wheel_.capacity();
  slots_.resize(wheel_.capacity());
  engines_.reserve(wheel_.capacity());
}

HandshakeTable::~HandshakeTable() = default;

HandshakeTable::SourceKey HandshakeTable::source_of(const PeerAddress& p) {
  SourceKey k{p.family, {}};
  std::memcpy(k.address.data(), p.address, sizeof(p.address));
  return k;
}

std::optional<HandshakeTable::RecentKey> HandshakeTable::recent_key(const HandshakeEngine& e) {
  if (e.client_random().size() != 32) {
    return std::nullopt;
  }
  RecentKey k{e.peer(), {}};
  std::copy(e.client_random().begin(), e.client_random().end(), k.random.begin());
  return k;
}

size_t HandshakeTable::handshakes_from(const PeerAddress& peer) const {
  const auto it = per_source_.find(source_of(peer));
  return it == per_source_.end() ? 0 : it->second;
}

const HandshakeEngine* HandshakeTable::find(const PeerAddress& peer) const {
  const auto it = engines_.find(peer);
  return it == engines_.end() ? nullptr : slots_[it->second].get();
}

TimePoint HandshakeTable::next_deadline(const PeerAddress& peer) const {
  const HandshakeEngine* e = find(peer);
  return e == nullptr ? TimePoint::max() : e->next_deadline();
}

uint64_t HandshakeTable::wheel_now(TimePoint t) const {
  if (t <= start_) {
    return 0;
  }
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(t - start_).count());
}

uint64_t HandshakeTable::wheel_deadline(TimePoint t) const {
  if (t <= start_) {
    return 0;
  }
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(t - start_);
  return static_cast<uint64_t>(ms.count());
}

std::optional<TimePoint> HandshakeTable::next_wakeup() const {
  const std::optional<uint64_t> ms = wheel_.next_expiry();
  if (!ms.has_value()) {
    return std::nullopt;
  }
  // Deadlines are at most hours away: no overflow converting back.
  return start_ + std::chrono::milliseconds(*ms);
}

void HandshakeTable::arm(TimerId slot) {
  const TimePoint deadline = slots_[slot]->next_deadline();
  if (deadline == TimePoint::max()) {
    wheel_.cancel(slot);
    return;
  }
  // Cannot fail: `slot` is an acquired timer.
  static_cast<void>(wheel_.schedule(slot, wheel_deadline(deadline)));
}

bool HandshakeTable::insert(const PeerAddress& peer, std::unique_ptr<HandshakeEngine> engine) {
  const TimerAcquired timer = wheel_.acquire(0);
  if (timer.result != TimerResult::ok) [[unlikely]] {
    return false;
  }
  slots_[timer.id] = std::move(engine);
  engines_.emplace(peer, timer.id);
  ++per_source_[source_of(peer)];
  arm(timer.id);
  return true;
}

void HandshakeTable::erase(TimerId slot) {
  const PeerAddress peer = slots_[slot]->peer();
  const auto source = per_source_.find(source_of(peer));
  if (source != per_source_.end() && --source->second == 0) {
    per_source_.erase(source);
  }
  engines_.erase(peer);
  wheel_.release(slot);
  slots_[slot].reset();
}

void HandshakeTable::remember(const RecentKey& key, TimePoint now) {
  recent_.forget_expired(now);
  recent_.remember(key, now + config_.recent_lifetime);
}

void HandshakeTable::forget_expired(TimePoint now) { recent_.forget_expired(now); }

void HandshakeTable::settle(TimerId slot, Result& result, TimePoint now) {
  HandshakeEngine& e = *slots_[slot];
  switch (e.state()) {
    case HandshakeState::in_progress:
      arm(slot);
      return;
    case HandshakeState::complete:
      ++counters_.completed;
      if (const auto key = recent_key(e)) {
        remember(*key, now);
      }
      result.handover = e.take_handover();
      break;
    case HandshakeState::failed:
      ++counters_.failed[static_cast<size_t>(e.failure())];
      result.failure = e.failure();
      break;
  }
  erase(slot);
}

std::unique_ptr<HandshakeEngine> HandshakeTable::start(const PeerAddress& peer,
                                                       std::span<const uint8_t> datagram,
                                                       TimePoint now, Result& result) {
  EngineConfig engine_config = config_.engine;
  engine_config.path_mtu = path_mtu_for(peer);
  auto engine = HandshakeEngine::create(context_, crypto_, engine_config, peer);
  result.to_send = engine->start(datagram, now);
  if (engine->state() == HandshakeState::failed) {
    ++counters_.failed[static_cast<size_t>(engine->failure())];
    result.disposition = Disposition::start_failed;
    result.failure = engine->failure();
    return nullptr;
  }
  ++counters_.started;
  return engine;
}

bool HandshakeTable::set_path_mtu(const PeerAddress& peer, long path_mtu) {
  // A path below what OpenSSL can fragment for still gets the smallest
  // datagrams it can make (the rest is the network's to fragment).
  path_mtu = std::max(path_mtu, HandshakeEngine::minimum_path_mtu(peer.family));
  if (path_mtu >= path_mtu_for(peer)) {
    return false;  // RFC 1191 §6.3: a report never raises the estimate
  }
  const auto remembered = path_mtus_.find(peer);
  if (remembered != path_mtus_.end()) {
    remembered->second = path_mtu;
  } else if (path_mtus_.size() < config_.max_handshakes + config_.max_recent) {
    path_mtus_.emplace(peer, path_mtu);
  }
  const auto it = engines_.find(peer);
  return it != engines_.end() && slots_[it->second]->set_path_mtu(path_mtu);
}

long HandshakeTable::path_mtu_for(const PeerAddress& peer) const {
  const auto it = path_mtus_.find(peer);
  return it != path_mtus_.end() ? std::min(it->second, config_.engine.path_mtu)
                                : config_.engine.path_mtu;
}

HandshakeTable::Result HandshakeTable::on_datagram(const PeerAddress& peer,
                                                   std::span<const uint8_t> datagram,
                                                   TimePoint now) {
  Result result;
  ClientHello hello;
  const bool cookie_hello =
      parse_client_hello(datagram, hello) == ClientHelloResult::ok && !hello.cookie.empty();
  const auto it = engines_.find(peer);
  if (it != engines_.end()) {
    const TimerId slot = it->second;
    HandshakeEngine& engine = *slots_[slot];
    const auto random = engine.client_random();
    const bool same_random = cookie_hello && std::equal(random.begin(), random.end(),
                                                        hello.random.begin(), hello.random.end());
    if (cookie_hello && !same_random) {
      // RFC 6347 §4.2.8 in spirit: the client started over. The new
      // engine replaces the old only once it has accepted the cookie.
      std::unique_ptr<HandshakeEngine> fresh = start(peer, datagram, now, result);
      if (fresh == nullptr) {
        return result;
      }
      ++counters_.restarted;
      slots_[it->second] = std::move(fresh);
      arm(it->second);
      result.disposition = Disposition::restarted;
      return result;
    }
    if (same_random) {
      ++counters_.client_hello_repeats;
    }
    ++counters_.routed;
    result.disposition = Disposition::routed;
    result.to_send = engine.on_datagram(datagram, now);
    settle(slot, result, now);
    return result;
  }

  if (!cookie_hello) {
    ++counters_.no_handshake;
    result.disposition = Disposition::no_handshake;
    return result;
  }
  forget_expired(now);
  RecentKey key{peer, {}};
  std::copy(hello.random.begin(), hello.random.end(), key.random.begin());
  if (recent_.contains(key, now)) {
    ++counters_.refused_recent_replay;
    result.disposition = Disposition::refused_recent_replay;
    return result;
  }
  if (engines_.size() >= config_.max_handshakes) {
    ++counters_.refused_total_limit;
    result.disposition = Disposition::refused_total_limit;
    return result;
  }
  if (handshakes_from(peer) >= config_.max_handshakes_per_source) {
    ++counters_.refused_source_limit;
    result.disposition = Disposition::refused_source_limit;
    return result;
  }
  std::unique_ptr<HandshakeEngine> engine = start(peer, datagram, now, result);
  if (engine == nullptr) {
    return result;
  }
  if (!insert(peer, std::move(engine))) [[unlikely]] {
    ++counters_.refused_total_limit;
    result.disposition = Disposition::refused_total_limit;
    result.to_send.clear();
    return result;
  }
  result.disposition = Disposition::started;
  return result;
}

std::vector<HandshakeTable::TimerOutcome> HandshakeTable::tick(TimePoint now) {
  std::vector<TimerOutcome> out;
  // The wheel fires a timer once wheel_now(now) has reached its deadline
  // rounded up, so `now` is past the engine's next_deadline(). settle()
  // re-arms or releases the firing timer from inside the callback, which
  // the wheel allows; a deadline it re-arms at or before `now` fires at the
  // next tick, not in this one.
  wheel_.advance(wheel_now(now), [&](TimerId slot, uint64_t) {
    ++counters_.timers_fired;
    HandshakeEngine& engine = *slots_[slot];
    TimerOutcome fired{engine.peer(), {}};
    fired.result.disposition = Disposition::timer;
    fired.result.to_send = engine.on_timer(now);
    settle(slot, fired.result, now);
    if (!fired.result.to_send.empty() || fired.result.failure.has_value()) {
      out.push_back(std::move(fired));
    }
  });
  forget_expired(now);
  return out;
}

}  // namespace dtlsgw::handshake
