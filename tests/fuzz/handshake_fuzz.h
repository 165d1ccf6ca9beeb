// What handshake_engine_fuzz and the seed corpus generator (make_corpus.cc)
// share: the server (fixed cookie secret, PSK identity, suites), the input
// format, OpenSSL's randomness and clock made deterministic, and the driver
// that feeds an input to the server. The generator records real client
// flights by running them through this same driver, so a seed replayed by
// the harness meets a server in exactly the state the client saw.
//
// Why OpenSSL's randomness and clock are replaced. A seed holds the
// client's later flights (ClientKeyExchange, ChangeCipherSpec, Finished);
// the Finished is sealed under keys derived from both randoms, so it only
// verifies against a server that picks the same ServerHello.random (and
// session ID) as the one the generator ran. OpenSSL 3.0 takes every random
// byte through the RAND_METHOD when one is installed (RAND_bytes_ex,
// RAND_priv_bytes_ex), so both programs install one that draws from a
// seeded splitmix64 stream per party, reset at the start of every input.
// OpenSSL's DTLS timers read gettimeofday(), which both programs define
// themselves (fake_clock.h): the driver sets it from the input's own clock,
// so a tick moves OpenSSL's retransmission timers and the table's wheel
// together. A run then depends only on its input, the seeds are
// byte-for-byte reproducible (make_corpus `check` guards them like the
// others), and the fuzzer mutates real handshakes that complete, retransmit
// and time out. (PSK suites have no key generation; OpenSSL 3.0 puts no
// time in the randoms.)
//
// Input format:
//
//   byte 0  selector
//           bit 0     0 = HandshakeTable (two peers, timers through its
//                     wheel), 1 = one HandshakeEngine (peer 0), kept
//                     after completion so its post-handshake behaviour is
//                     reachable
//           bit 1     short timers: retransmission after 50 ms, doubling
//                     to 200 ms; otherwise 1 s doubling to 4 s
//           bits 2-3  path MTU: kFuzzMtus[index]
//   then operations, to the end (at most kMaxOperations):
//           0x80 | n  tick: the clock moves n^2 ms (up to 16 s; the
//                     handshake deadline is 10 s), then the timers run
//           0b0000000p, length (2 bytes, big endian), datagram
//                     a datagram from peer p (table mode; the engine takes
//                     both), cut short at the end of the input
//   and after the last operation the clock jumps past every deadline and
//   the timers run once more.
#pragma once

#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dtls_record/crypto_context.h"
#include "handshake/cookie.h"
#include "handshake/handshake_engine.h"
#include "handshake/handshake_table.h"
#include "handshake/peer_address.h"
#include "handshake/server_context.h"
#include "tests/fuzz/fake_clock.h"

