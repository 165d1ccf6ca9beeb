// The data mode's traffic on its two ports (data_mode.cc has the
// overview): building and sending records or datagrams for random
// sessions at a rate, receiving and verifying what comes back, the
// gateway's MACs by ARP, and the seal direction's inside-port warm-up.
// One lcore drives both ports.
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench/loadgen/data_options.h"
#include "bench/loadgen/data_report.h"
#include "bench/loadgen/data_sessions.h"
#include "bench/loadgen/data_stamp.h"
#include "bench/loadgen/progress_line.h"
#include "dataplane/config.h"
#include "dataplane/packet.h"

struct rte_mbuf;

namespace dtlsgw::loadgen {

namespace packet = dataplane::packet;
using dataplane::Ipv4;
using dataplane::MacAddress;

// Until ARP tells the gateway's MAC (it does not check the destination MAC).
inline constexpr MacAddress kUnknownGatewayMac = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

// The session picks (uniform, not cryptographic).
struct DataRandom {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint32_t below(uint64_t n) { return static_cast<uint32_t>((next() >> 32) * n >> 32); }
};

class DataTraffic {
 public:
  DataTraffic(const DataOptions& o, const dataplane::Config& c, DataSessions& s, rte_mempool* pool,
              uint16_t outside, uint16_t inside);

  bool wait_for_links(std::string& error);
  // The gateway's MAC on each side (ARP, RFC 826); broadcast if it does not
  // answer (the dataplane does not check the destination MAC).
  std::string resolve_gateway_macs();
  // Seal direction: one record per session, the inside source ports read
  // from the plaintext that comes out. Returns the sessions not learned.
  size_t learn_inside_ports();
  // One size: warm-up, measurement, drain.
  SizeResult run_size(uint32_t size, uint32_t index);

 private:
  double seconds(uint64_t ticks) const { return static_cast<double>(ticks) / hz_; }
  // Runs for `seconds`, sending when `send` (at the configured rate from
  // the phase's start), counting into `r` packets stamped with `run`.
  void phase(double seconds, bool send, uint32_t run, SizeResult& r, ProgressLine* progress);
  uint16_t build_burst(rte_mbuf** mbufs, uint16_t n, uint32_t run);
  void build_one(rte_mbuf* m, uint32_t run);
  void poll(uint16_t port, uint32_t run, SizeResult& r);
  void receive(rte_mbuf* m, uint16_t port, uint32_t run, SizeResult& r, uint64_t now);
  void verify_open_or_plain(const packet::Frame& f, const uint8_t* frame, uint32_t run,
                            SizeResult& r, uint64_t now);
  void verify_seal(const packet::Frame& f, const uint8_t* frame, uint32_t run, SizeResult& r,
                   uint64_t now);
  void verify_seal_generic(const packet::Frame& f, const uint8_t* frame, uint32_t index,
                           uint32_t run, SizeResult& r, uint64_t now);
  void count(const Stamp& st, uint32_t run, SizeResult& r, uint64_t now, bool full_ok);
  bool answer_arp(rte_mbuf* m, const packet::Frame& f, uint16_t port);
  void send_arp_request(uint16_t port, Ipv4 sender, Ipv4 target);

  const DataOptions& o_;
  const dataplane::Config& config_;
  DataSessions& sessions_;
  rte_mempool* pool_;
  uint16_t outside_;
  uint16_t inside_;
  MacAddress outside_mac_;
  MacAddress inside_mac_;
  MacAddress gateway_outside_mac_ = kUnknownGatewayMac;
  MacAddress gateway_inside_mac_ = kUnknownGatewayMac;
  double hz_ = 1;
  double ns_per_tick_ = 1;
  DataRandom rng_{0x10adu};
  uint32_t size_ = 64;
  uint16_t ip_id_ = 0;
  uint64_t received_any_ = 0;
  std::vector<uint8_t> learned_;  // learn_inside_ports
  bool learning_ = false;
  uint32_t learning_index_ = 0;  // the session build_one uses while learning
  std::vector<uint8_t> scratch_ = std::vector<uint8_t>(kMaxPlaintext + kRecordOverhead);
};

}  // namespace dtlsgw::loadgen
