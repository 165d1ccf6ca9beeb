#include "tests/dataplane/dataplane_harness.h"

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_ring_elem.h>

#include <cstring>
#include <mutex>

namespace dtlsgw::test {

using dataplane::Config;
using dataplane::Counter;

namespace {

rte_mempool* g_test_pool = nullptr;
uint16_t g_ports[2] = {};
rte_ring* g_rx[2][kQueues] = {};
rte_ring* g_tx[2][kQueues] = {};

}  // namespace

void init_eal() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* args[] = {"dataplane_test", "--no-huge", "--no-pci", "--no-shconf", "-m", "512",
                          "-l", "0", "--log-level", "*:error", "--no-telemetry"};
    int argc = static_cast<int>(std::size(args));
    if (rte_eal_init(argc, const_cast<char**>(args)) < 0) {
      std::abort();
    }
    g_test_pool = rte_pktmbuf_pool_create("test_pool", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                          SOCKET_ID_ANY);
    for (int p = 0; p < 2; ++p) {
      for (unsigned q = 0; q < kQueues; ++q) {
        const std::string base = std::string(p == 0 ? "out" : "in") + std::to_string(q);
        g_rx[p][q] = rte_ring_create((base + "_rx").c_str(), 4096, SOCKET_ID_ANY,
                                     RING_F_SP_ENQ | RING_F_SC_DEQ);
        g_tx[p][q] = rte_ring_create((base + "_tx").c_str(), 4096, SOCKET_ID_ANY,
                                     RING_F_SP_ENQ | RING_F_SC_DEQ);
      }
      const int id = rte_eth_from_rings(p == 0 ? "net_ring_outside" : "net_ring_inside",
                                        g_rx[p], kQueues, g_tx[p], kQueues, SOCKET_ID_ANY);
      if (id < 0 || g_test_pool == nullptr) {
        std::abort();
      }
      g_ports[p] = static_cast<uint16_t>(id);
    }
  });
}

dataplane::Ipv4 ip(const char* text) { return *dataplane::parse_ipv4(text); }
dataplane::IpAddress any_ip(const char* text) { return *dataplane::parse_ip_address(text); }
dataplane::MacAddress mac(const char* text) { return *dataplane::parse_mac(text); }

Config test_config(unsigned workers) {
  init_eal();
  Config c;
  for (unsigned i = 0; i < workers; ++i) {
    c.workers.push_back(i + 1);
  }
  c.max_sessions = 1024;
  c.mbufs = 4096;
  c.outside.port_id = g_ports[0];
  c.outside.address = ip("192.0.2.1");
  c.inside.port_id = g_ports[1];
  c.inside.address = ip("10.0.0.1");
  dataplane::ListenerConfig listener;
  listener.port = 4433;
  listener.backend_address = dataplane::IpAddress::from(ip("10.0.0.2"));
  listener.backend_port = 7;
  c.listeners.push_back(listener);
  c.neighbors.push_back({dataplane::IpAddress::from(ip("10.0.0.2")), kBackendMac});
  c.summary_interval = std::chrono::milliseconds(0);
  return c;
}

// ---- Peer ---------------------------------------------------------------

Peer::Peer(const char* addr, uint16_t p, record::Aead a, uint8_t key_seed)
    : ip_address(any_ip(addr)),
      gateway(ip_address.is_v4() ? any_ip("192.0.2.1") : any_ip(kOutside6)),
      port(p),
      aead(a),
      crypto_(record::CryptoContext::create()) {
  if (ip_address.is_v4()) {
    address = ip_address.v4();
  }
  const record::AeadParams& params = record::aead_params(aead);
  for (size_t i = 0; i < params.key_length; ++i) {
    client_key.push_back(static_cast<uint8_t>(key_seed * 31 + i));
    server_key.push_back(static_cast<uint8_t>(key_seed * 17 + 3 * i + 1));
  }
  for (size_t i = 0; i < params.fixed_iv_length; ++i) {
    client_iv.push_back(static_cast<uint8_t>(0xa0 + key_seed + i));
    server_iv.push_back(static_cast<uint8_t>(0x50 + key_seed + i));
  }
  // Sequence 0 of epoch 1 was the client's Finished (install_message).
  EXPECT_TRUE(
      client_write_.install(*crypto_, record::Epoch{1}, aead, client_key, client_iv, 1));
  EXPECT_TRUE(server_read_.install(*crypto_, record::Epoch{1}, aead, server_key, server_iv));
}

contract::FlowKey Peer::flow() const { return contract::FlowKey{ip_address, port, 4433}; }

contract::InstallMessage Peer::install_message(uint64_t server_first_sequence) const {
  contract::InstallMessage m;
  m.aead = static_cast<uint8_t>(aead);
  m.flow = flow();
  std::memcpy(m.peer_mac, kPeerMac.bytes, 6);
  m.suite = 0xc02b;
  m.key_length = static_cast<uint8_t>(client_key.size());
  m.iv_length = static_cast<uint8_t>(client_iv.size());
  std::memcpy(m.client_write_key, client_key.data(), client_key.size());
  std::memcpy(m.server_write_key, server_key.data(), server_key.size());
  std::memcpy(m.client_write_iv, client_iv.data(), client_iv.size());
  std::memcpy(m.server_write_iv, server_iv.data(), server_iv.size());
  m.server_first_sequence = server_first_sequence;
  // The client's Finished was epoch 1, sequence 0.
  m.client_sequence_count = 1;
  m.client_sequences[0] = 0;
  return m;
}

