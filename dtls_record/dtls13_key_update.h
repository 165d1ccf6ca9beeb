// The read side of a DTLS 1.3 connection across KeyUpdates (RFC 9147 §8,
// RFC 8446 §7.2): the current epoch's keys, and the previous epoch's for a
// grace period.
//
//   "... the receiver ... SHOULD retain the previous keys for a while, so
//    that it can decrypt records delayed or reordered in the network."
//   (RFC 9147 §8 discusses retaining old epochs; how long is local policy.)
//
// update() derives the next application traffic secret ("traffic upd",
// with the "dtls13" label prefix), installs it as epoch n+1 and keeps epoch
// n readable until `now + grace`. select() maps a record's two low epoch
// bits (§4.2.2) to the epoch object that opens it, or nullptr: an epoch
// never installed, or the previous one once its grace has passed (it is
// retired, its keys wiped, at that moment). The clock is the caller's
// (milliseconds, monotonic): the dataplane's worker clock, or a test's.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "dtls_record/dtls13_protection.h"
#include "dtls_record/hkdf_label.h"

namespace dtlsgw::record {

class Dtls13ReadKeys {
 public:
  explicit Dtls13ReadKeys(uint32_t replay_window_bits = 64, uint64_t grace_ms = 10'000)
      : epochs_{Dtls13ReadEpoch(replay_window_bits), Dtls13ReadEpoch(replay_window_bits)},
        grace_ms_(grace_ms) {}
  ~Dtls13ReadKeys();
  Dtls13ReadKeys(const Dtls13ReadKeys&) = delete;
  Dtls13ReadKeys& operator=(const Dtls13ReadKeys&) = delete;

  // Installs `secret` as `epoch` (the first application epoch, 3) and
  // forgets any previous epoch. False if the keys cannot be derived.
  [[nodiscard]] bool install(CryptoContext& ctx, Epoch epoch, const Dtls13Suite& suite,
                             std::span<const uint8_t> secret, std::span<const uint8_t> own_cid);
  // KeyUpdate: epoch n+1 from the next traffic secret; epoch n stays
  // readable until now_ms + grace. False (nothing changed) if the keys
  // cannot be derived or the epoch would pass 2^16 - 1.
  [[nodiscard]] bool update(CryptoContext& ctx, uint64_t now_ms);

  // The epoch that opens a record whose header carries `epoch_bits`.
  Dtls13ReadEpoch* select(uint8_t epoch_bits, uint64_t now_ms);

  Dtls13ReadEpoch& current() { return epochs_[current_]; }
  // Retires the previous epoch if its grace has passed; true while it is
  // still readable.
  bool previous_readable(uint64_t now_ms);

 private:
  // Two slots: an update installs the new epoch into the slot the previous
  // one held (retired first) and flips `current_`.
  std::array<Dtls13ReadEpoch, 2> epochs_;
  unsigned current_ = 0;
  uint64_t previous_until_ms_ = 0;
  bool has_previous_ = false;
  uint64_t grace_ms_;
  Dtls13Suite suite_{};
  std::array<uint8_t, 48> secret_{};  // the current epoch's traffic secret
  std::array<uint8_t, kMaxConnectionIdLength> cid_{};
  size_t cid_length_ = 0;
};

}  // namespace dtlsgw::record
