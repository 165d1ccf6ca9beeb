#include "bench/loadgen/data_traffic.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench/loadgen/port_setup.h"

namespace dtlsgw::loadgen {

namespace {

constexpr uint16_t kRxBurst = 64;
constexpr uint16_t kEpoch = 1;  // the first epoch with keys (RFC 6347 §4.1)
constexpr size_t kHeaders = packet::udp_headers_length(false);
constexpr double kDrainSeconds = 0.2;

MacAddress to_mac(const rte_ether_addr& a) {
  MacAddress m;
  std::memcpy(m.bytes, a.addr_bytes, 6);
  return m;
}

}  // namespace

DataTraffic::DataTraffic(const DataOptions& o, const dataplane::Config& c, DataSessions& s,
                         rte_mempool* pool, uint16_t outside, uint16_t inside)
    : o_(o), config_(c), sessions_(s), pool_(pool), outside_(outside), inside_(inside) {
  hz_ = static_cast<double>(rte_get_tsc_hz());
  ns_per_tick_ = 1e9 / hz_;
  outside_mac_ = to_mac(port_mac(outside));
  inside_mac_ = to_mac(port_mac(inside));
}

bool DataTraffic::wait_for_links(std::string& error) {
  const uint64_t until = rte_get_tsc_cycles() + static_cast<uint64_t>(o_.link_timeout * hz_);
  for (;;) {
    rte_eth_link a{};
    rte_eth_link b{};
    rte_eth_link_get_nowait(outside_, &a);
    rte_eth_link_get_nowait(inside_, &b);
    if (a.link_status == RTE_ETH_LINK_UP && b.link_status == RTE_ETH_LINK_UP) {
      return true;
    }
    if (rte_get_tsc_cycles() > until) {
      error = std::string("link down after ") + std::to_string(o_.link_timeout) + " s on the " +
              (a.link_status == RTE_ETH_LINK_UP ? "inside" : "outside") +
              " port (is the gateway running, are the memif sockets the same?)";
      return false;
    }
    rte_delay_ms(20);
  }
}

void DataTraffic::send_arp_request(uint16_t port, Ipv4 sender, Ipv4 target) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) {
    return;
  }
  uint8_t frame[64] = {};
  const MacAddress mac = port == outside_ ? outside_mac_ : inside_mac_;
  const size_t n = packet::write_arp_request(frame, mac, sender, target, false, 0);
  // Padded to Ethernet's 60-byte minimum.
  char* p = rte_pktmbuf_append(m, 60);
  std::memcpy(p, frame, std::max<size_t>(n, 60));
  if (rte_eth_tx_burst(port, 0, &m, 1) != 1) {
    rte_pktmbuf_free(m);
  }
}

std::string DataTraffic::resolve_gateway_macs() {
  if (o_.direction == DataDirection::plain) {
    return "broadcast (plain: a forwarder answers no ARP)";
  }
  const Ipv4 outside_ip = config_.outside.address;
  const Ipv4 inside_ip = config_.inside.address;
  const Ipv4 peer{sessions_[0].peer_be};
  const Ipv4 backend{sessions_[0].backend_be};
  bool outside_known = false;
  bool inside_known = false;
  const uint64_t until = rte_get_tsc_cycles() + static_cast<uint64_t>(2 * hz_);
  uint64_t next_request = 0;
  while ((!outside_known || !inside_known) && rte_get_tsc_cycles() < until) {
    if (rte_get_tsc_cycles() >= next_request) {
      if (!outside_known) {
        send_arp_request(outside_, peer, outside_ip);
      }
      if (!inside_known) {
        send_arp_request(inside_, backend, inside_ip);
      }
      next_request = rte_get_tsc_cycles() + static_cast<uint64_t>(0.2 * hz_);
    }
    for (const uint16_t port : {outside_, inside_}) {
      rte_mbuf* mbufs[kRxBurst];
      const uint16_t n = rte_eth_rx_burst(port, 0, mbufs, kRxBurst);
      for (uint16_t i = 0; i < n; ++i) {
        packet::Frame f;
        const auto* data = rte_pktmbuf_mtod(mbufs[i], const uint8_t*);
        if (packet::parse_frame({data, rte_pktmbuf_data_len(mbufs[i])}, f) ==
            packet::FrameResult::arp) {
          if (f.arp.operation == 2 && port == outside_ && f.arp.sender_ip == outside_ip) {
            gateway_outside_mac_ = f.arp.sender_mac;
            outside_known = true;
          } else if (f.arp.operation == 2 && port == inside_ && f.arp.sender_ip == inside_ip) {
            gateway_inside_mac_ = f.arp.sender_mac;
            inside_known = true;
          } else if (answer_arp(mbufs[i], f, port)) {
            continue;
          }
        }
        rte_pktmbuf_free(mbufs[i]);
      }
    }
  }
  return std::string("outside ") + (outside_known ? "ARP " : "unanswered, broadcast ") +
         dataplane::to_string(gateway_outside_mac_) + ", inside " +
         (inside_known ? "ARP " : "unanswered, broadcast ") +
         dataplane::to_string(gateway_inside_mac_);
}

