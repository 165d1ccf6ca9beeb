// Retransmission timers and handshake deadlines for many concurrent
// handshakes: a hierarchical timing wheel (Varghese & Lauck).
//
// RFC 6347 §4.2.4.1: "Implementations SHOULD use an initial timer value of
// 1 second ... and double the value at each retransmission, up to no less
// than the RFC 6298 maximum of 60 seconds." Each handshake engine exposes
// its next deadline (OpenSSL's DTLS timer, or the handshake's overall
// deadline) and the control loop keeps one armed timer per handshake here.
//
// Shape. Time is counted in ticks of `tick_ms` (1 ms by default) from the
// caller's monotonic clock; the caller passes `now`, the wheel never reads
// a clock. kLevels levels of kSlots slots: a timer sits at the level of the
// highest bit in which its deadline differs from the current tick, in the
// slot those six bits name. Level 0 slots are single ticks; a slot at level
// L spans 64^L ticks and is re-sorted ("cascaded") into lower levels when
// time reaches its start. The wheel covers 2^24 ticks (4.66 hours at 1 ms);
// a later deadline is clamped into the top level and re-cascaded every
// 2^24 ticks until it is in range: never lost, never early.
//
// Cost. schedule, cancel and reschedule are O(1): timers are nodes of
// index-linked lists in a pool fixed at construction (nothing is allocated
// afterwards). advance() finds the next occupied slot of each level with
// one 64-bit bitmap rotate and count-trailing-zeros, so an advance that
// fires nothing is O(kLevels), whatever time elapsed, and an advance
// across any span visits only occupied slots: at most (fired + cascaded)
// slot visits, never one per elapsed tick (stats().slot_visits counts them).
// Each timer is cascaded at most kLevels-1 times while in range.
//
// Firing. A timer with deadline d fires in the first advance(now) with
// now >= ceil(d / tick_ms) * tick_ms: never early, at most one tick late
// (plus however late the caller calls advance). Within one advance, timers
// fire in deadline order at tick resolution (timers of one tick in no
// particular order). A deadline already reached when scheduled fires at
// the next advance(), before anything else. A timer is disarmed before its
// callback runs, so the callback may re-arm it (back-off), cancel or
// re-arm others, or release it; anything it arms for a tick not later
// than the one being fired fires in the next advance(), so advance always
// terminates.
//
// Not thread-safe: one wheel per thread (the control process's loop).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace dtlsgw::handshake {

using TimerId = uint32_t;
inline constexpr TimerId kNoTimer = UINT32_MAX;

enum class TimerResult : uint8_t {
  ok,
  not_armed,       // cancel() of an acquired timer that was not armed (not an error)
  pool_exhausted,  // acquire() with every timer of the pool in use
  invalid_id,      // an id not handed out by acquire(), or already released
};
std::string_view to_string(TimerResult r);

struct TimerAcquired {
  TimerResult result;
  TimerId id;  // kNoTimer unless result == ok
};

struct TimerWheelConfig {
  uint32_t capacity = 0;  // timers in the pool, fixed (at most UINT32_MAX - 2)
  uint32_t tick_ms = 1;   // resolution; 0 is taken as 1
  uint64_t start_ms = 0;  // the caller's clock at construction
};

// Counters, cumulative since construction.
struct TimerWheelStats {
  uint64_t scheduled = 0;          // schedule() calls that armed a timer
  uint64_t rescheduled = 0;        // ... of which moved an already armed timer
  uint64_t scheduled_past = 0;     // ... of which had a deadline already reached
  uint64_t cancelled = 0;          // armed timers disarmed by cancel() or release()
  uint64_t fired = 0;              // callbacks run
  uint64_t cascaded = 0;           // timers moved from a higher level to a lower one
  uint64_t clamped = 0;            // insertions beyond the wheel's range
  uint64_t slot_visits = 0;        // occupied slots emptied by advance()
  uint64_t pool_exhausted = 0;     // acquire() failures
  uint64_t invalid_id = 0;         // schedule()/cancel()/release() with a bad id
  uint64_t reentrant_advance = 0;  // advance() called from a callback (refused)
};

class TimerWheel {
 public:
  static constexpr uint32_t kSlotBits = 6;
  static constexpr uint32_t kSlots = 1u << kSlotBits;  // per level: one uint64_t bitmap
  static constexpr uint32_t kLevels = 4;
  static constexpr uint64_t kRangeTicks = uint64_t{1} << (kSlotBits * kLevels);

