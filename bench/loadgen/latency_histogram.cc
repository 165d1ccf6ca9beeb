#include "bench/loadgen/latency_histogram.h"

#include <algorithm>

namespace dtlsgw::loadgen {

uint64_t LatencyHistogram::lower_bound(size_t index) {
  if (index < 2 * kSub) {
    return index;
  }
  const size_t shift = index / kSub - 1;
  return (uint64_t{index % kSub} + kSub) << shift;
}

uint64_t LatencyHistogram::upper_bound(size_t index) {
  const size_t shift = index < 2 * kSub ? 0 : index / kSub - 1;
  return lower_bound(index) + (uint64_t{1} << shift);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) {
    buckets_[i] += other.buckets_[i];
  }
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
  min_ = std::min(min_, other.min_);
}

uint64_t LatencyHistogram::percentile(double fraction) const {
  if (count_ == 0) {
    return 0;
  }
  fraction = std::clamp(fraction, 0.0, 1.0);
  // The rank of the wanted sample, 1-based: ceil(fraction * count).
  auto rank = static_cast<uint64_t>(fraction * static_cast<double>(count_) + 0.999999);
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      const uint64_t lo = lower_bound(i);
      const uint64_t hi = upper_bound(i);
      const uint64_t middle = lo + (hi - lo - 1) / 2;
      return std::clamp(middle, min_, max_);
    }
  }
  return max_;
}

}  // namespace dtlsgw::loadgen
