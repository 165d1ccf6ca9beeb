#include "bench/raw_aead.h"

#include <intel-ipsec-mb.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "dtls_record/constant_time.h"

namespace dtlsgw::bench {

using record::Aead;

std::string_view to_string(RawInterface i) {
  switch (i) {
    case RawInterface::direct:
      return "direct";
    case RawInterface::job:
      return "job";
    case RawInterface::burst:
      return "burst";
    case RawInterface::burst_nocheck:
      return "burst_nocheck";
    case RawInterface::evp:
      return "evp";
    case RawInterface::evp_tls:
      return "evp_tls";
  }
  return "invalid";
}

namespace {

constexpr size_t kAadLength = 13;
constexpr size_t kNonceLength = 12;
constexpr size_t kMaxJobs = 64;

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
using AlignedBytes = std::unique_ptr<uint8_t, FreeDeleter>;

AlignedBytes aligned_bytes(size_t n) {
  const size_t rounded = (n + 63) / 64 * 64;
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(64, rounded));
  if (p != nullptr) {
    std::memset(p, 0, rounded);
  }
  return AlignedBytes(p);
}

struct MgrDeleter {
  void operator()(IMB_MGR* m) const { free_mb_mgr(m); }
};
using Manager = std::unique_ptr<IMB_MGR, MgrDeleter>;

Manager new_manager() {
  Manager m(alloc_mb_mgr(0));
  if (!m) {
    return nullptr;
  }
  init_mb_mgr_auto(m.get(), nullptr);
  if (imb_get_errno(m.get()) != 0) {
    return nullptr;
  }
  return m;
}

bool is_gcm(Aead a) { return a == Aead::aes128_gcm || a == Aead::aes256_gcm; }

// The key schedule every IPsec-MB interface of one suite shares.
struct ImbKey {
  Manager mgr;
  AlignedBytes schedule;
  size_t tag_length = 16;
  IMB_KEY_SIZE_BYTES key_size = IMB_KEY_128_BYTES;

  bool init(Aead aead, std::span<const uint8_t> key) {
    mgr = new_manager();
    if (!mgr) {
      return false;
    }
    tag_length = record::aead_params(aead).tag_length;
    switch (aead) {
      case Aead::aes128_gcm:
        schedule = aligned_bytes(sizeof(gcm_key_data));
        IMB_AES128_GCM_PRE(mgr.get(), key.data(), reinterpret_cast<gcm_key_data*>(schedule.get()));
        key_size = IMB_KEY_128_BYTES;
        break;
      case Aead::aes256_gcm:
        schedule = aligned_bytes(sizeof(gcm_key_data));
        IMB_AES256_GCM_PRE(mgr.get(), key.data(), reinterpret_cast<gcm_key_data*>(schedule.get()));
        key_size = IMB_KEY_256_BYTES;
        break;
      case Aead::chacha20_poly1305:
        schedule = aligned_bytes(32);
        std::memcpy(schedule.get(), key.data(), 32);
        key_size = IMB_KEY_256_BYTES;
        break;
      case Aead::aes128_ccm:
      case Aead::aes128_ccm8: {
        schedule = aligned_bytes(16 * 11);
        alignas(16) uint8_t decrypt_keys[16 * 11];
        IMB_AES_KEYEXP_128(mgr.get(), key.data(), schedule.get(), decrypt_keys);
        key_size = IMB_KEY_128_BYTES;
        break;
      }
    }
    return schedule != nullptr;
  }
};

// ---- Direct API ------------------------------------------------------------

template <Aead A>
class GcmDirect final : public RawEngine {
 public:
  explicit GcmDirect(ImbKey k) : k_(std::move(k)) {}

  size_t open(RawRecord* records, size_t n) override {
    IMB_MGR* m = k_.mgr.get();
    const auto* key = reinterpret_cast<const gcm_key_data*>(k_.schedule.get());
    size_t ok = 0;
    for (size_t i = 0; i < n; ++i) {
      RawRecord& r = records[i];
      gcm_context_data ctx;
      if constexpr (A == Aead::aes128_gcm) {
        IMB_AES128_GCM_DEC(m, key, &ctx, r.data, r.data, r.length, r.nonce, r.aad_bytes(),
                           r.aad_size(), r.computed_tag, 16);
      } else {
        IMB_AES256_GCM_DEC(m, key, &ctx, r.data, r.data, r.length, r.nonce, r.aad_bytes(),
                           r.aad_size(), r.computed_tag, 16);
      }
      ok += record::equal_in_constant_time(r.computed_tag, r.data + r.length, 16);
    }
    return ok;
  }

