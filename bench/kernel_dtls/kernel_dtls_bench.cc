// What a user would deploy instead of dtlsgw: an OpenSSL DTLS 1.2 server
// on a kernel UDP socket. Measures records per second per receiving core
// (bench/kernel_dtls/README.md has the whole method):
//
//   client → server: a client thread pinned to one core SSL_writes
//       application-data records over loopback as fast as it can; the
//       server thread, pinned to the other core, SSL_reads them from its
//       connected socket (one recvmsg and one AEAD open per record, as
//       OpenSSL 3.0's datagram BIO does). Figure: records the server read
//       / the server thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so
//       neither the client's speed nor the other tenants of the machine
//       enter it, only what the server's core spent per record.
//         prefilled:  each round, the client first queues a round of
//                     records in the server's socket, then the server
//                     drains them: a saturated server, which never sleeps
//                     (the regime the dtlsgw data path is measured in).
//         concurrent: the server reads while the client sends; when it
//                     catches up it sleeps in recvmsg and pays the wake-up.
//   server → client: the server thread SSL_writes (one AEAD seal and one
//       sendmsg per record) while the client reads. Figure: records
//       written / server thread CPU time.
//
// AES-128-GCM (PSK-AES128-GCM-SHA256), plaintexts of 64, 256, 1024 and
// 1400 bytes. Output: a table, and JSON with --json FILE.
//
// The ceiling, in the same run (STYLE.md rule 11): after each round the
// server thread runs OpenSSL's AES-128-GCM alone, as libssl drives it, on
// as many records of the size (openssl_gcm.h); "AEAD share" = its time /
// the server's time per record.
//
// Loopback attributes the kernel's IP/UDP receive processing (the softirq
// of loopback_xmit's netif_rx) to the *sending* thread: the client → server
// figure leaves that work out of the server's time (an upper bound for a
// receiving core, which on a NIC runs it itself), the server → client one
// charges it to the server. Both are read with that in mind.
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/kernel_dtls/dtls_udp_pair.h"
#include "bench/kernel_dtls/openssl_gcm.h"

namespace dtlsgw::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kSizes[] = {64, 256, 1024, 1400};
// Records per round: small enough that a round queued in the server's
// socket fits its receive buffer (about 2.3 KiB of skb truesize per
// 1400-byte record on loopback: 4096 records ≈ 10 MB).
constexpr uint32_t kRoundRecords = 4096;
constexpr int kReceiveBuffer = 32 << 20;
// Each record's first 8 bytes: round number and index within the round,
// so that a record left over from a round that timed out is not counted
// in the next one.
constexpr size_t kTagLength = 8;
constexpr auto kRetryWindow = std::chrono::seconds(10);

enum class Kind : uint8_t { read_prefilled, read_concurrent, write };

const char* direction_name(Kind k) {
  return k == Kind::write ? "server_to_client" : "client_to_server";
}
const char* mode_name(Kind k) {
  switch (k) {
    case Kind::read_prefilled:
      return "prefilled";
    case Kind::read_concurrent:
      return "concurrent";
    case Kind::write:
      return "write";
  }
  return "?";
}

struct Options {
  std::string json;
  double seconds = 0.5;  // per configuration and pass
  int passes = 3;
  int server_cpu = -1;
  int client_cpu = -1;
  bool quick = false;
};

// What one round asks of both threads.
struct RoundSpec {
  Kind kind = Kind::read_prefilled;
  size_t size = 0;
  uint32_t count = 0;
  uint32_t round = 0;
  bool stop = false;
};

// What one side did in one round.
struct SideResult {
  uint64_t records = 0;  // read (reader) or written (writer)
  uint64_t stale = 0;    // read, but from an earlier round
  uint64_t bad = 0;      // wrong length or out of order: a failure
  uint64_t cpu_ns = 0;
  uint64_t raw_cpu_ns = 0;  // the server only: OpensslGcm on `records` records
  bool raw_ok = true;
};

uint64_t thread_cpu_ns() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1000000000u + static_cast<uint64_t>(t.tv_nsec);
}

