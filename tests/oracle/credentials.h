// Server credentials made in-process for the oracle test: self-signed
// certificates (EC P-256 and RSA-2048) through the OpenSSL 3 API, and one
// PSK identity. Nothing touches the disk.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <span>
#include <string_view>

namespace dtlsgw::oracle {

struct Certificate {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
};

// Generated once per process (RSA-2048 key generation is the slow part) and
// kept until exit. Throw std::runtime_error if OpenSSL refuses.
const Certificate& ecdsa_p256_certificate();
const Certificate& rsa_2048_certificate();

inline constexpr std::string_view kPskIdentity = "dtlsgw-oracle-client";
std::span<const uint8_t> psk_key();  // 32 fixed bytes

}  // namespace dtlsgw::oracle
