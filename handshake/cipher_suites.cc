#include "handshake/cipher_suites.h"

namespace dtlsgw::handshake {

using record::Aead;

namespace {

constexpr CipherSuite kSuites[] = {
    // RFC 5289, RFC 7905, RFC 7251
    {"ECDHE-ECDSA-AES128-GCM-SHA256", 0xc02b, KeyExchange::ecdhe_ecdsa, Aead::aes128_gcm, "SHA256"},
    {"ECDHE-ECDSA-AES256-GCM-SHA384", 0xc02c, KeyExchange::ecdhe_ecdsa, Aead::aes256_gcm, "SHA384"},
    {"ECDHE-ECDSA-CHACHA20-POLY1305", 0xcca9, KeyExchange::ecdhe_ecdsa, Aead::chacha20_poly1305,
     "SHA256"},
    {"ECDHE-ECDSA-AES128-CCM", 0xc0ac, KeyExchange::ecdhe_ecdsa, Aead::aes128_ccm, "SHA256"},
    {"ECDHE-ECDSA-AES128-CCM8", 0xc0ae, KeyExchange::ecdhe_ecdsa, Aead::aes128_ccm8, "SHA256"},
    // RFC 5289, RFC 7905
    {"ECDHE-RSA-AES128-GCM-SHA256", 0xc02f, KeyExchange::ecdhe_rsa, Aead::aes128_gcm, "SHA256"},
    {"ECDHE-RSA-AES256-GCM-SHA384", 0xc030, KeyExchange::ecdhe_rsa, Aead::aes256_gcm, "SHA384"},
    {"ECDHE-RSA-CHACHA20-POLY1305", 0xcca8, KeyExchange::ecdhe_rsa, Aead::chacha20_poly1305,
     "SHA256"},
    // RFC 5487, RFC 7905, RFC 6655
    {"PSK-AES128-GCM-SHA256", 0x00a8, KeyExchange::psk, Aead::aes128_gcm, "SHA256"},
    {"PSK-AES256-GCM-SHA384", 0x00a9, KeyExchange::psk, Aead::aes256_gcm, "SHA384"},
    {"PSK-CHACHA20-POLY1305", 0xccab, KeyExchange::psk, Aead::chacha20_poly1305, "SHA256"},
    {"PSK-AES128-CCM", 0xc0a4, KeyExchange::psk, Aead::aes128_ccm, "SHA256"},
    {"PSK-AES128-CCM8", 0xc0a8, KeyExchange::psk, Aead::aes128_ccm8, "SHA256"},
    // RFC 7905
    {"ECDHE-PSK-CHACHA20-POLY1305", 0xccac, KeyExchange::ecdhe_psk, Aead::chacha20_poly1305,
     "SHA256"},
};

}  // namespace

std::string_view to_string(KeyExchange k) {
  switch (k) {
    case KeyExchange::ecdhe_ecdsa:
      return "ECDHE-ECDSA";
    case KeyExchange::ecdhe_rsa:
      return "ECDHE-RSA";
    case KeyExchange::psk:
      return "PSK";
    case KeyExchange::ecdhe_psk:
      return "ECDHE-PSK";
  }
  return "invalid";
}

std::span<const CipherSuite> dtls12_aead_suites() { return kSuites; }

const CipherSuite* find_suite(uint16_t iana_id) {
  for (const CipherSuite& s : kSuites) {
    if (s.iana_id == iana_id) {
      return &s;
    }
  }
  return nullptr;
}

const CipherSuite* find_suite(std::string_view openssl_name) {
  for (const CipherSuite& s : kSuites) {
    if (s.openssl_name == openssl_name) {
      return &s;
    }
  }
  return nullptr;
}

}  // namespace dtlsgw::handshake
