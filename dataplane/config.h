// The gateway's configuration file (TOML), as the dataplane reads it.
//
// One file serves both processes (DESIGN.md, "Configuration and
// operation"): the dataplane reads [dataplane], [outside], [inside],
// [[listener]] and [[neighbor]]; the control process also reads
// [handshake]. Every key is checked: an unknown key, a missing required
// key, a value of the wrong type or out of range is an error naming the
// key (its dotted path, e.g. `listener[1].backend`) and the problem.
//
// Example (every key, with its default where it has one):
//
//   [dataplane]
//   workers = [1]                # worker lcore ids (required, 1..64 ids)
//   replay_window = 128          # bits; 64..4096, a multiple of 64
//   max_sessions = 65536         # 1..16777216
//   idle_timeout = "300s"        # "Ns" or "Nms"; 1s..1 day
//   mbufs = 16384                # per port; 1024..16777216
//   punt_rate = 2000             # datagrams/s per worker to control
//   punt_burst = 256             # token bucket depth
//   final_flight_interval = "1s" # min time between resends per session
//   summary_interval = "5s"      # summary log line; "0s" disables
//   static_keys = ""             # benchmark builds only: path
//   relaxed_replay = false       # benchmark builds, with static_keys only:
//                                # accept repeated record numbers (replayed
//                                # pcaps); NEVER a production setting
//   fragment_datagrams = 1024    # incomplete IP datagrams held per worker
//                                # (1..65536)
//   fragment_buffers = 2048      # fragment copies held per worker
//                                # (64..1048576); a flood exhausts only these
//   fragment_timeout = "2s"      # reassembly lifetime; 100ms..60s
//   path_mtu_timeout = "600s"    # a path MTU lowered by ICMP is raised
//                                # back after this (RFC 1191 §6.3,
//                                # RFC 8201 §4: 10 minutes); 10s..1 day
//
//   [outside]                    # the DTLS side
//   port = 0                     # DPDK port id (required)
//   address = "192.0.2.1"        # the gateway's IPv4 address (required)
//   prefix_length = 24           # on-link subnet
//   gateway = ""                 # IPv4 next hop for off-link peers
//   address6 = ""                # the gateway's IPv6 address (optional):
//                                # listeners then also take IPv6 peers
//   prefix_length6 = 64          # its on-link prefix
//   gateway6 = ""                # IPv6 next hop for off-link destinations
//   vlan = 0                     # 802.1Q VLAN id 1..4094: only frames with
//                                # this tag are taken, every frame sent is
//                                # tagged; 0: untagged
//
//   [inside]                     # the plaintext side
//   port = 1
//   address = "10.0.0.1"
//   prefix_length = 24
//   gateway = ""
//   address6 = ""                # as in [outside]; needed by IPv6 backends
//   prefix_length6 = 64
//   gateway6 = ""
//   vlan = 0
//   source_ports = "20000-59999" # inside UDP source ports for sessions
//   source_addresses = []        # inside source address pool (1..16, IPv4
//                                # or IPv6, each on the inside subnet of
//                                # its family); empty: [address] and
//                                # address6 if set
//
//   [[listener]]
//   port = 4433                  # UDP port on outside.address (required)
//   backend = "10.0.0.2:7"       # IPv4:port or [IPv6]:port on the inside
//                                # (required); IPv6 needs inside.address6,
//                                # and either needs a source address of
//                                # its family
//   proxy_protocol = false       # PROXY v2 header before each datagram
//                                # to the backend (proxy_v2.h)
//   session_rate = ""            # "N/s": datagrams/s to the backend per
//                                # session, 1..100000000; "": no limit
//   session_burst = 0            # bucket depth; 0: one second's worth
//   listener_rate = ""           # "N/s" for all the listener's sessions,
//                                # split evenly over the workers
//   listener_burst = 0           # bucket depth (split too); 0: 1 s worth
//
//   [[neighbor]]                 # static next hops; others are resolved
//   address = "10.0.0.2"         # (ARP; neighbour discovery for IPv6);
//                                # IPv6: on inside's prefix or link-local
//   mac = "02:00:00:00:00:02"
//
//   [handshake]                  # read by the control process
//   cipher_suites = []           # OpenSSL names; empty: all 14
//   certificates = [{ chain = "cert.pem", key = "key.pem" }]
//   psk_file = ""
//   client_ca_file = ""
//   require_client_certificate = true
//   mtu = 1200                   # UDP payload bytes of the path
//   initial_timeout = "1s"       # retransmission; 15ms..60s
//   max_handshakes = 10000
//   session_tickets = true
//   session_cache = true
//   cookie_rotation = "60s"
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/net_types.h"
#include "handshake/server_context.h"

