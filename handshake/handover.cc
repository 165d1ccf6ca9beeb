#include "handshake/handover.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstring>

namespace dtlsgw::handshake {

void RecordKeys::wipe() {
  OPENSSL_cleanse(client_key_, sizeof(client_key_));
  OPENSSL_cleanse(server_key_, sizeof(server_key_));
  OPENSSL_cleanse(client_iv_, sizeof(client_iv_));
  OPENSSL_cleanse(server_iv_, sizeof(server_iv_));
  key_length_ = 0;
  iv_length_ = 0;
}

void RecordKeys::take(RecordKeys& other) {
  std::memcpy(client_key_, other.client_key_, sizeof(client_key_));
  std::memcpy(server_key_, other.server_key_, sizeof(server_key_));
  std::memcpy(client_iv_, other.client_iv_, sizeof(client_iv_));
  std::memcpy(server_iv_, other.server_iv_, sizeof(server_iv_));
  key_length_ = other.key_length_;
  iv_length_ = other.iv_length_;
  aead_ = other.aead_;
  other.wipe();
}

bool expand_key_block(const CipherSuite& suite, std::span<const uint8_t> master_secret,
                      std::span<const uint8_t> client_random,
                      std::span<const uint8_t> server_random, RecordKeys& out) {
  out.wipe();
  constexpr size_t kRandom = 32;
  const record::AeadParams& p = record::aead_params(suite.aead);
  if (master_secret.empty() || client_random.size() != kRandom || server_random.size() != kRandom ||
      p.key_length > kMaxRecordKeyLength || p.fixed_iv_length > kMaxRecordIvLength) {
    return false;
  }
  // RFC 5246 §5: PRF(secret, label, seed) = P_<hash>(secret, label + seed);
  // OpenSSL's KDF takes label ‖ seed as one seed.
  static constexpr char kLabel[] = "key expansion";
  constexpr size_t kLabelLength = sizeof(kLabel) - 1;
  uint8_t seed[kLabelLength + 2 * kRandom];
  std::memcpy(seed, kLabel, kLabelLength);
  std::memcpy(seed + kLabelLength, server_random.data(), kRandom);
  std::memcpy(seed + kLabelLength + kRandom, client_random.data(), kRandom);

  uint8_t block[2 * kMaxRecordKeyLength + 2 * kMaxRecordIvLength];
  const size_t block_length = 2 * p.key_length + 2 * p.fixed_iv_length;
  std::string digest(suite.prf_digest);
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "TLS1-PRF", nullptr);
  EVP_KDF_CTX* kctx = kdf != nullptr ? EVP_KDF_CTX_new(kdf) : nullptr;
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest.data(), 0),
      OSSL_PARAM_construct_octet_string(
          OSSL_KDF_PARAM_SECRET, const_cast<uint8_t*>(master_secret.data()), master_secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, sizeof(seed)),
      OSSL_PARAM_construct_end(),
  };
  const bool ok = kctx != nullptr && EVP_KDF_derive(kctx, block, block_length, params) > 0;
  EVP_KDF_CTX_free(kctx);
  EVP_KDF_free(kdf);
  if (ok) {
    const uint8_t* at = block;
    std::memcpy(out.client_key_, at, p.key_length);
    at += p.key_length;
    std::memcpy(out.server_key_, at, p.key_length);
    at += p.key_length;
    std::memcpy(out.client_iv_, at, p.fixed_iv_length);
    at += p.fixed_iv_length;
    std::memcpy(out.server_iv_, at, p.fixed_iv_length);
    out.key_length_ = p.key_length;
    out.iv_length_ = p.fixed_iv_length;
    out.aead_ = suite.aead;
  }
  OPENSSL_cleanse(block, sizeof(block));
  return ok;
}

std::string_view to_string(PeerIdentity::Kind k) {
  switch (k) {
    case PeerIdentity::Kind::none:
      return "none";
    case PeerIdentity::Kind::psk:
      return "psk";
    case PeerIdentity::Kind::certificate:
      return "certificate";
  }
  return "invalid";
}

std::optional<uint64_t> Handover::client_highest_sequence() const {
  if (client_sequences.empty()) {
    return std::nullopt;
  }
  return *std::max_element(client_sequences.begin(), client_sequences.end());
}

}  // namespace dtlsgw::handshake
