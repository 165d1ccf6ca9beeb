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

#include "dataplane/packet.h"
#include "dataplane/token_bucket.h"
#include "dtls_record/record_protection.h"
#include "dtls_record/record_walker.h"
#include "handshake/client_hello.h"
#include "handshake/cookie.h"

namespace dtlsgw::dataplane {

namespace {

using record::ContentType;
using record::OpenResult;

constexpr unsigned kRxBurst = 32;
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
};

// One record queued for opening, and where it came from.
struct QueuedRecord {
  rte_mbuf* packet = nullptr;
  Session* session = nullptr;
  uint16_t packet_slot = 0;  // index into the burst's packet list
};

uint8_t* mbuf_data(rte_mbuf* m) { return rte_pktmbuf_mtod(m, uint8_t*); }

uint32_t sum_words(uint32_t be_address) {
  const uint32_t a = ntohl(be_address);
  return (a >> 16) + (a & 0xffff);
}
uint16_t fold(uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}
void store_be16(uint8_t* p, uint16_t v) {
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
uint16_t write_untagged_udp_headers(uint8_t* out, const packet::UdpEndpoints& e,
                                    size_t payload_length, uint16_t ip_id) {
  constexpr uint16_t kVersionIhl = 0x4500;  // version 4, IHL 5, DSCP/ECN 0
  constexpr uint16_t kDontFragment = 0x4000;
  constexpr uint16_t kTtlUdp = 64 << 8 | 17;  // TTL 64, protocol UDP
  const auto udp_length = static_cast<uint16_t>(packet::kUdpHeaderLength + payload_length);
  const auto total_length = static_cast<uint16_t>(packet::kIpv4HeaderLength + udp_length);
  const uint32_t addresses = sum_words(e.source.be) + sum_words(e.destination.be);
  const uint16_t ip_checksum = static_cast<uint16_t>(
      ~fold(uint32_t{kVersionIhl} + total_length + ip_id + kDontFragment + kTtlUdp + addresses));

  std::memcpy(out, e.destination_mac.bytes, 6);
  std::memcpy(out + 6, e.source_mac.bytes, 6);
  store_be16(out + 12, packet::kEtherTypeIpv4);
  uint8_t* ip = out + packet::kEthernetHeaderLength;
  store_be16(ip, kVersionIhl);
  store_be16(ip + 2, total_length);
  store_be16(ip + 4, ip_id);
  store_be16(ip + 6, kDontFragment);
  store_be16(ip + 8, kTtlUdp);
  store_be16(ip + 10, ip_checksum);
  std::memcpy(ip + 12, &e.source.be, 4);
  std::memcpy(ip + 16, &e.destination.be, 4);
  uint8_t* udp = ip + packet::kIpv4HeaderLength;
  store_be16(udp, e.source_port);
  store_be16(udp + 2, e.destination_port);
  store_be16(udp + 4, udp_length);
  store_be16(udp + 6, 0);
  // RFC 768 pseudo-header sum (not complemented): what a device with UDP
  // checksum offload wants in the checksum field.
  return fold(addresses + 17 + udp_length);
}

}  // namespace

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
  std::vector<std::vector<uint16_t>> free_ports;

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
  std::array<Session*, kRxBurst> rx_sessions{};
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
  void send_arp_requests();
  void idle_sweep();
  void hand_off(rte_mbuf* m, unsigned owner, uint16_t port);
  bool send_payload_copy(const packet::UdpEndpoints& e, std::span<const uint8_t> payload,
                         bool outside);
  void finish_frame(rte_mbuf* m, const packet::UdpEndpoints& e, size_t payload_length,
                    bool outside);
  void queue_tx(rte_mbuf* m, bool outside);
  void flush_tx();
  packet::UdpEndpoints to_peer(const Session& s) const;
  packet::UdpEndpoints to_peer(const contract::FlowKey& flow, const uint8_t mac[6]) const;
  bool to_backend(const Session& s, packet::UdpEndpoints& e);
  bool seal_and_send(Session* s, ContentType type, std::span<const uint8_t> plaintext);
};

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
    listener_by_port[l.port] = static_cast<uint16_t>(listeners.size());
    listeners.push_back(out);
  }
  backends = static_cast<unsigned>(distinct_backends.size());
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

  // Inside source ports: port p belongs to worker (p - first) % workers,
  // one pool per distinct backend (a port is unique per backend flow).
  free_ports.resize(ctx.backends);
  const InsideConfig& in = ctx.config.inside;
  for (auto& pool : free_ports) {
    for (uint32_t p = in.source_port_last + 1u; p-- > in.source_port_first;) {
      if (ctx.owner_of_local_port(static_cast<uint16_t>(p)) == index) {
        pool.push_back(static_cast<uint16_t>(p));
      }
    }
  }
  free_final_flights.reserve(kFinalFlightSlots);
  for (uint32_t i = kFinalFlightSlots; i-- > 0;) {
    free_final_flights.push_back(i);
  }
  closing.reserve(kMaxRecords);
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
  auto& sessions = rx_sessions;
  unsigned n = 0;
  for (unsigned i = 0; i < count; ++i) {
    rte_mbuf* m = packets[i];
    packet::Frame& frame = frames[n];
    const packet::FrameResult r = packet::parse_frame(
        {mbuf_data(m), rte_pktmbuf_data_len(m)}, frame);
    switch (r) {
      case packet::FrameResult::udp: {
        const uint16_t listener = ctx.listener_by_port[frame.destination_port];
        if (frame.destination != ctx.config.outside.address || listener == kNoListener)
            [[unlikely]] {
          counters.add(Counter::drop_not_for_us);
          break;
        }
        flows[n] = contract::FlowKey{frame.source.be, frame.source_port, frame.destination_port};
        const unsigned owner = ctx.owner_of(flows[n]);
        if (owner != index) {
          hand_off(m, owner, ctx.outside_port);
          continue;
        }
        flow_keys[n] = &flows[n];
        mine[n++] = m;
        continue;
      }
      case packet::FrameResult::arp:
        if (arp(m, frame, true)) {
          continue;
        }
        break;
      case packet::FrameResult::not_ipv4:
        counters.add(Counter::drop_not_ipv4);
        break;
      case packet::FrameResult::ip_fragment:
        counters.add(Counter::drop_ip_fragment);
        break;
      case packet::FrameResult::not_udp:
        counters.add(Counter::drop_not_udp);
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
  ctx.sessions->find_bulk(flow_keys.data(), n, sessions.data());
  for (unsigned k = 0; k < n; ++k) {
    if (sessions[k] != nullptr) {
      sessions[k]->prefetch();
    }
  }
  // Their key schedules and replay words, needed by the batched open.
  for (unsigned k = 0; k < n; ++k) {
    if (sessions[k] != nullptr) {
      sessions[k]->read.prefetch();
    }
  }
  // Pass 2: classify and queue the records. A session closed meanwhile
  // (a flush of a full queue mid-burst handles alerts) is looked up again.
  sessions_closed = false;
  for (unsigned k = 0; k < n; ++k) {
    outside_packet(mine[k], frames[k], flows[k],
                   sessions_closed ? ctx.sessions->find(flows[k]) : sessions[k]);
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
  const handshake::PeerAddress peer =
      handshake::PeerAddress::v4(reinterpret_cast<const uint8_t*>(&frame.source.be),
                                 frame.source_port);
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
  e.has_vlan = frame.has_vlan;
  e.vlan_tci = frame.vlan_tci;
  const size_t headers = packet::udp_headers_length(e.has_vlan);
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

void Worker::Impl::open_queued() {
  if (queued_count != 0) {
    record::open_burst(*crypto, {requests.data(), queued_count});
    for (unsigned i = 0; i < queued_count; ++i) {
      const QueuedRecord& q = queued[i];
      // A datagram holding exactly one record is rewritten in place.
      dispatch_opened(requests[i], q,
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

void Worker::Impl::resend_final_flight(Session* s, bool rate_limited) {
  if (s->final_flight == kNoFinalFlight) {
    counters.add(Counter::drop_unexpected_content);
    return;
  }
  const uint32_t now32 = static_cast<uint32_t>(now_ms);
  if (rate_limited && now32 - s->last_resend_ms <
                          static_cast<uint32_t>(ctx.config.final_flight_interval.count())) {
    counters.add(Counter::final_flight_rate_limited);
    return;
  }
  s->last_resend_ms = now32;
  const FinalFlight& f = final_flights[s->final_flight];
  const packet::UdpEndpoints e = to_peer(*s);
  for (uint32_t i = 0; i < f.count; ++i) {
    send_payload_copy(e, {mbuf_data(f.datagrams[i]), rte_pktmbuf_data_len(f.datagrams[i])},
                      true);
  }
  if (rate_limited) {
    counters.add(Counter::final_flight_resent);
  }
}

// ---- inside → outside -------------------------------------------------

void Worker::Impl::inside_burst(rte_mbuf** packets, unsigned count) {
  // Pass 1: parse, keep the datagrams for this worker's inside ports, look
  // them up at once and ask for their sessions and write keys together.
  auto& frames = rx_frames;
  auto& keys = rx_inside_keys;
  auto& key_ptrs = rx_inside_key_ptrs;
  auto& mine = rx_mine;
  auto& found = rx_sessions;
  unsigned candidates = 0;
  const InsideConfig& in = ctx.config.inside;
  for (unsigned i = 0; i < count; ++i) {
    rte_mbuf* m = packets[i];
    packet::Frame& frame = frames[candidates];
    const packet::FrameResult r =
        packet::parse_frame({mbuf_data(m), rte_pktmbuf_data_len(m)}, frame);
    if (r != packet::FrameResult::udp) {
      if (r == packet::FrameResult::arp && arp(m, frame, false)) {
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
    if (frame.destination != in.address || frame.destination_port < in.source_port_first ||
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
    keys[candidates] = InsideKey{frame.source.be, frame.source_port, frame.destination_port};
    key_ptrs[candidates] = &keys[candidates];
    mine[candidates++] = m;
  }
  if (candidates == 0) {
    return;
  }
  ctx.sessions->find_inside_bulk(key_ptrs.data(), candidates, found.data());
  for (unsigned k = 0; k < candidates; ++k) {
    if (found[k] != nullptr) {
      found[k]->prefetch();
    }
  }
  for (unsigned k = 0; k < candidates; ++k) {
    if (found[k] != nullptr) {
      found[k]->write.prefetch();
    }
  }

  // Pass 2: make room for the record around each payload and queue it.
  auto& seals = seal_requests;
  auto& sealed_packets = seal_packets;
  auto& sealed_sessions = seal_sessions;
  unsigned n = 0;
  constexpr size_t headers = packet::udp_headers_length(false);
  for (unsigned k = 0; k < candidates; ++k) {
    rte_mbuf* m = mine[k];
    const packet::Frame& frame = frames[k];
    Session* s = found[k];
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
    const size_t prefix = s->write.seal_prefix();
    const size_t tag = s->write.tag_length();
    const size_t record_start = m->data_off + size_t{frame.payload_offset} - prefix;
    const size_t frame_length = headers + prefix + frame.payload_length + tag;
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
      // The record fills the room made for it (fixed nonce and tag sizes).
      m->data_len = static_cast<uint16_t>(headers + seals[i].record_length);
      m->pkt_len = m->data_len;
      finish_frame(m, to_peer(*s), seals[i].record_length, true);
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
    counters.add(why == InstallFailure::table_full ? Counter::session_table_full
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
      listener == kNoListener || ctx.owner_of(msg.flow) != index) {
    fail(InstallFailure::bad_message);
    return;
  }
  // RFC 6347 §4.2.8: a completed new handshake replaces the old session.
  if (Session* old = ctx.sessions->find(msg.flow); old != nullptr) {
    close(old, contract::ClosedBy::replaced, false);
  }
  const Listener& l = ctx.listeners[listener];
  std::vector<uint16_t>& ports = free_ports[l.backend_pool];
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
  s->inside = InsideKey{l.backend.be, l.backend_port, ports.back()};
  std::memcpy(s->peer_mac.bytes, msg.peer_mac, 6);
  s->listener = listener;
  s->worker = static_cast<uint16_t>(index);
  s->suite = msg.suite;
  s->identity = msg.identity;
  s->identity.prefix_length = std::min<uint8_t>(s->identity.prefix_length,
                                                sizeof(s->identity.prefix));
  s->backend = l.backend_pool;
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
    if (!ctx.sessions->live(i).load(std::memory_order_acquire)) {
      continue;
    }
    Session& s = ctx.sessions->slot(i);
    if (s.worker == index && contract::same_identity(s.identity, identity)) {
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
  free_ports[s->backend].push_back(s->inside.local_port);
  counters.add(Counter::sessions_closed);
  ctx.sessions->remove(s);
}

bool Worker::Impl::seal_and_send(Session* s, ContentType type, std::span<const uint8_t> plaintext) {
  rte_mbuf* m = rte_pktmbuf_alloc(ctx.pool);
  if (m == nullptr) {
    counters.add(Counter::drop_mbuf_alloc);
    return false;
  }
  const size_t headers = packet::udp_headers_length(false);
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
        ctx.listener_by_port[msg.flow.listener_port] == kNoListener) {
      counters.add(Counter::ctl_tx_bad_message);
      rte_pktmbuf_free(m);
      continue;
    }
    const size_t headers = packet::udp_headers_length(false);
    const size_t length = rte_pktmbuf_pkt_len(m);
    if (m->nb_segs != 1 || length > packet::kMaxUdpPayload ||
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

void Worker::Impl::finish_frame(rte_mbuf* m, const packet::UdpEndpoints& e,
                                size_t payload_length, bool outside) {
  uint8_t* frame = mbuf_data(m);
  const size_t l2 = packet::kEthernetHeaderLength + (e.has_vlan ? packet::kVlanTagLength : 0);
  const bool offload = outside ? ctx.outside_checksum_offload : ctx.inside_checksum_offload;
  m->ol_flags = 0;
  if (!e.has_vlan) [[likely]] {
    const uint16_t pseudo = write_untagged_udp_headers(frame, e, payload_length, ip_id++);
    uint8_t* udp = frame + l2 + packet::kIpv4HeaderLength;
    if (offload) {
      m->l2_len = l2;
      m->l3_len = packet::kIpv4HeaderLength;
      m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
      store_be16(udp + 6, pseudo);
    } else {
      // packet::set_udp_checksum, with the pseudo-header sum already known.
      auto checksum = static_cast<uint16_t>(
          ~packet::internet_checksum(udp, packet::kUdpHeaderLength + payload_length, pseudo));
      // RFC 768: a computed zero is sent as all ones (zero means none).
      store_be16(udp + 6, checksum == 0 ? 0xffff : checksum);
    }
    return;
  } else {
    packet::write_udp_headers(frame, e, payload_length, ip_id++);
  }
  if (offload) {
    // The device sums the UDP datagram; it needs the pseudo-header sum.
    m->l2_len = l2;
    m->l3_len = packet::kIpv4HeaderLength;
    m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(frame + l2);
    auto* udp = reinterpret_cast<rte_udp_hdr*>(frame + l2 + packet::kIpv4HeaderLength);
    udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
  } else {
    packet::set_udp_checksum(frame + l2);
  }
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

void Worker::Impl::queue_tx(rte_mbuf* m, bool outside) {
  auto& buffer = outside ? outside_tx : inside_tx;
  unsigned& count = outside ? outside_tx_count : inside_tx_count;
  if (count == buffer.size()) {
    flush_tx();
  }
  buffer[count++] = m;
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
  const Ipv4 ours = outside ? ctx.config.outside.address : ctx.config.inside.address;
  const MacAddress our_mac = outside ? ctx.outside_mac : ctx.inside_mac;
  if (!outside && ctx.neighbors.learn(frame.arp.sender_ip, frame.arp.sender_mac)) {
    counters.add(Counter::arp_learned);
  }
  if (frame.arp.operation != 1 || frame.arp.target_ip != ours) {
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
