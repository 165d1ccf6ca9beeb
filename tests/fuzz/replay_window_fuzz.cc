// libFuzzer harness: ReplayWindow (RFC 6347 §4.1.2.6, RFC 9147 §4.5.1)
// against a reference model, differentially.
//
// The fuzzer chooses a sequence of check/commit/reset operations and their
// record numbers (steered towards the places a bitmap ring gets wrong: the
// window's left edge, word boundaries, jumps of about the window or ring
// size, the top of the 48-bit space). Every window size below runs the same
// operations next to its own model, and every answer must agree:
//
//   model: the set of committed numbers and the highest one, H.
//     s > H, or nothing committed      -> fresh
//     H - s >= window                  -> too_old (left of the window)
//     s committed                      -> duplicate
//     otherwise                        -> fresh
//   commit(s) answers what check(s) said just before and records s only
//   when that was fresh; next_expected() is H + 1 (0 when empty).
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "dtls_record/record_number.h"
#include "dtls_record/replay_window.h"
#include "tests/fuzz/fuzz_keys.h"

namespace dtlsgw::record::fuzz {
namespace {

constexpr uint64_t kTop = RecordNumber::kMaxSequence;

// The minimum; not a multiple of 64; one, two and many words; the maximum
// (last: not every input runs it).
constexpr std::array<uint32_t, 8> kSizes = {64,  65,   100,  127,
                                            128, 1000, 4096, ReplayWindow::kMaxBits};

class ReferenceWindow {
 public:
  explicit ReferenceWindow(uint64_t bits) : bits_(bits) {}

  ReplayCheck check(uint64_t s) const {
    if (!highest_ || s > *highest_) {
      return ReplayCheck::fresh;
    }
    if (*highest_ - s >= bits_) {
      return ReplayCheck::too_old;
    }
    return seen_.count(s) != 0 ? ReplayCheck::duplicate : ReplayCheck::fresh;
  }

  ReplayCheck commit(uint64_t s) {
    const ReplayCheck c = check(s);
    if (c != ReplayCheck::fresh) {
      return c;
    }
    seen_.insert(s);
    if (!highest_ || s > *highest_) {
      highest_ = s;
      // Forget what fell out of the window; it can never be asked again.
      if (s >= bits_) {
        seen_.erase(seen_.begin(), seen_.lower_bound(s - bits_ + 1));
      }
    }
    return c;
  }

  void reset() {
    seen_.clear();
    highest_.reset();
  }

  uint64_t next_expected() const { return highest_ ? *highest_ + 1 : 0; }
  std::optional<uint64_t> highest() const { return highest_; }

 private:
  uint64_t bits_;
  std::set<uint64_t> seen_;
  std::optional<uint64_t> highest_;
};

struct Pair {
  explicit Pair(uint32_t bits)
      // Exactly the words the window asks for, on the heap: ASan catches
      // any ring index that strays past them.
      : storage(ReplayWindow::storage_words(bits)), real(bits, storage), model(bits) {}
  std::vector<uint64_t> storage;
  ReplayWindow real;
  ReferenceWindow model;
};

uint64_t clamp_add(uint64_t base, int64_t delta) {
  if (delta < 0) {
    const uint64_t down = static_cast<uint64_t>(-(delta + 1)) + 1;
    return std::min(kTop, base >= down ? base - down : 0);  // record numbers are 48-bit
  }
  return std::min(kTop, base + std::min<uint64_t>(static_cast<uint64_t>(delta), kTop));
}

// A record number near somewhere interesting for window `bits` whose model
// has committed up to `highest`.
uint64_t pick_sequence(FuzzedDataProvider& in, uint64_t highest, uint64_t bits) {
  const int64_t small = in.ConsumeIntegralInRange<int64_t>(-70, 70);
  switch (in.ConsumeIntegralInRange<int>(0, 7)) {
    case 0:
      return in.ConsumeIntegralInRange<uint64_t>(0, kTop);
    case 1:  // around the newest number
      return clamp_add(highest, small);
    case 2:  // around the window's left edge (highest - bits + 1)
      return clamp_add(clamp_add(highest, -static_cast<int64_t>(bits) + 1), small);
    case 3:  // around a word boundary ahead
      return clamp_add((highest & ~uint64_t{63}) + 64 * in.ConsumeIntegralInRange<uint64_t>(0, 80),
                       small);
    case 4:  // a jump of about k windows (the ring is one word longer)
      return clamp_add(
          highest, static_cast<int64_t>(bits * in.ConsumeIntegralInRange<uint64_t>(0, 4)) + small);
    case 5:  // the top of the 48-bit sequence space
      return clamp_add(kTop, -in.ConsumeIntegralInRange<int64_t>(0, 200));
    case 6:  // small numbers, from the start of an epoch
      return in.ConsumeIntegralInRange<uint64_t>(0, 300);
    default:  // a big step forward
      return clamp_add(highest, in.ConsumeIntegralInRange<int64_t>(0, int64_t{1} << 20));
  }
}

void check_against_model(FuzzedDataProvider& in) {
  // The largest window's ring is 2048 words, and setting them all up is
  // most of an input's cost under coverage instrumentation: only one input
  // in four includes it.
  const size_t sizes =
      in.ConsumeIntegralInRange<int>(0, 3) == 0 ? kSizes.size() : kSizes.size() - 1;
  std::vector<Pair> pairs;
  pairs.reserve(sizes);
  for (size_t i = 0; i < sizes; ++i) {
    pairs.emplace_back(kSizes[i]);
  }
  // Numbers are steered by one window's state (chosen by the input) so
  // its edges get hit; the others see the same numbers.
  const size_t lead = in.ConsumeIntegralInRange<size_t>(0, sizes - 1);
  size_t ops = 0;
  while (in.remaining_bytes() > 0 && ops++ < 256) {
    // Mostly commits, some bare checks, a rare reset (it rewrites every
    // word of the ring, which is costly under instrumentation).
    const int op = in.ConsumeIntegralInRange<int>(0, 63);
    if (op == 63) {
      for (Pair& p : pairs) {
        p.real.reset();
        p.model.reset();
      }
    } else {
      const ReferenceWindow& steer = pairs[lead].model;
      const uint64_t s = pick_sequence(in, steer.highest().value_or(0), kSizes[lead]);
      const bool commit = op < 40;
      for (Pair& p : pairs) {
        FUZZ_CHECK(p.real.check(s) == p.model.check(s));
        if (commit) {
          FUZZ_CHECK(p.real.commit(s) == p.model.commit(s));
          // Committed or refused, it is now not fresh.
          FUZZ_CHECK(p.real.check(s) != ReplayCheck::fresh);
        }
      }
    }
    for (Pair& p : pairs) {
      FUZZ_CHECK(p.real.next_expected() == p.model.next_expected());
    }
  }
  // Sweep the places a ring gets wrong: across the window's left edge,
  // and the newest word and a bit beyond. Every bit must still match.
  for (Pair& p : pairs) {
    const uint64_t next = p.model.next_expected();
    const uint64_t bits = p.real.window_bits();
    const uint64_t left = next > bits ? next - bits : 0;
    for (uint64_t s = left > 16 ? left - 16 : 0; s < left + 16; ++s) {
      FUZZ_CHECK(p.real.check(s) == p.model.check(s));
    }
    for (uint64_t s = next > 72 ? next - 72 : 0; s <= std::min(kTop, next + 8); ++s) {
      FUZZ_CHECK(p.real.check(s) == p.model.check(s));
    }
  }
}

}  // namespace
}  // namespace dtlsgw::record::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  dtlsgw::record::fuzz::check_against_model(in);
  return 0;
}
