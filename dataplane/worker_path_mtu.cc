// Path MTU in the worker: ICMP frag-needed / packet-too-big from the
// outside lowers a flow's path MTU (icmp.h), and a backend datagram whose
// record would not fit it is refused with an ICMP frag-needed to the
// backend.

#include "dataplane/worker_impl.h"

namespace dtlsgw::dataplane {

namespace {

// RFC 6347 §4.1 / RFC 5246 §6.2.1: the content types a DTLS 1.2 record
// may carry (change_cipher_spec, alert, handshake, application_data).
constexpr uint8_t kFirstContentType = 20;
constexpr uint8_t kLastContentType = 23;
constexpr size_t kRecordNumberEnd = 11;  // type, version, epoch, sequence

uint64_t load_be48(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 6; ++i) {
    v = v << 8 | p[i];
  }
  return v;
}

}  // namespace

bool Worker::Impl::outside_icmp(rte_mbuf* m, const packet::Frame& frame) {
  const uint8_t* data = mbuf_data(m);
  const std::span<const uint8_t> ip{data + frame.l3_offset,
                                    rte_pktmbuf_data_len(m) - size_t{frame.l3_offset}};
  icmp::Report report;
  const icmp::Result r =
      frame.ip_version == 6 ? icmp::parse_icmpv6(ip, report) : icmp::parse_icmpv4(ip, report);
  if (r == icmp::Result::other_message) {
    counters.add(Counter::drop_icmp_other);
    return false;
  }
  if (r != icmp::Result::path_mtu) {
    // Bad checksum, bad quote, a report not below the quoted length
    // (RFC 1191 §4), and IPv6 below its minimum: all change nothing.
    counters.add(Counter::drop_icmp_invalid);
    return false;
  }
  // The quoted datagram is one we sent: from the outside address of its
  // family and a listener's port, to the peer.
  IpAddress source;
  IpAddress destination;
  if (report.ipv6) {
    std::memcpy(source.bytes, report.source.data(), 16);
    std::memcpy(destination.bytes, report.destination.data(), 16);
  } else {
    Ipv4 a;
    std::memcpy(&a.be, report.source.data(), 4);
    source = IpAddress::from(a);
    std::memcpy(&a.be, report.destination.data(), 4);
    destination = IpAddress::from(a);
  }
  if ((report.ipv6 && (!ctx.outside_has_v6 || destination.is_v4())) ||
      source != ctx.outside_address_for(destination) ||
      ctx.listener_by_port[report.source_port] == kNoListener) {
    counters.add(Counter::drop_icmp_not_ours);
    return false;
  }
  contract::FlowKey flow;
  flow.peer_address = destination;
  flow.peer_port = report.destination_port;
  flow.listener_port = report.source_port;
  // The session (or handshake) lives on its owner; the ICMP message came
  // to whichever queue its addresses hash to.
  if (const unsigned owner = ctx.owner_of(flow); owner != index) {
    hand_off(m, owner, ctx.outside_port);
    return true;
  }
  // RFC 8201 §4 / RFC 1191 §6.3: the MTU in bytes of IP packet; the 16-bit
  // fields below cannot hold more than an IPv4 packet anyway.
  const auto mtu = static_cast<uint16_t>(std::min<uint32_t>(report.mtu, 65535));
  Session* s = ctx.sessions->find(flow);
  if (s != nullptr) {
    // RFC 5927 §4.1 (checks on ICMP errors), applied to DTLS: when the
    // quote reaches our record header, it must be a record we sealed, a
    // number already used in the session's epoch. A blind attacker knows
    // the flow but not how far its sequence numbers got.
    const auto q = report.quoted_payload;
    if (q.size() >= kRecordNumberEnd && q[0] >= kFirstContentType && q[0] <= kLastContentType &&
        q[3] == 0 && q[4] == kEpochOne &&
        load_be48(q.data() + 5) >= s->write.next_number().sequence()) {
      counters.add(Counter::drop_icmp_not_ours);
      return false;
    }
    // RFC 1191 §6.3: a report never raises the estimate.
    if (s->path_mtu != 0 && mtu >= s->path_mtu) {
      counters.add(Counter::drop_icmp_not_ours);
      return false;
    }
    s->path_mtu = mtu;
    s->path_mtu_lowered_s = now_s;
  } else if (!handshake_pending(flow)) {
    counters.add(Counter::drop_icmp_not_ours);
    return false;
  }
  counters.add(Counter::icmp_path_mtu_lowered);
  // The control process fits the peer's handshake flights to it (a
  // handshake in progress now, or the peer's next one).
  send_event(contract::EventKind::path_mtu, mtu, flow, s);
  return false;
}

