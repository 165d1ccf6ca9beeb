// dtlsgw-loadgen handshake: many concurrent in-memory OpenSSL DTLS 1.2
// clients behind the outside port, each from its own (spoofed) source
// address:port (hs_demux.h), doing the cookie exchange, the full handshake
// and one application-data round trip through the gateway; this program
// also plays the backend on the inside port and echoes every datagram.
//
// One lcore does everything: the clients' OpenSSL work, both ports, the
// echo. That is the point of the mode: the gateway's control process is
// measured, and its clients must be real DTLS clients (bench/README.md).
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench/loadgen/frames_port.h"
#include "bench/loadgen/frames_setup.h"
#include "bench/loadgen/hs_client.h"
#include "bench/loadgen/hs_demux.h"
#include "bench/loadgen/modes.h"
#include "bench/loadgen/port_setup.h"
#include "dataplane/config.h"

namespace dtlsgw::loadgen {

namespace {

struct HandshakeOptions {
  std::string config;
  std::string outside_port = "0";
  std::string inside_port = "1";
  unsigned concurrency = 64;
  uint64_t handshakes = 0;  // 0: run for --duration
  double duration_s = 10;
  bool psk = true;
  std::string psk_line;  // identity:hexkey, as a line of the PSK file
  std::string cipher;    // default per suite
  unsigned initial_timeout_ms = 1000;
  double timeout_s = 10;  // per client, handshake and echo
  unsigned payload = 64;
  std::string json;
};

void handshake_usage() {
  std::fputs(
      "usage: dtlsgw-loadgen handshake [EAL arguments] -- --config FILE [options]\n"
      "  --config FILE          the gateway's TOML (outside address, first listener, backend)\n"
      "  --outside-port P       DPDK port (name or id) facing the gateway's outside (0)\n"
      "  --inside-port P        DPDK port facing its inside; we echo as the backend (1)\n"
      "  --concurrency N        clients in flight (64)\n"
      "  --handshakes N         stop after N handshakes (default: run for --duration)\n"
      "  --duration S           seconds of new handshakes (10)\n"
      "  --suite psk|ecdsa      PSK or ECDHE-ECDSA (psk)\n"
      "  --psk IDENTITY:HEXKEY  the client's PSK, a line of the control's PSK file\n"
      "  --cipher NAME          OpenSSL cipher (PSK-AES128-GCM-SHA256 /\n"
      "                         ECDHE-ECDSA-AES128-GCM-SHA256 with P-256)\n"
      "  --initial-timeout MS   first retransmission timeout (1000)\n"
      "  --timeout S            give a client up after S seconds (10)\n"
      "  --payload BYTES        application data echoed through the backend (64)\n"
      "  --json FILE            write the results as JSON\n",
      stderr);
}

bool parse_handshake_options(const std::vector<std::string>& args, HandshakeOptions& o) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (i + 1 >= args.size()) {
      std::fprintf(stderr, "dtlsgw-loadgen handshake: %s needs a value\n", a.c_str());
      return false;
    }
    const std::string& v = args[++i];
    double x = 0;
    bool ok = true;
    if (a == "--config") {
      o.config = v;
    } else if (a == "--outside-port") {
      o.outside_port = v;
    } else if (a == "--inside-port") {
      o.inside_port = v;
    } else if (a == "--concurrency") {
      ok = parse_number(v, 1, 100000, x) && x == static_cast<unsigned>(x);
      o.concurrency = static_cast<unsigned>(x);
    } else if (a == "--handshakes") {
      ok = parse_number(v, 1, 1e12, x) && x == static_cast<uint64_t>(x);
      o.handshakes = static_cast<uint64_t>(x);
    } else if (a == "--duration") {
      ok = parse_number(v, 0.1, 86400, o.duration_s);
    } else if (a == "--suite") {
      ok = v == "psk" || v == "ecdsa";
      o.psk = v == "psk";
    } else if (a == "--psk") {
      o.psk_line = v;
    } else if (a == "--cipher") {
      o.cipher = v;
    } else if (a == "--initial-timeout") {
      // OpenSSL 3.0 takes a timer with under 15 ms left as expired.
      ok = parse_number(v, 20, 60000, x) && x == static_cast<unsigned>(x);
      o.initial_timeout_ms = static_cast<unsigned>(x);
    } else if (a == "--timeout") {
      ok = parse_number(v, 0.1, 3600, o.timeout_s);
    } else if (a == "--payload") {
      ok = parse_number(v, 1, 1024, x) && x == static_cast<unsigned>(x);
      o.payload = static_cast<unsigned>(x);
    } else if (a == "--json") {
      o.json = v;
    } else {
      std::fprintf(stderr, "dtlsgw-loadgen handshake: unknown option %s\n", a.c_str());
      return false;
    }
    if (!ok) {
      std::fprintf(stderr, "dtlsgw-loadgen handshake: bad value for %s: '%s'\n", a.c_str(),
                   v.c_str());
      return false;
    }
  }
  if (o.config.empty()) {
    std::fputs("dtlsgw-loadgen handshake: --config is required\n", stderr);
    return false;
  }
  if (o.psk && o.psk_line.empty()) {
    std::fputs("dtlsgw-loadgen handshake: --suite psk needs --psk IDENTITY:HEXKEY\n", stderr);
    return false;
  }
  return true;
}

