// The worker: set-up, the polling loop, and the frames it sends (worker_impl.h).

#include "dataplane/worker_impl.h"

namespace dtlsgw::dataplane {

// ---- set-up -----------------------------------------------------------

void DataplaneContext::index_configuration() {
  listeners.clear();
  std::fill(listener_by_port.begin(), listener_by_port.end(), kNoListener);
  std::vector<std::pair<Ipv4, uint16_t>> distinct_backends;
  const PortConfig& in = config.inside;
  const uint32_t mask =
      in.prefix_length == 0 ? 0 : htonl(~uint32_t{0} << (32 - in.prefix_length));
  for (const NeighborConfig& n : config.neighbors) {
    neighbors.set_static(n.address, n.mac);
  }
  for (const ListenerConfig& l : config.listeners) {
    const auto key = std::make_pair(l.backend_address, l.backend_port);
    auto it = std::find(distinct_backends.begin(), distinct_backends.end(), key);
    if (it == distinct_backends.end()) {
      distinct_backends.push_back(key);
      it = distinct_backends.end() - 1;
    }
    const bool on_link = (l.backend_address.be & mask) == (in.address.be & mask);
    const Ipv4 hop = on_link || !in.gateway ? l.backend_address : *in.gateway;
    Listener out;
    out.port = l.port;
    out.backend = l.backend_address;
    out.backend_port = l.backend_port;
    out.backend_pool = static_cast<uint16_t>(it - distinct_backends.begin());
    out.next_hop = neighbors.add(hop);
    out.proxy_protocol = l.proxy_protocol;
    out.listener_rate_limited = l.listener_rate != 0;
    out.session_rate = l.session_rate;
    out.session_burst = l.session_burst;
    listener_by_port[l.port] = static_cast<uint16_t>(listeners.size());
    listeners.push_back(out);
  }
  backends = static_cast<unsigned>(distinct_backends.size());
  backend_list = distinct_backends;
  backend_index.fill(kNoBackend);
  for (size_t i = 0; i < backend_list.size(); ++i) {
    uint32_t h = backend_hash(backend_list[i].first, backend_list[i].second);
    while (backend_index[h % backend_index.size()] != kNoBackend) {
      ++h;
    }
    backend_index[h % backend_index.size()] = static_cast<uint16_t>(i);
  }
  inside_sources = config.inside.source_addresses;
  if (inside_sources.empty()) {
    inside_sources.push_back(config.inside.address);
  }
}

unsigned DataplaneContext::owner_of(const contract::FlowKey& flow) const {
  if (workers == 1) {
    return 0;
  }
  return rte_hash_crc(&flow, sizeof(flow), 0x64746c73) % workers;
}

Worker::Worker(DataplaneContext& ctx, unsigned index)
    : ctx_(ctx), index_(index), counters_(ctx.counters[index]) {}

Worker::~Worker() = default;

std::unique_ptr<Worker> Worker::create(DataplaneContext& ctx, unsigned index,
                                       std::string& error) {
  std::unique_ptr<Worker> w(new Worker(ctx, index));
  w->impl_ = std::make_unique<Impl>(ctx, *w, index);
  if (!w->impl_->init(error)) {
    return nullptr;
  }
  return w;
}

bool Worker::Impl::init(std::string& error) {
  crypto = record::CryptoContext::create();
  cookies = handshake::CookieMaker::create();
  if (!crypto || !cookies) {
    error = "worker " + std::to_string(index) + ": IPsec-MB cannot run on this CPU";
    return false;
  }
  update_clock();
  punt_bucket = TokenBucket(ctx.config.punt_rate, ctx.config.punt_burst, ctx.tsc_hz, now_tsc);

  const std::string name = "dtlsgw_pending_" + std::to_string(index);
  rte_hash_parameters params{};
  params.name = name.c_str();
  params.entries = std::max<uint32_t>(1024, ctx.config.handshake.max_handshakes);
  params.key_len = sizeof(contract::FlowKey);
  params.hash_func = rte_hash_crc;
  params.socket_id = static_cast<int>(rte_socket_id());
  params.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
  pending = rte_hash_create(&params);
  if (pending == nullptr) {
    error = "worker " + std::to_string(index) + ": cannot create its handshake table";
    return false;
  }

  // Inside source (address, port) pairs: port p belongs to worker
  // (p - first) % workers with every pool address, one pool per distinct
  // backend (a pair is unique per backend flow). Each entry is
  // address index << 16 | port.
  free_ports.resize(ctx.backends);
  const InsideConfig& in = ctx.config.inside;
  for (auto& pool : free_ports) {
    for (size_t a = ctx.inside_sources.size(); a-- > 0;) {
      for (uint32_t p = in.source_port_last + 1u; p-- > in.source_port_first;) {
        if (ctx.owner_of_local_port(static_cast<uint16_t>(p)) == index) {
          pool.push_back(static_cast<uint32_t>(a) << 16 | p);
        }
      }
    }
  }
  free_final_flights.reserve(kFinalFlightSlots);
  for (uint32_t i = kFinalFlightSlots; i-- > 0;) {
    free_final_flights.push_back(i);
  }
  closing.reserve(kMaxRecords);

  // ---- fragments and path MTU (fragments.h, icmp.h) ----
  fragments = FragmentTable::create("dtlsgw_ipf" + std::to_string(index), FragmentTable::Options{},
                                    static_cast<int>(rte_socket_id()), counters, error);
  if (!fragments) {
    return false;
  }
  icmp_bucket = TokenBucket(kIcmpRate, kIcmpBurst, ctx.tsc_hz, now_tsc);
  return true;
}

void Worker::Impl::update_clock() {
  now_tsc = rte_get_tsc_cycles();
  now_ms = now_tsc / (ctx.tsc_hz / 1000) + self.clock_offset_ms_;
  now_s = static_cast<uint32_t>(now_ms / 1000);
}

size_t Worker::pending_handshakes() const {
  return static_cast<size_t>(rte_hash_count(impl_->pending));
}

unsigned Worker::poll() { return impl_->poll(); }

void Worker::install(const contract::InstallMessage& msg, bool quiet) {
  impl_->quiet = quiet;
  impl_->update_clock();
  impl_->install(msg);
  impl_->quiet = false;
}

void Worker::run(const std::atomic<bool>& stop) {
  rte_rcu_qsbr* qs = ctx_.sessions->qsbr();
  rte_rcu_qsbr_thread_register(qs, index_);
  rte_rcu_qsbr_thread_online(qs, index_);
  while (!stop.load(std::memory_order_relaxed)) {
    poll();
    rte_rcu_qsbr_quiescent(qs, index_);
  }
  rte_rcu_qsbr_thread_offline(qs, index_);
  rte_rcu_qsbr_thread_unregister(qs, index_);
}

unsigned Worker::Impl::poll() {
  update_clock();
  refresh_cookie_secrets();
  unsigned handled = 0;
  std::array<rte_mbuf*, kRxBurst> rx;

  unsigned n = rte_eth_rx_burst(ctx.outside_port, static_cast<uint16_t>(index), rx.data(),
                                kRxBurst);
  if (n != 0) {
    counters.add(Counter::rx_packets, n);
    outside_burst(rx.data(), n);
    handled += n;
  }
  n = rte_eth_rx_burst(ctx.inside_port, static_cast<uint16_t>(index), rx.data(), kRxBurst);
  if (n != 0) {
    counters.add(Counter::rx_inside_packets, n);
    inside_burst(rx.data(), n);
    handled += n;
  }
  // Packets other workers received for flows this one owns.
  n = rte_ring_dequeue_burst(ctx.handoff[index], reinterpret_cast<void**>(rx.data()), kRxBurst,
                             nullptr);
  if (n != 0) {
    counters.add(Counter::handoff_received, n);
    std::array<rte_mbuf*, kRxBurst> outside_side;
    std::array<rte_mbuf*, kRxBurst> inside_side;
    unsigned o = 0;
    unsigned i = 0;
    for (unsigned k = 0; k < n; ++k) {
      if (rx[k]->port == ctx.outside_port) {
        outside_side[o++] = rx[k];
      } else {
        inside_side[i++] = rx[k];
      }
    }
    if (o != 0) {
      outside_burst(outside_side.data(), o);
    }
    if (i != 0) {
      inside_burst(inside_side.data(), i);
    }
    handled += n;
  }
  handle_keys();
  if (index == 0) {
    handle_ctl_tx();
    if (now_ms - last_arp_ms >= 1000) {
      last_arp_ms = now_ms;
      send_arp_requests();
    }
  }
  if (now_ms != last_sweep_ms) {
    last_sweep_ms = now_ms;
    idle_sweep();
  }
  // Incomplete datagrams past their time (fragments.h).
  if (fragments && now_ms - last_fragment_expiry_ms >= kFragmentExpiryIntervalMs) {
    last_fragment_expiry_ms = now_ms;
    fragments->expire(now_ms);
  }
  flush_tx();
  return handled;
}

void Worker::Impl::refresh_cookie_secrets() {
  if (ctx.ready == nullptr) {
    return;
  }
  const uint32_t seq = ctx.ready->cookies.sequence.load(std::memory_order_acquire);
  if (seq == cookie_sequence) {
    return;
  }
  handshake::CookieSecrets secrets;
  if (contract::read_cookie_secrets(ctx.ready->cookies, secrets)) {
    cookies->set_secrets(secrets);
    have_cookie_secret = secrets.has_current;
    cookie_sequence = seq;
    OPENSSL_cleanse(&secrets, sizeof(secrets));
  }
}

// ---- frames -------------------------------------------------------------

packet::UdpEndpoints Worker::Impl::to_peer(const Session& s) const {
  return to_peer(s.flow, s.peer_mac.bytes);
}

packet::UdpEndpoints Worker::Impl::to_peer(const contract::FlowKey& flow,
                                           const uint8_t mac[6]) const {
  packet::UdpEndpoints e;
  e.source_mac = ctx.outside_mac;
  std::memcpy(e.destination_mac.bytes, mac, 6);
  e.source = ctx.config.outside.address;
  e.destination = Ipv4{flow.peer_address};
  e.source_port = flow.listener_port;
  e.destination_port = flow.peer_port;
  return e;
}


bool Worker::Impl::send_payload_copy(const packet::UdpEndpoints& e,
                                     std::span<const uint8_t> payload, bool outside) {
  rte_mbuf* m = rte_pktmbuf_alloc(ctx.pool);
  const size_t headers = packet::udp_headers_length(e.has_vlan);
  char* p = m ? rte_pktmbuf_append(m, static_cast<uint16_t>(headers + payload.size())) : nullptr;
  if (p == nullptr) {
    counters.add(Counter::drop_mbuf_alloc);
    rte_pktmbuf_free(m);
    return false;
  }
  std::memcpy(p + headers, payload.data(), payload.size());
  finish_frame(m, e, payload.size(), outside);
  queue_tx(m, outside);
  return true;
}


void Worker::Impl::flush_tx() {
  const auto flush = [this](uint16_t port, auto& buffer, unsigned& count, Counter sent) {
    if (count == 0) {
      return;
    }
    const uint16_t done =
        rte_eth_tx_burst(port, static_cast<uint16_t>(index), buffer.data(),
                         static_cast<uint16_t>(count));
    counters.add(sent, done);
    if (done < count) {
      counters.add(Counter::tx_dropped, count - done);
      rte_pktmbuf_free_bulk(buffer.data() + done, count - done);
    }
    count = 0;
  };
  flush(ctx.outside_port, outside_tx, outside_tx_count, Counter::tx_packets);
  flush(ctx.inside_port, inside_tx, inside_tx_count, Counter::tx_inside_packets);
}

void Worker::Impl::hand_off(rte_mbuf* m, unsigned owner, uint16_t port) {
  m->port = port;
  if (rte_ring_mp_enqueue(ctx.handoff[owner], m) != 0) {
    counters.add(Counter::handoff_ring_full);
    rte_pktmbuf_free(m);
    return;
  }
  counters.add(Counter::handoff_sent);
}

bool Worker::Impl::arp(rte_mbuf* m, const packet::Frame& frame, bool outside) {
  const MacAddress our_mac = outside ? ctx.outside_mac : ctx.inside_mac;
  if (!outside && ctx.neighbors.learn(frame.arp.sender_ip, frame.arp.sender_mac)) {
    counters.add(Counter::arp_learned);
  }
  // Inside, every address of the source pool is ours.
  const bool for_us = outside ? frame.arp.target_ip == ctx.config.outside.address
                              : ctx.inside_source_of(frame.arp.target_ip) !=
                                    DataplaneContext::kNoSource;
  const Ipv4 ours = frame.arp.target_ip;
  if (frame.arp.operation != 1 || !for_us) {
    return false;  // not for us: the caller frees it
  }
  uint8_t reply[64];
  const size_t length = packet::write_arp_reply(reply, frame, our_mac, ours);
  if (length == 0) {
    return false;
  }
  rte_pktmbuf_reset(m);
  char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(length));
  std::memcpy(p, reply, length);
  counters.add(Counter::arp_replies_sent);
  queue_tx(m, outside);
  return true;
}