namespace dtlsgw::dataplane {

struct PortConfig {
  uint16_t port_id = 0;
  Ipv4 address;
  uint8_t prefix_length = 24;
  std::optional<Ipv4> gateway;
  // IPv6 (optional): the port's address (never multicast, unspecified or
  // IPv4-mapped), its on-link prefix (1..128) and off-link next hop (on
  // that prefix, or link-local fe80::/10).
  std::optional<Ipv6> address6;
  uint8_t prefix_length6 = 64;
  std::optional<Ipv6> gateway6;
  // 802.1Q VLAN id (1..4094) of every frame on the port; 0: untagged.
  uint16_t vlan = 0;
};

inline constexpr size_t kMaxSourceAddresses = 16;

struct InsideConfig : PortConfig {
  uint16_t source_port_first = 20000;
  uint16_t source_port_last = 59999;
  // The pool of inside source addresses (on the inside subnet; the gateway
  // answers ARP for each): sessions to one backend are told apart by
  // (source address, source port), so a backend can serve addresses × ports
  // sessions. Defaults to `address` alone.
  // IPv4 and IPv6 (IPv4 held mapped, net_types.h); a session's source is
  // taken among those of its backend's family.
  std::vector<IpAddress> source_addresses;
};

struct ListenerConfig {
  uint16_t port = 0;  // on outside.address (and outside.address6)
  IpAddress backend_address;  // IPv4 (mapped) or IPv6
  uint16_t backend_port = 0;
  // ---- backend identity, rate limits ----
  bool proxy_protocol = false;
  uint32_t session_rate = 0;   // datagrams/s to the backend; 0: unlimited
  uint32_t session_burst = 0;  // set to session_rate when not given
  uint32_t listener_rate = 0;  // for the whole listener (all workers)
  uint32_t listener_burst = 0;
};

struct NeighborConfig {
  IpAddress address;  // IPv4 (mapped) or IPv6
  MacAddress mac;
};

struct HandshakeConfig {
  handshake::ServerConfig server;  // suites, certificates, PSK, client CA, resumption
  uint16_t mtu = 1200;
  std::chrono::milliseconds initial_timeout{1000};
  uint32_t max_handshakes = 10000;
  std::chrono::seconds cookie_rotation{60};
};

struct Config {
  std::vector<unsigned> workers;  // lcore ids
  uint32_t replay_window = 128;
  uint32_t max_sessions = 65536;
  std::chrono::milliseconds idle_timeout{300'000};
  uint32_t mbufs = 16384;
  uint32_t punt_rate = 2000;
  uint32_t punt_burst = 256;
  std::chrono::milliseconds final_flight_interval{1000};
  std::chrono::milliseconds summary_interval{5000};
  std::string static_keys;
  // Benchmark builds only, with static_keys: the anti-replay window
  // accepts every record number (ReplayWindow::relax_for_benchmark), so a
  // traffic generator can loop one pcap. Turns off a security invariant.
  bool relaxed_replay = false;
  // IP reassembly bounds per worker (fragments.h, FragmentTable::Options).
  uint32_t fragment_datagrams = 1024;
  uint32_t fragment_buffers = 2048;
  std::chrono::milliseconds fragment_timeout{2000};
  // How long a path MTU lowered by ICMP holds (RFC 1191 §6.3).
  std::chrono::milliseconds path_mtu_timeout{600'000};

  PortConfig outside;
  InsideConfig inside;
  std::vector<ListenerConfig> listeners;  // 1..256, distinct ports
  std::vector<NeighborConfig> neighbors;
  HandshakeConfig handshake;
};

// Parses and validates; on failure returns nullopt and sets `error` to one
// line: "<file>: <key>: <problem>" (or "<file>:<line>:<col>: <TOML error>").
std::optional<Config> load_config(const std::string& path, std::string& error);
std::optional<Config> parse_config(std::string_view toml_text, std::string_view source_name,
                                   std::string& error);

}  // namespace dtlsgw::dataplane