Bytes Peer::record(const Bytes& plaintext, record::ContentType type,
                   std::optional<uint64_t> sequence) {
  if (sequence) {
    EXPECT_TRUE(client_write_.install(*crypto_, record::Epoch{1}, aead, client_key, client_iv,
                                      *sequence));
  }
  Bytes buffer(client_write_.seal_prefix() + plaintext.size() + client_write_.tag_length());
  std::memcpy(buffer.data() + client_write_.seal_prefix(), plaintext.data(), plaintext.size());
  size_t length = 0;
  EXPECT_EQ(record::seal_record(*crypto_, client_write_, type, buffer, plaintext.size(), length),
            record::SealResult::ok);
  buffer.resize(length);
  return buffer;
}

Bytes Peer::record_in_epoch(uint16_t epoch, const Bytes& plaintext) {
  record::WriteEpoch other;
  EXPECT_TRUE(other.install(*crypto_, record::Epoch{epoch}, aead, client_key, client_iv, 5));
  Bytes buffer(other.seal_prefix() + plaintext.size() + other.tag_length());
  std::memcpy(buffer.data() + other.seal_prefix(), plaintext.data(), plaintext.size());
  size_t length = 0;
  EXPECT_EQ(record::seal_record(*crypto_, other, record::ContentType::application_data, buffer,
                                plaintext.size(), length),
            record::SealResult::ok);
  buffer.resize(length);
  return buffer;
}

Bytes Peer::frame(const Bytes& payload, uint16_t listener_port) const {
  dataplane::packet::UdpEndpoints e;
  e.source_mac = kPeerMac;
  e.destination_mac = mac("02:00:00:00:00:01");
  e.set_addresses(ip_address, gateway);
  e.has_vlan = vlan != 0;
  e.vlan_tci = vlan;
  e.source_port = port;
  e.destination_port = listener_port;
  const size_t headers = dataplane::packet::udp_headers_length(e);
  Bytes f(headers + payload.size());
  dataplane::packet::write_udp_headers(f.data(), e, payload.size(), 1);
  std::memcpy(f.data() + headers, payload.data(), payload.size());
  dataplane::packet::set_udp_checksum(f.data() + dataplane::packet::kEthernetHeaderLength +
                                      (e.has_vlan ? dataplane::packet::kVlanTagLength : 0));
  return f;
}

std::optional<std::vector<std::pair<record::ContentType, Bytes>>> Peer::open(const Bytes& f) {
  dataplane::packet::Frame parsed;
  auto payload = udp_payload(f, &parsed);
  if (!payload || parsed.destination_address != ip_address || parsed.destination_port != port ||
      parsed.source_address != gateway || !(parsed.destination_mac == kPeerMac) ||
      parsed.has_vlan != (vlan != 0) || (parsed.vlan_tci & 0x0fff) != vlan) {
    return std::nullopt;
  }
  std::vector<std::pair<record::ContentType, Bytes>> out;
  record::RecordWalker walker(*payload);
  record::RecordView view;
  while (walker.next(view)) {
    std::span<uint8_t> plaintext;
    if (record::open_record(*crypto_, server_read_, view, plaintext) != record::OpenResult::ok) {
      return std::nullopt;
    }
    out.emplace_back(view.header.type, Bytes(plaintext.begin(), plaintext.end()));
  }
  return out;
}

Bytes backend_frame(uint16_t gateway_port, const Bytes& payload, const char* backend,
                    uint16_t backend_port, uint16_t vlan) {
  dataplane::packet::UdpEndpoints e;
  e.source_mac = kBackendMac;
  e.destination_mac = mac("02:00:00:00:00:02");
  const dataplane::IpAddress from = any_ip(backend);
  e.set_addresses(from, from.is_v4() ? any_ip("10.0.0.1") : any_ip(kInside6));
  e.has_vlan = vlan != 0;
  e.vlan_tci = vlan;
  e.source_port = backend_port;
  e.destination_port = gateway_port;
  const size_t headers = dataplane::packet::udp_headers_length(e);
  Bytes f(headers + payload.size());
  dataplane::packet::write_udp_headers(f.data(), e, payload.size(), 1);
  std::memcpy(f.data() + headers, payload.data(), payload.size());
  if (e.ip_version == 6) {  // mandatory over IPv6 (RFC 8200 §8.1)
    dataplane::packet::set_udp_checksum(f.data() + dataplane::packet::kEthernetHeaderLength +
                                        (e.has_vlan ? dataplane::packet::kVlanTagLength : 0));
  }
  return f;
}

std::optional<Bytes> udp_payload(const Bytes& frame, dataplane::packet::Frame* parsed) {
  dataplane::packet::Frame f;
  if (dataplane::packet::parse_frame(frame, f) != dataplane::packet::FrameResult::udp) {
    return std::nullopt;
  }
  if (parsed != nullptr) {
    *parsed = f;
  }
  return Bytes(frame.begin() + f.payload_offset,
               frame.begin() + f.payload_offset + f.payload_length);
}

