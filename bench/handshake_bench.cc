// The handshake benchmark (bench/README.md, "handshake"):
//
// hvr/...  HelloVerifyRequests: dtlsgw's dataplane path (parse_client_hello
//          + CookieMaker::build_hello_verify_request) against HMAC-SHA-256
//          of the same MAC input bytes on IPsec-MB's job API, one message
//          per call (the ceiling: the faster of the auto-detected manager
//          CookieMaker uses and the SSE one), interleaved batch by batch;
//          a multi-buffer burst and OpenSSL's HMAC beside them.
// full/... Server CPU time per full DTLS 1.2 handshake: dtlsgw's control
//          path (HandshakeTable from the cookie ClientHello to the
//          handover) against a bare OpenSSL server, same client, same
//          certificate, same suite, interleaved handshake by handshake.
//
// Every benchmark reports ratios against its ceiling measured in the same
// run (STYLE.md rule 11); the times are printed to read the ratios by.
#include <benchmark/benchmark.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/cookie_mac.h"
#include "bench/dtls_peers.h"
#include "bench/handshake_servers.h"
#include "dtls_record/crypto_context.h"
#include "handshake/client_hello.h"
#include "handshake/cookie.h"
#include "handshake/server_context.h"

namespace dtlsgw::bench {
namespace {

using handshake::ClientHello;
using handshake::ClientHelloResult;
using handshake::CookieMaker;
using handshake::PeerAddress;
using SteadyClock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  if (v.empty()) {
    return 0;
  }
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(mid), v.end());
  return v[mid];
}

// The median over iterations of a[i] / b[i]: both samples of an iteration
// ran back to back, so a slow spell of this shared machine that hits both
// cancels out (as in record_bench.cc).
double paired_ratio(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> r;
  r.reserve(std::min(a.size(), b.size()));
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (b[i] > 0) {
      r.push_back(a[i] / b[i]);
    }
  }
  return median(std::move(r));
}

// For profiling one contender alone (bench/README.md): a comma-separated
// list of names in HANDSHAKE_BENCH_CONTENDERS keeps only those.
bool selected(const std::string& name) {
  const char* env = std::getenv("HANDSHAKE_BENCH_CONTENDERS");
  if (env == nullptr || *env == '\0') {
    return true;
  }
  return (std::string(",") + env + ",").find("," + name + ",") != std::string::npos;
}

// ============================================================================
// HelloVerifyRequests
// ============================================================================

constexpr size_t kHelloPool = 256;  // ClientHellos per pool, one batch
constexpr size_t kBurst = 32;       // a dataplane burst

enum class HelloKind { openssl, coap };

// What a constrained CoAP device sends (RFC 7925 §4.3, §16; RFC 7252
// §9.1.3.1): DTLS 1.2, one suite, TLS_PSK_WITH_AES_128_CCM_8, null
// compression, and only the extended_master_secret extension (RFC 7627,
// which RFC 7925 §16 asks for). 73 bytes on the wire.
Datagram coap_client_hello(uint64_t sequence) {
  Datagram d = {
      22,   0xfe, 0xfd,            // handshake, DTLS 1.2
      0,    0,                     // epoch 0
      0,    0,    0,    0,  0, 0,  // sequence number, set below
      0,    60,                    // record length
      1,    0,    0,    48,        // client_hello, length 48
      0,    0,                     // message_seq 0
      0,    0,    0,               // fragment_offset 0
      0,    0,    48,              // fragment_length 48
      0xfe, 0xfd,                  // client_version DTLS 1.2
  };
  Datagram random(32);
  RAND_bytes(random.data(), static_cast<int>(random.size()));
  d.insert(d.end(), random.begin(), random.end());
  const uint8_t rest[] = {
      0,                       // session_id<0..32>: empty
      0,                       // cookie: empty
      0,    2,    0xc0, 0xa8,  // cipher_suites: TLS_PSK_WITH_AES_128_CCM_8
      1,    0,                 // compression_methods: null
      0,    4,                 // extensions length
      0x00, 0x17, 0,    0,     // extended_master_secret, empty
  };
  d.insert(d.end(), std::begin(rest), std::end(rest));
  for (int i = 0; i < 6; ++i) {
    d[5 + i] = static_cast<uint8_t>(sequence >> (8 * (5 - i)));
  }
  return d;
}

