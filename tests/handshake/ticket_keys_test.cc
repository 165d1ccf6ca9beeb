// Session ticket keys (RFC 5077 §5.5 recommends rotating them): issue under
// the current key; accept current (1) and previous (2: renew); forget older.
#include "handshake/ticket_keys.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>

namespace dtlsgw::handshake {
namespace {

struct Contexts {
  Contexts() {
    cipher = EVP_CIPHER_CTX_new();
    mac_algorithm = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    mac = EVP_MAC_CTX_new(mac_algorithm);
  }
  ~Contexts() {
    EVP_MAC_CTX_free(mac);
    EVP_MAC_free(mac_algorithm);
    EVP_CIPHER_CTX_free(cipher);
  }
  EVP_CIPHER_CTX* cipher;
  EVP_MAC* mac_algorithm;
  EVP_MAC_CTX* mac;
};

int decrypt(const TicketKeys& k, std::array<unsigned char, 16> name) {
  Contexts c;
  std::array<unsigned char, EVP_MAX_IV_LENGTH> iv{};
  return k.on_ticket(name.data(), iv.data(), c.cipher, c.mac, 0);
}

TEST(TicketKeys, CurrentPreviousAndForgotten) {
  auto keys = TicketKeys::create();
  ASSERT_NE(keys, nullptr);
  std::array<unsigned char, 16> name{};
  {
    Contexts c;
    std::array<unsigned char, EVP_MAX_IV_LENGTH> iv{};
    ASSERT_EQ(keys->on_ticket(name.data(), iv.data(), c.cipher, c.mac, 1), 1);
    EXPECT_EQ(EVP_MAC_CTX_get_mac_size(c.mac), 32u) << "HMAC-SHA-256";
    EXPECT_EQ(EVP_CIPHER_CTX_get_key_length(c.cipher), 32) << "AES-256-CBC";
  }
  EXPECT_EQ(keys->issued(), 1u);
  EXPECT_EQ(decrypt(*keys, name), 1);
  ASSERT_TRUE(keys->rotate());
  EXPECT_EQ(decrypt(*keys, name), 2) << "previous key: accept and renew";
  ASSERT_TRUE(keys->rotate());
  EXPECT_EQ(decrypt(*keys, name), 0) << "two rotations ago: full handshake";
  std::array<unsigned char, 16> stranger{};
  stranger.fill(0x5a);
  EXPECT_EQ(decrypt(*keys, stranger), 0);
  EXPECT_EQ(keys->accepted_current(), 1u);
  EXPECT_EQ(keys->accepted_previous(), 1u);
  EXPECT_EQ(keys->unknown(), 2u);
}

}  // namespace
}  // namespace dtlsgw::handshake
