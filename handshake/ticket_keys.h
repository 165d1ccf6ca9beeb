// Session ticket keys (RFC 5077) for the server, rotated: a ticket is
// issued under the current key and accepted under the current or the
// previous one; one accepted under the previous key is renewed (a new
// ticket under the current key is sent). Tickets older than two rotations
// fall back to a full handshake. The ticket is AES-256-CBC encrypted and
// HMAC-SHA-256 authenticated, RFC 5077 §4's recommended construction.
//
// One TicketKeys may serve several ServerContexts (a reload keeps the keys,
// so tickets stay valid). Several control processes would need to share
// these keys (DESIGN.md).
#pragma once

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace dtlsgw::handshake {

inline constexpr size_t kTicketKeyNameLength = 16;

class TicketKeys {
 public:
  // With a fresh current key; nullptr if the CSPRNG fails.
  static std::unique_ptr<TicketKeys> create();
  ~TicketKeys();
  TicketKeys(const TicketKeys&) = delete;
  TicketKeys& operator=(const TicketKeys&) = delete;

  // previous = current, current = fresh. False (nothing changed) if the
  // CSPRNG fails.
  [[nodiscard]] bool rotate();

  // The body of SSL_CTX_set_tlsext_ticket_key_evp_cb's callback: enc = 1
  // sets up a new ticket (returns 1, or -1 on error); enc = 0 finds the key
  // named `key_name` (returns 0 unknown, 1 current, 2 previous: renew, -1
  // error).
  int on_ticket(unsigned char key_name[kTicketKeyNameLength], unsigned char* iv,
                EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc) const;

  // Counters, for tests and telemetry.
  uint64_t issued() const { return issued_; }
  uint64_t accepted_current() const { return accepted_current_; }
  uint64_t accepted_previous() const { return accepted_previous_; }
  uint64_t unknown() const { return unknown_; }

 private:
  struct Key {
    uint8_t name[kTicketKeyNameLength] = {};
    uint8_t aes[32] = {};
    uint8_t hmac[32] = {};
    bool valid = false;
  };
  TicketKeys() = default;
  static bool fresh(Key& k);
  static bool set_up(const Key& k, unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                     bool encrypt);

  Key current_;
  Key previous_;
  mutable uint64_t issued_ = 0;
  mutable uint64_t accepted_current_ = 0;
  mutable uint64_t accepted_previous_ = 0;
  mutable uint64_t unknown_ = 0;
};

}  // namespace dtlsgw::handshake
