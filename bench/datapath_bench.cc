// The data-path benchmark (bench/README.md, "Data path"): one worker's
// loop, Worker::poll(), on pre-built frames delivered from a net_ring rx
// ring, against the raw IPsec-MB AES-128-GCM interfaces on the same sizes
// in the same run (STYLE.md rule 11).
//
//   open: outside → inside. DTLS 1.2 application-data records of
//         sessions picked uniformly at random → parse, session lookup,
//         replay pre-check, batched open, replay commit, rewrite to the
//         backend, UDP checksum, tx burst.
//   seal: inside → outside. Backend datagrams of random sessions → parse,
//         inside lookup, batched seal, rewrite to the peer, UDP checksum,
//         tx burst.
//
// Timed: only the Worker::poll() calls that consume one batch (rx burst,
// everything the worker does, tx burst into the ring). Not timed: building
// the frames (mbuf allocation, headers, record bytes), replay-window
// resets, key renewals, draining the tx ring and freeing its mbufs (a
// NIC's tx completion would free them in a later poll), the checks.
//
// Several queues (`--queues=N --lcores=M`, issue 6): N workers, one per
// queue of each ring port, the frames of a batch spread over the rx queues
// by a hash of their flow that knows nothing of session ownership (as a
// NIC's RSS), so about (N-1)/N of them reach a worker that hands them to
// the owner over its ring; M polling threads (the main lcore and M-1 EAL
// lcores) poll the workers round-robin. Timed: from the first poll until
// every record of the batch is done, wall time × M per record (lcore-ns),
// so it compares with the one-queue figure: the difference is the
// hand-off's cost.
//
// Every worker session uses the same key bytes (its own key schedule in
// memory, as every installed session has): a record with sequence number n
// is then the same bytes for every session, so one pool of sealed records
// per size serves any number of sessions, and only the headers differ.
#include <benchmark/benchmark.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "bench/raw_aead.h"
#include "dataplane/dataplane.h"
#include "dataplane/packet.h"
#include "dataplane/session.h"
#include "dtls_record/record_protection.h"
#include "dtls_record/record_walker.h"

namespace dtlsgw::bench {
namespace {

using dataplane::Counter;
using record::Aead;
using Clock = std::chrono::steady_clock;

constexpr Aead kAead = Aead::aes128_gcm;
constexpr size_t kSizes[] = {64, 256, 1024, 1400};
constexpr uint32_t kSessionCounts[] = {1, 1000, 100000, 1000000};
constexpr uint32_t kMaxSessions = 1000000;
// 32 listeners, each with its own backend port: 40,000 inside source
// ports per distinct backend, so 1,000,000 sessions fit.
constexpr unsigned kListeners = 32;
constexpr uint16_t kFirstListenerPort = 4433;
constexpr uint16_t kFirstBackendPort = 7000;
constexpr uint16_t kPeerPort = 5684;
// Sealed records per size: sequence numbers 1..kSequences (+ one batch of
// slack); a session that used them all has its replay window reset
// (untimed) before the next batch and starts again at 1.
constexpr uint32_t kSequences = 4096;
constexpr unsigned kMaxQueues = 8;

// --queues / --lcores (main() reads them before Google Benchmark's flags).
unsigned g_queues = 1;
unsigned g_lcores = 1;

// The rx queue a NIC's RSS would pick for a flow: a hash with a seed of its
// own, unrelated to DataplaneContext::owner_of.
unsigned rss_queue(uint32_t address_be, uint16_t port) {
  uint64_t h = (uint64_t{address_be} << 16 | port) * 0x9e3779b97f4a7c15ull;
  h ^= h >> 29;
  return static_cast<unsigned>((h * 0xbf58476d1ce4e5b9ull) >> 40) % g_queues;
}
constexpr size_t kMaxBatch = 256;
constexpr size_t kHeaders = dataplane::packet::udp_headers_length(false);

const dataplane::MacAddress kPeerMac = {{0x02, 0x00, 0x00, 0x00, 0x01, 0x01}};
const dataplane::MacAddress kBackendMac = {{0x02, 0x00, 0x00, 0x00, 0x02, 0x02}};

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i] = static_cast<uint8_t>(seed + 31 * i);
  }
  return v;
}

double median(std::vector<double> v) {
  if (v.empty()) {
    return 0;
  }
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(mid), v.end());
  return v[mid];
}