// kHelloPool ClientHellos, each from its own peer, with what every
// contender needs built beforehand (outside any timed region): the
// datagrams for dtlsgw, the MAC inputs for the raw HMACs, output slots.
struct HelloPool {
  std::vector<Datagram> datagrams;
  std::vector<PeerAddress> peers;
  std::vector<std::vector<uint8_t>> mac_inputs;
  std::vector<const uint8_t*> input_pointers;
  std::vector<size_t> input_lengths;
  std::vector<std::array<uint8_t, 64>> replies;  // HelloVerifyRequests
  std::vector<std::array<uint8_t, kCookieTagLength>> tags;
  std::vector<uint8_t*> tag_pointers;
  std::string error;

  HelloPool(HelloKind kind, bool ipv6) {
    std::unique_ptr<ClientContext> client_context;
    if (kind == HelloKind::openssl) {
      // A real first ClientHello (no cookie) of OpenSSL's DTLS 1.2 client
      // with its default settings; each from a fresh client, so each
      // carries its own random.
      client_context = ClientContext::create({"DEFAULT", "", false}, error);
      if (client_context == nullptr) {
        return;
      }
    }
    for (size_t i = 0; i < kHelloPool; ++i) {
      Datagram d;
      if (kind == HelloKind::openssl) {
        Client client(*client_context, server_peer());
        std::vector<Datagram> first = client.step();
        if (!client.ok() || first.size() != 1) {
          error = "OpenSSL client wrote no single ClientHello datagram";
          return;
        }
        d = std::move(first[0]);
      } else {
        d = coap_client_hello(i);
      }
      const PeerAddress peer = client_peer(i, ipv6);
      mac_inputs.push_back(cookie_mac_input(d, peer));
      if (mac_inputs.back().empty()) {
        error = "ClientHello too short for its fields";
        return;
      }
      datagrams.push_back(std::move(d));
      peers.push_back(peer);
    }
    replies.resize(kHelloPool);
    tags.resize(kHelloPool);
    for (size_t i = 0; i < kHelloPool; ++i) {
      input_pointers.push_back(mac_inputs[i].data());
      input_lengths.push_back(mac_inputs[i].size());
      tag_pointers.push_back(tags[i].data());
    }
  }
};

// One contender: runs the whole pool, returns how many succeeded;
// `samples` holds ns per ClientHello, one per batch.
struct Contender {
  Contender(std::string contender_name, std::function<size_t()> body)
      : name(std::move(contender_name)), run(std::move(body)) {}
  std::string name;
  std::function<size_t()> run;
  std::vector<double> samples;
};

