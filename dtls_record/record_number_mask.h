// DTLS 1.3 record-number encryption (RFC 9147 §4.2.3):
//
//   "Mask = AES-ECB(sn_key, Ciphertext[0..15])" for AES-based AEADs;
//   "Mask = ChaCha20(sn_key, Ciphertext[0..3], Ciphertext[4..15])" for
//   ChaCha20-Poly1305: the first four sampled bytes are the block counter
//   (little-endian, RFC 8439 §2.3), the other twelve the nonce, and the
//   keystream is the mask. The sequence-number bytes are XORed with the
//   first one or two bytes of the mask.
//
//   "This procedure requires the ciphertext length to be at least 16 bytes.
//    Receivers MUST reject shorter records as if they had failed
//    deprotection ... Senders MUST pad short plaintexts out".
//
// AES: the key is expanded by IPsec-MB (IMB_AES_KEYEXP_128/256) and one
// block is encrypted with AES-NI directly: an IPsec-MB ECB job would go
// through the job queue for 16 bytes. ChaCha20: one block of the RFC 8439
// block function, in scalar code (a mask needs 2 bytes of it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dtls_record/aead_suite.h"

namespace dtlsgw::record {

class CryptoContext;

inline constexpr size_t kMaskSampleLength = 16;

class RecordNumberMask {
 public:
  RecordNumberMask() = default;
  RecordNumberMask(const RecordNumberMask&) = delete;
  RecordNumberMask& operator=(const RecordNumberMask&) = delete;
  ~RecordNumberMask() { wipe(); }

  // `sn_key` has the AEAD's key length (RFC 9147 §4.2.3: 16 or 32 bytes).
  // False if it does not, or (AES) if this CPU has no AES-NI.
  [[nodiscard]] bool init(CryptoContext& ctx, Aead aead, std::span<const uint8_t> sn_key);
  void wipe();
  bool valid() const { return rounds_ != 0; }

  // The first two mask bytes for the 16-byte `sample` (the ciphertext's
  // first 16 bytes).
  void mask(const uint8_t sample[kMaskSampleLength], uint8_t out[2]) const;

 private:
  // AES: 11 or 15 round keys; ChaCha20: the 32-byte key in the first bytes.
  alignas(16) uint8_t schedule_[15 * 16] = {};
  uint8_t rounds_ = 0;  // 10 or 14 for AES, 20 for ChaCha20, 0 when empty
  bool chacha_ = false;
};

// RFC 8439 §2.3: one 64-byte ChaCha20 block (exposed for its RFC test).
void chacha20_block(const uint8_t key[32], uint32_t counter, const uint8_t nonce[12],
                    uint8_t out[64]);

}  // namespace dtlsgw::record