  explicit TimerWheel(const TimerWheelConfig& config);
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Takes a timer from the pool, unarmed, carrying `user_data` (handed back
  // to the callback; for instance the handshake's index).
  [[nodiscard]] TimerAcquired acquire(uint64_t user_data);
  // Disarms the timer if armed and returns it to the pool.
  TimerResult release(TimerId id);

  // Arms `id` to fire at `deadline_ms`; if already armed, moves it (the
  // reschedule, earlier or later, is O(1) either way).
  [[nodiscard]] TimerResult schedule(TimerId id, uint64_t deadline_ms);
  // ok if it was armed and now is not; not_armed if it was not armed.
  TimerResult cancel(TimerId id);

  [[nodiscard]] bool armed(TimerId id) const;
  [[nodiscard]] uint64_t user_data(TimerId id) const;  // 0 for a bad id

  // Fires every timer due at `now_ms` (see "Firing" above), calling
  // on_expire(TimerId, uint64_t user_data) for each; returns how many
  // fired. `now_ms` earlier than a previous one is taken as that one.
  template <std::invocable<TimerId, uint64_t> OnExpire>
  uint64_t advance(uint64_t now_ms, OnExpire&& on_expire);

  // When the loop should call advance() next, or nothing if no timer is
  // armed; cheap (O(kLevels)). Never later than the earliest deadline
  // rounded up to the tick. If that deadline is at level 0 (within 64
  // ticks of now) it is exact: the deadline rounded up to the tick, so at
  // most one tick after it. Otherwise it is the start of the slot holding
  // the earliest deadline, up to one slot span of that level (64^L ticks)
  // before it: advancing to it cascades that slot and the next answer is
  // tighter, so a loop that sleeps until next_expiry() and advances is
  // never late, and wakes at most kLevels times per deadline in range
  // (kLevels more per kRangeTicks beyond). A deadline already reached
  // answers now.
  [[nodiscard]] std::optional<uint64_t> next_expiry() const;

  [[nodiscard]] size_t size() const { return armed_; }     // armed timers
  [[nodiscard]] size_t in_use() const { return in_use_; }  // acquired timers
  [[nodiscard]] size_t capacity() const { return nodes_.size(); }
  [[nodiscard]] uint32_t tick_ms() const { return tick_ms_; }
  [[nodiscard]] uint64_t now_ms() const { return now_ms_; }  // the latest advance's now
  [[nodiscard]] const TimerWheelStats& stats() const { return stats_; }

 private:
  // List ids: wheel slots are level * kSlots + slot; then these.
  static constexpr uint32_t kWheelLists = kLevels * kSlots;
  static constexpr uint32_t kListDue = kWheelLists;         // reached when scheduled
  static constexpr uint32_t kListFiring = kWheelLists + 1;  // being fired now
  static constexpr uint32_t kListCount = kWheelLists + 2;
  static constexpr uint32_t kListNone = UINT32_MAX;      // advance: nothing more
  static constexpr uint32_t kListIdle = UINT32_MAX - 1;  // acquired, not armed
  static constexpr uint32_t kListFree = UINT32_MAX - 2;  // in the pool
  static constexpr uint32_t kNil = UINT32_MAX;

  struct Node {
    uint64_t deadline_tick = 0;
    uint64_t user_data = 0;
    uint32_t prev = kNil;
    uint32_t next = kNil;
    uint32_t list = kListFree;
  };
  struct List {
    uint32_t head = kNil;
    uint32_t tail = kNil;
  };
  struct NextSlot {
    uint32_t list;  // kListNone if the wheel is empty
    uint64_t start_tick;
  };

  [[nodiscard]] bool valid_acquired(TimerId id) const {
    return id < nodes_.size() && nodes_[id].list != kListFree;
  }
  void link(TimerId id, uint32_t list);
  void unlink(TimerId id);
  void insert(TimerId id);  // into the wheel, relative to elapsed_tick_
  [[nodiscard]] NextSlot next_slot() const;

  // advance(), split so the template stays small.
  bool begin_advance(uint64_t now_ms);
  uint32_t next_expired_list();  // cascades on the way; kListNone when done
  TimerId pop_expired(uint32_t list);
  void end_advance();

  std::vector<Node> nodes_;
  List lists_[kListCount];
  uint64_t occupied_[kLevels] = {};  // bit s of level L: slot s non-empty
  uint64_t elapsed_tick_;     // every wheel timer's deadline is after it (or at it, mid-cascade)
  uint64_t target_tick_ = 0;  // advance(): where elapsed_tick_ is going
  uint64_t now_ms_;
  uint32_t tick_ms_;
  uint32_t free_head_ = kNil;
  size_t armed_ = 0;
  size_t in_use_ = 0;
  bool in_advance_ = false;
  TimerWheelStats stats_;
};

template <std::invocable<TimerId, uint64_t> OnExpire>
uint64_t TimerWheel::advance(uint64_t now_ms, OnExpire&& on_expire) {
  if (!begin_advance(now_ms)) [[unlikely]] {
    return 0;
  }
  // Clears in_advance_ even if a callback throws; the timers not yet fired
  // stay where they are and fire at the next advance().
  struct Guard {
    bool& flag;
    ~Guard() { flag = false; }
  } guard{in_advance_};
  uint64_t fired = 0;
  for (uint32_t list = kListFiring; list != kListNone; list = next_expired_list()) {
    for (TimerId id = pop_expired(list); id != kNoTimer; id = pop_expired(list)) {
      ++fired;
      on_expire(id, nodes_[id].user_data);
    }
  }
  end_advance();
  return fired;
}

}  // namespace dtlsgw::handshake
