// The record-layer benchmark (bench/README.md): dtlsgw's open and seal,
// single and in bursts, each against the raw AEAD engines on the same
// buffers, interleaved batch by batch in one run; and the replay window's
// check + commit against the 64-byte AES-128-GCM open it guards.
//
// Every benchmark reports ns per record (median over batches) as counters
// and the ratio raw / dtlsgw (STYLE.md rule 11): never a bare time alone.
#include <benchmark/benchmark.h>
#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/raw_aead.h"
#include "dtls_record/record_protection.h"

namespace dtlsgw::record {
namespace {

using bench::RawEngine;
using bench::RawInterface;
using bench::RawRecord;
using Clock = std::chrono::steady_clock;

// Distinct sealed records per suite and size; batches cycle through them
// in sequence order, so the replay window slides as it does on a live
// session and is reset only when the cycle starts over.
constexpr size_t kPoolRecords = 4096;
constexpr size_t kBurst = 32;
constexpr uint16_t kEpoch = 1;
constexpr size_t kSizes[] = {64, 256, 1024, 1400};
constexpr Aead kAeads[] = {Aead::aes128_gcm, Aead::aes256_gcm, Aead::chacha20_poly1305,
                           Aead::aes128_ccm, Aead::aes128_ccm8};

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i] = static_cast<uint8_t>(seed + 31 * i);
  }
  return v;
}

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

double median(std::vector<double> v) {
  if (v.empty()) {
    return 0;
  }
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(mid), v.end());
  return v[mid];
}

// The raw interfaces worth measuring for a suite.
std::vector<RawInterface> raw_interfaces(Aead aead) {
  switch (aead) {
    case Aead::aes128_gcm:
    case Aead::aes256_gcm:
      return {RawInterface::direct, RawInterface::job, RawInterface::burst,
              RawInterface::burst_nocheck};
    case Aead::chacha20_poly1305:
      return {RawInterface::direct,        RawInterface::job, RawInterface::burst,
              RawInterface::burst_nocheck, RawInterface::evp, RawInterface::evp_tls};
    case Aead::aes128_ccm:
    case Aead::aes128_ccm8:
      return {RawInterface::job, RawInterface::burst, RawInterface::burst_nocheck};
  }
  return {};
}