// p in [0, 1] of sorted values (nearest rank).
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) {
    return 0;
  }
  const auto rank = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

struct HandshakeCounts {
  uint64_t started = 0;
  uint64_t completed = 0;  // handshake and echo
  uint64_t ssl_errors = 0;
  uint64_t echo_mismatches = 0;
  uint64_t timeouts = 0;
  uint64_t retransmissions = 0;
  uint64_t echoed = 0;        // datagrams the backend echoed
  uint64_t late_alerts = 0;   // alerts to clients that finished (close_notify)
  uint64_t unknown_peer = 0;  // other outside datagrams for no client in flight
  uint64_t other_frames = 0;
  uint64_t failed() const { return ssl_errors + echo_mismatches + timeouts; }
};

class HandshakeRun {
 public:
  HandshakeRun(const HandshakeOptions& o, const dataplane::Config& c) : o_(o), config_(c) {}
  int run();

 private:
  void start_client(uint32_t slot, Clock::time_point now);
  void flush_client(uint32_t slot);
  void finish_if_over(uint32_t slot);
  void outside_rx(Clock::time_point now);
  void inside_rx();
  void write_json(double seconds, const std::vector<double>& hs,
                  const std::vector<double>& echo) const;

  const HandshakeOptions& o_;
  const dataplane::Config& config_;
  uint16_t outside_ = 0;
  uint16_t inside_ = 0;
  rte_mempool* pool_ = nullptr;
  MacAddress outside_mac_;
  MacAddress inside_mac_;
  MacAddress gateway_mac_ = kBroadcastMac;
  Ipv4 gateway_;
  uint16_t listener_ = 0;
  Ipv4 backend_;
  uint16_t backend_port_ = 0;
  std::unique_ptr<HsClientContext> context_;
  std::unique_ptr<TxQueue> outside_tx_;
  std::unique_ptr<TxQueue> inside_tx_;
  ClientDemux demux_;
  struct Slot {
    std::unique_ptr<HsClient> client;
    ClientEndpoint endpoint;
    Clock::time_point deadline;
  };
  std::vector<Slot> slots_;
  uint64_t next_endpoint_ = 0;
  uint16_t ip_id_ = 0;
  HandshakeCounts c_;
  std::vector<double> handshake_us_;
  std::vector<double> echo_us_;
};

void HandshakeRun::start_client(uint32_t slot, Clock::time_point now) {
  Slot& s = slots_[slot];
  // An endpoint still held by a slow client of an earlier lap is skipped.
  do {
    s.endpoint = client_endpoint(next_endpoint_++);
  } while (!demux_.add(s.endpoint, slot));
  std::vector<uint8_t> message(o_.payload);
  const int n = std::snprintf(reinterpret_cast<char*>(message.data()), message.size(),
                              "dtlsgw-loadgen handshake %" PRIu64 " ", c_.started);
  for (size_t i = static_cast<size_t>(std::max(n, 0)); i < message.size(); ++i) {
    message[i] = static_cast<uint8_t>('a' + (c_.started + i) % 26);
  }
  const auto* a = reinterpret_cast<const uint8_t*>(&gateway_.be);
  s.client = std::make_unique<HsClient>(*context_, handshake::PeerAddress::v4(a, listener_),
                                        std::move(message));
  s.deadline = now + std::chrono::microseconds(static_cast<int64_t>(o_.timeout_s * 1e6));
  ++c_.started;
  s.client->start(now);
  flush_client(slot);
  finish_if_over(slot);
}

