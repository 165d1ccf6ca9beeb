// RFC 6347 §4.1.2.6 anti-replay window, as tables over several sizes.
//
//   "A received record with a sequence number less than the left edge of
//    the window is ... discarded ... If the received record falls within
//    the window and is new, or if the packet is to the right of the
//    window, then the receiver proceeds to MAC verification. ... The
//    receive window is updated only if the MAC verification succeeds."
#include "dtls_record/replay_window.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "dtls_record/record_number.h"

namespace dtlsgw::record {
namespace {

constexpr uint64_t kTop = RecordNumber::kMaxSequence;  // 2^48 - 1

class EveryWindowSize : public ::testing::TestWithParam<uint32_t> {
 protected:
  OwnedReplayWindow owned{GetParam()};
  ReplayWindow& w = owned.get();
  uint64_t size() const { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(Sizes, EveryWindowSize, ::testing::Values(64u, 100u, 128u, 1024u, 4096u),
                         [](const auto& info) { return std::to_string(info.param) + "bits"; });

TEST_P(EveryWindowSize, FreshWindowAcceptsAnything) {
  EXPECT_EQ(w.check(0), ReplayCheck::fresh);
  EXPECT_EQ(w.check(12345), ReplayCheck::fresh);
  EXPECT_EQ(w.check(kTop), ReplayCheck::fresh);
  EXPECT_EQ(w.next_expected(), 0u);
}

TEST_P(EveryWindowSize, DuplicateIsRefusedAfterCommit) {
  EXPECT_EQ(w.commit(7), ReplayCheck::fresh);
  EXPECT_EQ(w.check(7), ReplayCheck::duplicate);
  EXPECT_EQ(w.commit(7), ReplayCheck::duplicate);
  EXPECT_EQ(w.next_expected(), 8u);
}

// check() is const: asking twice without commit changes nothing.
TEST_P(EveryWindowSize, CheckAloneNeverMarks) {
  EXPECT_EQ(w.check(3), ReplayCheck::fresh);
  EXPECT_EQ(w.check(3), ReplayCheck::fresh);
  EXPECT_EQ(w.next_expected(), 0u);
}

// The table: after receiving `base`, what each offset from it yields.
TEST_P(EveryWindowSize, EdgesOfTheWindow) {
  const uint64_t base = 10 * size() + 5;
  ASSERT_EQ(w.commit(base), ReplayCheck::fresh);
  struct Row {
    int64_t offset;
    ReplayCheck expected;
  };
  const int64_t W = static_cast<int64_t>(size());
  const Row rows[] = {
      {0, ReplayCheck::duplicate},     // the top itself
      {1, ReplayCheck::fresh},         // right of the window
      {-1, ReplayCheck::fresh},        // inside, new
      {-(W - 1), ReplayCheck::fresh},  // the left edge: still inside
      {-W, ReplayCheck::too_old},      // one past the left edge
      {-(W + 1), ReplayCheck::too_old},
      {-static_cast<int64_t>(base), ReplayCheck::too_old},  // sequence 0
  };
  for (const Row& r : rows) {
    const uint64_t seq = base + static_cast<uint64_t>(r.offset);
    EXPECT_EQ(w.check(seq), r.expected) << "offset " << r.offset;
  }
  // Commit the left edge, then it is a duplicate.
  EXPECT_EQ(w.commit(base - size() + 1), ReplayCheck::fresh);
  EXPECT_EQ(w.check(base - size() + 1), ReplayCheck::duplicate);
}

TEST_P(EveryWindowSize, EveryNumberInsideTheWindowIsTrackedIndependently) {
  const uint64_t top = 5 * size();
  ASSERT_EQ(w.commit(top), ReplayCheck::fresh);
  // Commit every other number inside the window.
  for (uint64_t s = top - size() + 1; s < top; s += 2) {
    ASSERT_EQ(w.commit(s), ReplayCheck::fresh) << s;
  }
  for (uint64_t s = top - size() + 1; s < top; ++s) {
    const bool committed = ((s - (top - size() + 1)) % 2) == 0;
    EXPECT_EQ(w.check(s), committed ? ReplayCheck::duplicate : ReplayCheck::fresh) << s;
  }
}

// A jump larger than the whole ring clears everything old.
TEST_P(EveryWindowSize, HugeJumpForgetsTheOldWindow) {
  for (uint64_t s = 0; s < size(); ++s) {
    ASSERT_EQ(w.commit(s), ReplayCheck::fresh);
  }
  const uint64_t far = uint64_t{1} << 40;
  EXPECT_EQ(w.commit(far), ReplayCheck::fresh);
  EXPECT_EQ(w.check(far), ReplayCheck::duplicate);
  EXPECT_EQ(w.check(size() - 1), ReplayCheck::too_old);
  // Numbers just below the new top were never seen, although their ring
  // slots held old bits before the jump.
  for (uint64_t s = far - size() + 1; s < far; ++s) {
    ASSERT_EQ(w.check(s), ReplayCheck::fresh) << s;
  }
}

// Jumps of exactly one word, one ring and nearby: slots reused by the ring
// must read as fresh.
TEST_P(EveryWindowSize, JumpsAroundTheRingLength) {
  const uint64_t ring_bits = ReplayWindow::storage_words(static_cast<uint32_t>(size())) * 64;
  for (uint64_t jump : {uint64_t{63}, uint64_t{64}, uint64_t{65}, size() - 1, size(), size() + 1,
                        ring_bits - 1, ring_bits, ring_bits + 1}) {
    OwnedReplayWindow o(static_cast<uint32_t>(size()));
    ReplayWindow& v = o.get();
    for (uint64_t s = 1000; s < 1000 + size(); ++s) {
      ASSERT_EQ(v.commit(s), ReplayCheck::fresh);
    }
    const uint64_t top = 1000 + size() - 1;
    ASSERT_EQ(v.commit(top + jump), ReplayCheck::fresh);
    for (uint64_t s = top + jump - size() + 1; s < top + jump; ++s) {
      const ReplayCheck expected = s <= top ? ReplayCheck::duplicate : ReplayCheck::fresh;
      ASSERT_EQ(v.check(s), expected) << "jump " << jump << " seq " << s;
    }
  }
}

TEST_P(EveryWindowSize, TopOfTheSequenceSpace) {
  EXPECT_EQ(w.commit(kTop - 1), ReplayCheck::fresh);
  EXPECT_EQ(w.commit(kTop), ReplayCheck::fresh);
  EXPECT_EQ(w.check(kTop), ReplayCheck::duplicate);
  EXPECT_EQ(w.check(kTop - 1), ReplayCheck::duplicate);
  EXPECT_EQ(w.check(kTop - 2), ReplayCheck::fresh);
  EXPECT_EQ(w.check(kTop - size()), ReplayCheck::too_old);
  EXPECT_EQ(w.next_expected(), kTop + 1);
}

TEST_P(EveryWindowSize, ResetForgetsEverything) {
  w.commit(5);
  w.commit(900);
  w.reset();
  EXPECT_EQ(w.next_expected(), 0u);
  EXPECT_EQ(w.check(5), ReplayCheck::fresh);
  EXPECT_EQ(w.check(900), ReplayCheck::fresh);
}

// Random walk against a plain reference model.
TEST_P(EveryWindowSize, MatchesAReferenceModel) {
  std::mt19937_64 rng(GetParam());
  std::set<uint64_t> seen;
  uint64_t highest = 0;
  bool any = false;
  uint64_t cursor = 0;
  for (int i = 0; i < 20000; ++i) {
    const uint64_t step = rng() % (3 * size());
    uint64_t seq;
    if (rng() % 4 == 0) {
      cursor += step;
      seq = cursor;
    } else {
      seq = cursor > step ? cursor - step : 0;
    }
    ReplayCheck expected;
    if (!any || seq > highest) {
      expected = ReplayCheck::fresh;
    } else if (highest - seq >= size()) {
      expected = ReplayCheck::too_old;
    } else {
      expected = seen.count(seq) ? ReplayCheck::duplicate : ReplayCheck::fresh;
    }
    ASSERT_EQ(w.check(seq), expected) << i;
    if (rng() % 2) {
      ASSERT_EQ(w.commit(seq), expected) << i;
      if (expected == ReplayCheck::fresh) {
        seen.insert(seq);
        if (!any || seq > highest) {
          highest = seq;
        }
        any = true;
      }
    }
  }
}

TEST(ReplayWindowSize, RunTimeSizesFrom64ToAtLeast4096) {
  EXPECT_FALSE(ReplayWindow::valid_size(63));
  EXPECT_TRUE(ReplayWindow::valid_size(64));
  EXPECT_TRUE(ReplayWindow::valid_size(4096));
  EXPECT_TRUE(ReplayWindow::valid_size(65536));
  EXPECT_FALSE(ReplayWindow::valid_size(65537));
  // The ring is a power of two and at least one word wider than the window.
  EXPECT_EQ(ReplayWindow::storage_words(64), 2u);
  EXPECT_EQ(ReplayWindow::storage_words(100), 4u);
  EXPECT_EQ(ReplayWindow::storage_words(4096), 128u);
}

}  // namespace
}  // namespace dtlsgw::record