// What to do with a backend datagram whose record exceeds the peer's path
// MTU. A DTLS record cannot be split (RFC 6347 §4.1.1: records map 1:1 to
// the backend's datagrams here, and a record may not span datagrams), so
// the choice is to send it fragmented, or not at all. Fragmenting it would
// hide the problem and hand every record to reassembly at the peer: IP
// fragments are lost together, filtered by middleboxes and a constrained
// peer (the CoAP/LwM2M devices this gateway serves) often cannot
// reassemble them at all. RFC 6347 §4.1.1.1 says the DTLS layer SHOULD
// report an error to the application rather than send a datagram that
// would be fragmented, and RFC 9147 §4.4 keeps PMTU discovery with the
// application. Here the application is the backend: it gets an ICMP
// "fragmentation needed" (RFC 1191) whose MTU, less what the record adds,
// is exactly what fits the peer's path, so its own PMTU discovery (a
// kernel socket with IP_PMTUDISC_DO, or its route cache) sends smaller
// datagrams next time. The datagram is dropped and counted.
void Worker::Impl::refuse_over_path_mtu(Session* s, rte_mbuf* m, const packet::Frame& frame,
                                        size_t ip_length) {
  counters.add(Counter::drop_over_path_mtu);
  if (!icmp_bucket.take(now_tsc)) {
    return;
  }
  // The backend's IP packet: its header, UDP header and payload.
  const size_t offending_length =
      size_t{frame.payload_offset} + frame.payload_length - frame.l3_offset;
  const size_t inside_ip_length = offending_length;
  // The record adds (ip_length - inside_ip_length) bytes to what the
  // backend sends: report the largest backend packet whose record fits.
  const size_t growth = ip_length > inside_ip_length ? ip_length - inside_ip_length : 0;
  const size_t fits = s->path_mtu > growth ? s->path_mtu - growth : 0;
  // An IPv6 backend gets a packet too big (RFC 4443 §3.2), never below
  // IPv6's minimum MTU, which its stack would ignore (RFC 8201 §4).
  const bool v6 = frame.ip_version == 6;
  const auto mtu = static_cast<uint16_t>(
      std::max<size_t>(fits, v6 ? icmp::kIpv6MinimumMtu : icmp::kIpv4MinimumMtu));
  const size_t room = v6 ? icmp::kMaxIcmpv6ErrorLength : icmp::kMaxIcmpv4ErrorLength;
  rte_mbuf* reply = rte_pktmbuf_alloc(ctx.pool);
  const size_t l2 = frame.l3_offset;
  char* p = reply ? rte_pktmbuf_append(reply, static_cast<uint16_t>(l2 + room)) : nullptr;
  if (p == nullptr) {
    counters.add(Counter::drop_mbuf_alloc);
    rte_pktmbuf_free(reply);
    return;
  }
  auto* out = reinterpret_cast<uint8_t*>(p);
  const uint8_t* in = mbuf_data(m);
  // From the inside address the datagram was sent to (the session's).
  const IpAddress& ours = ctx.inside_sources[s->inside.local_address];
  const size_t length =
      v6 ? icmp::write_packet_too_big({out + l2, room}, {in + l2, offending_length}, ours.v6(),
                                      mtu)
         : icmp::write_fragmentation_needed({out + l2, room}, {in + l2, offending_length},
                                            ours.v4().be, mtu, ip_id++);
  if (length == 0) {
    counters.add(Counter::drop_icmp_invalid);
    rte_pktmbuf_free(reply);
    return;
  }
  // Back to where the datagram came from (the backend, or its router),
  // with the same VLAN tag, if any.
  std::memcpy(out, in + 6, 6);
  std::memcpy(out + 6, ctx.inside_mac.bytes, 6);
  std::memcpy(out + 12, in + 12, l2 - 12);
  rte_pktmbuf_trim(reply, static_cast<uint16_t>(room - length));
  reply->ol_flags = 0;
  counters.add(Counter::icmp_frag_needed_sent);
  queue_tx(reply, false);
}

}  // namespace dtlsgw::dataplane