void bm_hello_verify_request(benchmark::State& state, HelloKind kind, bool ipv6) {
  HelloPool pool(kind, ipv6);
  if (!pool.error.empty()) {
    state.SkipWithError(pool.error.c_str());
    return;
  }
  handshake::CookieSecrets secrets;
  auto cookies = CookieMaker::create();
  if (cookies == nullptr || !handshake::rotate_cookie_secret(secrets)) {
    state.SkipWithError("CookieMaker");
    return;
  }
  cookies->set_secrets(secrets);
  const std::span<const uint8_t> key(secrets.current.key);
  auto imb = ImbHmacSha256::create(key);
  auto imb_sse = ImbHmacSha256::create(key, ImbManager::sse);
  auto evp = OpensslHmacSha256::create(key);
  if (imb == nullptr || imb_sse == nullptr || evp == nullptr) {
    state.SkipWithError("HMAC engines");
    return;
  }

  // Validation, untimed: dtlsgw's reply is a HelloVerifyRequest no larger
  // than the ClientHello, and every ceiling computes the MAC carried in its
  // cookie (so the rebuilt input is exactly what dtlsgw hashes).
  constexpr size_t kReply = CookieMaker::kHelloVerifyRequestLength;
  constexpr size_t kCookieAt = kReply - handshake::kCookieLength;
  size_t hello_bytes = 0;
  size_t input_bytes = 0;
  for (size_t i = 0; i < kHelloPool; ++i) {
    ClientHello hello;
    uint8_t a[kCookieTagLength];
    uint8_t b[kCookieTagLength];
    uint8_t c[kCookieTagLength];
    uint8_t e[kCookieTagLength];
    if (parse_client_hello(pool.datagrams[i], hello) != ClientHelloResult::ok ||
        cookies->build_hello_verify_request(pool.peers[i], hello, pool.replies[i]) != kReply ||
        !imb->mac_one(pool.input_pointers[i], pool.input_lengths[i], a) ||
        !evp->mac(pool.input_pointers[i], pool.input_lengths[i], b) ||
        !openssl_hmac_oneshot(key, pool.input_pointers[i], pool.input_lengths[i], c) ||
        !imb_sse->mac_one(pool.input_pointers[i], pool.input_lengths[i], e) ||
        std::memcmp(a, e, kCookieTagLength) != 0 ||
        std::memcmp(a, pool.replies[i].data() + kCookieAt + 1, kCookieTagLength) != 0 ||
        std::memcmp(a, b, kCookieTagLength) != 0 || std::memcmp(a, c, kCookieTagLength) != 0) {
      state.SkipWithError("a ceiling's MAC differs from dtlsgw's cookie");
      return;
    }
    hello_bytes += pool.datagrams[i].size();
    input_bytes += pool.input_lengths[i];
  }
  std::vector<std::array<uint8_t, kCookieTagLength>> burst_tags(kHelloPool);
  std::vector<uint8_t*> burst_pointers;
  for (auto& t : burst_tags) {
    burst_pointers.push_back(t.data());
  }
  if (imb->mac_many(pool.input_pointers.data(), pool.input_lengths.data(), burst_pointers.data(),
                    kHelloPool) != kHelloPool) {
    state.SkipWithError("imb_job_burst32 failed");
    return;
  }
  for (size_t i = 0; i < kHelloPool; ++i) {
    if (std::memcmp(burst_tags[i].data(), pool.replies[i].data() + kCookieAt + 1,
                    kCookieTagLength) != 0) {
      state.SkipWithError("imb_job_burst32's MAC differs from dtlsgw's cookie");
      return;
    }
  }

  std::vector<Contender> cs;
  cs.emplace_back("dtlsgw", [&] {
    size_t ok = 0;
    for (size_t i = 0; i < kHelloPool; ++i) {
      ClientHello hello;
      ok += parse_client_hello(pool.datagrams[i], hello) == ClientHelloResult::ok &&
            cookies->build_hello_verify_request(pool.peers[i], hello, pool.replies[i]) == kReply;
    }
    return ok;
  });
  cs.emplace_back("parse", [&] {
    size_t ok = 0;
    for (size_t i = 0; i < kHelloPool; ++i) {
      ClientHello hello;
      ok += parse_client_hello(pool.datagrams[i], hello) == ClientHelloResult::ok;
      benchmark::DoNotOptimize(hello);
    }
    return ok;
  });
  cs.emplace_back("imb_job", [&] {
    size_t ok = 0;
    for (size_t i = 0; i < kHelloPool; ++i) {
      ok += imb->mac_one(pool.input_pointers[i], pool.input_lengths[i], pool.tag_pointers[i]);
    }
    return ok;
  });
  cs.emplace_back("imb_job_sse", [&] {
    size_t ok = 0;
    for (size_t i = 0; i < kHelloPool; ++i) {
      ok += imb_sse->mac_one(pool.input_pointers[i], pool.input_lengths[i], pool.tag_pointers[i]);
    }
    return ok;
  });
  cs.emplace_back("imb_job_burst32", [&] {
    size_t ok = 0;
    for (size_t i = 0; i < kHelloPool; i += kBurst) {
      ok += imb->mac_many(pool.input_pointers.data() + i, pool.input_lengths.data() + i,
                          pool.tag_pointers.data() + i, kBurst);
    }
    return ok;
  });
  cs.emplace_back("evp_mac", [&] {
    size_t ok = 0;
    for (size_t i = 0; i < kHelloPool; ++i) {
      ok += evp->mac(pool.input_pointers[i], pool.input_lengths[i], pool.tag_pointers[i]);
    }
    return ok;
  });
  cs.emplace_back("hmac", [&] {
    size_t ok = 0;
    for (size_t i = 0; i < kHelloPool; ++i) {
      ok += openssl_hmac_oneshot(key, pool.input_pointers[i], pool.input_lengths[i],
                                 pool.tag_pointers[i]);
    }
    return ok;
  });

  std::erase_if(cs, [](const Contender& c) { return !selected(c.name); });

  // One iteration: the whole pool once per contender, in an order rotated
  // by one each iteration; only the contender's loop between the clock reads.
  size_t iteration = 0;
  for (auto _ : state) {
    double seconds = 0;
    for (size_t k = 0; k < cs.size(); ++k) {
      Contender& c = cs[(k + iteration) % cs.size()];
      const auto t0 = SteadyClock::now();
      const size_t ok = c.run();
      const auto t1 = SteadyClock::now();
      const double s = std::chrono::duration<double>(t1 - t0).count();
      seconds += s;
      c.samples.push_back(s * 1e9 / kHelloPool);
      if (ok != kHelloPool) [[unlikely]] {
        state.SkipWithError((c.name + ": a ClientHello failed").c_str());
        return;
      }
    }
    state.SetIterationTime(seconds);
    ++iteration;
  }

  const auto dtlsgw =
      std::find_if(cs.begin(), cs.end(), [](const Contender& c) { return c.name == "dtlsgw"; });
  for (const Contender& c : cs) {
    state.counters["ns_" + c.name] = median(c.samples);
    if (dtlsgw != cs.end()) {
      // ceiling time / dtlsgw time, paired per iteration.
      state.counters["ratio_" + c.name] = paired_ratio(c.samples, dtlsgw->samples);
    }
  }
  // The target's ceiling: the fastest way to MAC one message at a time on
  // IPsec-MB's job API (the auto-detected manager CookieMaker uses, or the
  // SSE one), as record_bench takes the fastest raw interface.
  const Contender* best = nullptr;
  for (const Contender& c : cs) {
    if ((c.name == "imb_job" || c.name == "imb_job_sse") &&
        (best == nullptr || median(c.samples) < median(best->samples))) {
      best = &c;
    }
  }
  if (best != nullptr && dtlsgw != cs.end()) {
    state.counters["ratio"] = paired_ratio(best->samples, dtlsgw->samples);
    state.counters["ns_raw_best"] = median(best->samples);
    state.counters["raw_best_is_sse"] = best->name == "imb_job_sse" ? 1 : 0;
  }
  state.counters["hello_bytes"] = static_cast<double>(hello_bytes) / kHelloPool;
  state.counters["mac_input_bytes"] = static_cast<double>(input_bytes) / kHelloPool;
  state.counters["hvr_bytes"] = kReply;
  state.counters["amplification"] = kReply * kHelloPool / static_cast<double>(hello_bytes);
  const double ip_udp = static_cast<double>(handshake::udp_overhead(pool.peers[0].family));
  state.counters["amplification_ip"] =
      (kReply + ip_udp) / (static_cast<double>(hello_bytes) / kHelloPool + ip_udp);
}

