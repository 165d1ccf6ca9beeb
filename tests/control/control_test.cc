// The control loop and the dataplane in one process (EAL without
// hugepages, net_ring ports): real OpenSSL DTLS 1.2 clients complete
// handshakes through both; application data then flows through the
// dataplane alone; a retransmitted final flight is answered from the
// dataplane's cache; a resumed session works; the cookie secret rotates
// through the ready memzone; a reload that drops a PSK identity closes its
// sessions.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "control/control.h"
#include "tests/dataplane/dataplane_harness.h"
#include "tests/handshake/test_support.h"

namespace dtlsgw::test {
namespace {

namespace hs = dtlsgw::handshake;
namespace hst = dtlsgw::handshake::test;
using dataplane::Counter;

Bytes text(const char* s) { return Bytes(s, s + std::strlen(s)); }

dataplane::Config gateway_config() {
  dataplane::Config c = test_config();
  c.handshake.server = hst::full_server_config();
  c.handshake.initial_timeout = std::chrono::milliseconds(200);
  return c;
}

// One gateway: dataplane workers and a control loop, polled in turn.
struct Gateway {
  explicit Gateway(const dataplane::Config& config = gateway_config()) : h(config) {
    std::string error;
    control::Attachment shm;
    EXPECT_TRUE(control::attach(shm, error)) << error;
    ctl = control::Control::create(config, shm, error);
    EXPECT_NE(ctl, nullptr) << error;
  }
  void step(hs::TimePoint now = hs::Clock::now()) {
    h.poll(1);
    ctl->poll(now);
    h.poll(1);
  }
  Harness h;
  std::unique_ptr<control::Control> ctl;
};

// A real OpenSSL client behind the outside port, addressed as `wire`.
struct Client {
  Client(const hst::ClientOptions& options, const char* address, uint16_t port)
      : wire(address, port), ssl(options, hs::PeerAddress::v4(kGatewayIp, 4433)) {}
  static constexpr uint8_t kGatewayIp[4] = {192, 0, 2, 1};

  void send(Gateway& g, const std::vector<hs::Datagram>& datagrams) {
    for (const auto& d : datagrams) {
      g.h.to_outside(wire.frame(Bytes(d.begin(), d.end())));
    }
  }
  // Frames the gateway sent to this client, as datagrams.
  std::vector<hs::Datagram> received(Gateway& g, std::vector<Bytes>& frames) {
    std::vector<hs::Datagram> out;
    for (auto it = frames.begin(); it != frames.end();) {
      dataplane::packet::Frame f;
      auto payload = udp_payload(*it, &f);
      if (payload && f.destination == wire.address && f.destination_port == wire.port) {
        EXPECT_EQ(f.source_port, 4433);
        EXPECT_EQ(f.destination_mac, kPeerMac);
        out.emplace_back(payload->begin(), payload->end());
        it = frames.erase(it);
      } else {
        ++it;
      }
    }
    (void)g;
    return out;
  }
  Peer wire;
  hst::TestClient ssl;
};

// Runs handshakes until every client is done (or `rounds` pass).
bool handshake(Gateway& g, std::vector<Client*> clients, int rounds = 200) {
  for (Client* c : clients) {
    c->send(g, c->ssl.step());
  }
  for (int r = 0; r < rounds; ++r) {
    g.step();
    auto frames = g.h.sent_outside();
    bool all_done = true;
    for (Client* c : clients) {
      auto in = c->received(g, frames);
      if (!in.empty()) {
        c->ssl.deliver(in);
        c->send(g, c->ssl.step());
      }
      if (c->ssl.failed()) {
        ADD_FAILURE() << "client failed: " << c->ssl.error();
        return false;
      }
      all_done = all_done && c->ssl.done();
    }
    if (all_done) {
      g.step();  // the installed events
      return true;
    }
  }
  return false;
}

hst::ClientOptions psk_client(const char* suites = "PSK-AES128-CCM8") {
  hst::ClientOptions o;
  o.cipher_suites = suites;
  o.psk_identity = hst::kPskIdentity;
  auto key = hst::psk_key();
  o.psk.assign(key.begin(), key.end());
  return o;
}

void exchange_data(Gateway& g, Client& c, const char* message) {
  c.send(g, {c.ssl.write(text(message))});
  g.step();
  const auto inside = g.h.sent_inside();
  ASSERT_EQ(inside.size(), 1u) << g.h.counters();
  dataplane::packet::Frame f;
  auto payload = udp_payload(inside[0], &f);
  ASSERT_TRUE(payload);
  EXPECT_EQ(*payload, text(message));
  // The backend echoes; the client reads it through its own OpenSSL.
  g.h.to_inside(backend_frame(f.source_port, *payload));
  g.step();
  auto frames = g.h.sent_outside();
  c.ssl.deliver(c.received(g, frames));
  const auto read = c.ssl.read_all();
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0], text(message));
}

