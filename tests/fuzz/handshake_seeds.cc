// Records real DTLS 1.2 PSK handshakes as handshake_engine_fuzz inputs. An
// OpenSSL client (its own deterministic random stream) talks to the
// harness's server through the harness's own Driver: the cookie exchange
// is the dataplane's (the fixed cookie secret's HelloVerifyRequest), then
// every client datagram is appended to the seed and fed to the driver, and
// the server's answers go back to the client. The client's flight carrying
// its Finished is retransmitted once, after a tick in the seed moves the
// shared fake clock past its timer (new epoch-1 record numbers, as a client
// that lost the server's last flight sends it), so an engine-mode seed
// reaches the cached final-flight resend. Each recording is checked:
// the client completes, and in engine mode the engine completes and
// answers the retransmission with its cached final flight.
#include "tests/fuzz/handshake_seeds.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "handshake/client_hello.h"
#include "handshake/datagram_bio.h"
#include "tests/fuzz/handshake_fuzz.h"

namespace dtlsgw::handshake::fuzz {
namespace {

using Bytes = std::vector<uint8_t>;

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "make_corpus (handshake_engine_fuzz): %s\n", why.c_str());
  std::exit(2);
}

FuzzServer& server() {
  static FuzzServer s;
  return s;
}

unsigned int client_psk(SSL*, const char*, char* identity, unsigned int max_identity_length,
                        unsigned char* psk, unsigned int max_psk_length) {
  const std::string_view id = kFuzzPskIdentity;
  if (id.size() + 1 > max_identity_length || kFuzzPsk.size() > max_psk_length) {
    return 0;
  }
  std::copy(id.begin(), id.end(), identity);
  identity[id.size()] = '\0';
  std::copy(kFuzzPsk.begin(), kFuzzPsk.end(), psk);
  return static_cast<unsigned int>(kFuzzPsk.size());
}

// The timeout OpenSSL asks for when a client flight's timer starts: long
// (never reached while recording), except for the Finished flight, which
// the recording retransmits once by moving the clock past it (a tick in
// the seed: fake_clock.h).
constexpr std::chrono::milliseconds kRetransmitTimer{100};
constexpr unsigned kPastRetransmitTimer = 11;  // a tick of 121 ms

unsigned int client_timer(SSL* ssl, unsigned int previous_us) {
  const auto* next_us = static_cast<const unsigned int*>(SSL_get_app_data(ssl));
  return previous_us == 0 ? *next_us : std::min(previous_us * 2, 60'000'000u);
}

// An OpenSSL 3.0 DTLS 1.2 PSK client over a datagram link.
class SeedClient {
 public:
  SeedClient(const char* suite, long mtu) {
    UseRandom r(RandomParty::client);
    link_.peer = fuzz_peer(0);  // unused by the client side
    link_.mtu = mtu;
    ctx_ = SSL_CTX_new(DTLS_client_method());
    if (ctx_ == nullptr || !SSL_CTX_set_min_proto_version(ctx_, DTLS1_2_VERSION) ||
        !SSL_CTX_set_max_proto_version(ctx_, DTLS1_2_VERSION) ||
        !SSL_CTX_set_cipher_list(ctx_, suite)) {
      die(std::string("client context for ") + suite);
    }
    SSL_CTX_set_options(ctx_, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_QUERY_MTU);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_psk_client_callback(ctx_, client_psk);
    ssl_ = SSL_new(ctx_);
    BIO* bio = new_datagram_bio(link_);
    if (ssl_ == nullptr || bio == nullptr) {
      die("client SSL");
    }
    SSL_set_bio(ssl_, bio, bio);
    SSL_set_app_data(ssl_, &next_timeout_us_);
    DTLS_set_timer_cb(ssl_, client_timer);
    if (SSL_set_mtu(ssl_, mtu) <= 0) {
      die("client MTU");
    }
    SSL_set_connect_state(ssl_);
  }
  ~SeedClient() {
    if (done_) {
      SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    }
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }
  SeedClient(const SeedClient&) = delete;
  SeedClient& operator=(const SeedClient&) = delete;

  // The retransmission timer of the flights the client sends from now on.
  void next_flight_timeout(std::chrono::microseconds t) {
    next_timeout_us_ = static_cast<unsigned int>(t.count());
  }