// ============================================================================
// Full handshakes
// ============================================================================

struct SuiteSpec {
  const char* openssl_name;  // benchmark name, server and client cipher list
  uint16_t iana_id;
  bool psk;
  // Handshakes per server and run (Google Benchmark iterations): a fixed
  // number, so that every run fills the servers' session caches alike.
  int handshakes;
};

constexpr SuiteSpec kSuites[] = {
    {"ECDHE-ECDSA-AES128-GCM-SHA256", 0xc02b, false, 600},
    {"PSK-AES128-CCM8", 0xc0a8, true, 2000},
    {"PSK-AES128-GCM-SHA256", 0x00a8, true, 2000},
};

// HANDSHAKE_BENCH_HANDSHAKES overrides the per-suite count (bench/README.md).
int handshakes_per_run(const SuiteSpec& spec) {
  const char* env = std::getenv("HANDSHAKE_BENCH_HANDSHAKES");
  const int n = env != nullptr ? std::atoi(env) : 0;
  return n > 0 ? n : spec.handshakes;
}

struct Measured {
  Measured(std::string server_name, std::unique_ptr<ServerUnderTest> s)
      : name(std::move(server_name)), server(std::move(s)) {}
  std::string name;
  std::unique_ptr<ServerUnderTest> server;
  std::vector<double> total_us;
  std::vector<double> flight_us[2];
};

