// The ceilings the record benchmark holds dtlsgw against: each AEAD engine
// called directly on a record's bytes, in place, with the nonce and the
// additional data already built. No record header, no replay window, no
// per-record dispatch, no wiping of engine contexts: only what any caller
// of the engine must do (run it and, when opening, compare the tag).
//
// Every interface style IPsec-MB 1.3 offers for the suite is here, so the
// benchmark can name the fastest one per size, plus OpenSSL's EVP for
// ChaCha20-Poly1305 as the alternative engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "dtls_record/aead_suite.h"

namespace dtlsgw::bench {

// One record as an engine sees it. `data` points into the same buffer the
// record layer works on: ciphertext (open) or plaintext (seal) of `length`
// bytes followed by the tag.
//
// The additional data is the 13 inline bytes of DTLS 1.2, or, for DTLS 1.3
// (the unmasked unified header) and RFC 9146 records (23 bytes and the
// CID), `long_aad_length` bytes at `long_aad`. Kept to one cache line so the
// DTLS 1.2 ceilings read no more than they did.
struct RawRecord {
  uint8_t* data = nullptr;
  const uint8_t* long_aad = nullptr;
  uint32_t length = 0;
  uint8_t nonce[12] = {};
  uint8_t aad[13] = {};  // RFC 6347 §4.1.2.1: seq_num ‖ type ‖ version ‖ length
  uint8_t long_aad_length = 0;
  alignas(16) uint8_t computed_tag[16] = {};

  const uint8_t* aad_bytes() const { return long_aad != nullptr ? long_aad : aad; }
  size_t aad_size() const { return long_aad != nullptr ? long_aad_length : sizeof(aad); }
};
static_assert(sizeof(RawRecord) == 64, "one cache line per raw record");

enum class RawInterface : uint8_t {
  direct,         // IMB_AES*_GCM_{ENC,DEC}; IMB_CHACHA20_POLY1305_{INIT,UPDATE,FINALIZE}
  job,            // IMB_GET_NEXT_JOB / IMB_SUBMIT_JOB / IMB_FLUSH_JOB
  burst,          // IMB_GET_NEXT_BURST / IMB_SUBMIT_BURST / IMB_FLUSH_BURST
  burst_nocheck,  // the same with IMB_SUBMIT_BURST_NOCHECK
  evp,            // OpenSSL EVP: new IV, AAD, update, final, tag ctrl
  evp_tls,        // OpenSSL EVP's TLS record mode: EVP_CTRL_AEAD_TLS1_AAD + EVP_Cipher
};

std::string_view to_string(RawInterface i);

class RawEngine {
 public:
  // nullptr when `interface` does not serve `aead` or the engine fails to
  // start. `fixed_iv` is only used by evp_tls (which builds the nonce itself).
  static std::unique_ptr<RawEngine> create(RawInterface interface, record::Aead aead,
                                           std::span<const uint8_t> key,
                                           std::span<const uint8_t> fixed_iv);
  virtual ~RawEngine() = default;

  // In place on records[0..n); the tag goes to (seal) or is compared with
  // (open) the bytes after each record's data. Returns how many succeeded.
  virtual size_t open(RawRecord* records, size_t n) = 0;
  virtual size_t seal(RawRecord* records, size_t n) = 0;
};

}  // namespace dtlsgw::bench
