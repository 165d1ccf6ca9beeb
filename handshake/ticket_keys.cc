#include "handshake/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstring>

namespace dtlsgw::handshake {

std::unique_ptr<TicketKeys> TicketKeys::create() {
  std::unique_ptr<TicketKeys> t(new TicketKeys());
  if (!fresh(t->current_)) {
    return nullptr;
  }
  return t;
}

TicketKeys::~TicketKeys() {
  OPENSSL_cleanse(&current_, sizeof(current_));
  OPENSSL_cleanse(&previous_, sizeof(previous_));
}

bool TicketKeys::fresh(Key& k) {
  Key n;
  if (RAND_bytes(n.name, sizeof(n.name)) != 1 || RAND_priv_bytes(n.aes, sizeof(n.aes)) != 1 ||
      RAND_priv_bytes(n.hmac, sizeof(n.hmac)) != 1) {
    OPENSSL_cleanse(&n, sizeof(n));
    return false;
  }
  n.valid = true;
  k = n;
  OPENSSL_cleanse(&n, sizeof(n));
  return true;
}

bool TicketKeys::rotate() {
  Key n;
  if (!fresh(n)) {
    return false;
  }
  previous_ = current_;
  current_ = n;
  OPENSSL_cleanse(&n, sizeof(n));
  return true;
}

bool TicketKeys::set_up(const Key& k, unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                        bool encrypt) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<uint8_t*>(k.hmac),
                                        sizeof(k.hmac)),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_CTX_set_params(mac, params) != 1) {
    return false;
  }
  // Fetched once: with the legacy EVP_aes_256_cbc() object OpenSSL 3.0
  // fetches the implementation again on every init (0.55 us a ticket).
  static EVP_CIPHER* const aes = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  if (aes == nullptr) {
    return false;
  }
  return encrypt ? EVP_EncryptInit_ex(cipher, aes, nullptr, k.aes, iv) == 1
                 : EVP_DecryptInit_ex(cipher, aes, nullptr, k.aes, iv) == 1;
}

int TicketKeys::on_ticket(unsigned char key_name[kTicketKeyNameLength], unsigned char* iv,
                          EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc) const {
  if (enc == 1) {
    if (!current_.valid || RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1) {
      return -1;
    }
    std::memcpy(key_name, current_.name, kTicketKeyNameLength);
    if (!set_up(current_, iv, cipher, mac, true)) {
      return -1;
    }
    ++issued_;
    return 1;
  }
  for (const Key* k : {&current_, &previous_}) {
    if (!k->valid || CRYPTO_memcmp(key_name, k->name, kTicketKeyNameLength) != 0) {
      continue;
    }
    if (!set_up(*k, iv, cipher, mac, false)) {
      return -1;
    }
    if (k == &current_) {
      ++accepted_current_;
      return 1;
    }
    ++accepted_previous_;
    return 2;  // valid, but renew it under the current key
  }
  ++unknown_;
  return 0;
}

}  // namespace dtlsgw::handshake
