// The handshake timer wheel: RFC 6347 §4.2.4.1 retransmission timers and
// handshake deadlines for many concurrent handshakes.
#include "handshake/timer_wheel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <stdexcept>
#include <utility>
#include <vector>

namespace dtlsgw::handshake {
namespace {

using Fired = std::vector<std::pair<TimerId, uint64_t>>;  // (id, user data)

constexpr uint64_t kSlotSpan1 = TimerWheel::kSlots;               // 64 ticks
constexpr uint64_t kSlotSpan2 = kSlotSpan1 * TimerWheel::kSlots;  // 4096
constexpr uint64_t kSlotSpan3 = kSlotSpan2 * TimerWheel::kSlots;  // 262144
constexpr uint64_t kRange = TimerWheel::kRangeTicks;              // 2^24

TimerId must_acquire(TimerWheel& wheel, uint64_t user_data = 0) {
  const TimerAcquired a = wheel.acquire(user_data);
  EXPECT_EQ(a.result, TimerResult::ok);
  return a.id;
}

uint64_t advance_count(TimerWheel& wheel, uint64_t now) {
  return wheel.advance(now, [](TimerId, uint64_t) {});
}

// Sleeps until next_expiry() and advances, as an event loop would, until
// the one armed timer fires; returns the time it fired at and the wake-ups.
std::pair<uint64_t, int> run_loop_until_fired(TimerWheel& wheel, uint64_t deadline) {
  int wakeups = 0;
  for (;;) {
    const std::optional<uint64_t> next = wheel.next_expiry();
    EXPECT_TRUE(next.has_value());
    if (!next) {
      return {0, wakeups};
    }
    // Never later than the deadline rounded up to the tick.
    const uint64_t tick = wheel.tick_ms();
    EXPECT_LE(*next, (deadline + tick - 1) / tick * tick);
    ++wakeups;
    if (advance_count(wheel, *next) == 1) {
      return {*next, wakeups};
    }
    if (wakeups > 1000) {
      ADD_FAILURE() << "event loop does not converge";
      return {0, wakeups};
    }
  }
}

// Deltas on both sides of every level boundary, at the end of the range
// and past it (clamped into the top level, cascaded again).
// clang-format off
const uint64_t kDeltas[] = {
    1, 2, 62, 63, 64, 65, 127, 128,
    kSlotSpan2 - 1, kSlotSpan2, kSlotSpan2 + 1, kSlotSpan2 + 63,
    kSlotSpan3 - 1, kSlotSpan3, kSlotSpan3 + 1,
    kRange - kSlotSpan3 - 1, kRange - 1, kRange, kRange + 1,
    2 * kRange + 12345, 3 * kRange + 7,
};
// Starting points: aligned, just before every boundary, arbitrary, and a
// monotonic clock in ms some years in.
const uint64_t kStarts[] = {
    0, 1, 37, 63, 64, kSlotSpan2 - 1, kSlotSpan3 - 1,
    kRange - 1, kRange - 5, kRange + kSlotSpan3 - 2,
    123456789, 1'700'000'000'000,
};
// clang-format on

TEST(TimerWheel, FiresAtItsTickAcrossEveryLevelBoundary) {
  for (const uint64_t start : kStarts) {
    for (const uint64_t delta : kDeltas) {
      SCOPED_TRACE(testing::Message() << "start " << start << " delta " << delta);
      TimerWheel wheel({.capacity = 1, .tick_ms = 1, .start_ms = start});
      const TimerId id = must_acquire(wheel, 7);
      const uint64_t deadline = start + delta;
      ASSERT_EQ(wheel.schedule(id, deadline), TimerResult::ok);
      EXPECT_EQ(wheel.size(), 1u);
      // Never early...
      EXPECT_EQ(advance_count(wheel, deadline - 1), 0u);
      EXPECT_TRUE(wheel.armed(id));
      // ... and on the tick.
      uint64_t fired_data = 0;
      EXPECT_EQ(wheel.advance(deadline,
                              [&](TimerId t, uint64_t d) {
                                EXPECT_EQ(t, id);
                                fired_data = d;
                              }),
                1u);
      EXPECT_EQ(fired_data, 7u);
      EXPECT_FALSE(wheel.armed(id));
      EXPECT_EQ(wheel.size(), 0u);
      EXPECT_FALSE(wheel.next_expiry().has_value());
      EXPECT_EQ(advance_count(wheel, deadline + 10 * kRange), 0u);
    }
  }
}

TEST(TimerWheel, EventLoopOnNextExpiryFiresOnTimeAcrossEveryLevelBoundary) {
  for (const uint64_t start : kStarts) {
    for (const uint64_t delta : kDeltas) {
      SCOPED_TRACE(testing::Message() << "start " << start << " delta " << delta);
      TimerWheel wheel({.capacity = 1, .tick_ms = 1, .start_ms = start});
      const TimerId id = must_acquire(wheel);
      const uint64_t deadline = start + delta;
      ASSERT_EQ(wheel.schedule(id, deadline), TimerResult::ok);
      const auto [fired_at, wakeups] = run_loop_until_fired(wheel, deadline);
      EXPECT_EQ(fired_at, deadline);
      // One wake-up per level at most while in range, kLevels more per
      // range the deadline lies beyond it.
      EXPECT_LE(wakeups, static_cast<int>(TimerWheel::kLevels * (1 + delta / kRange)));
    }
  }
}

TEST(TimerWheel, CoarseTickNeverEarlyAtMostOneTickLate) {
  constexpr uint32_t kTick = 10;
  for (const uint64_t start : {uint64_t{0}, uint64_t{7}, uint64_t{99'999}}) {
    for (const uint64_t delta : kDeltas) {
      if (delta > 2 * kRange) {
        continue;  // kTick times the range: long, and covered above
      }
      SCOPED_TRACE(testing::Message() << "start " << start << " delta " << delta);
      TimerWheel wheel({.capacity = 1, .tick_ms = kTick, .start_ms = start});
      const TimerId id = must_acquire(wheel);
      const uint64_t deadline = start + delta;
      ASSERT_EQ(wheel.schedule(id, deadline), TimerResult::ok);
      const uint64_t due = (deadline + kTick - 1) / kTick * kTick;  // the tick at or after
      ASSERT_GE(due, deadline);
      ASSERT_LT(due - deadline, kTick);
      if (due > start + kTick) {
        EXPECT_EQ(advance_count(wheel, due - 1), 0u);
      }
      EXPECT_EQ(advance_count(wheel, due), 1u);
    }
  }
  // The event loop sleeps until the tick at or after the deadline.
  TimerWheel wheel({.capacity = 1, .tick_ms = kTick, .start_ms = 3});
  const TimerId id = must_acquire(wheel);
  ASSERT_EQ(wheel.schedule(id, 15), TimerResult::ok);
  EXPECT_EQ(wheel.next_expiry(), 20u);
  EXPECT_EQ(advance_count(wheel, 19), 0u);
  EXPECT_EQ(advance_count(wheel, 20), 1u);
}

TEST(TimerWheel, NextExpiryExactAtLevelZeroEarlyByLessThanASlotAbove) {
  TimerWheel wheel({.capacity = 4, .tick_ms = 1, .start_ms = 1000});
  EXPECT_FALSE(wheel.next_expiry().has_value());
  const TimerId a = must_acquire(wheel);
  // 1000 = 15 * 64 + 40: 1010 is in the same 64-tick slot, level 0.
  ASSERT_EQ(wheel.schedule(a, 1010), TimerResult::ok);
  EXPECT_EQ(wheel.next_expiry(), 1010u);
  // A level-2 deadline alone: the start of its slot, before it.
  ASSERT_EQ(wheel.cancel(a), TimerResult::ok);
  ASSERT_EQ(wheel.schedule(a, 1000 + 10'000), TimerResult::ok);
  const uint64_t next = *wheel.next_expiry();
  EXPECT_LE(next, 11'000u);
  EXPECT_GT(next + kSlotSpan2, 11'000u);
  // A deadline already reached: now.
  const TimerId b = must_acquire(wheel);
  ASSERT_EQ(wheel.schedule(b, 5), TimerResult::ok);
  EXPECT_EQ(wheel.next_expiry(), 1000u);
}

TEST(TimerWheel, CancelAndRescheduleEarlierAndLater) {
  TimerWheel wheel({.capacity = 8, .tick_ms = 1, .start_ms = 0});
  const TimerId a = must_acquire(wheel, 'a');
  const TimerId b = must_acquire(wheel, 'b');
  const TimerId c = must_acquire(wheel, 'c');
  const TimerId d = must_acquire(wheel, 'd');
  ASSERT_EQ(wheel.schedule(a, 1000), TimerResult::ok);
  ASSERT_EQ(wheel.schedule(b, 5000), TimerResult::ok);
  ASSERT_EQ(wheel.schedule(c, 300'000), TimerResult::ok);  // top level
  ASSERT_EQ(wheel.schedule(d, 50), TimerResult::ok);       // level 0
  EXPECT_EQ(wheel.size(), 4u);

  EXPECT_EQ(wheel.cancel(a), TimerResult::ok);
  EXPECT_EQ(wheel.cancel(a), TimerResult::not_armed);
  EXPECT_EQ(wheel.size(), 3u);
  ASSERT_EQ(wheel.schedule(b, 700), TimerResult::ok);     // earlier, level 1 -> 1
  ASSERT_EQ(wheel.schedule(c, 100), TimerResult::ok);     // earlier, level 3 -> 1
  ASSERT_EQ(wheel.schedule(d, 90'000), TimerResult::ok);  // later, level 0 -> 2
  EXPECT_EQ(wheel.size(), 3u);
  EXPECT_EQ(wheel.stats().rescheduled, 3u);

  std::vector<std::pair<uint64_t, uint64_t>> fired;  // (now, user data)
  for (uint64_t now = 1; now <= 100'000; ++now) {
    wheel.advance(now, [&](TimerId, uint64_t data) { fired.emplace_back(now, data); });
  }
  const std::vector<std::pair<uint64_t, uint64_t>> expected = {
      {100, 'c'}, {700, 'b'}, {90'000, 'd'}};
  EXPECT_EQ(fired, expected);
  EXPECT_EQ(wheel.size(), 0u);

  // Rescheduling after it has cascaded part-way down.
  ASSERT_EQ(wheel.schedule(a, 200'000), TimerResult::ok);
  EXPECT_EQ(advance_count(wheel, 199'990), 0u);  // now in level 0
  ASSERT_EQ(wheel.schedule(a, 199'995), TimerResult::ok);
  EXPECT_EQ(advance_count(wheel, 199'994), 0u);
  EXPECT_EQ(advance_count(wheel, 199'995), 1u);
}

TEST(TimerWheel, PastDeadlineFiresAtTheNextAdvance) {
  TimerWheel wheel({.capacity = 2, .tick_ms = 1, .start_ms = 10'000});
  const TimerId a = must_acquire(wheel);
  ASSERT_EQ(wheel.schedule(a, 9'000), TimerResult::ok);
  ASSERT_EQ(wheel.schedule(must_acquire(wheel), 10'000), TimerResult::ok);  // now
  EXPECT_EQ(wheel.stats().scheduled_past, 2u);
  EXPECT_EQ(advance_count(wheel, 10'000), 2u);  // same now: still fires

  // A callback re-arming itself in the past fires at the next call, so
  // advance() terminates.
  ASSERT_EQ(wheel.schedule(a, 10'001), TimerResult::ok);
  int calls = 0;
  auto rearm = [&](TimerId id, uint64_t) {
    ++calls;
    ASSERT_EQ(wheel.schedule(id, 0), TimerResult::ok);
  };
  EXPECT_EQ(wheel.advance(10'001, rearm), 1u);
  EXPECT_EQ(wheel.advance(10'001, rearm), 1u);
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(wheel.armed(a));
}

TEST(TimerWheel, CallbackMayCancelOrReleaseTimersOfTheSameTick) {
  TimerWheel wheel({.capacity = 3, .tick_ms = 1, .start_ms = 0});
  const TimerId a = must_acquire(wheel);
  const TimerId b = must_acquire(wheel);
  const TimerId c = must_acquire(wheel);
  for (TimerId id : {a, b, c}) {
    ASSERT_EQ(wheel.schedule(id, 500), TimerResult::ok);
  }
  std::vector<TimerId> fired;
  wheel.advance(500, [&](TimerId id, uint64_t) {
    fired.push_back(id);
    // The first to fire cancels one of the others and releases itself.
    if (fired.size() == 1) {
      EXPECT_EQ(wheel.cancel(id == b ? c : b), TimerResult::ok);
      EXPECT_EQ(wheel.release(id), TimerResult::ok);
    }
  });
  EXPECT_EQ(fired.size(), 2u);
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ(wheel.in_use(), 2u);
  // Advance from inside a callback is refused, and counted.
  ASSERT_EQ(wheel.schedule(b, 600), TimerResult::ok);
  wheel.advance(600, [&](TimerId, uint64_t) { EXPECT_EQ(advance_count(wheel, 700), 0u); });
  EXPECT_EQ(wheel.stats().reentrant_advance, 1u);
}

TEST(TimerWheel, CallbackThatThrowsLosesNoTimer) {
  TimerWheel wheel({.capacity = 4, .tick_ms = 1, .start_ms = 0});
  const TimerId past = must_acquire(wheel);
  ASSERT_EQ(wheel.schedule(past, 0), TimerResult::ok);  // due list
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(wheel.schedule(must_acquire(wheel), 300), TimerResult::ok);  // one slot
  }
  int calls = 0;
  auto throw_on_second = [&](TimerId, uint64_t) {
    if (++calls == 2) {
      throw std::runtime_error("callback failed");
    }
  };
  EXPECT_THROW(wheel.advance(1000, throw_on_second), std::runtime_error);
  EXPECT_EQ(wheel.size(), 2u);
  EXPECT_EQ(wheel.next_expiry(), 1000u);  // due now
  // The rest fire at the next advance, and advancing works again.
  EXPECT_EQ(advance_count(wheel, 1000), 2u);
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ(wheel.stats().reentrant_advance, 0u);
}

// RFC 6347 §4.2.4.1: "Implementations SHOULD use an initial timer value of
// 1 second ... and double the value at each retransmission, up to no less
// than the RFC 6298 maximum of 60 seconds."
TEST(TimerWheel, Rfc6347RetransmissionBackoffReschedulesFromItsCallback) {
  constexpr uint64_t kStart = 5'000'000;
  TimerWheel wheel({.capacity = 1, .tick_ms = 1, .start_ms = kStart});
  const TimerId id = must_acquire(wheel);
  uint64_t timeout = 1000;
  uint64_t deadline = kStart + timeout;
  ASSERT_EQ(wheel.schedule(id, deadline), TimerResult::ok);

  std::vector<uint64_t> fired_at;
  int wakeups = 0;
  while (fired_at.size() < 10) {
    const uint64_t now = *wheel.next_expiry();
    ++wakeups;
    wheel.advance(now, [&](TimerId t, uint64_t) {
      fired_at.push_back(now - kStart);
      EXPECT_EQ(now, deadline);
      timeout = std::min<uint64_t>(timeout * 2, 60'000);
      deadline = now + timeout;
      ASSERT_EQ(wheel.schedule(t, deadline), TimerResult::ok);
    });
  }
  const std::vector<uint64_t> expected = {1000,   3000,    7000,    15'000,  31'000,
                                          63'000, 123'000, 183'000, 243'000, 303'000};
  EXPECT_EQ(fired_at, expected);
  EXPECT_LE(wakeups, static_cast<int>(10 * TimerWheel::kLevels));
}

// Whether a timer re-arms itself from its callback when it fires at
// `deadline` (a retransmission), and how much later: a function of the
// arming alone, so the reference model can play the callbacks too.
uint64_t rearm_delay(TimerId id, uint64_t deadline, uint32_t tick) {
  uint64_t h = (uint64_t{id} << 40 ^ deadline) * 0x9e3779b97f4a7c15u;
  h ^= h >> 29;
  // After the tick being fired, so it lands in the wheel, not the due list.
  return h % 50 == 0 ? tick + (h >> 8) % 2000 : 0;
}

// The reference model: every armed timer by deadline, in a multimap.
class ReferenceModel {
 public:
  ReferenceModel(size_t capacity, uint32_t tick) : where_(capacity), tick_(tick) {}
  void schedule(TimerId id, uint64_t deadline) {
    cancel(id);
    where_[id] = by_deadline_.emplace(deadline, id);
  }
  void cancel(TimerId id) {
    if (where_[id]) {
      by_deadline_.erase(*where_[id]);
      where_[id].reset();
    }
  }
  // Every arming due at `now` (whose tick has been reached), earliest
  // first, including those the callbacks re-arm on the way.
  std::vector<std::pair<uint64_t, TimerId>> fire_due(uint64_t now) {
    const uint64_t reached = now / tick_ * tick_;
    std::vector<std::pair<uint64_t, TimerId>> due;
    while (!by_deadline_.empty() && by_deadline_.begin()->first <= reached) {
      const auto [deadline, id] = *by_deadline_.begin();
      due.emplace_back(deadline, id);
      where_[id].reset();
      by_deadline_.erase(by_deadline_.begin());
      if (const uint64_t delay = rearm_delay(id, deadline, tick_)) {
        schedule(id, deadline + delay);
      }
    }
    return due;
  }
  bool empty() const { return by_deadline_.empty(); }

 private:
  std::multimap<uint64_t, TimerId> by_deadline_;
  std::vector<std::optional<std::multimap<uint64_t, TimerId>::iterator>> where_;
  uint32_t tick_;
};

// Timers with random deadlines over two minutes, some cancelled or moved
// while waiting and some re-armed by their callback (a retransmission),
// driven by advances of random length: each arming fires exactly once, in
// the first advance at or after its deadline's tick, in deadline order at
// tick resolution, exactly as the reference model says.
void check_against_reference(uint32_t timers, uint32_t tick, uint64_t seed) {
  constexpr uint64_t kStart = 86'400'000 + 12'345;  // aligned to no slot
  constexpr uint64_t kSpan = 120'000;
  std::mt19937_64 rng(seed);
  TimerWheel wheel({.capacity = timers, .tick_ms = tick, .start_ms = kStart});
  ReferenceModel model(timers, tick);
  std::vector<uint64_t> deadline_of(timers);
  uint64_t armings = 0;
  auto arm = [&](TimerId id, uint64_t deadline) {
    ASSERT_EQ(wheel.schedule(id, deadline), TimerResult::ok);
    model.schedule(id, deadline);
    deadline_of[id] = deadline;
    ++armings;
  };
  for (uint32_t i = 0; i < timers; ++i) {
    const TimerAcquired a = wheel.acquire(i);
    ASSERT_EQ(a.result, TimerResult::ok);
    arm(a.id, kStart + 1 + rng() % kSpan);
  }
  ASSERT_EQ(wheel.size(), timers);

  const auto tick_of = [tick](uint64_t ms) { return (ms + tick - 1) / tick; };
  uint64_t now = kStart;
  uint64_t last_fired_tick = 0;
  uint64_t fired_total = 0;
  uint64_t cancels = 0;
  std::vector<std::pair<uint64_t, TimerId>> fired;
  while (!model.empty()) {
    // Churn while the first two minutes last: cancel, or move earlier or
    // later.
    for (int k = 0; k < 2 && now < kStart + kSpan; ++k) {
      const TimerId id = static_cast<TimerId>(rng() % timers);
      if (rng() % 3 == 0) {
        const bool was_armed = wheel.armed(id);
        EXPECT_EQ(wheel.cancel(id), was_armed ? TimerResult::ok : TimerResult::not_armed);
        model.cancel(id);
        cancels += was_armed ? 1 : 0;
      } else {
        arm(id, now + 1 + rng() % kSpan);
      }
    }
    now += 1 + rng() % 7;
    std::vector<std::pair<uint64_t, TimerId>> due = model.fire_due(now);
    fired.clear();
    fired_total += wheel.advance(now, [&](TimerId id, uint64_t data) {
      EXPECT_EQ(data, id);  // ids come from the pool lowest first
      EXPECT_FALSE(wheel.armed(id));
      const uint64_t deadline = deadline_of[id];
      EXPECT_LE(deadline, now) << "early";
      EXPECT_GE(tick_of(deadline), last_fired_tick) << "out of order";
      last_fired_tick = tick_of(deadline);
      fired.emplace_back(deadline, id);
      if (const uint64_t delay = rearm_delay(id, deadline, tick)) {
        ASSERT_EQ(wheel.schedule(id, deadline + delay), TimerResult::ok);
        deadline_of[id] = deadline + delay;
        ++armings;
      }
    });
    std::sort(fired.begin(), fired.end());
    std::sort(due.begin(), due.end());
    ASSERT_EQ(fired, due) << "at " << now;
  }
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_FALSE(wheel.next_expiry().has_value());
  EXPECT_EQ(fired_total + cancels, armings - wheel.stats().rescheduled);
  EXPECT_EQ(wheel.stats().fired, fired_total);
  EXPECT_EQ(advance_count(wheel, now + 10 * kRange), 0u);
}

TEST(TimerWheel, HundredThousandTimersMatchAReferenceModel) {
  check_against_reference(100'000, 1, 6347);
}

TEST(TimerWheel, CoarseTickMatchesAReferenceModel) { check_against_reference(20'000, 4, 9147); }

// A jump of an hour or more (a stalled loop, a suspended host) fires what
// is due without walking the milliseconds: advance() visits only occupied
// slots, so the work is bounded by the timers, not by the time elapsed.
TEST(TimerWheel, LongJumpVisitsOccupiedSlotsNotMilliseconds) {
  constexpr uint64_t kHour = 3'600'000;
  constexpr uint64_t kStart = 777'777'777;
  std::mt19937_64 rng(4241);
  TimerWheel wheel({.capacity = 1000, .tick_ms = 1, .start_ms = kStart});

  // Empty: free.
  EXPECT_EQ(advance_count(wheel, kStart + kHour), 0u);
  EXPECT_EQ(wheel.stats().slot_visits, 0u);

  // kSlots timers over the next hour: at most one visit per level each,
  // so at most kLevels x kSlots visits, against 3.6 million milliseconds.
  uint64_t now = kStart + kHour;
  std::vector<uint64_t> deadline_of;
  for (uint32_t i = 0; i < TimerWheel::kSlots; ++i) {
    const TimerId id = must_acquire(wheel);
    deadline_of.push_back(now + 1 + rng() % kHour);
    ASSERT_EQ(wheel.schedule(id, deadline_of.back()), TimerResult::ok);
  }
  std::vector<uint64_t> fired;
  wheel.advance(now + kHour, [&](TimerId id, uint64_t) { fired.push_back(deadline_of[id]); });
  EXPECT_EQ(fired.size(), TimerWheel::kSlots);
  EXPECT_TRUE(std::is_sorted(fired.begin(), fired.end()));
  EXPECT_LE(wheel.stats().slot_visits, uint64_t{TimerWheel::kLevels} * TimerWheel::kSlots);
  now += kHour;

  // 1000 timers over ten hours, past the wheel's 4.66-hour range, one jump.
  for (uint32_t i = TimerWheel::kSlots; i < 1000; ++i) {
    must_acquire(wheel);
  }
  deadline_of.assign(1000, 0);
  for (TimerId id = 0; id < 1000; ++id) {
    deadline_of[id] = now + 1 + rng() % (10 * kHour);
    ASSERT_EQ(wheel.schedule(id, deadline_of[id]), TimerResult::ok);
  }
  EXPECT_GT(wheel.stats().clamped, 0u);
  const TimerWheelStats before = wheel.stats();
  fired.clear();
  wheel.advance(now + 10 * kHour, [&](TimerId id, uint64_t) { fired.push_back(deadline_of[id]); });
  EXPECT_EQ(fired.size(), 1000u);
  EXPECT_TRUE(std::is_sorted(fired.begin(), fired.end()));
  const uint64_t visits = wheel.stats().slot_visits - before.slot_visits;
  const uint64_t cascaded = wheel.stats().cascaded - before.cascaded;
  // Every visit fires or cascades at least one timer; each timer cascades
  // at most kLevels - 1 times in range, plus once per range beyond it.
  EXPECT_LE(visits, 1000 + cascaded);
  EXPECT_LE(cascaded, 1000u * (TimerWheel::kLevels - 1 + 3));
  EXPECT_LT(visits, 10'000u);  // against 36 million milliseconds
}

TEST(TimerWheel, BoundedPoolReportsExhaustionAndBadIds) {
  TimerWheel wheel({.capacity = 4, .tick_ms = 1, .start_ms = 0});
  std::vector<TimerId> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(must_acquire(wheel));
  }
  EXPECT_EQ(wheel.in_use(), 4u);
  const TimerAcquired full = wheel.acquire(0);
  EXPECT_EQ(full.result, TimerResult::pool_exhausted);
  EXPECT_EQ(full.id, kNoTimer);
  EXPECT_EQ(wheel.stats().pool_exhausted, 1u);

  // Releasing an armed timer disarms it and frees its place.
  ASSERT_EQ(wheel.schedule(ids[2], 100), TimerResult::ok);
  EXPECT_EQ(wheel.release(ids[2]), TimerResult::ok);
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ(advance_count(wheel, 100), 0u);

  // A released id is no longer valid, nor one beyond the pool.
  EXPECT_EQ(wheel.schedule(ids[2], 200), TimerResult::invalid_id);
  EXPECT_EQ(wheel.cancel(ids[2]), TimerResult::invalid_id);
  EXPECT_EQ(wheel.release(ids[2]), TimerResult::invalid_id);
  EXPECT_EQ(wheel.schedule(4, 200), TimerResult::invalid_id);
  EXPECT_EQ(wheel.schedule(kNoTimer, 200), TimerResult::invalid_id);
  EXPECT_FALSE(wheel.armed(kNoTimer));
  EXPECT_EQ(wheel.stats().invalid_id, 5u);
  EXPECT_EQ(to_string(TimerResult::invalid_id), "invalid_id");

  // Its place is handed out again.
  EXPECT_EQ(wheel.acquire(9).result, TimerResult::ok);
  EXPECT_EQ(wheel.acquire(9).result, TimerResult::pool_exhausted);

  TimerWheel empty({.capacity = 0});
  EXPECT_EQ(empty.acquire(0).result, TimerResult::pool_exhausted);
}

}  // namespace
}  // namespace dtlsgw::handshake