  size_t seal(RawRecord* records, size_t n) override {
    IMB_MGR* m = k_.mgr.get();
    const auto* key = reinterpret_cast<const gcm_key_data*>(k_.schedule.get());
    for (size_t i = 0; i < n; ++i) {
      RawRecord& r = records[i];
      gcm_context_data ctx;
      if constexpr (A == Aead::aes128_gcm) {
        IMB_AES128_GCM_ENC(m, key, &ctx, r.data, r.data, r.length, r.nonce, r.aad_bytes(),
                           r.aad_size(), r.data + r.length, 16);
      } else {
        IMB_AES256_GCM_ENC(m, key, &ctx, r.data, r.data, r.length, r.nonce, r.aad_bytes(),
                           r.aad_size(), r.data + r.length, 16);
      }
    }
    return n;
  }

 private:
  ImbKey k_;
};

class ChachaDirect final : public RawEngine {
 public:
  explicit ChachaDirect(ImbKey k) : k_(std::move(k)) {}

  size_t open(RawRecord* records, size_t n) override {
    IMB_MGR* m = k_.mgr.get();
    const void* key = k_.schedule.get();
    size_t ok = 0;
    for (size_t i = 0; i < n; ++i) {
      RawRecord& r = records[i];
      chacha20_poly1305_context_data ctx;
      IMB_CHACHA20_POLY1305_INIT(m, key, &ctx, r.nonce, r.aad_bytes(), r.aad_size());
      IMB_CHACHA20_POLY1305_DEC_UPDATE(m, key, &ctx, r.data, r.data, r.length);
      IMB_CHACHA20_POLY1305_DEC_FINALIZE(m, &ctx, r.computed_tag, 16);
      ok += record::equal_in_constant_time(r.computed_tag, r.data + r.length, 16);
    }
    return ok;
  }

  size_t seal(RawRecord* records, size_t n) override {
    IMB_MGR* m = k_.mgr.get();
    const void* key = k_.schedule.get();
    for (size_t i = 0; i < n; ++i) {
      RawRecord& r = records[i];
      chacha20_poly1305_context_data ctx;
      IMB_CHACHA20_POLY1305_INIT(m, key, &ctx, r.nonce, r.aad_bytes(), r.aad_size());
      IMB_CHACHA20_POLY1305_ENC_UPDATE(m, key, &ctx, r.data, r.data, r.length);
      IMB_CHACHA20_POLY1305_ENC_FINALIZE(m, &ctx, r.data + r.length, 16);
    }
    return n;
  }

 private:
  ImbKey k_;
};

// ---- Job and burst APIs ----------------------------------------------------

class JobEngine final : public RawEngine {
 public:
  JobEngine(RawInterface style, Aead aead, ImbKey k)
      : style_(style), aead_(aead), k_(std::move(k)) {}

  size_t open(RawRecord* records, size_t n) override { return run(records, n, false); }
  size_t seal(RawRecord* records, size_t n) override { return run(records, n, true); }

 private:
  void fill(IMB_JOB* j, RawRecord& r, bool encrypt) const {
    j->src = r.data;
    j->dst = r.data;
    j->cipher_start_src_offset_in_bytes = 0;
    j->msg_len_to_cipher_in_bytes = r.length;
    j->hash_start_src_offset_in_bytes = 0;
    j->msg_len_to_hash_in_bytes = r.length;
    j->iv = r.nonce;
    j->iv_len_in_bytes = kNonceLength;
    j->enc_keys = k_.schedule.get();
    j->dec_keys = k_.schedule.get();
    j->key_len_in_bytes = k_.key_size;
    j->auth_tag_output = encrypt ? r.data + r.length : r.computed_tag;
    j->auth_tag_output_len_in_bytes = k_.tag_length;
    j->cipher_direction = encrypt ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
    j->user_data = &r;
    if (is_gcm(aead_)) {
      j->cipher_mode = IMB_CIPHER_GCM;
      j->hash_alg = IMB_AUTH_AES_GMAC;
      j->u.GCM.aad = r.aad_bytes();
      j->u.GCM.aad_len_in_bytes = r.aad_size();
      j->u.GCM.ctx = nullptr;
      j->chain_order = encrypt ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
    } else if (aead_ == Aead::chacha20_poly1305) {
      j->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
      j->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
      j->u.CHACHA20_POLY1305.aad = r.aad_bytes();
      j->u.CHACHA20_POLY1305.aad_len_in_bytes = r.aad_size();
      j->u.CHACHA20_POLY1305.ctx = nullptr;
      j->chain_order = encrypt ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
    } else {
      // CCM authenticates the plaintext: MAC first when sealing.
      j->cipher_mode = IMB_CIPHER_CCM;
      j->hash_alg = IMB_AUTH_AES_CCM;
      j->u.CCM.aad = r.aad_bytes();
      j->u.CCM.aad_len_in_bytes = r.aad_size();
      j->chain_order = encrypt ? IMB_ORDER_HASH_CIPHER : IMB_ORDER_CIPHER_HASH;
    }
  }

