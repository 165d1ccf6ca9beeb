// DTLS 1.2 AEAD record protection (RFC 6347 §4.1.2, RFC 5246 §6.2.3.3), in
// place on plain buffers.
//
// Opening is the two-phase scheme of DESIGN.md: a const replay check before
// the AEAD (ReplayWindow::check), the window committed only after the tag
// verifies (ReplayWindow::commit), re-testing the bit so duplicates inside
// one burst are caught. Sealing takes each record's number from the write
// epoch and refuses to wrap or to pass the AEAD's confidentiality limit.
//
// Buffers: a sealed record is written where the caller's buffer starts; the
// plaintext must already sit at seal_prefix() bytes in, with tag_length()
// bytes of room after it (mbuf headroom and tailroom in the dataplane).
// An opened record's plaintext is left in place inside the fragment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dtls_record/aead_suite.h"
#include "dtls_record/crypto_context.h"
#include "dtls_record/record_cipher.h"
#include "dtls_record/record_format.h"
#include "dtls_record/record_header.h"
#include "dtls_record/record_number.h"
#include "dtls_record/record_walker.h"
#include "dtls_record/replay_window.h"

namespace dtlsgw::record {

enum class OpenResult : uint8_t {
  ok,
  malformed,      // wrong version, fragment shorter than nonce + tag, or a
                  // plaintext over 2^14 (RFC 6347 §4.1.2.7: discard)
  unknown_epoch,  // not the epoch this key reads
  replay,         // a record number already received
  too_old,        // left of the replay window
  auth_failed,    // the tag did not verify
  engine_error,   // the crypto engine refused the job (never expected)
  // The reasons below come only from DTLS 1.3 and RFC 9146 records.
  // RFC 9147 §4.2.3: fewer than 16 bytes of ciphertext to sample for the
  // record-number mask. "Receivers MUST reject shorter records as if they
  // had failed deprotection" (counted apart: it needs no AEAD work).
  too_short_to_mask,
  // The record's CID is not the one this epoch was installed with.
  unknown_connection_id,
  // Authenticated, but the inner plaintext is all zeros: no content type
  // (RFC 8446 §5.4, RFC 9146 §5: "unexpected_message").
  no_content_type,
};
inline constexpr size_t kOpenResultCount = 10;
std::string_view to_string(OpenResult r);

enum class SealResult : uint8_t {
  ok,
  plaintext_too_long,  // over 2^14 bytes
  buffer_too_small,    // no room for header, nonce, plaintext and tag
  sequence_exhausted,  // the epoch's 2^48 numbers are used up
  usage_limit,         // the AEAD's confidentiality limit is reached
  no_key,              // the epoch holds no key (never installed or retired)
  engine_error,
};
std::string_view to_string(SealResult r);

// What the owner of a key should do about its usage so far.
enum class UsageStatus : uint8_t {
  ok,
  // Close the session: the confidentiality or integrity limit is (nearly)
  // reached, and DTLS 1.2 has no rekeying. Sealing stays possible for
  // kCloseReserve more records so the close_notify can go out.
  close_required,
  // CCM-8 only: forgeries past the alarm threshold. No safe integrity limit
  // exists for an 8-byte tag, so closing would hand an attacker a cheap
  // denial of service (RFC 9147 §4.5.3): alarm and rate-limit the source.
  forgery_alarm,
};

inline constexpr uint64_t kCloseReserve = 16;
inline constexpr uint64_t kDefaultCcm8ForgeryAlarm = 128;

// The reading half of one epoch's keys: key schedule, replay window and
// usage counters. Owned and written by exactly one thread.
class ReadEpoch {
 public:
  static constexpr RecordFormat kFormat = RecordFormat::dtls12;
  explicit ReadEpoch(uint32_t replay_window_bits = 64) : window_(replay_window_bits) {}
  // The replay window's words in `replay_storage` (OwnedReplayWindow).
  ReadEpoch(uint32_t replay_window_bits, std::span<uint64_t> replay_storage)
      : window_(replay_window_bits, replay_storage) {}

