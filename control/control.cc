#include "control/control.h"

#include <openssl/crypto.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_memzone.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <array>
#include <cstring>
#include <set>
#include <string_view>

#include "control/install_message.h"

namespace dtlsgw::control {

namespace {

constexpr unsigned kBurst = 32;

handshake::TableConfig table_config(const dataplane::Config& config) {
  handshake::TableConfig t;
  t.max_handshakes = config.handshake.max_handshakes;
  // A cookie stays valid for two rotation periods: remember completed
  // handshakes at least that long to refuse a replayed cookie ClientHello.
  t.recent_lifetime = std::max(std::chrono::seconds(300), 2 * config.handshake.cookie_rotation);
  t.engine.initial_retransmission_timeout = config.handshake.initial_timeout;
  t.engine.path_mtu = config.handshake.mtu;
  return t;
}

}  // namespace

size_t Control::FlowHash::operator()(const contract::FlowKey& f) const {
  uint64_t high = 0;
  uint64_t low = 0;
  std::memcpy(&high, f.peer_address.bytes, 8);
  std::memcpy(&low, f.peer_address.bytes + 8, 8);
  return std::hash<uint64_t>()((high * 0x9e3779b97f4a7c15ull) ^ low ^
                               (uint64_t{f.peer_port} << 16 | f.listener_port));
}

size_t Control::PeerHash::operator()(const handshake::PeerAddress& p) const {
  uint64_t h = 0;
  std::memcpy(&h, p.address, 8);
  uint64_t l = 0;
  std::memcpy(&l, p.address + 8, 8);
  return std::hash<uint64_t>()(h ^ (l * 0x9e3779b97f4a7c15ull) ^ p.port);
}

bool attach(Attachment& out, std::string& error) {
  const rte_memzone* zone = rte_memzone_lookup(contract::kReadyZoneName);
  if (zone == nullptr) {
    error = "the dataplane is not running (no ready memzone; same --file-prefix?)";
    return false;
  }
  auto* ready = static_cast<contract::ReadyZone*>(zone->addr);
  if (ready->magic != contract::kReadyMagic) {
    error = "the dataplane is still starting";
    return false;
  }
  std::atomic_thread_fence(std::memory_order_acquire);
  if (ready->version != contract::kVersion) {
    error = "the dataplane speaks contract version " + std::to_string(ready->version) +
            ", this control process " + std::to_string(contract::kVersion);
    return false;
  }
  Attachment a;
  a.ready = ready;
  a.workers = ready->workers;
  a.punt = rte_ring_lookup(contract::kPuntRingName);
  a.ctl_tx = rte_ring_lookup(contract::kCtlTxRingName);
  a.events = rte_ring_lookup(contract::kEventRingName);
  a.ctl_pool = rte_mempool_lookup(contract::kCtlTxPoolName);
  bool ok = a.punt && a.ctl_tx && a.events && a.ctl_pool && a.workers != 0 &&
            a.workers <= contract::kMaxWorkers;
  for (unsigned i = 0; ok && i < a.workers; ++i) {
    a.keys[i] = rte_ring_lookup((contract::kKeysRingPrefix + std::to_string(i)).c_str());
    ok = a.keys[i] != nullptr;
  }
  if (!ok) {
    error = "the dataplane's rings or pools are missing";
    return false;
  }
  out = a;
  return true;
}

std::unique_ptr<Control> Control::create(const dataplane::Config& config,
                                         const Attachment& attachment, std::string& error,
                                         TimePoint now) {
  std::unique_ptr<Control> c(new Control());
  c->config_ = config;
  c->shm_ = attachment;
  c->crypto_ = record::CryptoContext::create();
  c->cookies_ = handshake::CookieMaker::create();
  c->tickets_ = handshake::TicketKeys::create();
  if (!c->crypto_ || !c->cookies_ || !c->tickets_) {
    error = "cannot set up IPsec-MB or the ticket keys";
    return nullptr;
  }
  c->adopt_cookie_secrets();
  const handshake::Status s = handshake::ServerContext::create(
      config.handshake.server, *c->cookies_, c->tickets_, c->context_);
  if (!s) {
    error = s.message();
    return nullptr;
  }
  c->table_ = std::make_unique<handshake::HandshakeTable>(c->context_, *c->crypto_,
                                                          table_config(config), now);
  c->next_rotation_ = now + config.handshake.cookie_rotation;
  return c;
}

Control::~Control() {
  // Handovers never sent still hold mbufs and keys: the table wipes its
  // engines; nothing else here holds key bytes.
  table_.reset();
}

void Control::adopt_cookie_secrets() {
  const uint32_t seq = shm_.ready->cookies.sequence.load(std::memory_order_acquire);
  if (seq == cookie_sequence_) {
    return;
  }
  handshake::CookieSecrets secrets;
  if (contract::read_cookie_secrets(shm_.ready->cookies, secrets)) {
    cookies_->set_secrets(secrets);
    cookie_sequence_ = seq;
  }
  OPENSSL_cleanse(&secrets, sizeof(secrets));
}

void Control::rotate_cookie_secrets(TimePoint now) {
  if (now < next_rotation_) {
    return;
  }
  next_rotation_ = now + config_.handshake.cookie_rotation;
  // previous = current, current = fresh: a client between its two
  // ClientHellos keeps a valid cookie (cookie.h).
  handshake::CookieSecrets secrets;
  if (contract::read_cookie_secrets(shm_.ready->cookies, secrets) &&
      handshake::rotate_cookie_secret(secrets)) {
    contract::write_cookie_secrets(shm_.ready->cookies, secrets);
    ++stats_.cookie_rotations;
  }
  OPENSSL_cleanse(&secrets, sizeof(secrets));
  adopt_cookie_secrets();
}

unsigned Control::poll(TimePoint now) {
  unsigned handled = 0;
  shm_.ready->control_heartbeat.fetch_add(1, std::memory_order_relaxed);
  adopt_cookie_secrets();
  rotate_cookie_secrets(now);
  handle_punts(now, handled);
  for (auto& outcome : table_->tick(now)) {
    deliver(outcome.peer, outcome.result);
    ++handled;
  }
  handle_events(handled);
  return handled;
}

TimePoint Control::next_wakeup(TimePoint now) const {
  TimePoint next = next_rotation_;
  if (const auto t = table_->next_wakeup(); t && *t < next) {
    next = *t;
  }
  return std::max(next, now);
}

void Control::handle_punts(TimePoint now, unsigned& handled) {
  std::array<contract::PuntMessage, kBurst> msgs;
  const unsigned n = rte_ring_sc_dequeue_burst_elem(shm_.punt, msgs.data(), sizeof(msgs[0]),
                                                    kBurst, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    const contract::PuntMessage& m = msgs[i];
    rte_mbuf* d = m.datagram;
    if (m.header.version != contract::kVersion || m.header.type != contract::MessageType::punt ||
        d == nullptr || m.worker >= shm_.workers || d->nb_segs != 1) {
      ++stats_.punt_bad_message;
      rte_pktmbuf_free(d);
      continue;
    }
    ++stats_.punts;
    ++handled;
    const handshake::PeerAddress peer = m.flow.peer();
    PeerInfo& info = peers_[peer];
    info.flow = m.flow;
    std::memcpy(info.mac, m.peer_mac, 6);
    info.worker = m.worker;
    auto result = table_->on_datagram(
        peer, {rte_pktmbuf_mtod(d, const uint8_t*), rte_pktmbuf_data_len(d)}, now);
    rte_pktmbuf_free(d);
    deliver(peer, result);
  }
}

void Control::deliver(const handshake::PeerAddress& peer,
                      handshake::HandshakeTable::Result& result) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) {
    return;  // a timer of a handshake whose peer we no longer route (never)
  }
  const PeerInfo info = it->second;
  if (result.handover) {
    // What OpenSSL wrote last is the final flight: it leaves only with the
    // handover, from the owning worker, after the keys are installed
    // (DESIGN.md). Sending it here could let the client's data arrive
    // before the session exists.
    install(info, *result.handover);
  } else {
    for (const handshake::Datagram& d : result.to_send) {
      send(info, d);
    }
  }
  // Forget the route once no engine runs for the peer (completed, failed,
  // refused): the table is the bound on this map.
  if (table_->find(peer) == nullptr) {
    peers_.erase(it);
  }
}

