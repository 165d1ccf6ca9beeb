// The worker's state, shared by the files that implement it (internal to
// the dataplane library): worker.cc (set-up, the loop, frames),
// worker_outside.cc (outside → inside: walk, punt, open), worker_backend.cc
// (plaintext to the backend), worker_inside.cc (inside → outside: seal)
// and worker_control.cc (handover, close, ctl-tx, events). The helpers
// every packet uses are defined here so each file can inline them.
#pragma once

#include "dataplane/worker.h"

#include <openssl/crypto.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <algorithm>
#include <array>
#include <cstring>
#include "dataplane/fragments.h"
#include "dataplane/icmp.h"
#include "dataplane/key_hash.h"
#include "dataplane/packet.h"
#include "dataplane/token_bucket.h"
#include "dtls_record/record_protection.h"
#include "dtls_record/record_walker.h"
#include "handshake/client_hello.h"
#include "handshake/cookie.h"

namespace dtlsgw::dataplane {

namespace worker_internal {

using record::ContentType;
using record::OpenResult;

constexpr unsigned kRxBurst = 32;
// A busy worker looks at its control rings every this many polls
// (Worker::Impl::poll).
constexpr unsigned kControlPollInterval = 8;
constexpr unsigned kTxBuffer = 128;
// Records one outside burst may queue for opening before they are opened.
constexpr unsigned kMaxRecords = 128;
constexpr uint16_t kEpochOne = 1;
// How long the dataplane expects more of a handshake after punting its
// cookie ClientHello (the client's retransmissions back off to 60 s).
constexpr uint64_t kHandshakeExpiryMs = 120'000;
// A final flight is kept until the client's first application data proves
// it arrived, or this long.
constexpr uint32_t kFinalFlightHoldS = 60;
constexpr uint32_t kFinalFlightSlots = 4096;
constexpr unsigned kSweepSlotsPerMs = 256;
// CCM-8 under forgery alarm (RFC 9147 §4.5.3): at most one forgery attempt
// per session per this many ms; the session stays open.
constexpr uint32_t kForgeryHoldMs = 100;
// Slots of the events ring only confirmations (installed, install failed)
// may use, so a flood of alerts cannot stall handovers (issue contract).
constexpr unsigned kEventSlotsForConfirmations = 1024;

// ---- fragments and path MTU (fragments.h, icmp.h) ----
// How often the reassembly table looks for expired datagrams.
constexpr uint64_t kFragmentExpiryIntervalMs = 10;
// ICMP errors a worker sends per second, and its burst (RFC 1812
// §4.3.2.8: an error must not be sent for every offending packet).
constexpr uint64_t kIcmpRate = 100;
constexpr uint64_t kIcmpBurst = 10;

// RFC 5246 §7.2.
constexpr uint8_t kAlertWarning = 1;
constexpr uint8_t kAlertFatal = 2;
constexpr uint8_t kAlertCloseNotify = 0;
// RFC 5246 §7.4.
constexpr uint8_t kHandshakeFinished = 20;

struct FinalFlight {
  std::array<rte_mbuf*, contract::kMaxFinalFlightDatagrams> datagrams{};
  uint32_t count = 0;
  uint32_t expires_s = 0;
  uint32_t last_resend_ms = 0;  // the rate limit of resends (worker clock)
};

// One record queued for opening, and where it came from.
struct QueuedRecord {
  rte_mbuf* packet = nullptr;
  Session* session = nullptr;
  uint16_t packet_slot = 0;  // index into the burst's packet list
};

inline uint8_t* mbuf_data(rte_mbuf* m) { return rte_pktmbuf_mtod(m, uint8_t*); }

// A burst's first pass asks for what it reads ahead of time (DPDK
// l3fwd's shape): the mbuf header of the packet kMbufAhead further on, and
// the first line of the frame of the one kFrameAhead further on, whose
// header was asked for earlier. A ring or a NIC without descriptor
// write-back hands over mbufs that are not in L1.
constexpr unsigned kMbufAhead = 8;
constexpr unsigned kFrameAhead = 4;
inline void prefetch_burst_start(rte_mbuf* const* packets, unsigned count) {
  for (unsigned i = 0; i < kMbufAhead && i < count; ++i) {
    rte_prefetch0(packets[i]);
  }
}
inline void prefetch_burst_ahead(rte_mbuf* const* packets, unsigned i, unsigned count) {
  if (i + kMbufAhead < count) {
    rte_prefetch0(packets[i + kMbufAhead]);
  }
  if (i + kFrameAhead < count) {
    rte_prefetch0(mbuf_data(packets[i + kFrameAhead]));
  }
}

// What the device checked on receipt, where Dataplane::set_up_port could
// ask for rx checksum offload, read once per frame: a checksum it found
// bad drops the frame (RFC 1122 §4.1.3.4: a UDP datagram with a bad
// checksum is discarded; but see packet::udp_checksum_sent); one it found
// good is not summed again.
struct RxChecksumVerdicts {
  bool ip_bad;
  bool udp_bad;
  packet::VerifiedChecksums good;
};
inline RxChecksumVerdicts rx_checksum_verdicts(const rte_mbuf* m) {
  const uint64_t ip = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
  const uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
  return {ip == RTE_MBUF_F_RX_IP_CKSUM_BAD, l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD,
          {.ipv4_header = ip == RTE_MBUF_F_RX_IP_CKSUM_GOOD,
           .udp = l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD}};
}

// The 802.1Q VLAN id a frame arrived on: its tag, or the one the device
// stripped into the mbuf (DPDK's RTE_MBUF_F_RX_VLAN_STRIPPED), or 0. A
// priority tag (VLAN id 0, 802.1Q §9.6) counts as untagged.
inline uint16_t frame_vlan(const rte_mbuf* m, const packet::Frame& frame) {
  if (frame.has_vlan) {
    return frame.vlan_tci & 0x0fff;
  }
  if (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) [[unlikely]] {
    return m->vlan_tci & 0x0fff;
  }
  return 0;
}

inline uint32_t sum_words(uint32_t be_address) {
  const uint32_t a = ntohl(be_address);
  return (a >> 16) + (a & 0xffff);
}
inline uint16_t fold(uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}
inline void store_be16(uint8_t* p, uint16_t v) {
  const uint16_t be = htons(v);
  std::memcpy(p, &be, 2);
}

// packet::write_udp_headers for the untagged frames the data path sends,
// with the IPv4 header checksum (and the UDP pseudo-header sum, returned)
// computed from the values instead of read back from the header just
// written: that read-back mixes 8-byte loads over 1-, 2- and 4-byte stores,
// which the CPU cannot forward (a stall of its own per packet at 64 B).
// Same bytes (tests/dataplane: packet_test checks write_udp_headers; the
// data-path tests parse what this writes).
// The fields of an untagged IPv4 frame's headers, as the data path has
// them at hand (a session, its listener), with no packet::UdpEndpoints
// (two 16-byte addresses and the rest) to fill first.
struct Ipv4UdpHeaders {
  const uint8_t* destination_mac;
  const uint8_t* source_mac;
  uint32_t source_be;
  uint32_t destination_be;
  uint16_t source_port;  // host order
  uint16_t destination_port;
};

inline uint16_t write_untagged_udp_headers(uint8_t* out, const Ipv4UdpHeaders& h,
                                           size_t payload_length, uint16_t ip_id) {
  constexpr uint16_t kVersionIhl = 0x4500;  // version 4, IHL 5, DSCP/ECN 0
  constexpr uint16_t kDontFragment = 0x4000;
  constexpr uint16_t kTtlUdp = 64 << 8 | 17;  // TTL 64, protocol UDP
  const auto udp_length = static_cast<uint16_t>(packet::kUdpHeaderLength + payload_length);
  const auto total_length = static_cast<uint16_t>(packet::kIpv4HeaderLength + udp_length);
  const uint32_t addresses = sum_words(h.source_be) + sum_words(h.destination_be);
  const uint16_t ip_checksum = static_cast<uint16_t>(
      ~fold(uint32_t{kVersionIhl} + total_length + ip_id + kDontFragment + kTtlUdp + addresses));

  std::memcpy(out, h.destination_mac, 6);
  std::memcpy(out + 6, h.source_mac, 6);
  store_be16(out + 12, packet::kEtherTypeIpv4);
  uint8_t* ip = out + packet::kEthernetHeaderLength;
  store_be16(ip, kVersionIhl);
  store_be16(ip + 2, total_length);
  store_be16(ip + 4, ip_id);
  store_be16(ip + 6, kDontFragment);
  store_be16(ip + 8, kTtlUdp);
  store_be16(ip + 10, ip_checksum);
  std::memcpy(ip + 12, &h.source_be, 4);
  std::memcpy(ip + 16, &h.destination_be, 4);
  uint8_t* udp = ip + packet::kIpv4HeaderLength;
  store_be16(udp, h.source_port);
  store_be16(udp + 2, h.destination_port);
  store_be16(udp + 4, udp_length);
  store_be16(udp + 6, 0);
  // RFC 768 pseudo-header sum (not complemented): what a device with UDP
  // checksum offload wants in the checksum field.
  return fold(addresses + 17 + udp_length);
}

}  // namespace worker_internal

using namespace worker_internal;  // NOLINT: the worker files' own vocabulary


struct Worker::Impl {
  DataplaneContext& ctx;
  Worker& self;
  unsigned index;
  WorkerCounters& counters;