  [[nodiscard]] bool install(CryptoContext& ctx, Epoch epoch, Aead aead,
                             std::span<const uint8_t> key, std::span<const uint8_t> fixed_iv) {
    epoch_ = epoch;
    opened_ = 0;
    forgeries_ = 0;
    window_.get().reset();
    return cipher_.init(ctx, aead, key, fixed_iv);
  }
  // Wipes the key (RecordCipher::wipe); the epoch then opens nothing.
  void retire() { cipher_.wipe(); }
  // Where install() puts the key schedule (RecordCipher::set_schedule_memory).
  void set_schedule_memory(const ScheduleMemory* memory) { cipher_.set_schedule_memory(memory); }
  // Asks for what opening a record reads first: key schedule and replay
  // words (the data path, for a whole burst before opening it).
  void prefetch() const {
    cipher_.prefetch_schedule();
    window_.get().prefetch();
  }

  Epoch epoch() const { return epoch_; }
  const RecordCipher& cipher() const { return cipher_; }
  ReplayWindow& replay_window() { return window_.get(); }
  const ReplayWindow& replay_window() const { return window_.get(); }
  uint64_t records_opened() const { return opened_; }
  uint64_t forgeries() const { return forgeries_; }
  void set_forgery_alarm_threshold(uint64_t n) {
    forgery_alarm_ = static_cast<uint32_t>(n > UINT32_MAX ? UINT32_MAX : n);
  }
  UsageStatus usage_status() const;

 private:
  friend class RecordOpener;
  RecordCipher cipher_;
  OwnedReplayWindow window_;
  uint64_t opened_ = 0;
  uint64_t forgeries_ = 0;
  // 32 bits, beside the epoch: the dataplane's Session keeps a ReadEpoch
  // per session within its 256 bytes (dataplane/session.h).
  uint32_t forgery_alarm_ = kDefaultCcm8ForgeryAlarm;
  Epoch epoch_;
};

// The writing half of one epoch's keys.
class WriteEpoch {
 public:
  static constexpr RecordFormat kFormat = RecordFormat::dtls12;
  // `first_sequence`: the first number this key may use (the handover sets
  // it above the last one OpenSSL wrote, DESIGN.md).
  // `foreign_explicit_nonces`: the 8-byte explicit nonces another writer
  // (OpenSSL, before the handover) already sent under this key. dtlsgw's
  // explicit nonce is epoch ‖ sequence; OpenSSL's GCM nonce is a counter
  // from a random start, which can fall in this epoch's range. Starting
  // above any that does keeps every (key, nonce) pair unique. It happens
  // for about one key in 2^16 and then costs at most part of a 2^48 space.
  [[nodiscard]] bool install(CryptoContext& ctx, Epoch epoch, Aead aead,
                             std::span<const uint8_t> key, std::span<const uint8_t> fixed_iv,
                             uint64_t first_sequence = 0,
                             std::span<const uint64_t> foreign_explicit_nonces = {}) {
    if (aead_params(aead).nonce_style == NonceStyle::salt_and_explicit) {
      for (const uint64_t nonce : foreign_explicit_nonces) {
        const RecordNumber used = RecordNumber::from_packed(nonce);
        if (used.epoch() == epoch && used.sequence() >= first_sequence) {
          first_sequence = used.sequence() + 1;
        }
      }
    }
    next_ = RecordNumber(epoch, first_sequence);
    exhausted_ = first_sequence > RecordNumber::kMaxSequence;
    sealed_ = 0;
    return cipher_.init(ctx, aead, key, fixed_iv);
  }
  void retire() { cipher_.wipe(); }
  void set_schedule_memory(const ScheduleMemory* memory) { cipher_.set_schedule_memory(memory); }
  void prefetch() const { cipher_.prefetch_schedule(); }

