// An opened record's plaintext, to the session's backend: the listener's
// rate limits, then the datagram, behind a PROXY v2 header when the
// listener asks for one (proxy_v2.h).

#include "dataplane/proxy_v2.h"
#include "dataplane/worker_impl.h"

namespace dtlsgw::dataplane {

bool Worker::Impl::to_backend(const Session& s, packet::UdpEndpoints& e) {
  const Listener& l = ctx.listeners[s.listener];
  if (!ctx.neighbors.lookup(l.next_hop, e.destination_mac)) [[unlikely]] {
    counters.add(Counter::drop_no_next_hop);
    return false;
  }
  e.source_mac = ctx.inside_mac;
  e.set_addresses(ctx.inside_sources[s.inside.local_address], l.backend);
  e.source_port = s.inside.local_port;
  e.destination_port = l.backend_port;
  set_vlan(e, false);
  return true;
}

// ---- rate limits ------------------------------------------------------

std::vector<TokenBucket> Worker::Impl::listener_rate_buckets(const DataplaneContext& ctx) {
  std::vector<TokenBucket> buckets;
  const uint64_t workers = std::max(1u, ctx.workers);
  for (const ListenerConfig& l : ctx.config.listeners) {
    // Each worker enforces rate/workers (at least 1/s): the sum over the
    // workers is the configured rate when the listener's peers are spread
    // evenly, and never more.
    const uint64_t rate = l.listener_rate == 0 ? 0 : std::max<uint64_t>(1, l.listener_rate / workers);
    const uint64_t depth = std::max<uint64_t>(1, l.listener_burst / workers);
    buckets.emplace_back(rate, depth, std::max<uint64_t>(1, ctx.tsc_hz), 0);
  }
  return buckets;
}

bool Worker::Impl::within_rate(Session& s, const Listener& l) {
  if (l.session_rate != 0) {
    // The session's bucket on the worker's millisecond clock. The debt is
    // repaid at `rate` per 1000 ms; a fraction of a token is kept by
    // moving the repaid time only by what was paid.
    const auto slot = static_cast<size_t>(&s - &ctx.sessions->slot(0));
    if (slot >= session_rates.size()) [[unlikely]] {
      return true;  // not a table slot (cannot happen): no state to keep
    }
    SessionRate& r = session_rates[slot];
    const uint64_t tag = (uint64_t{key_hash(&s.flow, sizeof(s.flow), 0)} << 32 |
                          uint64_t{s.flow.peer_port} << 16 | s.flow.listener_port) ^
                         uint64_t{s.installed_s} * 0x9e3779b97f4a7c15ull;
    const auto now = static_cast<uint32_t>(now_ms);
    if (r.tag != tag) {
      r = SessionRate{tag, 0, now};
    }
    const uint64_t elapsed = now - r.repaid_ms;
    const uint64_t repaid = elapsed * l.session_rate / 1000;
    if (repaid >= r.debt) {
      r.debt = 0;
      r.repaid_ms = now;
    } else if (repaid != 0) {
      r.debt -= static_cast<uint32_t>(repaid);
      r.repaid_ms += static_cast<uint32_t>(repaid * 1000 / l.session_rate);
    }
    if (r.debt >= l.session_burst) [[unlikely]] {
      counters.add(Counter::drop_session_rate);
      return false;
    }
    ++r.debt;
  }
  if (l.listener_rate_limited) {
    // The TSC, moved on by the tests' clock offset too (Worker::advance_clock_ms).
    const uint64_t now = now_tsc + self.clock_offset_ms_ * (ctx.tsc_hz / 1000);
    if (!listener_buckets[s.listener].take(now)) [[unlikely]] {
      counters.add(Counter::drop_listener_rate);
      return false;
    }
  }
  return true;
}

// ---- forwarding -------------------------------------------------------

// In place (one segment, the caller checked): the frame becomes `headers`
// bytes right before the plaintext and the plaintext, the record's tag cut
// off. The record header and nonce before the plaintext and the mbuf's
// headroom make room for any headers (an IPv6 peer's 62 bytes become at
// most 66); false, and the mbuf untouched, if they do not.
namespace {
bool frame_around(rte_mbuf* m, std::span<const uint8_t> plaintext, size_t headers) {
  const size_t offset = static_cast<size_t>(plaintext.data() - mbuf_data(m));
  if (size_t{m->data_off} + offset < headers) [[unlikely]] {
    return false;
  }
  m->data_off = static_cast<uint16_t>(m->data_off + offset - headers);
  m->data_len = static_cast<uint16_t>(headers + plaintext.size());
  m->pkt_len = m->data_len;
  return true;
}
}  // namespace

bool Worker::Impl::forward_plaintext(Session* s, rte_mbuf* m, std::span<const uint8_t> plaintext,
                                     bool in_place) {
  const Listener& l = ctx.listeners[s->listener];
  if ((l.session_rate != 0 || l.listener_rate_limited) && !within_rate(*s, l)) [[unlikely]] {
    return false;  // the packet is freed by open_queued (not marked reused)
  }
  if (in_place && !l.proxy_protocol && ctx.config.inside.vlan == 0 && l.backend.is_v4())
      [[likely]] {
    // The common case, its headers written from the listener and the
    // session alone: an IPv4 backend on an untagged inside port.
    MacAddress next_hop;
    if (!ctx.neighbors.lookup(l.next_hop, next_hop)) [[unlikely]] {
      counters.add(Counter::drop_no_next_hop);
      return false;
    }
    if (frame_around(m, plaintext, packet::udp_headers_length(false))) [[likely]] {
      finish_ipv4_frame(m,
                        Ipv4UdpHeaders{next_hop.bytes, ctx.inside_mac.bytes,
                                       ctx.inside_sources[s->inside.local_address].v4().be,
                                       l.backend.v4().be, s->inside.local_port, l.backend_port},
                        plaintext.size(), ctx.inside_checksum_offload);
      counters.add(Counter::plaintext_forwarded);
      queue_tx(m, false);
      return true;
    }
  }
  packet::UdpEndpoints e;
  if (!to_backend(*s, e)) {
    return false;
  }
  if (l.proxy_protocol) {
    return forward_with_proxy_header(s, m, plaintext, in_place, e);
  }
  if (!in_place || !frame_around(m, plaintext, packet::udp_headers_length(e))) [[unlikely]] {
    if (send_payload_copy(e, plaintext, false)) {
      counters.add(Counter::plaintext_forwarded);
    }
    return false;
  }
  finish_frame(m, e, plaintext.size(), false);
  counters.add(Counter::plaintext_forwarded);
  queue_tx(m, false);
  return true;
}

bool Worker::Impl::forward_with_proxy_header(Session* s, rte_mbuf* m,
                                             std::span<const uint8_t> plaintext, bool in_place,
                                             const packet::UdpEndpoints& e) {
  // PROXY v2 (proxy_v2.h): source = the peer, destination = the listener.
  proxy_v2::HeaderFields f;
  const auto endpoint = [](const IpAddress& a, uint16_t port) {
    if (a.is_v4()) {
      return proxy_v2::ipv4_endpoint(a.v4().be, port);
    }
    proxy_v2::Endpoint e;
    e.ipv6 = true;
    std::memcpy(e.address.data(), a.bytes, 16);
    e.port = port;
    return e;
  };
  f.source = endpoint(s->flow.peer_address, s->flow.peer_port);
  f.destination = endpoint(ctx.outside_address_for(s->flow.peer_address), s->flow.listener_port);
  const contract::Identity& id = s->identity;
  f.identity.kind = static_cast<proxy_v2::Identity::Kind>(id.kind);
  if (id.kind > static_cast<uint8_t>(proxy_v2::Identity::Kind::certificate)) [[unlikely]] {
    f.identity.kind = proxy_v2::Identity::Kind::none;
  }
  // The dataplane holds a prefix of long identities (contract::Identity);
  // the digest TLV says so, with the whole one's length and hash.
  f.identity.name = {id.prefix, id.prefix_length};
  f.identity.truncated = id.prefix_length < id.length;
  f.identity.full_length = id.length;
  f.identity.hash = id.hash;
  proxy_v2::SessionId unique;
  // The peer's IPv4 address, or a CRC of its IPv6 one: with the ports and
  // the install time, unique enough to tell sessions apart in logs.
  if (s->flow.is_v4()) {
    std::memcpy(unique.data(), s->flow.peer_address.bytes + 12, 4);
  } else {
    const uint32_t crc = htonl(key_hash(s->flow.peer_address.bytes, 16, 0));
    std::memcpy(unique.data(), &crc, 4);
  }
  store_be16(unique.data() + 4, s->flow.peer_port);
  store_be16(unique.data() + 6, s->flow.listener_port);
  const uint32_t installed = htonl(s->installed_s);
  std::memcpy(unique.data() + 8, &installed, 4);
  f.session_id = &unique;

  const size_t proxy = proxy_v2::header_length(f);
  const size_t headers = packet::udp_headers_length(e);
  const size_t payload = proxy + plaintext.size();
  const size_t offset = static_cast<size_t>(plaintext.data() - mbuf_data(m));
  if (in_place && size_t{m->data_off} + offset >= headers + proxy) [[likely]] {
    // In place: the PROXY header right before the plaintext, the UDP/IP
    // headers before it (the record header, nonce and the mbuf's headroom
    // make the room: about 140 bytes against a header of about 100).
    uint8_t* at = const_cast<uint8_t*>(plaintext.data()) - proxy;
    if (proxy_v2::write_header(f, {at, proxy}) != proxy) [[unlikely]] {
      counters.add(Counter::drop_proxy_header);
      return false;
    }
    m->data_off = static_cast<uint16_t>(m->data_off + offset - proxy - headers);
    m->data_len = static_cast<uint16_t>(headers + payload);
    m->pkt_len = m->data_len;
    finish_frame(m, e, payload, false);
    counters.add(Counter::plaintext_forwarded);
    counters.add(Counter::proxy_headers_sent);
    queue_tx(m, false);
    return true;
  }
  // A copy (several records in the datagram, or too little headroom).
  rte_mbuf* copy = rte_pktmbuf_alloc(ctx.pool);
  char* p = copy ? rte_pktmbuf_append(copy, static_cast<uint16_t>(headers + payload)) : nullptr;
  if (p == nullptr) [[unlikely]] {
    counters.add(Counter::drop_mbuf_alloc);
    rte_pktmbuf_free(copy);
    return false;
  }
  auto* out = reinterpret_cast<uint8_t*>(p) + headers;
  if (proxy_v2::write_header(f, {out, proxy}) != proxy) [[unlikely]] {
    counters.add(Counter::drop_proxy_header);
    rte_pktmbuf_free(copy);
    return false;
  }
  std::memcpy(out + proxy, plaintext.data(), plaintext.size());
  finish_frame(copy, e, payload, false);
  counters.add(Counter::plaintext_forwarded);
  counters.add(Counter::proxy_headers_sent);
  counters.add(Counter::proxy_header_copies);
  queue_tx(copy, false);
  return false;
}

}  // namespace dtlsgw::dataplane
