// The engine under loss, duplication, reordering and a small path MTU, and
// its retransmission timers on the real clock (RFC 6347 §4.2.4, §4.2.3,
// §4.1.1.1), against a real OpenSSL client. Timers are short (tens of
// milliseconds) so every test stays well under a second.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "dtls_record/record_header.h"
#include "tests/handshake/test_support.h"

namespace dtlsgw::handshake::test {
namespace {

using namespace std::chrono_literals;

constexpr uint8_t kChangeCipherSpec = 20;
constexpr uint8_t kHandshake = 22;

ClientOptions quick_client(const char* suite = "ECDHE-ECDSA-AES128-GCM-SHA256") {
  ClientOptions o;
  o.cipher_suites = suite;
  o.initial_timeout = 50ms;
  return o;
}

std::vector<Datagram> to_engine(HandshakeEngine& e, const std::vector<Datagram>& in) {
  std::vector<Datagram> out;
  for (const Datagram& d : in) {
    std::vector<Datagram> answer = e.on_datagram(d, Clock::now());
    out.insert(out.end(), answer.begin(), answer.end());
  }
  return out;
}

std::vector<Datagram> to_client(TestClient& c, const std::vector<Datagram>& in) {
  c.deliver(in);
  return c.step();
}

// The client's answer to `in`, waiting for its own retransmission timer if
// it does not answer at once (OpenSSL answers a repeated flight from its
// timer, not on receipt).
std::vector<Datagram> client_answer(TestClient& c, const std::vector<Datagram>& in) {
  std::vector<Datagram> out = to_client(c, in);
  if (out.empty() && !c.done()) {
    std::this_thread::sleep_for(60ms);
    out = c.handle_timeout();
  }
  return out;
}

// The handshake content of a flight: every record's type, epoch and
// fragment, in order, without the record sequence numbers (which a
// retransmission changes, RFC 6347 §4.2.4).
std::vector<std::tuple<uint8_t, uint16_t, Bytes>> content(const std::vector<Datagram>& flight) {
  std::vector<std::tuple<uint8_t, uint16_t, Bytes>> out;
  for (const Datagram& d : flight) {
    for (RecordInfo& r : records_of(d)) {
      if (r.epoch == 0) {  // epoch-1 records are re-encrypted: not comparable
        out.emplace_back(r.type, r.epoch, std::move(r.fragment));
      }
    }
  }
  return out;
}

bool has_change_cipher_spec(const std::vector<Datagram>& flight) {
  for (const Datagram& d : flight) {
    for (const RecordInfo& r : records_of(d)) {
      if (r.type == kChangeCipherSpec) {
        return true;
      }
    }
  }
  return false;
}

uint64_t highest_epoch1(const std::vector<Datagram>& flight) {
  uint64_t highest = 0;
  for (const Datagram& d : flight) {
    for (const RecordInfo& r : records_of(d)) {
      if (r.epoch == 1) {
        highest = std::max(highest, r.sequence);
      }
    }
  }
  return highest;
}

struct SessionFree {
  void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
};
using Session = std::unique_ptr<SSL_SESSION, SessionFree>;

// ---- Loss ------------------------------------------------------------------

// DESIGN.md: after completion OpenSSL must never write again. The server's
// final flight is lost; the client retransmits its last flight (new record
// numbers); the engine answers with the cached final flight, byte for
// byte, without feeding OpenSSL.
TEST(Loss, FinalFlightLostEngineResendsCachedBytes) {
  Server server;
  TestClient client(quick_client(), server_address());
  const Datagram hello = cookie_exchange(client, *server.cookies, client_address());
  auto engine = HandshakeEngine::create(server.context, *server.crypto, test_engine_config(),
                                        client_address());
  const std::vector<Datagram> flight4 = engine->start(hello, Clock::now());
  const std::vector<Datagram> flight5 = to_client(client, flight4);
  const std::vector<Datagram> final_flight = to_engine(*engine, flight5);
  ASSERT_EQ(engine->state(), HandshakeState::complete) << engine->failure_detail();
  ASSERT_TRUE(has_change_cipher_spec(final_flight));
  EXPECT_EQ(final_flight, engine->final_flight());
  // ...lost. The client's timer fires and it retransmits its flight.
  std::this_thread::sleep_for(60ms);
  const std::vector<Datagram> flight5_again = client.handle_timeout();
  ASSERT_FALSE(flight5_again.empty());
  ASSERT_NE(flight5_again, flight5) << "a retransmission carries new record numbers";

  const std::vector<Datagram> resent = to_engine(*engine, flight5_again);
  EXPECT_EQ(resent, final_flight) << "the cached final flight, byte for byte";
  EXPECT_EQ(highest_epoch1(resent), 0u) << "no new epoch-1 record after completion";
  EXPECT_EQ(engine->stats().final_flight_resends, 1u);
  // A replay of the same retransmission is not answered again.
  EXPECT_TRUE(to_engine(*engine, flight5_again).empty());

  EXPECT_TRUE(to_client(client, resent).empty());
  ASSERT_TRUE(client.done()) << client.error();
  Handover h = engine->take_handover();
  EXPECT_EQ(h.final_flight, final_flight);
  EXPECT_EQ(h.server_last_sequence, 0u);
  // Both of the client's Finished records are numbers the dataplane must
  // treat as seen: the original (0) and the retransmission (1).
  EXPECT_EQ(h.client_sequences, (std::vector<uint64_t>{0, 1}));
  expect_handover_keys_work(*server.crypto, client, h);
  // Once handed over, the engine holds no keys and answers nothing.
  EXPECT_TRUE(to_engine(*engine, flight5_again).empty());
}

// The client's flight 5 is lost: the engine's timer retransmits flight 4
// (same messages, new record numbers); the client answers again.
TEST(Loss, ClientFlightLostEngineRetransmitsOnItsTimer) {
  Server server;
  TestClient client(quick_client(), server_address());
  const Datagram hello = cookie_exchange(client, *server.cookies, client_address());
  auto engine = HandshakeEngine::create(server.context, *server.crypto, test_engine_config(),
                                        client_address());
  const TimePoint t0 = Clock::now();
  const std::vector<Datagram> flight4 = engine->start(hello, t0);
  EXPECT_LE(engine->next_deadline(), t0 + 50ms);
  EXPECT_GE(engine->next_deadline(), t0 + 30ms);
  (void)to_client(client, flight4);  // flight 5, lost

  std::this_thread::sleep_until(engine->next_deadline());
  const std::vector<Datagram> again = engine->on_timer(Clock::now());
  // The same messages under new record numbers (OpenSSL resends each
  // message in its own datagram).
  ASSERT_FALSE(again.empty());
  EXPECT_EQ(content(again), content(flight4));
  EXPECT_EQ(engine->stats().retransmissions, 1u);

  const std::vector<Datagram> flight5 = client_answer(client, again);
  ASSERT_FALSE(flight5.empty());
  const std::vector<Datagram> final_flight = to_engine(*engine, flight5);
  ASSERT_EQ(engine->state(), HandshakeState::complete) << engine->failure_detail();
  EXPECT_TRUE(to_client(client, final_flight).empty());
  ASSERT_TRUE(client.done()) << client.error();
  expect_handover_keys_work(*server.crypto, client, engine->take_handover());
}

// Resumption: the server's flight (ServerHello, NewSessionTicket, CCS,
// Finished) is the final one and is lost; the timer resends it with the
// Finished at epoch 1 sequence 1. The handover must start above that and
// avoid both GCM nonces OpenSSL used.
TEST(Loss, AbbreviatedFinalFlightRetransmittedByTimer) {
  Server server;
  Session session;
  {
    TestClient first(quick_client(), server_address());
    std::string why;
    auto engine = handshake(server, first, test_engine_config(), why);
    ASSERT_EQ(engine->state(), HandshakeState::complete) << why;
    session.reset(first.get1_session());
  }
  ClientOptions o = quick_client();
  o.resume = session.get();
  TestClient client(o, server_address());
  const Datagram hello = cookie_exchange(client, *server.cookies, client_address());
  auto engine = HandshakeEngine::create(server.context, *server.crypto, test_engine_config(),
                                        client_address());
  const std::vector<Datagram> lost = engine->start(hello, Clock::now());
  ASSERT_TRUE(has_change_cipher_spec(lost));
  std::this_thread::sleep_until(engine->next_deadline());
  const std::vector<Datagram> again = engine->on_timer(Clock::now());
  ASSERT_TRUE(has_change_cipher_spec(again));
  EXPECT_EQ(highest_epoch1(again), 1u);
  EXPECT_EQ(engine->final_flight(), again) << "the latest copy is the one to cache";

  const std::vector<Datagram> flight = to_client(client, again);
  ASSERT_TRUE(client.done()) << client.error();
  EXPECT_TRUE(to_engine(*engine, flight).empty());
  ASSERT_EQ(engine->state(), HandshakeState::complete) << engine->failure_detail();
  Handover h = engine->take_handover();
  EXPECT_TRUE(h.resumed);
  EXPECT_EQ(h.server_last_sequence, 1u);
  EXPECT_EQ(h.server_explicit_nonces.size(), 2u) << "GCM: one nonce per epoch-1 record";
  EXPECT_EQ(h.final_flight, again);
  expect_handover_keys_work(*server.crypto, client, h);
}

// ---- Duplication -----------------------------------------------------------

TEST(Duplication, EveryDatagramTwiceInBothDirections) {
  Server server;
  TestClient client(quick_client(), server_address());
  const Datagram hello = cookie_exchange(client, *server.cookies, client_address());
  auto engine = HandshakeEngine::create(server.context, *server.crypto, test_engine_config(),
                                        client_address());
  std::vector<Datagram> down = engine->start(hello, Clock::now());
  // The cookie ClientHello again, while the handshake runs.
  std::vector<Datagram> extra = engine->on_datagram(hello, Clock::now());
  EXPECT_EQ(engine->state(), HandshakeState::in_progress);
  down.insert(down.end(), extra.begin(), extra.end());
  for (int round = 0;
       round < 8 && !(client.done() && engine->state() != HandshakeState::in_progress); ++round) {
    std::vector<Datagram> twice;
    for (const Datagram& d : down) {
      twice.push_back(d);
      twice.push_back(d);
    }
    const std::vector<Datagram> up = to_client(client, twice);
    std::vector<Datagram> up_twice;
    for (const Datagram& d : up) {
      up_twice.push_back(d);
      up_twice.push_back(d);
    }
    down = to_engine(*engine, up_twice);
  }
  ASSERT_EQ(engine->state(), HandshakeState::complete) << engine->failure_detail();
  ASSERT_TRUE(client.done()) << client.error();
  EXPECT_EQ(engine->stats().final_flight_resends, 0u) << "a duplicate is not a retransmission";
  Handover h = engine->take_handover();
  EXPECT_EQ(h.client_sequences, std::vector<uint64_t>{0});
  EXPECT_EQ(h.server_last_sequence, 0u);
  expect_handover_keys_work(*server.crypto, client, h);
}

// ---- MTU and fragmentation (RFC 6347 §4.1.1.1, §4.2.3) --------------------

size_t fragmented_messages(const std::vector<Datagram>& flight) {
  size_t n = 0;
  for (const Datagram& d : flight) {
    for (const RecordInfo& r : records_of(d)) {
      if (r.type == kHandshake && r.epoch == 0 && r.fragment.size() >= 12) {
        const uint32_t length = r.fragment[1] << 16 | r.fragment[2] << 8 | r.fragment[3];
        const uint32_t fragment_offset = r.fragment[6] << 16 | r.fragment[7] << 8 | r.fragment[8];
        n += fragment_offset > 0 && fragment_offset < length;
      }
    }
  }
  return n;
}

// MTU 256: the RSA certificate flight is split into fragments, every
// datagram fits, and the client reassembles them delivered in reverse.
TEST(Mtu, ServerFlightFragmentedAt256AndDeliveredInReverse) {
  Server server;
  EngineConfig c = test_engine_config();
  c.path_mtu = 256;
  TestClient client(quick_client("ECDHE-RSA-AES256-GCM-SHA384"), server_address());
  const Datagram hello = cookie_exchange(client, *server.cookies, client_address());
  auto engine = HandshakeEngine::create(server.context, *server.crypto, c, client_address());
  std::vector<Datagram> flight4 = engine->start(hello, Clock::now());
  ASSERT_GE(flight4.size(), 4u);
  EXPECT_GT(fragmented_messages(flight4), 0u);
  for (const Datagram& d : flight4) {
    EXPECT_LE(d.size(), 256u);
  }
  std::reverse(flight4.begin(), flight4.end());
  const std::vector<Datagram> flight5 = to_client(client, flight4);
  ASSERT_FALSE(flight5.empty()) << client.error();
  const std::vector<Datagram> final_flight = to_engine(*engine, flight5);
  ASSERT_EQ(engine->state(), HandshakeState::complete) << engine->failure_detail();
  for (const Datagram& d : final_flight) {
    EXPECT_LE(d.size(), 256u);
  }
  EXPECT_TRUE(to_client(client, final_flight).empty());
  ASSERT_TRUE(client.done()) << client.error();
  expect_handover_keys_work(*server.crypto, client, engine->take_handover());
}

bool only_epoch0_handshake(const Datagram& d) {
  for (const RecordInfo& r : records_of(d)) {
    if (r.type != kHandshake || r.epoch != 0) {
      return false;
    }
  }
  return true;
}

// The client's certificate flight at MTU 256 (Certificate and
// CertificateVerify split into fragments) fed to the engine with its
// handshake fragments in reverse order, ChangeCipherSpec and Finished
// last: OpenSSL reassembles the messages.
TEST(Mtu, ClientFlightFragmentsReversedAreReassembled) {
  ServerConfig config = full_server_config();
  config.client_ca_file = credentials().client_ca_file;
  Server server(config);
  ClientOptions o = quick_client();
  o.certificate = &credentials().client;
  o.mtu = 256;
  TestClient client(o, server_address());
  const Datagram hello = cookie_exchange(client, *server.cookies, client_address());
  auto engine = HandshakeEngine::create(server.context, *server.crypto, test_engine_config(),
                                        client_address());
  std::vector<Datagram> flight5 = to_client(client, engine->start(hello, Clock::now()));
  ASSERT_GE(flight5.size(), 3u);
  EXPECT_GT(fragmented_messages(flight5), 0u);
  const auto last_fragment_only =
      std::find_if_not(flight5.begin(), flight5.end(), only_epoch0_handshake);
  ASSERT_GE(last_fragment_only - flight5.begin(), 2);
  std::reverse(flight5.begin(), last_fragment_only);
  const std::vector<Datagram> final_flight = to_engine(*engine, flight5);
  ASSERT_EQ(engine->state(), HandshakeState::complete) << engine->failure_detail();
  EXPECT_EQ(engine->stats().retransmissions, 0u);
  EXPECT_TRUE(to_client(client, final_flight).empty());
  ASSERT_TRUE(client.done()) << client.error();
  Handover h = engine->take_handover();
  EXPECT_EQ(h.identity.name, credentials().client_subject);
  EXPECT_EQ(h.client_sequences, std::vector<uint64_t>{0});
  expect_handover_keys_work(*server.crypto, client, h);
}

// The whole flight reversed puts its ChangeCipherSpec before the messages
// it follows; OpenSSL drops it, so the Finished cannot be read. The
// handshake recovers through one retransmission round, as over a real
// reordering path, and the handover still counts only authenticated
// Finished records.
TEST(Mtu, ClientFlightFullyReversedRecoversByRetransmission) {
  ServerConfig config = full_server_config();
  config.client_ca_file = credentials().client_ca_file;
  Server server(config);
  ClientOptions o = quick_client();
  o.certificate = &credentials().client;
  o.mtu = 256;
  TestClient client(o, server_address());
  const Datagram hello = cookie_exchange(client, *server.cookies, client_address());
  auto engine = HandshakeEngine::create(server.context, *server.crypto, test_engine_config(),
                                        client_address());
  std::vector<Datagram> flight5 = to_client(client, engine->start(hello, Clock::now()));
  std::reverse(flight5.begin(), flight5.end());
  std::vector<Datagram> down = to_engine(*engine, flight5);
  for (int round = 0; round < 4 && engine->state() == HandshakeState::in_progress; ++round) {
    if (down.empty()) {
      std::this_thread::sleep_until(engine->next_deadline());
      down = engine->on_timer(Clock::now());
    }
    down = to_engine(*engine, client_answer(client, down));
  }
  ASSERT_EQ(engine->state(), HandshakeState::complete) << engine->failure_detail();
  EXPECT_GE(engine->stats().retransmissions, 1u);
  to_client(client, down);
  ASSERT_TRUE(client.done()) << client.error();
  Handover h = engine->take_handover();
  EXPECT_EQ(h.identity.name, credentials().client_subject);
  ASSERT_FALSE(h.client_sequences.empty());
  expect_handover_keys_work(*server.crypto, client, h);
}

// ---- Early application data ------------------------------------------------

// In a resumed handshake the client may send application data right after
// its Finished; if that record reaches the engine first, it is handed over
// unopened (the dataplane opens it), and its number is not marked seen.
TEST(Reordering, EarlyApplicationDataIsHandedOverUnopened) {
  Server server;
  Session session;
  {
    TestClient first(quick_client(), server_address());
    std::string why;
    auto engine = handshake(server, first, test_engine_config(), why);
    ASSERT_EQ(engine->state(), HandshakeState::complete) << why;
    session.reset(first.get1_session());
  }
  ClientOptions o = quick_client();
  o.resume = session.get();
  TestClient client(o, server_address());
  const Datagram hello = cookie_exchange(client, *server.cookies, client_address());
  auto engine = HandshakeEngine::create(server.context, *server.crypto, test_engine_config(),
                                        client_address());
  const std::vector<Datagram> finished = to_client(client, engine->start(hello, Clock::now()));
  ASSERT_TRUE(client.done()) << client.error();
  const Bytes early = pattern(64, 42);
  const Datagram data = client.write(early);
  EXPECT_TRUE(engine->on_datagram(data, Clock::now()).empty());
  EXPECT_EQ(engine->state(), HandshakeState::in_progress);
  EXPECT_TRUE(to_engine(*engine, finished).empty());
  ASSERT_EQ(engine->state(), HandshakeState::complete) << engine->failure_detail();
  Handover h = engine->take_handover();
  EXPECT_EQ(h.client_sequences, std::vector<uint64_t>{0});
  ASSERT_EQ(h.client_pending_records.size(), 1u);
  const std::vector<Bytes> opened =
      open_client_records(*server.crypto, h, h.client_pending_records[0]);
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(opened[0], early);
}

// ---- Timers (RFC 6347 §4.2.4.1) -------------------------------------------

// Nobody answers: the ServerHello flight is retransmitted at 50, 100, 200
// and 200 ms intervals (doubling, capped at 200 ms here), and the fifth
// expiry ends the handshake (4 retransmissions allowed).
TEST(Timers, BackOffDoublesUpToTheCapThenGivesUp) {
  Server server;
  EngineConfig c = test_engine_config();
  c.initial_retransmission_timeout = 50ms;
  c.max_retransmission_timeout = 200ms;
  c.max_retransmissions = 4;
  TestClient client(quick_client(), server_address());
  const Datagram hello = cookie_exchange(client, *server.cookies, client_address());
  auto engine = HandshakeEngine::create(server.context, *server.crypto, c, client_address());
  std::vector<TimePoint> sent = {Clock::now()};
  const std::vector<Datagram> flight = engine->start(hello, sent[0]);
  ASSERT_FALSE(flight.empty());
  TimePoint gave_up{};
  for (int i = 0; i < 8 && engine->state() == HandshakeState::in_progress; ++i) {
    const TimePoint deadline = engine->next_deadline();
    ASSERT_NE(deadline, TimePoint::max());
    std::this_thread::sleep_until(deadline);
    const TimePoint now = Clock::now();
    const std::vector<Datagram> again = engine->on_timer(now);
    if (!again.empty()) {
      EXPECT_EQ(content(again), content(flight));
      sent.push_back(now);
    } else if (engine->state() == HandshakeState::failed) {
      gave_up = now;
    }
  }
  ASSERT_EQ(engine->state(), HandshakeState::failed);
  EXPECT_EQ(engine->failure(), FailureReason::retransmissions_exhausted);
  EXPECT_EQ(engine->stats().retransmissions, 4u);
  EXPECT_EQ(engine->next_deadline(), TimePoint::max());
  ASSERT_EQ(sent.size(), 5u);
  sent.push_back(gave_up);
  const std::chrono::milliseconds expected[] = {50ms, 100ms, 200ms, 200ms, 200ms};
  for (size_t i = 0; i < std::size(expected); ++i) {
    const auto interval =
        std::chrono::duration_cast<std::chrono::milliseconds>(sent[i + 1] - sent[i]);
    SCOPED_TRACE(i);
    // OpenSSL counts a timer within 15 ms of expiry as expired.
    EXPECT_GE(interval, expected[i] - 16ms);
    EXPECT_LE(interval, expected[i] + 80ms);
  }
}

TEST(Timers, OverallDeadlineEndsTheHandshake) {
  Server server;
  EngineConfig c = test_engine_config();
  c.initial_retransmission_timeout = std::chrono::seconds(1);
  c.max_retransmission_timeout = std::chrono::seconds(2);
  c.handshake_timeout = 120ms;
  TestClient client(quick_client(), server_address());
  const Datagram hello = cookie_exchange(client, *server.cookies, client_address());
  auto engine = HandshakeEngine::create(server.context, *server.crypto, c, client_address());
  const TimePoint t0 = Clock::now();
  ASSERT_FALSE(engine->start(hello, t0).empty());
  EXPECT_EQ(engine->next_deadline(), t0 + 120ms);
  std::this_thread::sleep_until(engine->next_deadline());
  EXPECT_TRUE(engine->on_timer(Clock::now()).empty());
  EXPECT_EQ(engine->state(), HandshakeState::failed);
  EXPECT_EQ(engine->failure(), FailureReason::deadline_exceeded);
  EXPECT_EQ(engine->next_deadline(), TimePoint::max());
  // A failed engine refuses further datagrams.
  EXPECT_TRUE(engine->on_datagram(hello, Clock::now()).empty());
  EXPECT_EQ(engine->stats().refused_after_completion, 1u);
}

// A timer that has not expired yet does nothing (on_timer may run early).
TEST(Timers, EarlyTickDoesNothing) {
  Server server;
  TestClient client(quick_client(), server_address());
  const Datagram hello = cookie_exchange(client, *server.cookies, client_address());
  EngineConfig c = test_engine_config();
  c.initial_retransmission_timeout = std::chrono::seconds(1);
  c.max_retransmission_timeout = std::chrono::seconds(2);
  auto engine = HandshakeEngine::create(server.context, *server.crypto, c, client_address());
  ASSERT_FALSE(engine->start(hello, Clock::now()).empty());
  EXPECT_TRUE(engine->on_timer(Clock::now()).empty());
  EXPECT_EQ(engine->state(), HandshakeState::in_progress);
  EXPECT_EQ(engine->stats().retransmissions, 0u);
}

}  // namespace
}  // namespace dtlsgw::handshake::test