// kPoolRecords records of one suite and plaintext size, sealed by dtlsgw
// with sequence numbers 0..4095, laid out at a fixed stride so one memcpy
// from the pristine copy restores a batch. Everything the timed loops
// need (record views, burst requests, raw nonces and AADs) is built here,
// once, outside any timed region.
class RecordPool {
 public:
  RecordPool(CryptoContext& ctx, Aead aead, size_t plaintext_length, uint32_t window_bits)
      : ctx_(ctx), aead_(aead), plaintext_length_(plaintext_length), read(window_bits) {
    const AeadParams& p = aead_params(aead);
    key_ = pattern(p.key_length, 0x11);
    iv_ = pattern(p.fixed_iv_length, 0x77);
    if (!write.install(ctx, Epoch{kEpoch}, aead, key_, iv_) ||
        !read.install(ctx, Epoch{kEpoch}, aead, key_, iv_)) {
      return;
    }
    prefix_ = write.seal_prefix();
    record_length_ = prefix_ + plaintext_length + write.tag_length();
    stride_ = (record_length_ + 63) / 64 * 64;
    // A batch fits in L2 (512 KiB on the machine measured) with its
    // pristine copy; a multiple of the burst size.
    batch_ = record_length_ <= 512 ? 256 : 128;
    work_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, kPoolRecords * stride_)));
    pristine_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, kPoolRecords * stride_)));
    if (!work_ || !pristine_) {
      return;
    }
    std::memset(work_.get(), 0, kPoolRecords * stride_);

    views.resize(kPoolRecords);
    raw.resize(kPoolRecords);
    open_requests.resize(kPoolRecords);
    seal_requests.resize(kPoolRecords);
    for (size_t i = 0; i < kPoolRecords; ++i) {
      const auto pt = pattern(plaintext_length, static_cast<uint8_t>(i));
      std::copy(pt.begin(), pt.end(), slot(i) + prefix_);
      size_t len = 0;
      if (seal_record(ctx, write, ContentType::application_data, record_span(i), plaintext_length,
                      len) != SealResult::ok ||
          len != record_length_) {
        return;
      }
      RecordWalker walker(record_span(i));
      if (!walker.next(views[i])) {
        return;
      }
      open_requests[i].epoch = &read;
      open_requests[i].record = views[i];
      seal_requests[i].epoch = &write;
      seal_requests[i].type = ContentType::application_data;
      seal_requests[i].buffer = record_span(i);
      seal_requests[i].plaintext_length = plaintext_length;
      fill_raw(i);
    }
    std::memcpy(pristine_.get(), work_.get(), kPoolRecords * stride_);
    views_pristine_ = views;
    open_pristine_ = open_requests;
    seal_pristine_ = seal_requests;
    raw_pristine_ = raw;
    good_ = true;
  }

  bool good() const { return good_; }
  size_t batch() const { return batch_; }
  size_t batches() const { return kPoolRecords / batch_; }
  size_t record_length() const { return record_length_; }
  uint8_t* slot(size_t i) { return work_.get() + i * stride_; }
  std::span<uint8_t> record_span(size_t i) { return {slot(i), record_length_}; }
  std::span<const uint8_t> key() const { return key_; }
  std::span<const uint8_t> fixed_iv() const { return iv_; }

  // Untimed: puts records [first, first + n) back as they were sealed, and
  // rewrites their descriptors (views, burst requests, raw records) as a
  // parser would have just written them: a data path opens records it has
  // just received and parsed, so bytes and descriptors are warm in cache
  // for every contender alike.
  void restore(size_t first, size_t n) {
    std::memcpy(work_.get() + first * stride_, pristine_.get() + first * stride_, n * stride_);
    std::copy_n(views_pristine_.begin() + static_cast<long>(first), n,
                views.begin() + static_cast<long>(first));
    std::copy_n(open_pristine_.begin() + static_cast<long>(first), n,
                open_requests.begin() + static_cast<long>(first));
    std::copy_n(seal_pristine_.begin() + static_cast<long>(first), n,
                seal_requests.begin() + static_cast<long>(first));
    std::copy_n(raw_pristine_.begin() + static_cast<long>(first), n,
                raw.begin() + static_cast<long>(first));
  }

  // Untimed: a new write key before the AEAD's confidentiality limit would
  // make seal refuse (a long seal run passes 2^23.5 records).
  void renew_write_key_if_needed() {
    const uint64_t limit = write.cipher().params().confidentiality_limit;
    if (limit - write.records_sealed() < 4 * kPoolRecords) {
      if (!write.install(ctx_, Epoch{kEpoch}, aead_, key_, iv_)) {
        std::abort();
      }
    }
  }

  // Checks that `e` opens every pristine record to its plaintext and seals
  // it back to the very same bytes: same key, nonce, AAD and tag position
  // as dtlsgw. Leaves the pool restored.
  bool validate(RawEngine& e) {
    restore(0, kPoolRecords);
    bool ok = e.open(raw.data(), kPoolRecords) == kPoolRecords;
    for (size_t i = 0; ok && i < kPoolRecords; ++i) {
      const auto pt = pattern(plaintext_length_, static_cast<uint8_t>(i));
      ok = std::equal(pt.begin(), pt.end(), slot(i) + prefix_);
    }
    ok = ok && e.seal(raw.data(), kPoolRecords) == kPoolRecords;
    for (size_t i = 0; ok && i < kPoolRecords; ++i) {
      ok = std::memcmp(slot(i), pristine_.get() + i * stride_, record_length_) == 0;
    }
    restore(0, kPoolRecords);
    return ok;
  }

 private:
  // The raw engines get what the record layer derives per record: the
  // nonce (RFC 5288 §3 / RFC 7905 §2) and the AAD (RFC 6347 §4.1.2.1),
  // built here from the sealed header, independently of dtls_record.
  void fill_raw(size_t i) {
    RawRecord& r = raw[i];
    const uint8_t* rec = slot(i);
    r.data = slot(i) + prefix_;
    r.length = plaintext_length_;
    std::memcpy(r.aad, rec + 3, 8);  // epoch ‖ sequence_number
    r.aad[8] = static_cast<uint8_t>(ContentType::application_data);
    r.aad[9] = 0xfe;
    r.aad[10] = 0xfd;
    r.aad[11] = static_cast<uint8_t>(plaintext_length_ >> 8);
    r.aad[12] = static_cast<uint8_t>(plaintext_length_);
    if (aead_params(aead_).nonce_style == NonceStyle::salt_and_explicit) {
      std::memcpy(r.nonce, iv_.data(), 4);
      std::memcpy(r.nonce + 4, rec + kRecordHeaderLength, 8);
    } else {
      for (size_t k = 0; k < 12; ++k) {
        r.nonce[k] = static_cast<uint8_t>(iv_[k] ^ (k < 4 ? 0 : r.aad[k - 4]));
      }
    }
  }

  CryptoContext& ctx_;
  Aead aead_;
  size_t plaintext_length_;
  std::vector<uint8_t> key_;
  std::vector<uint8_t> iv_;
  size_t prefix_ = 0;
  size_t record_length_ = 0;
  size_t stride_ = 0;
  size_t batch_ = 0;
  std::unique_ptr<uint8_t, FreeDeleter> work_;
  std::unique_ptr<uint8_t, FreeDeleter> pristine_;
  std::vector<RecordView> views_pristine_;
  std::vector<OpenRequest> open_pristine_;
  std::vector<SealRequest> seal_pristine_;
  std::vector<RawRecord> raw_pristine_;
  bool good_ = false;

 public:
  WriteEpoch write;
  ReadEpoch read;
  std::vector<RecordView> views;
  std::vector<OpenRequest> open_requests;
  std::vector<SealRequest> seal_requests;
  std::vector<RawRecord> raw;
};

