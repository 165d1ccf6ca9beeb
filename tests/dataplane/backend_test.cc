// The plaintext side in-process on net_ring ports: a listener with
// `proxy_protocol = true` puts a PROXY v2 header (checked by the parser
// written from the specification, proxy_v2_parser.h) before each datagram
// to its backend, one without does not, replies come back plain; the
// per-session and per-listener rate limits drop and count the excess; an
// inside source address pool serves more sessions than one address has
// ports, and the gateway answers ARP for each pool address.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <set>
#include <utility>

#include "tests/dataplane/dataplane_harness.h"
#include "tests/dataplane/proxy_v2_parser.h"

namespace dtlsgw::test {
namespace {

using dataplane::Counter;
using namespace proxy_v2_parser;  // NOLINT

Bytes text(const char* s) { return Bytes(s, s + std::strlen(s)); }

// Listener 4433 → 10.0.0.2:7 as the harness has it, plus 5684 → 10.0.0.2:8
// with the PROXY header.
dataplane::Config proxy_config() {
  dataplane::Config c = test_config();
  dataplane::ListenerConfig l;
  l.port = 5684;
  l.backend_address = dataplane::IpAddress::from(ip("10.0.0.2"));
  l.backend_port = 8;
  l.proxy_protocol = true;
  c.listeners.push_back(l);
  return c;
}

contract::InstallMessage with_identity(const Peer& peer, uint8_t kind, const std::string& name,
                                       uint16_t listener_port) {
  contract::InstallMessage m = peer.install_message();
  m.flow.listener_port = listener_port;
  m.identity = contract::make_identity(kind, name.data(), name.size());
  return m;
}

uint64_t be64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = v << 8 | p[i];
  }
  return v;
}

// The parsed header of a datagram to the backend, and what follows it.
struct Delivered {
  Parsed header;
  Bytes payload;  // after the header
  dataplane::packet::Frame frame;
};
std::optional<Delivered> delivered(const Bytes& sent_frame) {
  Delivered d;
  const auto udp = udp_payload(sent_frame, &d.frame);
  if (!udp) {
    return std::nullopt;
  }
  const auto p = parse(*udp);
  if (!p) {
    return std::nullopt;
  }
  d.header = *p;
  d.payload.assign(udp->begin() + static_cast<std::ptrdiff_t>(p->header_length), udp->end());
  return d;
}

TEST(Backend, ProxyListenerSendsHeaderThenPlaintextInPlace) {
  Harness h(proxy_config());
  Peer peer("192.0.2.10", 40000);
  const std::string psk = "sensor-7";
  h.install(with_identity(peer, 1, psk, 5684));
  ASSERT_EQ(h.dp().sessions().size(), 1u) << h.counters();

  h.to_outside(peer.frame(peer.record(text("GET /hello")), 5684));
  h.poll();
  const auto sent = h.sent_inside();
  ASSERT_EQ(sent.size(), 1u) << h.counters();
  const auto d = delivered(sent[0]);
  ASSERT_TRUE(d) << "no valid PROXY v2 header";
  EXPECT_EQ(d->payload, text("GET /hello"));
  EXPECT_EQ(d->frame.destination, ip("10.0.0.2"));
  EXPECT_EQ(d->frame.destination_port, 8);
  EXPECT_EQ(d->header.family, AF_INET);
  EXPECT_EQ(d->header.transport, 2);
  EXPECT_EQ(d->header.source, "192.0.2.10");
  EXPECT_EQ(d->header.source_port, 40000);
  EXPECT_EQ(d->header.destination, "192.0.2.1");
  EXPECT_EQ(d->header.destination_port, 5684);
  const auto ssl = parse_ssl(*find(d->header.tlvs, 0x20));
  ASSERT_TRUE(ssl);
  EXPECT_EQ(ssl->client, 0x01);
  EXPECT_EQ(text(find(ssl->sub, 0x21)), "DTLSv1.2");
  EXPECT_EQ(text(find(d->header.tlvs, 0xE0)), psk);
  const Tlv* digest = find(d->header.tlvs, 0xE2);
  ASSERT_NE(digest, nullptr);
  ASSERT_EQ(digest->value.size(), 12u);
  EXPECT_EQ(digest->value[1], 0);  // complete
  EXPECT_EQ(be64(digest->value.data() + 4), contract::identity_hash(psk.data(), psk.size()));
  const Tlv* unique = find(d->header.tlvs, 0x05);
  ASSERT_NE(unique, nullptr);
  EXPECT_EQ(unique->value.size(), 12u);
  EXPECT_EQ(h.count(Counter::proxy_headers_sent), 1u);
  EXPECT_EQ(h.count(Counter::proxy_header_copies), 0u);  // in place
  EXPECT_EQ(h.count(Counter::plaintext_forwarded), 1u);
}