TEST(Control, PskHandshakeThroughBothProcessesThenDataThroughTheDataplane) {
  Gateway g;
  Client c(psk_client(), "192.0.2.10", 40000);
  ASSERT_TRUE(handshake(g, {&c})) << g.h.counters();
  EXPECT_EQ(g.ctl->stats().installed, 1u);
  EXPECT_EQ(g.ctl->sessions_established(), 1u);
  EXPECT_EQ(g.h.dp().sessions().size(), 1u);
  EXPECT_EQ(g.h.count(Counter::hello_verify_requests), 1u);
  // Through ctl-tx only the server's first flight (PSK: ServerHello ...
  // ServerHelloDone, one datagram); the final flight left with the
  // handover, once: the client saw no duplicate records.
  EXPECT_EQ(g.h.count(Counter::ctl_tx_sent), 1u);
  EXPECT_EQ(g.ctl->stats().datagrams_sent, 1u);
  const uint64_t punted = g.h.count(Counter::punted);
  exchange_data(g, c, "coap GET /temperature");
  exchange_data(g, c, "second message");
  // Data never visits the control process.
  EXPECT_EQ(g.h.count(Counter::punted), punted);
  EXPECT_NE(g.ctl->status_line().find("sessions established 1"), std::string::npos)
      << g.ctl->status_line();
}

TEST(Control, EcdsaSuitesAndManyClientsAtOnce) {
  Gateway g;
  std::vector<std::unique_ptr<Client>> clients;
  const char* suites[] = {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305",
                          "ECDHE-ECDSA-AES256-GCM-SHA384", "PSK-AES128-GCM-SHA256"};
  for (int i = 0; i < 8; ++i) {
    hst::ClientOptions o = psk_client(suites[i % 4]);
    clients.push_back(std::make_unique<Client>(o, "192.0.2.20", static_cast<uint16_t>(41000 + i)));
  }
  std::vector<Client*> raw;
  for (auto& c : clients) {
    raw.push_back(c.get());
  }
  ASSERT_TRUE(handshake(g, raw)) << g.h.counters() << " | " << g.ctl->status_line();
  EXPECT_EQ(g.h.dp().sessions().size(), 8u);
  for (auto& c : clients) {
    exchange_data(g, *c, "hello from a client");
  }
}

TEST(Control, RetransmittedFinishedIsAnsweredFromTheDataplaneCache) {
  Gateway g;
  hst::ClientOptions o = psk_client();
  o.initial_timeout = std::chrono::milliseconds(50);
  Client c(o, "192.0.2.10", 40000);
  c.send(g, c.ssl.step());
  bool dropped = false;
  for (int r = 0; r < 200 && !c.ssl.done(); ++r) {
    g.step();
    auto frames = g.h.sent_outside();
    auto in = c.received(g, frames);
    if (!in.empty() && g.h.dp().sessions().size() == 1 && !dropped) {
      dropped = true;  // the final flight is lost on the way
      continue;
    }
    if (!in.empty()) {
      c.ssl.deliver(in);
      c.send(g, c.ssl.step());
    } else if (dropped) {
      std::this_thread::sleep_for(std::chrono::milliseconds(60));
      c.send(g, c.ssl.handle_timeout());  // the client resends its Finished flight
    }
  }
  ASSERT_TRUE(dropped);
  ASSERT_TRUE(c.ssl.done()) << g.h.counters();
  EXPECT_EQ(g.h.count(Counter::final_flight_resent), 1u) << g.h.counters();
  exchange_data(g, c, "after the resend");
}

TEST(Control, ResumedSessionWorks) {
  Gateway g;
  SSL_SESSION* saved = nullptr;
  {
    Client first(psk_client("ECDHE-ECDSA-AES128-GCM-SHA256"), "192.0.2.10", 40000);
    ASSERT_TRUE(handshake(g, {&first}));
    saved = first.ssl.get1_session();
  }
  hst::ClientOptions o = psk_client("ECDHE-ECDSA-AES128-GCM-SHA256");
  o.resume = saved;
  Client second(o, "192.0.2.10", 40001);
  ASSERT_TRUE(handshake(g, {&second}));
  EXPECT_TRUE(SSL_session_reused(second.ssl.ssl()));
  exchange_data(g, second, "resumed");
  SSL_SESSION_free(saved);
}

TEST(Control, CookieSecretRotatesThroughTheReadyMemzone) {
  dataplane::Config config = gateway_config();
  config.handshake.cookie_rotation = std::chrono::seconds(1);
  Gateway g(config);
  const uint8_t before = g.h.ctx().ready->cookies.secrets.current.generation;
  g.ctl->poll(hs::Clock::now() + std::chrono::seconds(2));
  EXPECT_EQ(g.ctl->stats().cookie_rotations, 1u);
  EXPECT_NE(g.h.ctx().ready->cookies.secrets.current.generation, before);
  EXPECT_EQ(g.h.ctx().ready->cookies.secrets.previous.generation, before);
  // The workers adopt it, and handshakes still complete.
  Client c(psk_client(), "192.0.2.10", 40000);
  ASSERT_TRUE(handshake(g, {&c}));
}