void Control::send(const PeerInfo& info, const handshake::Datagram& d) {
  contract::CtlTxMessage msg;
  msg.flow = info.flow;
  std::memcpy(msg.peer_mac, info.mac, 6);
  msg.datagram = datagram_mbuf(shm_.ctl_pool, d);
  if (msg.datagram == nullptr ||
      rte_ring_sp_enqueue_elem(shm_.ctl_tx, &msg, sizeof(msg)) != 0) {
    rte_pktmbuf_free(msg.datagram);
    ++stats_.ctl_tx_dropped;  // the client retransmits; our timer resends
    return;
  }
  ++stats_.datagrams_sent;
}

void Control::install(const PeerInfo& info, handshake::Handover& handover) {
  contract::InstallMessage msg;
  const InstallError e = make_install_message(handover, info.flow, info.mac, shm_.ctl_pool, msg);
  if (e != InstallError::ok) {
    ++stats_.install_errors;
    return;
  }
  msg.identity = contract::make_identity(static_cast<uint8_t>(handover.identity.kind),
                                         handover.identity.name.data(),
                                         handover.identity.name.size());
  const uint16_t suite = msg.suite;
  if (!enqueue_install(shm_.keys[info.worker], msg)) {
    ++stats_.install_errors;
    return;
  }
  ++stats_.installs_sent;
  installing_[info.flow] = SessionInfo{handover.identity, suite};
}