  std::unique_ptr<record::CryptoContext> crypto;
  std::unique_ptr<handshake::CookieMaker> cookies;
  uint32_t cookie_sequence = UINT32_MAX;
  bool have_cookie_secret = false;
  TokenBucket punt_bucket;
  rte_hash* pending = nullptr;  // flows with a handshake in progress → expiry (ms)

  // Inside source ports this worker may hand out, per backend.
  // Entries: address index (DataplaneContext::inside_sources) << 16 | port.
  std::vector<std::vector<uint32_t>> free_ports;

  std::vector<FinalFlight> final_flights = std::vector<FinalFlight>(kFinalFlightSlots);
  std::vector<uint32_t> free_final_flights;

  std::array<rte_mbuf*, kTxBuffer> outside_tx{};
  unsigned outside_tx_count = 0;
  std::array<rte_mbuf*, kTxBuffer> inside_tx{};
  unsigned inside_tx_count = 0;

  // The outside burst being opened.
  std::array<record::OpenRequest, kMaxRecords> requests{};
  std::array<QueuedRecord, kMaxRecords> queued{};
  unsigned queued_count = 0;
  std::array<rte_mbuf*, kRxBurst * 2> burst_packets{};
  std::array<uint8_t, kRxBurst * 2> burst_records{};  // records queued per packet
  std::array<bool, kRxBurst * 2> burst_reused{};
  unsigned burst_count = 0;
  std::vector<std::pair<Session*, contract::ClosedBy>> closing;

