#include "bench/kernel_dtls/openssl_gcm.h"

#include <cstring>

namespace dtlsgw::bench {
namespace {

constexpr size_t kExplicitNonce = 8;  // RFC 5288 §3
constexpr size_t kTag = 16;
constexpr uint8_t kPlaintextByte = 0x42;

// RFC 6347 §4.1.2.1 (RFC 5246 §6.2.3.3): epoch ‖ sequence ‖ type ‖
// version ‖ length. libssl passes the length as it stands in its buffer:
// explicit nonce + plaintext when sealing, explicit nonce + ciphertext +
// tag when opening; the cipher's TLS1_AAD control takes those off.
void make_aad(uint8_t aad[13], size_t length) {
  const uint8_t fixed[11] = {0, 1, 0, 0, 0, 0, 0, 1, 23, 0xfe, 0xfd};
  std::memcpy(aad, fixed, sizeof fixed);
  aad[11] = static_cast<uint8_t>(length >> 8);
  aad[12] = static_cast<uint8_t>(length);
}

}  // namespace

OpensslGcm::OpensslGcm(size_t plaintext_length)
    : plaintext_length_(plaintext_length),
      sealed_(kExplicitNonce + plaintext_length + kTag),
      work_(sealed_.size()) {
  static const uint8_t kKey[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  uint8_t salt[4] = {0x30, 0x31, 0x32, 0x33};
  open_ = EVP_CIPHER_CTX_new();
  seal_ = EVP_CIPHER_CTX_new();
  ok_ = open_ != nullptr && seal_ != nullptr &&
        EVP_EncryptInit_ex(seal_, EVP_aes_128_gcm(), nullptr, kKey, nullptr) == 1 &&
        EVP_DecryptInit_ex(open_, EVP_aes_128_gcm(), nullptr, kKey, nullptr) == 1 &&
        EVP_CIPHER_CTX_ctrl(seal_, EVP_CTRL_AEAD_SET_IV_FIXED, sizeof salt, salt) == 1 &&
        EVP_CIPHER_CTX_ctrl(open_, EVP_CTRL_AEAD_SET_IV_FIXED, sizeof salt, salt) == 1 &&
        seal_once();
  sealed_ = work_;
  // The ceiling must do the real work: the record opens to its plaintext.
  ok_ = ok_ && open_once();
  for (size_t i = 0; ok_ && i < plaintext_length_; ++i) {
    ok_ = work_[kExplicitNonce + i] == kPlaintextByte;
  }
}

OpensslGcm::~OpensslGcm() {
  EVP_CIPHER_CTX_free(open_);
  EVP_CIPHER_CTX_free(seal_);
}

bool OpensslGcm::seal_once() {
  std::memset(work_.data() + kExplicitNonce, kPlaintextByte, plaintext_length_);
  uint8_t aad[13];
  make_aad(aad, kExplicitNonce + plaintext_length_);
  // The explicit nonce is the cipher's own counter (EVP_CTRL_GCM_IV_GEN),
  // written in front of the data, as in a libssl record.
  return EVP_CIPHER_CTX_ctrl(seal_, EVP_CTRL_AEAD_TLS1_AAD, sizeof aad, aad) ==
             static_cast<int>(kTag) &&
         EVP_Cipher(seal_, work_.data(), work_.data(), static_cast<unsigned>(work_.size())) > 0;
}

bool OpensslGcm::open_once() {
  std::memcpy(work_.data(), sealed_.data(), sealed_.size());
  uint8_t aad[13];
  make_aad(aad, sealed_.size());
  return EVP_CIPHER_CTX_ctrl(open_, EVP_CTRL_AEAD_TLS1_AAD, sizeof aad, aad) ==
             static_cast<int>(kTag) &&
         EVP_Cipher(open_, work_.data(), work_.data(), static_cast<unsigned>(work_.size())) > 0;
}

bool OpensslGcm::open(uint32_t count) {
  bool good = true;
  for (uint32_t i = 0; i < count; ++i) {
    good &= open_once();
  }
  return good;
}

bool OpensslGcm::seal(uint32_t count) {
  bool good = true;
  for (uint32_t i = 0; i < count; ++i) {
    good &= seal_once();
  }
  return good;
}

}  // namespace dtlsgw::bench
