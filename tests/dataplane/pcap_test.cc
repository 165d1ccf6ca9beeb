// The dataplane on DPDK's net_pcap virtual devices (DESIGN.md, "Tests":
// in-process on net_ring / net_pcap): frames read from pcap files by the
// driver, frames the dataplane sends written to pcap files by the driver,
// and both checked here (tests/dataplane/pcap_file.h). Unlike the net_ring
// tests the ports are configured and started by Dataplane::create itself,
// as with a real NIC.
//
// net_pcap comes from the EAL's plugin directory (DPDK shared build: every
// PMD in pmds-<abi> is loaded at rte_eal_init).
#include <gtest/gtest.h>
#include <rte_bus_vdev.h>
#include <rte_ethdev.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "tests/dataplane/dataplane_harness.h"
#include "tools/pcap_file.h"

namespace dtlsgw::test {
using tools::read_pcap;
using tools::write_pcap;
namespace {

using dataplane::Counter;
using record::ContentType;

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "dtlsgw_pcap_test_" + std::to_string(::getpid()) + "_" + name;
}

// RFC 768: the pseudo-header, UDP header and data sum to 0xffff (the
// parser checks only the IPv4 header sum).
bool udp_checksum_ok(const Bytes& frame) {
  const uint8_t* ipv4 = frame.data() + dataplane::packet::kEthernetHeaderLength;
  const size_t ihl = static_cast<size_t>(ipv4[0] & 0x0f) * 4;
  const uint8_t* udp = ipv4 + ihl;
  const uint16_t length = static_cast<uint16_t>(udp[4] << 8 | udp[5]);
  if ((udp[6] | udp[7]) == 0) {
    return false;  // "no checksum" is allowed by RFC 768, but we always send one
  }
  uint8_t pseudo[12];
  std::memcpy(pseudo, ipv4 + 12, 8);
  pseudo[8] = 0;
  pseudo[9] = 17;
  pseudo[10] = static_cast<uint8_t>(length >> 8);
  pseudo[11] = static_cast<uint8_t>(length);
  const uint16_t sum = dataplane::packet::internet_checksum(pseudo, sizeof(pseudo));
  return dataplane::packet::internet_checksum(udp, length, sum) == 0xffff;
}

// A pair of net_pcap ports reading `*_in.pcap` and writing `*_out.pcap`.
class PcapPorts {
 public:
  PcapPorts(const std::string& tag, const std::vector<Bytes>& outside_in,
            const std::vector<Bytes>& inside_in) {
    init_eal();
    for (int side = 0; side < 2; ++side) {
      const std::string name = std::string(side == 0 ? "outside" : "inside") + "_" + tag;
      in_[side] = temp_path(name + "_in.pcap");
      out_[side] = temp_path(name + "_out.pcap");
      std::string error;
      EXPECT_TRUE(write_pcap(in_[side], side == 0 ? outside_in : inside_in, error)) << error;
      vdev_[side] = "net_pcap_" + name;
      const std::string args = "rx_pcap=" + in_[side] + ",tx_pcap=" + out_[side];
      const int rc = rte_vdev_init(vdev_[side].c_str(), args.c_str());
      EXPECT_EQ(rc, 0) << vdev_[side] << ": is librte_net_pcap in the EAL plugin directory?";
      EXPECT_EQ(rte_eth_dev_get_port_by_name(vdev_[side].c_str(), &port_[side]), 0);
      made_[side] = rc == 0;
    }
  }
  ~PcapPorts() {
    for (int side = 0; side < 2; ++side) {
      if (made_[side]) {
        rte_vdev_uninit(vdev_[side].c_str());
      }
      std::remove(in_[side].c_str());
      std::remove(out_[side].c_str());
    }
  }
  bool ok() const { return made_[0] && made_[1]; }
  uint16_t outside() const { return port_[0]; }
  uint16_t inside() const { return port_[1]; }
  // What the dataplane sent on a port (once the ports are stopped).
  std::vector<Bytes> sent(bool outside_port) const {
    std::string error;
    auto frames = read_pcap(out_[outside_port ? 0 : 1], error);
    EXPECT_TRUE(frames.has_value()) << error;
    return frames ? *frames : std::vector<Bytes>{};
  }

