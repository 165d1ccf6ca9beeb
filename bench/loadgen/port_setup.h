// Bringing up the load generator's DPDK ports: one queue pair per
// generating lcore, mbufs from the caller's pool, started and promiscuous.
#pragma once

#include <rte_ether.h>
#include <rte_mempool.h>

#include <cstdint>
#include <string>

namespace dtlsgw::loadgen {

struct PortSetup {
  uint16_t port_id = 0;
  uint16_t queues = 1;
  uint16_t rx_descriptors = 1024;
  uint16_t tx_descriptors = 1024;
};

// Configures, sets up and starts the port. On failure returns false with a
// one-line `error` naming the port and the DPDK call.
bool start_port(const PortSetup& setup, rte_mempool* pool, std::string& error);

// Finds a port by its device name (e.g. "net_memif0"); false if none.
bool port_by_name(const std::string& name, uint16_t& port_id);

rte_ether_addr port_mac(uint16_t port_id);

// Stops and closes every port that start_port started.
void stop_ports();

}  // namespace dtlsgw::loadgen
