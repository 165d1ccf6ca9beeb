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

namespace detail {
// Frees an aligned key schedule after zeroing it.
struct WipingFree {
  size_t size = 0;
  void operator()(uint8_t* p) const;
};
}  // namespace detail

class RecordCipher {
 public:
  RecordCipher() = default;
  RecordCipher(RecordCipher&&) noexcept = default;
  RecordCipher& operator=(RecordCipher&&) noexcept = default;
  ~RecordCipher() { wipe(); }

  static size_t schedule_bytes(Aead aead);

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

  // Engine hooks, used by CryptoContext::run().
  void run_direct(CryptoContext& ctx, AeadOp& op) const;
  const void* schedule() const { return schedule_.get(); }

 private:
  std::unique_ptr<uint8_t, detail::WipingFree> schedule_;
  const AeadParams* params_ = nullptr;
  uint8_t fixed_iv_[12] = {};
  Aead aead_ = Aead::aes128_gcm;
  Engine engine_ = Engine::ipsec_mb_gcm_direct;
};

}  // namespace dtlsgw::record