// The gateway asks for its backends' (and maybe peers') MACs: this
// program is all of them.
bool DataTraffic::answer_arp(rte_mbuf* m, const packet::Frame& f, uint16_t port) {
  if (f.arp.operation != 1) {
    return false;
  }
  const Ipv4 gateway = port == outside_ ? config_.outside.address : config_.inside.address;
  if (f.arp.target_ip == gateway) {
    return false;
  }
  uint8_t reply[64] = {};
  const size_t n = packet::write_arp_reply(reply, f, port == outside_ ? outside_mac_ : inside_mac_,
                                           f.arp.target_ip);
  if (n == 0) {
    return false;
  }
  rte_pktmbuf_reset(m);
  char* p = rte_pktmbuf_append(m, 60);
  std::memcpy(p, reply, 60);
  if (rte_eth_tx_burst(port, 0, &m, 1) != 1) {
    rte_pktmbuf_free(m);
  }
  return true;
}

void DataTraffic::build_one(rte_mbuf* m, uint32_t run) {
  const uint32_t index = learning_ ? learning_index_ : rng_.below(sessions_.size());
  DataSession& s = sessions_[index];
  Stamp st;
  st.session = index;
  st.run = run;
  st.sequence = s.next_sequence++;
  packet::UdpEndpoints e;
  const bool seal = o_.direction == DataDirection::seal && !learning_;
  size_t payload = size_;
  if (seal) {
    e.source_mac = inside_mac_;
    e.destination_mac = gateway_inside_mac_;
    e.source = Ipv4{s.backend_be};
    e.destination = config_.inside.address;
    e.source_port = s.backend_port;
    e.destination_port = s.inside_port;
  } else {
    e.source_mac = outside_mac_;
    e.destination_mac = gateway_outside_mac_;
    e.source = Ipv4{s.peer_be};
    e.destination = config_.outside.address;
    e.source_port = s.peer_port;
    e.destination_port = s.listener_port;
    if (o_.direction != DataDirection::plain) {
      payload += sessions_.overhead(index);
    }
  }
  auto* frame =
      reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(kHeaders + payload)));
  packet::write_udp_headers(frame, e, payload, ip_id_++);
  uint8_t* out = frame + kHeaders;
  st.tsc = rte_rdtsc();
  if (payload != size_ && sessions_.generic(index)) {
    // Another suite than AES-GCM: the stamp and the pattern as plaintext,
    // sealed by the record layer (data_sessions.h).
    uint8_t* plaintext = out + sessions_.prefix(index);
    write_stamp(st, plaintext);
    std::memcpy(plaintext + kStampBytes, pattern_table() + kStampBytes + pattern_phase(st),
                size_ - kStampBytes);
    if (!sessions_.seal(index, st.sequence, {out, payload}, size_)) {
      // The record layer refused keys the static-keys file accepted: a
      // bug, not a measurement.
      std::fprintf(stderr, "dtlsgw-loadgen: cannot seal a record of session %u (%s)\n", index,
                   std::string(record::to_string(sessions_.aead(index))).c_str());
      std::exit(1);
    }
  } else if (payload != size_) {  // a record: open direction, or the seal direction's warm-up
    uint8_t stamp[kStampBytes];
    write_stamp(st, stamp);
    gcm_write_record(sessions_.key(index), sessions_.shape(index), kEpoch, st.sequence, stamp,
                     size_, out);
  } else {
    write_stamp(st, out);
    std::memcpy(out + kStampBytes, pattern_table() + kStampBytes + pattern_phase(st),
                size_ - kStampBytes);
  }
}

