// One direction of one key: the expanded key schedule, the fixed IV, and
// the engine chosen for it. The engine is picked once, when the key is
// installed, never per record (STYLE.md rule 4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

#include "dtls_record/aead_suite.h"
#include "dtls_record/record_number.h"
#include "dtls_record/wire.h"

namespace dtlsgw::record {

class CryptoContext;
struct AeadOp;

enum class Engine : uint8_t {
  ipsec_mb_gcm_direct,     // IMB_AES{128,256}_GCM_{ENC,DEC}: one call a record
  ipsec_mb_chacha_direct,  // IMB_CHACHA20_POLY1305_{INIT,UPDATE,FINALIZE}
  ipsec_mb_ccm_burst,      // IMB_CIPHER_CCM jobs through IMB_SUBMIT_BURST
};

// Where a key schedule lives. By default, the C heap (aligned_alloc); the
// dataplane hands its sessions memory of its own (large pages, next to
// the other sessions' schedules) without dtls_record knowing about DPDK.
// A schedule is released by the ScheduleMemory that allocated it, after
// it has been zeroed; `allocate` returns 64-byte aligned memory of at
// least `bytes`, or nullptr. Both are called from the owning thread of the
// key, never per record.
struct ScheduleMemory {
  void* (*allocate)(void* context, size_t bytes) = nullptr;
  void (*release)(void* context, void* p, size_t bytes) = nullptr;
  void* context = nullptr;
};

class RecordCipher {
 public:
  RecordCipher() = default;
  RecordCipher(RecordCipher&& other) noexcept { *this = std::move(other); }
  RecordCipher& operator=(RecordCipher&& other) noexcept;
  RecordCipher(const RecordCipher&) = delete;
  RecordCipher& operator=(const RecordCipher&) = delete;
  ~RecordCipher() { wipe(); }

  static size_t schedule_bytes(Aead aead);
  // Bytes a schedule of `aead` takes in memory (rounded to cache lines).
  static size_t schedule_allocation_bytes(Aead aead);

  // Where init() puts the schedule (nullptr: the C heap); wipes the key
  // held, so the schedule always goes back where it came from. The
  // ScheduleMemory must outlive this cipher's keys.
  void set_schedule_memory(const ScheduleMemory* memory) {
    wipe();
    memory_ = memory;
  }

  // Expands `key`; `key` and `fixed_iv` must have the suite's lengths.
  // Returns false (and holds nothing) otherwise.
  [[nodiscard]] bool init(CryptoContext& ctx, Aead aead, std::span<const uint8_t> key,
                          std::span<const uint8_t> fixed_iv);
  // Zeroes the schedule and IV and releases them.
  void wipe();

  bool valid() const { return schedule_ != nullptr; }
  Aead aead() const { return aead_; }
  Engine engine() const { return engine_; }
  const AeadParams& params() const { return *params_; }

  // The 12-byte nonce for record `number`. For salt_and_explicit suites
  // `explicit_nonce` is the 8 bytes from the wire (open) or the record
  // number written there (seal).
  // Inline: it runs once per record on the data path.
  void make_nonce(RecordNumber number, const uint8_t* explicit_nonce, uint8_t out[12]) const {
    if (params_->nonce_style == NonceStyle::salt_and_explicit) {
      // RFC 5288 §3, RFC 6655 §3: salt (the 4-byte write IV) ‖ nonce_explicit.
      std::memcpy(out, fixed_iv_, 4);
      std::memcpy(out + 4, explicit_nonce, 8);
    } else {
      // RFC 7905 §2: the 64-bit record number, left-padded with zeros to 12
      // bytes, XORed with the 12-byte write IV.
      uint8_t padded[12] = {};
      wire::store_u64(padded + 4, number.packed());
      for (size_t i = 0; i < 12; ++i) {
        out[i] = fixed_iv_[i] ^ padded[i];
      }
    }
  }

  // The key schedule the engine reads (CryptoContext::run).
  const void* schedule() const { return schedule_; }

  // Asks for the cache lines a record's AEAD reads first (the data path
  // calls it for a whole burst before any record is opened or sealed).
  // AES-GCM: the round keys and GHASH key powers, the first 6 lines on
  // SSE/AVX2 (more on VAES, which the engine loads on demand).
  void prefetch_schedule() const {
    const auto* p = reinterpret_cast<const char*>(schedule_);
    for (int line = 0; line < 6; ++line) {
      __builtin_prefetch(p + 64 * line);
    }
  }

 private:
  uint8_t* schedule_ = nullptr;
  const ScheduleMemory* memory_ = nullptr;  // nullptr: the C heap
  const AeadParams* params_ = nullptr;
  uint8_t fixed_iv_[12] = {};
  Aead aead_ = Aead::aes128_gcm;
  Engine engine_ = Engine::ipsec_mb_gcm_direct;
};

}  // namespace dtlsgw::record
