// In-process dataplane tests: EAL without hugepages or PCI, two net_ring
// ports (outside, inside) whose rings the test reads and writes, and a
// Dataplane whose workers the test polls from its own thread, so every
// test is deterministic.
#pragma once

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/config.h"
#include "dataplane/contract.h"
#include "dataplane/dataplane.h"
#include "dataplane/packet.h"
#include "dtls_record/record_protection.h"

namespace dtlsgw::test {

using Bytes = std::vector<uint8_t>;

// Initialises EAL once per process (--no-huge --no-pci --no-shconf) and
// makes the two ring ports with `kQueues` queues each.
void init_eal();
inline constexpr unsigned kQueues = 2;

dataplane::Ipv4 ip(const char* text);
dataplane::MacAddress mac(const char* text);

// The gateway of every test: outside 192.0.2.1/24, inside 10.0.0.1/24,
// listener 4433 → backend 10.0.0.2:7 (static MAC), 1024 sessions.
dataplane::Config test_config(unsigned workers = 1);

inline const dataplane::MacAddress kPeerMac = {{0x02, 0x00, 0x00, 0x00, 0x01, 0x01}};
inline const dataplane::MacAddress kBackendMac = {{0x02, 0x00, 0x00, 0x00, 0x02, 0x02}};

// The gateway's IPv6 addresses in tests that give it some
// (dataplane::Config::outside.address6, inside.address6).
inline constexpr const char* kOutside6 = "2001:db8:1::1";
inline constexpr const char* kInside6 = "2001:db8:2::1";

// A DTLS peer with known epoch-1 keys (as if a handshake had run). An
// IPv6 `address` ("2001:db8:1::10") makes an IPv6 peer of the listener on
// kOutside6.
class Peer {
 public:
  Peer(const char* address, uint16_t port, record::Aead aead = record::Aead::aes128_gcm,
       uint8_t key_seed = 1);
  contract::FlowKey flow() const;
  // The handover message a control process would send for this peer.
  contract::InstallMessage install_message(uint64_t server_first_sequence = 1) const;
  // One sealed record under the client's key, the next sequence number
  // (or `sequence` if given).
  Bytes record(const Bytes& plaintext, record::ContentType type =
                                            record::ContentType::application_data,
               std::optional<uint64_t> sequence = std::nullopt);
  Bytes record_in_epoch(uint16_t epoch, const Bytes& plaintext);
  // An Ethernet frame carrying `payload` from the peer to the listener.
  Bytes frame(const Bytes& payload, uint16_t listener_port = 4433) const;
  // Opens every record of a frame the gateway sent to this peer; nullopt
  // if the frame is not addressed to the peer or a record fails.
  std::optional<std::vector<std::pair<record::ContentType, Bytes>>> open(const Bytes& frame);

  dataplane::Ipv4 address;       // IPv4 peers; zero for IPv6 ones
  dataplane::IpAddress ip_address;  // either family (IPv4 mapped)
  dataplane::IpAddress gateway;     // the listener's address of that family
  uint16_t vlan = 0;  // 802.1Q id of the frames it sends and expects; 0: none
  uint16_t port;
  record::Aead aead;
  Bytes client_key, client_iv, server_key, server_iv;

 private:
  std::unique_ptr<record::CryptoContext> crypto_;
  record::WriteEpoch client_write_;
  record::ReadEpoch server_read_{1024};
};

// A UDP frame from the backend 10.0.0.2:7 to the gateway's inside port
// (an IPv6 backend's goes to kInside6), tagged with `vlan` unless 0.
Bytes backend_frame(uint16_t gateway_port, const Bytes& payload,
                    const char* backend = "10.0.0.2", uint16_t backend_port = 7,
                    uint16_t vlan = 0);

dataplane::IpAddress any_ip(const char* text);

class Harness {
 public:
  explicit Harness(const dataplane::Config& config = test_config());
  ~Harness();

  dataplane::Dataplane& dp() { return *dp_; }
  dataplane::DataplaneContext& ctx() { return dp_->context(); }
  dataplane::Worker& worker(unsigned i = 0) { return dp_->worker(i); }

  // `rx_flags`: what a device would mark in the mbuf (its ol_flags), such
  // as RTE_MBUF_F_RX_IP_CKSUM_GOOD.
  void to_outside(const Bytes& frame, unsigned queue = 0, uint64_t rx_flags = 0);
  void to_inside(const Bytes& frame, unsigned queue = 0, uint64_t rx_flags = 0);
  // Polls every worker `rounds` times.
  void poll(unsigned rounds = 2);
  // Frames the gateway sent, oldest first (all queues).
  std::vector<Bytes> sent_outside();
  std::vector<Bytes> sent_inside();
  uint64_t count(dataplane::Counter c) const { return dp_->total(c); }
  // "name=value ..." of every non-zero counter (for failure messages).
  std::string counters() const;

  // Installs `peer`'s session through its owner's keys ring and polls.
  void install(const Peer& peer, uint64_t server_first_sequence = 1);
  // The same with a message of the test's own (e.g. an identity set).
  void install(const contract::InstallMessage& message);
  std::vector<contract::EventMessage> events();
  std::vector<contract::PuntMessage> punts();  // caller frees the mbufs

 private:
  std::unique_ptr<dataplane::Dataplane> dp_;
};

// One peer from `address` for each of `h`'s workers, owned by it (the
// first source port from 40000 up that the worker owns).
std::vector<std::unique_ptr<Peer>> one_peer_per_worker(Harness& h,
                                                       const char* address = "192.0.2.10");

// The UDP payload of a frame, with its parsed headers.
std::optional<Bytes> udp_payload(const Bytes& frame, dataplane::packet::Frame* parsed = nullptr);

}  // namespace dtlsgw::test