uint16_t DataTraffic::build_burst(rte_mbuf** mbufs, uint16_t n, uint32_t run) {
  if (rte_pktmbuf_alloc_bulk(pool_, mbufs, n) != 0) {
    return 0;
  }
  for (uint16_t i = 0; i < n; ++i) {
    build_one(mbufs[i], run);
  }
  return n;
}

void DataTraffic::count(const Stamp& st, uint32_t run, SizeResult& r, uint64_t now, bool full_ok) {
  if (!full_ok) {
    ++r.failures[static_cast<size_t>(VerifyFailure::full_check)];
    return;
  }
  if (st.run != run) {
    ++r.late;
    return;
  }
  DataSession& s = sessions_[st.session];
  if (st.sequence <= s.last_received) {
    ++r.duplicates;
    return;
  }
  s.last_received = st.sequence;
  ++r.received;
  r.latency.record(static_cast<uint64_t>(static_cast<double>(now - st.tsc) * ns_per_tick_));
}

void DataTraffic::verify_open_or_plain(const packet::Frame& f, const uint8_t* frame, uint32_t run,
                                       SizeResult& r, uint64_t now) {
  const uint8_t* payload = frame + f.payload_offset;
  Stamp st;
  if (f.payload_length < kStampBytes || !read_stamp(payload, st) ||
      st.session >= sessions_.size()) {
    ++r.failures[static_cast<size_t>(VerifyFailure::bad_stamp)];
    return;
  }
  DataSession& s = sessions_[st.session];
  const bool plain = o_.direction == DataDirection::plain;
  // Open: the gateway's inside address to the listener's backend. Plain: the
  // forwarder passes the frame as it was sent.
  const bool addresses_ok =
      plain ? f.source.be == s.peer_be && f.source_port == s.peer_port &&
                  f.destination == config_.outside.address && f.destination_port == s.listener_port
            : f.source == config_.inside.address && f.destination.be == s.backend_be &&
                  f.destination_port == s.backend_port;
  if (!addresses_ok) {
    ++r.failures[static_cast<size_t>(VerifyFailure::wrong_addresses)];
    return;
  }
  if (learning_) {
    if (learned_[st.session] == 0) {
      learned_[st.session] = 1;
      s.inside_port = f.source_port;
    }
    return;
  }
  if (f.payload_length != size_) {
    ++r.failures[static_cast<size_t>(VerifyFailure::wrong_length)];
    return;
  }
  bool full_ok = true;
  if (++received_any_ % o_.check_every == 0) {
    ++r.full_checks;
    full_ok = plain || sessions_.generic(st.session)
                  ? std::memcmp(payload + kStampBytes,
                                  pattern_table() + kStampBytes + pattern_phase(st),
                                  size_ - kStampBytes) == 0
                    : gcm_expected_plaintext_matches(sessions_.key(st.session), kEpoch, st.sequence,
                                                     {payload, f.payload_length});
  }
  count(st, run, r, now, full_ok);
}

