#include "handshake/timer_wheel.h"

#include <algorithm>
#include <bit>

namespace dtlsgw::handshake {

namespace {

constexpr uint64_t saturating_add(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

}  // namespace

std::string_view to_string(TimerResult r) {
  switch (r) {
    case TimerResult::ok:
      return "ok";
    case TimerResult::not_armed:
      return "not_armed";
    case TimerResult::pool_exhausted:
      return "pool_exhausted";
    case TimerResult::invalid_id:
      return "invalid_id";
  }
  return "unknown";
}

TimerWheel::TimerWheel(const TimerWheelConfig& config)
    : nodes_(std::min<uint32_t>(config.capacity, kListFree)),
      now_ms_(config.start_ms),
      tick_ms_(std::max<uint32_t>(config.tick_ms, 1)) {
  elapsed_tick_ = now_ms_ / tick_ms_;
  // The pool's free list, lowest ids first.
  for (size_t i = nodes_.size(); i-- > 0;) {
    nodes_[i].next = free_head_;
    free_head_ = static_cast<uint32_t>(i);
  }
}

TimerAcquired TimerWheel::acquire(uint64_t user_data) {
  if (free_head_ == kNil) [[unlikely]] {
    ++stats_.pool_exhausted;
    return {TimerResult::pool_exhausted, kNoTimer};
  }
  const TimerId id = free_head_;
  Node& n = nodes_[id];
  free_head_ = n.next;
  n = Node{};
  n.user_data = user_data;
  n.list = kListIdle;
  ++in_use_;
  return {TimerResult::ok, id};
}

TimerResult TimerWheel::release(TimerId id) {
  if (!valid_acquired(id)) [[unlikely]] {
    ++stats_.invalid_id;
    return TimerResult::invalid_id;
  }
  if (nodes_[id].list != kListIdle) {
    unlink(id);
    ++stats_.cancelled;
  }
  Node& n = nodes_[id];
  n.list = kListFree;
  n.prev = kNil;
  n.next = free_head_;
  free_head_ = id;
  --in_use_;
  return TimerResult::ok;
}

TimerResult TimerWheel::schedule(TimerId id, uint64_t deadline_ms) {
  if (!valid_acquired(id)) [[unlikely]] {
    ++stats_.invalid_id;
    return TimerResult::invalid_id;
  }
  Node& n = nodes_[id];
  if (n.list != kListIdle) {
    unlink(id);
    ++stats_.rescheduled;
  }
  ++stats_.scheduled;
  // Rounded up, so a timer never fires before its deadline.
  n.deadline_tick = deadline_ms / tick_ms_ + (deadline_ms % tick_ms_ != 0 ? 1 : 0);
  ++armed_;
  if (n.deadline_tick <= elapsed_tick_) {
    // Already reached (or, inside a callback, due in the tick being fired):
    // the next advance() fires it first.
    ++stats_.scheduled_past;
    link(id, kListDue);
  } else {
    insert(id);
  }
  return TimerResult::ok;
}

TimerResult TimerWheel::cancel(TimerId id) {
  if (!valid_acquired(id)) [[unlikely]] {
    ++stats_.invalid_id;
    return TimerResult::invalid_id;
  }
  if (nodes_[id].list == kListIdle) {
    return TimerResult::not_armed;
  }
  unlink(id);
  ++stats_.cancelled;
  return TimerResult::ok;
}

bool TimerWheel::armed(TimerId id) const {
  return valid_acquired(id) && nodes_[id].list != kListIdle;
}

uint64_t TimerWheel::user_data(TimerId id) const {
  return valid_acquired(id) ? nodes_[id].user_data : 0;
}

void TimerWheel::link(TimerId id, uint32_t list) {
  Node& n = nodes_[id];
  List& l = lists_[list];
  n.list = list;
  n.next = kNil;
  n.prev = l.tail;
  if (l.tail == kNil) {
    l.head = id;
  } else {
    nodes_[l.tail].next = id;
  }
  l.tail = id;
  if (list < kWheelLists) {
    occupied_[list / kSlots] |= uint64_t{1} << (list % kSlots);
  }
}

// Disarms: takes the node off its list (wheel slot, due or firing).
void TimerWheel::unlink(TimerId id) {
  Node& n = nodes_[id];
  List& l = lists_[n.list];
  if (n.prev == kNil) {
    l.head = n.next;
  } else {
    nodes_[n.prev].next = n.next;
  }
  if (n.next == kNil) {
    l.tail = n.prev;
  } else {
    nodes_[n.next].prev = n.prev;
  }
  if (l.head == kNil && n.list < kWheelLists) {
    occupied_[n.list / kSlots] &= ~(uint64_t{1} << (n.list % kSlots));
  }
  n.list = kListIdle;
  n.prev = kNil;
  n.next = kNil;
  --armed_;
}

// Places an armed node by its deadline relative to elapsed_tick_. Its
// level is that of the highest bit in which the two differ, so every timer
// below the top level shares all higher bits with elapsed_tick_ and lies
// in a later slot of its level than elapsed_tick_ does (no wrap). The top
// level wraps: its slot s starts at the first tick after elapsed_tick_
// whose top digit is s. A deadline past the range is placed at the last
// tick of the range instead, whose slot starts no later than the real
// deadline; there it is cascaded again. Mid-cascade a deadline may equal
// elapsed_tick_ (never precede it): level 0, the current slot.
void TimerWheel::insert(TimerId id) {
  Node& n = nodes_[id];
  const uint64_t last_in_range = saturating_add(elapsed_tick_, kRangeTicks - 1);
  uint64_t place = n.deadline_tick;
  if (place > last_in_range) {
    place = last_in_range;
    ++stats_.clamped;
  }
  const uint64_t differing = place ^ elapsed_tick_;
  uint32_t level = 0;
  if (differing != 0) {
    level = std::min<uint32_t>((std::bit_width(differing) - 1) / kSlotBits, kLevels - 1);
  }
  const uint32_t slot = static_cast<uint32_t>(place >> (level * kSlotBits)) & (kSlots - 1);
  link(id, level * kSlots + slot);
}

// The occupied slot whose start comes first. Within a level that is the
// first occupied slot at or after elapsed_tick_'s own; a lower level's
// slots all start before a higher level's, but the minimum is taken anyway
// (four compares).
TimerWheel::NextSlot TimerWheel::next_slot() const {
  NextSlot best{kListNone, UINT64_MAX};
  for (uint32_t level = 0; level < kLevels; ++level) {
    const uint64_t bits = occupied_[level];
    if (bits == 0) {
      continue;
    }
    const uint32_t shift = level * kSlotBits;
    // Level 0 searches from elapsed_tick_'s own slot (occupied mid-cascade
    // only); higher levels from the one after it, since there their own
    // slot is either empty or, at the top level, a whole turn away.
    const uint32_t from =
        (static_cast<uint32_t>(elapsed_tick_ >> shift) + (level > 0 ? 1 : 0)) & (kSlots - 1);
    const uint32_t slot =
        (from + static_cast<uint32_t>(std::countr_zero(std::rotr(bits, static_cast<int>(from))))) &
        (kSlots - 1);
    const uint64_t level_span = uint64_t{1} << (shift + kSlotBits);
    uint64_t start = (elapsed_tick_ & ~(level_span - 1)) + (uint64_t{slot} << shift);
    if (level > 0 && start <= elapsed_tick_) {
      // Only the top level wraps: the slot's next turn.
      start += level_span;
    }
    if (start < best.start_tick) {
      best = {level * kSlots + slot, start};
    }
  }
  return best;
}

std::optional<uint64_t> TimerWheel::next_expiry() const {
  if (lists_[kListDue].head != kNil || lists_[kListFiring].head != kNil) {
    return now_ms_;
  }
  const NextSlot next = next_slot();
  if (next.list == kListNone) {
    return std::nullopt;
  }
  const uint64_t at =
      next.start_tick > UINT64_MAX / tick_ms_ ? UINT64_MAX : next.start_tick * tick_ms_;
  return std::max(at, now_ms_);
}

bool TimerWheel::begin_advance(uint64_t now_ms) {
  if (in_advance_) [[unlikely]] {
    ++stats_.reentrant_advance;
    return false;
  }
  in_advance_ = true;
  now_ms_ = std::max(now_ms_, now_ms);
  target_tick_ = std::max(elapsed_tick_, now_ms_ / tick_ms_);
  // Timers that were due when scheduled fire first, from a list of their
  // own, so those a callback schedules in the past wait for the next call.
  // (The firing list is normally empty here; it is not if a callback threw.)
  for (uint32_t id = lists_[kListDue].head; id != kNil;) {
    const uint32_t next = nodes_[id].next;
    unlink(id);
    ++armed_;  // unlink counted it disarmed
    link(id, kListFiring);
    id = next;
  }
  return true;
}

// Walks time forward to the next occupied slot not after target_tick_:
// a level-0 slot is returned to be fired; a higher one is cascaded into
// the levels below (its timers are all due at or after its start) and the
// walk goes on. Each step visits one occupied slot, so the work depends on
// how many timers there are, not on how much time passed.
uint32_t TimerWheel::next_expired_list() {
  for (;;) {
    const NextSlot next = next_slot();
    if (next.list == kListNone || next.start_tick > target_tick_) {
      return kListNone;
    }
    ++stats_.slot_visits;
    elapsed_tick_ = next.start_tick;
    if (next.list < kSlots) {
      return next.list;
    }
    List& l = lists_[next.list];
    uint32_t id = l.head;
    l = List{};
    occupied_[next.list / kSlots] &= ~(uint64_t{1} << (next.list % kSlots));
    while (id != kNil) {
      const uint32_t following = nodes_[id].next;
      ++stats_.cascaded;
      insert(id);
      id = following;
    }
  }
}

TimerId TimerWheel::pop_expired(uint32_t list) {
  const uint32_t id = lists_[list].head;
  if (id == kNil) {
    return kNoTimer;
  }
  unlink(id);
  ++stats_.fired;
  return id;
}

void TimerWheel::end_advance() {
  // Every occupied slot now starts after target_tick_, so moving there
  // keeps each timer at its level and slot.
  elapsed_tick_ = target_tick_;
}

}  // namespace dtlsgw::handshake
