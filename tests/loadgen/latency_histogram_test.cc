// The latency histogram (bench/loadgen/latency_histogram.h): percentiles of
// known samples within the histogram's resolution.
#include "bench/loadgen/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace dtlsgw::loadgen {
namespace {

// The exact percentile of sorted samples: the ceil(f * n)-th smallest.
uint64_t exact(std::vector<uint64_t> v, double f) {
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(f * static_cast<double>(v.size())));
  rank = std::clamp<size_t>(rank, 1, v.size());
  return v[rank - 1];
}

void expect_close(uint64_t got, uint64_t want) {
  // One bucket is 1/32 of its octave's start: within 1/32 of the value.
  const double tolerance = std::max(1.0, static_cast<double>(want) / 32.0);
  EXPECT_LE(std::abs(static_cast<double>(got) - static_cast<double>(want)), tolerance)
      << "got " << got << ", want " << want;
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 50; ++v) {
    h.record(v);
  }
  EXPECT_EQ(h.percentile(0.5), 25u);
  EXPECT_EQ(h.percentile(0.99), 50u);
  EXPECT_EQ(h.percentile(1.0), 50u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 50u);
  EXPECT_DOUBLE_EQ(h.mean(), 25.5);
}

TEST(LatencyHistogram, PercentilesOfKnownSamples) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(9.0, 1.2);  // around 8 us, a long tail
  std::vector<uint64_t> samples;
  LatencyHistogram h;
  for (int i = 0; i < 200000; ++i) {
    const auto v = static_cast<uint64_t>(dist(rng));
    samples.push_back(v);
    h.record(v);
  }
  for (const double f : {0.5, 0.9, 0.99, 0.999}) {
    expect_close(h.percentile(f), exact(samples, f));
  }
  EXPECT_EQ(h.count(), samples.size());
  EXPECT_EQ(h.max(), *std::max_element(samples.begin(), samples.end()));
}

TEST(LatencyHistogram, ATailOfOnePerMilleShowsAtP999Only) {
  LatencyHistogram h;
  for (int i = 0; i < 9990; ++i) {
    h.record(1000);
  }
  for (int i = 0; i < 10; ++i) {
    h.record(5'000'000);
  }
  expect_close(h.percentile(0.5), 1000);
  expect_close(h.percentile(0.99), 1000);
  expect_close(h.percentile(0.999), 1000);
  expect_close(h.percentile(0.9991), 5'000'000);
}

TEST(LatencyHistogram, BucketsTileTheRange) {
  for (size_t i = 0; i + 1 < LatencyHistogram::kBuckets; ++i) {
    ASSERT_EQ(LatencyHistogram::upper_bound(i), LatencyHistogram::lower_bound(i + 1)) << i;
  }
  for (const uint64_t v : std::vector<uint64_t>{0, 1, 63, 64, 65, 1000, 123456789, UINT64_MAX}) {
    const size_t i = LatencyHistogram::index(v);
    ASSERT_LT(i, LatencyHistogram::kBuckets);
    EXPECT_LE(LatencyHistogram::lower_bound(i), v);
    if (v != UINT64_MAX) {
      EXPECT_GT(LatencyHistogram::upper_bound(i), v);
    }
  }
}

TEST(LatencyHistogram, MergeAddsCounts) {
  LatencyHistogram a;
  LatencyHistogram b;
  a.record(100);
  b.record(300);
  b.record(500);
  a.merge(b);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_EQ(a.min(), 100u);
  EXPECT_EQ(a.max(), 500u);
  expect_close(a.percentile(0.5), 300);
  LatencyHistogram empty;
  EXPECT_EQ(empty.percentile(0.5), 0u);
}

}  // namespace
}  // namespace dtlsgw::loadgen