  const RecordCipher& cipher() const { return cipher_; }
  Epoch epoch() const { return next_.epoch(); }
  // The number the next sealed record gets (meaningless once exhausted).
  RecordNumber next_number() const { return next_; }
  bool exhausted() const { return exhausted_; }
  uint64_t records_sealed() const { return sealed_; }
  // Checked after every sealed record: inline.
  UsageStatus usage_status() const {
    if (!cipher_.valid()) {
      return UsageStatus::ok;
    }
    const uint64_t limit = cipher_.params().confidentiality_limit;
    const uint64_t left_in_epoch =
        exhausted_ ? 0 : RecordNumber::kMaxSequence - next_.sequence() + 1;
    if (sealed_ + kCloseReserve >= limit || left_in_epoch <= kCloseReserve) {
      return UsageStatus::close_required;
    }
    return UsageStatus::ok;
  }

  // Where the plaintext goes in a seal buffer, and the room after it.
  size_t seal_prefix() const {
    return kRecordHeaderLength + cipher_.params().explicit_nonce_length;
  }
  size_t tag_length() const { return cipher_.params().tag_length; }

 private:
  friend class RecordSealer;
  RecordCipher cipher_;
  RecordNumber next_;
  uint64_t sealed_ = 0;
  bool exhausted_ = false;
};

// A session holds one of each per epoch in the dataplane, whose budget is
// 256 bytes per established session without the key schedules (DESIGN.md):
// pin their size so growth is a deliberate decision.
static_assert(sizeof(ReadEpoch) <= 112, "ReadEpoch grew: revisit the session memory budget");
static_assert(sizeof(WriteEpoch) <= 64, "WriteEpoch grew: revisit the session memory budget");

// ---- Opening ---------------------------------------------------------------

struct OpenRequest {
  ReadEpoch* epoch = nullptr;
  RecordView record;  // from RecordWalker: in place, decrypted there
  // Filled by open_burst:
  OpenResult result = OpenResult::malformed;
  ContentType type = ContentType::application_data;
  RecordNumber number;
  std::span<uint8_t> plaintext;  // inside record.fragment
};

// Opens every request (any mix of epochs, sessions and suites; chunks of
// kMaxBurst run as one crypto batch). Returns how many are `ok`.
size_t open_burst(CryptoContext& ctx, std::span<OpenRequest> requests);

// One record; the same checks and order as the burst.
OpenResult open_record(CryptoContext& ctx, ReadEpoch& epoch, const RecordView& record,
                       std::span<uint8_t>& plaintext);

// ---- Sealing ---------------------------------------------------------------

struct SealRequest {
  WriteEpoch* epoch = nullptr;
  ContentType type = ContentType::application_data;
  // The record is written from buffer.data(); the plaintext must be at
  // buffer.data() + epoch->seal_prefix().
  std::span<uint8_t> buffer;
  size_t plaintext_length = 0;
  // Filled by seal_burst:
  SealResult result = SealResult::engine_error;
  RecordNumber number;
  size_t record_length = 0;  // bytes of buffer now holding the record
};

size_t seal_burst(CryptoContext& ctx, std::span<SealRequest> requests);

SealResult seal_record(CryptoContext& ctx, WriteEpoch& epoch, ContentType type,
                       std::span<uint8_t> buffer, size_t plaintext_length, size_t& record_length);

// The two passes of open_burst and seal_burst, one request each, for the
// mixed-format bursts of record_dispatch.h (pass 1 fills `op`, returning
// false when the request was refused before the AEAD; pass 2 after the
// engine ran it).
bool prepare_open(OpenRequest& r, AeadOp& op);
void finish_open(OpenRequest& r, const AeadOp& op);
bool prepare_seal(SealRequest& r, AeadOp& op);
void finish_seal(SealRequest& r, const AeadOp& op);

}  // namespace dtlsgw::record
