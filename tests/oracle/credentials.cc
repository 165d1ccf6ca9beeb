#include "tests/oracle/credentials.h"

#include <openssl/err.h>

#include <array>
#include <stdexcept>
#include <string>

namespace dtlsgw::oracle {
namespace {

// Owns a certificate and its key until exit.
class OwnedCertificate {
 public:
  explicit OwnedCertificate(EVP_PKEY* key) {
    c_.key = key;
    c_.cert = key == nullptr ? nullptr : self_signed(key);
    if (c_.cert == nullptr) {
      EVP_PKEY_free(c_.key);
      throw std::runtime_error("cannot make a self-signed certificate: " +
                               std::string(ERR_reason_error_string(ERR_get_error())));
    }
  }
  ~OwnedCertificate() {
    X509_free(c_.cert);
    EVP_PKEY_free(c_.key);
  }
  OwnedCertificate(const OwnedCertificate&) = delete;
  OwnedCertificate& operator=(const OwnedCertificate&) = delete;

  const Certificate& get() const { return c_; }

 private:
  static X509* self_signed(EVP_PKEY* key) {
    X509* x = X509_new();
    if (x == nullptr) {
      return nullptr;
    }
    X509_NAME* name = X509_get_subject_name(x);
    const bool ok =
        X509_set_version(x, X509_VERSION_3) && ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
        X509_gmtime_adj(X509_getm_notBefore(x), -3600) != nullptr &&
        X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600) != nullptr && X509_set_pubkey(x, key) &&
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("dtlsgw oracle"), -1, -1,
                                   0) &&
        X509_set_issuer_name(x, name) && X509_sign(x, key, EVP_sha256()) > 0;
    if (!ok) {
      X509_free(x);
      return nullptr;
    }
    return x;
  }

  Certificate c_;
};

}  // namespace

const Certificate& ecdsa_p256_certificate() {
  static const OwnedCertificate c(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  return c.get();
}

const Certificate& rsa_2048_certificate() {
  static const OwnedCertificate c(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  return c.get();
}

std::span<const uint8_t> psk_key() {
  static const std::array<uint8_t, 32> key = [] {
    std::array<uint8_t, 32> k{};
    for (size_t i = 0; i < k.size(); ++i) {
      k[i] = static_cast<uint8_t>(0xa5 ^ (i * 7));
    }
    return k;
  }();
  return key;
}

}  // namespace dtlsgw::oracle
