// The AEAD algorithms DTLS 1.2 records are protected with, and each one's
// DTLS 1.2 nonce construction and usage limits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace dtlsgw::record {

enum class Aead : uint8_t {
  aes128_gcm,         // RFC 5288
  aes256_gcm,         // RFC 5288
  chacha20_poly1305,  // RFC 7905
  aes128_ccm,         // RFC 6655, RFC 7251
  aes128_ccm8,        // RFC 6655, RFC 7251 (8-byte tag)
};
inline constexpr size_t kAeadCount = 5;

// How the 12-byte nonce is formed.
enum class NonceStyle : uint8_t {
  // RFC 5288 §3 / RFC 6655 §3: nonce = salt[4] ‖ explicit[8]; the explicit
  // part travels in front of the ciphertext. dtlsgw sends the record's own
  // epoch ‖ sequence there, so its own nonces never repeat under a key.
  // OpenSSL 3.0 does the same for CCM, but for GCM it sends a counter from
  // a random 64-bit start (checked by tests/oracle), so a key OpenSSL wrote
  // with is installed with those nonces excluded: WriteEpoch::install.
  // Opening always takes the explicit part from the wire.
  salt_and_explicit,
  // RFC 7905 §2: nonce = iv[12] XOR (0^32 ‖ epoch ‖ sequence); nothing
  // explicit on the wire.
  xor_record_number,
};

struct AeadParams {
  std::string_view name;
  size_t key_length;
  size_t fixed_iv_length;        // "client/server_write_IV" in the key block
  size_t explicit_nonce_length;  // bytes before the ciphertext
  size_t tag_length;
  NonceStyle nonce_style;
  // Records that may be sealed under one key (RFC 8446 §5.5, RFC 9147
  // §4.5.3 and its Appendix B); log2 kept exact as a count.
  uint64_t confidentiality_limit;
  // Records that may fail authentication before the key must be retired
  // (RFC 9147 §4.5.3). Zero for CCM-8: no safe limit exists, so forgeries
  // raise an alarm and rate-limit the source instead (DESIGN.md).
  uint64_t integrity_limit;
};

const AeadParams& aead_params(Aead aead);

// Bytes a protected record adds to its plaintext.
inline size_t record_expansion(Aead aead) {
  const AeadParams& p = aead_params(aead);
  return p.explicit_nonce_length + p.tag_length;
}

// Bytes of key schedule one direction of one key needs in memory (the
// engine's expanded keys; reported per suite for session sizing).
size_t key_schedule_bytes(Aead aead);

std::string_view to_string(Aead aead);
std::optional<Aead> aead_from_name(std::string_view name);

}  // namespace dtlsgw::record
