// The DTLS 1.3 key schedule pieces the record layer needs (RFC 8446 §7.1,
// §7.2, §7.3 with RFC 9147 §5.9's label prefix):
//
//   HKDF-Expand-Label(Secret, Label, Context, Length) =
//       HKDF-Expand(Secret, HkdfLabel, Length)
//   struct { uint16 length; opaque label<7..255> = "dtls13" + Label;
//            opaque context<0..255>; } HkdfLabel;
//
//   [sender]_write_key = HKDF-Expand-Label(Secret, "key", "", key_length)
//   [sender]_write_iv  = HKDF-Expand-Label(Secret, "iv", "", iv_length)
//   sn_key             = HKDF-Expand-Label(Secret, "sn", "", key_length)
//   application_traffic_secret_N+1 =
//       HKDF-Expand-Label(application_traffic_secret_N, "traffic upd", "",
//                         Hash.length)
//
// Control-path code (OpenSSL's EVP_KDF "HKDF"); never per record.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "dtls_record/aead_suite.h"

namespace dtlsgw::record {

enum class HkdfHash : uint8_t { sha256, sha384 };
constexpr size_t hash_length(HkdfHash h) { return h == HkdfHash::sha256 ? 32 : 48; }

// A TLS 1.3 cipher suite (RFC 8446 §B.4, RFC 9147 §4.5.3).
struct Dtls13Suite {
  uint16_t code;
  Aead aead;
  HkdfHash hash;
  std::string_view name;
};
std::optional<Dtls13Suite> dtls13_suite(uint16_t code);

// `label` without the "dtls13" prefix. False if OpenSSL fails or a length
// is out of HkdfLabel's range.
[[nodiscard]] bool hkdf_expand_label(HkdfHash hash, std::span<const uint8_t> secret,
                                     std::string_view label, std::span<const uint8_t> context,
                                     std::span<uint8_t> out);

// One direction of one epoch's record keys. Wiped on destruction.
struct Dtls13TrafficKeys {
  std::array<uint8_t, 32> key{};
  std::array<uint8_t, 12> iv{};
  std::array<uint8_t, 32> sn_key{};
  size_t key_length = 0;  // also the sn_key length
  Dtls13TrafficKeys() = default;
  Dtls13TrafficKeys(const Dtls13TrafficKeys&) = delete;
  Dtls13TrafficKeys& operator=(const Dtls13TrafficKeys&) = delete;
  ~Dtls13TrafficKeys();
  std::span<const uint8_t> key_bytes() const { return {key.data(), key_length}; }
  std::span<const uint8_t> sn_key_bytes() const { return {sn_key.data(), key_length}; }
};

[[nodiscard]] bool derive_dtls13_traffic_keys(Aead aead, HkdfHash hash,
                                              std::span<const uint8_t> secret,
                                              Dtls13TrafficKeys& out);

// The next application traffic secret after a KeyUpdate ("traffic upd");
// `out` must be hash_length(hash) bytes.
[[nodiscard]] bool next_dtls13_traffic_secret(HkdfHash hash, std::span<const uint8_t> secret,
                                              std::span<uint8_t> out);

}  // namespace dtlsgw::record
