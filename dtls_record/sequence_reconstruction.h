// Epoch and sequence-number reconstruction from the low bits a DTLS 1.3
// unified header carries (RFC 9147 §4.2.2). Pure functions: no state, so
// they are table-tested at every wrap (tests/dtls_record/
// sequence_reconstruction_test.cc).
//
// RFC 9147 §4.2.2: "the receiver ... SHOULD pick the sequence number
// closest to one plus the sequence number of the highest successfully
// deprotected record in the current epoch", which is the packet-number
// decoding of RFC 9000 Appendix A.3. The same rule, with 2 bits and the
// current epoch as the expected value, picks the epoch: the result lies in
// (current - 2, current + 2], so the previous epoch (kept for a grace
// period after a KeyUpdate) and the next two are reachable.
#pragma once

#include <cstdint>

#include "dtls_record/record_number.h"

namespace dtlsgw::record {

// The value whose low `bits` bits are `low_bits` and which is closest to
// `expected`, never above `max_value` and never below 0 (RFC 9000 A.3,
// with its 2^62 bound replaced by `max_value`). `bits` is 1..32.
constexpr uint64_t reconstruct_closest(uint64_t expected, uint64_t low_bits, unsigned bits,
                                       uint64_t max_value) {
  const uint64_t window = uint64_t{1} << bits;
  const uint64_t half = window / 2;
  const uint64_t mask = window - 1;
  const uint64_t candidate = (expected & ~mask) | (low_bits & mask);
  // "candidate_pn <= expected_pn - pn_hwin", written so it cannot wrap.
  if (candidate + half <= expected && candidate <= max_value - window) {
    return candidate + window;
  }
  if (candidate > expected + half && candidate >= window) {
    return candidate - window;
  }
  return candidate;
}

// The full sequence number of a record whose header carries `wire_bits`
// (8 or 16) low bits, given `next_expected` = the highest sequence number
// authenticated in this epoch plus one (ReplayWindow::next_expected(); 0
// before any). dtlsgw keeps sequence numbers below 2^48 (RecordNumber).
constexpr uint64_t reconstruct_sequence(uint64_t next_expected, uint16_t wire_value,
                                        unsigned wire_bits) {
  return reconstruct_closest(next_expected, wire_value, wire_bits, RecordNumber::kMaxSequence);
}

// The epoch of a unified-header record whose two low epoch bits are
// `low_bits`, given the receiver's current read epoch. dtlsgw keeps epochs
// below 2^16 (RFC 9147 allows 2^64 but a session that rekeys 65535 times
// is closed instead).
constexpr Epoch reconstruct_epoch(Epoch current, uint8_t low_bits) {
  return Epoch{static_cast<uint16_t>(reconstruct_closest(current.value, low_bits & 3u, 2, 0xffff))};
}

}  // namespace dtlsgw::record