 private:
  std::string in_[2], out_[2], vdev_[2];
  uint16_t port_[2] = {};
  bool made_[2] = {};
};

TEST(Pcap, RecordsBecomePlaintextAndRepliesAreSealed) {
  // Two static sessions (as a control process would have installed them):
  // AES-128-GCM and ChaCha20-Poly1305.
  Peer gcm("192.0.2.10", 40000, record::Aead::aes128_gcm, 1);
  Peer chacha("192.0.2.20", 40001, record::Aead::chacha20_poly1305, 2);

  std::vector<Bytes> outside_in;
  std::vector<std::string> expected_plaintext;
  for (int i = 0; i < 4; ++i) {
    for (Peer* p : {&gcm, &chacha}) {
      const std::string s = "reading " + std::to_string(i) + " from port " + std::to_string(p->port);
      outside_in.push_back(p->frame(p->record(text(s))));
      expected_plaintext.push_back(s);
    }
  }
  // A replay and a forgery: neither reaches the backend.
  outside_in.push_back(outside_in[0]);
  Bytes forged = gcm.record(text("forged"));
  forged.back() ^= 0x01;
  outside_in.push_back(gcm.frame(forged));

  // The backend's replies to the sessions' inside ports, dealt out from
  // the bottom of the pool in install order (worker.cc: 20000, 20001).
  std::vector<Bytes> inside_in;
  for (int i = 0; i < 3; ++i) {
    inside_in.push_back(backend_frame(20000, text("gcm reply " + std::to_string(i))));
    inside_in.push_back(backend_frame(20001, text("chacha reply " + std::to_string(i))));
  }

  PcapPorts ports("a", outside_in, inside_in);
  ASSERT_TRUE(ports.ok());
  dataplane::Config config = test_config();
  config.outside.port_id = ports.outside();
  config.inside.port_id = ports.inside();
  std::string error;
  auto dp = dataplane::Dataplane::create(config, {}, error);
  ASSERT_NE(dp, nullptr) << error;
  EXPECT_FALSE(dp->context().outside_checksum_offload);
  dataplane::Worker& worker = dp->worker(0);
  // Installed before the first poll: the inside frames are read at once.
  worker.install(gcm.install_message(7));
  worker.install(chacha.install_message(3));
  ASSERT_EQ(dp->sessions().size(), 2u);
  ASSERT_EQ(dp->sessions().find(gcm.flow())->inside.local_port, 20000);
  ASSERT_EQ(dp->sessions().find(chacha.flow())->inside.local_port, 20001);
  for (int i = 0; i < 20; ++i) {
    worker.poll();
  }
  EXPECT_EQ(dp->total(Counter::rx_packets), outside_in.size());
  EXPECT_EQ(dp->total(Counter::rx_inside_packets), inside_in.size());
  EXPECT_EQ(dp->total(Counter::drop_replay), 1u);
  EXPECT_EQ(dp->total(Counter::drop_auth_failed), 1u);
  const std::string counters = dp->summary_line();
  dp.reset();  // stops the ports: the output files are complete

  const std::vector<Bytes> inside_out = ports.sent(false);
  ASSERT_EQ(inside_out.size(), expected_plaintext.size()) << counters;
  for (size_t i = 0; i < inside_out.size(); ++i) {
    dataplane::packet::Frame f;
    auto payload = udp_payload(inside_out[i], &f);
    ASSERT_TRUE(payload) << i;
    EXPECT_EQ(*payload, text(expected_plaintext[i])) << i;
    EXPECT_EQ(f.source, ip("10.0.0.1"));
    EXPECT_EQ(f.source_port, i % 2 == 0 ? 20000 : 20001);
    EXPECT_EQ(f.destination, ip("10.0.0.2"));
    EXPECT_EQ(f.destination_port, 7);
    EXPECT_EQ(f.destination_mac, kBackendMac);
    // net_pcap has no checksum offload: the dataplane summed in software.
    EXPECT_TRUE(udp_checksum_ok(inside_out[i])) << i;
  }

  const std::vector<Bytes> outside_out = ports.sent(true);
  ASSERT_EQ(outside_out.size(), inside_in.size()) << counters;
  uint64_t gcm_sequence = 7;
  uint64_t chacha_sequence = 3;
  for (size_t i = 0; i < outside_out.size(); ++i) {
    Peer& p = i % 2 == 0 ? gcm : chacha;
    auto opened = p.open(outside_out[i]);
    ASSERT_TRUE(opened) << i;
    ASSERT_EQ(opened->size(), 1u);
    EXPECT_EQ((*opened)[0].first, ContentType::application_data);
    EXPECT_EQ((*opened)[0].second,
              text((i % 2 == 0 ? "gcm reply " : "chacha reply ") + std::to_string(i / 2)));
    // Numbered from the handover's first free sequence, one each.
    const auto payload = udp_payload(outside_out[i]);
    uint64_t sequence = 0;
    for (size_t b = 5; b < 11; ++b) {
      sequence = sequence << 8 | (*payload)[b];
    }
    EXPECT_TRUE(udp_checksum_ok(outside_out[i])) << i;
    EXPECT_EQ(sequence, i % 2 == 0 ? gcm_sequence++ : chacha_sequence++);
  }
}

}  // namespace
}  // namespace dtlsgw::test
