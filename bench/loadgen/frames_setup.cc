#include "bench/loadgen/frames_setup.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "bench/loadgen/frames_port.h"
#include "bench/loadgen/port_setup.h"

namespace dtlsgw::loadgen {

bool init_eal(int argc, char** argv, std::vector<std::string>& options, std::string& error) {
  int own = 1;
  while (own < argc && std::strcmp(argv[own], "--") != 0) {
    ++own;
  }
  for (int i = own + 1; i < argc; ++i) {
    options.emplace_back(argv[i]);
  }
  if (rte_eal_init(own, argv) < 0) {
    error = std::string("EAL initialisation failed: ") + rte_strerror(rte_errno);
    return false;
  }
  return true;
}

bool parse_port(const std::string& text, uint16_t& port_id) {
  if (port_by_name(text, port_id)) {
    return true;
  }
  double id = 0;
  if (!parse_number(text, 0, RTE_MAX_ETHPORTS - 1, id) || id != static_cast<uint16_t>(id)) {
    return false;
  }
  port_id = static_cast<uint16_t>(id);
  return true;
}

bool start_ports(const std::vector<uint16_t>& ports, unsigned mbufs, rte_mempool*& pool,
                 unsigned link_timeout_ms, std::string& error) {
  pool = rte_pktmbuf_pool_create("loadgen_pool", mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                 static_cast<int>(rte_socket_id()));
  if (pool == nullptr) {
    error = std::string("mbuf pool: ") + rte_strerror(rte_errno);
    return false;
  }
  for (uint16_t port : ports) {
    PortSetup setup;
    setup.port_id = port;
    if (!start_port(setup, pool, error)) {
      return false;
    }
  }
  for (uint16_t port : ports) {
    if (!wait_link_up(port, std::chrono::milliseconds(link_timeout_ms))) {
      error = "port " + std::to_string(port) + ": link not up after " +
              std::to_string(link_timeout_ms) + " ms (is the gateway running?)";
      return false;
    }
  }
  return true;
}

bool parse_number(const std::string& text, double min, double max, double& out) {
  if (text.empty() || !(text[0] >= '0' && text[0] <= '9')) {
    return false;
  }
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !(v >= min && v <= max)) {
    return false;
  }
  out = v;
  return true;
}

}  // namespace dtlsgw::loadgen