  // Per-burst scratch of outside_burst and inside_burst (never nested):
  // members, not locals, so a burst does not zero 2 KiB of frames first
  // (those string stores then stall the loads of what parse_frame wrote).
  std::array<packet::Frame, kRxBurst> rx_frames;
  std::array<contract::FlowKey, kRxBurst> rx_flows;
  std::array<const contract::FlowKey*, kRxBurst> rx_flow_keys{};
  std::array<InsideKey, kRxBurst> rx_inside_keys;
  std::array<const InsideKey*, kRxBurst> rx_inside_key_ptrs{};
  std::array<rte_mbuf*, kRxBurst> rx_mine{};
  // The keys looked up: one per run of frames of one flow (a frame whose
  // key equals the one before shares its lookup), their table hashes and
  // sessions, and which of them each kept frame uses.
  std::array<uint32_t, kRxBurst> rx_hashes{};
  std::array<Session*, kRxBurst> rx_found{};
  std::array<uint16_t, kRxBurst> rx_lookup_of{};
  unsigned busy_polls = 0;  // polls that found packets (kControlPollInterval)
  std::array<record::SealRequest, kRxBurst> seal_requests;
  std::array<rte_mbuf*, kRxBurst> seal_packets{};
  std::array<Session*, kRxBurst> seal_sessions{};