enum class Direction { open, seal };
enum class Shape { single, burst };

// One contender of a benchmark: processes records [first, first + n) and
// returns how many succeeded. `samples` holds ns per record, one per batch.
struct Contender {
  using Run = std::function<size_t(size_t first, size_t n)>;
  Contender(std::string contender_name, bool is_raw, bool is_ipsec_mb, Run body = {})
      : name(std::move(contender_name)), raw(is_raw), ipsec_mb(is_ipsec_mb), run(std::move(body)) {}

  std::string name;
  bool raw;       // a ceiling, not dtlsgw
  bool ipsec_mb;  // an IPsec-MB interface (OpenSSL is another engine, not a ceiling)
  Run run;
  std::vector<double> samples;
};

// The timed loop shared by every benchmark. Each benchmark iteration is one
// batch for every contender, in an order rotated by one each iteration; the
// batch is restored (memcpy from the pristine copy) before each contender,
// outside the timed region, so all see the same bytes equally warm; then
// `untimed` (replay window reset, key renewal) runs. Only the contender's
// own call sequence sits between the two clock reads.
void run_interleaved(benchmark::State& state, RecordPool& pool, std::vector<Contender>& cs,
                     const std::function<void(const Contender&, size_t batch)>& untimed) {
  const size_t per_batch = pool.batch();
  size_t iteration = 0;
  for (auto _ : state) {
    const size_t b = iteration % pool.batches();
    double seconds = 0;
    for (size_t k = 0; k < cs.size(); ++k) {
      Contender& c = cs[(k + iteration) % cs.size()];
      pool.restore(b * per_batch, per_batch);
      untimed(c, b);
      const auto t0 = Clock::now();
      const size_t ok = c.run(b * per_batch, per_batch);
      const auto t1 = Clock::now();
      const double s = std::chrono::duration<double>(t1 - t0).count();
      seconds += s;
      c.samples.push_back(s * 1e9 / static_cast<double>(per_batch));
      if (ok != per_batch) [[unlikely]] {
        state.SkipWithError((c.name + ": a record failed").c_str());
        return;
      }
    }
    state.SetIterationTime(seconds);
    ++iteration;
  }
}

