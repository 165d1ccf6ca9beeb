// The worker loop in-process on net_ring ports (no NIC, no hugepages):
// records in, plaintext out, and every drop reason on its counter.
#include <gtest/gtest.h>
#include <rte_ring_elem.h>

#include <map>
#include <string>

#include "dataplane/static_keys.h"
#include "tests/dataplane/dataplane_harness.h"

namespace dtlsgw::test {
namespace {

using dataplane::Counter;
using record::ContentType;

Bytes text(const char* s) { return Bytes(s, s + std::strlen(s)); }

TEST(Worker, RecordBecomesPlaintextToTheBackend) {
  Harness h;
  Peer peer("192.0.2.10", 40000);
  h.install(peer);
  ASSERT_EQ(h.dp().sessions().size(), 1u);
  auto events = h.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, contract::EventKind::installed);

  h.to_outside(peer.frame(peer.record(text("GET /hello"))));
  h.poll();
  const auto sent = h.sent_inside();
  ASSERT_EQ(sent.size(), 1u) << h.counters();
  dataplane::packet::Frame f;
  auto payload = udp_payload(sent[0], &f);
  ASSERT_TRUE(payload);
  EXPECT_EQ(*payload, text("GET /hello"));
  EXPECT_EQ(f.source, ip("10.0.0.1"));
  EXPECT_EQ(f.destination, ip("10.0.0.2"));
  EXPECT_EQ(f.destination_port, 7);
  EXPECT_EQ(f.destination_mac, kBackendMac);
  EXPECT_GE(f.source_port, 20000);
  EXPECT_LE(f.source_port, 59999);
  EXPECT_EQ(h.count(Counter::records_decrypted), 1u);
  EXPECT_EQ(h.count(Counter::plaintext_forwarded), 1u);
}

TEST(Worker, BackendReplyIsSealedToThePeer) {
  Harness h;
  Peer peer("192.0.2.10", 40000);
  h.install(peer, 5);
  h.to_outside(peer.frame(peer.record(text("ping"))));
  h.poll();
  dataplane::packet::Frame f;
  ASSERT_TRUE(udp_payload(h.sent_inside().at(0), &f));
  const uint16_t gateway_port = f.source_port;

  h.to_inside(backend_frame(gateway_port, text("pong")));
  h.poll();
  const auto sent = h.sent_outside();
  ASSERT_EQ(sent.size(), 1u);
  auto opened = peer.open(sent[0]);
  ASSERT_TRUE(opened);
  ASSERT_EQ(opened->size(), 1u);
  EXPECT_EQ((*opened)[0].first, ContentType::application_data);
  EXPECT_EQ((*opened)[0].second, text("pong"));
  // The first number the dataplane writes is the handover's, never below.
  auto payload = udp_payload(sent[0]);
  EXPECT_EQ((*payload)[3], 0);
  EXPECT_EQ((*payload)[4], 1);  // epoch 1
  EXPECT_EQ((*payload)[10], 5);  // sequence 5
  EXPECT_EQ(h.count(Counter::records_encrypted), 1u);
}

TEST(Worker, ReplayedRecordIsDroppedAlsoTwiceInOneBurst) {
  Harness h;
  Peer peer("192.0.2.10", 40000);
  h.install(peer);
  const Bytes frame = peer.frame(peer.record(text("once")));
  h.to_outside(frame);
  h.to_outside(frame);  // same burst
  h.poll();
  h.to_outside(frame);  // a later burst
  h.poll();
  EXPECT_EQ(h.sent_inside().size(), 1u);
  EXPECT_EQ(h.count(Counter::drop_replay), 2u);
  // The handshake's own record (client Finished, seq 0) was seeded.
  h.to_outside(peer.frame(peer.record(text("x"), ContentType::application_data, 0)));
  h.poll();
  EXPECT_EQ(h.count(Counter::drop_replay), 3u);
  EXPECT_TRUE(h.sent_inside().empty());
}

// The sessions' replay words share one array, two or more windows to a
// cache line (SessionTable): each session's window is its own. (A record
// number below a window's top is the one that reads its words.)
TEST(Worker, NeighbouringSessionsHaveTheirOwnReplayWindows) {
  Harness h;
  Peer a("192.0.2.10", 40000);
  Peer b("192.0.2.11", 40001);
  Peer c("192.0.2.12", 40002);
  h.install(a);
  h.install(b);
  h.install(c);
  auto send = [&](Peer& p, uint64_t sequence) {
    h.to_outside(p.frame(p.record(text("data"), ContentType::application_data, sequence)));
    h.poll();
    return h.sent_inside().size();
  };
  // The same numbers from each, the lower one late: all fresh.
  for (Peer* p : {&a, &b, &c}) {
    EXPECT_EQ(send(*p, 10), 1u);
    EXPECT_EQ(send(*p, 3), 1u) << h.counters();
  }
  EXPECT_EQ(h.count(Counter::drop_replay), 0u);
  // Replayed to one of them: that one remembers it; the others' late
  // numbers are still fresh.
  EXPECT_EQ(send(b, 3), 0u);
  EXPECT_EQ(h.count(Counter::drop_replay), 1u);
  EXPECT_EQ(send(a, 4), 1u);
  EXPECT_EQ(send(c, 5), 1u);
}

TEST(Worker, TamperedRecordIsCountedAndNotForwarded) {
  Harness h;
  Peer peer("192.0.2.10", 40000);
  h.install(peer);
  Bytes record = peer.record(text("secret data"));
  // Every byte the AEAD covers: type, version, epoch and sequence (the
  // additional data), explicit nonce, ciphertext and tag. (The length
  // field is framing: changing it fails the walk, counted elsewhere.)
  size_t variants = 0;
  for (size_t i = 0; i < record.size(); ++i) {
    if (i == 11 || i == 12) {
      continue;
    }
    Bytes bad = record;
    bad[i] ^= 0x01;
    h.to_outside(peer.frame(bad));
    ++variants;
    h.poll(1);
  }
  EXPECT_TRUE(h.sent_inside().empty());
  // A flipped version or content type may also be refused before the AEAD
  // (unknown version or type), and a flipped epoch is the wrong epoch.
  EXPECT_EQ(h.count(Counter::drop_auth_failed) + h.count(Counter::drop_bad_record_header) +
                h.count(Counter::drop_wrong_epoch) + h.count(Counter::drop_record_malformed) +
                h.count(Counter::drop_epoch0_established) + h.count(Counter::drop_replay),
            variants)
      << h.counters();
  EXPECT_GE(h.count(Counter::drop_auth_failed), variants - 5);
  // The window is untouched: the genuine record still opens.
  h.to_outside(peer.frame(record));
  h.poll();
  EXPECT_EQ(h.sent_inside().size(), 1u);
}

TEST(Worker, UnknownSessionWrongEpochTruncatedAndGarbage) {
  Harness h;
  Peer peer("192.0.2.10", 40000);
  Peer stranger("192.0.2.99", 40000);
  h.install(peer);
  h.to_outside(stranger.frame(stranger.record(text("who"))));
  h.to_outside(peer.frame(peer.record_in_epoch(2, text("future"))));
  Bytes truncated = peer.record(text("cut"));
  truncated.resize(truncated.size() - 5);
  h.to_outside(peer.frame(truncated));
  h.to_outside(peer.frame(text("this is not DTLS at all")));
  Bytes short_frame = peer.frame(peer.record(text("x")));
  short_frame.resize(30);
  h.to_outside(short_frame);
  h.to_outside(peer.frame(peer.record(text("wrong port")), 9999));
  h.poll(3);
  EXPECT_TRUE(h.sent_inside().empty());
  EXPECT_EQ(h.count(Counter::drop_unknown_session), 1u);
  EXPECT_EQ(h.count(Counter::drop_wrong_epoch), 1u);
  EXPECT_EQ(h.count(Counter::drop_bad_record_header), 2u);  // truncated, garbage
  EXPECT_EQ(h.count(Counter::drop_malformed_frame), 1u);
  EXPECT_EQ(h.count(Counter::drop_not_for_us), 1u);
}

TEST(Worker, BackendDatagramForNoSessionIsDropped) {
  Harness h;
  h.to_inside(backend_frame(20000, text("orphan")));
  h.to_inside(backend_frame(80, text("not a session port")));
  h.poll();
  EXPECT_TRUE(h.sent_outside().empty());
  EXPECT_EQ(h.count(Counter::drop_unknown_session), 1u);
  EXPECT_EQ(h.count(Counter::drop_not_for_us), 1u);
}

TEST(Worker, HandOffToTheOwningWorker) {
  Harness h(test_config(2));
  // Find peers owned by each worker.
  std::vector<std::unique_ptr<Peer>> peers;
  for (uint16_t port = 40000; peers.size() < 8; ++port) {
    peers.push_back(std::make_unique<Peer>("192.0.2.10", port));
  }
  for (auto& p : peers) {
    h.install(*p);
  }
  unsigned owned_by_1 = 0;
  for (auto& p : peers) {
    owned_by_1 += h.ctx().owner_of(p->flow());
  }
  ASSERT_GT(owned_by_1, 0u);
  ASSERT_LT(owned_by_1, peers.size());
  // Everything arrives on queue 0 (worker 0): worker 1's flows are handed
  // to it, both directions.
  for (auto& p : peers) {
    h.to_outside(p->frame(p->record(text("hello"))), 0);
  }
  h.poll(3);
  const auto inside = h.sent_inside();
  EXPECT_EQ(inside.size(), peers.size());
  EXPECT_EQ(h.count(Counter::handoff_sent), owned_by_1);
  EXPECT_EQ(h.count(Counter::handoff_received), owned_by_1);
  EXPECT_EQ(h.dp().context().counters[1].get(Counter::records_decrypted), owned_by_1);
  for (const Bytes& f : inside) {
    dataplane::packet::Frame parsed;
    ASSERT_TRUE(udp_payload(f, &parsed));
    h.to_inside(backend_frame(parsed.source_port, text("reply")), 0);
  }
  h.poll(3);
  const auto outside = h.sent_outside();
  EXPECT_EQ(outside.size(), peers.size());
  EXPECT_EQ(h.count(Counter::handoff_sent), 2 * owned_by_1);
}

// What a worker hands a bulk lookup: pointers to the keys, and their table
// hashes as it computes them while parsing (SessionTable::hash_of).
template <typename Key>
struct BulkKeys {
  explicit BulkKeys(const std::vector<Key>& keys) {
    for (const Key& k : keys) {
      pointers.push_back(&k);
      hashes.push_back(dataplane::SessionTable::hash_of(k));
    }
  }
  std::vector<const Key*> pointers;
  std::vector<uint32_t> hashes;
};

// The bulk lookups' answers, hits and misses, must be those of the plain
// lookups, for both tables.
TEST(Worker, BulkLookupsWithPrecomputedHashesMatchPlainLookups) {
  Harness h;
  std::vector<std::unique_ptr<Peer>> peers;
  for (uint16_t port = 40000; peers.size() < 40; ++port) {
    peers.push_back(std::make_unique<Peer>("192.0.2.10", port));
  }
  for (size_t i = 0; i < peers.size(); i += 2) {
    h.install(*peers[i]);  // every other one: the rest are misses
  }
  const dataplane::SessionTable& table = h.dp().sessions();
  std::vector<contract::FlowKey> flows;
  for (const auto& p : peers) {
    flows.push_back(p->flow());
  }
  const BulkKeys<contract::FlowKey> flow_keys(flows);
  std::vector<dataplane::Session*> found(flows.size());
  table.find_bulk(flow_keys.pointers.data(), flow_keys.hashes.data(),
                  static_cast<unsigned>(flows.size()), found.data());
  std::vector<dataplane::InsideKey> inside;
  for (size_t i = 0; i < flows.size(); ++i) {
    EXPECT_EQ(found[i], table.find(flows[i])) << i;
    EXPECT_EQ(found[i] != nullptr, i % 2 == 0) << i;
    if (found[i] != nullptr) {
      inside.push_back(found[i]->inside);
      dataplane::InsideKey absent = found[i]->inside;
      absent.local_port = static_cast<uint16_t>(absent.local_port ^ 0x8000);
      inside.push_back(absent);
    }
  }
  const BulkKeys<dataplane::InsideKey> inside_keys(inside);
  std::vector<dataplane::Session*> found_inside(inside.size());
  table.find_inside_bulk(inside_keys.pointers.data(), inside_keys.hashes.data(),
                         static_cast<unsigned>(inside.size()), found_inside.data());
  for (size_t i = 0; i < inside.size(); ++i) {
    EXPECT_EQ(found_inside[i], table.find_inside(inside[i])) << i;
    EXPECT_EQ(found_inside[i] != nullptr, i % 2 == 0) << i;
  }
}

// The frames of one flow in a row share one lookup (worker_outside.cc,
// worker_inside.cc). Runs broken by another flow, by a flow with no
// session and by the same address on another port still give each frame
// its own flow's session, both directions. Each peer has its own keys, so
// a record given the wrong session fails its tag, or its peer's open.
TEST(Worker, RunsOfOneFlowInABurstShareALookup) {
  Harness h;
  Peer a("192.0.2.10", 40000, record::Aead::aes128_gcm, 1);
  Peer b("192.0.2.11", 40000, record::Aead::aes128_gcm, 2);
  Peer c("192.0.2.10", 40001, record::Aead::aes128_gcm, 3);  // a's address
  Peer stranger("192.0.2.12", 40000, record::Aead::aes128_gcm, 4);  // no session
  h.install(a);
  h.install(b);
  h.install(c);
  std::map<char, Peer*> peers = {{'a', &a}, {'b', &b}, {'c', &c}, {'s', &stranger}};
  const std::string outside_order = "aababssacc";
  for (char who : outside_order) {
    Peer& p = *peers[who];
    h.to_outside(p.frame(p.record(Bytes{static_cast<uint8_t>(who)})));
  }
  h.poll();
  // Every frame of a, b and c opened, each flow from its own inside port.
  const auto inside = h.sent_inside();
  ASSERT_EQ(inside.size(), outside_order.size() - 2) << h.counters();
  EXPECT_EQ(h.count(Counter::drop_unknown_session), 2u);
  EXPECT_EQ(h.count(Counter::drop_auth_failed), 0u);
  std::map<char, uint16_t> gateway_port;
  std::string opened;
  for (const Bytes& f : inside) {
    dataplane::packet::Frame parsed;
    const auto payload = udp_payload(f, &parsed);
    ASSERT_TRUE(payload);
    ASSERT_EQ(payload->size(), 1u);
    const char who = static_cast<char>((*payload)[0]);
    opened += who;
    const auto [at, first] = gateway_port.emplace(who, parsed.source_port);
    EXPECT_EQ(at->second, parsed.source_port) << who;
  }
  EXPECT_EQ(opened, "aababacc");
  ASSERT_EQ(gateway_port.size(), 3u);
  EXPECT_NE(gateway_port['a'], gateway_port['b']);
  EXPECT_NE(gateway_port['a'], gateway_port['c']);
  EXPECT_NE(gateway_port['b'], gateway_port['c']);

  // Backend replies in runs: each is sealed under its own peer's keys
  // and sent to that peer.
  const std::string inside_order = "aabbacca";
  for (char who : inside_order) {
    h.to_inside(backend_frame(gateway_port[who], Bytes{static_cast<uint8_t>(who)}));
  }
  h.poll();
  const auto outside = h.sent_outside();
  ASSERT_EQ(outside.size(), inside_order.size()) << h.counters();
  for (size_t i = 0; i < outside.size(); ++i) {
    const char who = inside_order[i];
    const auto records = peers[who]->open(outside[i]);
    ASSERT_TRUE(records) << i << " " << who;
    ASSERT_EQ(records->size(), 1u);
    EXPECT_EQ((*records)[0].second, Bytes{static_cast<uint8_t>(who)}) << i;
  }
}

// Rx checksum offload: a frame the device marks bad is dropped and
// counted, both ports; one whose IPv4 header it marks good is not summed
// again (here its checksum is wrong, which only the device's word covers).
// An IPv4 UDP checksum of zero is no checksum (RFC 768): a device calling
// it bad does not drop the datagram.
TEST(Worker, DeviceChecksumVerdictsAreHonoured) {
  Harness h;
  Peer peer("192.0.2.10", 40000);
  h.install(peer);
  auto broken_header = [](Bytes f) {
    f[14 + 10] ^= 0x5a;  // the IPv4 header checksum
    return f;
  };
  const Bytes first = peer.frame(peer.record(text("first")));
  h.to_outside(first, 0, RTE_MBUF_F_RX_IP_CKSUM_BAD);
  h.to_outside(peer.frame(peer.record(text("second"))), 0, RTE_MBUF_F_RX_L4_CKSUM_BAD);
  h.poll();
  EXPECT_TRUE(h.sent_inside().empty());
  EXPECT_EQ(h.count(Counter::drop_bad_checksum), 2u);
  // Software finds the broken header; the device's word lets it through.
  h.to_outside(broken_header(peer.frame(peer.record(text("third")))));
  h.poll();
  EXPECT_TRUE(h.sent_inside().empty());
  EXPECT_EQ(h.count(Counter::drop_malformed_frame), 1u);
  h.to_outside(broken_header(first), 0, RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD);
  Bytes unsummed = peer.frame(peer.record(text("fourth")));
  unsummed[14 + 20 + 6] = 0;  // the UDP checksum: none
  unsummed[14 + 20 + 7] = 0;
  h.to_outside(unsummed, 0, RTE_MBUF_F_RX_L4_CKSUM_BAD);
  h.poll();
  const auto sent = h.sent_inside();
  ASSERT_EQ(sent.size(), 2u) << h.counters();
  EXPECT_EQ(*udp_payload(sent[0]), text("first"));
  EXPECT_EQ(*udp_payload(sent[1]), text("fourth"));
  EXPECT_EQ(h.count(Counter::drop_bad_checksum), 2u);
  // The inside port: the backend's datagram marked bad is not sealed; one
  // without a checksum is, whatever the device says.
  dataplane::packet::Frame f;
  ASSERT_TRUE(udp_payload(sent[0], &f));
  Bytes summed = backend_frame(f.source_port, text("bad"));
  dataplane::packet::set_udp_checksum(summed.data() + 14);
  h.to_inside(summed, 0, RTE_MBUF_F_RX_L4_CKSUM_BAD);
  h.to_inside(backend_frame(f.source_port, text("unsummed")), 0, RTE_MBUF_F_RX_L4_CKSUM_BAD);
  h.to_inside(backend_frame(f.source_port, text("good")), 0, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
  h.poll();
  const auto out = h.sent_outside();
  ASSERT_EQ(out.size(), 2u) << h.counters();
  EXPECT_EQ((*peer.open(out[0]))[0].second, text("unsummed"));
  EXPECT_EQ((*peer.open(out[1]))[0].second, text("good"));
  EXPECT_EQ(h.count(Counter::drop_bad_checksum), 3u);
}

TEST(Worker, AlertsBecomeEventsAndCloseNotifyClosesTheSession) {
  Harness h;
  Peer peer("192.0.2.10", 40000);
  h.install(peer);
  h.events();
  h.to_outside(peer.frame(peer.record({1, 0}, ContentType::alert)));  // close_notify
  h.poll();
  EXPECT_EQ(h.dp().sessions().size(), 0u);
  auto events = h.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, contract::EventKind::alert);
  EXPECT_EQ(events[0].detail, 0x0100);
  EXPECT_EQ(events[1].kind, contract::EventKind::closed);
  EXPECT_EQ(events[1].detail, static_cast<uint16_t>(contract::ClosedBy::peer_close_notify));
  // Our close_notify went back, sealed.
  const auto sent = h.sent_outside();
  ASSERT_EQ(sent.size(), 1u);
  auto opened = peer.open(sent[0]);
  ASSERT_TRUE(opened);
  EXPECT_EQ((*opened)[0].first, ContentType::alert);
  EXPECT_EQ((*opened)[0].second, (Bytes{1, 0}));
  // Then its records are unknown.
  h.to_outside(peer.frame(peer.record(text("late"))));
  h.poll();
  EXPECT_EQ(h.count(Counter::drop_unknown_session), 1u);
}

TEST(Worker, HandoverSendsTheFinalFlightOnlyAfterInstallingAndResendsIt) {
  Harness h;
  Peer peer("192.0.2.10", 40000);
  contract::KeysSlot slot;
  slot.install = peer.install_message(3);
  const Bytes flight = text("final flight bytes");
  rte_mbuf* m = rte_pktmbuf_alloc(rte_mempool_lookup(contract::kCtlTxPoolName));
  ASSERT_NE(m, nullptr);
  std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(flight.size())), flight.data(),
              flight.size());
  slot.install.final_flight_count = 1;
  slot.install.final_flight[0] = m;
  ASSERT_EQ(rte_ring_enqueue_elem(h.ctx().keys[0], &slot, sizeof(slot)), 0);
  EXPECT_TRUE(h.sent_outside().empty());  // nothing before the worker installs
  h.poll(1);
  ASSERT_EQ(h.dp().sessions().size(), 1u);
  auto sent = h.sent_outside();
  ASSERT_EQ(sent.size(), 1u) << h.counters();
  EXPECT_EQ(*udp_payload(sent[0]), flight);
  // A retransmitted client Finished (epoch 1) gets the same bytes again,
  // at most once per final_flight_interval (counted from the first send:
  // the client's own timer is at least that long).
  h.worker().advance_clock_ms(1100);
  const Bytes finished = {20, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                          11, 12};
  h.to_outside(peer.frame(peer.record(finished, ContentType::handshake)));
  h.to_outside(peer.frame(peer.record(finished, ContentType::handshake)));
  h.poll();
  sent = h.sent_outside();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(*udp_payload(sent[0]), flight);
  EXPECT_EQ(h.count(Counter::final_flight_resent), 1u);
  EXPECT_EQ(h.count(Counter::final_flight_rate_limited), 1u);
  // Application data proves the flight arrived: no more resends.
  h.to_outside(peer.frame(peer.record(text("data"))));
  h.worker().advance_clock_ms(5000);
  h.to_outside(peer.frame(peer.record(finished, ContentType::handshake)));
  h.poll();
  EXPECT_TRUE(h.sent_outside().empty());
}

