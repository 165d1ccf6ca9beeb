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
};

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

size_t HandshakeTable::RecentHash::operator()(const RecentKey& k) const {
  return static_cast<size_t>(fnv(hash_peer(k.peer), k.random.data(), k.random.size()));
}

HandshakeTable::HandshakeTable(std::shared_ptr<ServerContext> context,
                               record::CryptoContext& crypto, const TableConfig& config)
    : context_(std::move(context)), crypto_(crypto), config_(config) {}

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
  return it == engines_.end() ? nullptr : it->second.get();
}

TimePoint HandshakeTable::next_deadline(const PeerAddress& peer) const {
  const HandshakeEngine* e = find(peer);
  return e == nullptr ? TimePoint::max() : e->next_deadline();
}

void HandshakeTable::insert(const PeerAddress& peer, std::unique_ptr<HandshakeEngine> engine) {
  engines_.emplace(peer, std::move(engine));
  ++per_source_[source_of(peer)];
}

void HandshakeTable::erase(Engines::iterator it) {
  const auto source = per_source_.find(source_of(it->first));
  if (source != per_source_.end() && --source->second == 0) {
    per_source_.erase(source);
  }
  engines_.erase(it);
}

void HandshakeTable::remember(const RecentKey& key, TimePoint now) {
  forget_expired(now);
  while (recent_.size() >= config_.max_recent && !recent_order_.empty()) {
    recent_.erase(recent_order_.front().second);
    recent_order_.pop_front();
  }
  const TimePoint until = now + config_.recent_lifetime;
  if (recent_.insert_or_assign(key, until).second) {
    recent_order_.emplace_back(until, key);
  }
}

void HandshakeTable::forget_expired(TimePoint now) {
  while (!recent_order_.empty() && recent_order_.front().first <= now) {
    const auto it = recent_.find(recent_order_.front().second);
    // A key re-remembered later carries a later expiry: keep it.
    if (it != recent_.end() && it->second <= now) {
      recent_.erase(it);
    }
    recent_order_.pop_front();
  }
}

void HandshakeTable::settle(Engines::iterator it, Result& result, TimePoint now) {
  HandshakeEngine& e = *it->second;
  switch (e.state()) {
    case HandshakeState::in_progress:
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
  erase(it);
}

std::unique_ptr<HandshakeEngine> HandshakeTable::start(const PeerAddress& peer,
                                                       std::span<const uint8_t> datagram,
                                                       TimePoint now, Result& result) {
  auto engine = HandshakeEngine::create(context_, crypto_, config_.engine, peer);
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

HandshakeTable::Result HandshakeTable::on_datagram(const PeerAddress& peer,
                                                   std::span<const uint8_t> datagram,
                                                   TimePoint now) {
  Result result;
  ClientHello hello;
  const bool cookie_hello =
      parse_client_hello(datagram, hello) == ClientHelloResult::ok && !hello.cookie.empty();
  const auto it = engines_.find(peer);
  if (it != engines_.end()) {
    const auto random = it->second->client_random();
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
      it->second = std::move(fresh);
      result.disposition = Disposition::restarted;
      return result;
    }
    if (same_random) {
      ++counters_.client_hello_repeats;
    }
    ++counters_.routed;
    result.disposition = Disposition::routed;
    result.to_send = it->second->on_datagram(datagram, now);
    settle(it, result, now);
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
  if (recent_.contains(key)) {
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
  result.disposition = Disposition::started;
  insert(peer, std::move(engine));
  return result;
}

HandshakeTable::Result HandshakeTable::on_timer(const PeerAddress& peer, TimePoint now) {
  Result result;
  result.disposition = Disposition::timer;
  const auto it = engines_.find(peer);
  if (it == engines_.end()) {
    return result;
  }
  result.to_send = it->second->on_timer(now);
  settle(it, result, now);
  return result;
}

std::vector<std::pair<PeerAddress, HandshakeTable::Result>> HandshakeTable::expire(TimePoint now) {
  std::vector<PeerAddress> due;
  for (const auto& [peer, engine] : engines_) {
    if (engine->next_deadline() <= now) {
      due.push_back(peer);
    }
  }
  std::vector<std::pair<PeerAddress, Result>> out;
  for (const PeerAddress& peer : due) {
    out.emplace_back(peer, on_timer(peer, now));
  }
  forget_expired(now);
  return out;
}

}  // namespace dtlsgw::handshake