dataplane::Ipv4 ipv4(uint32_t host_order) { return dataplane::Ipv4{htonl(host_order)}; }

// The sealed records of one plaintext size, and what a raw engine needs to
// open (or seal) each of them: nonce and AAD (RFC 5288 §3, RFC 6347
// §4.1.2.1), computed from the sealed header.
struct RecordPool {
  size_t plaintext_length = 0;
  size_t record_length = 0;
  size_t prefix = 0;  // record header + explicit nonce
  std::vector<uint8_t> bytes;  // record n at (n - 1) * record_length
  std::vector<RawRecord> raw;  // data pointers filled per batch
  std::vector<uint8_t> plaintext;

  const uint8_t* record(uint32_t sequence) const {
    return bytes.data() + (sequence - 1) * record_length;
  }
};

enum class Direction : uint8_t { open, seal };

std::string_view interface_name(RawInterface i) { return to_string(i); }

constexpr RawInterface kRawInterfaces[] = {RawInterface::direct, RawInterface::job,
                                           RawInterface::burst, RawInterface::burst_nocheck};

// Everything the benchmarks share: EAL, the two ring ports, one Dataplane
// with one worker, the installed sessions, the record pools.
class Bench {
 public:
  static Bench& get() {
    static Bench* b = new Bench();  // never destroyed: EAL outlives main's benchmarks
    return *b;
  }

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& memory_note() const { return memory_note_; }

  dataplane::Dataplane& dp() { return *dp_; }
  dataplane::Worker& worker(unsigned i = 0) { return dp_->worker(i); }
  // Port 0 outside, 1 inside; one ring per queue each way.
  rte_ring* rx(unsigned port, unsigned queue) { return rx_[port][queue]; }
  rte_ring* tx(unsigned port, unsigned queue) { return tx_[port][queue]; }
  rte_mempool* pool() { return pool_; }
  record::CryptoContext& crypto() { return *crypto_; }
  const std::vector<uint8_t>& client_key() const { return client_key_; }
  const std::vector<uint8_t>& client_iv() const { return client_iv_; }
  const std::vector<uint8_t>& server_key() const { return server_key_; }
  const std::vector<uint8_t>& server_iv() const { return server_iv_; }

  // Installs sessions until `n` exist (sessions only ever grow; benchmarks
  // are registered in increasing session counts).
  bool ensure_sessions(uint32_t n);
  uint32_t installed() const { return static_cast<uint32_t>(sessions_.size()); }
  dataplane::Session* session(uint32_t i) { return sessions_[i]; }
  contract::FlowKey flow(uint32_t i) const {
    return contract::FlowKey::v4(htonl(0x64400001u + i), kPeerPort,
                                 static_cast<uint16_t>(kFirstListenerPort + i % kListeners));
  }
  uint16_t backend_port(uint32_t i) const {
    return static_cast<uint16_t>(kFirstBackendPort + i % kListeners);
  }

  // Open direction: the next client sequence number of session i.
  uint32_t take_sequence(uint32_t i) {
    const uint32_t s = next_sequence_[i]++;
    if (s == kSequences) {
      exhausted_.push_back(i);
    }
    return s;
  }
  // Untimed, between batches: sessions that used every pooled record
  // start again at 1 with a fresh replay window.
  void reset_exhausted() {
    for (const uint32_t i : exhausted_) {
      sessions_[i]->read.replay_window().reset();
      next_sequence_[i] = 1;
    }
    exhausted_.clear();
  }

  const RecordPool* pool_for(size_t plaintext_length);

 private:
  Bench() { init(); }
  void init();

  std::string error_;
  std::string memory_note_;
  uint16_t ports_[2] = {};
  rte_ring* rx_[2][kMaxQueues] = {};
  rte_ring* tx_[2][kMaxQueues] = {};
  rte_mempool* pool_ = nullptr;
  std::unique_ptr<dataplane::Dataplane> dp_;
  std::unique_ptr<record::CryptoContext> crypto_;
  std::vector<uint8_t> client_key_ = pattern(16, 0x11);
  std::vector<uint8_t> client_iv_ = pattern(4, 0x77);
  std::vector<uint8_t> server_key_ = pattern(16, 0x23);
  std::vector<uint8_t> server_iv_ = pattern(4, 0x55);
  std::vector<dataplane::Session*> sessions_;
  std::vector<uint32_t> next_sequence_;
  std::vector<uint32_t> exhausted_;
  std::vector<std::unique_ptr<RecordPool>> pools_;
};