bool pin(int cpu) {
  if (cpu < 0) {
    return false;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

void write_tag(uint8_t* p, uint32_t round, uint32_t index) {
  std::memcpy(p, &round, 4);
  std::memcpy(p + 4, &index, 4);
}

// SSL_writes `count` records of `size` bytes.
SideResult write_records(SSL* ssl, const RoundSpec& spec, std::vector<uint8_t>& buffer) {
  SideResult r;
  const uint64_t start = thread_cpu_ns();
  for (uint32_t i = 0; i < spec.count; ++i) {
    write_tag(buffer.data(), spec.round, i);
    if (SSL_write(ssl, buffer.data(), static_cast<int>(spec.size)) == static_cast<int>(spec.size)) {
      ++r.records;
    }
  }
  r.cpu_ns = thread_cpu_ns() - start;
  return r;
}

// SSL_reads until `count` records of this round arrived or none came for
// DtlsUdpPair::kReceiveTimeoutMs (the rest were lost).
SideResult read_records(SSL* ssl, const RoundSpec& spec, std::vector<uint8_t>& buffer) {
  SideResult r;
  int64_t last_index = -1;
  const uint64_t start = thread_cpu_ns();
  while (r.records < spec.count) {
    const int n = SSL_read(ssl, buffer.data(), static_cast<int>(buffer.size()));
    if (n <= 0) {
      break;  // the receive timeout (SSL_ERROR_WANT_READ) or an error
    }
    uint32_t round = 0;
    uint32_t index = 0;
    if (n >= static_cast<int>(kTagLength)) {
      std::memcpy(&round, buffer.data(), 4);
      std::memcpy(&index, buffer.data() + 4, 4);
    }
    if (static_cast<size_t>(n) != spec.size) {
      ++r.bad;
    } else if (round != spec.round) {
      ++r.stale;
    } else if (static_cast<int64_t>(index) <= last_index) {
      ++r.bad;  // loopback keeps the order; a duplicate would be a bug
    } else {
      last_index = index;
      ++r.records;
    }
  }
  r.cpu_ns = thread_cpu_ns() - start;
  return r;
}

// The state both threads share with the main thread.
struct Shared {
  DtlsUdpPair* pair = nullptr;
  std::barrier<> sync{3};
  RoundSpec spec;
  std::atomic<uint32_t> client_sent_round{0};
  SideResult server;
  SideResult client;
  std::string server_error;
  std::string client_error;
  bool server_pinned = false;
  bool client_pinned = false;
};

void server_thread(Shared& s, int cpu) {
  s.server_pinned = pin(cpu);
  s.server_error = s.pair->server_handshake();
  s.sync.arrive_and_wait();
  std::vector<uint8_t> buffer(2048, 0x5a);
  std::map<size_t, std::unique_ptr<OpensslGcm>> raw;
  for (;;) {
    s.sync.arrive_and_wait();  // round posted
    const RoundSpec spec = s.spec;
    if (spec.stop) {
      return;
    }
    if (spec.kind == Kind::write) {
      s.server = write_records(s.pair->server(), spec, buffer);
    } else {
      if (spec.kind == Kind::read_prefilled) {
        // Not timed: the client queues the whole round first.
        uint32_t seen = s.client_sent_round.load();
        while (seen != spec.round) {
          s.client_sent_round.wait(seen);
          seen = s.client_sent_round.load();
        }
      }
      s.server = read_records(s.pair->server(), spec, buffer);
    }
    // The ceiling, right after, on the same core: the bare AEAD on as
    // many records of the same size (open for reads, seal for writes).
    std::unique_ptr<OpensslGcm>& gcm = raw[spec.size];
    if (!gcm) {
      gcm = std::make_unique<OpensslGcm>(spec.size);
    }
    const uint64_t start = thread_cpu_ns();
    const auto n = static_cast<uint32_t>(s.server.records);
    s.server.raw_ok = gcm->ok() && (spec.kind == Kind::write ? gcm->seal(n) : gcm->open(n));
    s.server.raw_cpu_ns = thread_cpu_ns() - start;
    s.sync.arrive_and_wait();  // round done
  }
}

void client_thread(Shared& s, int cpu) {
  s.client_pinned = pin(cpu);
  s.client_error = s.pair->client_handshake();
  s.sync.arrive_and_wait();
  std::vector<uint8_t> buffer(2048, 0xa5);
  for (;;) {
    s.sync.arrive_and_wait();
    const RoundSpec spec = s.spec;
    if (spec.stop) {
      return;
    }
    if (spec.kind == Kind::write) {
      s.client = read_records(s.pair->client(), spec, buffer);
    } else {
      s.client = write_records(s.pair->client(), spec, buffer);
      s.client_sent_round.store(spec.round);
      s.client_sent_round.notify_all();
    }
    s.sync.arrive_and_wait();
  }
}

// One configuration's totals over one pass.
struct PassTotals {
  uint64_t server_records = 0;  // read by the server, or written by it
  uint64_t client_records = 0;  // written by the client, or read by it
  uint64_t server_cpu_ns = 0;
  uint64_t client_cpu_ns = 0;
  uint64_t raw_cpu_ns = 0;  // OpensslGcm on server_records records
  uint64_t stale = 0;
  uint64_t bad = 0;
  double rate() const {
    return server_cpu_ns == 0 ? 0 : 1e9 * static_cast<double>(server_records) / server_cpu_ns;
  }
  // The bare AEAD's time over the server's, on the same records: the share
  // of a record's cost that is the cryptography (STYLE.md rule 11).
  double aead_share() const {
    return server_cpu_ns == 0 ? 0 : static_cast<double>(raw_cpu_ns) / server_cpu_ns;
  }
};

struct Configuration {
  Kind kind;
  size_t size;
  uint32_t round_records = kRoundRecords;
  std::vector<PassTotals> passes;

  uint64_t lost() const {
    uint64_t n = 0;
    for (const PassTotals& p : passes) {
      // Sent minus received, whichever side sent.
      const uint64_t sent = kind == Kind::write ? p.server_records : p.client_records;
      const uint64_t received = kind == Kind::write ? p.client_records : p.server_records;
      n += sent > received ? sent - received : 0;
    }
    return n;
  }
  PassTotals median_pass() const {
    std::vector<PassTotals> v = passes;
    std::sort(v.begin(), v.end(),
              [](const PassTotals& a, const PassTotals& b) { return a.rate() < b.rate(); });
    return v[v.size() / 2];
  }
  double median_aead_share() const {
    std::vector<double> v;
    for (const PassTotals& p : passes) {
      v.push_back(p.aead_share());
    }
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }
};

bool parse_options(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--json" && has_value) {
      o.json = argv[++i];
    } else if (a == "--seconds" && has_value) {
      o.seconds = std::atof(argv[++i]);
    } else if (a == "--passes" && has_value) {
      o.passes = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--server-cpu" && has_value) {
      o.server_cpu = std::atoi(argv[++i]);
    } else if (a == "--client-cpu" && has_value) {
      o.client_cpu = std::atoi(argv[++i]);
    } else if (a == "--quick") {
      o.quick = true;
      o.seconds = 0.02;
      o.passes = 1;
    } else {
      std::fprintf(stderr,
                   "usage: kernel_dtls_bench [--json FILE] [--seconds S] [--passes N]\n"
                   "                         [--server-cpu N] [--client-cpu N] [--quick]\n"
                   "  --seconds  timed work per configuration and pass (default 0.5)\n"
                   "  --passes   passes over every configuration; the median is reported "
                   "(default 3)\n"
                   "  --quick    one short pass (a smoke test)\n");
      return false;
    }
  }
  return true;
}