namespace dtlsgw::handshake::fuzz {

using namespace std::chrono_literals;

inline constexpr std::array<long, 4> kFuzzMtus = {1200, 576, 300, 252};
inline constexpr const char* kFuzzPskIdentity = "fuzz-device";
inline constexpr std::array<uint8_t, 16> kFuzzPsk = {
    0x70, 0x73, 0x6b, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
// The plain PSK suites: no key generation, so an input runs fast.
inline constexpr std::array<const char*, 5> kFuzzSuites = {
    "PSK-AES128-CCM8", "PSK-AES128-GCM-SHA256", "PSK-AES256-GCM-SHA384", "PSK-CHACHA20-POLY1305",
    "PSK-AES128-CCM"};
inline constexpr size_t kMaxOperations = 64;
inline constexpr uint8_t kTickFlag = 0x80;

// RFC 5737 documentation addresses.
inline PeerAddress fuzz_peer(unsigned index) {
  const uint8_t a[4] = {203, 0, 113, static_cast<uint8_t>(7 + (index & 1))};
  return PeerAddress::v4(a, static_cast<uint16_t>(40001 + (index & 1)));
}

// ---- Deterministic OpenSSL randomness --------------------------------------

enum class RandomParty : uint8_t { server, client };

struct RandomStreams {
  uint64_t state[2] = {};
  RandomParty active = RandomParty::server;
};

inline RandomStreams& random_streams() {
  static RandomStreams s;
  return s;
}

inline void reset_random(RandomParty party) {
  random_streams().state[static_cast<size_t>(party)] =
      party == RandomParty::server ? 0x5345525645520001ull : 0x434c49454e540001ull;
}

// Draws of `party` until the guard goes out of scope.
class UseRandom {
 public:
  explicit UseRandom(RandomParty party) : previous_(random_streams().active) {
    random_streams().active = party;
  }
  ~UseRandom() { random_streams().active = previous_; }
  UseRandom(const UseRandom&) = delete;
  UseRandom& operator=(const UseRandom&) = delete;

 private:
  RandomParty previous_;
};

inline int deterministic_bytes(unsigned char* buf, int num) {
  RandomStreams& r = random_streams();
  uint64_t& s = r.state[static_cast<size_t>(r.active)];
  for (int i = 0; i < num; ++i) {
    // splitmix64, one byte per step: simple and the same everywhere.
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    buf[i] = static_cast<unsigned char>(z ^ (z >> 31));
  }
  return 1;
}
inline int deterministic_seed(const void*, int) { return 1; }
inline int deterministic_add(const void*, int, double) { return 1; }
inline int deterministic_status() { return 1; }

// Installs the method; call before anything draws. RAND_set_rand_method is
// deprecated in OpenSSL 3.0 but is the one switch every draw still obeys.
inline void install_deterministic_random() {
  static const RAND_METHOD method = {deterministic_seed, deterministic_bytes, nullptr,
                                     deterministic_add,  deterministic_bytes, deterministic_status};
  reset_random(RandomParty::server);
  reset_random(RandomParty::client);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  const int installed = RAND_set_rand_method(&method);
#pragma GCC diagnostic pop
  if (installed != 1) {
    std::fprintf(stderr, "RAND_set_rand_method failed\n");
    std::abort();
  }
}

// ---- The server -------------------------------------------------------------

inline CookieSecrets fuzz_cookie_secrets() {
  CookieSecrets s;
  s.has_current = true;
  s.current.generation = 3;
  for (size_t i = 0; i < kCookieSecretLength; ++i) {
    s.current.key[i] = static_cast<uint8_t>(0xc0 + 7 * i);
  }
  return s;
}

// What one process keeps for every input. The PSK file is written to a
// fresh temporary directory, loaded, and removed.
struct FuzzServer {
  FuzzServer() {
    install_deterministic_random();
    cookies = CookieMaker::create();
    crypto = record::CryptoContext::create();
    if (cookies == nullptr || crypto == nullptr) {
      fail("CookieMaker or CryptoContext");
    }
    cookies->set_secrets(fuzz_cookie_secrets());
    char dir[] = "/tmp/dtlsgw-handshake-fuzz-XXXXXX";
    if (mkdtemp(dir) == nullptr) {
      fail("mkdtemp");
    }
    const std::string psk_file = std::string(dir) + "/psk.txt";
    std::FILE* f = std::fopen(psk_file.c_str(), "w");
    if (f == nullptr) {
      fail("cannot write " + psk_file);
    }
    std::fprintf(f, "%s:", kFuzzPskIdentity);
    for (uint8_t b : kFuzzPsk) {
      std::fprintf(f, "%02x", b);
    }
    std::fprintf(f, "\n");
    std::fclose(f);
    ServerConfig config;
    config.cipher_suites.assign(kFuzzSuites.begin(), kFuzzSuites.end());
    config.psk_file = psk_file;
    // No state across inputs: tickets are stateless, a session cache is not.
    config.session_cache = false;
    UseRandom server(RandomParty::server);
    const Status s = ServerContext::create(config, *cookies, nullptr, context);
    std::remove(psk_file.c_str());
    rmdir(dir);
    if (!s) {
      fail("ServerContext: " + s.message());
    }
  }
  [[noreturn]] static void fail(const std::string& why) {
    std::fprintf(stderr, "handshake fuzz set-up: %s\n", why.c_str());
    std::abort();
  }
  std::unique_ptr<CookieMaker> cookies;
  std::unique_ptr<record::CryptoContext> crypto;
  std::shared_ptr<ServerContext> context;
};

// ---- Input ------------------------------------------------------------------

struct Selector {
  bool engine_mode = false;
  bool short_timers = false;
  long mtu = kFuzzMtus[0];
};

inline Selector decode_selector(uint8_t b) {
  return {(b & 1) != 0, (b & 2) != 0, kFuzzMtus[(b >> 2) & 3]};
}

inline uint8_t encode_selector(bool engine_mode, bool short_timers, size_t mtu_index) {
  return static_cast<uint8_t>((engine_mode ? 1 : 0) | (short_timers ? 2 : 0) |
                              ((mtu_index & 3) << 2));
}

struct Operation {
  bool tick = false;
  unsigned peer = 0;               // datagram
  std::chrono::milliseconds step;  // tick
  std::span<const uint8_t> datagram;
};

// Splits the input after the selector; at most kMaxOperations.
inline std::vector<Operation> parse_operations(std::span<const uint8_t> in) {
  std::vector<Operation> ops;
  size_t i = 0;
  while (i < in.size() && ops.size() < kMaxOperations) {
    const uint8_t h = in[i++];
    Operation op;
    if ((h & kTickFlag) != 0) {
      const unsigned n = h & 0x7f;
      op.tick = true;
      op.step = std::chrono::milliseconds(n * n);
    } else {
      op.peer = h & 1;
      size_t length = 0;
      if (i < in.size()) {
        length = size_t{in[i++]} << 8;
      }
      if (i < in.size()) {
        length |= in[i++];
      }
      length = std::min(length, in.size() - i);
      op.datagram = in.subspan(i, length);
      i += length;
    }
    ops.push_back(op);
  }
  return ops;
}

inline void append_datagram(std::vector<uint8_t>& input, unsigned peer,
                            std::span<const uint8_t> datagram) {
  input.push_back(static_cast<uint8_t>(peer & 1));
  input.push_back(static_cast<uint8_t>(datagram.size() >> 8));
  input.push_back(static_cast<uint8_t>(datagram.size()));
  input.insert(input.end(), datagram.begin(), datagram.end());
}

// A tick of n^2 ms.
inline void append_tick(std::vector<uint8_t>& input, unsigned n) {
  input.push_back(static_cast<uint8_t>(kTickFlag | (n & 0x7f)));
}

// ---- The driver -------------------------------------------------------------

// OpenSSL 3.0 takes a DTLS timer with less than 15 ms left as expired
// (dtls1_get_timeout), and its read loop retransmits on an expired timer
// before it looks for input: below 15 ms a server retransmits inside one
// call until its alert limit and fails. So no shorter timers.
inline EngineConfig fuzz_engine_config(const Selector& s) {
  EngineConfig c;
  c.initial_retransmission_timeout =
      s.short_timers ? std::chrono::microseconds(50ms) : std::chrono::microseconds(1s);
  c.max_retransmission_timeout =
      s.short_timers ? std::chrono::microseconds(200ms) : std::chrono::microseconds(4s);
  c.max_retransmissions = 3;
  c.handshake_timeout = 10s;
  c.path_mtu = s.mtu;
  c.max_final_flight_resends = 4;
  return c;
}

// Feeds one input's operations to a fresh table or engine, on a synthetic
// clock that OpenSSL reads too (fake_clock.h). Each call returns what the
// server sent, by peer.
class Driver {
 public:
  struct Sent {
    unsigned peer = 0;
    Datagram datagram;
  };

  Driver(FuzzServer& server, const Selector& selector)
      : server_(server), selector_(selector), now_(kStart) {
    reset_random(RandomParty::server);
    set_clock();
    if (!selector.engine_mode) {
      TableConfig c;
      c.max_handshakes = 4;
      c.max_handshakes_per_source = 2;
      c.engine = fuzz_engine_config(selector);
      UseRandom r(RandomParty::server);
      table_ = std::make_unique<HandshakeTable>(server.context, *server.crypto, c, now_);
    }
  }

  const Selector& selector() const { return selector_; }
  TimePoint now() const { return now_; }
  HandshakeTable* table() { return table_.get(); }
  HandshakeEngine* engine() { return engine_.get(); }
  // The table's answers to the last datagram or tick, for its checks.
  const std::optional<HandshakeTable::Result>& last_result() const { return last_result_; }
  const std::vector<HandshakeTable::TimerOutcome>& last_tick() const { return last_tick_; }
  unsigned last_peer() const { return last_peer_; }

  std::vector<Sent> datagram(unsigned peer, std::span<const uint8_t> d) {
    UseRandom r(RandomParty::server);
    std::vector<Sent> out;
    last_result_.reset();
    last_tick_.clear();
    last_peer_ = peer & 1;
    if (table_ != nullptr) {
      last_result_ = table_->on_datagram(fuzz_peer(peer), d, now_);
      add(out, peer, last_result_->to_send);
      return out;
    }
    if (engine_ == nullptr) {
      engine_ = HandshakeEngine::create(server_.context, *server_.crypto,
                                        fuzz_engine_config(selector_), fuzz_peer(0));
      add(out, 0, engine_->start(d, now_));
    } else {
      add(out, 0, engine_->on_datagram(d, now_));
    }
    return out;
  }

  std::vector<Sent> tick(std::chrono::milliseconds step) {
    UseRandom r(RandomParty::server);
    now_ += step;
    set_clock();
    std::vector<Sent> out;
    last_result_.reset();
    last_tick_.clear();
    if (table_ != nullptr) {
      last_tick_ = table_->tick(now_);
      for (const HandshakeTable::TimerOutcome& o : last_tick_) {
        add(out, o.peer == fuzz_peer(0) ? 0 : 1, o.result.to_send);
      }
    } else if (engine_ != nullptr && now_ >= engine_->next_deadline()) {
      add(out, 0, engine_->on_timer(now_));
    }
    return out;
  }

 private:
  static constexpr TimePoint kStart = TimePoint{} + 24h;

  void set_clock() {
    fake_clock_us() = kFakeClockStartUs +
                      std::chrono::duration_cast<std::chrono::microseconds>(now_ - kStart).count();
  }
  static constexpr int64_t kFakeClockStartUs = int64_t{1'700'000'000} * 1'000'000;

  static void add(std::vector<Sent>& out, unsigned peer, const std::vector<Datagram>& ds) {
    for (const Datagram& d : ds) {
      out.push_back({peer, d});
    }
  }

  FuzzServer& server_;
  Selector selector_;
  TimePoint now_;
  std::unique_ptr<HandshakeTable> table_;
  std::unique_ptr<HandshakeEngine> engine_;
  std::optional<HandshakeTable::Result> last_result_;
  std::vector<HandshakeTable::TimerOutcome> last_tick_;
  unsigned last_peer_ = 0;
};

// Past every deadline: the handshake timeout and any retransmission.
inline constexpr std::chrono::milliseconds kFinalTick = 20s;

}  // namespace dtlsgw::handshake::fuzz
