// Outside → inside: parse, walk the records, cookies and punting, the
// batched open with the replay check (DESIGN.md, "Data path").

#include "dataplane/worker_impl.h"

namespace dtlsgw::dataplane {

// ---- outside → inside -------------------------------------------------

void Worker::Impl::outside_burst(rte_mbuf** packets, unsigned count) {
  burst_count = 0;
  queued_count = 0;
  // Pass 1 (VPP's shape): parse every frame and keep the datagrams of the
  // flows this worker owns, so the whole burst is looked up at once and
  // the sessions' cold lines are asked for together, not one after the
  // other (at many sessions each packet's state is a cache miss).
  auto& frames = rx_frames;
  auto& flows = rx_flows;
  auto& flow_keys = rx_flow_keys;
  auto& mine = rx_mine;
  unsigned n = 0;        // frames kept
  unsigned lookups = 0;  // keys to look up (rx_lookup_of)
  prefetch_burst_start(packets, count);
  for (unsigned i = 0; i < count; ++i) {
    prefetch_burst_ahead(packets, i, count);
    rte_mbuf* m = packets[i];
    packet::Frame& frame = frames[n];
    const RxChecksumVerdicts device = rx_checksum_verdicts(m);
    if (device.ip_bad) [[unlikely]] {
      counters.add(Counter::drop_bad_checksum);
      rte_pktmbuf_free(m);
      continue;
    }
    packet::FrameResult r =
        packet::parse_frame({mbuf_data(m), rte_pktmbuf_data_len(m)}, frame, device.good);
    if (r == packet::FrameResult::ip_fragment) [[unlikely]] {
      // The last fragment of a datagram brings the whole of it (copied
      // into one contiguous buffer), which goes on like any frame.
      rte_mbuf* whole = reassemble(m, frame);
      rte_pktmbuf_free(m);
      if (whole == nullptr) {
        continue;
      }
      m = whole;
      r = packet::parse_frame({mbuf_data(m), rte_pktmbuf_data_len(m)}, frame);
    }
    if (frame_vlan(m, frame) != ctx.config.outside.vlan) [[unlikely]] {
      counters.add(Counter::drop_wrong_vlan);
      rte_pktmbuf_free(m);
      continue;
    }
    switch (r) {
      case packet::FrameResult::udp: {
        if (device.udp_bad && packet::udp_checksum_sent(mbuf_data(m), frame)) [[unlikely]] {
          counters.add(Counter::drop_bad_checksum);
          break;
        }
        // To a listener port on the outside address of the peer's family
        // (an IPv4 one is held mapped, so a v6 packet never matches it).
        const uint16_t listener = ctx.listener_by_port[frame.destination_port];
        if (frame.destination_address != ctx.outside_address_for(frame.source_address) ||
            listener == kNoListener) [[unlikely]] {
          counters.add(Counter::drop_not_for_us);
          break;
        }
        flows[n] = contract::FlowKey{frame.source_address, frame.source_port,
                                     frame.destination_port};
        // The datagrams of one flow often come in a row (a tunnel, a
        // transfer): such a frame has its predecessor's owner and session,
        // so it shares that lookup, as VPP's ESP nodes keep the last SA.
        if (n > 0 && flows[n] == flows[n - 1]) {
          rx_lookup_of[n] = rx_lookup_of[n - 1];
          mine[n++] = m;
          continue;
        }
        const unsigned owner = ctx.owner_of(flows[n]);
        if (owner != index) {
          hand_off(m, owner, ctx.outside_port);
          continue;
        }
        flow_keys[lookups] = &flows[n];
        rx_hashes[lookups] = SessionTable::hash_of(flows[n]);
        rx_lookup_of[n] = static_cast<uint16_t>(lookups++);
        mine[n++] = m;
        continue;
      }
      case packet::FrameResult::arp:
        if (arp(m, frame, true)) {
          continue;
        }
        break;
      case packet::FrameResult::neighbor_solicitation:
      case packet::FrameResult::neighbor_advertisement:
      case packet::FrameResult::bad_neighbor_discovery:
        if (neighbor_discovery(m, frame, r, true)) {
          continue;
        }
        break;
      case packet::FrameResult::not_ipv4:
        counters.add(Counter::drop_not_ipv4);
        break;
      case packet::FrameResult::ip_fragment:
        counters.add(Counter::drop_ip_fragment);  // (a reassembled one never is)
        break;
      case packet::FrameResult::not_udp:
        counters.add(Counter::drop_not_udp);
        break;
      case packet::FrameResult::icmp:
        // Path MTU reports for our flows (worker_path_mtu.cc).
        if (outside_icmp(m, frame)) {
          continue;
        }
        break;
      default:
        counters.add(Counter::drop_malformed_frame);
        break;
    }
    rte_pktmbuf_free(m);
  }
  if (n == 0) {
    return;
  }
  auto& found = rx_found;
  ctx.sessions->find_bulk(flow_keys.data(), rx_hashes.data(), lookups, found.data());
  for (unsigned j = 0; j < lookups; ++j) {
    if (found[j] != nullptr) {
      found[j]->prefetch_for_open();
    }
  }
  // Their key schedules and replay words, needed by the batched open.
  for (unsigned j = 0; j < lookups; ++j) {
    if (found[j] != nullptr) {
      found[j]->read.prefetch();
    }
  }
  // Pass 2: classify and queue the records. A session closed meanwhile
  // (a flush of a full queue mid-burst handles alerts) is looked up again.
  sessions_closed = false;
  for (unsigned k = 0; k < n; ++k) {
    outside_packet(mine[k], frames[k], flows[k],
                   sessions_closed ? ctx.sessions->find(flows[k]) : found[rx_lookup_of[k]]);
  }
  open_queued();
}

void Worker::Impl::outside_packet(rte_mbuf* m, const packet::Frame& frame,
                                  const contract::FlowKey& flow, Session* session) {
  std::span<uint8_t> datagram{mbuf_data(m) + frame.payload_offset, frame.payload_length};
  // Epoch-0 records: ClientHellos and the rest of handshakes in progress.
  // The first record decides; a datagram mixing epochs is the client's
  // CCS (epoch 0) followed by its Finished (epoch 1), which belongs to the
  // handshake too.
  if (datagram.size() >= record::kRecordHeaderLength && datagram[3] == 0 && datagram[4] == 0 &&
      epoch0_datagram(m, frame, flow, session)) {
    return;
  }
  if (session == nullptr) {
    if (handshake_pending(flow)) {
      punt(frame, flow, datagram, 0);
    } else {
      counters.add(Counter::drop_unknown_session);
    }
    rte_pktmbuf_free(m);
    return;
  }
  session->peer_mac = frame.source_mac;
  // Walk the records and queue the epoch-1 ones for opening.
  if (queued_count + 4 > kMaxRecords || burst_count == burst_packets.size()) {
    open_queued();
  }
  const uint16_t slot = static_cast<uint16_t>(burst_count++);
  burst_packets[slot] = m;
  burst_records[slot] = 0;
  burst_reused[slot] = false;
  record::RecordWalker walker(datagram);
  record::RecordView view;
  bool punt_rest = false;
  while (walker.next(view)) {
    if (view.header.number.epoch().value != kEpochOne) {
      counters.add(view.header.number.epoch().value == 0 ? Counter::drop_epoch0_established
                                                         : Counter::drop_wrong_epoch);
      continue;
    }
    // A rebooted peer's new handshake (RFC 6347 §4.2.8) sends its epoch-1
    // Finished under the new keys: it belongs to the control process.
    if (view.header.type == ContentType::handshake && handshake_pending(flow)) {
      punt_rest = true;
      break;
    }
    if (queued_count == kMaxRecords) {
      counters.add(Counter::drop_record_malformed);  // more records than a burst holds
      break;
    }
    if (session->forgery_hold_until_ms != 0 &&
        static_cast<int32_t>(static_cast<uint32_t>(now_ms) - session->forgery_hold_until_ms) < 0)
        [[unlikely]] {
      counters.add(Counter::drop_forgery_hold);
      continue;
    }
    record::OpenRequest& req = requests[queued_count];
    req.epoch = &session->read;
    req.record = view;
    queued[queued_count] = QueuedRecord{m, session, slot};
    ++queued_count;
    ++burst_records[slot];
  }
  if (walker.error() != record::HeaderResult::ok) {
    counters.add(Counter::drop_bad_record_header);
  }
  if (punt_rest) {
    punt(frame, flow, datagram, 0);
  }
  if (burst_records[slot] == 0) {
    --burst_count;
    rte_pktmbuf_free(m);
  }
}

rte_mbuf* Worker::Impl::reassemble(rte_mbuf* m, const packet::Frame& frame) {
  if (!fragments) {
    counters.add(Counter::drop_ip_fragment);
    return nullptr;
  }
  // Only fragments of UDP datagrams to the gateway's outside address take
  // a reassembly buffer (parse_frame checked the header's lengths and
  // checksum).
  const uint8_t* ip = mbuf_data(m) + frame.l3_offset;
  if (frame.destination_address != ctx.outside_address_for(frame.source_address) ||
      (frame.ip_version == 6 && !ctx.outside_has_v6)) {
    counters.add(Counter::drop_not_for_us);
    return nullptr;
  }
  if (frame.ip_version == 6) {
    // The upper layer is named by the Fragment header's Next Header
    // (RFC 8200 §4.5); DPDK's reassembly wants that header right after
    // the fixed one (fragments.h), which add_ipv6 checks.
    if (mbuf_data(m)[frame.fragment_header_offset] != 17) {
      counters.add(Counter::drop_not_udp);
      return nullptr;
    }
    return fragments->add_ipv6({mbuf_data(m), rte_pktmbuf_data_len(m)}, frame.l3_offset,
                               frame.fragment_header_offset, now_ms);
  }
  if (ip[9] != 17) {
    counters.add(Counter::drop_not_udp);
    return nullptr;
  }
  return fragments->add_ipv4({mbuf_data(m), rte_pktmbuf_data_len(m)}, frame.l3_offset, now_ms);
}

bool Worker::Impl::handshake_pending(const contract::FlowKey& flow) {
  void* data = nullptr;
  if (rte_hash_lookup_data(pending, &flow, &data) < 0) {
    return false;
  }
  if (reinterpret_cast<uintptr_t>(data) < now_ms) {
    rte_hash_del_key(pending, &flow);
    return false;
  }
  return true;
}

bool Worker::Impl::epoch0_datagram(rte_mbuf* m, const packet::Frame& frame,
                                   const contract::FlowKey& flow, Session* session) {
  std::span<uint8_t> datagram{mbuf_data(m) + frame.payload_offset, frame.payload_length};
  const bool pending_flow = handshake_pending(flow);
  handshake::ClientHello hello;
  const handshake::ClientHelloResult parsed = handshake::parse_client_hello(datagram, hello);
  if (parsed != handshake::ClientHelloResult::ok) {
    if (pending_flow) {
      // The rest of a handshake in progress (client key exchange, CCS...).
      punt(frame, flow, datagram, 0);
    } else if (session != nullptr) {
      // The epoch-0 records of an established session are dropped, but the
      // datagram may go on in epoch 1: a peer that packs its retransmitted
      // flight (CCS, Finished) into one datagram still gets the cached
      // final flight. The caller walks it and counts the epoch-0 records.
      return false;
    } else if (parsed == handshake::ClientHelloResult::bad_record ||
               parsed == handshake::ClientHelloResult::not_handshake ||
               parsed == handshake::ClientHelloResult::not_client_hello) {
      counters.add(Counter::drop_unknown_session);
    } else {
      counters.add(Counter::drop_bad_client_hello);
    }
    rte_pktmbuf_free(m);
    return true;
  }
  const handshake::PeerAddress peer = flow.peer();
  if (!have_cookie_secret) [[unlikely]] {
    counters.add(Counter::drop_no_cookie_secret);
    rte_pktmbuf_free(m);
    return true;
  }
  const handshake::CookieCheck check = cookies->verify_cookie(peer, hello);
  if (check == handshake::CookieCheck::ok) {
    // A ClientHello the client could only send after our HelloVerifyRequest:
    // the handshake may start (or, for an established flow, restart:
    // RFC 6347 §4.2.8, the old session stays until the new one completes).
    const uintptr_t expiry = now_ms + kHandshakeExpiryMs;
    if (!pending_flow &&
        rte_hash_add_key_data(pending, &flow, reinterpret_cast<void*>(expiry)) != 0) {
      counters.add(Counter::punt_ring_full);
      rte_pktmbuf_free(m);
      return true;
    }
    punt(frame, flow, datagram,
         contract::kPuntCookieVerified | (session ? contract::kPuntEstablished : 0));
    rte_pktmbuf_free(m);
    return true;
  }
  if (check != handshake::CookieCheck::absent) {
    // RFC 6347 §4.2.1: a stale or wrong cookie is treated like none: a new
    // HelloVerifyRequest (stateless, never larger than the request).
    counters.add(Counter::drop_bad_cookie);
  }
  // Build the HelloVerifyRequest in place of the ClientHello, addressed
  // back to the frame's source MAC.
  uint8_t hvr[handshake::CookieMaker::kHelloVerifyRequestLength];
  const size_t length = cookies->build_hello_verify_request(peer, hello, hvr);
  if (length == 0) {
    counters.add(Counter::drop_bad_client_hello);
    rte_pktmbuf_free(m);
    return true;
  }
  packet::UdpEndpoints e = to_peer(flow, frame.source_mac.bytes);
  if (frame.has_vlan) {
    e.vlan_tci = frame.vlan_tci;  // the port's VLAN id, and the peer's priority
  }
  const size_t headers = packet::udp_headers_length(e);
  rte_pktmbuf_reset(m);
  std::memcpy(mbuf_data(m) + headers, hvr, length);
  m->data_len = static_cast<uint16_t>(headers + length);
  m->pkt_len = m->data_len;
  finish_frame(m, e, length, true);
  counters.add(Counter::hello_verify_requests);
  queue_tx(m, true);
  return true;
}

void Worker::Impl::punt(const packet::Frame& frame, const contract::FlowKey& flow,
                        std::span<const uint8_t> datagram, uint16_t flags) {
  if (!punt_bucket.take(now_tsc)) {
    counters.add(Counter::punt_rate_limited);
    return;
  }
  rte_mbuf* copy = rte_pktmbuf_alloc(ctx.punt_pool);
  if (copy == nullptr) {
    counters.add(Counter::punt_pool_empty);
    return;
  }
  char* dst = rte_pktmbuf_append(copy, static_cast<uint16_t>(datagram.size()));
  if (dst == nullptr) {
    counters.add(Counter::punt_pool_empty);
    rte_pktmbuf_free(copy);
    return;
  }
  std::memcpy(dst, datagram.data(), datagram.size());
  contract::PuntMessage msg;
  msg.worker = static_cast<uint16_t>(index);
  msg.flags = flags;
  msg.flow = flow;
  std::memcpy(msg.peer_mac, frame.source_mac.bytes, 6);
  msg.datagram = copy;
  if (rte_ring_mp_enqueue_elem(ctx.punt, &msg, sizeof(msg)) != 0) {
    counters.add(Counter::punt_ring_full);
    rte_pktmbuf_free(copy);
    return;
  }
  counters.add(Counter::punted);
}

inline void Worker::Impl::dispatch_data_or_other(const record::OpenRequest& r,
                                                 const QueuedRecord& q, bool in_place) {
  Session* s = q.session;
  if (r.result != OpenResult::ok || r.type != ContentType::application_data ||
      s->final_flight != kNoFinalFlight) [[unlikely]] {
    dispatch_opened(r, q, in_place);
    return;
  }
  counters.add(Counter::records_decrypted);
  s->last_active_s = now_s;
  if (forward_plaintext(s, q.packet, r.plaintext, in_place)) {
    burst_reused[q.packet_slot] = true;
  }
}

void Worker::Impl::open_queued() {
  if (queued_count != 0) {
    record::open_burst(*crypto, {requests.data(), queued_count});
    for (unsigned i = 0; i < queued_count; ++i) {
      const QueuedRecord& q = queued[i];
      // A datagram holding exactly one record is rewritten in place.
      dispatch_data_or_other(requests[i], q,
                      burst_records[q.packet_slot] == 1 && q.packet->nb_segs == 1);
    }
    close_pending();
  }
  for (unsigned i = 0; i < burst_count; ++i) {
    if (!burst_reused[i]) {
      rte_pktmbuf_free(burst_packets[i]);
    }
  }
  queued_count = 0;
  burst_count = 0;
}

void Worker::Impl::dispatch_opened(const record::OpenRequest& r, const QueuedRecord& q,
                                   bool in_place) {
  Session* s = q.session;
  switch (r.result) {
    case OpenResult::ok:
      break;
    case OpenResult::replay:
      counters.add(Counter::drop_replay);
      return;
    case OpenResult::too_old:
      counters.add(Counter::drop_too_old);
      return;
    case OpenResult::auth_failed:
      counters.add(Counter::drop_auth_failed);
      if (s->read.usage_status() == record::UsageStatus::forgery_alarm) [[unlikely]] {
        s->forgery_hold_until_ms = static_cast<uint32_t>(now_ms) + kForgeryHoldMs;
        if (!s->usage_alarm_reported) {
          s->usage_alarm_reported = true;
          counters.add(Counter::ccm8_forgery_alarms);
          send_event(contract::EventKind::limit, 2, s->flow, s);
        }
      }
      return;
    case OpenResult::unknown_epoch:
      counters.add(Counter::drop_wrong_epoch);
      return;
    case OpenResult::malformed:
      counters.add(Counter::drop_record_malformed);
      return;
    case OpenResult::engine_error:
      counters.add(Counter::drop_crypto_engine);
      return;
    // DTLS 1.3 and RFC 9146 reasons: the 1.2 records opened here never
    // produce them; counted with their nearest 1.2 kin should they appear.
    case OpenResult::too_short_to_mask:
      counters.add(Counter::drop_record_malformed);
      return;
    case OpenResult::unknown_connection_id:
      counters.add(Counter::drop_unknown_session);
      return;
    case OpenResult::no_content_type:
      counters.add(Counter::drop_unexpected_content);
      return;
  }
  counters.add(Counter::records_decrypted);
  s->last_active_s = now_s;
  switch (r.type) {
    case ContentType::application_data:
      if (s->final_flight != kNoFinalFlight) {
        // The client sends data only after our Finished arrived.
        FinalFlight& f = final_flights[s->final_flight];
        for (uint32_t i = 0; i < f.count; ++i) {
          rte_pktmbuf_free(f.datagrams[i]);
        }
        f.count = 0;
        free_final_flights.push_back(s->final_flight);
        s->final_flight = kNoFinalFlight;
      }
      if (forward_plaintext(s, q.packet, r.plaintext, in_place)) {
        burst_reused[q.packet_slot] = true;
      }
      return;
    case ContentType::alert: {
      counters.add(Counter::alerts_received);
      if (r.plaintext.size() != 2) {
        counters.add(Counter::drop_record_malformed);
        return;
      }
      const uint8_t level = r.plaintext[0];
      const uint8_t description = r.plaintext[1];
      send_event(contract::EventKind::alert, static_cast<uint16_t>(level << 8 | description),
                 s->flow, s);
      if (level == kAlertFatal || description == kAlertCloseNotify) {
        const auto why = description == kAlertCloseNotify ? contract::ClosedBy::peer_close_notify
                                                          : contract::ClosedBy::peer_fatal_alert;
        if (std::none_of(closing.begin(), closing.end(),
                         [s](const auto& c) { return c.first == s; })) {
          closing.emplace_back(s, why);
        }
      }
      return;
    }
    case ContentType::handshake:
      // RFC 6347 §4.2.4: a retransmitted client Finished means our final
      // flight was lost; OpenSSL must not answer it (DESIGN.md), we do.
      if (!r.plaintext.empty() && r.plaintext[0] == kHandshakeFinished) {
        resend_final_flight(s, true);
      } else {
        counters.add(Counter::drop_unexpected_content);  // renegotiation is off
      }
      return;
    case ContentType::change_cipher_spec:
      counters.add(Counter::drop_unexpected_content);
      return;
  }
}



void Worker::Impl::resend_final_flight(Session* s, bool rate_limited) {
  if (s->final_flight == kNoFinalFlight) {
    counters.add(Counter::drop_unexpected_content);
    return;
  }
  const uint32_t now32 = static_cast<uint32_t>(now_ms);
  FinalFlight& f = final_flights[s->final_flight];
  if (rate_limited && now32 - f.last_resend_ms <
                          static_cast<uint32_t>(ctx.config.final_flight_interval.count())) {
    counters.add(Counter::final_flight_rate_limited);
    return;
  }
  f.last_resend_ms = now32;
  const packet::UdpEndpoints e = to_peer(*s);
  for (uint32_t i = 0; i < f.count; ++i) {
    send_payload_copy(e, {mbuf_data(f.datagrams[i]), rte_pktmbuf_data_len(f.datagrams[i])},
                      true);
  }
  if (rate_limited) {
    counters.add(Counter::final_flight_resent);
  }
}

}  // namespace dtlsgw::dataplane
