// A token bucket on a caller-supplied clock (TSC cycles in the dataplane,
// anything monotonic in tests): `rate` tokens per second, at most `depth`
// saved up. Single-threaded, one per worker: no atomics.
#pragma once

#include <algorithm>
#include <cstdint>

namespace dtlsgw::dataplane {

class TokenBucket {
 public:
  TokenBucket() = default;
  // `ticks_per_second`: the clock's frequency.
  TokenBucket(uint64_t rate, uint64_t depth, uint64_t ticks_per_second, uint64_t now)
      : rate_(rate), depth_(depth), hz_(ticks_per_second), tokens_(depth), last_(now) {}

  // Takes one token if there is one.
  bool take(uint64_t now) {
    refill(now);
    if (tokens_ == 0) {
      return false;
    }
    --tokens_;
    return true;
  }
  uint64_t tokens(uint64_t now) {
    refill(now);
    return tokens_;
  }

 private:
  void refill(uint64_t now) {
    if (now <= last_ || rate_ == 0) {
      return;
    }
    // Whole tokens earned since `last_`; the remainder of a token's worth
    // of ticks is kept by advancing `last_` only by what was paid out.
    const uint64_t ticks_per_token = std::max<uint64_t>(1, hz_ / rate_);
    const uint64_t earned = (now - last_) / ticks_per_token;
    if (earned == 0) {
      return;
    }
    if (tokens_ + earned >= depth_) {
      tokens_ = depth_;
      last_ = now;
    } else {
      tokens_ += earned;
      last_ += earned * ticks_per_token;
    }
  }

  uint64_t rate_ = 0;
  uint64_t depth_ = 0;
  uint64_t hz_ = 1;
  uint64_t tokens_ = 0;
  uint64_t last_ = 0;
};

}  // namespace dtlsgw::dataplane
