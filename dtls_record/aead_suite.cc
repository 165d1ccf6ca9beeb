#include "dtls_record/aead_suite.h"

#include <array>

#include "dtls_record/record_cipher.h"

namespace dtlsgw::record {

namespace {

// 2^24.5 and 2^23.5 rounded down.
constexpr uint64_t kTwoPow24_5 = 23726566;
constexpr uint64_t kTwoPow23_5 = 11863283;
// ChaCha20-Poly1305's confidentiality limit exceeds the 48-bit sequence
// space (RFC 8446 §5.5), so the sequence number is the only bound.
constexpr uint64_t kUnlimited = UINT64_MAX;

constexpr std::array<AeadParams, kAeadCount> kParams = {{
    {"AES-128-GCM", 16, 4, 8, 16, NonceStyle::salt_and_explicit, kTwoPow24_5, uint64_t{1} << 36},
    {"AES-256-GCM", 32, 4, 8, 16, NonceStyle::salt_and_explicit, kTwoPow24_5, uint64_t{1} << 36},
    {"CHACHA20-POLY1305", 32, 12, 0, 16, NonceStyle::xor_record_number, kUnlimited,
     uint64_t{1} << 36},
    {"AES-128-CCM", 16, 4, 8, 16, NonceStyle::salt_and_explicit, kTwoPow23_5, kTwoPow23_5},
    {"AES-128-CCM-8", 16, 4, 8, 8, NonceStyle::salt_and_explicit, kTwoPow23_5, 0},
}};

}  // namespace

const AeadParams& aead_params(Aead aead) { return kParams[static_cast<size_t>(aead)]; }

std::string_view to_string(Aead aead) { return aead_params(aead).name; }

std::optional<Aead> aead_from_name(std::string_view name) {
  for (size_t i = 0; i < kAeadCount; ++i) {
    if (kParams[i].name == name) {
      return static_cast<Aead>(i);
    }
  }
  return std::nullopt;
}

size_t key_schedule_bytes(Aead aead) { return RecordCipher::schedule_bytes(aead); }

}  // namespace dtlsgw::record