void HandshakeRun::flush_client(uint32_t slot) {
  Slot& s = slots_[slot];
  packet::UdpEndpoints e;
  e.source_mac = outside_mac_;
  e.destination_mac = gateway_mac_;
  e.source = s.endpoint.address;
  e.source_port = s.endpoint.port;
  e.destination = gateway_;
  e.destination_port = listener_;
  for (const handshake::Datagram& d : s.client->outbound()) {
    if (rte_mbuf* m = udp_frame_mbuf(pool_, e, d, ip_id_++); m != nullptr) {
      outside_tx_->push(m);
    }
  }
  s.client->outbound().clear();
}

void HandshakeRun::finish_if_over(uint32_t slot) {
  Slot& s = slots_[slot];
  HsClient& client = *s.client;
  if (client.state() == HsClient::State::handshaking ||
      client.state() == HsClient::State::awaiting_echo) {
    return;
  }
  c_.retransmissions += client.retransmissions();
  switch (client.failure()) {
    case HsClient::Failure::none:
      ++c_.completed;
      handshake_us_.push_back(static_cast<double>(client.handshake_time().count()) * 1e-3);
      echo_us_.push_back(static_cast<double>(client.echo_time().count()) * 1e-3);
      break;
    case HsClient::Failure::ssl_error:
      ++c_.ssl_errors;
      break;
    case HsClient::Failure::echo_mismatch:
      ++c_.echo_mismatches;
      break;
    case HsClient::Failure::timeout:
      ++c_.timeouts;
      break;
  }
  demux_.remove(s.endpoint);
  s.client.reset();
}

void HandshakeRun::outside_rx(Clock::time_point now) {
  rte_mbuf* rx[32];
  const uint16_t n = rte_eth_rx_burst(outside_, 0, rx, 32);
  for (uint16_t i = 0; i < n; ++i) {
    const uint8_t* data = rte_pktmbuf_mtod(rx[i], const uint8_t*);
    packet::Frame frame;
    const auto r = packet::parse_frame({data, rte_pktmbuf_data_len(rx[i])}, frame);
    if (r == packet::FrameResult::arp) {
      if (frame.arp.operation == 2 && frame.arp.sender_ip == gateway_) {
        gateway_mac_ = frame.arp.sender_mac;
      }
      ++c_.other_frames;
    } else if (r != packet::FrameResult::udp || frame.source != gateway_ ||
               frame.source_port != listener_) {
      ++c_.other_frames;
    } else if (const auto slot = demux_.find(frame.destination, frame.destination_port); !slot) {
      // For a client that finished: the gateway's close_notify answering
      // ours (RFC 5246 §7.2.1), an alert record; anything else is late.
      const bool alert = frame.payload_length > 0 && data[frame.payload_offset] == 21;
      ++(alert ? c_.late_alerts : c_.unknown_peer);
    } else {
      HsClient& client = *slots_[*slot].client;
      client.receive(
          {data + frame.payload_offset, data + frame.payload_offset + frame.payload_length}, now);
      flush_client(*slot);
      finish_if_over(*slot);
    }
    rte_pktmbuf_free(rx[i]);
  }
}

void HandshakeRun::inside_rx() {
  rte_mbuf* rx[32];
  const uint16_t n = rte_eth_rx_burst(inside_, 0, rx, 32);
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = rx[i];
    uint8_t* data = rte_pktmbuf_mtod(m, uint8_t*);
    packet::Frame frame;
    const auto r = packet::parse_frame({data, rte_pktmbuf_data_len(m)}, frame);
    if (r == packet::FrameResult::arp && answer_arp(m, frame, inside_mac_, backend_, *inside_tx_)) {
      continue;
    }
    if (r == packet::FrameResult::udp && frame.destination == backend_ &&
        frame.destination_port == backend_port_) {
      // The echo service (RFC 862), in place: same payload, headers
      // rewritten from us back to the gateway's session port.
      const packet::UdpEndpoints e = reply_endpoints(frame, inside_mac_);
      const size_t headers = packet::udp_headers_length(e.has_vlan);
      if (frame.payload_offset == headers) {
        packet::write_udp_headers(data, e, frame.payload_length, ip_id_++);
        m->data_len = static_cast<uint16_t>(headers + frame.payload_length);
        m->pkt_len = m->data_len;
        inside_tx_->push(m);
        ++c_.echoed;
        continue;
      }
    }
    ++c_.other_frames;
    rte_pktmbuf_free(m);
  }
}