  uint64_t now_ms = 0;
  uint32_t now_s = 0;
  uint64_t now_tsc = 0;
  uint64_t last_sweep_ms = 0;
  uint32_t sweep_cursor = 0;
  uint64_t last_arp_ms = 0;
  uint16_t ip_id = 0;
  bool quiet = false;  // no events (bulk static-key installs)
  bool sessions_closed = false;  // a session was closed since the burst's lookup

  // ---- fragments and path MTU (fragments.h, icmp.h) ----
  // Outside IP reassembly (fragments.h; nullptr: fragments are dropped).
  std::unique_ptr<FragmentTable> fragments;
  uint64_t last_fragment_expiry_ms = 0;
  // ICMP errors this worker sends (RFC 1812 §4.3.2.8: rate-limited).
  TokenBucket icmp_bucket;
  // An outside fragment (parse_frame said ip_fragment): the complete
  // datagram as one contiguous frame to process like any received, or
  // nullptr (held, or dropped and counted). Never takes `m`.
  rte_mbuf* reassemble(rte_mbuf* m, const packet::Frame& frame);
  // An outside packet parse_frame called not_udp: an ICMP path MTU report
  // for one of our flows lowers it (worker_path_mtu.cc). True when `m`
  // was handed to the flow's owner (taken); else the caller frees it.
  bool outside_icmp(rte_mbuf* m, const packet::Frame& frame);
  // Inside → outside: true when a record of `ip_length` bytes of IP packet
  // does not fit the session's path MTU; then the datagram is refused
  // (counted, the backend told): the caller frees `m`.
  // A record over the peer's path MTU: counted, and the backend told
  // (worker_path_mtu.cc). Inline for the per-record check.
  bool over_path_mtu(Session* s, rte_mbuf* m, const packet::Frame& frame, size_t ip_length) {
    if (s->path_mtu == 0 || ip_length <= s->path_mtu) [[likely]] {
      return false;
    }
    refuse_over_path_mtu(s, m, frame, ip_length);
    return true;
  }
  void refuse_over_path_mtu(Session* s, rte_mbuf* m, const packet::Frame& frame,
                            size_t ip_length);

  // ---- backend identity, source pools, rate limits ----
  // Per listener: its listener_rate bucket, this worker's share of it
  // (rate and depth divided by the worker count: RSS spreads a listener's
  // peers over the workers, and a shared bucket would need atomics per
  // datagram). Rate 0: no limit.
  std::vector<TokenBucket> listener_buckets = listener_rate_buckets(ctx);
  static std::vector<TokenBucket> listener_rate_buckets(const DataplaneContext& ctx);
  // Per session slot (SessionTable::slot), when a listener has a
  // session_rate: its bucket, kept here because Session has no 16 bytes
  // left of its 256 (16 bytes × max_sessions per worker). The bucket is
  // its debt (tokens spent below the full depth, so zero is a full
  // bucket) and when it was last repaid (worker clock, ms); `tag` names
  // the session it belongs to (its flow and install time), so a slot's
  // next session starts full without a hook in install or close.
  struct SessionRate {
    uint64_t tag = 0;
    uint32_t debt = 0;
    uint32_t repaid_ms = 0;
  };
  std::vector<SessionRate> session_rates = std::vector<SessionRate>(
      std::any_of(ctx.config.listeners.begin(), ctx.config.listeners.end(),
                  [](const ListenerConfig& l) { return l.session_rate != 0; })
          ? ctx.config.max_sessions
          : 0);
  // False when a rate limit toward the backend drops the datagram (counted).
  bool within_rate(Session& s, const Listener& l);
  // Plaintext to the backend behind a PROXY v2 header (proxy_v2.h); in
  // place when the headroom takes it.
  bool forward_with_proxy_header(Session* s, rte_mbuf* m, std::span<const uint8_t> plaintext,
                                 bool in_place, const packet::UdpEndpoints& e);

  Impl(DataplaneContext& c, Worker& w, unsigned i)
      : ctx(c), self(w), index(i), counters(c.counters[i]) {}

