#include "dtls_record/record_cipher.h"

#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>

#include <cassert>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "dtls_record/crypto_context.h"
#include "dtls_record/wire.h"

namespace dtlsgw::record {

namespace {

constexpr size_t kScheduleAlignment = 64;
constexpr size_t kAes128ExpandedKeyBytes = 16 * 11;  // 11 round keys
constexpr size_t kChachaKeyBytes = 32;

Engine engine_for(Aead aead) {
  switch (aead) {
    case Aead::aes128_gcm:
    case Aead::aes256_gcm:
      return Engine::ipsec_mb_gcm_direct;
    case Aead::chacha20_poly1305:
      return Engine::ipsec_mb_chacha_direct;
    case Aead::aes128_ccm:
    case Aead::aes128_ccm8:
      return Engine::ipsec_mb_ccm_burst;
  }
  return Engine::ipsec_mb_gcm_direct;
}

}  // namespace

RecordCipher& RecordCipher::operator=(RecordCipher&& other) noexcept {
  if (this != &other) {
    wipe();
    schedule_ = std::exchange(other.schedule_, nullptr);
    memory_ = other.memory_;
    params_ = std::exchange(other.params_, nullptr);
    std::memcpy(fixed_iv_, other.fixed_iv_, sizeof(fixed_iv_));
    OPENSSL_cleanse(other.fixed_iv_, sizeof(other.fixed_iv_));
    aead_ = other.aead_;
    engine_ = other.engine_;
  }
  return *this;
}

size_t RecordCipher::schedule_allocation_bytes(Aead aead) {
  return (schedule_bytes(aead) + kScheduleAlignment - 1) / kScheduleAlignment *
         kScheduleAlignment;
}

size_t RecordCipher::schedule_bytes(Aead aead) {
  switch (engine_for(aead)) {
    case Engine::ipsec_mb_gcm_direct:
      return sizeof(gcm_key_data);
    case Engine::ipsec_mb_chacha_direct:
      return kChachaKeyBytes;
    case Engine::ipsec_mb_ccm_burst:
      return kAes128ExpandedKeyBytes;
  }
  return 0;
}

bool RecordCipher::init(CryptoContext& ctx, Aead aead, std::span<const uint8_t> key,
                        std::span<const uint8_t> fixed_iv) {
  wipe();
  const AeadParams& p = aead_params(aead);
  if (key.size() != p.key_length || fixed_iv.size() != p.fixed_iv_length) {
    return false;
  }
  const size_t rounded = schedule_allocation_bytes(aead);
  auto* mem = static_cast<uint8_t*>(
      memory_ != nullptr ? memory_->allocate(memory_->context, rounded)
                         : std::aligned_alloc(kScheduleAlignment, rounded));
  if (mem == nullptr) {
    return false;
  }
  assert(reinterpret_cast<uintptr_t>(mem) % kScheduleAlignment == 0);
  std::memset(mem, 0, rounded);
  schedule_ = mem;
  aead_ = aead;  // wipe() needs the size

  IMB_MGR* mgr = ctx.direct_manager();
  switch (engine_for(aead)) {
    case Engine::ipsec_mb_gcm_direct:
      if (aead == Aead::aes128_gcm) {
        IMB_AES128_GCM_PRE(mgr, key.data(), reinterpret_cast<gcm_key_data*>(mem));
      } else {
        IMB_AES256_GCM_PRE(mgr, key.data(), reinterpret_cast<gcm_key_data*>(mem));
      }
      break;
    case Engine::ipsec_mb_chacha_direct:
      std::memcpy(mem, key.data(), kChachaKeyBytes);
      break;
    case Engine::ipsec_mb_ccm_burst: {
      alignas(16) uint8_t decrypt_keys[kAes128ExpandedKeyBytes];
      IMB_AES_KEYEXP_128(mgr, key.data(), mem, decrypt_keys);
      OPENSSL_cleanse(decrypt_keys, sizeof(decrypt_keys));
      break;
    }
  }
  std::memcpy(fixed_iv_, fixed_iv.data(), fixed_iv.size());
  params_ = &p;
  aead_ = aead;
  engine_ = engine_for(aead);
  return true;
}

void RecordCipher::wipe() {
  if (schedule_ != nullptr) {
    const size_t rounded = schedule_allocation_bytes(aead_);
    OPENSSL_cleanse(schedule_, rounded);
    if (memory_ != nullptr) {
      memory_->release(memory_->context, schedule_, rounded);
    } else {
      std::free(schedule_);
    }
    schedule_ = nullptr;
  }
  OPENSSL_cleanse(fixed_iv_, sizeof(fixed_iv_));
  params_ = nullptr;
}

}  // namespace dtlsgw::record
