// The worker: set-up, the polling loop, and the frames it sends (worker_impl.h).

#include "dataplane/worker_impl.h"

namespace dtlsgw::dataplane {

// ---- set-up -----------------------------------------------------------

// Whether `a` and `b` share their first `bits` bits.
bool same_prefix(const IpAddress& a, const IpAddress& b, unsigned bits) {
  for (unsigned i = 0; i < 16 && bits > 0; ++i, bits = bits > 8 ? bits - 8 : 0) {
    const auto mask = static_cast<uint8_t>(bits >= 8 ? 0xff : 0xff << (8 - bits));
    if ((a.bytes[i] ^ b.bytes[i]) & mask) {
      return false;
    }
  }
  return true;
}

void DataplaneContext::index_configuration() {
  listeners.clear();
  std::fill(listener_by_port.begin(), listener_by_port.end(), kNoListener);
  std::vector<std::pair<IpAddress, uint16_t>> distinct_backends;
  const PortConfig& in = config.inside;
  outside_v4 = IpAddress::from(config.outside.address);
  outside_has_v6 = config.outside.address6.has_value();
  outside_v6 = outside_has_v6 ? IpAddress::from(*config.outside.address6) : IpAddress{};
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
    // The next hop: the backend itself when on the inside prefix of its
    // family (IPv4-mapped prefixes are 96 bits longer), else the gateway.
    IpAddress hop = l.backend_address;
    if (l.backend_address.is_v4()) {
      if (!same_prefix(hop, IpAddress::from(in.address), 96u + in.prefix_length) && in.gateway) {
        hop = IpAddress::from(*in.gateway);
      }
    } else if (in.address6 && in.gateway6 && !is_link_local(hop.v6()) &&
               !same_prefix(hop, IpAddress::from(*in.address6), in.prefix_length6)) {
      hop = IpAddress::from(*in.gateway6);
    }
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
    inside_sources.push_back(IpAddress::from(config.inside.address));
    if (in.address6) {
      inside_sources.push_back(IpAddress::from(*in.address6));
    }
  }
}