  ~Impl() {
    for (FinalFlight& f : final_flights) {
      for (uint32_t i = 0; i < f.count; ++i) {
        rte_pktmbuf_free(f.datagrams[i]);
      }
    }
    for (unsigned i = 0; i < outside_tx_count; ++i) {
      rte_pktmbuf_free(outside_tx[i]);
    }
    for (unsigned i = 0; i < inside_tx_count; ++i) {
      rte_pktmbuf_free(inside_tx[i]);
    }
    rte_hash_free(pending);
  }

  bool init(std::string& error);
  void update_clock();
  unsigned poll();

  // ---- outside → inside ----
  void outside_burst(rte_mbuf** packets, unsigned count);
  // One datagram of a flow this worker owns; `session` from the burst's
  // bulk lookup (nullptr: none).
  void outside_packet(rte_mbuf* m, const packet::Frame& frame, const contract::FlowKey& flow,
                      Session* session);
  // False when the datagram is an established session's and not a
  // ClientHello: the caller walks it (it may go on in epoch 1).
  bool epoch0_datagram(rte_mbuf* m, const packet::Frame& frame, const contract::FlowKey& flow,
                       Session* session);
  void open_queued();
  void dispatch_opened(const record::OpenRequest& r, const QueuedRecord& q, bool in_place);
  // open_queued's case of nearly every record: application data of an
  // established session, forwarded; the rest goes to dispatch_opened.
  void dispatch_data_or_other(const record::OpenRequest& r, const QueuedRecord& q,
                              bool in_place);
  // True when `m` itself went out (in place): the burst must not free it.
  bool forward_plaintext(Session* s, rte_mbuf* m, std::span<const uint8_t> plaintext,
                         bool in_place);
  void resend_final_flight(Session* s, bool rate_limited);

  // ---- inside → outside ----
  void inside_burst(rte_mbuf** packets, unsigned count);

  // ---- control ----
  void handle_keys();
  void install(const contract::InstallMessage& msg);
  void close(Session* s, contract::ClosedBy why, bool send_close_notify);
  void close_identity(const contract::Identity& identity, contract::ClosedBy why);
  // Closes the sessions whose peer closed them during the last burst
  // (after the burst: other records of it may point at them).
  void close_pending() {
    for (const auto& [s, why] : closing) {
      // RFC 5246 §7.2.1: answer a close_notify with one; a fatal alert
      // ends the connection at once.
      close(s, why, why == contract::ClosedBy::peer_close_notify);
    }
    closing.clear();
  }
  void handle_ctl_tx();
  void punt(const packet::Frame& frame, const contract::FlowKey& flow,
            std::span<const uint8_t> datagram, uint16_t flags);
  void send_event(contract::EventKind kind, uint16_t detail, const contract::FlowKey& flow,
                  const Session* s);
  bool handshake_pending(const contract::FlowKey& flow);
  void refresh_cookie_secrets();