  void deliver(const std::vector<Driver::Sent>& sent) {
    for (const Driver::Sent& s : sent) {
      link_.inbound.push_back(s.datagram);
    }
  }

  std::vector<Datagram> step() {
    UseRandom r(RandomParty::client);
    if (!done_) {
      const int ret = SSL_do_handshake(ssl_);
      if (ret == 1) {
        done_ = true;
      } else if (const int e = SSL_get_error(ssl_, ret);
                 e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        die("client handshake failed: " + drain_openssl_errors());
      }
    }
    ERR_clear_error();
    return take();
  }

  // Once the clock has passed the current flight's timer: the flight again.
  std::vector<Datagram> retransmit() {
    UseRandom r(RandomParty::client);
    if (DTLSv1_handle_timeout(ssl_) != 1) {
      die("the client did not retransmit");
    }
    return take();
  }

  bool done() const { return done_; }

 private:
  std::vector<Datagram> take() {
    std::vector<Datagram> out = std::move(link_.outbound);
    link_.outbound.clear();
    return out;
  }

  DatagramLink link_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  unsigned int next_timeout_us_ = 10'000'000;
  bool done_ = false;
};

// A seed being recorded: the input bytes and the driver they were fed to.
class Recording {
 public:
  explicit Recording(uint8_t selector)
      : input_{selector}, driver_(server(), decode_selector(selector)) {}

  std::vector<Driver::Sent> datagram(unsigned peer, const Datagram& d) {
    append_datagram(input_, peer, d);
    return driver_.datagram(peer, d);
  }
  std::vector<Driver::Sent> datagrams(unsigned peer, const std::vector<Datagram>& ds) {
    std::vector<Driver::Sent> out;
    for (const Datagram& d : ds) {
      for (Driver::Sent& s : datagram(peer, d)) {
        out.push_back(std::move(s));
      }
    }
    return out;
  }
  std::vector<Driver::Sent> tick(unsigned n) {
    append_tick(input_, n);
    return driver_.tick(std::chrono::milliseconds(n * n));
  }
  Driver& driver() { return driver_; }
  const Bytes& input() const { return input_; }

 private:
  Bytes input_;
  Driver driver_;
};

// The dataplane's part: the client's first ClientHello answered with the
// fixed secret's HelloVerifyRequest; returns the cookie ClientHello.
Datagram cookie_client_hello(SeedClient& client, unsigned peer) {
  const std::vector<Datagram> first = client.step();
  ClientHello hello;
  if (first.size() != 1 || parse_client_hello(first[0], hello) != ClientHelloResult::ok) {
    die("no ClientHello");
  }
  Datagram hvr(CookieMaker::kHelloVerifyRequestLength);
  const size_t n = server().cookies->build_hello_verify_request(fuzz_peer(peer), hello, hvr);
  if (n == 0) {
    die("build_hello_verify_request");
  }
  hvr.resize(n);
  client.deliver({{peer, hvr}});
  const std::vector<Datagram> second = client.step();
  if (second.size() != 1) {
    die("no cookie ClientHello");
  }
  return second[0];
}

// One client's handshake as far as it has been recorded.
struct Flights {
  std::vector<Driver::Sent> server_flight;
  std::vector<Datagram> client_finished;
};

Flights send_cookie_client_hello(Recording& rec, SeedClient& client, unsigned peer) {
  Flights f;
  f.server_flight = rec.datagram(peer, cookie_client_hello(client, peer));
  if (f.server_flight.empty()) {
    die("the server did not answer the cookie ClientHello");
  }
  return f;
}

// Takes a client from the server's first flight to completion through
// `rec`, its Finished flight retransmitted once after a tick past its timer.
void finish_handshake(Recording& rec, SeedClient& client, unsigned peer, Flights& f) {
  client.deliver(f.server_flight);
  client.next_flight_timeout(kRetransmitTimer);
  f.client_finished = client.step();
  if (f.client_finished.empty()) {
    die("no client Finished flight");
  }
  const std::vector<Driver::Sent> final_flight = rec.datagrams(peer, f.client_finished);
  rec.tick(kPastRetransmitTimer);
  const std::vector<Driver::Sent> resent = rec.datagrams(peer, client.retransmit());
  if (HandshakeEngine* e = rec.driver().engine(); e != nullptr) {
    if (e->state() != HandshakeState::complete) {
      die("engine did not complete: " + std::string(to_string(e->failure())) + " " +
          e->failure_detail() + " retransmissions " + std::to_string(e->stats().retransmissions) +
          " in " + std::to_string(e->stats().datagrams_in));
    }
    if (resent.empty() || e->stats().final_flight_resends != 1) {
      die("engine did not resend its final flight");
    }
  } else if (rec.driver().table()->find(fuzz_peer(peer)) != nullptr) {
    die("the table did not complete the handshake");
  }
  client.deliver(final_flight);
  client.step();
  if (!client.done()) {
    die("client did not complete");
  }
}