int HandshakeRun::run() {
  std::string error;
  if (!parse_port(o_.outside_port, outside_) || !parse_port(o_.inside_port, inside_)) {
    std::fputs("dtlsgw-loadgen handshake: no such --outside-port or --inside-port\n", stderr);
    return 2;
  }
  if (!start_ports({outside_, inside_}, 16383, pool_, 10000, error)) {
    std::fprintf(stderr, "dtlsgw-loadgen handshake: %s\n", error.c_str());
    return 2;
  }
  HsClientConfig hc;
  hc.psk = o_.psk;
  hc.initial_timeout_ms = o_.initial_timeout_ms;
  hc.mtu = config_.handshake.mtu;
  if (o_.psk) {
    const size_t colon = o_.psk_line.rfind(':');
    if (colon == std::string::npos || colon == 0 ||
        !parse_hex(o_.psk_line.substr(colon + 1), hc.psk_key) || hc.psk_key.empty()) {
      std::fputs("dtlsgw-loadgen handshake: --psk wants IDENTITY:HEXKEY\n", stderr);
      return 2;
    }
    hc.psk_identity = o_.psk_line.substr(0, colon);
    hc.cipher_list = o_.cipher.empty() ? "PSK-AES128-GCM-SHA256" : o_.cipher;
  } else {
    hc.cipher_list = o_.cipher.empty() ? "ECDHE-ECDSA-AES128-GCM-SHA256" : o_.cipher;
    hc.groups = "P-256";  // ECDHE on the certificate's curve, as bench/handshake_bench
  }
  context_ = HsClientContext::create(hc, error);
  if (context_ == nullptr) {
    std::fprintf(stderr, "dtlsgw-loadgen handshake: %s\n", error.c_str());
    return 2;
  }
  const dataplane::ListenerConfig& l = config_.listeners.front();
  gateway_ = config_.outside.address;
  listener_ = l.port;
  backend_ = l.backend_address.v4();  // (the load generator plays IPv4 backends)
  backend_port_ = l.backend_port;
  outside_mac_ = port_mac_address(outside_);
  inside_mac_ = port_mac_address(inside_);
  outside_tx_ = std::make_unique<TxQueue>(outside_);
  inside_tx_ = std::make_unique<TxQueue>(inside_);
  const ClientEndpoint asker = client_endpoint(0);
  if (!resolve_mac(outside_, pool_, outside_mac_, asker.address, gateway_,
                   std::chrono::milliseconds(2000), gateway_mac_)) {
    std::fputs(
        "dtlsgw-loadgen handshake: the gateway did not answer ARP; sending to "
        "broadcast\n",
        stderr);
  }

  slots_.resize(o_.concurrency);
  const Clock::time_point start = Clock::now();
  const Clock::time_point stop_starting =
      start + std::chrono::microseconds(static_cast<int64_t>(o_.duration_s * 1e6));
  Clock::time_point next_timers = start;
  Clock::time_point next_progress = start + std::chrono::seconds(1);
  Clock::time_point last_finish = start;
  HandshakeCounts last;
  size_t in_flight = 0;
  while (true) {
    Clock::time_point now = Clock::now();
    const bool more = o_.handshakes != 0 ? c_.started < o_.handshakes : now < stop_starting;
    in_flight = 0;
    for (uint32_t s = 0; s < slots_.size(); ++s) {
      if (slots_[s].client == nullptr && more &&
          (o_.handshakes == 0 || c_.started < o_.handshakes)) {
        start_client(s, now);
      }
      in_flight += slots_[s].client != nullptr;
    }
    if (!more && in_flight == 0) {
      break;
    }
    const uint64_t finished_before = c_.completed + c_.failed();
    outside_rx(now);
    inside_rx();
    if (now >= next_timers) {
      next_timers = now + std::chrono::milliseconds(5);
      for (uint32_t s = 0; s < slots_.size(); ++s) {
        if (slots_[s].client != nullptr) {
          slots_[s].client->on_timer(now, slots_[s].deadline, std::chrono::milliseconds(500));
          flush_client(s);
          finish_if_over(s);
        }
      }
    }
    if (c_.completed + c_.failed() != finished_before) {
      last_finish = now;
    }
    outside_tx_->flush();
    inside_tx_->flush();
    if (now >= next_progress) {
      next_progress += std::chrono::seconds(1);
      std::fprintf(stderr,
                   "handshake %5.1fs: %6" PRIu64 " handshakes/s  in flight %4zu  done %8" PRIu64
                   "  failed %" PRIu64 " (timeouts %" PRIu64 ")  retransmissions %" PRIu64 "\n",
                   std::chrono::duration<double>(now - start).count(),
                   c_.completed - last.completed, in_flight, c_.completed, c_.failed(), c_.timeouts,
                   c_.retransmissions);
      last = c_;
    }
  }
  const double seconds = std::chrono::duration<double>(last_finish - start).count();
  std::sort(handshake_us_.begin(), handshake_us_.end());
  std::sort(echo_us_.begin(), echo_us_.end());
  const double rate = seconds > 0 ? static_cast<double>(c_.completed) / seconds : 0;
  std::printf("handshake (%s, %s): %.2f s, concurrency %u\n", o_.psk ? "psk" : "ecdsa",
              context_->config().cipher_list.c_str(), seconds, o_.concurrency);
  std::printf("  completed       %10" PRIu64 "  (%.1f handshakes/s, each with an echo)\n",
              c_.completed, rate);
  std::printf("  latency         p50 %.2f ms  p99 %.2f ms; echo p50 %.2f ms\n",
              percentile(handshake_us_, 0.5) / 1e3, percentile(handshake_us_, 0.99) / 1e3,
              percentile(echo_us_, 0.5) / 1e3);
  std::printf("  failed          %10" PRIu64 "  (ssl %" PRIu64 ", echo mismatch %" PRIu64
              ", timeout %" PRIu64 ")\n",
              c_.failed(), c_.ssl_errors, c_.echo_mismatches, c_.timeouts);
  std::printf("  retransmissions %10" PRIu64 "\n", c_.retransmissions);
  std::printf("  echoed          %10" PRIu64 "  late alerts %" PRIu64 "  unknown peer %" PRIu64
              "  other frames %" PRIu64 "  tx dropped %" PRIu64 "\n",
              c_.echoed, c_.late_alerts, c_.unknown_peer, c_.other_frames,
              outside_tx_->dropped() + inside_tx_->dropped());
  write_json(seconds, handshake_us_, echo_us_);
  return c_.failed() == 0 && c_.completed > 0 ? 0 : 1;
}

