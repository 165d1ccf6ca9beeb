// What the dataplane sends to the control process, and what it refuses to
// (DESIGN.md, "Data path" step 4): only ClientHellos with a valid cookie and
// the epoch-0 records of flows with a handshake in progress are punted,
// through a per-worker token bucket, dropping and counting when the bucket
// is empty or the punt ring is full, never blocking. A wrong cookie gets a
// new HelloVerifyRequest (RFC 6347 §4.2.1), never a punt.
#include <gtest/gtest.h>
#include <rte_mempool.h>

#include "tests/dataplane/dataplane_control.h"

namespace dtlsgw::test {
namespace {

using dataplane::Counter;

unsigned punt_pool_in_use() {
  return rte_mempool_in_use_count(rte_mempool_lookup(contract::kPuntPoolName));
}

void free_punts(std::vector<contract::PuntMessage> punts) {
  for (auto& p : punts) {
    rte_pktmbuf_free(p.datagram);
  }
}

// A cookie ClientHello made by a real client against the dataplane's
// HelloVerifyRequest (then the HVR counter is 1).
Bytes cookie_hello(Harness& h, const Peer& wire) {
  hst::TestClient client(hst::ClientOptions{}, hst::server_address());
  return cookie_exchange_through(h, wire, client);
}

// An epoch-0 ChangeCipherSpec record (RFC 5246 §7.1): the kind of
// handshake record that follows a ClientHello.
Bytes change_cipher_spec(uint8_t sequence = 2) {
  return {20, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, sequence, 0, 1, 1};
}

TEST(Punt, TokenBucketPuntsOnlyItsDepth) {
  dataplane::Config c = test_config();
  c.punt_rate = 1;  // per second: nothing refills while the test runs
  c.punt_burst = 4;
  Harness h(c);
  const Peer wire("192.0.2.10", 40000);
  const Bytes hello = cookie_hello(h, wire);
  ASSERT_FALSE(hello.empty());
  // A client retransmitting its cookie ClientHello ten times at once.
  for (int i = 0; i < 10; ++i) {
    h.to_outside(wire.frame(hello));
  }
  h.poll();
  EXPECT_EQ(h.count(Counter::punted), 4u) << h.counters();
  EXPECT_EQ(h.count(Counter::punt_rate_limited), 6u);
  const auto punts = h.punts();
  ASSERT_EQ(punts.size(), 4u);
  for (const auto& p : punts) {
    EXPECT_EQ(p.flags, contract::kPuntCookieVerified);
    EXPECT_EQ(p.flow, wire.flow());
    EXPECT_EQ(*udp_payload(wire.frame(hello)),
              Bytes(rte_pktmbuf_mtod(p.datagram, uint8_t*),
                    rte_pktmbuf_mtod(p.datagram, uint8_t*) + rte_pktmbuf_data_len(p.datagram)));
  }
  free_punts(punts);
  EXPECT_EQ(h.worker().pending_handshakes(), 1u) << "one flow, one entry";
  // The rest of the handshake shares the bucket.
  h.to_outside(wire.frame(change_cipher_spec()));
  h.poll();
  EXPECT_EQ(h.count(Counter::punt_rate_limited), 7u);
  EXPECT_TRUE(h.punts().empty());
  // The stateless HelloVerifyRequest does not: it is never rate limited
  // by the punt bucket.
  const Peer other("192.0.2.11", 40000);
  EXPECT_FALSE(cookie_hello(h, other).empty());
  EXPECT_EQ(punt_pool_in_use(), 0u) << "refused punts leave no mbuf behind";
}

TEST(Punt, FullPuntRingDropsAndCountsWithoutBlocking) {
  dataplane::Config c = test_config();
  c.punt_rate = 1'000'000;
  c.punt_burst = 100'000;
  Harness h(c);
  const Peer wire("192.0.2.10", 40000);
  const Bytes hello = cookie_hello(h, wire);
  ASSERT_FALSE(hello.empty());
  const Bytes frame = wire.frame(hello);
  // The control process is not dequeuing: 4096 slots, then 10 more.
  constexpr unsigned kRing = 4096;
  constexpr unsigned kExtra = 10;
  unsigned sent = 0;
  while (sent < kRing + kExtra) {
    const unsigned chunk = std::min(512u, kRing + kExtra - sent);
    for (unsigned i = 0; i < chunk; ++i) {
      h.to_outside(frame);
    }
    sent += chunk;
    h.poll(chunk / 32 + 2);
  }
  EXPECT_EQ(h.count(Counter::rx_packets), kRing + kExtra + 1);  // and the first ClientHello
  EXPECT_EQ(h.count(Counter::punted), kRing) << h.counters();
  EXPECT_EQ(h.count(Counter::punt_ring_full), kExtra);
  EXPECT_EQ(punt_pool_in_use(), kRing) << "the refused copies went back to the pool";
  // Still answering: a new peer's ClientHello gets its HelloVerifyRequest.
  const Peer other("192.0.2.11", 40000);
  EXPECT_FALSE(cookie_hello(h, other).empty());
  auto punts = h.punts();
  EXPECT_EQ(punts.size(), kRing);
  free_punts(std::move(punts));
  EXPECT_EQ(punt_pool_in_use(), 0u);
  // Once drained, punting resumes.
  h.to_outside(frame);
  h.poll();
  EXPECT_EQ(h.count(Counter::punted), kRing + 1);
  free_punts(h.punts());
}

TEST(Punt, HandshakePendingTable) {
  Harness h;
  const Peer wire("192.0.2.10", 40000);
  const Peer neighbour("192.0.2.10", 40001);
  // Before any cookie ClientHello the flow is unknown: its epoch-0
  // records and epoch-1 records are dropped, not punted.
  h.to_outside(wire.frame(change_cipher_spec()));
  h.to_outside(wire.frame(Bytes{23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 0, 2, 0xaa, 0xbb}));
  h.poll();
  EXPECT_TRUE(h.punts().empty());
  EXPECT_EQ(h.count(Counter::drop_unknown_session), 2u) << h.counters();
  EXPECT_EQ(h.worker().pending_handshakes(), 0u);

  const Bytes hello = cookie_hello(h, wire);
  ASSERT_FALSE(hello.empty());
  h.to_outside(wire.frame(hello));
  h.poll();
  EXPECT_EQ(h.worker().pending_handshakes(), 1u);
  // A retransmitted cookie ClientHello is punted again (the control
  // process gives it to the running engine), with no second entry.
  h.to_outside(wire.frame(hello));
  // The rest of the handshake: epoch 0 and, before the install, epoch 1
  // (the client's Finished).
  h.to_outside(wire.frame(change_cipher_spec()));
  h.to_outside(wire.frame(Bytes{22, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0xaa, 0xbb}));
  // Another port of the same address has no handshake.
  h.to_outside(neighbour.frame(change_cipher_spec()));
  h.poll();
  EXPECT_EQ(h.worker().pending_handshakes(), 1u);
  auto punts = h.punts();
  ASSERT_EQ(punts.size(), 4u) << h.counters();
  EXPECT_EQ(punts[0].flags, contract::kPuntCookieVerified);
  EXPECT_EQ(punts[1].flags, contract::kPuntCookieVerified);
  EXPECT_EQ(punts[2].flags, 0);
  EXPECT_EQ(punts[3].flags, 0);
  for (const auto& p : punts) {
    EXPECT_EQ(p.flow, wire.flow());
  }
  EXPECT_EQ(rte_pktmbuf_data_len(punts[2].datagram), change_cipher_spec().size());
  free_punts(std::move(punts));
  EXPECT_EQ(h.count(Counter::drop_unknown_session), 3u);

  // The install ends the pending handshake: epoch-0 records are then the
  // established session's, and dropped.
  Peer session("192.0.2.10", 40000);
  h.install(session);
  EXPECT_EQ(h.worker().pending_handshakes(), 0u);
  h.to_outside(wire.frame(change_cipher_spec(3)));
  h.poll();
  EXPECT_TRUE(h.punts().empty());
  EXPECT_EQ(h.count(Counter::drop_epoch0_established), 1u);

  // A handshake that never completes expires (120 s after its cookie
  // ClientHello): its records are unknown again.
  h.to_outside(neighbour.frame(cookie_hello(h, neighbour)));
  h.poll();
  EXPECT_EQ(h.worker().pending_handshakes(), 1u);
  free_punts(h.punts());
  h.worker().advance_clock_ms(119'000);
  h.to_outside(neighbour.frame(change_cipher_spec()));
  h.poll();
  EXPECT_EQ(h.punts().size(), 1u);
  free_punts(h.punts());
  h.worker().advance_clock_ms(2'000);
  h.to_outside(neighbour.frame(change_cipher_spec()));
  h.poll();
  EXPECT_TRUE(h.punts().empty());
  EXPECT_EQ(h.worker().pending_handshakes(), 0u);
  EXPECT_EQ(h.count(Counter::drop_unknown_session), 4u);
}

// Where the cookie sits in a ClientHello datagram.
size_t cookie_offset(const Bytes& hello) {
  hs::ClientHello parsed;
  EXPECT_EQ(hs::parse_client_hello(hello, parsed), hs::ClientHelloResult::ok);
  return static_cast<size_t>(parsed.cookie.data() - hello.data());
}

TEST(Punt, WrongCookieGetsANewHelloVerifyRequestAndNoPunt) {
  Harness h;
  const Peer wire("192.0.2.10", 40000);
  const Bytes hello = cookie_hello(h, wire);
  ASSERT_FALSE(hello.empty());
  const size_t at = cookie_offset(hello);
  const Bytes cookie(hello.begin() + static_cast<long>(at),
                     hello.begin() + static_cast<long>(at + hs::kCookieLength));

  Bytes forged = hello;
  forged[at + hs::kCookieLength - 1] ^= 0x01;  // the MAC
  Bytes stale = hello;
  stale[at] ^= 0x80;  // the generation: neither current nor previous
  const Peer elsewhere("192.0.2.10", 40999);  // the cookie was another port's
  for (const Bytes* d : {&forged, &stale}) {
    h.to_outside(wire.frame(*d));
    h.poll();
    const auto replies = payloads_to(h, wire);
    ASSERT_EQ(replies.size(), 1u) << h.counters();
    // RFC 6347 §4.2.1: a new HelloVerifyRequest echoing the record
    // sequence, no larger than the request, with the right cookie again.
    EXPECT_LE(replies[0].size(), d->size());
    EXPECT_EQ(first_record_sequence(replies[0]), first_record_sequence(*d));
    EXPECT_EQ(Bytes(replies[0].end() - static_cast<long>(hs::kCookieLength), replies[0].end()),
              cookie);
  }
  h.to_outside(elsewhere.frame(hello));
  h.poll();
  EXPECT_EQ(payloads_to(h, elsewhere).size(), 1u);
  EXPECT_EQ(h.count(Counter::drop_bad_cookie), 3u) << h.counters();
  EXPECT_EQ(h.count(Counter::hello_verify_requests), 4u);
  EXPECT_TRUE(h.punts().empty());
  EXPECT_EQ(h.worker().pending_handshakes(), 0u);
  // The genuine one still goes through.
  h.to_outside(wire.frame(hello));
  h.poll();
  const auto punts = h.punts();
  EXPECT_EQ(punts.size(), 1u);
  free_punts(punts);
}

TEST(Punt, CookieSecretRotationKeepsThePreviousSecret) {
  Harness h;
  const Peer wire("192.0.2.10", 40000);
  const Bytes hello = cookie_hello(h, wire);
  ASSERT_FALSE(hello.empty());
  hs::CookieSecrets secrets;
  ASSERT_TRUE(contract::read_cookie_secrets(h.ctx().ready->cookies, secrets));
  // The control process rotates once: the cookie is the previous secret's.
  ASSERT_TRUE(hs::rotate_cookie_secret(secrets));
  contract::write_cookie_secrets(h.ctx().ready->cookies, secrets);
  h.to_outside(wire.frame(hello));
  h.poll();
  auto punts = h.punts();
  EXPECT_EQ(punts.size(), 1u) << h.counters();
  free_punts(std::move(punts));
  // Twice: forgotten.
  ASSERT_TRUE(hs::rotate_cookie_secret(secrets));
  contract::write_cookie_secrets(h.ctx().ready->cookies, secrets);
  h.to_outside(wire.frame(hello));
  h.poll();
  EXPECT_TRUE(h.punts().empty());
  EXPECT_EQ(h.count(Counter::drop_bad_cookie), 1u);
  EXPECT_EQ(payloads_to(h, wire).size(), 1u);
  OPENSSL_cleanse(&secrets, sizeof(secrets));
}

}  // namespace
}  // namespace dtlsgw::test
