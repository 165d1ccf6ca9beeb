// An opened record's plaintext, to the session's backend.

#include "dataplane/worker_impl.h"

namespace dtlsgw::dataplane {

bool Worker::Impl::to_backend(const Session& s, packet::UdpEndpoints& e) {
  const Listener& l = ctx.listeners[s.listener];
  if (!ctx.neighbors.lookup(l.next_hop, e.destination_mac)) [[unlikely]] {
    counters.add(Counter::drop_no_next_hop);
    return false;
  }
  e.source_mac = ctx.inside_mac;
  e.source = ctx.config.inside.address;
  e.destination = l.backend;
  e.source_port = s.inside.local_port;
  e.destination_port = l.backend_port;
  return true;
}
bool Worker::Impl::forward_plaintext(Session* s, rte_mbuf* m, std::span<const uint8_t> plaintext,
                                     bool in_place) {
  packet::UdpEndpoints e;
  if (!to_backend(*s, e)) {
    return false;  // the packet is freed by open_queued (not marked reused)
  }
  if (!in_place) {
    if (send_payload_copy(e, plaintext, false)) {
      counters.add(Counter::plaintext_forwarded);
    }
    return false;
  }
  // In place (one segment, the caller checked): the headers go right
  // before the plaintext, the record's tag is cut off.
  constexpr size_t headers = packet::udp_headers_length(false);
  const size_t offset = static_cast<size_t>(plaintext.data() - mbuf_data(m));
  m->data_off = static_cast<uint16_t>(m->data_off + offset - headers);
  m->data_len = static_cast<uint16_t>(headers + plaintext.size());
  m->pkt_len = m->data_len;
  finish_frame(m, e, plaintext.size(), false);
  counters.add(Counter::plaintext_forwarded);
  queue_tx(m, false);
  return true;
}

}  // namespace dtlsgw::dataplane
