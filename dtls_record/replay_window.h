// The anti-replay window of RFC 6347 §4.1.2.6 (and RFC 9147 §4.5.1).
//
// "The receiver ... MUST discard ... records ... [that] would be a
//  duplicate ... [or] ... too old to be checked" and "the window MUST NOT be
//  updated unless the MAC verification succeeds."
//
// So there are two operations: check(), const, before authentication; and
// commit(), after it, which tests the bit again so that two copies of one
// record authenticated in the same burst yield one fresh and one duplicate.
//
// The bitmap is a ring of 64-bit words indexed by sequence number (the
// scheme of RFC 6479): sliding forward clears whole words and never shifts,
// so a jump of any size costs at most one pass over the words. The ring
// holds at least one word more than the window so the oldest in-window
// word never aliases the newest. Storage is the caller's, so a session can
// place it in its own memory (hugepages in the dataplane).
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace dtlsgw::record {

enum class ReplayCheck : uint8_t {
  fresh,      // never seen and inside (or ahead of) the window
  duplicate,  // seen before
  too_old,    // left of the window: cannot be checked, so discarded
};

class ReplayWindow {
 public:
  static constexpr uint32_t kMinBits = 64;
  static constexpr uint32_t kMaxBits = 1u << 16;

  // Words of storage a window of `window_bits` needs (a power of two).
  static constexpr size_t storage_words(uint32_t window_bits) {
    size_t words = 1;
    while (words * 64 < size_t{window_bits} + 64) {
      words <<= 1;
    }
    return words;
  }
  static constexpr bool valid_size(uint32_t window_bits) {
    return window_bits >= kMinBits && window_bits <= kMaxBits;
  }

  ReplayWindow() = default;
  // `storage` must hold storage_words(window_bits) words; it is zeroed.
  ReplayWindow(uint32_t window_bits, std::span<uint64_t> storage);

  [[nodiscard]] ReplayCheck check(uint64_t sequence) const {
#ifdef DTLSGW_BENCHMARK_BUILD
    if (relaxed_for_benchmark) [[unlikely]] {
      return ReplayCheck::fresh;
    }
#endif
    if (sequence >= next_) {
      return ReplayCheck::fresh;
    }
    if (next_ - 1 - sequence >= window_bits_) {
      return ReplayCheck::too_old;
    }
    return test(sequence) ? ReplayCheck::duplicate : ReplayCheck::fresh;
  }

  // Marks `sequence` as received; returns what check() would have said
  // just before, and changes nothing unless that was `fresh`. Inline: it
  // runs once per record; only a slide past a word boundary calls out.
  ReplayCheck commit(uint64_t sequence) {
    // Record numbers are 48-bit; next_ = sequence + 1 must not wrap.
    assert(sequence <= (uint64_t{1} << 48) - 1);
#ifdef DTLSGW_BENCHMARK_BUILD
    if (relaxed_for_benchmark) [[unlikely]] {
      return ReplayCheck::fresh;
    }
#endif
    if (sequence >= next_) {
      if (next_ != 0 && (sequence >> 6) != ((next_ - 1) >> 6)) {
        clear_passed_words(sequence);
      }
      next_ = sequence + 1;
    } else {
      const ReplayCheck c = check(sequence);
      if (c != ReplayCheck::fresh) {
        return c;
      }
    }
    words_[(sequence >> 6) & word_mask_] |= uint64_t{1} << (sequence & 63);
    return ReplayCheck::fresh;
  }

  // Back to "nothing received".
  void reset();

#ifdef DTLSGW_BENCHMARK_BUILD
  // Benchmark builds only (meson -Dstatic_keys=true, the dataplane's
  // `relaxed_replay` key): every record number is fresh and nothing is
  // recorded, so a traffic generator can loop one captured pcap. It turns
  // off the anti-replay invariant for the whole process; production builds
  // do not contain this switch at all.
  static inline bool relaxed_for_benchmark = false;
#endif

  // Asks for the word a record near the top of the window tests (the data
  // path, a burst ahead of the records).
  void prefetch() const { __builtin_prefetch(words_ + ((next_ >> 6) & word_mask_)); }

  uint32_t window_bits() const { return window_bits_; }
  // Highest sequence number committed plus one; 0 when none was.
  uint64_t next_expected() const { return next_; }

 private:
  // Sliding forward to `sequence`: clears every ring word the new top
  // passes over (they hold only numbers now left of the window).
  void clear_passed_words(uint64_t sequence);

  bool test(uint64_t sequence) const {
    return (words_[(sequence >> 6) & word_mask_] >> (sequence & 63)) & 1;
  }

  uint64_t next_ = 0;
  uint64_t* words_ = nullptr;
  uint32_t word_mask_ = 0;
  uint32_t window_bits_ = 0;
};

// A window together with its storage: heap storage of its own (the
// control process, tests), or words the caller keeps for as long as the
// window lives (the dataplane's sessions: one hugepage array on the
// workers' NUMA socket, indexed by session slot, so that a worker
// installing a session takes no C-heap allocation for its window).
class OwnedReplayWindow {
 public:
  explicit OwnedReplayWindow(uint32_t window_bits)
      : storage_(std::make_unique<uint64_t[]>(ReplayWindow::storage_words(window_bits))),
        window_(window_bits, {storage_.get(), ReplayWindow::storage_words(window_bits)}) {}
  // `storage`: at least ReplayWindow::storage_words(window_bits) words; zeroed.
  OwnedReplayWindow(uint32_t window_bits, std::span<uint64_t> storage)
      : window_(window_bits, storage) {}

  ReplayWindow& get() { return window_; }
  const ReplayWindow& get() const { return window_; }

 private:
  std::unique_ptr<uint64_t[]> storage_;
  ReplayWindow window_;
};

}  // namespace dtlsgw::record