// ---- Harness -------------------------------------------------------------

Harness::Harness(const Config& config) {
  init_eal();
  std::string error;
  dp_ = dataplane::Dataplane::create(config, {}, error);
  if (!dp_) {
    ADD_FAILURE() << error;
    std::abort();
  }
}

Harness::~Harness() {
  sent_outside();
  sent_inside();
  for (auto& p : punts()) {
    rte_pktmbuf_free(p.datagram);
  }
  dp_.reset();
  for (int p = 0; p < 2; ++p) {
    for (unsigned q = 0; q < kQueues; ++q) {
      rte_mbuf* m = nullptr;
      while (rte_ring_dequeue(g_rx[p][q], reinterpret_cast<void**>(&m)) == 0) {
        rte_pktmbuf_free(m);
      }
    }
  }
}

namespace {
void enqueue(rte_ring* ring, const Bytes& frame, uint64_t rx_flags) {
  rte_mbuf* m = rte_pktmbuf_alloc(g_test_pool);
  ASSERT_NE(m, nullptr);
  m->ol_flags |= rx_flags;
  char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
  ASSERT_NE(p, nullptr);
  std::memcpy(p, frame.data(), frame.size());
  ASSERT_EQ(rte_ring_enqueue(ring, m), 0);
}

std::vector<Bytes> drain(rte_ring* const* rings) {
  std::vector<Bytes> out;
  for (unsigned q = 0; q < kQueues; ++q) {
    rte_mbuf* m = nullptr;
    while (rte_ring_dequeue(rings[q], reinterpret_cast<void**>(&m)) == 0) {
      const uint8_t* d = rte_pktmbuf_mtod(m, const uint8_t*);
      out.emplace_back(d, d + rte_pktmbuf_data_len(m));
      rte_pktmbuf_free(m);
    }
  }
  return out;
}
}  // namespace

void Harness::to_outside(const Bytes& frame, unsigned queue, uint64_t rx_flags) {
  enqueue(g_rx[0][queue], frame, rx_flags);
}
void Harness::to_inside(const Bytes& frame, unsigned queue, uint64_t rx_flags) {
  enqueue(g_rx[1][queue], frame, rx_flags);
}

void Harness::poll(unsigned rounds) {
  for (unsigned r = 0; r < rounds; ++r) {
    for (unsigned w = 0; w < dp_->worker_count(); ++w) {
      dp_->worker(w).poll();
    }
  }
}

std::string Harness::counters() const {
  std::string out;
  for (size_t c = 0; c < dataplane::kCounterCount; ++c) {
    const auto counter = static_cast<Counter>(c);
    if (const uint64_t v = dp_->total(counter); v != 0) {
      out += std::string(dataplane::counter_info(counter).name) + "=" + std::to_string(v) + " ";
    }
  }
  return out;
}

std::vector<Bytes> Harness::sent_outside() { return drain(g_tx[0]); }
std::vector<Bytes> Harness::sent_inside() { return drain(g_tx[1]); }

void Harness::install(const Peer& peer, uint64_t server_first_sequence) {
  contract::KeysSlot slot;
  slot.install = peer.install_message(server_first_sequence);
  const unsigned owner = ctx().owner_of(peer.flow());
  ASSERT_EQ(rte_ring_enqueue_elem(ctx().keys[owner], &slot, sizeof(slot)), 0);
  poll(1);
}

void Harness::install(const contract::InstallMessage& message) {
  contract::KeysSlot slot;
  slot.install = message;
  const unsigned owner = ctx().owner_of(message.flow);
  ASSERT_EQ(rte_ring_enqueue_elem(ctx().keys[owner], &slot, sizeof(slot)), 0);
  poll(1);
}

std::vector<std::unique_ptr<Peer>> one_peer_per_worker(Harness& h, const char* address) {
  const unsigned workers = h.dp().worker_count();
  std::vector<std::unique_ptr<Peer>> peers(workers);
  unsigned found = 0;
  for (uint32_t port = 40000; found < workers && port <= UINT16_MAX; ++port) {
    auto p = std::make_unique<Peer>(address, static_cast<uint16_t>(port));
    const unsigned owner = h.ctx().owner_of(p->flow());
    if (!peers[owner]) {
      peers[owner] = std::move(p);
      ++found;
    }
  }
  return peers;
}

std::vector<contract::EventMessage> Harness::events() {
  std::vector<contract::EventMessage> out;
  contract::EventMessage e;
  while (rte_ring_dequeue_elem(ctx().events, &e, sizeof(e)) == 0) {
    out.push_back(e);
  }
  return out;
}

std::vector<contract::PuntMessage> Harness::punts() {
  std::vector<contract::PuntMessage> out;
  contract::PuntMessage p;
  while (rte_ring_dequeue_elem(ctx().punt, &p, sizeof(p)) == 0) {
    out.push_back(p);
  }
  return out;
}

}  // namespace dtlsgw::test