void DataTraffic::verify_seal(const packet::Frame& f, const uint8_t* frame, uint32_t run,
                              SizeResult& r, uint64_t now) {
  uint32_t index = 0;
  if (!sessions_.find(f.destination.be, f.destination_port, f.source_port, index) ||
      f.source != config_.outside.address) {
    ++r.failures[static_cast<size_t>(VerifyFailure::unknown_flow)];
    return;
  }
  if (f.payload_length != size_ + sessions_.overhead(index)) {
    ++r.failures[static_cast<size_t>(VerifyFailure::wrong_length)];
    return;
  }
  if (sessions_.generic(index)) {
    verify_seal_generic(f, frame, index, run, r, now);
    return;
  }
  const std::span<const uint8_t> record(frame + f.payload_offset, f.payload_length);
  uint8_t stamp[kStampBytes];
  if (!gcm_read_stamp(sessions_.key(index), record, stamp)) {
    ++r.failures[static_cast<size_t>(VerifyFailure::unreadable_record)];
    return;
  }
  Stamp st;
  if (!read_stamp(stamp, st) || st.session != index) {
    ++r.failures[static_cast<size_t>(VerifyFailure::bad_stamp)];
    return;
  }
  bool full_ok = true;
  if (++received_any_ % o_.check_every == 0) {
    ++r.full_checks;
    full_ok =
        gcm_open_full(sessions_.key(index), record, scratch_.data()) &&
        std::memcmp(scratch_.data() + kStampBytes,
                    pattern_table() + kStampBytes + pattern_phase(st), size_ - kStampBytes) == 0;
  }
  count(st, run, r, now, full_ok);
}

// Another suite than AES-GCM: opened by the record layer (always in full,
// so every record's tag and plaintext are checked), in a copy.
void DataTraffic::verify_seal_generic(const packet::Frame& f, const uint8_t* frame, uint32_t index,
                                      uint32_t run, SizeResult& r, uint64_t now) {
  std::memcpy(scratch_.data(), frame + f.payload_offset, f.payload_length);
  std::span<uint8_t> plaintext;
  if (!sessions_.open(index, {scratch_.data(), f.payload_length}, plaintext) ||
      plaintext.size() != size_) {
    ++r.failures[static_cast<size_t>(VerifyFailure::unreadable_record)];
    return;
  }
  Stamp st;
  if (!read_stamp(plaintext.data(), st) || st.session != index) {
    ++r.failures[static_cast<size_t>(VerifyFailure::bad_stamp)];
    return;
  }
  ++r.full_checks;
  const bool full_ok = std::memcmp(plaintext.data() + kStampBytes,
                                   pattern_table() + kStampBytes + pattern_phase(st),
                                   size_ - kStampBytes) == 0;
  count(st, run, r, now, full_ok);
}

void DataTraffic::receive(rte_mbuf* m, uint16_t port, uint32_t run, SizeResult& r, uint64_t now) {
  const auto* data = rte_pktmbuf_mtod(m, const uint8_t*);
  packet::Frame f;
  const packet::FrameResult result = packet::parse_frame({data, rte_pktmbuf_data_len(m)}, f);
  if (result == packet::FrameResult::arp) {
    if (answer_arp(m, f, port)) {
      return;
    }
  } else if (result != packet::FrameResult::udp) {
    ++r.other;
  } else {
    const bool records_back = o_.direction == DataDirection::seal && !learning_;
    const uint16_t data_port = records_back ? outside_ : inside_;
    if (port != data_port) {
      ++r.other;
    } else if (records_back) {
      verify_seal(f, data, run, r, now);
    } else {
      verify_open_or_plain(f, data, run, r, now);
    }
  }
  rte_pktmbuf_free(m);
}

void DataTraffic::poll(uint16_t port, uint32_t run, SizeResult& r) {
  rte_mbuf* mbufs[kRxBurst];
  const uint16_t n = rte_eth_rx_burst(port, 0, mbufs, kRxBurst);
  if (n == 0) {
    return;
  }
  const uint64_t now = rte_rdtsc();
  for (uint16_t i = 0; i < n; ++i) {
    receive(mbufs[i], port, run, r, now);
  }
}

