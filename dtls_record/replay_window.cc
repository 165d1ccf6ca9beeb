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

void ReplayWindow::clear_passed_words(uint64_t sequence) {
  // The ring is a word longer than the window, so the words between the
  // old top and the new one never hold a number still inside the window.
  const uint64_t old_word = (next_ - 1) >> 6;
  const uint64_t new_word = sequence >> 6;
  const uint64_t steps = std::min<uint64_t>(new_word - old_word, word_mask_ + 1);
  for (uint64_t i = 1; i <= steps; ++i) {
    words_[(old_word + i) & word_mask_] = 0;
  }
}

}  // namespace dtlsgw::record
