// The record-layer benchmark (bench/README.md): dtlsgw's open and seal,
// single and in bursts, each against the raw AEAD engines on the same
// buffers, interleaved batch by batch in one run; the same for DTLS 1.3
// and RFC 9146 CID records (bursts, record-number masking included); and
// the replay window's check + commit against the 64-byte AES-128-GCM open
// it guards.
//
// Every benchmark reports ns per record (median over batches) as counters
// and the ratio raw / dtlsgw (STYLE.md rule 11): never a bare time alone.
#include <benchmark/benchmark.h>
#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <array>
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
#include "dtls_record/cid_record.h"
#include "dtls_record/dtls13_protection.h"
#include "dtls_record/hkdf_label.h"
#include "dtls_record/record_dispatch.h"
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
    r.length = static_cast<uint32_t>(plaintext_length_);
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
template <typename Pool>
void run_interleaved(benchmark::State& state, Pool& pool, std::vector<Contender>& cs,
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
      if (dtlsgw == nullptr || c.name == "dtlsgw") {
        dtlsgw = &c;
      }
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
  // Further dtlsgw entry points (the mixed-format burst) against the same
  // ceiling.
  for (const Contender& c : cs) {
    if (!c.raw && &c != dtlsgw && best != nullptr) {
      state.counters["ratio_" + c.name] = paired_ratio(best->samples, c.samples);
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

// ---- DTLS 1.3 and RFC 9146 records ------------------------------------------

// The CID of the RFC 9146 records measured (8 bytes: the AAD is 31 bytes).
constexpr uint8_t kBenchCid[] = {0xc1, 0xd2, 0xe3, 0xf4, 0x05, 0x16, 0x27, 0x38};

uint16_t dtls13_suite_code(Aead aead) {
  switch (aead) {
    case Aead::aes128_gcm:
      return 0x1301;
    case Aead::aes256_gcm:
      return 0x1302;
    case Aead::chacha20_poly1305:
      return 0x1303;
    case Aead::aes128_ccm:
      return 0x1304;
    case Aead::aes128_ccm8:
      return 0x1305;
  }
  return 0;
}

// kPoolRecords records of one format, suite and plaintext size, as
// RecordPool: DTLS 1.3 ciphertexts without CID (16-bit sequence numbers,
// with length: wolfSSL's framing; keys from a traffic secret) or tls12_cid
// records with kBenchCid. Two read keys: the per-format burst and the
// mixed-format burst each open the same batch, each with its own window.
class FormatPool {
 public:
  FormatPool(CryptoContext& ctx, RecordFormat format, Aead aead, size_t plaintext_length)
      : ctx_(ctx), format_(format), aead_(aead), plaintext_length_(plaintext_length) {
    if (!install_write() || !install_read()) {
      return;
    }
    const AeadParams& p = aead_params(aead);
    prefix_ = format == RecordFormat::dtls13 ? w13.seal_prefix() : wcid.seal_prefix();
    const size_t suffix = format == RecordFormat::dtls13 ? w13.seal_suffix(plaintext_length)
                                                         : wcid.seal_suffix(plaintext_length);
    record_length_ = prefix_ + plaintext_length + suffix;
    tag_length_ = p.tag_length;
    stride_ = (record_length_ + 63) / 64 * 64;
    batch_ = record_length_ <= 512 ? 256 : 128;
    work_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, kPoolRecords * stride_)));
    pristine_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, kPoolRecords * stride_)));
    if (!work_ || !pristine_) {
      return;
    }
    std::memset(work_.get(), 0, kPoolRecords * stride_);
    raw.resize(kPoolRecords);
    raw_aad_.resize(kPoolRecords);
    open13.resize(kPoolRecords);
    open_cid.resize(kPoolRecords);
    open_any.resize(kPoolRecords);
    seal13.resize(kPoolRecords);
    seal_cid.resize(kPoolRecords);
    seal_any.resize(kPoolRecords);
    for (size_t i = 0; i < kPoolRecords; ++i) {
      const auto pt = pattern(plaintext_length, static_cast<uint8_t>(i));
      std::copy(pt.begin(), pt.end(), slot(i) + prefix_);
      size_t len = 0;
      const SealResult sealed = format == RecordFormat::dtls13
                                    ? seal_dtls13_record(ctx, w13, ContentType::application_data,
                                                         record_span(i), plaintext_length, len)
                                    : seal_cid_record(ctx, wcid, ContentType::application_data,
                                                      record_span(i), plaintext_length, len);
      if (sealed != SealResult::ok || len != record_length_) {
        return;
      }
      if (format == RecordFormat::dtls13) {
        Dtls13RecordView v;
        if (parse_unified_header(record_span(i), 0, v) != Dtls13HeaderResult::ok) {
          return;
        }
        open13[i].epoch = &r13;
        open13[i].record = v;
        open_any[i] = AnyOpenRequest(r13_any, v);
        seal13[i].epoch = &w13;
        seal13[i].buffer = record_span(i);
        seal13[i].plaintext_length = plaintext_length;
        seal_any[i] = AnySealRequest(w13_any, ContentType::application_data, record_span(i),
                                     plaintext_length);
      } else {
        CidRecordView v;
        if (parse_cid_record(record_span(i), sizeof(kBenchCid), v) != HeaderResult::ok) {
          return;
        }
        open_cid[i].epoch = &rcid;
        open_cid[i].record = v;
        open_any[i] = AnyOpenRequest(rcid_any, v);
        seal_cid[i].epoch = &wcid;
        seal_cid[i].buffer = record_span(i);
        seal_cid[i].plaintext_length = plaintext_length;
        seal_any[i] = AnySealRequest(wcid_any, ContentType::application_data, record_span(i),
                                     plaintext_length);
      }
      fill_raw(i);
    }
    std::memcpy(pristine_.get(), work_.get(), kPoolRecords * stride_);
    open13_pristine_ = open13;
    open_cid_pristine_ = open_cid;
    open_any_pristine_ = open_any;
    seal13_pristine_ = seal13;
    seal_cid_pristine_ = seal_cid;
    seal_any_pristine_ = seal_any;
    raw_pristine_ = raw;
    good_ = true;
  }

  bool good() const { return good_; }
  size_t batch() const { return batch_; }
  size_t batches() const { return kPoolRecords / batch_; }
  uint8_t* slot(size_t i) { return work_.get() + i * stride_; }
  std::span<uint8_t> record_span(size_t i) { return {slot(i), record_length_}; }
  std::span<const uint8_t> key() const { return key_; }
  std::span<const uint8_t> fixed_iv() const { return iv_; }

  void restore(size_t first, size_t n) {
    std::memcpy(work_.get() + first * stride_, pristine_.get() + first * stride_, n * stride_);
    const auto from = static_cast<long>(first);
    if (format_ == RecordFormat::dtls13) {
      std::copy_n(open13_pristine_.begin() + from, n, open13.begin() + from);
      std::copy_n(seal13_pristine_.begin() + from, n, seal13.begin() + from);
    } else {
      std::copy_n(open_cid_pristine_.begin() + from, n, open_cid.begin() + from);
      std::copy_n(seal_cid_pristine_.begin() + from, n, seal_cid.begin() + from);
    }
    std::copy_n(open_any_pristine_.begin() + from, n, open_any.begin() + from);
    std::copy_n(seal_any_pristine_.begin() + from, n, seal_any.begin() + from);
    std::copy_n(raw_pristine_.begin() + from, n, raw.begin() + from);
  }

  void reset_windows() {
    if (format_ == RecordFormat::dtls13) {
      r13.replay_window().reset();
      r13_any.replay_window().reset();
    } else {
      rcid.replay_window().reset();
      rcid_any.replay_window().reset();
    }
  }

  void renew_write_keys_if_needed() {
    const uint64_t limit = aead_params(aead_).confidentiality_limit;
    const uint64_t sealed = std::max({w13.records_sealed(), w13_any.records_sealed(),
                                      wcid.records_sealed(), wcid_any.records_sealed()});
    if (limit - sealed < 4 * kPoolRecords && !install_write()) {
      std::abort();
    }
  }

  // As RecordPool::validate: the raw engine opens every record to its
  // plaintext and seals it back to the same bytes.
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
  bool install_write() {
    if (format_ == RecordFormat::dtls13) {
      const auto suite = dtls13_suite(dtls13_suite_code(aead_));
      if (!suite) {
        return false;
      }
      secret_ = pattern(hash_length(suite->hash), 0x33);
      return w13.install_secret(ctx_, Epoch{3}, *suite, secret_, {}) &&
             w13_any.install_secret(ctx_, Epoch{3}, *suite, secret_, {});
    }
    const AeadParams& p = aead_params(aead_);
    key_ = pattern(p.key_length, 0x11);
    iv_ = pattern(p.fixed_iv_length, 0x77);
    return wcid.install(ctx_, Epoch{kEpoch}, aead_, key_, iv_, kBenchCid) &&
           wcid_any.install(ctx_, Epoch{kEpoch}, aead_, key_, iv_, kBenchCid);
  }

  bool install_read() {
    if (format_ == RecordFormat::dtls13) {
      const auto suite = dtls13_suite(dtls13_suite_code(aead_));
      Dtls13TrafficKeys keys;
      if (!suite || !derive_dtls13_traffic_keys(suite->aead, suite->hash, secret_, keys)) {
        return false;
      }
      key_.assign(keys.key.begin(), keys.key.begin() + static_cast<long>(keys.key_length));
      iv_.assign(keys.iv.begin(), keys.iv.end());
      return r13.install_secret(ctx_, Epoch{3}, *suite, secret_, {}) &&
             r13_any.install_secret(ctx_, Epoch{3}, *suite, secret_, {});
    }
    return rcid.install(ctx_, Epoch{kEpoch}, aead_, key_, iv_, kBenchCid) &&
           rcid_any.install(ctx_, Epoch{kEpoch}, aead_, key_, iv_, kBenchCid);
  }

  // What the record layer derives per record, built here independently of
  // dtls_record. DTLS 1.3: nonce = iv XOR sequence (RFC 8446 §5.3), AAD =
  // the unified header with the sequence number unmasked (RFC 9147 §4).
  // RFC 9146: DTLS 1.2's nonce, and its §5 AAD.
  void fill_raw(size_t i) {
    RawRecord& r = raw[i];
    uint8_t* rec = slot(i);
    std::array<uint8_t, 64>& aad = raw_aad_[i];
    r.data = rec + prefix_;
    r.length = static_cast<uint32_t>(record_length_ - prefix_ - tag_length_);
    r.long_aad = aad.data();
    if (format_ == RecordFormat::dtls13) {
      std::memcpy(aad.data(), rec, prefix_);
      aad[1] = static_cast<uint8_t>(i >> 8);  // no CID: the 16-bit sequence at 1
      aad[2] = static_cast<uint8_t>(i);
      r.long_aad_length = static_cast<uint8_t>(prefix_);
      std::memcpy(r.nonce, iv_.data(), 12);
      for (size_t k = 0; k < 8; ++k) {
        r.nonce[4 + k] ^= static_cast<uint8_t>(static_cast<uint64_t>(i) >> (56 - 8 * k));
      }
      return;
    }
    const size_t header = 11 + sizeof(kBenchCid) + 2;
    std::memset(aad.data(), 0xff, 8);
    aad[8] = 25;
    aad[9] = sizeof(kBenchCid);
    aad[10] = 25;
    aad[11] = 0xfe;
    aad[12] = 0xfd;
    std::memcpy(aad.data() + 13, rec + 3, 8);  // epoch ‖ sequence_number
    std::memcpy(aad.data() + 21, kBenchCid, sizeof(kBenchCid));
    aad[21 + sizeof(kBenchCid)] = static_cast<uint8_t>(r.length >> 8);
    aad[22 + sizeof(kBenchCid)] = static_cast<uint8_t>(r.length);
    r.long_aad_length = static_cast<uint8_t>(23 + sizeof(kBenchCid));
    if (aead_params(aead_).nonce_style == NonceStyle::salt_and_explicit) {
      std::memcpy(r.nonce, iv_.data(), 4);
      std::memcpy(r.nonce + 4, rec + header, 8);
    } else {
      for (size_t k = 0; k < 12; ++k) {
        r.nonce[k] = static_cast<uint8_t>(iv_[k] ^ (k < 4 ? 0 : rec[3 + k - 4]));
      }
    }
  }

  CryptoContext& ctx_;
  RecordFormat format_;
  Aead aead_;
  size_t plaintext_length_;
  std::vector<uint8_t> secret_;
  std::vector<uint8_t> key_;
  std::vector<uint8_t> iv_;
  size_t prefix_ = 0;
  size_t record_length_ = 0;
  size_t tag_length_ = 0;
  size_t stride_ = 0;
  size_t batch_ = 0;
  std::unique_ptr<uint8_t, FreeDeleter> work_;
  std::unique_ptr<uint8_t, FreeDeleter> pristine_;
  std::vector<std::array<uint8_t, 64>> raw_aad_;
  std::vector<Dtls13OpenRequest> open13_pristine_;
  std::vector<CidOpenRequest> open_cid_pristine_;
  std::vector<AnyOpenRequest> open_any_pristine_;
  std::vector<Dtls13SealRequest> seal13_pristine_;
  std::vector<CidSealRequest> seal_cid_pristine_;
  std::vector<AnySealRequest> seal_any_pristine_;
  std::vector<RawRecord> raw_pristine_;
  bool good_ = false;

 public:
  Dtls13WriteEpoch w13, w13_any;
  Dtls13ReadEpoch r13, r13_any;
  CidWriteEpoch wcid, wcid_any;
  CidReadEpoch rcid, rcid_any;
  std::vector<Dtls13OpenRequest> open13;
  std::vector<CidOpenRequest> open_cid;
  std::vector<AnyOpenRequest> open_any;
  std::vector<Dtls13SealRequest> seal13;
  std::vector<CidSealRequest> seal_cid;
  std::vector<AnySealRequest> seal_any;
  std::vector<RawRecord> raw;
};