TEST(Worker, InstallMessagesAreCheckedBeforeUse) {
  Harness h;
  Peer peer("192.0.2.10", 40000);
  contract::KeysSlot slot;
  slot.install = peer.install_message();
  slot.install.header.version = 99;
  ASSERT_EQ(rte_ring_enqueue_elem(h.ctx().keys[0], &slot, sizeof(slot)), 0);
  slot.install = peer.install_message();
  slot.install.key_length = 7;
  ASSERT_EQ(rte_ring_enqueue_elem(h.ctx().keys[0], &slot, sizeof(slot)), 0);
  slot.install = peer.install_message();
  slot.install.final_flight_count = 1000;
  ASSERT_EQ(rte_ring_enqueue_elem(h.ctx().keys[0], &slot, sizeof(slot)), 0);
  slot.install = peer.install_message();
  slot.install.flow.listener_port = 1;
  ASSERT_EQ(rte_ring_enqueue_elem(h.ctx().keys[0], &slot, sizeof(slot)), 0);
  h.poll();
  EXPECT_EQ(h.dp().sessions().size(), 0u);
  EXPECT_EQ(h.count(Counter::keys_bad_message), 4u);
}

TEST(Worker, IdleSessionsAreClosed) {
  dataplane::Config c = test_config();
  c.idle_timeout = std::chrono::milliseconds(10'000);
  Harness h(c);
  Peer peer("192.0.2.10", 40000);
  h.install(peer);
  h.events();
  h.worker().advance_clock_ms(9'000);
  for (int ms = 0; ms < 8; ++ms) {  // the sweep covers 256 slots per ms of clock
    h.worker().advance_clock_ms(1);
    h.poll(1);
  }
  EXPECT_EQ(h.dp().sessions().size(), 1u);  // not idle long enough yet
  h.worker().advance_clock_ms(3'000);
  for (int ms = 0; ms < 8; ++ms) {
    h.worker().advance_clock_ms(1);
    h.poll(1);
  }
  EXPECT_EQ(h.dp().sessions().size(), 0u);
  auto events = h.events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().kind, contract::EventKind::closed);
  EXPECT_EQ(events.back().detail, static_cast<uint16_t>(contract::ClosedBy::idle));
}

// Each worker sweeps only its own sessions (the slot's live mark names the
// owner): another worker's clock running past the idle timeout closes
// nothing of its peers.
TEST(Worker, IdleSweepClosesOnlyTheWorkersOwnSessions) {
  dataplane::Config c = test_config(2);
  c.idle_timeout = std::chrono::milliseconds(10'000);
  Harness h(c);
  const auto peers = one_peer_per_worker(h);
  for (auto& p : peers) {
    h.install(*p);
  }
  ASSERT_EQ(h.dp().sessions().size(), 2u);
  h.events();
  auto sweep = [&](unsigned w) {
    h.worker(w).advance_clock_ms(11'000);
    for (int ms = 0; ms < 8; ++ms) {  // 256 slots per ms of clock
      h.worker(w).advance_clock_ms(1);
      h.worker(w).poll();
    }
  };
  sweep(1);
  auto events = h.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, contract::EventKind::closed);
  EXPECT_EQ(events[0].flow, peers[1]->flow());
  EXPECT_EQ(h.dp().sessions().size(), 1u);
  // Worker 0's session still carries traffic, then goes the same way.
  h.to_outside(peers[0]->frame(peers[0]->record(text("still here"))));
  h.poll();
  EXPECT_EQ(h.sent_inside().size(), 1u) << h.counters();
  sweep(0);
  EXPECT_EQ(h.dp().sessions().size(), 0u);
}

TEST(Worker, ArpForTheGatewayAddressesIsAnswered) {
  Harness h;
  uint8_t request[64];
  const size_t n = dataplane::packet::write_arp_request(request, kPeerMac, ip("192.0.2.10"),
                                                        ip("192.0.2.1"), false, 0);
  ASSERT_GT(n, 0u);
  h.to_outside(Bytes(request, request + n));
  const size_t m = dataplane::packet::write_arp_request(request, kPeerMac, ip("192.0.2.10"),
                                                        ip("192.0.2.77"), false, 0);
  h.to_outside(Bytes(request, request + m));
  h.poll();
  const auto sent = h.sent_outside();
  ASSERT_EQ(sent.size(), 1u);
  dataplane::packet::Frame f;
  ASSERT_EQ(dataplane::packet::parse_frame(sent[0], f), dataplane::packet::FrameResult::arp);
  EXPECT_EQ(f.arp.operation, 2);
  EXPECT_EQ(f.arp.sender_ip, ip("192.0.2.1"));
  EXPECT_EQ(f.arp.sender_mac, h.ctx().outside_mac);
  EXPECT_EQ(f.destination_mac, kPeerMac);
  EXPECT_EQ(h.count(Counter::arp_replies_sent), 1u);
}

TEST(Worker, Ccm8ForgeriesRaiseAnAlarmAndAreRateLimitedWithoutClosing) {
  Harness h;
  Peer peer("192.0.2.10", 40000, record::Aead::aes128_ccm8);
  h.install(peer);
  h.events();
  const Bytes genuine = peer.record(text("still here"));
  for (uint64_t i = 0; i < record::kDefaultCcm8ForgeryAlarm; ++i) {
    Bytes forged = peer.record(text("forged"));
    forged.back() ^= 0x80;
    h.to_outside(peer.frame(forged));
    h.poll(1);
  }
  EXPECT_EQ(h.count(Counter::ccm8_forgery_alarms), 1u) << h.counters();
  auto events = h.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, contract::EventKind::limit);
  EXPECT_EQ(events[0].detail, 2);
  // Under alarm, records wait out the hold: not even tried...
  h.to_outside(peer.frame(genuine));
  h.poll();
  EXPECT_EQ(h.count(Counter::drop_forgery_hold), 1u);
  EXPECT_TRUE(h.sent_inside().empty());
  // ...and after it, the session (never closed) carries data again.
  EXPECT_EQ(h.dp().sessions().size(), 1u);
  h.worker().advance_clock_ms(200);
  h.to_outside(peer.frame(peer.record(text("after the hold"))));
  h.poll();
  EXPECT_EQ(h.sent_inside().size(), 1u);
}

TEST(Worker, ConfirmationsKeepTheirReservedEventSlots) {
  Harness h;
  Peer peer("192.0.2.10", 40000);
  h.install(peer);
  h.events();
  // Alerts fill the events ring up to its reserve, then are dropped...
  const unsigned capacity = rte_ring_get_capacity(h.ctx().events);
  unsigned sent = 0;
  while (h.count(Counter::event_ring_reserved) == 0 && sent < capacity) {
    for (int i = 0; i < 16; ++i, ++sent) {
      h.to_outside(peer.frame(peer.record({1, 90}, ContentType::alert)));  // user_canceled
    }
    h.poll(1);
  }
  EXPECT_GT(h.count(Counter::event_ring_reserved), 0u);
  EXPECT_EQ(h.count(Counter::event_ring_full), 0u);
  // ...while a handover still gets its confirmation.
  Peer second("192.0.2.11", 40000);
  h.install(second);
  EXPECT_EQ(h.dp().sessions().size(), 2u);
  auto events = h.events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().kind, contract::EventKind::installed);
  EXPECT_EQ(events.back().flow, second.flow());
}

TEST(Worker, StaticKeysOnlyInABenchmarkBuild) {
  init_eal();
  const std::string path = ::testing::TempDir() + "static_keys.txt";
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fprintf(f, "sessions count=100 first_peer=198.18.0.1:10000 ports_per_address=10 "
                  "listener=4433 suite=aes128_gcm seed=%s\n",
               std::string(64, 'a').c_str());
  std::fclose(f);
  dataplane::Config c = test_config();
  c.static_keys = path;
  std::string error;
  EXPECT_EQ(dataplane::Dataplane::create(c, {}, error), nullptr);
  EXPECT_NE(error.find("benchmark build"), std::string::npos) << error;

  dataplane::Dataplane::Options options;
  options.allow_static_keys = true;
  auto dp = dataplane::Dataplane::create(c, options, error);
  ASSERT_NE(dp, nullptr) << error;
  EXPECT_EQ(dp->sessions().size(), 100u);
  // Session 37 (198.18.0.4:10007) has the derived keys.
  auto keys = dataplane::StaticKeys::load(path, error);
  ASSERT_TRUE(keys);
  dataplane::StaticSession s;
  keys->session(37, s);
  EXPECT_EQ(s.peer, ip("198.18.0.4"));
  EXPECT_EQ(s.peer_port, 10007);
  EXPECT_NE(dp->sessions().find(contract::FlowKey::v4(s.peer.be, s.peer_port, 4433)), nullptr);
  dp.reset();

  // The relaxed replay window for looped pcaps does not exist outside a
  // benchmark build, even where static keys are allowed.
  c.relaxed_replay = true;
  EXPECT_EQ(dataplane::Dataplane::create(c, options, error), nullptr);
  EXPECT_NE(error.find("relaxed_replay: this is not a benchmark build"), std::string::npos)
      << error;
}

TEST(Worker, CloseByIdentityClosesEverySessionOfThatIdentity) {
  Harness h;
  const char* revoked = "device-0001-with-a-long-psk-identity";
  Peer a("192.0.2.10", 40000), b("192.0.2.11", 40000), c("192.0.2.12", 40000);
  for (Peer* p : {&a, &b, &c}) {
    contract::KeysSlot slot;
    slot.install = p->install_message();
    const char* name = p == &c ? "device-0002" : revoked;
    slot.install.identity = contract::make_identity(1, name, std::strlen(name));
    ASSERT_EQ(rte_ring_enqueue_elem(h.ctx().keys[0], &slot, sizeof(slot)), 0);
  }
  h.poll(1);
  ASSERT_EQ(h.dp().sessions().size(), 3u);
  contract::KeysSlot slot;
  slot.close = contract::CloseMessage();
  slot.close.reason = static_cast<uint16_t>(contract::CloseReason::identity_revoked);
  slot.close.flags = contract::kCloseByIdentity;
  slot.close.identity = contract::make_identity(1, revoked, std::strlen(revoked));
  ASSERT_EQ(rte_ring_enqueue_elem(h.ctx().keys[0], &slot, sizeof(slot)), 0);
  h.poll(1);
  EXPECT_EQ(h.dp().sessions().size(), 1u);
  EXPECT_NE(h.dp().sessions().find(c.flow()), nullptr);
  EXPECT_EQ(h.sent_outside().size(), 2u);  // two close_notify alerts
  unsigned revoked_events = 0;
  for (const auto& e : h.events()) {
    revoked_events += e.kind == contract::EventKind::closed &&
                      e.detail == static_cast<uint16_t>(contract::ClosedBy::identity_revoked);
  }
  EXPECT_EQ(revoked_events, 2u);
}

}  // namespace
}  // namespace dtlsgw::test