void Worker::Impl::send_arp_requests() {
  for (uint16_t i = 0; i < ctx.neighbors.size(); ++i) {
    if (ctx.neighbors.resolved(i)) {
      continue;
    }
    rte_mbuf* m = rte_pktmbuf_alloc(ctx.pool);
    if (m == nullptr) {
      counters.add(Counter::drop_mbuf_alloc);
      return;
    }
    uint8_t request[64];
    const size_t length = packet::write_arp_request(request, ctx.inside_mac,
                                                    ctx.config.inside.address,
                                                    ctx.neighbors.address(i), false, 0);
    char* p = length ? rte_pktmbuf_append(m, static_cast<uint16_t>(length)) : nullptr;
    if (p == nullptr) {
      rte_pktmbuf_free(m);
      continue;
    }
    std::memcpy(p, request, length);
    counters.add(Counter::arp_requests_sent);
    queue_tx(m, false);
  }
}

void Worker::Impl::idle_sweep() {
  // A slice of the session array per millisecond: every session is looked
  // at within capacity / kSweepSlotsPerMs ms.
  const uint32_t capacity = ctx.sessions->capacity();
  const uint32_t idle_s = static_cast<uint32_t>(ctx.config.idle_timeout.count() / 1000);
  for (unsigned k = 0; k < kSweepSlotsPerMs; ++k) {
    const uint32_t i = sweep_cursor;
    sweep_cursor = sweep_cursor + 1 == capacity ? 0 : sweep_cursor + 1;
    if (!ctx.sessions->live(i).load(std::memory_order_acquire)) {
      continue;
    }
    Session& s = ctx.sessions->slot(i);
    if (s.worker != index) {
      continue;
    }
    if (s.final_flight != kNoFinalFlight && final_flights[s.final_flight].expires_s < now_s) {
      FinalFlight& f = final_flights[s.final_flight];
      for (uint32_t j = 0; j < f.count; ++j) {
        rte_pktmbuf_free(f.datagrams[j]);
      }
      f.count = 0;
      free_final_flights.push_back(s.final_flight);
      s.final_flight = kNoFinalFlight;
    }
    if (now_s - s.last_active_s > idle_s) {
      close(&s, contract::ClosedBy::idle, true);
    }
  }
}

}  // namespace dtlsgw::dataplane