TEST(Backend, ListenerWithoutProxySendsPlaintextOnly) {
  Harness h(proxy_config());
  Peer peer("192.0.2.10", 40000);
  h.install(with_identity(peer, 1, "sensor-7", 4433));
  h.to_outside(peer.frame(peer.record(text("plain")), 4433));
  h.poll();
  const auto sent = h.sent_inside();
  ASSERT_EQ(sent.size(), 1u) << h.counters();
  dataplane::packet::Frame f;
  EXPECT_EQ(udp_payload(sent[0], &f), text("plain"));
  EXPECT_EQ(f.destination_port, 7);
  EXPECT_EQ(h.count(Counter::proxy_headers_sent), 0u);
}

TEST(Backend, SeveralRecordsInOneDatagramEachGetAHeader) {
  Harness h(proxy_config());
  Peer peer("192.0.2.10", 40000);
  // A long certificate subject: the dataplane has a 20-byte prefix.
  const std::string subject = "CN=meter-0001,OU=Field Devices,O=Example Utilities";
  h.install(with_identity(peer, 2, subject, 5684));
  Bytes two = peer.record(text("one"));
  const Bytes second = peer.record(text("two"));
  two.insert(two.end(), second.begin(), second.end());
  h.to_outside(peer.frame(two, 5684));
  h.poll();
  const auto sent = h.sent_inside();
  ASSERT_EQ(sent.size(), 2u) << h.counters();
  const char* expected[] = {"one", "two"};
  for (size_t i = 0; i < 2; ++i) {
    const auto d = delivered(sent[i]);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->payload, text(expected[i]));
    const auto ssl = parse_ssl(*find(d->header.tlvs, 0x20));
    ASSERT_TRUE(ssl);
    EXPECT_EQ(ssl->client, 0x07);
    EXPECT_EQ(ssl->verify, 0u);
    EXPECT_EQ(text(find(ssl->sub, 0x22)), "meter-0001");
    EXPECT_EQ(text(find(d->header.tlvs, 0xE1)), subject.substr(0, 20));
    const Tlv* digest = find(d->header.tlvs, 0xE2);
    ASSERT_NE(digest, nullptr);
    EXPECT_EQ(digest->value[0], 2);
    EXPECT_EQ(digest->value[1], 1);  // truncated
    EXPECT_EQ(size_t{digest->value[2]} << 8 | digest->value[3], subject.size());
    EXPECT_EQ(be64(digest->value.data() + 4),
              contract::identity_hash(subject.data(), subject.size()));
  }
  EXPECT_EQ(h.count(Counter::proxy_header_copies), 2u);
  EXPECT_EQ(h.count(Counter::proxy_headers_sent), 2u);
}

TEST(Backend, RepliesFromTheBackendArePlainDatagramsToThePeer) {
  Harness h(proxy_config());
  Peer peer("192.0.2.10", 40000);
  h.install(with_identity(peer, 1, "sensor-7", 5684));
  h.to_outside(peer.frame(peer.record(text("ping")), 5684));
  h.poll();
  const auto d = delivered(h.sent_inside().at(0));
  ASSERT_TRUE(d);
  // The backend answers to the gateway's inside port, no header.
  h.to_inside(backend_frame(d->frame.source_port, text("pong"), "10.0.0.2", 8));
  h.poll();
  const auto sent = h.sent_outside();
  ASSERT_EQ(sent.size(), 1u) << h.counters();
  const auto opened = peer.open(sent[0]);
  ASSERT_TRUE(opened);
  ASSERT_EQ(opened->size(), 1u);
  EXPECT_EQ((*opened)[0].second, text("pong"));
}

