// An ICMP "fragmentation needed" lowers the MTU of that peer's next
// handshake flight, through both processes (issue 6's test): the control
// loop and an in-process dataplane (EAL without hugepages, net_ring
// ports), a real OpenSSL client. The server's certificate flight is
// "lost" on a path narrower than the configured MTU; a router's ICMP
// quoting it reaches the dataplane, which tells the control process; the
// retransmitted flight fits the path, and the handshake completes.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "control/control.h"
#include "dataplane/icmp.h"
#include "tests/dataplane/dataplane_harness.h"
#include "tests/handshake/test_support.h"

namespace dtlsgw::test {
namespace {

namespace hs = dtlsgw::handshake;
namespace hst = dtlsgw::handshake::test;
using dataplane::Counter;

constexpr size_t kL3 = 14;

struct Gateway {
  explicit Gateway(const dataplane::Config& config) : h(config) {
    std::string error;
    control::Attachment shm;
    EXPECT_TRUE(control::attach(shm, error)) << error;
    ctl = control::Control::create(config, shm, error);
    EXPECT_NE(ctl, nullptr) << error;
  }
  void step() {
    h.poll(1);
    ctl->poll(hs::Clock::now());
    h.poll(1);
  }
  Harness h;
  std::unique_ptr<control::Control> ctl;
};

// The frames the gateway sent to `wire`, as UDP payloads.
std::vector<Bytes> to_peer(std::vector<Bytes>& frames, const Peer& wire,
                           std::vector<Bytes>* raw = nullptr) {
  std::vector<Bytes> out;
  for (const Bytes& f : frames) {
    dataplane::packet::Frame parsed;
    auto payload = udp_payload(f, &parsed);
    if (payload && parsed.destination == wire.address && parsed.destination_port == wire.port) {
      out.push_back(*payload);
      if (raw != nullptr) {
        raw->push_back(f);
      }
    }
  }
  return out;
}

std::vector<hs::Datagram> datagrams(const std::vector<Bytes>& payloads) {
  return std::vector<hs::Datagram>(payloads.begin(), payloads.end());
}

// A router's frag-needed (next-hop `mtu`) quoting `sent`.
Bytes frag_needed_for(const Bytes& sent, uint16_t mtu) {
  Bytes out(kL3 + dataplane::icmp::kMaxIcmpv4ErrorLength);
  const size_t n = dataplane::icmp::write_fragmentation_needed(
      {out.data() + kL3, dataplane::icmp::kMaxIcmpv4ErrorLength},
      {sent.data() + kL3, sent.size() - kL3}, ip("203.0.113.9").be, mtu, 1);
  EXPECT_NE(n, 0u);
  out.resize(kL3 + n);
  std::memcpy(out.data(), mac("02:00:00:00:00:01").bytes, 6);
  std::memcpy(out.data() + 6, kPeerMac.bytes, 6);
  out[12] = 0x08;
  return out;
}

TEST(ControlPathMtu, FragNeededForAHandshakeFlightShrinksItsRetransmission) {
  dataplane::Config config = test_config();
  config.handshake.server = hst::full_server_config();
  config.handshake.initial_timeout = std::chrono::milliseconds(200);
  config.handshake.mtu = 1200;
  Gateway g(config);
  Peer wire("192.0.2.20", 41000);
  hst::ClientOptions options;
  options.cipher_suites = "ECDHE-RSA-AES128-GCM-SHA256";
  hst::TestClient client(options,
                         hs::PeerAddress::v4(std::array<uint8_t, 4>{192, 0, 2, 1}.data(), 4433));
  const auto send = [&](const std::vector<hs::Datagram>& ds) {
    for (const auto& d : ds) {
      g.h.to_outside(wire.frame(Bytes(d.begin(), d.end())));
    }
  };

  // ClientHello → HelloVerifyRequest → cookie ClientHello → the server's
  // certificate flight, which the client never gets.
  send(client.step());
  std::vector<Bytes> flight_frames;
  for (int round = 0; round < 20 && flight_frames.empty(); ++round) {
    g.step();
    auto frames = g.h.sent_outside();
    std::vector<Bytes> raw;
    const auto in = to_peer(frames, wire, &raw);
    if (in.size() == 1 && in[0].size() < 100) {  // the HelloVerifyRequest
      client.deliver(datagrams(in));
      send(client.step());
    } else if (!in.empty()) {
      flight_frames = raw;
    }
  }
  ASSERT_FALSE(flight_frames.empty()) << g.h.counters();
  size_t largest = 0;
  const Bytes* biggest = nullptr;
  for (const Bytes& f : flight_frames) {
    if (f.size() > largest) {
      largest = f.size();
      biggest = &f;
    }
  }
  ASSERT_GT(largest - kL3, 700u) << "the flight filled datagrams larger than the path";

  // The path's MTU is 628 bytes of IP packet: 600 of UDP payload.
  g.h.to_outside(frag_needed_for(*biggest, 628));
  g.step();
  g.step();
  EXPECT_EQ(g.h.count(Counter::icmp_path_mtu_lowered), 1u) << g.h.counters();
  EXPECT_EQ(g.ctl->stats().path_mtu_reports, 1u);
  EXPECT_EQ(g.ctl->stats().path_mtu_applied, 1u);

  // The retransmission (OpenSSL's timer) fits the path.
  std::vector<Bytes> again;
  for (int round = 0; round < 60 && again.empty(); ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    g.step();
    auto frames = g.h.sent_outside();
    std::vector<Bytes> raw;
    to_peer(frames, wire, &raw);
    again = raw;
  }
  ASSERT_FALSE(again.empty()) << "no retransmission";
  for (const Bytes& f : again) {
    EXPECT_LE(f.size() - kL3, 628u);
  }
  EXPECT_GT(again.size(), flight_frames.size());

  // And the handshake completes over it.
  std::vector<Bytes> down;
  for (const Bytes& f : again) {
    down.push_back(*udp_payload(f));
  }
  for (int round = 0; round < 50 && !client.done(); ++round) {
    client.deliver(datagrams(down));
    send(client.step());
    ASSERT_FALSE(client.failed()) << client.error();
    g.step();
    auto frames = g.h.sent_outside();
    down = to_peer(frames, wire);
    for (const Bytes& d : down) {
      EXPECT_LE(d.size() + 28, 628u);
    }
  }
  EXPECT_TRUE(client.done());
  g.step();
  EXPECT_EQ(g.h.count(Counter::sessions_installed), 1u) << g.h.counters();
}

}  // namespace
}  // namespace dtlsgw::test