// The first two CPUs this process may run on, unless given.
void choose_cpus(Options& o) {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> allowed;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) {
        allowed.push_back(c);
      }
    }
  }
  if (o.server_cpu < 0 && allowed.size() >= 2) {
    o.server_cpu = allowed[0];
  }
  if (o.client_cpu < 0 && allowed.size() >= 2) {
    o.client_cpu = allowed[1];
  }
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  }
  return "unknown";
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    if (static_cast<unsigned char>(c) >= 0x20) {
      out += c;
    }
  }
  return out;
}

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string load_average() {
  double l[3] = {};
  return getloadavg(l, 3) == 3
             ? std::to_string(l[0]) + " " + std::to_string(l[1]) + " " + std::to_string(l[2])
             : "unknown";
}

void print_table(const std::vector<Configuration>& configs) {
  std::printf(
      "| direction        | mode       | bytes | records/s per server core | server ns/record "
      "| bare AEAD ns | AEAD share | client ns/record | records   | lost |\n"
      "|------------------|------------|-------|---------------------------|------------------"
      "|--------------|------------|------------------|-----------|------|\n");
  for (const Configuration& c : configs) {
    const PassTotals m = c.median_pass();
    const double server_ns = m.server_records == 0 ? 0 : double(m.server_cpu_ns) / m.server_records;
    const double client_ns = m.client_records == 0 ? 0 : double(m.client_cpu_ns) / m.client_records;
    uint64_t records = 0;
    for (const PassTotals& p : c.passes) {
      records += p.server_records;
    }
    const double raw_ns = m.server_records == 0 ? 0 : double(m.raw_cpu_ns) / m.server_records;
    std::printf(
        "| %-16s | %-10s | %5zu | %25.0f | %16.0f | %12.0f | %10.3f | %16.0f | %9llu | %4llu |\n",
        direction_name(c.kind), mode_name(c.kind), c.size, m.rate(), server_ns, raw_ns,
        c.median_aead_share(), client_ns, static_cast<unsigned long long>(records),
        static_cast<unsigned long long>(c.lost()));
  }
}

