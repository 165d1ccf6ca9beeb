// Messages from control (handover, close, ctl-tx) and events to it.

#include "dataplane/worker_impl.h"

namespace dtlsgw::dataplane {

// ---- control: handover, close, ctl-tx -----------------------------------

void Worker::Impl::handle_keys() {
  contract::KeysSlot slot;
  while (rte_ring_sc_dequeue_elem(ctx.keys[index], &slot, sizeof(slot)) == 0) {
    if (slot.header.version != contract::kVersion) {
      counters.add(Counter::keys_bad_message);
    } else if (slot.header.type == contract::MessageType::install) {
      install(slot.install);
    } else if (slot.header.type == contract::MessageType::close) {
      const contract::ClosedBy why =
          slot.close.reason == static_cast<uint16_t>(contract::CloseReason::identity_revoked)
              ? contract::ClosedBy::identity_revoked
              : contract::ClosedBy::administrative;
      if (slot.close.flags & contract::kCloseByIdentity) {
        close_identity(slot.close.identity, why);
      } else if (Session* s = ctx.sessions->find(slot.close.flow);
                 s == nullptr || s->worker != index) {
        counters.add(Counter::keys_bad_message);
      } else {
        close(s, why, true);
      }
    } else {
      counters.add(Counter::keys_bad_message);
    }
    // Key bytes never stay behind in a stack copy (the ring slot itself is
    // overwritten by later messages; the control process wipes its side).
    OPENSSL_cleanse(&slot, sizeof(slot));
  }
}

void Worker::Impl::install(const contract::InstallMessage& msg) {
  using contract::InstallFailure;
  auto free_mbufs = [&msg] {
    for (uint32_t i = 0; i < std::min<uint32_t>(msg.final_flight_count,
                                                 contract::kMaxFinalFlightDatagrams);
         ++i) {
      rte_pktmbuf_free(msg.final_flight[i]);
    }
    for (uint32_t i = 0; i < std::min<uint32_t>(msg.pending_record_count,
                                                 contract::kMaxPendingRecords);
         ++i) {
      rte_pktmbuf_free(msg.pending_records[i]);
    }
  };
  auto fail = [&](InstallFailure why) {
    free_mbufs();
    counters.add(why == InstallFailure::table_full       ? Counter::session_table_full
                 : why == InstallFailure::no_source_port ? Counter::source_pool_exhausted
                                                         : Counter::keys_bad_message);
    send_event(contract::EventKind::install_failed, static_cast<uint16_t>(why), msg.flow,
               nullptr);
  };
  // Every field is checked before anything is trusted.
  const bool counts_ok = msg.final_flight_count <= contract::kMaxFinalFlightDatagrams &&
                         msg.pending_record_count <= contract::kMaxPendingRecords &&
                         msg.foreign_nonce_count <= contract::kMaxForeignNonces &&
                         msg.client_sequence_count <= contract::kMaxClientSequences;
  if (!counts_ok || msg.aead >= record::kAeadCount) {
    // Counts out of range: the mbuf arrays cannot be trusted either.
    counters.add(Counter::keys_bad_message);
    send_event(contract::EventKind::install_failed,
               static_cast<uint16_t>(InstallFailure::bad_message), msg.flow, nullptr);
    return;
  }
  for (uint32_t i = 0; i < msg.final_flight_count; ++i) {
    if (msg.final_flight[i] == nullptr) {
      counters.add(Counter::keys_bad_message);
      return;
    }
  }
  const record::Aead aead = static_cast<record::Aead>(msg.aead);
  const record::AeadParams& params = record::aead_params(aead);
  const uint16_t listener = ctx.listener_by_port[msg.flow.listener_port];
  if (msg.key_length != params.key_length || msg.iv_length != params.fixed_iv_length ||
      listener == kNoListener || ctx.owner_of(msg.flow) != index ||
      (!msg.flow.is_v4() && !ctx.outside_has_v6)) {
    fail(InstallFailure::bad_message);
    return;
  }
  // RFC 6347 §4.2.8: a completed new handshake replaces the old session.
  if (Session* old = ctx.sessions->find(msg.flow); old != nullptr) {
    close(old, contract::ClosedBy::replaced, false);
  }
  const Listener& l = ctx.listeners[listener];
  std::vector<uint32_t>& ports = free_ports[l.backend_pool];
  if (ports.empty()) {
    fail(InstallFailure::no_source_port);
    return;
  }
  Session* s = ctx.sessions->allocate();
  if (s == nullptr) {
    fail(InstallFailure::table_full);
    return;
  }
  s->flow = msg.flow;
  s->inside = InsideKey{};
  s->inside.backend = l.backend_pool;
  s->inside.local_port = static_cast<uint16_t>(ports.back());
  s->inside.local_address = static_cast<uint8_t>(ports.back() >> 16);
  std::memcpy(s->peer_mac.bytes, msg.peer_mac, 6);
  s->listener = listener;
  s->worker = static_cast<uint16_t>(index);
  s->suite = msg.suite;
  s->identity = msg.identity;
  s->identity.prefix_length = std::min<uint8_t>(s->identity.prefix_length,
                                                sizeof(s->identity.prefix));
  s->installed_s = now_s;
  s->last_active_s = now_s;
  const bool keys_ok =
      s->read.install(*crypto, record::Epoch{kEpochOne}, aead,
                      {msg.client_write_key, msg.key_length},
                      {msg.client_write_iv, msg.iv_length}) &&
      s->write.install(*crypto, record::Epoch{kEpochOne}, aead,
                       {msg.server_write_key, msg.key_length},
                       {msg.server_write_iv, msg.iv_length}, msg.server_first_sequence,
                       {msg.foreign_nonces, msg.foreign_nonce_count});
  if (!keys_ok) {
    ctx.sessions->release(s);
    fail(InstallFailure::bad_keys);
    return;
  }
  // The client's handshake records the engine consumed are not accepted
  // again (DESIGN.md: the replay window is seeded at the handover).
  for (uint32_t i = 0; i < msg.client_sequence_count; ++i) {
    if (msg.client_sequences[i] <= record::RecordNumber::kMaxSequence) {
      (void)s->read.replay_window().commit(msg.client_sequences[i]);
    }
  }
  if (ctx.sessions->publish(s) != SessionTable::AddResult::ok) {
    ctx.sessions->release(s);
    fail(InstallFailure::table_full);
    return;
  }
  ports.pop_back();
  rte_hash_del_key(pending, &msg.flow);
  counters.add(Counter::sessions_installed);
  // Only now, with the keys installed and the write sequence above
  // OpenSSL's, does the final flight go out (DESIGN.md, handover).
  if (msg.final_flight_count != 0) {
    if (free_final_flights.empty()) {
      // No room to keep it: sent once, not cached (counted as not resendable).
      const packet::UdpEndpoints e = to_peer(*s);
      for (uint32_t i = 0; i < msg.final_flight_count; ++i) {
        rte_mbuf* d = msg.final_flight[i];
        send_payload_copy(e, {mbuf_data(d), rte_pktmbuf_data_len(d)}, true);
        rte_pktmbuf_free(d);
      }
      counters.add(Counter::final_flight_rate_limited);
    } else {
      s->final_flight = free_final_flights.back();
      free_final_flights.pop_back();
      FinalFlight& f = final_flights[s->final_flight];
      f.count = msg.final_flight_count;
      f.last_resend_ms = 0;
      f.expires_s = now_s + kFinalFlightHoldS;
      std::copy_n(msg.final_flight, msg.final_flight_count, f.datagrams.begin());
      resend_final_flight(s, false);
    }
  }
  send_event(contract::EventKind::installed, 0, s->flow, s);
  // Records the client sent right after its Finished, before the handover.
  for (uint32_t i = 0; i < msg.pending_record_count; ++i) {
    rte_mbuf* d = msg.pending_records[i];
    if (d == nullptr) {
      continue;
    }
    record::RecordWalker walker({mbuf_data(d), rte_pktmbuf_data_len(d)});
    record::RecordView view;
    while (walker.next(view) && ctx.sessions->find(msg.flow) == s) {
      record::OpenRequest req;
      req.epoch = &s->read;
      req.record = view;
      req.result = record::open_record(*crypto, s->read, view, req.plaintext);
      if (req.result == OpenResult::ok) {
        req.type = view.header.type;
        req.number = view.header.number;
      }
      dispatch_opened(req, QueuedRecord{d, s, 0}, false);
    }
    rte_pktmbuf_free(d);
  }
  close_pending();
}

void Worker::Impl::close_identity(const contract::Identity& identity, contract::ClosedBy why) {
  // Rare (an operator's reload): a scan of the slots is fine.
  const uint32_t capacity = ctx.sessions->capacity();
  for (uint32_t i = 0; i < capacity; ++i) {
    if (!ctx.sessions->owned_by(i, index)) {
      continue;
    }
    Session& s = ctx.sessions->slot(i);
    if (contract::same_identity(s.identity, identity)) {
      close(&s, why, true);
    }
  }
}

void Worker::Impl::close(Session* s, contract::ClosedBy why, bool send_close_notify) {
  sessions_closed = true;
  if (send_close_notify) {
    // RFC 5246 §7.2.1: close_notify, sealed by the dataplane (the control
    // process never writes in epoch 1 after the handover).
    const uint8_t alert[2] = {kAlertWarning, kAlertCloseNotify};
    seal_and_send(s, ContentType::alert, alert);
  }
  if (s->final_flight != kNoFinalFlight) {
    FinalFlight& f = final_flights[s->final_flight];
    for (uint32_t i = 0; i < f.count; ++i) {
      rte_pktmbuf_free(f.datagrams[i]);
    }
    f.count = 0;
    free_final_flights.push_back(s->final_flight);
    s->final_flight = kNoFinalFlight;
  }
  send_event(contract::EventKind::closed, static_cast<uint16_t>(why), s->flow, s);
  free_ports[s->inside.backend].push_back(uint32_t{s->inside.local_address} << 16 |
                                   s->inside.local_port);
  counters.add(Counter::sessions_closed);
  ctx.sessions->remove(s);
}

bool Worker::Impl::seal_and_send(Session* s, ContentType type, std::span<const uint8_t> plaintext) {
  rte_mbuf* m = rte_pktmbuf_alloc(ctx.pool);
  if (m == nullptr) {
    counters.add(Counter::drop_mbuf_alloc);
    return false;
  }
  const size_t headers = peer_headers_length(s->flow);
  const size_t room = s->write.seal_prefix() + plaintext.size() + s->write.tag_length();
  uint8_t* start = reinterpret_cast<uint8_t*>(
      rte_pktmbuf_append(m, static_cast<uint16_t>(headers + room)));
  if (start == nullptr) {
    rte_pktmbuf_free(m);
    counters.add(Counter::drop_seal_failed);
    return false;
  }
  std::memcpy(start + headers + s->write.seal_prefix(), plaintext.data(), plaintext.size());
  size_t record_length = 0;
  if (record::seal_record(*crypto, s->write, type, {start + headers, room}, plaintext.size(),
                          record_length) != record::SealResult::ok) {
    rte_pktmbuf_free(m);
    counters.add(Counter::drop_seal_failed);
    return false;
  }
  counters.add(Counter::records_encrypted);
  rte_pktmbuf_trim(m, static_cast<uint16_t>(room - record_length));
  finish_frame(m, to_peer(*s), record_length, true);
  queue_tx(m, true);
  return true;
}

void Worker::Impl::handle_ctl_tx() {
  std::array<contract::CtlTxMessage, kRxBurst> msgs;
  const unsigned n = rte_ring_sc_dequeue_burst_elem(ctx.ctl_tx, msgs.data(), sizeof(msgs[0]),
                                                    kRxBurst, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    const contract::CtlTxMessage& msg = msgs[i];
    rte_mbuf* m = msg.datagram;
    if (msg.header.version != contract::kVersion ||
        msg.header.type != contract::MessageType::ctl_tx || m == nullptr ||
        ctx.listener_by_port[msg.flow.listener_port] == kNoListener ||
        (!msg.flow.is_v4() && !ctx.outside_has_v6)) {
      counters.add(Counter::ctl_tx_bad_message);
      rte_pktmbuf_free(m);
      continue;
    }
    const size_t headers = peer_headers_length(msg.flow);
    const size_t length = rte_pktmbuf_pkt_len(m);
    if (m->nb_segs != 1 ||
        length > (msg.flow.is_v4() ? packet::kMaxUdpPayload : packet::kMaxUdp6Payload) ||
        rte_pktmbuf_prepend(m, static_cast<uint16_t>(headers)) == nullptr) {
      counters.add(Counter::ctl_tx_bad_message);
      rte_pktmbuf_free(m);
      continue;
    }
    finish_frame(m, to_peer(msg.flow, msg.peer_mac), length, true);
    counters.add(Counter::ctl_tx_sent);
    queue_tx(m, true);
  }
}

void Worker::Impl::send_event(contract::EventKind kind, uint16_t detail,
                              const contract::FlowKey& flow, const Session* s) {
  if (quiet) {
    return;
  }
  contract::EventMessage e;
  e.kind = kind;
  e.detail = detail;
  e.worker = static_cast<uint16_t>(index);
  e.flow = flow;
  if (s != nullptr) {
    e.records_in = s->read.records_opened();
    e.records_out = s->write.records_sealed();
  }
  const bool confirmation =
      kind == contract::EventKind::installed || kind == contract::EventKind::install_failed;
  if (!confirmation && rte_ring_free_count(ctx.events) <= kEventSlotsForConfirmations) {
    counters.add(Counter::event_ring_reserved);
    return;
  }
  if (rte_ring_mp_enqueue_elem(ctx.events, &e, sizeof(e)) != 0) {
    counters.add(Counter::event_ring_full);
    return;
  }
  counters.add(Counter::events_sent);
}

}  // namespace dtlsgw::dataplane