// Bursts of kBurst through the format's own burst ("dtlsgw") and through
// the mixed-format entry point of record_dispatch.h ("dtlsgw_any"), against
// the IPsec-MB interfaces on the same buffers (ratio: raw / dtlsgw).
void bm_format(benchmark::State& state, RecordFormat format, Aead aead, size_t size,
               Direction dir) {
  auto ctx = CryptoContext::create();
  if (!ctx) {
    state.SkipWithError("IPsec-MB cannot run here");
    return;
  }
  FormatPool pool(*ctx, format, aead, size);
  if (!pool.good()) {
    state.SkipWithError("could not build the record pool");
    return;
  }
  CryptoContext& cx = *ctx;
  const bool v13 = format == RecordFormat::dtls13;
  std::vector<Contender> cs;
  if (dir == Direction::open) {
    cs.emplace_back("dtlsgw", false, false, [&cx, &pool, v13](size_t first, size_t n) {
      size_t ok = 0;
      for (size_t i = first; i < first + n; i += kBurst) {
        ok += v13 ? open_dtls13_burst(cx, {pool.open13.data() + i, kBurst})
                  : open_cid_burst(cx, {pool.open_cid.data() + i, kBurst});
      }
      return ok;
    });
    cs.emplace_back("dtlsgw_any", false, false, [&cx, &pool](size_t first, size_t n) {
      size_t ok = 0;
      for (size_t i = first; i < first + n; i += kBurst) {
        ok += open_records(cx, {pool.open_any.data() + i, kBurst});
      }
      return ok;
    });
  } else {
    cs.emplace_back("dtlsgw", false, false, [&cx, &pool, v13](size_t first, size_t n) {
      size_t ok = 0;
      for (size_t i = first; i < first + n; i += kBurst) {
        ok += v13 ? seal_dtls13_burst(cx, {pool.seal13.data() + i, kBurst})
                  : seal_cid_burst(cx, {pool.seal_cid.data() + i, kBurst});
      }
      return ok;
    });
    cs.emplace_back("dtlsgw_any", false, false, [&cx, &pool](size_t first, size_t n) {
      size_t ok = 0;
      for (size_t i = first; i < first + n; i += kBurst) {
        ok += seal_records(cx, {pool.seal_any.data() + i, kBurst});
      }
      return ok;
    });
  }
  std::vector<std::unique_ptr<RawEngine>> engines;
  std::string unsupported;
  for (RawInterface ri : raw_interfaces(aead)) {
    if (ri == RawInterface::evp || ri == RawInterface::evp_tls) {
      continue;  // the ceiling is IPsec-MB's; OpenSSL is compared on DTLS 1.2
    }
    auto e = RawEngine::create(ri, aead, pool.key(), pool.fixed_iv());
    if (!e || !pool.validate(*e)) {
      unsupported += unsupported.empty() ? "" : ",";
      unsupported += to_string(ri);
      continue;
    }
    RawEngine* engine = e.get();
    engines.push_back(std::move(e));
    cs.emplace_back(std::string(to_string(ri)), true, true,
                    [engine, &pool, dir](size_t first, size_t n) {
                      size_t ok = 0;
                      for (size_t i = first; i < first + n; i += kBurst) {
                        ok += dir == Direction::open ? engine->open(pool.raw.data() + i, kBurst)
                                                     : engine->seal(pool.raw.data() + i, kBurst);
                      }
                      return ok;
                    });
  }
  if (!unsupported.empty()) {
    state.SetLabel("failed validation, not measured: " + unsupported);
  }
  keep_only_selected(cs);
  run_interleaved(state, pool, cs, [&pool, dir](const Contender& c, size_t b) {
    if (dir == Direction::open && !c.raw && b == 0) {
      pool.reset_windows();
    } else if (dir == Direction::seal) {
      pool.renew_write_keys_if_needed();
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
  for (const RecordFormat format : {RecordFormat::dtls13, RecordFormat::dtls12_cid}) {
    for (Aead aead : kAeads) {
      for (Direction dir : {Direction::open, Direction::seal}) {
        for (size_t size : {size_t{64}, size_t{1400}}) {
          const std::string name =
              std::string(dir == Direction::open ? "open/" : "seal/") +
              std::string(to_string(aead)) + "/" + std::to_string(size) +
              (format == RecordFormat::dtls13 ? "/dtls13_burst32" : "/cid_burst32");
          benchmark::RegisterBenchmark(name.c_str(), bm_format, format, aead, size, dir)
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
