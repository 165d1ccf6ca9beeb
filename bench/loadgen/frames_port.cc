#include "bench/loadgen/frames_port.h"

#include <rte_ethdev.h>

#include <cstring>
#include <thread>

#include "bench/loadgen/port_setup.h"

namespace dtlsgw::loadgen {

bool wait_link_up(uint16_t port, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(port, &link) == 0 && link.link_status == RTE_ETH_LINK_UP) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

MacAddress port_mac_address(uint16_t port) {
  const rte_ether_addr a = port_mac(port);
  MacAddress m;
  std::memcpy(m.bytes, a.addr_bytes, sizeof m.bytes);
  return m;
}

rte_mbuf* udp_frame_mbuf(rte_mempool* pool, const packet::UdpEndpoints& e,
                         std::span<const uint8_t> payload, uint16_t ip_id) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) {
    return nullptr;
  }
  const size_t length =
      write_udp_frame({rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_tailroom(m)}, e, payload, ip_id);
  if (length == 0) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  m->data_len = static_cast<uint16_t>(length);
  m->pkt_len = static_cast<uint32_t>(length);
  return m;
}

TxQueue::~TxQueue() { flush(); }

void TxQueue::flush() {
  uint16_t done = 0;
  // A few tries: a memif ring drains as fast as the peer polls it.
  for (int attempt = 0; attempt < 8 && done < count_; ++attempt) {
    done += rte_eth_tx_burst(port_, 0, burst_ + done, static_cast<uint16_t>(count_ - done));
  }
  sent_ += done;
  if (done < count_) {
    dropped_ += count_ - done;
    rte_pktmbuf_free_bulk(burst_ + done, count_ - done);
  }
  count_ = 0;
}

bool answer_arp(rte_mbuf* m, const packet::Frame& frame, const MacAddress& our_mac, Ipv4 our_ip,
                TxQueue& tx) {
  if (frame.arp.operation != 1 || frame.arp.target_ip != our_ip) {
    return false;
  }
  uint8_t reply[64];
  const size_t length = packet::write_arp_reply(reply, frame, our_mac, our_ip);
  if (length == 0 || length > rte_pktmbuf_data_len(m)) {
    return false;
  }
  // The request is at least as long as the reply (same tags): reuse it.
  std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), reply, length);
  m->data_len = static_cast<uint16_t>(length);
  m->pkt_len = static_cast<uint32_t>(length);
  tx.push(m);
  return true;
}

bool resolve_mac(uint16_t port, rte_mempool* pool, const MacAddress& our_mac, Ipv4 our_ip,
                 Ipv4 target, std::chrono::milliseconds timeout, MacAddress& out) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto next_request = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::chrono::steady_clock::now() >= next_request) {
      next_request += std::chrono::milliseconds(100);
      if (rte_mbuf* m = rte_pktmbuf_alloc(pool); m != nullptr) {
        const size_t length =
            packet::write_arp_request({rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_tailroom(m)},
                                      our_mac, our_ip, target, false, 0);
        m->data_len = static_cast<uint16_t>(length);
        m->pkt_len = static_cast<uint32_t>(length);
        if (length == 0 || rte_eth_tx_burst(port, 0, &m, 1) != 1) {
          rte_pktmbuf_free(m);
        }
      }
    }
    rte_mbuf* burst[32];
    const uint16_t n = rte_eth_rx_burst(port, 0, burst, 32);
    bool found = false;
    for (uint16_t i = 0; i < n; ++i) {
      packet::Frame frame;
      if (!found &&
          packet::parse_frame(
              {rte_pktmbuf_mtod(burst[i], const uint8_t*), rte_pktmbuf_data_len(burst[i])},
              frame) == packet::FrameResult::arp &&
          frame.arp.operation == 2 && frame.arp.sender_ip == target) {
        out = frame.arp.sender_mac;
        found = true;
      }
      rte_pktmbuf_free(burst[i]);
    }
    if (found) {
      return true;
    }
    if (n == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return false;
}

}  // namespace dtlsgw::loadgen