// For profiling one contender alone (bench/README.md): a comma-separated
// list of contender names in RECORD_BENCH_CONTENDERS keeps only those.
void keep_only_selected(std::vector<Contender>& cs) {
  const char* env = std::getenv("RECORD_BENCH_CONTENDERS");
  if (env == nullptr || *env == '\0') {
    return;
  }
  const std::string wanted = std::string(",") + env + ",";
  std::erase_if(cs, [&wanted](const Contender& c) {
    return wanted.find("," + c.name + ",") == std::string::npos;
  });
}

// The median over iterations of a[i] / b[i]: both batches of one iteration
// ran back to back, so a slow spell of this shared machine that hits both
// cancels out, even when it lasts longer than half the benchmark.
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

// Counters: ns per record of each contender (median over batches); the
// fastest IPsec-MB interface by that median (ns_raw_best); and ratio =
// raw / dtlsgw for that interface, paired per iteration (see above).
void report(benchmark::State& state, const std::vector<Contender>& cs, size_t per_batch) {
  const Contender* dtlsgw = nullptr;
  const Contender* best = nullptr;
  double best_ns = 0;
  for (const Contender& c : cs) {
    const double m = median(c.samples);
    state.counters["ns_" + c.name] = m;
    if (!c.raw) {
      dtlsgw = &c;
    } else if (c.ipsec_mb && (best == nullptr || m < best_ns)) {
      best = &c;
      best_ns = m;
    }
  }
  state.counters["ns_raw_best"] = best_ns;
  if (dtlsgw != nullptr && best != nullptr) {
    state.counters["ratio"] = paired_ratio(best->samples, dtlsgw->samples);
  }
  // Every raw contender against dtlsgw, paired: the quotient of two of
  // these compares two engines (the ChaCha20 table of bench/report.py).
  for (const Contender& c : cs) {
    if (c.raw && dtlsgw != nullptr) {
      state.counters["ratio_" + c.name] = paired_ratio(c.samples, dtlsgw->samples);
    }
  }
  state.counters["records_per_batch"] = static_cast<double>(per_batch);
}

