// Frames on a started DPDK port, for the handshake and flood modes: wait
// for the link, put a UDP frame in an mbuf, batch transmissions, answer
// and send ARP (RFC 826) so the gateway finds the addresses the load
// generator plays, and find the gateway's MAC address.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <chrono>
#include <cstdint>
#include <span>

#include "bench/loadgen/frames.h"

namespace dtlsgw::loadgen {

// Waits until the port's link is up (a memif link comes up once both
// ends are connected). False after `timeout`.
bool wait_link_up(uint16_t port, std::chrono::milliseconds timeout);

// The port's MAC address, as packet.h spells it.
MacAddress port_mac_address(uint16_t port);

// An mbuf holding the frame (write_udp_frame); nullptr if the pool is
// empty or the frame does not fit one segment.
rte_mbuf* udp_frame_mbuf(rte_mempool* pool, const packet::UdpEndpoints& e,
                         std::span<const uint8_t> payload, uint16_t ip_id);

// Frames queued for one port's queue 0, sent a burst at a time. What the
// device refuses after a few tries is freed and counted as dropped.
class TxQueue {
 public:
  explicit TxQueue(uint16_t port) : port_(port) {}
  ~TxQueue();
  TxQueue(const TxQueue&) = delete;
  TxQueue& operator=(const TxQueue&) = delete;

  void push(rte_mbuf* m) {
    if (count_ == kBurst) {
      flush();
    }
    burst_[count_++] = m;
  }
  void flush();
  uint64_t sent() const { return sent_; }
  uint64_t dropped() const { return dropped_; }

 private:
  static constexpr uint16_t kBurst = 32;
  uint16_t port_;
  uint16_t count_ = 0;
  rte_mbuf* burst_[kBurst];
  uint64_t sent_ = 0;
  uint64_t dropped_ = 0;
};

// If `frame` is an ARP request for `our_ip`, turns `m` into the reply and
// queues it (true: `m` is consumed). Otherwise leaves `m` alone.
bool answer_arp(rte_mbuf* m, const packet::Frame& frame, const MacAddress& our_mac, Ipv4 our_ip,
                TxQueue& tx);

// Asks `target`'s MAC with ARP requests (from `our_mac` / `our_ip`) every
// 100 ms until a reply arrives; whatever else is received meanwhile is
// dropped. False after `timeout`.
bool resolve_mac(uint16_t port, rte_mempool* pool, const MacAddress& our_mac, Ipv4 our_ip,
                 Ipv4 target, std::chrono::milliseconds timeout, MacAddress& out);

}  // namespace dtlsgw::loadgen