unsigned DataplaneContext::owner_of(const contract::FlowKey& flow) const {
  if (workers == 1) {
    return 0;
  }
  return key_hash(&flow, sizeof(flow), 0x64746c73) % workers;
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
  params.hash_func = key_hash;
  params.socket_id = static_cast<int>(rte_socket_id());
  params.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
  pending = rte_hash_create(&params);
  if (pending == nullptr) {
    error = "worker " + std::to_string(index) + ": cannot create its handshake table";
    return false;
  }

  // Inside source (address, port) pairs: port p belongs to worker
  // (p - first) % workers with every pool address, one pool per distinct
  // backend (a pair is unique per backend flow), with the pool addresses
  // of the backend's family. Each entry is address index << 16 | port.
  free_ports.resize(ctx.backends);
  const InsideConfig& in = ctx.config.inside;
  for (size_t b = 0; b < free_ports.size(); ++b) {
    auto& pool = free_ports[b];
    const bool v4 = ctx.backend_list[b].first.is_v4();
    for (size_t a = ctx.inside_sources.size(); a-- > 0;) {
      if (ctx.inside_sources[a].is_v4() != v4) {
        continue;
      }
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
  FragmentTable::Options fragment_options;
  fragment_options.max_datagrams = ctx.config.fragment_datagrams;
  fragment_options.buffers = ctx.config.fragment_buffers;
  fragment_options.timeout_ms = static_cast<uint32_t>(ctx.config.fragment_timeout.count());
  fragments = FragmentTable::create("dtlsgw_ipf" + std::to_string(index), fragment_options,
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
  // Packets other workers received for flows this one owns (a lone
  // worker owns every flow: its ring stays empty).
  n = ctx.workers > 1 ? rte_ring_dequeue_burst(ctx.handoff[index],
                                               reinterpret_cast<void**>(rx.data()), kRxBurst,
                                               nullptr)
                      : 0;
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
  // The control rings (keys, control's datagrams): at every idle poll,
  // and at every kControlPollInterval-th busy one. A worker under load
  // spends its polls on records rather than on empty rings; an install
  // waits at most that many bursts (a few microseconds).
  if (handled == 0 || ++busy_polls % kControlPollInterval == 0) {
    handle_keys();
    if (index == 0) {
      handle_ctl_tx();
    }
  }
  if (index == 0) {
    if (now_ms - last_arp_ms >= 1000) {
      last_arp_ms = now_ms;
      resolve_next_hops();
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
  e.set_addresses(ctx.outside_address_for(flow.peer_address), flow.peer_address);
  e.source_port = flow.listener_port;
  e.destination_port = flow.peer_port;
  set_vlan(e, true);
  return e;
}


bool Worker::Impl::send_payload_copy(const packet::UdpEndpoints& e,
                                     std::span<const uint8_t> payload, bool outside) {
  rte_mbuf* m = rte_pktmbuf_alloc(ctx.pool);
  const size_t headers = packet::udp_headers_length(e);
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
  const IpAddress target = IpAddress::from(frame.arp.target_ip);
  if (!outside && ctx.neighbors.learn(IpAddress::from(frame.arp.sender_ip),
                                      frame.arp.sender_mac)) {
    counters.add(Counter::arp_learned);
  }
  // Inside, every address of the source pool is ours.
  const bool for_us = outside ? target == ctx.outside_v4
                              : ctx.inside_source_of(target) != DataplaneContext::kNoSource;
  if (frame.arp.operation != 1 || !for_us) {
    return false;  // not for us: the caller frees it
  }
  uint8_t reply[64];
  const size_t length = packet::write_arp_reply(reply, frame, our_mac, frame.arp.target_ip);
  return reply_in_place(m, {reply, length}, Counter::arp_replies_sent, outside);
}

bool Worker::Impl::reply_in_place(rte_mbuf* m, std::span<const uint8_t> reply, Counter sent,
                                  bool outside) {
  if (reply.empty()) {
    return false;  // not written: the caller frees `m`
  }
  rte_pktmbuf_reset(m);
  char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(reply.size()));
  std::memcpy(p, reply.data(), reply.size());
  counters.add(sent);
  queue_tx(m, outside);
  return true;
}

bool Worker::Impl::neighbor_discovery(rte_mbuf* m, const packet::Frame& frame,
                                      packet::FrameResult r, bool outside) {
  if (r == packet::FrameResult::bad_neighbor_discovery) {
    counters.add(Counter::drop_bad_neighbor_discovery);
    return false;
  }
  const IpAddress target = IpAddress::from(frame.nd.target);
  const bool ours = outside ? ctx.outside_has_v6 && target == ctx.outside_v6
                            : !target.is_v4() && ctx.inside_source_of(target) !=
                                                     DataplaneContext::kNoSource;
  if (r == packet::FrameResult::neighbor_advertisement) {
    // An advertisement names its target's MAC in its option (RFC 4861
    // §7.2.5; one without the option is ignored: we never cache
    // INCOMPLETE entries that it could complete).
    if (!outside && frame.nd.has_link_layer_address &&
        ctx.neighbors.learn(target, frame.nd.link_layer_address)) {
      counters.add(Counter::nd_learned);
    }
    return false;
  }
  // A solicitation: RFC 4861 §7.2.3 would also update the solicitor's
  // entry from its Source Link-Layer Address option; a next hop's is.
  if (!outside && frame.nd.has_link_layer_address && !is_unspecified(frame.nd.source)) {
    if (ctx.neighbors.learn(IpAddress::from(frame.nd.source), frame.nd.link_layer_address)) {
      counters.add(Counter::nd_learned);
    }
  }
  if (!ours) {
    return false;
  }
  uint8_t reply[packet::neighbor_frame_length(true)];
  const size_t length = packet::write_neighbor_advertisement(
      reply, frame, outside ? ctx.outside_mac : ctx.inside_mac);
  return reply_in_place(m, {reply, length}, Counter::nd_advertisements_sent, outside);
}

void Worker::Impl::resolve_next_hops() {
  const PortConfig& in = ctx.config.inside;
  for (uint16_t i = 0; i < ctx.neighbors.size(); ++i) {
    if (ctx.neighbors.resolved(i)) {
      continue;
    }
    const IpAddress& hop = ctx.neighbors.address(i);
    if (!hop.is_v4() && !in.address6) {
      continue;  // (config.cc refuses such a next hop)
    }
    rte_mbuf* m = rte_pktmbuf_alloc(ctx.pool);
    if (m == nullptr) {
      counters.add(Counter::drop_mbuf_alloc);
      return;
    }
    uint8_t request[packet::neighbor_frame_length(true)];
    const size_t length =
        hop.is_v4() ? packet::write_arp_request(request, ctx.inside_mac, in.address, hop.v4(),
                                                in.vlan != 0, in.vlan)
                    : packet::write_neighbor_solicitation(request, ctx.inside_mac, *in.address6,
                                                          hop.v6(), in.vlan != 0, in.vlan);
    char* p = length ? rte_pktmbuf_append(m, static_cast<uint16_t>(length)) : nullptr;
    if (p == nullptr) {
      rte_pktmbuf_free(m);
      continue;
    }
    std::memcpy(p, request, length);
    counters.add(hop.is_v4() ? Counter::arp_requests_sent : Counter::nd_solicitations_sent);
    queue_tx(m, false);
  }
}

void Worker::Impl::idle_sweep() {
  // A slice of the session array per millisecond: every session is looked
  // at within capacity / kSweepSlotsPerMs ms.
  const uint32_t capacity = ctx.sessions->capacity();
  const uint32_t idle_s = static_cast<uint32_t>(ctx.config.idle_timeout.count() / 1000);
  const auto path_mtu_timeout_s =
      static_cast<uint32_t>(ctx.config.path_mtu_timeout.count() / 1000);
  for (unsigned k = 0; k < kSweepSlotsPerMs; ++k) {
    const uint32_t i = sweep_cursor;
    sweep_cursor = sweep_cursor + 1 == capacity ? 0 : sweep_cursor + 1;
    if (!ctx.sessions->owned_by(i, index)) {
      continue;
    }
    // Reads line 1 only (session.h), unless the path MTU was lowered.
    Session& s = ctx.sessions->slot(i);
    if (s.final_flight != kNoFinalFlight && final_flights[s.final_flight].expires_s < now_s) {
      FinalFlight& f = final_flights[s.final_flight];
      for (uint32_t j = 0; j < f.count; ++j) {
        rte_pktmbuf_free(f.datagrams[j]);
      }
      f.count = 0;
      free_final_flights.push_back(s.final_flight);
      s.final_flight = kNoFinalFlight;
    }
    // RFC 1191 §6.3 / RFC 8201 §4: a lowered path MTU is an estimate that
    // can go stale (a route changed back); try the port's again. Another
    // ICMP report lowers it anew.
    if (s.path_mtu != 0 && now_s - s.path_mtu_lowered_s > path_mtu_timeout_s) [[unlikely]] {
      s.path_mtu = 0;
      counters.add(Counter::path_mtu_raised);
    }
    if (now_s - s.last_active_s > idle_s) {
      close(&s, contract::ClosedBy::idle, true);
    }
  }
}

}  // namespace dtlsgw::dataplane
