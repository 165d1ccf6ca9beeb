// The DTLS 1.2 cipher suites dtlsgw negotiates: every AEAD suite OpenSSL 3.0
// has (DESIGN.md, "Handshake engine"), with what the handover needs of each:
// the record AEAD and the PRF hash that expands the key block.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "dtls_record/aead_suite.h"

namespace dtlsgw::handshake {

enum class KeyExchange : uint8_t { ecdhe_ecdsa, ecdhe_rsa, psk, ecdhe_psk };
std::string_view to_string(KeyExchange k);

struct CipherSuite {
  std::string_view openssl_name;
  uint16_t iana_id;  // as SSL_CIPHER_get_protocol_id returns it
  KeyExchange key_exchange;
  record::Aead aead;
  // RFC 5246 §5: the PRF hash; SHA-384 for the AES-256-GCM suites
  // (RFC 5289 §3.2, RFC 5487 §3.2), SHA-256 for the others.
  std::string_view prf_digest;
};

// The 14 suites, in dtlsgw's default server preference order.
std::span<const CipherSuite> dtls12_aead_suites();

// nullptr for a suite dtlsgw does not serve.
const CipherSuite* find_suite(uint16_t iana_id);
const CipherSuite* find_suite(std::string_view openssl_name);

}  // namespace dtlsgw::handshake