void bm_full_handshake(benchmark::State& state, SuiteSpec spec) {
  const BenchCredentials& creds = bench_credentials();
  std::string why;
  // The one client: offers just this suite, and P-256 as its only group so
  // that ECDHE runs on P-256 like the certificate (OpenSSL would pick
  // X25519 otherwise).
  auto client_context = ClientContext::create({spec.openssl_name, "P-256", spec.psk}, why);
  if (client_context == nullptr) {
    state.SkipWithError(why.c_str());
    return;
  }

  // dtlsgw: cookie secrets shared by the dataplane's CookieMaker and the
  // control process's ServerContext (one object here), the control
  // thread's crypto context, one handshake table.
  handshake::CookieSecrets secrets;
  auto cookies = CookieMaker::create();
  auto crypto = record::CryptoContext::create();
  if (cookies == nullptr || crypto == nullptr || !handshake::rotate_cookie_secret(secrets)) {
    state.SkipWithError("CookieMaker or CryptoContext");
    return;
  }
  cookies->set_secrets(secrets);
  handshake::ServerConfig config;
  config.cipher_suites = {spec.openssl_name};
  config.certificates = {creds.ecdsa};
  config.psk_file = spec.psk ? creds.psk_file : "";
  std::shared_ptr<handshake::ServerContext> context;
  if (handshake::Status s = handshake::ServerContext::create(config, *cookies, nullptr, context);
      !s) {
    state.SkipWithError(("ServerContext: " + s.message()).c_str());
    return;
  }

  // Bare OpenSSL, configured alike; a context per variant, as dtlsgw has
  // its own (session cache, ticket keys).
  BareServerConfig bare_config;
  bare_config.cipher_suite = spec.openssl_name;
  bare_config.psk = spec.psk;
  auto bare_listen = BareServer::create(bare_config, why);
  auto bare_plain = BareServer::create(bare_config, why);
  if (bare_listen == nullptr || bare_plain == nullptr) {
    state.SkipWithError(why.c_str());
    return;
  }

  std::vector<Measured> servers;
  servers.emplace_back("dtlsgw", make_dtlsgw_server(*cookies, context, *crypto, spec.iana_id));
  servers.emplace_back("dtlsgw_engine",
                       make_dtlsgw_engine_server(*cookies, context, *crypto, spec.iana_id));
  servers.emplace_back("bare", make_bare_listen_server(std::move(bare_listen), spec.iana_id));
  servers.emplace_back("bare_nocookie",
                       make_bare_nocookie_server(std::move(bare_plain), spec.iana_id));

  std::erase_if(servers, [](const Measured& m) { return !selected(m.name); });

  // What an empty timed region costs (two clock reads: a system call
  // each on this VM), subtracted from every region.
  std::vector<double> clock_ns;
  for (int i = 0; i < 101; ++i) {
    const int64_t t0 = thread_cpu_ns();
    const int64_t t1 = thread_cpu_ns();
    clock_ns.push_back(static_cast<double>(t1 - t0));
  }
  const auto empty_region_ns = static_cast<int64_t>(median(clock_ns));

  // Warm-up, untimed: first handshakes pay for OpenSSL's lazy set-up
  // (provider fetches, the caches' first allocations).
  size_t n = 0;
  for (int i = 0; i < 4; ++i) {
    for (Measured& m : servers) {
      ServerCpu ignored;
      if (!m.server->handshake(*client_context, n++, empty_region_ns, ignored, why)) {
        state.SkipWithError((m.name + " (warm-up): " + why).c_str());
        return;
      }
    }
  }

  // One iteration: one handshake per server, in an order rotated by one
  // each iteration; Google Benchmark's time is the servers' CPU time.
  size_t iteration = 0;
  for (auto _ : state) {
    double seconds = 0;
    for (size_t k = 0; k < servers.size(); ++k) {
      Measured& m = servers[(k + iteration) % servers.size()];
      ServerCpu cpu;
      if (!m.server->handshake(*client_context, n++, empty_region_ns, cpu, why)) [[unlikely]] {
        state.SkipWithError((m.name + ": " + why).c_str());
        return;
      }
      seconds += static_cast<double>(cpu.total()) * 1e-9;
      m.total_us.push_back(static_cast<double>(cpu.total()) * 1e-3);
      m.flight_us[0].push_back(static_cast<double>(cpu.flight[0]) * 1e-3);
      m.flight_us[1].push_back(static_cast<double>(cpu.flight[1]) * 1e-3);
    }
    state.SetIterationTime(seconds);
    ++iteration;
  }

  const auto find = [&servers](const char* name) -> const Measured* {
    for (const Measured& m : servers) {
      if (m.name == name) {
        return &m;
      }
    }
    return nullptr;
  };
  const Measured* dtlsgw = find("dtlsgw");
  const Measured* bare = find("bare");
  const Measured* bare_nocookie = find("bare_nocookie");
  for (const Measured& m : servers) {
    state.counters["us_" + m.name] = median(m.total_us);
    state.counters["us_" + m.name + "_flight1"] = median(m.flight_us[0]);
    state.counters["us_" + m.name + "_flight2"] = median(m.flight_us[1]);
    if (dtlsgw != nullptr) {
      // dtlsgw time / this server's time, paired per iteration.
      state.counters["ratio_" + m.name] = paired_ratio(dtlsgw->total_us, m.total_us);
    }
  }
  if (dtlsgw != nullptr && bare != nullptr) {
    // The target: dtlsgw / bare OpenSSL with its own cookie exchange.
    state.counters["ratio"] = paired_ratio(dtlsgw->total_us, bare->total_us);
    state.counters["ratio_flight1"] = paired_ratio(dtlsgw->flight_us[0], bare->flight_us[0]);
    state.counters["ratio_flight2"] = paired_ratio(dtlsgw->flight_us[1], bare->flight_us[1]);
  }
  if (const Measured* engine = find("dtlsgw_engine"); engine != nullptr && bare != nullptr) {
    state.counters["ratio_engine_vs_bare"] = paired_ratio(engine->total_us, bare->total_us);
  }
  if (bare != nullptr && bare_nocookie != nullptr) {
    state.counters["ratio_bare_cookie_cost"] =
        paired_ratio(bare->total_us, bare_nocookie->total_us);
  }
  state.counters["handshakes_per_server"] = static_cast<double>(iteration);
  state.counters["ns_empty_region"] = static_cast<double>(empty_region_ns);
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  }
  return "unknown";
}

