#include "tests/oracle/session_keys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>

namespace dtlsgw::oracle {

using record::Aead;

std::optional<Aead> aead_for_suite(uint16_t iana_id) {
  switch (iana_id) {
    case 0xc02b:  // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, RFC 5289
    case 0xc02f:  // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, RFC 5289
    case 0x00a8:  // TLS_PSK_WITH_AES_128_GCM_SHA256, RFC 5487
      return Aead::aes128_gcm;
    case 0xc02c:  // TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, RFC 5289
    case 0xc030:  // TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, RFC 5289
    case 0x00a9:  // TLS_PSK_WITH_AES_256_GCM_SHA384, RFC 5487
      return Aead::aes256_gcm;
    case 0xcca8:  // TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, RFC 7905
    case 0xcca9:  // TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, RFC 7905
    case 0xccab:  // TLS_PSK_WITH_CHACHA20_POLY1305_SHA256, RFC 7905
    case 0xccac:  // TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256, RFC 7905
      return Aead::chacha20_poly1305;
    case 0xc0ac:  // TLS_ECDHE_ECDSA_WITH_AES_128_CCM, RFC 7251
    case 0xc0a4:  // TLS_PSK_WITH_AES_128_CCM, RFC 6655
      return Aead::aes128_ccm;
    case 0xc0ae:  // TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, RFC 7251
    case 0xc0a8:  // TLS_PSK_WITH_AES_128_CCM_8, RFC 6655
      return Aead::aes128_ccm8;
    default:
      return std::nullopt;
  }
}

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

bool parse_hex(std::string_view hex, std::vector<uint8_t>& out) {
  if (hex.size() % 2 != 0) {
    return false;
  }
  out.clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_digit(hex[i]);
    const int lo = hex_digit(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return false;
    }
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return true;
}

}  // namespace

std::optional<KeyLogEntry> parse_client_random_line(std::string_view line) {
  constexpr std::string_view kLabel = "CLIENT_RANDOM ";
  if (!line.starts_with(kLabel)) {
    return std::nullopt;
  }
  line.remove_prefix(kLabel.size());
  const size_t space = line.find(' ');
  if (space == std::string_view::npos) {
    return std::nullopt;
  }
  std::vector<uint8_t> random;
  KeyLogEntry entry;
  if (!parse_hex(line.substr(0, space), random) || random.size() != entry.client_random.size() ||
      !parse_hex(line.substr(space + 1), entry.master_secret) || entry.master_secret.size() != 48) {
    return std::nullopt;
  }
  std::copy(random.begin(), random.end(), entry.client_random.begin());
  return entry;
}

SessionKeys derive_session_keys(Aead aead, const char* prf_digest,
                                std::span<const uint8_t> master_secret,
                                std::span<const uint8_t> client_random,
                                std::span<const uint8_t> server_random) {
  const record::AeadParams& p = record::aead_params(aead);
  std::vector<uint8_t> key_block(2 * p.key_length + 2 * p.fixed_iv_length);

  // The PRF's seed is label ‖ seed (RFC 5246 §5), passed as one parameter.
  constexpr std::string_view kLabel = "key expansion";
  std::vector<uint8_t> seed(kLabel.begin(), kLabel.end());
  seed.insert(seed.end(), server_random.begin(), server_random.end());
  seed.insert(seed.end(), client_random.begin(), client_random.end());

  std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(EVP_KDF_fetch(nullptr, "TLS1-PRF", nullptr),
                                                        EVP_KDF_free);
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> kctx(
      kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr, EVP_KDF_CTX_free);
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(prf_digest), 0),
      OSSL_PARAM_construct_octet_string(
          OSSL_KDF_PARAM_SECRET, const_cast<uint8_t*>(master_secret.data()), master_secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed.data(), seed.size()),
      OSSL_PARAM_construct_end(),
  };
  if (!kctx || EVP_KDF_derive(kctx.get(), key_block.data(), key_block.size(), params) <= 0) {
    throw std::runtime_error(std::string("TLS1-PRF key expansion failed with ") + prf_digest);
  }

  SessionKeys keys;
  keys.aead = aead;
  auto take = [&, at = key_block.cbegin()](size_t n) mutable {
    std::vector<uint8_t> part(at, at + static_cast<long>(n));
    at += static_cast<long>(n);
    return part;
  };
  keys.client_write_key = take(p.key_length);
  keys.server_write_key = take(p.key_length);
  keys.client_write_iv = take(p.fixed_iv_length);
  keys.server_write_iv = take(p.fixed_iv_length);
  OPENSSL_cleanse(key_block.data(), key_block.size());
  return keys;
}

}  // namespace dtlsgw::oracle
