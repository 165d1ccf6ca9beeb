// Inside → outside: a backend datagram sealed into a record for its peer.

#include "dataplane/worker_impl.h"

namespace dtlsgw::dataplane {

// ---- inside → outside -------------------------------------------------

void Worker::Impl::inside_burst(rte_mbuf** packets, unsigned count) {
  // Pass 1: parse, keep the datagrams for this worker's inside ports, look
  // them up at once and ask for their sessions and write keys together.
  auto& frames = rx_frames;
  auto& keys = rx_inside_keys;
  auto& key_ptrs = rx_inside_key_ptrs;
  auto& mine = rx_mine;
  auto& found = rx_found;
  unsigned candidates = 0;  // frames kept
  unsigned lookups = 0;     // keys to look up (rx_lookup_of)
  const InsideConfig& in = ctx.config.inside;
  prefetch_burst_start(packets, count);
  for (unsigned i = 0; i < count; ++i) {
    prefetch_burst_ahead(packets, i, count);
    rte_mbuf* m = packets[i];
    packet::Frame& frame = frames[candidates];
    const RxChecksumVerdicts device = rx_checksum_verdicts(m);
    if (device.ip_bad) [[unlikely]] {
      counters.add(Counter::drop_bad_checksum);
      rte_pktmbuf_free(m);
      continue;
    }
    const packet::FrameResult r =
        packet::parse_frame({mbuf_data(m), rte_pktmbuf_data_len(m)}, frame, device.good);
    if (frame_vlan(m, frame) != in.vlan) [[unlikely]] {
      counters.add(Counter::drop_wrong_vlan);
      rte_pktmbuf_free(m);
      continue;
    }
    if (r != packet::FrameResult::udp) {
      if (r == packet::FrameResult::arp && arp(m, frame, false)) {
        continue;
      }
      if (r == packet::FrameResult::neighbor_solicitation ||
          r == packet::FrameResult::neighbor_advertisement ||
          r == packet::FrameResult::bad_neighbor_discovery) {
        if (!neighbor_discovery(m, frame, r, false)) {
          rte_pktmbuf_free(m);
        }
        continue;
      }
      counters.add(r == packet::FrameResult::arp      ? Counter::drop_not_for_us
                   : r == packet::FrameResult::not_ipv4 ? Counter::drop_not_ipv4
                   : r == packet::FrameResult::not_udp  ? Counter::drop_not_udp
                   : r == packet::FrameResult::ip_fragment ? Counter::drop_ip_fragment
                                                            : Counter::drop_malformed_frame);
      rte_pktmbuf_free(m);
      continue;
    }
    if (device.udp_bad && packet::udp_checksum_sent(mbuf_data(m), frame)) [[unlikely]] {
      counters.add(Counter::drop_bad_checksum);
      rte_pktmbuf_free(m);
      continue;
    }
    // Addressed to one of the pool's (address, port) pairs, from a backend.
    const uint8_t source = frame.destination_address == ctx.inside_sources[0]
                               ? 0
                               : ctx.inside_source_of(frame.destination_address);
    if (source == DataplaneContext::kNoSource || frame.destination_port < in.source_port_first ||
        frame.destination_port > in.source_port_last) [[unlikely]] {
      counters.add(Counter::drop_not_for_us);
      rte_pktmbuf_free(m);
      continue;
    }
    const unsigned owner = ctx.owner_of_local_port(frame.destination_port);
    if (owner != index) {
      hand_off(m, owner, ctx.inside_port);
      continue;
    }
    const uint16_t backend = ctx.backend_of(frame.source_address, frame.source_port);
    if (backend == DataplaneContext::kNoBackend) [[unlikely]] {
      counters.add(Counter::drop_unknown_session);
      rte_pktmbuf_free(m);
      continue;
    }
    keys[candidates] = InsideKey{};
    keys[candidates].backend = backend;
    keys[candidates].local_port = frame.destination_port;
    keys[candidates].local_address = source;
    // A run of one flow's datagrams shares one lookup (outside_burst).
    if (candidates > 0 && keys[candidates] == keys[candidates - 1]) {
      rx_lookup_of[candidates] = rx_lookup_of[candidates - 1];
    } else {
      key_ptrs[lookups] = &keys[candidates];
      rx_hashes[lookups] = SessionTable::hash_of(keys[candidates]);
      rx_lookup_of[candidates] = static_cast<uint16_t>(lookups++);
    }
    mine[candidates++] = m;
  }
  if (candidates == 0) {
    return;
  }
  ctx.sessions->find_inside_bulk(key_ptrs.data(), rx_hashes.data(), lookups, found.data());
  for (unsigned j = 0; j < lookups; ++j) {
    if (found[j] != nullptr) {
      found[j]->prefetch_for_seal();
    }
  }
  for (unsigned j = 0; j < lookups; ++j) {
    if (found[j] != nullptr) {
      found[j]->write.prefetch();
    }
  }

  // Pass 2: make room for the record around each payload and queue it.
  auto& seals = seal_requests;
  auto& sealed_packets = seal_packets;
  auto& sealed_sessions = seal_sessions;
  unsigned n = 0;
  for (unsigned k = 0; k < candidates; ++k) {
    rte_mbuf* m = mine[k];
    const packet::Frame& frame = frames[k];
    Session* s = found[rx_lookup_of[k]];
    if (s == nullptr) [[unlikely]] {
      counters.add(Counter::drop_unknown_session);
      rte_pktmbuf_free(m);
      continue;
    }
    if (frame.payload_length > record::kMaxPlaintextLength) [[unlikely]] {
      counters.add(Counter::drop_seal_failed);
      rte_pktmbuf_free(m);
      continue;
    }
    // The frame becomes: the outside headers, the record header and
    // explicit nonce, the payload where it is, the tag after it. One
    // segment, so that is data_off and the lengths (the checks that
    // rte_pktmbuf_adj/trim/prepend/append would make, once).
    // The outside headers: Ethernet (+ the port's tag), the peer's IP.
    const size_t headers = peer_headers_length(s->flow);
    const size_t prefix = s->write.seal_prefix();
    const size_t tag = s->write.tag_length();
    const size_t record_start = m->data_off + size_t{frame.payload_offset} - prefix;
    const size_t frame_length = headers + prefix + frame.payload_length + tag;
    // A record over the peer's path MTU (worker_path_mtu.cc says why).
    const size_t l2 =
        packet::kEthernetHeaderLength + (ctx.config.outside.vlan ? packet::kVlanTagLength : 0);
    if (over_path_mtu(s, m, frame, frame_length - l2)) [[unlikely]] {
      rte_pktmbuf_free(m);
      continue;
    }
    if (m->nb_segs != 1 || m->data_off + size_t{frame.payload_offset} < prefix + headers ||
        record_start - headers + frame_length > m->buf_len) [[unlikely]] {
      counters.add(Counter::drop_seal_failed);
      rte_pktmbuf_free(m);
      continue;
    }
    m->data_off = static_cast<uint16_t>(record_start - headers);
    m->data_len = static_cast<uint16_t>(frame_length);
    m->pkt_len = static_cast<uint32_t>(frame_length);
    s->last_active_s = now_s;
    record::SealRequest& req = seals[n];
    req.epoch = &s->write;
    req.type = ContentType::application_data;
    req.buffer = {mbuf_data(m) + headers, frame_length - headers};
    req.plaintext_length = frame.payload_length;
    sealed_packets[n] = m;
    sealed_sessions[n] = s;
    ++n;
  }
  if (n == 0) {
    return;
  }
  record::seal_burst(*crypto, {seals.data(), n});
  for (unsigned i = 0; i < n; ++i) {
    rte_mbuf* m = sealed_packets[i];
    Session* s = sealed_sessions[i];
    if (seals[i].result != record::SealResult::ok) [[unlikely]] {
      counters.add(Counter::drop_seal_failed);
      rte_pktmbuf_free(m);
    } else {
      counters.add(Counter::records_encrypted);
      // The record fills the room made for it (fixed nonce and tag sizes),
      // right after the headers made room for in pass 2.
      const auto headers = static_cast<size_t>(seals[i].buffer.data() - mbuf_data(m));
      m->data_len = static_cast<uint16_t>(headers + seals[i].record_length);
      m->pkt_len = m->data_len;
      if (s->flow.is_v4() && ctx.config.outside.vlan == 0) [[likely]] {
        // An IPv4 peer on an untagged outside port: the headers from the
        // session alone (to_peer's packet::UdpEndpoints is the general case).
        finish_ipv4_frame(m,
                          Ipv4UdpHeaders{s->peer_mac.bytes, ctx.outside_mac.bytes,
                                         ctx.config.outside.address.be,
                                         s->flow.peer_address.v4().be, s->flow.listener_port,
                                         s->flow.peer_port},
                          seals[i].record_length, ctx.outside_checksum_offload);
      } else {
        finish_frame(m, to_peer(*s), seals[i].record_length, true);
      }
      queue_tx(m, true);
    }
    if (s->write.usage_status() == record::UsageStatus::close_required &&
        ctx.sessions->find(s->flow) == s) [[unlikely]] {
      counters.add(Counter::usage_limit_closes);
      send_event(contract::EventKind::limit, 1, s->flow, s);
      close(s, contract::ClosedBy::usage_limit, true);
    }
  }
}

}  // namespace dtlsgw::dataplane
