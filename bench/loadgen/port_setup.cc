#include "bench/loadgen/port_setup.h"

#include <rte_ethdev.h>

#include <vector>

namespace dtlsgw::loadgen {

namespace {

std::vector<uint16_t>& started_ports() {
  static std::vector<uint16_t> ports;
  return ports;
}

}  // namespace

bool start_port(const PortSetup& setup, rte_mempool* pool, std::string& error) {
  const uint16_t port = setup.port_id;
  const std::string name = "port " + std::to_string(port);
  if (!rte_eth_dev_is_valid_port(port)) {
    error = name + ": no such DPDK port";
    return false;
  }
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port, &info) != 0) {
    error = name + ": rte_eth_dev_info_get failed";
    return false;
  }
  if (info.max_rx_queues < setup.queues || info.max_tx_queues < setup.queues) {
    error = name + ": " + std::to_string(setup.queues) + " queues asked, the device has " +
            std::to_string(info.max_rx_queues) + " rx / " + std::to_string(info.max_tx_queues) +
            " tx";
    return false;
  }
  rte_eth_conf conf{};
  if (setup.queues > 1 && info.flow_type_rss_offloads != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf =
        (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
  }
  int rc = rte_eth_dev_configure(port, setup.queues, setup.queues, &conf);
  if (rc != 0) {
    error = name + ": rte_eth_dev_configure: " + std::to_string(rc);
    return false;
  }
  uint16_t rx_desc = setup.rx_descriptors;
  uint16_t tx_desc = setup.tx_descriptors;
  rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rx_desc, &tx_desc);
  const int socket = rte_eth_dev_socket_id(port);
  for (uint16_t q = 0; rc == 0 && q < setup.queues; ++q) {
    rc = rte_eth_rx_queue_setup(port, q, rx_desc, socket < 0 ? 0 : socket, nullptr, pool);
    if (rc == 0) {
      rc = rte_eth_tx_queue_setup(port, q, tx_desc, socket < 0 ? 0 : socket, nullptr);
    }
  }
  if (rc != 0) {
    error = name + ": queue set-up: " + std::to_string(rc);
    return false;
  }
  rc = rte_eth_dev_start(port);
  if (rc != 0) {
    error = name + ": rte_eth_dev_start: " + std::to_string(rc);
    return false;
  }
  rte_eth_promiscuous_enable(port);  // not every virtual device supports it
  started_ports().push_back(port);
  return true;
}

bool port_by_name(const std::string& name, uint16_t& port_id) {
  return rte_eth_dev_get_port_by_name(name.c_str(), &port_id) == 0;
}

rte_ether_addr port_mac(uint16_t port_id) {
  rte_ether_addr mac{};
  rte_eth_macaddr_get(port_id, &mac);
  return mac;
}

void stop_ports() {
  for (uint16_t port : started_ports()) {
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
  }
  started_ports().clear();
}

}  // namespace dtlsgw::loadgen
