#include "dtls_record/replay_window.h"

#include <algorithm>
#include <cassert>

namespace dtlsgw::record {

ReplayWindow::ReplayWindow(uint32_t window_bits, std::span<uint64_t> storage)
    : words_(storage.data()),
      word_mask_(static_cast<uint32_t>(storage_words(window_bits) - 1)),
      window_bits_(window_bits) {
  assert(valid_size(window_bits));
  assert(storage.size() >= storage_words(window_bits));
  reset();
}

void ReplayWindow::reset() {
  next_ = 0;
  std::fill_n(words_, word_mask_ + 1, uint64_t{0});
}

ReplayCheck ReplayWindow::commit(uint64_t sequence) {
  // Record numbers are 48-bit; next_ = sequence + 1 must not wrap.
  assert(sequence <= (uint64_t{1} << 48) - 1);
  if (sequence >= next_) {
    // Slide forward: clear every ring word the new top passes over. Words
    // between the old top and the new one hold only numbers that are now
    // left of the window (the ring is a word longer than the window).
    if (next_ != 0) {
      const uint64_t old_word = (next_ - 1) >> 6;
      const uint64_t new_word = sequence >> 6;
      const uint64_t steps = std::min<uint64_t>(new_word - old_word, word_mask_ + 1);
      for (uint64_t i = 1; i <= steps; ++i) {
        words_[(old_word + i) & word_mask_] = 0;
      }
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

}  // namespace dtlsgw::record
