// Latency samples in a log-linear histogram (the HdrHistogram layout):
// each power of two of nanoseconds split into 32 linear sub-buckets, so
// any percentile is within 1/32 (about 3 %) of the true sample, in a fixed
// 15 KiB whatever the count. Recording is an index computation and an
// increment: cheap enough for every received packet.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace dtlsgw::loadgen {

class LatencyHistogram {
 public:
  static constexpr unsigned kSubBits = 5;  // 32 sub-buckets per power of two
  static constexpr unsigned kSub = 1u << kSubBits;
  // Values below 64 have a bucket each; above, octave k (values in
  // [2^(k+5), 2^(k+6))) has 32 buckets from index 32 * (k + 1).
  static constexpr size_t kBuckets = (64 - kSubBits + 1) * kSub;

  void record(uint64_t ns) {
    ++buckets_[index(ns)];
    ++count_;
    if (ns > max_) {
      max_ = ns;
    }
    if (ns < min_) {
      min_ = ns;
    }
    sum_ += ns;
  }
  void merge(const LatencyHistogram& other);
  void clear() { *this = LatencyHistogram(); }

  uint64_t count() const { return count_; }
  uint64_t max() const { return count_ == 0 ? 0 : max_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  double mean() const { return count_ == 0 ? 0 : static_cast<double>(sum_) / count_; }
  // The smallest recorded value v such that at least `fraction` (0..1] of
  // the samples are <= v, to the bucket's resolution (the bucket's middle,
  // clamped to [min, max]). 0 when empty.
  uint64_t percentile(double fraction) const;

  // Exposed for tests.
  static size_t index(uint64_t ns) {
    const unsigned top = ns == 0 ? 0 : 63 - static_cast<unsigned>(__builtin_clzll(ns));
    const unsigned shift = top > kSubBits ? top - kSubBits : 0;
    return size_t{shift} * kSub + static_cast<size_t>(ns >> shift);
  }
  static uint64_t lower_bound(size_t index);
  static uint64_t upper_bound(size_t index);  // exclusive

 private:
  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t sum_ = 0;
};

}  // namespace dtlsgw::loadgen