TEST(Backend, SessionRateDropsAndCountsTheExcess) {
  dataplane::Config c = test_config();
  c.listeners[0].session_rate = 1;  // per second (slow: real time cannot refill it)
  c.listeners[0].session_burst = 3;
  Harness h(c);
  Peer a("192.0.2.10", 40000);
  Peer b("192.0.2.11", 40000);
  h.install(a);
  h.install(b);
  for (int i = 0; i < 5; ++i) {
    h.to_outside(a.frame(a.record(text("a"))));
  }
  h.to_outside(b.frame(b.record(text("b"))));  // its own bucket
  h.poll();
  EXPECT_EQ(h.sent_inside().size(), 4u) << h.counters();
  EXPECT_EQ(h.count(Counter::drop_session_rate), 2u);
  // Five seconds later the bucket is full again (3, not 5: its depth).
  h.worker().advance_clock_ms(5000);
  for (int i = 0; i < 5; ++i) {
    h.to_outside(a.frame(a.record(text("a"))));
  }
  h.poll();
  EXPECT_EQ(h.sent_inside().size(), 3u) << h.counters();
  EXPECT_EQ(h.count(Counter::drop_session_rate), 4u);
  // 1/s: a second earns one token.
  h.worker().advance_clock_ms(1000);
  h.to_outside(a.frame(a.record(text("a"))));
  h.to_outside(a.frame(a.record(text("a"))));
  h.poll();
  EXPECT_EQ(h.sent_inside().size(), 1u) << h.counters();
  EXPECT_EQ(h.count(Counter::drop_session_rate), 5u);
  EXPECT_EQ(h.count(Counter::drop_listener_rate), 0u);
}

TEST(Backend, ListenerRateDropsAndCountsTheExcessOverItsSessions) {
  dataplane::Config c = proxy_config();
  c.listeners[0].listener_rate = 1;  // per second, one worker: all of it
  c.listeners[0].listener_burst = 3;
  Harness h(c);
  Peer a("192.0.2.10", 40000);
  Peer b("192.0.2.11", 40000);
  Peer other("192.0.2.12", 40000);
  h.install(a);
  h.install(b);
  h.install(with_identity(other, 1, "x", 5684));  // the other listener
  for (int i = 0; i < 3; ++i) {
    h.to_outside(a.frame(a.record(text("a"))));
    h.to_outside(b.frame(b.record(text("b"))));
    h.to_outside(other.frame(other.record(text("o")), 5684));
  }
  h.poll();
  EXPECT_EQ(h.sent_inside().size(), 3u + 3u) << h.counters();
  EXPECT_EQ(h.count(Counter::drop_listener_rate), 3u);
  h.worker().advance_clock_ms(2000);
  for (int i = 0; i < 3; ++i) {
    h.to_outside(b.frame(b.record(text("b"))));
  }
  h.poll();
  EXPECT_EQ(h.sent_inside().size(), 2u) << h.counters();
  EXPECT_EQ(h.count(Counter::drop_listener_rate), 4u);
  EXPECT_EQ(h.count(Counter::drop_session_rate), 0u);
}

TEST(Backend, ListenerRateIsSplitEvenlyOverTheWorkers) {
  dataplane::Config c = test_config(2);
  c.listeners[0].listener_rate = 4;  // 2/s per worker
  c.listeners[0].listener_burst = 4;  // 2 per worker
  Harness h(c);
  const auto peers = one_peer_per_worker(h);
  for (auto& p : peers) {
    h.install(*p);
  }
  for (int i = 0; i < 4; ++i) {
    h.to_outside(peers[0]->frame(peers[0]->record(text("0"))));
  }
  h.poll();
  EXPECT_EQ(h.sent_inside().size(), 2u) << h.counters();
  EXPECT_EQ(h.worker(0).counters().get(Counter::drop_listener_rate), 2u);
  for (int i = 0; i < 4; ++i) {
    h.to_outside(peers[1]->frame(peers[1]->record(text("1"))));
  }
  h.poll();
  EXPECT_EQ(h.sent_inside().size(), 2u) << h.counters();
  EXPECT_EQ(h.worker(1).counters().get(Counter::drop_listener_rate), 2u);
}