bool write_json(const std::string& path, const std::vector<Configuration>& configs, const Shared& s,
                const Options& o, const std::string& started) {
  std::ofstream f(path);
  f << "{\n  \"context\": {\n"
    << "    \"program\": \"kernel_dtls_bench\",\n"
    << "    \"date\": \"" << started << "\",\n"
    << "    \"cpu\": \"" << json_escape(cpu_model()) << "\",\n"
    << "    \"openssl\": \"" << json_escape(OpenSSL_version(OPENSSL_VERSION)) << "\",\n"
    << "    \"protocol\": \"DTLS 1.2 over kernel UDP sockets (loopback)\",\n"
    << "    \"suite\": \"" << json_escape(s.pair->suite()) << "\",\n"
    << "    \"server_cpu\": " << o.server_cpu << ",\n"
    << "    \"client_cpu\": " << o.client_cpu << ",\n"
    << "    \"pinned\": " << (s.server_pinned && s.client_pinned ? "true" : "false") << ",\n"
    << "    \"server_receive_buffer\": " << s.pair->server_receive_buffer() << ",\n"
    << "    \"client_receive_buffer\": " << s.pair->client_receive_buffer() << ",\n"
    << "    \"seconds_per_configuration\": " << o.seconds << ",\n"
    << "    \"passes\": " << o.passes << ",\n"
    << "    \"load_average\": \"" << load_average() << "\",\n"
    << "    \"figure\": \"records per second of the server thread's CPU time "
       "(CLOCK_THREAD_CPUTIME_ID): read by it (client_to_server) or written by it "
       "(server_to_client); median over passes\"\n"
    << "  },\n  \"results\": [\n";
  for (size_t i = 0; i < configs.size(); ++i) {
    const Configuration& c = configs[i];
    const PassTotals m = c.median_pass();
    f << "    {\"direction\": \"" << direction_name(c.kind) << "\", \"mode\": \""
      << mode_name(c.kind) << "\", \"plaintext_bytes\": " << c.size
      << ", \"records_per_server_cpu_second\": " << m.rate() << ", \"server_ns_per_record\": "
      << (m.server_records == 0 ? 0 : double(m.server_cpu_ns) / m.server_records)
      << ", \"bare_aead_ns_per_record\": "
      << (m.server_records == 0 ? 0 : double(m.raw_cpu_ns) / m.server_records)
      << ", \"aead_share\": " << c.median_aead_share() << ", \"client_ns_per_record\": "
      << (m.client_records == 0 ? 0 : double(m.client_cpu_ns) / m.client_records)
      << ", \"lost\": " << c.lost() << ", \"round_records\": " << c.round_records
      << ", \"pass_rates\": [";
    for (size_t p = 0; p < c.passes.size(); ++p) {
      f << (p == 0 ? "" : ", ") << c.passes[p].rate();
    }
    f << "]}" << (i + 1 < configs.size() ? "," : "") << "\n";
  }
  f << "  ]\n}\n";
  return static_cast<bool>(f);
}