  size_t complete(const IMB_JOB* j, bool encrypt) const {
    if (j->status != IMB_STATUS_COMPLETED) {
      return 0;
    }
    if (encrypt) {
      return 1;
    }
    const auto* r = static_cast<const RawRecord*>(j->user_data);
    return record::equal_in_constant_time(r->computed_tag, r->data + r->length, k_.tag_length);
  }

  size_t run(RawRecord* records, size_t n, bool encrypt) {
    if (style_ == RawInterface::job) {
      return run_job(records, n, encrypt);
    }
    size_t ok = 0;
    for (size_t base = 0; base < n; base += kMaxJobs) {
      ok += run_burst(records + base, std::min(kMaxJobs, n - base), encrypt);
    }
    return ok;
  }

  size_t run_job(RawRecord* records, size_t n, bool encrypt) {
    IMB_MGR* m = k_.mgr.get();
    size_t ok = 0;
    for (size_t i = 0; i < n; ++i) {
      fill(IMB_GET_NEXT_JOB(m), records[i], encrypt);
      for (IMB_JOB* j = IMB_SUBMIT_JOB(m); j != nullptr; j = IMB_GET_COMPLETED_JOB(m)) {
        ok += complete(j, encrypt);
      }
    }
    for (IMB_JOB* j = IMB_FLUSH_JOB(m); j != nullptr; j = IMB_FLUSH_JOB(m)) {
      ok += complete(j, encrypt);
    }
    return ok;
  }

  size_t run_burst(RawRecord* records, size_t n, bool encrypt) {
    IMB_MGR* m = k_.mgr.get();
    const auto count = static_cast<uint32_t>(n);
    if (IMB_GET_NEXT_BURST(m, count, jobs_) < count) {
      return 0;  // never: the queue is drained at the end of every call
    }
    for (size_t i = 0; i < n; ++i) {
      fill(jobs_[i], records[i], encrypt);
    }
    uint32_t done = style_ == RawInterface::burst_nocheck
                        ? IMB_SUBMIT_BURST_NOCHECK(m, count, jobs_)
                        : IMB_SUBMIT_BURST(m, count, jobs_);
    size_t ok = 0;
    for (uint32_t k = 0; k < done; ++k) {
      ok += complete(jobs_[k], encrypt);
    }
    while (done < count) {
      const uint32_t more = IMB_FLUSH_BURST(m, count - done, jobs_);
      if (more == 0) {
        break;
      }
      for (uint32_t k = 0; k < more; ++k) {
        ok += complete(jobs_[k], encrypt);
      }
      done += more;
    }
    return ok;
  }

  RawInterface style_;
  Aead aead_;
  ImbKey k_;
  IMB_JOB* jobs_[kMaxJobs] = {};
};

// ---- OpenSSL EVP (ChaCha20-Poly1305) ---------------------------------------

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

class EvpChacha final : public RawEngine {
 public:
  bool init(RawInterface style, std::span<const uint8_t> key, std::span<const uint8_t> fixed_iv) {
    tls_ = style == RawInterface::evp_tls;
    EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
    if (c == nullptr) {
      return false;
    }
    enc_.reset(EVP_CIPHER_CTX_new());
    dec_.reset(EVP_CIPHER_CTX_new());
    bool good = enc_ && dec_ &&
                EVP_CipherInit_ex(enc_.get(), c, nullptr, key.data(), nullptr, 1) == 1 &&
                EVP_CipherInit_ex(dec_.get(), c, nullptr, key.data(), nullptr, 0) == 1;
    if (good && tls_) {
      // How libssl drives this cipher for (D)TLS 1.2 records: the fixed IV
      // once, then per record the AAD, whose seq_num it XORs into the nonce.
      auto* iv = const_cast<uint8_t*>(fixed_iv.data());
      good = EVP_CIPHER_CTX_ctrl(enc_.get(), EVP_CTRL_AEAD_SET_IV_FIXED, 12, iv) == 1 &&
             EVP_CIPHER_CTX_ctrl(dec_.get(), EVP_CTRL_AEAD_SET_IV_FIXED, 12, iv) == 1;
    }
    EVP_CIPHER_free(c);
    return good;
  }