void bm_record(benchmark::State& state, Aead aead, size_t size, Direction dir, Shape shape) {
  auto ctx = CryptoContext::create();
  if (!ctx) {
    state.SkipWithError("IPsec-MB cannot run here");
    return;
  }
  RecordPool pool(*ctx, aead, size, 64);
  if (!pool.good()) {
    state.SkipWithError("could not build the record pool");
    return;
  }
  std::vector<std::unique_ptr<RawEngine>> engines;
  std::vector<Contender> cs;
  CryptoContext& cx = *ctx;

  Contender d("dtlsgw", false, false);
  if (dir == Direction::open && shape == Shape::single) {
    d.run = [&cx, &pool](size_t first, size_t n) {
      size_t ok = 0;
      for (size_t i = first; i < first + n; ++i) {
        std::span<uint8_t> plaintext;
        ok += open_record(cx, pool.read, pool.views[i], plaintext) == OpenResult::ok;
      }
      return ok;
    };
  } else if (dir == Direction::open) {
    d.run = [&cx, &pool](size_t first, size_t n) {
      size_t ok = 0;
      for (size_t i = first; i < first + n; i += kBurst) {
        ok += open_burst(cx, std::span<OpenRequest>(pool.open_requests.data() + i, kBurst));
      }
      return ok;
    };
  } else if (shape == Shape::single) {
    d.run = [&cx, &pool, size](size_t first, size_t n) {
      size_t ok = 0;
      for (size_t i = first; i < first + n; ++i) {
        size_t len = 0;
        ok += seal_record(cx, pool.write, ContentType::application_data, pool.record_span(i), size,
                          len) == SealResult::ok;
      }
      return ok;
    };
  } else {
    d.run = [&cx, &pool](size_t first, size_t n) {
      size_t ok = 0;
      for (size_t i = first; i < first + n; i += kBurst) {
        ok += seal_burst(cx, std::span<SealRequest>(pool.seal_requests.data() + i, kBurst));
      }
      return ok;
    };
  }
  cs.push_back(std::move(d));

  std::string unsupported;
  for (RawInterface ri : raw_interfaces(aead)) {
    auto e = RawEngine::create(ri, aead, pool.key(), pool.fixed_iv());
    if (!e || !pool.validate(*e)) {
      unsupported += unsupported.empty() ? "" : ",";
      unsupported += to_string(ri);
      continue;
    }
    RawEngine* engine = e.get();
    engines.push_back(std::move(e));
    const size_t step = shape == Shape::single ? 1 : kBurst;
    Contender c(std::string(to_string(ri)), true,
                ri != RawInterface::evp && ri != RawInterface::evp_tls);
    if (dir == Direction::open) {
      c.run = [engine, &pool, step](size_t first, size_t n) {
        size_t ok = 0;
        for (size_t i = first; i < first + n; i += step) {
          ok += engine->open(pool.raw.data() + i, step);
        }
        return ok;
      };
    } else {
      c.run = [engine, &pool, step](size_t first, size_t n) {
        size_t ok = 0;
        for (size_t i = first; i < first + n; i += step) {
          ok += engine->seal(pool.raw.data() + i, step);
        }
        return ok;
      };
    }
    cs.push_back(std::move(c));
  }
  if (!unsupported.empty()) {
    state.SetLabel("failed validation, not measured: " + unsupported);
  }
  keep_only_selected(cs);

  run_interleaved(state, pool, cs, [&pool, dir](const Contender& c, size_t b) {
    if (dir == Direction::open && !c.raw && b == 0) {
      // The cycle starts over at sequence 0: forget what was received.
      pool.read.replay_window().reset();
    } else if (dir == Direction::seal) {
      pool.renew_write_key_if_needed();
    }
  });
  if (!state.error_occurred()) {
    report(state, cs, pool.batch());
  }
}

// ReplayWindow::check then commit, as open_burst does around the AEAD, for
// kReplayBatch sequence numbers per batch: increasing, or shuffled inside
// blocks of the window size (every number in the window when it arrives,
// so every one is fresh and takes the full path). Interleaved with the
// 64-byte AES-128-GCM open it guards, same window size.
constexpr size_t kReplayBatch = 4096;
constexpr size_t kReplayCycle = 65536;

