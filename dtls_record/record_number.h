// DTLS record numbers: a 16-bit epoch and a 48-bit sequence number
// (RFC 6347 §4.1). Packed into one 64-bit value, which is also exactly the
// 8-byte "seq_num" of the TLS 1.2 additional data and the DTLS 1.2 explicit
// nonce (RFC 6347 §4.1.2.1).
#pragma once

#include <compare>
#include <cstdint>
#include <optional>

namespace dtlsgw::record {

struct Epoch {
  uint16_t value = 0;
  friend constexpr auto operator<=>(Epoch, Epoch) = default;
};

class RecordNumber {
 public:
  static constexpr uint64_t kMaxSequence = (uint64_t{1} << 48) - 1;

  constexpr RecordNumber() = default;
  // The sequence is masked to 48 bits; callers at the parse edge never pass
  // more, and sealing checks `next()` before it could.
  constexpr RecordNumber(Epoch epoch, uint64_t sequence)
      : packed_((uint64_t{epoch.value} << 48) | (sequence & kMaxSequence)) {}

  static constexpr RecordNumber from_packed(uint64_t packed) {
    RecordNumber n;
    n.packed_ = packed;
    return n;
  }

  constexpr Epoch epoch() const { return Epoch{static_cast<uint16_t>(packed_ >> 48)}; }
  constexpr uint64_t sequence() const { return packed_ & kMaxSequence; }
  // epoch ‖ sequence, as it appears on the wire in a DTLS 1.2 header.
  constexpr uint64_t packed() const { return packed_; }

  // The following number in the same epoch, or nothing at the top of the
  // sequence space: a sequence number must never wrap (RFC 6347 §4.1).
  constexpr std::optional<RecordNumber> next() const {
    if (sequence() == kMaxSequence) {
      return std::nullopt;
    }
    return from_packed(packed_ + 1);
  }

  friend constexpr auto operator<=>(RecordNumber, RecordNumber) = default;

 private:
  uint64_t packed_ = 0;
};

}  // namespace dtlsgw::record