  // ---- frames ----
  bool arp(rte_mbuf* m, const packet::Frame& frame, bool outside);
  // Sends `reply` (a whole frame) in `m`, the request it answers; false
  // when it is empty (not written).
  bool reply_in_place(rte_mbuf* m, std::span<const uint8_t> reply, Counter sent, bool outside);
  // A neighbour solicitation or advertisement (RFC 4861): answers one for
  // the gateway's IPv6 address on that port; inside, learns next hops.
  // True when `m` was reused for the answer (taken).
  bool neighbor_discovery(rte_mbuf* m, const packet::Frame& frame, packet::FrameResult r,
                          bool outside);
  // ARP requests (IPv4) and neighbour solicitations (IPv6) for the inside
  // next hops not resolved yet.
  void resolve_next_hops();
  // Ethernet (+ the outside port's tag), IP of the peer's family, UDP.
  size_t peer_headers_length(const contract::FlowKey& flow) const {
    return packet::udp_headers_length(ctx.config.outside.vlan != 0, flow.is_v4() ? 4 : 6);
  }
  // Tags frames sent on the port with its VLAN (PortConfig::vlan).
  void set_vlan(packet::UdpEndpoints& e, bool outside) const {
    const uint16_t vlan = outside ? ctx.config.outside.vlan : ctx.config.inside.vlan;
    e.has_vlan = vlan != 0;
    e.vlan_tci = vlan;
  }
  void idle_sweep();
  void hand_off(rte_mbuf* m, unsigned owner, uint16_t port);
  bool send_payload_copy(const packet::UdpEndpoints& e, std::span<const uint8_t> payload,
                         bool outside);
  void finish_frame(rte_mbuf* m, const packet::UdpEndpoints& e, size_t payload_length,
                    bool outside);
  // finish_frame's untagged IPv4 case, from the fields themselves.
  void finish_ipv4_frame(rte_mbuf* m, const Ipv4UdpHeaders& h, size_t payload_length,
                         bool offload);
  void queue_tx(rte_mbuf* m, bool outside);
  void flush_tx();
  packet::UdpEndpoints to_peer(const Session& s) const;
  packet::UdpEndpoints to_peer(const contract::FlowKey& flow, const uint8_t mac[6]) const;
  bool to_backend(const Session& s, packet::UdpEndpoints& e);
  bool seal_and_send(Session* s, ContentType type, std::span<const uint8_t> plaintext);
};

inline void Worker::Impl::finish_ipv4_frame(rte_mbuf* m, const Ipv4UdpHeaders& h,
                                            size_t payload_length, bool offload) {
  uint8_t* frame = mbuf_data(m);
  const uint16_t pseudo = write_untagged_udp_headers(frame, h, payload_length, ip_id++);
  uint8_t* udp = frame + packet::kEthernetHeaderLength + packet::kIpv4HeaderLength;
  if (offload) {
    m->l2_len = packet::kEthernetHeaderLength;
    m->l3_len = packet::kIpv4HeaderLength;
    m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
    store_be16(udp + 6, pseudo);
  } else {
    m->ol_flags = 0;
    // packet::set_udp_checksum, with the pseudo-header sum already known.
    auto checksum = static_cast<uint16_t>(
        ~packet::internet_checksum(udp, packet::kUdpHeaderLength + payload_length, pseudo));
    // RFC 768: a computed zero is sent as all ones (zero means none).
    store_be16(udp + 6, checksum == 0 ? 0xffff : checksum);
  }
}

inline void Worker::Impl::finish_frame(rte_mbuf* m, const packet::UdpEndpoints& e,
                                size_t payload_length, bool outside) {
  uint8_t* frame = mbuf_data(m);
  const size_t l2 = packet::kEthernetHeaderLength + (e.has_vlan ? packet::kVlanTagLength : 0);
  const bool offload = outside ? ctx.outside_checksum_offload : ctx.inside_checksum_offload;
  if (!e.has_vlan && e.ip_version == 4) [[likely]] {
    finish_ipv4_frame(m,
                      Ipv4UdpHeaders{e.destination_mac.bytes, e.source_mac.bytes, e.source.be,
                                     e.destination.be, e.source_port, e.destination_port},
                      payload_length, offload);
    return;
  }
  m->ol_flags = 0;
  // Tagged, or IPv6: write_udp_headers leaves the IPv6 pseudo-header sum in
  // the UDP checksum field, what the device's offload wants.
  packet::write_udp_headers(frame, e, payload_length, ip_id++);
  if (offload) {
    // The device sums the UDP datagram; it needs the pseudo-header sum.
    m->l2_len = l2;
    if (e.ip_version == 6) {
      m->l3_len = packet::kIpv6HeaderLength;
      m->ol_flags = RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM;
      return;
    }
    m->l3_len = packet::kIpv4HeaderLength;
    m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(frame + l2);
    auto* udp = reinterpret_cast<rte_udp_hdr*>(frame + l2 + packet::kIpv4HeaderLength);
    udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
  } else {
    // Mandatory over IPv6 (RFC 8200 §8.1).
    packet::set_udp_checksum(frame + l2);
  }
}
inline void Worker::Impl::queue_tx(rte_mbuf* m, bool outside) {
  auto& buffer = outside ? outside_tx : inside_tx;
  unsigned& count = outside ? outside_tx_count : inside_tx_count;
  if (count == buffer.size()) {
    flush_tx();
  }
  buffer[count++] = m;
}

}  // namespace dtlsgw::dataplane
