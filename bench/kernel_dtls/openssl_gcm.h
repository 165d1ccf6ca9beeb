// The ceiling of kernel_dtls_bench, measured in the same run and thread
// (STYLE.md rule 11): OpenSSL's AES-128-GCM alone, driven the way libssl
// drives it for (D)TLS 1.2 records (EVP_CTRL_AEAD_SET_IV_FIXED once; per
// record EVP_CTRL_AEAD_TLS1_AAD and one in-place EVP_Cipher over explicit
// nonce ‖ data ‖ tag), on records of the same size: what a record costs
// with no socket, no system call and no record layer around the AEAD.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dtlsgw::bench {

class OpensslGcm {
 public:
  // One record of `plaintext_length` bytes sealed, and checked to open to
  // its plaintext. ok() is false if OpenSSL failed either.
  explicit OpensslGcm(size_t plaintext_length);
  ~OpensslGcm();
  OpensslGcm(const OpensslGcm&) = delete;
  OpensslGcm& operator=(const OpensslGcm&) = delete;

  bool ok() const { return ok_; }
  // `count` opens of the record (each: copy the sealed bytes into the work
  // buffer, as a socket read would have put them there, then AAD and
  // decrypt with the tag check), or `count` seals of a fresh plaintext
  // (AAD, encrypt, tag). False if any failed.
  bool open(uint32_t count);
  bool seal(uint32_t count);

 private:
  bool open_once();
  bool seal_once();

  EVP_CIPHER_CTX* open_ = nullptr;
  EVP_CIPHER_CTX* seal_ = nullptr;
  size_t plaintext_length_;
  std::vector<uint8_t> sealed_;  // explicit nonce ‖ ciphertext ‖ tag
  std::vector<uint8_t> work_;
  bool ok_ = false;
};

}  // namespace dtlsgw::bench