Bytes engine_handshake(const char* suite, bool short_timers, size_t mtu_index, bool tick) {
  reset_random(RandomParty::client);
  Recording rec(encode_selector(true, short_timers, mtu_index));
  SeedClient client(suite, kFuzzMtus[mtu_index]);
  Flights f = send_cookie_client_hello(rec, client, 0);
  if (tick) {
    // 64 ms: with short timers (50 ms) the engine retransmits its flight.
    const std::vector<Driver::Sent> again = rec.tick(8);
    if (short_timers != !again.empty()) {
      die("unexpected retransmission behaviour");
    }
  }
  finish_handshake(rec, client, 0, f);
  rec.tick(3);
  return rec.input();
}

// Two peers' handshakes interleaved through the table.
Bytes table_two_peers(const char* suite) {
  reset_random(RandomParty::client);
  Recording rec(encode_selector(false, false, 0));
  SeedClient a(suite, kFuzzMtus[0]);
  SeedClient b(suite, kFuzzMtus[0]);
  Flights fa = send_cookie_client_hello(rec, a, 0);
  Flights fb = send_cookie_client_hello(rec, b, 1);
  rec.tick(10);
  finish_handshake(rec, b, 1, fb);
  finish_handshake(rec, a, 0, fa);
  return rec.input();
}

// A client that starts over from the same address: a new random restarts
// the handshake, which then completes.
Bytes table_restart(const char* suite) {
  reset_random(RandomParty::client);
  Recording rec(encode_selector(false, false, 0));
  SeedClient abandoned(suite, kFuzzMtus[0]);
  SeedClient client(suite, kFuzzMtus[0]);
  send_cookie_client_hello(rec, abandoned, 0);
  Flights f = send_cookie_client_hello(rec, client, 0);
  if (rec.driver().last_result()->disposition != HandshakeTable::Disposition::restarted) {
    die("not a restart");
  }
  finish_handshake(rec, client, 0, f);
  return rec.input();
}

// A half-open handshake left to its deadline by one 16 s tick.
Bytes table_deadline(const char* suite) {
  reset_random(RandomParty::client);
  Recording rec(encode_selector(false, false, 0));
  SeedClient client(suite, kFuzzMtus[0]);
  send_cookie_client_hello(rec, client, 0);
  const std::vector<Driver::Sent> none = rec.tick(127);
  const auto& fired = rec.driver().last_tick();
  if (!none.empty() || fired.size() != 1 ||
      fired[0].result.failure != FailureReason::deadline_exceeded) {
    die("the deadline did not fail the handshake");
  }
  return rec.input();
}

std::string slug(const char* suite) {
  std::string s(suite);
  std::transform(s.begin(), s.end(), s.begin(), [](char c) {
    return c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return s;
}

}  // namespace

void handshake_engine_seeds(std::map<std::string, std::vector<uint8_t>>& out) {
  for (const char* suite : kFuzzSuites) {
    out["engine_" + slug(suite)] = engine_handshake(suite, false, 0, false);
  }
  out["engine_short_timers_psk_aes128_ccm8"] = engine_handshake("PSK-AES128-CCM8", true, 0, true);
  out["engine_mtu252_psk_aes256_gcm_sha384"] =
      engine_handshake("PSK-AES256-GCM-SHA384", false, 3, true);
  out["table_two_peers_psk_chacha20_poly1305"] = table_two_peers("PSK-CHACHA20-POLY1305");
  out["table_restart_psk_aes128_ccm8"] = table_restart("PSK-AES128-CCM8");
  out["table_deadline_psk_aes128_gcm_sha256"] = table_deadline("PSK-AES128-GCM-SHA256");
}

}  // namespace dtlsgw::handshake::fuzz