TEST(Control, ReloadWithoutAPskIdentityClosesItsSessions) {
  dataplane::Config config = gateway_config();
  Gateway g(config);
  Client c(psk_client(), "192.0.2.10", 40000);
  ASSERT_TRUE(handshake(g, {&c}));
  ASSERT_EQ(g.h.dp().sessions().size(), 1u);
  // The same file without kPskIdentity.
  const std::string path = ::testing::TempDir() + "psk-reload.txt";
  std::ofstream(path) << hst::kCoapIdentity << ":00112233445566778899aabbccddeeff\n";
  dataplane::Config fresh = config;
  fresh.handshake.server.psk_file = path;
  std::string error;
  ASSERT_TRUE(g.ctl->reload(fresh, error)) << error;
  g.step();
  g.step();
  EXPECT_EQ(g.h.dp().sessions().size(), 0u);
  EXPECT_EQ(g.ctl->sessions_established(), 0u);
  // A reload that fails keeps everything as it was.
  fresh.handshake.server.psk_file = "/nonexistent/psk.txt";
  EXPECT_FALSE(g.ctl->reload(fresh, error));
  EXPECT_FALSE(error.empty());
}

// Sends the client's ClientHello, answers its HelloVerifyRequest, sends the
// cookie ClientHello: the handshake is then the control process's.
hs::Datagram start_handshake(Gateway& g, Client& c) {
  c.send(g, c.ssl.step());
  g.step();
  auto frames = g.h.sent_outside();
  c.ssl.deliver(c.received(g, frames));
  const auto cookie_hello = c.ssl.step();
  EXPECT_EQ(cookie_hello.size(), 1u);
  c.send(g, cookie_hello);
  g.step();
  g.h.sent_outside();  // the server's flight: this client never answers
  return cookie_hello.empty() ? hs::Datagram() : cookie_hello[0];
}

TEST(Control, HandshakeFloodsAreBoundedAndCounted) {
  dataplane::Config config = gateway_config();
  config.handshake.max_handshakes = 4;
  Gateway g(config);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 6; ++i) {
    const std::string address = "192.0.2." + std::to_string(30 + i);
    clients.push_back(std::make_unique<Client>(psk_client(), address.c_str(), 40000));
    start_handshake(g, *clients.back());
  }
  // At most max_handshakes engines; the rest refused and counted.
  EXPECT_EQ(g.ctl->handshakes().size(), 4u);
  EXPECT_EQ(g.ctl->handshakes().counters().refused_total_limit, 2u);
  // Handshakes that never finish fail at their deadline and free their slot.
  g.ctl->poll(hs::Clock::now() + std::chrono::seconds(120));
  EXPECT_EQ(g.ctl->handshakes().size(), 0u);
  uint64_t failed = 0;
  for (uint64_t f : g.ctl->handshakes().counters().failed) {
    failed += f;
  }
  EXPECT_EQ(failed, 4u);
  EXPECT_NE(g.ctl->status_line().find("failed 4"), std::string::npos) << g.ctl->status_line();
}

TEST(Control, PerSourceLimitAndReplayedCookieClientHello) {
  Gateway g;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 36; ++i) {  // one address, many ports
    clients.push_back(
        std::make_unique<Client>(psk_client(), "192.0.2.40", static_cast<uint16_t>(42000 + i)));
    start_handshake(g, *clients.back());
  }
  const auto& t = g.ctl->handshakes().counters();
  EXPECT_EQ(g.ctl->handshakes().size(), 32u);  // TableConfig::max_handshakes_per_source
  EXPECT_EQ(t.refused_source_limit, 4u);

  // A completed handshake's cookie ClientHello, replayed, starts nothing.
  Client c(psk_client(), "192.0.2.50", 40000);
  c.send(g, c.ssl.step());
  g.step();
  auto frames = g.h.sent_outside();
  c.ssl.deliver(c.received(g, frames));
  const auto cookie_hello = c.ssl.step();
  ASSERT_EQ(cookie_hello.size(), 1u);
  c.send(g, cookie_hello);
  for (int r = 0; r < 50 && !c.ssl.done(); ++r) {
    g.step();
    auto f = g.h.sent_outside();
    auto in = c.received(g, f);
    if (!in.empty()) {
      c.ssl.deliver(in);
      c.send(g, c.ssl.step());
    }
  }
  ASSERT_TRUE(c.ssl.done());
  g.step();
  const size_t sessions = g.h.dp().sessions().size();
  c.send(g, cookie_hello);
  g.step();
  EXPECT_EQ(t.refused_recent_replay, 1u);
  EXPECT_EQ(g.h.dp().sessions().size(), sessions);
  exchange_data(g, c, "the session is untouched");
}

}  // namespace
}  // namespace dtlsgw::test
