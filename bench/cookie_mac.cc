#include "bench/cookie_mac.h"

#include <intel-ipsec-mb.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include <cstring>

namespace dtlsgw::bench {

namespace {

// DTLS record header (RFC 6347 §4.1) and handshake header (§4.2.2).
constexpr size_t kRecordHeader = 13;
constexpr size_t kHandshakeHeader = 12;
constexpr size_t kRandom = 32;

void put_u16(std::vector<uint8_t>& v, size_t n) {
  v.push_back(static_cast<uint8_t>(n >> 8));
  v.push_back(static_cast<uint8_t>(n));
}

}  // namespace

std::vector<uint8_t> cookie_mac_input(std::span<const uint8_t> d,
                                      const handshake::PeerAddress& peer) {
  // ClientHello body (RFC 6347 §4.2.1): version, random, session_id<0..32>,
  // cookie<0..2^8-1>, cipher_suites<2..2^16-2>, compression_methods<1..2^8-1>.
  size_t p = kRecordHeader + kHandshakeHeader;
  const auto need = [&](size_t n) { return p + n <= d.size(); };
  if (!need(2 + kRandom + 1)) {
    return {};
  }
  const size_t version_at = p;
  const size_t random_at = p + 2;
  p += 2 + kRandom;
  const size_t session_id_length = d[p];
  const size_t session_id_at = p + 1;
  p += 1 + session_id_length;
  if (!need(1)) {
    return {};
  }
  p += 1 + d[p];  // the cookie is not MACed (it is what the MAC makes)
  if (!need(2)) {
    return {};
  }
  const size_t suites_length = (size_t{d[p]} << 8) | d[p + 1];
  const size_t suites_at = p + 2;
  p += 2 + suites_length;
  if (!need(1)) {
    return {};
  }
  const size_t compression_length = d[p];
  const size_t compression_at = p + 1;
  p += 1 + compression_length;
  if (p > d.size()) {
    return {};
  }

  std::vector<uint8_t> in;
  in.reserve(64 + session_id_length + suites_length + compression_length);
  in.push_back(static_cast<uint8_t>(peer.family));
  in.insert(in.end(), peer.address, peer.address + peer.address_length());
  put_u16(in, peer.port);
  in.insert(in.end(), d.begin() + static_cast<long>(version_at),
            d.begin() + static_cast<long>(version_at + 2));
  in.insert(in.end(), d.begin() + static_cast<long>(random_at),
            d.begin() + static_cast<long>(random_at + kRandom));
  in.push_back(static_cast<uint8_t>(session_id_length));
  in.insert(in.end(), d.begin() + static_cast<long>(session_id_at),
            d.begin() + static_cast<long>(session_id_at + session_id_length));
  put_u16(in, suites_length);
  in.insert(in.end(), d.begin() + static_cast<long>(suites_at),
            d.begin() + static_cast<long>(suites_at + suites_length));
  in.push_back(static_cast<uint8_t>(compression_length));
  in.insert(in.end(), d.begin() + static_cast<long>(compression_at),
            d.begin() + static_cast<long>(compression_at + compression_length));
  return in;
}

// ---- IPsec-MB ----------------------------------------------------------------

std::unique_ptr<ImbHmacSha256> ImbHmacSha256::create(std::span<const uint8_t> key,
                                                     ImbManager manager) {
  if (key.size() > IMB_SHA_256_BLOCK_SIZE) {
    return nullptr;
  }
  std::unique_ptr<ImbHmacSha256> h(new ImbHmacSha256());
  h->mgr_ = alloc_mb_mgr(0);
  if (h->mgr_ == nullptr) {
    return nullptr;
  }
  if (manager == ImbManager::sse) {
    init_mb_mgr_sse(h->mgr_);
  } else {
    init_mb_mgr_auto(h->mgr_, nullptr);
  }
  if (imb_get_errno(h->mgr_) != 0) {
    return nullptr;
  }
  // RFC 2104: H(K ^ opad, H(K ^ ipad, text)); the pads' digests once.
  alignas(16) uint8_t block[IMB_SHA_256_BLOCK_SIZE];
  for (const auto& [pad, out] : {std::pair{uint8_t{0x36}, h->inner_}, {uint8_t{0x5c}, h->outer_}}) {
    std::memset(block, pad, sizeof(block));
    for (size_t i = 0; i < key.size(); ++i) {
      block[i] ^= key[i];
    }
    IMB_SHA256_ONE_BLOCK(h->mgr_, block, out);
  }
  OPENSSL_cleanse(block, sizeof(block));
  return h;
}

ImbHmacSha256::~ImbHmacSha256() {
  OPENSSL_cleanse(inner_, sizeof(inner_));
  OPENSSL_cleanse(outer_, sizeof(outer_));
  if (mgr_ != nullptr) {
    free_mb_mgr(mgr_);
  }
}

const char* ImbHmacSha256::arch_name() const {
  if (mgr_->used_arch == IMB_ARCH_SSE && (mgr_->features & IMB_FEATURE_SHANI) != 0) {
    return "SSE+SHA-NI";
  }
  switch (mgr_->used_arch) {
    case IMB_ARCH_SSE:
      return "SSE";
    case IMB_ARCH_AVX:
      return "AVX";
    case IMB_ARCH_AVX2:
      return "AVX2";
    case IMB_ARCH_AVX512:
      return "AVX512";
    default:
      return "other";
  }
}

const char* ImbHmacSha256::version() { return imb_get_version_str(); }

namespace {

void fill_hmac_job(IMB_JOB* job, const uint8_t* in, size_t length, const uint8_t* inner,
                   const uint8_t* outer, uint8_t* out) {
  job->cipher_mode = IMB_CIPHER_NULL;
  job->cipher_direction = IMB_DIR_ENCRYPT;
  job->chain_order = IMB_ORDER_HASH_CIPHER;
  job->hash_alg = IMB_AUTH_HMAC_SHA_256;
  job->src = in;
  job->dst = nullptr;
  job->cipher_start_src_offset_in_bytes = 0;
  job->msg_len_to_cipher_in_bytes = 0;
  job->hash_start_src_offset_in_bytes = 0;
  job->msg_len_to_hash_in_bytes = length;
  job->u.HMAC._hashed_auth_key_xor_ipad = inner;
  job->u.HMAC._hashed_auth_key_xor_opad = outer;
  job->auth_tag_output = out;
  job->auth_tag_output_len_in_bytes = kCookieTagLength;
}

}  // namespace

bool ImbHmacSha256::mac_one(const uint8_t* in, size_t length, uint8_t out[kCookieTagLength]) {
  IMB_JOB* job = IMB_GET_NEXT_JOB(mgr_);
  fill_hmac_job(job, in, length, inner_, outer_, out);
  job = IMB_SUBMIT_JOB(mgr_);
  while (job == nullptr) {
    job = IMB_FLUSH_JOB(mgr_);
  }
  return job->status == IMB_STATUS_COMPLETED;
}

size_t ImbHmacSha256::mac_many(const uint8_t* const* in, const size_t* lengths, uint8_t* const* out,
                               size_t n) {
  size_t completed = 0;
  for (size_t i = 0; i < n; ++i) {
    IMB_JOB* job = IMB_GET_NEXT_JOB(mgr_);
    fill_hmac_job(job, in[i], lengths[i], inner_, outer_, out[i]);
    job = IMB_SUBMIT_JOB(mgr_);
    while (job != nullptr) {
      completed += job->status == IMB_STATUS_COMPLETED;
      job = IMB_GET_COMPLETED_JOB(mgr_);
    }
  }
  while (IMB_JOB* job = IMB_FLUSH_JOB(mgr_)) {
    completed += job->status == IMB_STATUS_COMPLETED;
  }
  return completed;
}

// ---- OpenSSL -----------------------------------------------------------------

std::unique_ptr<OpensslHmacSha256> OpensslHmacSha256::create(std::span<const uint8_t> key) {
  std::unique_ptr<OpensslHmacSha256> h(new OpensslHmacSha256());
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  h->ctx_ = mac == nullptr ? nullptr : EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context holds its own reference
  if (h->ctx_ == nullptr) {
    return nullptr;
  }
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_init(h->ctx_, key.data(), key.size(), params) != 1) {
    return nullptr;
  }
  return h;
}

OpensslHmacSha256::~OpensslHmacSha256() { EVP_MAC_CTX_free(ctx_); }

bool OpensslHmacSha256::mac(const uint8_t* in, size_t length, uint8_t out[kCookieTagLength]) {
  uint8_t full[EVP_MAX_MD_SIZE];
  size_t n = 0;
  if (EVP_MAC_init(ctx_, nullptr, 0, nullptr) != 1 || EVP_MAC_update(ctx_, in, length) != 1 ||
      EVP_MAC_final(ctx_, full, &n, sizeof(full)) != 1 || n < kCookieTagLength) {
    return false;
  }
  std::memcpy(out, full, kCookieTagLength);
  return true;
}

bool openssl_hmac_oneshot(std::span<const uint8_t> key, const uint8_t* in, size_t length,
                          uint8_t out[kCookieTagLength]) {
  uint8_t full[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), in, length, full, &n) ==
          nullptr ||
      n < kCookieTagLength) {
    return false;
  }
  std::memcpy(out, full, kCookieTagLength);
  return true;
}

}  // namespace dtlsgw::bench
