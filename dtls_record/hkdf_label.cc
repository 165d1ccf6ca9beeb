#include "dtls_record/hkdf_label.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <cstring>

namespace dtlsgw::record {

namespace {

constexpr std::string_view kLabelPrefix = "dtls13";  // RFC 9147 §5.9

}  // namespace

std::optional<Dtls13Suite> dtls13_suite(uint16_t code) {
  switch (code) {
    case 0x1301:
      return Dtls13Suite{code, Aead::aes128_gcm, HkdfHash::sha256, "TLS_AES_128_GCM_SHA256"};
    case 0x1302:
      return Dtls13Suite{code, Aead::aes256_gcm, HkdfHash::sha384, "TLS_AES_256_GCM_SHA384"};
    case 0x1303:
      return Dtls13Suite{code, Aead::chacha20_poly1305, HkdfHash::sha256,
                         "TLS_CHACHA20_POLY1305_SHA256"};
    case 0x1304:
      return Dtls13Suite{code, Aead::aes128_ccm, HkdfHash::sha256, "TLS_AES_128_CCM_SHA256"};
    case 0x1305:
      return Dtls13Suite{code, Aead::aes128_ccm8, HkdfHash::sha256, "TLS_AES_128_CCM_8_SHA256"};
    default:
      return std::nullopt;
  }
}

Dtls13TrafficKeys::~Dtls13TrafficKeys() {
  OPENSSL_cleanse(key.data(), key.size());
  OPENSSL_cleanse(iv.data(), iv.size());
  OPENSSL_cleanse(sn_key.data(), sn_key.size());
}

bool hkdf_expand_label(HkdfHash hash, std::span<const uint8_t> secret, std::string_view label,
                       std::span<const uint8_t> context, std::span<uint8_t> out) {
  const size_t full_label = kLabelPrefix.size() + label.size();
  if (out.size() > 0xffff || full_label > 255 || context.size() > 255 || secret.empty()) {
    return false;
  }
  uint8_t info[2 + 1 + 255 + 1 + 255];
  size_t n = 0;
  info[n++] = static_cast<uint8_t>(out.size() >> 8);
  info[n++] = static_cast<uint8_t>(out.size());
  info[n++] = static_cast<uint8_t>(full_label);
  std::memcpy(info + n, kLabelPrefix.data(), kLabelPrefix.size());
  n += kLabelPrefix.size();
  std::memcpy(info + n, label.data(), label.size());
  n += label.size();
  info[n++] = static_cast<uint8_t>(context.size());
  if (!context.empty()) {
    std::memcpy(info + n, context.data(), context.size());
    n += context.size();
  }

  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr);
  if (kdf == nullptr) {
    return false;
  }
  EVP_KDF_CTX* kctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (kctx == nullptr) {
    return false;
  }
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  char digest[16];
  std::strcpy(digest, hash == HkdfHash::sha256 ? "SHA256" : "SHA384");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(secret.data()),
                                        secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n),
      OSSL_PARAM_construct_end(),
  };
  const bool ok = EVP_KDF_derive(kctx, out.data(), out.size(), params) == 1;
  EVP_KDF_CTX_free(kctx);
  return ok;
}

bool derive_dtls13_traffic_keys(Aead aead, HkdfHash hash, std::span<const uint8_t> secret,
                                Dtls13TrafficKeys& out) {
  const size_t key_length = aead_params(aead).key_length;
  out.key_length = key_length;
  return hkdf_expand_label(hash, secret, "key", {}, {out.key.data(), key_length}) &&
         hkdf_expand_label(hash, secret, "iv", {}, out.iv) &&
         hkdf_expand_label(hash, secret, "sn", {}, {out.sn_key.data(), key_length});
}

bool next_dtls13_traffic_secret(HkdfHash hash, std::span<const uint8_t> secret,
                                std::span<uint8_t> out) {
  if (out.size() != hash_length(hash) || secret.size() != hash_length(hash)) {
    return false;
  }
  return hkdf_expand_label(hash, secret, "traffic upd", {}, out);
}

}  // namespace dtlsgw::record
