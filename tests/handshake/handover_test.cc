// expand_key_block (handshake/handover.cc) against OpenSSL's own TLS 1.2
// PRF, the TLS1-PRF KDF, as the oracle (STYLE.md rule 8).
//
// RFC 5246 §6.3: "key_block = PRF(SecurityParameters.master_secret,
//    "key expansion", SecurityParameters.server_random +
//    SecurityParameters.client_random);"
#include "handshake/handover.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstring>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

#include "handshake/cipher_suites.h"

namespace dtlsgw::handshake {
namespace {

std::vector<uint8_t> random_bytes(size_t n) {
  std::vector<uint8_t> v(n);
  EXPECT_EQ(RAND_bytes(v.data(), static_cast<int>(n)), 1);
  return v;
}

std::vector<uint8_t> oracle_key_block(const CipherSuite& suite, std::span<const uint8_t> master,
                                      std::span<const uint8_t> client_random,
                                      std::span<const uint8_t> server_random, size_t length) {
  std::vector<uint8_t> seed(13);
  std::memcpy(seed.data(), "key expansion", 13);
  seed.insert(seed.end(), server_random.begin(), server_random.end());
  seed.insert(seed.end(), client_random.begin(), client_random.end());
  std::string digest(suite.prf_digest);
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "TLS1-PRF", nullptr);
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest.data(), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, const_cast<uint8_t*>(master.data()),
                                        master.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed.data(), seed.size()),
      OSSL_PARAM_construct_end(),
  };
  std::vector<uint8_t> out(length);
  EXPECT_GT(EVP_KDF_derive(ctx, out.data(), out.size(), params), 0);
  EVP_KDF_CTX_free(ctx);
  EVP_KDF_free(kdf);
  return out;
}

std::vector<uint8_t> concat(std::initializer_list<std::span<const uint8_t>> parts) {
  std::vector<uint8_t> v;
  for (auto p : parts) {
    v.insert(v.end(), p.begin(), p.end());
  }
  return v;
}

// RFC 5246 §6.3: client_write_key ‖ server_write_key ‖ client_write_IV ‖
// server_write_IV (AEAD suites have no MAC keys), for every suite served.
TEST(Rfc5246Section6_3KeyBlock, MatchesOpenSslTls1PrfForEverySuite) {
  for (const CipherSuite& suite : dtls12_aead_suites()) {
    for (int round = 0; round < 8; ++round) {
      const auto master = random_bytes(48);
      const auto client_random = random_bytes(32);
      const auto server_random = random_bytes(32);
      RecordKeys keys;
      ASSERT_TRUE(expand_key_block(suite, master, client_random, server_random, keys))
          << suite.openssl_name;
      const auto got = concat({keys.client_write_key(), keys.server_write_key(),
                               keys.client_write_iv(), keys.server_write_iv()});
      EXPECT_EQ(got, oracle_key_block(suite, master, client_random, server_random, got.size()))
          << suite.openssl_name;
    }
  }
}

// The fast path hashes a secret of at most one hash block (every TLS 1.2
// master secret: 48 bytes); a longer one takes the EVP_MAC path. Both must
// agree with the oracle, for both PRF hashes.
TEST(Rfc5246Section6_3KeyBlock, EverySecretLengthMatchesTheOracle) {
  for (const char* name : {"PSK-AES128-CCM8", "ECDHE-ECDSA-AES256-GCM-SHA384"}) {
    const CipherSuite* suite = find_suite(name);
    ASSERT_NE(suite, nullptr) << name;
    for (size_t length : {1u, 48u, 64u, 65u, 128u, 129u, 300u}) {
      const auto master = random_bytes(length);
      const auto client_random = random_bytes(32);
      const auto server_random = random_bytes(32);
      RecordKeys keys;
      ASSERT_TRUE(expand_key_block(*suite, master, client_random, server_random, keys))
          << name << " " << length;
      const auto got = concat({keys.client_write_key(), keys.server_write_key(),
                               keys.client_write_iv(), keys.server_write_iv()});
      EXPECT_EQ(got, oracle_key_block(*suite, master, client_random, server_random, got.size()))
          << name << " secret of " << length << " bytes";
    }
  }
}

TEST(Rfc5246Section6_3KeyBlock, RefusesWrongRandomLengths) {
  const CipherSuite& suite = dtls12_aead_suites()[0];
  const auto master = random_bytes(48);
  RecordKeys keys;
  EXPECT_FALSE(expand_key_block(suite, master, random_bytes(31), random_bytes(32), keys));
  EXPECT_FALSE(expand_key_block(suite, master, random_bytes(32), random_bytes(33), keys));
  EXPECT_FALSE(expand_key_block(suite, {}, random_bytes(32), random_bytes(32), keys));
  EXPECT_FALSE(keys.valid());
}

}  // namespace
}  // namespace dtlsgw::handshake