  size_t open(RawRecord* records, size_t n) override {
    EVP_CIPHER_CTX* c = dec_.get();
    size_t ok = 0;
    for (size_t i = 0; i < n; ++i) {
      RawRecord& r = records[i];
      const int len = static_cast<int>(r.length);
      if (tls_) {
        // The TLS mode takes the record length with its tag and strips it.
        uint8_t aad[kAadLength];
        std::memcpy(aad, r.aad, kAadLength);  // TLS mode: DTLS 1.2 records only
        const size_t with_tag = r.length + 16;
        aad[11] = static_cast<uint8_t>(with_tag >> 8);
        aad[12] = static_cast<uint8_t>(with_tag);
        ok += EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_TLS1_AAD, kAadLength, aad) == 16 &&
              EVP_Cipher(c, r.data, r.data, static_cast<unsigned>(with_tag)) > 0;
        continue;
      }
      int out = 0;
      uint8_t final_block[16];
      ok += EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, r.nonce) == 1 &&
            EVP_DecryptUpdate(c, nullptr, &out, r.aad_bytes(), r.aad_size()) == 1 &&
            EVP_DecryptUpdate(c, r.data, &out, r.data, len) == 1 &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, r.data + r.length) == 1 &&
            EVP_DecryptFinal_ex(c, final_block, &out) == 1;
    }
    return ok;
  }

  size_t seal(RawRecord* records, size_t n) override {
    EVP_CIPHER_CTX* c = enc_.get();
    size_t ok = 0;
    for (size_t i = 0; i < n; ++i) {
      RawRecord& r = records[i];
      if (tls_) {
        uint8_t aad[kAadLength];
        std::memcpy(aad, r.aad, kAadLength);
        ok += EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_TLS1_AAD, kAadLength, aad) == 16 &&
              EVP_Cipher(c, r.data, r.data, static_cast<unsigned>(r.length + 16)) > 0;
        continue;
      }
      int out = 0;
      uint8_t final_block[16];
      ok += EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, r.nonce) == 1 &&
            EVP_EncryptUpdate(c, nullptr, &out, r.aad_bytes(), r.aad_size()) == 1 &&
            EVP_EncryptUpdate(c, r.data, &out, r.data, static_cast<int>(r.length)) == 1 &&
            EVP_EncryptFinal_ex(c, final_block, &out) == 1 &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, r.data + r.length) == 1;
    }
    return ok;
  }

 private:
  CipherCtx enc_;
  CipherCtx dec_;
  bool tls_ = false;
};

}  // namespace

std::unique_ptr<RawEngine> RawEngine::create(RawInterface interface, Aead aead,
                                             std::span<const uint8_t> key,
                                             std::span<const uint8_t> fixed_iv) {
  if (interface == RawInterface::evp || interface == RawInterface::evp_tls) {
    if (aead != Aead::chacha20_poly1305) {
      return nullptr;
    }
    auto e = std::make_unique<EvpChacha>();
    if (!e->init(interface, key, fixed_iv)) {
      return nullptr;
    }
    return e;
  }
  ImbKey k;
  if (!k.init(aead, key)) {
    return nullptr;
  }
  switch (interface) {
    case RawInterface::direct:
      if (aead == Aead::aes128_gcm) {
        return std::make_unique<GcmDirect<Aead::aes128_gcm>>(std::move(k));
      }
      if (aead == Aead::aes256_gcm) {
        return std::make_unique<GcmDirect<Aead::aes256_gcm>>(std::move(k));
      }
      if (aead == Aead::chacha20_poly1305) {
        return std::make_unique<ChachaDirect>(std::move(k));
      }
      return nullptr;  // IPsec-MB 1.3 has no direct AES-CCM API
    case RawInterface::job:
    case RawInterface::burst:
    case RawInterface::burst_nocheck:
      return std::make_unique<JobEngine>(interface, aead, std::move(k));
    case RawInterface::evp:
    case RawInterface::evp_tls:
      break;
  }
  return nullptr;
}

}  // namespace dtlsgw::bench
