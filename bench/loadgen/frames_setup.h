// What the handshake and flood modes share before their first frame: EAL
// from the arguments before `--`, the gateway's configuration, the ports
// by name or id, an mbuf pool, started ports with their links up.
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <string>
#include <vector>

namespace dtlsgw::loadgen {

// Runs rte_eal_init on argv up to `--` and returns the mode's own options
// (what follows `--`). False, with `error` set, if EAL refuses.
bool init_eal(int argc, char** argv, std::vector<std::string>& options, std::string& error);

// A port given as a DPDK device name ("net_memif0") or a port id ("0").
bool parse_port(const std::string& text, uint16_t& port_id);

// Makes the pool and starts `ports` (one queue each), then waits up to
// `link_timeout_ms` for each link. False, with `error` naming the port.
bool start_ports(const std::vector<uint16_t>& ports, unsigned mbufs, rte_mempool*& pool,
                 unsigned link_timeout_ms, std::string& error);

// "5" or "2.5" seconds, "1000" handshakes: strict decimal parsing for the
// options (the whole string, no sign, within [min, max]).
bool parse_number(const std::string& text, double min, double max, double& out);

}  // namespace dtlsgw::loadgen