void Control::handle_events(unsigned& handled) {
  std::array<contract::EventMessage, kBurst> events;
  unsigned n = 0;
  while ((n = rte_ring_sc_dequeue_burst_elem(shm_.events, events.data(), sizeof(events[0]),
                                             kBurst, nullptr)) != 0) {
    handled += n;
    for (unsigned i = 0; i < n; ++i) {
      const contract::EventMessage& e = events[i];
      if (e.header.version != contract::kVersion || e.header.type != contract::MessageType::event) {
        continue;
      }
      switch (e.kind) {
        case contract::EventKind::installed: {
          ++stats_.installed;
          auto it = installing_.find(e.flow);
          if (it != installing_.end()) {
            established_[e.flow] = std::move(it->second);
            installing_.erase(it);
          }
          break;
        }
        case contract::EventKind::install_failed:
          ++stats_.install_failed;
          installing_.erase(e.flow);
          break;
        case contract::EventKind::closed:
          ++stats_.closed;
          established_.erase(e.flow);
          table_->forget_path_mtu(e.flow.peer());
          break;
        case contract::EventKind::alert:
          ++stats_.alerts;
          break;
        case contract::EventKind::limit:
          ++stats_.limits;
          break;
        case contract::EventKind::path_mtu: {
          // The dataplane's MTU is of the IP packet; the engine's is of the
          // UDP payload: less IPv4's 20-byte header (RFC 791) or IPv6's 40
          // (RFC 8200), and UDP's 8 (RFC 768).
          ++stats_.path_mtu_reports;
          const long headers = (e.flow.is_v4() ? 20 : 40) + 8;
          if (table_->set_path_mtu(e.flow.peer(), long{e.detail} - headers)) {
            ++stats_.path_mtu_applied;
          }
          break;
        }
      }
    }
  }
}

bool Control::reload(const dataplane::Config& config, std::string& error) {
  std::shared_ptr<handshake::ServerContext> fresh;
  const handshake::Status s =
      handshake::ServerContext::create(config.handshake.server, *cookies_, tickets_, fresh);
  if (!s) {
    error = s.message();
    return false;
  }
  // PSK identities the new file dropped: their sessions close, wherever
  // they are (also ones installed before this process started).
  std::set<std::string> removed;
  context_->psk_store().for_each_identity([&](std::string_view id) {
    if (!fresh->psk_store().contains(id)) {
      removed.emplace(id);
    }
  });
  context_ = fresh;
  table_->set_context(fresh);
  config_.handshake.server = config.handshake.server;
  ++stats_.reloads;
  for (const std::string& id : removed) {
    close_identity(id);
  }
  return true;
}

void Control::close_identity(const std::string& identity) {
  ++stats_.revoked_identities;
  contract::KeysSlot slot;
  slot.close = contract::CloseMessage();
  slot.close.reason = static_cast<uint16_t>(contract::CloseReason::identity_revoked);
  slot.close.flags = contract::kCloseByIdentity;
  slot.close.identity = contract::make_identity(
      static_cast<uint8_t>(handshake::PeerIdentity::Kind::psk), identity.data(), identity.size());
  for (unsigned w = 0; w < shm_.workers; ++w) {
    if (rte_ring_enqueue_elem(shm_.keys[w], &slot, sizeof(slot)) != 0) {
      ++stats_.install_errors;
    }
  }
}

std::string Control::status_line() const {
  const handshake::TableCounters& t = table_->counters();
  uint64_t failed = 0;
  std::string reasons;
  for (size_t r = 0; r < t.failed.size(); ++r) {
    if (t.failed[r] != 0) {
      failed += t.failed[r];
      reasons += reasons.empty() ? " (" : ", ";
      reasons += handshake::to_string(static_cast<handshake::FailureReason>(r));
      reasons += ' ';
      reasons += std::to_string(t.failed[r]);
    }
  }
  if (!reasons.empty()) {
    reasons += ')';
  }
  std::string out = "handshakes in progress ";
  out += std::to_string(table_->size());
  out += ", completed ";
  out += std::to_string(t.completed);
  out += ", failed ";
  out += std::to_string(failed);
  out += reasons;
  out += ", refused ";
  out += std::to_string(t.refused_total_limit + t.refused_source_limit + t.refused_recent_replay);
  out += "; sessions established ";
  out += std::to_string(established_.size());
  out += " (installed ";
  out += std::to_string(stats_.installed);
  out += ", closed ";
  out += std::to_string(stats_.closed);
  out += ", install failed ";
  out += std::to_string(stats_.install_failed + stats_.install_errors);
  out += ")";
  return out;
}

}  // namespace dtlsgw::control