void bm_replay(benchmark::State& state, uint32_t window_bits, bool shuffled) {
  auto ctx = CryptoContext::create();
  if (!ctx) {
    state.SkipWithError("IPsec-MB cannot run here");
    return;
  }
  RecordPool pool(*ctx, Aead::aes128_gcm, 64, window_bits);
  if (!pool.good()) {
    state.SkipWithError("could not build the record pool");
    return;
  }
  std::vector<uint64_t> offsets(kReplayCycle);
  for (size_t i = 0; i < kReplayCycle; ++i) {
    offsets[i] = i;
  }
  if (shuffled) {
    std::mt19937_64 rng(20240601);
    for (size_t i = 0; i < kReplayCycle; i += window_bits) {
      std::shuffle(offsets.begin() + static_cast<long>(i),
                   offsets.begin() + static_cast<long>(i + window_bits), rng);
    }
  }
  OwnedReplayWindow owned(window_bits);
  ReplayWindow& w = owned.get();
  CryptoContext& cx = *ctx;
  size_t replay_batches = 0;
  const size_t scale = kReplayBatch / pool.batch();  // replay numbers per open record

  std::vector<Contender> cs;
  // The replay contender runs kReplayBatch numbers where the opens run one
  // batch of records: its samples (per open record) are divided by `scale`.
  cs.emplace_back("replay", false, false, [&](size_t, size_t per_batch) {
    const size_t j = replay_batches++;
    const uint64_t base = (j / (kReplayCycle / kReplayBatch)) * kReplayCycle;
    const uint64_t* off = offsets.data() + (j % (kReplayCycle / kReplayBatch)) * kReplayBatch;
    size_t fresh = 0;
    for (size_t i = 0; i < kReplayBatch; ++i) {
      const uint64_t s = base + off[i];
      if (w.check(s) == ReplayCheck::fresh) {
        fresh += w.commit(s) == ReplayCheck::fresh;
      }
    }
    return fresh == kReplayBatch ? per_batch : 0;
  });
  cs.emplace_back("open_burst", false, false, [&cx, &pool](size_t first, size_t n) {
    size_t ok = 0;
    for (size_t i = first; i < first + n; i += kBurst) {
      ok += open_burst(cx, std::span<OpenRequest>(pool.open_requests.data() + i, kBurst));
    }
    return ok;
  });
  cs.emplace_back("open_single", false, false, [&cx, &pool](size_t first, size_t n) {
    size_t ok = 0;
    for (size_t i = first; i < first + n; ++i) {
      std::span<uint8_t> plaintext;
      ok += open_record(cx, pool.read, pool.views[i], plaintext) == OpenResult::ok;
    }
    return ok;
  });
  run_interleaved(state, pool, cs, [&pool](const Contender&, size_t) {
    // Both opens cover the same batch: start each with a clean window so
    // the second does not take the first one's records for replays.
    pool.read.replay_window().reset();
  });
  if (state.error_occurred()) {
    return;
  }
  const double replay_ns = median(cs[0].samples) / static_cast<double>(scale);
  const double open_burst_ns = median(cs[1].samples);
  const double open_single_ns = median(cs[2].samples);
  state.counters["ns_replay"] = replay_ns;
  state.counters["ns_open_burst"] = open_burst_ns;
  state.counters["ns_open_single"] = open_single_ns;
  // Per record: the replay samples cover `scale` times as many numbers.
  state.counters["ratio"] = paired_ratio(cs[0].samples, cs[1].samples) / static_cast<double>(scale);
  state.counters["ratio_single"] =
      paired_ratio(cs[0].samples, cs[2].samples) / static_cast<double>(scale);
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
  for (Aead aead : kAeads) {
    for (Direction dir : {Direction::open, Direction::seal}) {
      for (size_t size : kSizes) {
        for (Shape shape : {Shape::single, Shape::burst}) {
          const std::string name = std::string(dir == Direction::open ? "open/" : "seal/") +
                                   std::string(to_string(aead)) + "/" + std::to_string(size) +
                                   (shape == Shape::single ? "/single" : "/burst32");
          benchmark::RegisterBenchmark(name.c_str(), bm_record, aead, size, dir, shape)
              ->UseManualTime()
              ->Unit(benchmark::kMicrosecond);
        }
      }
    }
  }
  for (uint32_t window : {64u, 4096u}) {
    for (bool shuffled : {false, true}) {
      const std::string name = "replay/window" + std::to_string(window) +
                               (shuffled ? "/random_in_window" : "/increasing");
      benchmark::RegisterBenchmark(name.c_str(), bm_replay, window, shuffled)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace
}  // namespace dtlsgw::record

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  auto ctx = dtlsgw::record::CryptoContext::create();
  if (!ctx) {
    std::fprintf(stderr, "record_bench: IPsec-MB cannot run on this CPU\n");
    return 1;
  }
  benchmark::AddCustomContext("cpu_model", dtlsgw::record::cpu_model());
  benchmark::AddCustomContext("ipsec_mb_arch", ctx->arch_name());
  benchmark::AddCustomContext("ipsec_mb_version", imb_get_version_str());
  benchmark::AddCustomContext("openssl_version", OpenSSL_version(OPENSSL_VERSION));
  dtlsgw::record::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