void HandshakeRun::write_json(double seconds, const std::vector<double>& hs,
                              const std::vector<double>& echo) const {
  if (o_.json.empty()) {
    return;
  }
  std::FILE* f = std::fopen(o_.json.c_str(), "w");
  if (f == nullptr) {
    std::fprintf(stderr, "dtlsgw-loadgen handshake: cannot write %s\n", o_.json.c_str());
    return;
  }
  const auto number = [f](const char* key, uint64_t v, bool last = false) {
    std::fprintf(f, "  \"%s\": %" PRIu64 "%s\n", key, v, last ? "" : ",");
  };
  const auto real = [f](const char* key, double v) {
    std::fprintf(f, "  \"%s\": %.3f,\n", key, v);
  };
  std::fprintf(f, "{\n  \"mode\": \"handshake\",\n  \"suite\": \"%s\",\n  \"cipher\": \"%s\",\n",
               o_.psk ? "psk" : "ecdsa", context_->config().cipher_list.c_str());
  number("concurrency", o_.concurrency);
  real("seconds", seconds);
  number("started", c_.started);
  number("completed", c_.completed);
  real("handshakes_per_s", seconds > 0 ? static_cast<double>(c_.completed) / seconds : 0);
  real("latency_ms_p50", percentile(hs, 0.5) / 1e3);
  real("latency_ms_p99", percentile(hs, 0.99) / 1e3);
  real("echo_ms_p50", percentile(echo, 0.5) / 1e3);
  number("failed", c_.failed());
  number("ssl_errors", c_.ssl_errors);
  number("echo_mismatches", c_.echo_mismatches);
  number("timeouts", c_.timeouts);
  number("retransmissions", c_.retransmissions);
  number("echoed", c_.echoed);
  number("late_alerts", c_.late_alerts);
  number("unknown_peer", c_.unknown_peer, true);
  std::fputs("}\n", f);
  std::fclose(f);
}

}  // namespace

int run_handshake_mode(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      handshake_usage();
      return 0;
    }
  }
  std::vector<std::string> args;
  std::string error;
  if (!init_eal(argc, argv, args, error)) {
    std::fprintf(stderr, "dtlsgw-loadgen handshake: %s\n", error.c_str());
    return 2;
  }
  HandshakeOptions options;
  int status = 2;
  if (!parse_handshake_options(args, options)) {
    handshake_usage();
  } else if (auto config = dataplane::load_config(options.config, error); !config) {
    std::fprintf(stderr, "dtlsgw-loadgen handshake: %s\n", error.c_str());
  } else {
    HandshakeRun run(options, *config);
    status = run.run();
  }
  stop_ports();
  rte_eal_cleanup();
  return status;
}

}  // namespace dtlsgw::loadgen