int run(int argc, char** argv) {
  Options o;
  if (!parse_options(argc, argv, o)) {
    return 2;
  }
  choose_cpus(o);
  const std::string started = now_utc();

  std::string why;
  const auto pair = DtlsUdpPair::create(kReceiveBuffer, why);
  if (!pair) {
    std::fprintf(stderr, "kernel_dtls_bench: %s\n", why.c_str());
    return 1;
  }
  Shared s;
  s.pair = pair.get();
  std::thread server(server_thread, std::ref(s), o.server_cpu);
  std::thread client(client_thread, std::ref(s), o.client_cpu);
  s.sync.arrive_and_wait();  // handshakes done
  const bool handshake_ok = s.server_error.empty() && s.client_error.empty();

  std::vector<Configuration> configs;
  for (const size_t size : kSizes) {
    for (const Kind k : {Kind::read_prefilled, Kind::read_concurrent, Kind::write}) {
      // --quick: rounds of 256, so that a round fits any receive buffer.
      configs.push_back({k, size, o.quick ? 256 : kRoundRecords, {}});
    }
  }
  uint32_t round = 0;
  uint64_t bad = 0;
  bool raw_failed = false;
  if (handshake_ok) {
    std::fprintf(stderr,
                 "kernel_dtls_bench: %s, %s, server on CPU %d, client on CPU %d%s; "
                 "%d pass(es) of %zu configurations, %.2f s each\n",
                 OpenSSL_version(OPENSSL_VERSION), pair->suite().c_str(), o.server_cpu,
                 o.client_cpu, s.server_pinned && s.client_pinned ? "" : " (NOT pinned)", o.passes,
                 configs.size(), o.seconds);
    for (int pass = 0; pass < o.passes; ++pass) {
      // Rotated per pass, so a slow spell of the machine does not always
      // hit the same configuration.
      for (size_t j = 0; j < configs.size(); ++j) {
        Configuration& c = configs[(j + static_cast<size_t>(pass) * 5) % configs.size()];
        PassTotals t;
        const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(o.seconds));
        do {
          s.spec = {c.kind, c.size, c.round_records, ++round, false};
          s.sync.arrive_and_wait();  // post
          s.sync.arrive_and_wait();  // done
          const SideResult& reader = c.kind == Kind::write ? s.client : s.server;
          const SideResult& writer = c.kind == Kind::write ? s.server : s.client;
          t.server_records += s.server.records;
          t.client_records += s.client.records;
          t.server_cpu_ns += s.server.cpu_ns;
          t.raw_cpu_ns += s.server.raw_cpu_ns;
          raw_failed |= !s.server.raw_ok;
          t.client_cpu_ns += s.client.cpu_ns;
          t.stale += reader.stale;
          t.bad += reader.bad;
          bad += reader.bad;
          // A prefilled round that overflowed the receive buffer is
          // shrunk, so that losses do not skew the count.
          if (c.kind == Kind::read_prefilled && reader.records < writer.records &&
              c.round_records > 256) {
            c.round_records = c.round_records * 3 / 4;
          }
          // A round that received nothing (a thread descheduled past the
          // receive timeout on a loaded machine) does not end a
          // configuration: it runs on, for at most kRetryWindow.
        } while (Clock::now() < deadline ||
                 ((c.kind == Kind::write ? t.client_records : t.server_records) == 0 &&
                  Clock::now() < deadline + kRetryWindow));
        c.passes.push_back(t);
      }
    }
  }
  s.spec.stop = true;
  s.sync.arrive_and_wait();
  server.join();
  client.join();

  if (!handshake_ok) {
    std::fprintf(stderr, "kernel_dtls_bench: handshake failed: server: %s; client: %s\n",
                 s.server_error.c_str(), s.client_error.c_str());
    return 1;
  }
  std::printf("OpenSSL DTLS 1.2 over kernel UDP sockets (loopback), %s, %s\n",
              OpenSSL_version(OPENSSL_VERSION), pair->suite().c_str());
  print_table(configs);
  if (!o.json.empty() && !write_json(o.json, configs, s, o, started)) {
    std::fprintf(stderr, "kernel_dtls_bench: cannot write %s\n", o.json.c_str());
    return 1;
  }
  // A working exchange moved records in every configuration, each of the
  // right length and in order.
  for (const Configuration& c : configs) {
    for (const PassTotals& p : c.passes) {
      const uint64_t received = c.kind == Kind::write ? p.client_records : p.server_records;
      if (received == 0) {
        std::fprintf(stderr, "kernel_dtls_bench: no record received (%s %s %zu B)\n",
                     direction_name(c.kind), mode_name(c.kind), c.size);
        return 1;
      }
    }
  }
  if (raw_failed) {
    std::fprintf(stderr, "kernel_dtls_bench: the bare OpenSSL AES-128-GCM ceiling failed\n");
    return 1;
  }
  if (bad != 0) {
    std::fprintf(stderr, "kernel_dtls_bench: %llu records of the wrong length or order\n",
                 static_cast<unsigned long long>(bad));
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace dtlsgw::bench

int main(int argc, char** argv) { return dtlsgw::bench::run(argc, argv); }