unsigned free_hugepages() {
  std::ifstream f("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
  unsigned n = 0;
  f >> n;
  return n;
}

void Bench::init() {
  // 1,000,000 sessions: 256 MB of session slots, two hash tables, the
  // mbuf pools: about 450 MB; 600 MB of 2 MiB pages leaves slack.
  constexpr unsigned kPagesNeeded = 300;
  const bool huge = free_hugepages() >= kPagesNeeded &&
                    std::getenv("DATAPATH_BENCH_NO_HUGE") == nullptr;
  const std::string lcores = g_lcores == 1 ? "0" : "0-" + std::to_string(g_lcores - 1);
  std::vector<const char*> args = {"datapath_bench", "--file-prefix", "dtlsgw_bench", "-l",
                                   lcores.c_str(),
                                   "--no-pci", "--no-telemetry", "--log-level", "*:error"};
  if (huge) {
    // Unlinked at once: the pages go back to the system when we exit.
    args.push_back("--huge-unlink");
    memory_note_ = "hugepages (2 MiB)";
  } else {
    args.insert(args.end(), {"--no-huge", "-m", "1200"});
    memory_note_ = "NO HUGEPAGES (--no-huge: 4 KiB pages, more TLB misses)";
    std::fprintf(stderr,
                 "datapath_bench: fewer than %u free 2 MiB hugepages: running with --no-huge "
                 "(scripts/setup reserves them); numbers will be pessimistic\n",
                 kPagesNeeded);
  }
  int argc = static_cast<int>(args.size());
  if (rte_eal_init(argc, const_cast<char**>(args.data())) < 0) {
    error_ = "rte_eal_init failed";
    return;
  }
  pool_ = rte_pktmbuf_pool_create("bench_pool", 4095, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                  SOCKET_ID_ANY);
  for (int p = 0; p < 2; ++p) {
    const std::string base = p == 0 ? "bench_out" : "bench_in";
    bool rings = true;
    for (unsigned q = 0; q < g_queues; ++q) {
      const std::string name = base + std::to_string(q);
      rx_[p][q] = rte_ring_create((name + "_rx").c_str(), 1024, SOCKET_ID_ANY,
                                  RING_F_SP_ENQ | RING_F_SC_DEQ);
      tx_[p][q] = rte_ring_create((name + "_tx").c_str(), 1024, SOCKET_ID_ANY,
                                  RING_F_SP_ENQ | RING_F_SC_DEQ);
      rings = rings && rx_[p][q] != nullptr && tx_[p][q] != nullptr;
    }
    const int id = rings ? rte_eth_from_rings(p == 0 ? "net_ring_bo" : "net_ring_bi", rx_[p],
                                              g_queues, tx_[p], g_queues, SOCKET_ID_ANY)
                         : -1;
    if (id < 0 || pool_ == nullptr) {
      error_ = std::string("cannot create the mbuf pool or the net_ring ports: ") +
               rte_strerror(rte_errno) + (pool_ == nullptr ? " (pool)" : "");
      return;
    }
    ports_[p] = static_cast<uint16_t>(id);
  }

  dataplane::Config c;
  for (unsigned w = 0; w < g_queues; ++w) {
    c.workers.push_back(w + 1);  // never launched: the benchmark polls them
  }
  c.max_sessions = kMaxSessions;
  c.mbufs = 4096;
  // No session may go idle during a run (the sweep would close it).
  c.idle_timeout = std::chrono::hours(24);
  c.outside.port_id = ports_[0];
  c.outside.address = ipv4(0xc0000201);  // 192.0.2.1
  c.inside.port_id = ports_[1];
  c.inside.address = ipv4(0x0a000001);  // 10.0.0.1
  for (unsigned l = 0; l < kListeners; ++l) {
    dataplane::ListenerConfig listener;
    listener.port = static_cast<uint16_t>(kFirstListenerPort + l);
    listener.backend_address = dataplane::IpAddress::from(ipv4(0x0a000002));
    listener.backend_port = static_cast<uint16_t>(kFirstBackendPort + l);
    c.listeners.push_back(listener);
  }
  c.neighbors.push_back({dataplane::IpAddress::from(ipv4(0x0a000002)), kBackendMac});
  c.summary_interval = std::chrono::milliseconds(0);
  dp_ = dataplane::Dataplane::create(c, {}, error_);
  if (!dp_) {
    return;
  }
  crypto_ = record::CryptoContext::create();
  sessions_.reserve(kMaxSessions);
  next_sequence_.reserve(kMaxSessions);
}

bool Bench::ensure_sessions(uint32_t n) {
  contract::InstallMessage m;
  m.aead = static_cast<uint8_t>(kAead);
  std::memcpy(m.peer_mac, kPeerMac.bytes, 6);
  m.suite = 0xc02b;
  m.key_length = 16;
  m.iv_length = 4;
  std::memcpy(m.client_write_key, client_key_.data(), 16);
  std::memcpy(m.server_write_key, server_key_.data(), 16);
  std::memcpy(m.client_write_iv, client_iv_.data(), 4);
  std::memcpy(m.server_write_iv, server_iv_.data(), 4);
  m.server_first_sequence = 1;
  // The client's Finished was epoch 1, sequence 0.
  m.client_sequence_count = 1;
  m.client_sequences[0] = 0;
  while (sessions_.size() < n) {
    const auto i = static_cast<uint32_t>(sessions_.size());
    m.flow = flow(i);
    worker(dp_->context().owner_of(m.flow)).install(m, /*quiet=*/true);
    dataplane::Session* s = dp_->sessions().find(m.flow);
    if (s == nullptr) {
      error_ = "session " + std::to_string(i) + " was not installed";
      return false;
    }
    sessions_.push_back(s);
    next_sequence_.push_back(1);
  }
  return true;
}

const RecordPool* Bench::pool_for(size_t plaintext_length) {
  for (const auto& p : pools_) {
    if (p->plaintext_length == plaintext_length) {
      return p.get();
    }
  }
  auto pool = std::make_unique<RecordPool>();
  record::WriteEpoch write;
  if (!write.install(*crypto_, record::Epoch{1}, kAead, client_key_, client_iv_, 1)) {
    return nullptr;
  }
  pool->plaintext_length = plaintext_length;
  pool->prefix = write.seal_prefix();
  pool->record_length = pool->prefix + plaintext_length + write.tag_length();
  pool->plaintext = pattern(plaintext_length, 0x42);
  const size_t count = kSequences + kMaxBatch + 1;
  pool->bytes.resize(count * pool->record_length);
  pool->raw.resize(count);
  for (size_t i = 0; i < count; ++i) {
    uint8_t* r = pool->bytes.data() + i * pool->record_length;
    std::memcpy(r + pool->prefix, pool->plaintext.data(), plaintext_length);
    size_t length = 0;
    if (record::seal_record(*crypto_, write, record::ContentType::application_data,
                            {r, pool->record_length}, plaintext_length,
                            length) != record::SealResult::ok ||
        length != pool->record_length) {
      return nullptr;
    }
    RawRecord& raw = pool->raw[i];
    raw.length = plaintext_length;
    std::memcpy(raw.nonce, client_iv_.data(), 4);
    std::memcpy(raw.nonce + 4, r + record::kRecordHeaderLength, 8);
    std::memcpy(raw.aad, r + 3, 8);      // epoch ‖ sequence
    std::memcpy(raw.aad + 8, r, 3);      // type ‖ version
    raw.aad[11] = static_cast<uint8_t>(plaintext_length >> 8);
    raw.aad[12] = static_cast<uint8_t>(plaintext_length);
  }
  pools_.push_back(std::move(pool));
  return pools_.back().get();
}

// A small, fast generator for the session picks (untimed anyway).
struct SplitMix {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint32_t below(uint32_t n) { return static_cast<uint32_t>((next() >> 32) * n >> 32); }
};

// The polling lcores of a multi-queue run. Lcore k polls the workers w
// with w % g_lcores == k: the caller's thread (lcore 0) inside run(), the
// others from their EAL lcores while a batch runs.
class Pollers {
 public:
  static Pollers& get() {
    static Pollers* p = new Pollers();  // lives as long as the lcores
    return *p;
  }

  // Polls until done() (checked on lcore 0 between rounds) or 2 s; false
  // on the time-out (a drop left the batch short).
  template <typename Done>
  bool run(Bench& b, Done done) {
    running_.store(true);
    bool finished = false;
    const auto deadline = Clock::now() + std::chrono::seconds(2);
    for (unsigned round = 0;; ++round) {
      for (unsigned w = 0; w < g_queues; w += g_lcores) {
        b.worker(w).poll();
      }
      if (done()) {
        finished = true;
        break;
      }
      if ((round & 1023) == 1023 && Clock::now() > deadline) {
        break;
      }
    }
    running_.store(false);
    while (active_.load() != 0) {
      rte_pause();
    }
    return finished;
  }

 private:
  Pollers() {
    unsigned lcore = 0;
    unsigned k = 1;
    RTE_LCORE_FOREACH_WORKER(lcore) {
      auto* arg = new std::pair<Pollers*, unsigned>(this, k++);
      rte_eal_remote_launch(
          [](void* a) {
            auto [self, index] = *static_cast<std::pair<Pollers*, unsigned>*>(a);
            delete static_cast<std::pair<Pollers*, unsigned>*>(a);
            self->loop(index);
            return 0;
          },
          arg, lcore);
    }
  }

  // Announces itself (active_) before looking at running_, so run() never
  // returns while this lcore may still poll: the next batch's untimed set-up
  // must not race with a worker.
  void loop(unsigned index) {
    Bench& b = Bench::get();
    for (;;) {
      active_.fetch_add(1);
      while (running_.load()) {
        for (unsigned w = index; w < g_queues; w += g_lcores) {
          b.worker(w).poll();
        }
      }
      active_.fetch_sub(1);
      rte_pause();
    }
  }

  std::atomic<bool> running_{false};
  std::atomic<unsigned> active_{0};
};

struct Contender {
  std::string name;
  std::unique_ptr<RawEngine> engine;  // nullptr: dtlsgw's worker
  std::vector<double> ns;             // per batch, ns per record
};

void run_datapath(benchmark::State& state, Direction dir, uint32_t sessions, size_t size,
                  bool offload) {
  Bench& b = Bench::get();
  if (!b.ok() || !b.ensure_sessions(sessions)) {
    state.SkipWithError(b.error().c_str());
    return;
  }
  const RecordPool* pool = b.pool_for(size);
  if (pool == nullptr) {
    state.SkipWithError("cannot seal the record pool");
    return;
  }
  // The checksum policy: software (what the worker does on a device
  // without checksum offload, as net_ring is) or offloaded (frames arrive
  // marked as checked, as with rx offload; the worker writes the UDP
  // pseudo-header sum and the NIC would do the rest).
  dataplane::DataplaneContext& ctx = b.dp().context();
  ctx.outside_checksum_offload = offload;
  ctx.inside_checksum_offload = offload;

  const size_t batch = pool->record_length <= 512 ? 256 : 128;
  std::vector<Contender> contenders;
  contenders.push_back({"dtlsgw", nullptr, {}});
  // DATAPATH_BENCH_WORKER_ONLY=1: no raw contenders between the worker's
  // batches (no ratio then): shows what the others' memory traffic costs
  // the worker's cache state (bench/README.md, "Data path").
  const bool worker_only = std::getenv("DATAPATH_BENCH_WORKER_ONLY") != nullptr;
  for (const RawInterface i : kRawInterfaces) {
    if (worker_only) {
      break;
    }
    auto e = RawEngine::create(i, kAead, b.client_key(), b.client_iv());
    if (!e) {
      continue;
    }
    // Validated before it is timed: opens pooled records, seals them back.
    std::vector<uint8_t> copy(pool->bytes.begin(),
                              pool->bytes.begin() + static_cast<long>(64 * pool->record_length));
    std::vector<RawRecord> raw(pool->raw.begin(), pool->raw.begin() + 64);
    for (size_t k = 0; k < raw.size(); ++k) {
      raw[k].data = copy.data() + k * pool->record_length + pool->prefix;
    }
    bool valid = e->open(raw.data(), raw.size()) == raw.size();
    valid = valid && e->seal(raw.data(), raw.size()) == raw.size() &&
            std::equal(copy.begin(), copy.end(), pool->bytes.begin());
    if (valid) {
      contenders.push_back({std::string(interface_name(i)), std::move(e), {}});
    }
  }

  const unsigned rx_port = dir == Direction::open ? 0 : 1;
  const unsigned tx_port = 1 - rx_port;
  std::array<uint8_t, kMaxBatch> queue_of{};
  uint64_t misplaced = 0;  // frames whose RSS queue is not their owner's
  uint64_t placed = 0;
  const Counter done_counter =
      dir == Direction::open ? Counter::records_decrypted : Counter::records_encrypted;
  const size_t frame_length =
      kHeaders + (dir == Direction::open ? pool->record_length : size);
  const uint64_t limit = record::aead_params(kAead).confidentiality_limit;
  SplitMix rng{0x5eed0000ull + sessions * 7 + size};
  std::array<rte_mbuf*, kMaxBatch> mbufs{};
  std::array<RawRecord, kMaxBatch> raw{};
  std::array<uint32_t, kMaxBatch> raw_sequence{};
  record::ReadEpoch check_epoch(4096);
  bool checked = false;
  size_t iteration = 0;
  uint16_t ip_id = 0;

  for (auto _ : state) {
    double iteration_ns = 0;
    for (size_t c = 0; c < contenders.size(); ++c) {
      Contender& who = contenders[(c + iteration) % contenders.size()];
      // ---- untimed: the batch's frames, fresh in cache ----
      if (rte_pktmbuf_alloc_bulk(b.pool(), mbufs.data(), static_cast<unsigned>(batch)) != 0) {
        state.SkipWithError("bench mbuf pool empty");
        return;
      }
      if (dir == Direction::open) {
        b.reset_exhausted();
      }
      for (size_t k = 0; k < batch; ++k) {
        rte_mbuf* m = mbufs[k];
        auto* p = reinterpret_cast<uint8_t*>(
            rte_pktmbuf_append(m, static_cast<uint16_t>(frame_length)));
        const uint32_t s = rng.below(sessions);
        const contract::FlowKey flow = b.flow(s);
        queue_of[k] = 0;
        dataplane::packet::UdpEndpoints e;
        uint32_t sequence = 1;
        if (dir == Direction::open) {
          e.source_mac = kPeerMac;
          e.destination_mac = ctx.outside_mac;
          e.source = flow.peer_address.v4();
          e.destination = ctx.config.outside.address;
          e.source_port = flow.peer_port;
          e.destination_port = flow.listener_port;
          sequence = who.engine ? 1 + static_cast<uint32_t>(rng.below(kSequences))
                                : b.take_sequence(s);
          std::memcpy(p + kHeaders, pool->record(sequence), pool->record_length);
          raw_sequence[k] = sequence;
          if (g_queues > 1) {
            queue_of[k] =
                static_cast<uint8_t>(rss_queue(flow.peer_address.v4().be, flow.peer_port));
          }
        } else {
          dataplane::Session* session = b.session(s);
          if (who.engine == nullptr && session->write.records_sealed() + 4 * kMaxBatch > limit) {
            // A new write key (untimed) before the confidentiality limit.
            const uint64_t next = session->write.next_number().sequence();
            if (!session->write.install(b.crypto(), record::Epoch{1}, kAead, b.server_key(),
                                        b.server_iv(), next)) {
              state.SkipWithError("rekey failed");
              return;
            }
          }
          e.source_mac = kBackendMac;
          e.destination_mac = ctx.inside_mac;
          e.source = ctx.config.listeners[0].backend_address.v4();
          e.destination = ctx.config.inside.address;
          e.source_port = b.backend_port(s);
          e.destination_port = session->inside.local_port;
          std::memcpy(p + kHeaders, pool->plaintext.data(), size);
          raw_sequence[k] = 1 + static_cast<uint32_t>(rng.below(kSequences));
          if (g_queues > 1) {
            queue_of[k] = static_cast<uint8_t>(
                rss_queue(e.source.be, session->inside.local_port));
          }
        }
        dataplane::packet::write_udp_headers(p, e, frame_length - kHeaders, ip_id++);
        if (offload) {
          // As a device with rx checksum offload marks what it checked.
          m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
        }
      }

      if (who.engine == nullptr) {
        const uint64_t before = b.dp().total(done_counter);
        const uint64_t handoffs_before = b.dp().total(Counter::handoff_sent);
        for (size_t k = 0; k < batch; ++k) {
          if (rte_ring_enqueue(b.rx(rx_port, queue_of[k]), mbufs[k]) != 0) {
            state.SkipWithError("rx ring full");
            return;
          }
        }
        double ns = 0;
        if (g_queues == 1) {
          // ---- timed: the worker's loop until it consumed the batch ----
          rte_ring* rx = b.rx(rx_port, 0);
          const auto t0 = Clock::now();
          while (rte_ring_count(rx) != 0) {
            b.worker().poll();
          }
          const auto t1 = Clock::now();
          ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
        } else {
          // ---- timed: every polling lcore until the batch is done; the
          // cost is lcore time (wall × lcores) ----
          const auto t0 = Clock::now();
          const bool finished = Pollers::get().run(
              b, [&] { return b.dp().total(done_counter) - before >= batch; });
          const auto t1 = Clock::now();
          if (!finished) {
            static std::string message;
            message = "batch stalled: " +
                      std::to_string(b.dp().total(done_counter) - before) + " of " +
                      std::to_string(batch) + " done";
            state.SkipWithError(message.c_str());
            return;
          }
          ns = std::chrono::duration<double, std::nano>(t1 - t0).count() * g_lcores;
          misplaced += b.dp().total(Counter::handoff_sent) - handoffs_before;
          placed += batch;
        }
        iteration_ns += ns;
        who.ns.push_back(ns / static_cast<double>(batch));
        // ---- untimed: tx completion, checks ----
        unsigned out = 0;
        bool rings_empty = true;
        for (unsigned q = 0; q < g_queues; ++q) {
          rte_ring* tx = b.tx(tx_port, q);
          out += rte_ring_dequeue_burst(tx, reinterpret_cast<void**>(mbufs.data() + out),
                                        static_cast<unsigned>(batch - out), nullptr);
          rings_empty = rings_empty && rte_ring_count(tx) == 0;
        }
        const uint64_t done = b.dp().total(done_counter) - before;
        bool good = out == batch && done == batch && rings_empty;
        if (good && !checked) {
          // The first frame out: plaintext to the backend, or a record the
          // peer opens to the plaintext.
          checked = true;
          dataplane::packet::Frame f;
          const auto* d = rte_pktmbuf_mtod(mbufs[0], const uint8_t*);
          good = dataplane::packet::parse_frame({d, rte_pktmbuf_data_len(mbufs[0])}, f) ==
                 dataplane::packet::FrameResult::udp;
          if (good && dir == Direction::open) {
            good = f.payload_length == size &&
                   std::equal(pool->plaintext.begin(), pool->plaintext.end(),
                              d + f.payload_offset);
          } else if (good) {
            std::vector<uint8_t> rec(d + f.payload_offset, d + f.payload_offset + f.payload_length);
            record::RecordWalker walker(rec);
            record::RecordView view;
            std::span<uint8_t> plaintext;
            good = check_epoch.install(b.crypto(), record::Epoch{1}, kAead, b.server_key(),
                                       b.server_iv()) &&
                   walker.next(view) &&
                   record::open_record(b.crypto(), check_epoch, view, plaintext) ==
                       record::OpenResult::ok &&
                   std::equal(plaintext.begin(), plaintext.end(), pool->plaintext.begin(),
                              pool->plaintext.end());
          }
        }
        rte_pktmbuf_free_bulk(mbufs.data(), out);
        if (!good) {
          std::string counters;
          for (size_t i = 0; i < dataplane::kCounterCount; ++i) {
            const auto counter = static_cast<Counter>(i);
            if (const uint64_t v = b.dp().total(counter); v != 0) {
              counters += std::string(dataplane::counter_info(counter).name) + "=" +
                          std::to_string(v) + " ";
            }
          }
          static std::string message;
          message = "worker output wrong (out " + std::to_string(out) + ", done " +
                    std::to_string(done) + "): " + counters;
          state.SkipWithError(message.c_str());
          return;
        }
      } else {
        for (size_t k = 0; k < batch; ++k) {
          raw[k] = pool->raw[raw_sequence[k] - 1];
          uint8_t* p = rte_pktmbuf_mtod(mbufs[k], uint8_t*) + kHeaders;
          if (dir == Direction::open) {
            raw[k].data = p + pool->prefix;
          } else {
            // Seal: the plaintext where the record layer would seal it,
            // the tag after it (the mbuf has the room).
            std::memmove(p + pool->prefix, p, size);
            raw[k].data = p + pool->prefix;
          }
        }
        const auto t0 = Clock::now();
        const size_t n = dir == Direction::open ? who.engine->open(raw.data(), batch)
                                                : who.engine->seal(raw.data(), batch);
        const auto t1 = Clock::now();
        const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
        iteration_ns += ns;
        who.ns.push_back(ns / static_cast<double>(batch));
        rte_pktmbuf_free_bulk(mbufs.data(), static_cast<unsigned>(batch));
        if (n != batch) {
          static std::string message;
          message = "raw " + who.name + " failed";
          state.SkipWithError(message.c_str());
          return;
        }
      }
    }
    ++iteration;
    state.SetIterationTime(iteration_ns * 1e-9);
  }

  // ns per record per contender (median over batches); the fastest raw
  // interface; ratio = median over iterations of raw_i / dtlsgw_i.
  const Contender& us = contenders[0];
  size_t best = 0;
  double best_ns = 0;
  for (size_t c = 1; c < contenders.size(); ++c) {
    const double m = median(contenders[c].ns);
    state.counters["ns_" + contenders[c].name] = m;
    if (best == 0 || m < best_ns) {
      best = c;
      best_ns = m;
    }
  }
  const double us_ns = median(us.ns);
  state.counters["ns_dtlsgw"] = us_ns;
  state.counters["ns_raw"] = best_ns;
  state.counters["mrecords_per_s"] = us_ns > 0 ? 1e3 / us_ns : 0;
  state.counters["batch"] = static_cast<double>(batch);
  // Scenario 5 (issue 8): what one session costs the dataplane.
  state.counters["table_bytes_per_session"] =
      static_cast<double>(b.dp().sessions().table_bytes_per_session());
  state.counters["bytes_per_session"] =
      static_cast<double>(b.dp().sessions().bytes_per_session());
  if (g_queues > 1) {
    state.counters["queues"] = g_queues;
    state.counters["lcores"] = g_lcores;
    state.counters["handoff_fraction"] =
        placed ? static_cast<double>(misplaced) / static_cast<double>(placed) : 0;
  }
  if (best != 0) {
    std::vector<double> ratios;
    for (size_t i = 0; i < us.ns.size() && i < contenders[best].ns.size(); ++i) {
      ratios.push_back(contenders[best].ns[i] / us.ns[i]);
    }
    state.counters["ratio"] = median(ratios);
  }
  state.SetLabel("raw=" + (best ? contenders[best].name : std::string("none")) +
                 " memory=" + (b.memory_note().rfind("huge", 0) == 0 ? "hugepages" : "no-huge"));
  state.SetItemsProcessed(static_cast<int64_t>(us.ns.size() * batch));
}

void register_all() {
  // Increasing session counts: sessions are installed once and only grow,
  // so each benchmark runs with exactly its count in the table (unless
  // the run interleaves benchmarks).
  for (const uint32_t sessions : kSessionCounts) {
    for (const Direction dir : {Direction::open, Direction::seal}) {
      for (const size_t size : kSizes) {
        for (const bool offload : {false, true}) {
          const std::string name = std::string("datapath/") +
                                   (dir == Direction::open ? "open" : "seal") + "/" +
                                   (g_queues > 1 ? "queues:" + std::to_string(g_queues) +
                                                       ":lcores:" + std::to_string(g_lcores) + "/"
                                                 : std::string()) +
                                   "sessions:" +
                                   std::to_string(sessions) + "/" + std::to_string(size) +
                                   (offload ? "/csum_offload" : "/csum_sw");
          benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) {
            run_datapath(st, dir, sessions, size, offload);
          })->UseManualTime()->Unit(benchmark::kNanosecond);
        }
      }
    }
  }
}

}  // namespace
}  // namespace dtlsgw::bench

int main(int argc, char** argv) {
  // --queues=N (1..8) and --lcores=M (1..N): ours, removed before Google
  // Benchmark reads the rest.
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    unsigned* target = a.rfind("--queues=", 0) == 0   ? &dtlsgw::bench::g_queues
                       : a.rfind("--lcores=", 0) == 0 ? &dtlsgw::bench::g_lcores
                                                      : nullptr;
    if (target == nullptr) {
      argv[kept++] = argv[i];
      continue;
    }
    *target = static_cast<unsigned>(std::atoi(argv[i] + 9));
  }
  argc = kept;
  using dtlsgw::bench::g_lcores;
  using dtlsgw::bench::g_queues;
  if (g_queues < 1 || g_queues > dtlsgw::bench::kMaxQueues || g_lcores < 1 ||
      g_lcores > g_queues) {
    std::fprintf(stderr, "datapath_bench: need 1 <= --lcores <= --queues <= %u\n",
                 dtlsgw::bench::kMaxQueues);
    return 2;
  }
  dtlsgw::bench::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  benchmark::AddCustomContext("datapath_memory", dtlsgw::bench::Bench::get().memory_note());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