// A datagram from the backend 10.0.0.2:7 to one inside (address, port).
Bytes backend_frame_to(Harness& h, dataplane::Ipv4 to, uint16_t port, const Bytes& payload) {
  dataplane::packet::UdpEndpoints e;
  e.source_mac = kBackendMac;
  e.destination_mac = h.ctx().inside_mac;
  e.source = ip("10.0.0.2");
  e.destination = to;
  e.source_port = 7;
  e.destination_port = port;
  Bytes f(dataplane::packet::udp_headers_length(false) + payload.size());
  std::memcpy(f.data() + dataplane::packet::udp_headers_length(false), payload.data(),
              payload.size());
  dataplane::packet::write_udp_headers(f.data(), e, payload.size(), 1);
  dataplane::packet::set_udp_checksum(f.data() + dataplane::packet::kEthernetHeaderLength);
  return f;
}

TEST(Backend, SourcePoolServesMoreSessionsThanOneAddressHasPorts) {
  dataplane::Config c = test_config();
  c.inside.source_addresses = {dataplane::IpAddress::from(ip("10.0.0.1")),
                               dataplane::IpAddress::from(ip("10.0.0.3"))};
  c.inside.source_port_first = 20000;
  c.inside.source_port_last = 20001;  // 2 ports x 2 addresses: 4 sessions
  Harness h(c);
  std::vector<std::unique_ptr<Peer>> peers;
  for (uint16_t i = 0; i < 5; ++i) {
    peers.push_back(std::make_unique<Peer>("192.0.2.10", static_cast<uint16_t>(40000 + i)));
  }
  for (int i = 0; i < 4; ++i) {
    h.install(*peers[i]);
  }
  ASSERT_EQ(h.dp().sessions().size(), 4u) << h.counters();
  h.install(*peers[4]);
  EXPECT_EQ(h.dp().sessions().size(), 4u);
  EXPECT_EQ(h.count(Counter::source_pool_exhausted), 1u);

  // Each session sends from its own (address, port); the backend's reply
  // to that pair reaches that session's peer and no other.
  std::set<std::pair<uint32_t, uint16_t>> pairs;
  for (int i = 0; i < 4; ++i) {
    h.to_outside(peers[i]->frame(peers[i]->record(text("ping"))));
    h.poll();
    const auto sent = h.sent_inside();
    ASSERT_EQ(sent.size(), 1u) << h.counters();
    dataplane::packet::Frame f;
    ASSERT_TRUE(udp_payload(sent[0], &f));
    EXPECT_TRUE(f.source == ip("10.0.0.1") || f.source == ip("10.0.0.3")) << i;
    EXPECT_TRUE(pairs.insert({f.source.be, f.source_port}).second) << "pair reused: " << i;
    h.to_inside(backend_frame_to(h, f.source, f.source_port, text("pong")));
    h.poll();
    const auto back = h.sent_outside();
    ASSERT_EQ(back.size(), 1u) << h.counters();
    const auto opened = peers[i]->open(back[0]);
    ASSERT_TRUE(opened) << i;
    EXPECT_EQ(opened->at(0).second, text("pong"));
  }
  EXPECT_EQ(pairs.size(), 4u);
  // An address outside the pool is not ours.
  const uint64_t not_ours = h.count(Counter::drop_not_for_us);
  h.to_inside(backend_frame_to(h, ip("10.0.0.9"), 20000, text("pong")));
  h.poll();
  EXPECT_TRUE(h.sent_outside().empty());
  EXPECT_EQ(h.count(Counter::drop_not_for_us), not_ours + 1);

  // ARP: answered for both pool addresses, not for another.
  for (const char* target : {"10.0.0.1", "10.0.0.3", "10.0.0.9"}) {
    uint8_t request[64];
    const size_t n = dataplane::packet::write_arp_request(request, kBackendMac, ip("10.0.0.2"),
                                                          ip(target), false, 0);
    ASSERT_GT(n, 0u);
    h.to_inside(Bytes(request, request + n));
    h.poll();
    const auto replies = h.sent_inside();
    if (std::strcmp(target, "10.0.0.9") == 0) {
      EXPECT_TRUE(replies.empty());
      continue;
    }
    ASSERT_EQ(replies.size(), 1u) << target;
    dataplane::packet::Frame f;
    ASSERT_EQ(dataplane::packet::parse_frame(replies[0], f), dataplane::packet::FrameResult::arp);
    EXPECT_EQ(f.arp.operation, 2);
    EXPECT_EQ(f.arp.sender_ip, ip(target));
    EXPECT_EQ(f.arp.sender_mac, h.ctx().inside_mac);
  }
}

}  // namespace
}  // namespace dtlsgw::test