void DataTraffic::phase(double seconds, bool send, uint32_t run, SizeResult& r,
                        ProgressLine* progress) {
  const uint16_t tx_port = o_.direction == DataDirection::seal ? inside_ : outside_;
  const uint64_t start = rte_rdtsc();
  const uint64_t end = start + static_cast<uint64_t>(seconds * hz_);
  const double per_tick = static_cast<double>(o_.rate) / hz_;
  uint64_t next_progress = start + static_cast<uint64_t>(hz_);
  uint64_t sent = 0;
  rte_mbuf* mbufs[256];
  for (uint64_t now = start; now < end; now = rte_rdtsc()) {
    if (send) {
      uint64_t n = o_.burst;
      if (o_.rate != 0) {
        const auto allowed = static_cast<uint64_t>(static_cast<double>(now - start) * per_tick);
        n = allowed > sent ? std::min<uint64_t>(n, allowed - sent) : 0;
      }
      if (n != 0) {
        const uint16_t built = build_burst(mbufs, static_cast<uint16_t>(n), run);
        const uint16_t taken = rte_eth_tx_burst(tx_port, 0, mbufs, built);
        if (taken < built) {
          rte_pktmbuf_free_bulk(mbufs + taken, built - taken);
          r.tx_refused += built - taken;
        }
        sent += taken;
        r.sent += taken;
      }
    }
    poll(inside_, run, r);
    poll(outside_, run, r);
    if (progress != nullptr && now >= next_progress) {
      next_progress += static_cast<uint64_t>(hz_);
      ProgressTotals t{r.sent, r.received, r.failure_total(), r.received * size_,
                       r.received * (r.frame_bytes + 24)};
      progress->update(this->seconds(now - start), t, &r.latency);
    }
  }
}

size_t DataTraffic::learn_inside_ports() {
  learning_ = true;
  learned_.assign(sessions_.size(), 0);
  const uint32_t saved_size = size_;
  size_ = 64;
  sessions_.shape_for(size_);
  SizeResult scratch;
  rte_mbuf* mbufs[256];
  // One record per session, in bursts, pausing to drain so no ring
  // overflows; then up to two more rounds for the ones not heard from.
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < sessions_.size();) {
      if (learned_[i] != 0) {
        ++i;
        continue;
      }
      uint16_t n = 0;
      while (n < o_.burst && i < sessions_.size()) {
        if (learned_[i] == 0) {
          if (rte_pktmbuf_alloc_bulk(pool_, mbufs + n, 1) != 0) {
            break;
          }
          learning_index_ = static_cast<uint32_t>(i);
          build_one(mbufs[n], 0);
          ++n;
        }
        ++i;
      }
      uint16_t sent = 0;
      for (int tries = 0; sent < n && tries < 10000; ++tries) {
        sent += rte_eth_tx_burst(outside_, 0, mbufs + sent, static_cast<uint16_t>(n - sent));
        poll(inside_, 0, scratch);
        poll(outside_, 0, scratch);
      }
      if (sent < n) {
        rte_pktmbuf_free_bulk(mbufs + sent, n - sent);
      }
    }
    const uint64_t until = rte_rdtsc() + static_cast<uint64_t>(0.5 * hz_);
    while (rte_rdtsc() < until) {
      poll(inside_, 0, scratch);
      poll(outside_, 0, scratch);
    }
  }
  learning_ = false;
  received_any_ = 0;
  size_ = saved_size;
  return static_cast<size_t>(std::count(learned_.begin(), learned_.end(), 0));
}

SizeResult DataTraffic::run_size(uint32_t size, uint32_t index) {
  size_ = size;
  SizeResult r;
  r.size = size;
  r.frame_bytes = static_cast<uint32_t>(
      kHeaders + size + (o_.direction == DataDirection::plain ? 0 : kRecordOverhead));
  if (o_.direction == DataDirection::open) {
    sessions_.shape_for(size);
  }
  sessions_.reset_received();
  const std::string label =
      std::string(to_string(o_.direction)) + " " + std::to_string(size) + " B";
  if (o_.warmup > 0) {
    SizeResult warm = r;
    ProgressLine line(label + " warm-up");
    phase(o_.warmup, true, 2 * index + 1, warm, &line);
  }
  sessions_.reset_received();
  ProgressLine line(label);
  received_any_ = 0;
  const uint64_t start = rte_rdtsc();
  phase(o_.duration, true, 2 * index + 2, r, &line);
  r.seconds = seconds(rte_rdtsc() - start);
  // What is still in flight arrives during the drain (counted, not timed).
  phase(kDrainSeconds, false, 2 * index + 2, r, nullptr);
  line.summary(r.seconds,
               ProgressTotals{r.sent, r.received, r.failure_total(), r.received * size,
                              r.received * (r.frame_bytes + 24)},
               &r.latency);
  return r;
}

}  // namespace dtlsgw::loadgen