void register_all() {
  for (HelloKind kind : {HelloKind::openssl, HelloKind::coap}) {
    for (bool ipv6 : {false, true}) {
      const std::string name = std::string("hvr/") +
                               (kind == HelloKind::openssl ? "openssl_default" : "coap_psk_ccm8") +
                               (ipv6 ? "/ipv6" : "/ipv4");
      benchmark::RegisterBenchmark(name.c_str(), bm_hello_verify_request, kind, ipv6)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  for (const SuiteSpec& spec : kSuites) {
    const std::string name = std::string("full/") + spec.openssl_name;
    benchmark::RegisterBenchmark(name.c_str(), bm_full_handshake, spec)
        ->Iterations(handshakes_per_run(spec))
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace
}  // namespace dtlsgw::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  auto ctx = dtlsgw::record::CryptoContext::create();
  const std::vector<uint8_t> key(32, 1);
  auto imb = dtlsgw::bench::ImbHmacSha256::create(key);
  auto imb_sse = dtlsgw::bench::ImbHmacSha256::create(key, dtlsgw::bench::ImbManager::sse);
  if (!ctx || !imb || !imb_sse) {
    std::fprintf(stderr, "handshake_bench: IPsec-MB cannot run on this CPU\n");
    return 1;
  }
  dtlsgw::bench::bench_credentials();  // made before any timing
  benchmark::AddCustomContext("cpu_model", dtlsgw::bench::cpu_model());
  benchmark::AddCustomContext("ipsec_mb_arch", imb->arch_name());
  benchmark::AddCustomContext("ipsec_mb_sse_arch", imb_sse->arch_name());
  benchmark::AddCustomContext("ipsec_mb_version", dtlsgw::bench::ImbHmacSha256::version());
  benchmark::AddCustomContext("openssl_version", OpenSSL_version(OPENSSL_VERSION));
  dtlsgw::bench::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
