// Stateless HelloVerifyRequest cookies (RFC 6347 §4.2.1).
//
//   "The cookie SHOULD be generated ... [so that it] can be verified
//    without retaining any per-client state on the server. One technique
//    is to have a randomly generated secret and generate cookies as:
//        Cookie = HMAC(Secret, Client-IP, Client-Parameters)"
//   "When responding to a HelloVerifyRequest, the client MUST use the same
//    parameter values (version, random, session_id, cipher_suites,
//    compression_method) as it did in the original ClientHello."
//
// Cookie = generation[1] ‖ HMAC-SHA-256(secret[generation], peer address ‖
// port ‖ version ‖ random ‖ session_id ‖ cipher_suites ‖
// compression_methods) truncated to 16 bytes, each variable field with its
// length in front so no two inputs share an encoding. Two secrets are
// accepted (current and previous), so rotation never strands a client in
// the middle of its cookie exchange. HMAC runs on IPsec-MB's job API (one
// manager of its own, per thread), with the key's inner and outer pad
// digests computed once per secret.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "handshake/client_hello.h"
#include "handshake/peer_address.h"

struct IMB_MGR;

namespace dtlsgw::handshake {

inline constexpr size_t kCookieSecretLength = 32;
inline constexpr size_t kCookieMacLength = 16;
inline constexpr size_t kCookieLength = 1 + kCookieMacLength;
// RFC 6347 §4.2.1: HelloVerifyRequest.server_version SHOULD be DTLS 1.0.
inline constexpr uint16_t kHelloVerifyRequestVersion = 0xfeff;

// Plain data, so it can live in shared memory (the ready memzone).
struct CookieSecret {
  uint8_t generation = 0;
  uint8_t key[kCookieSecretLength] = {};
};
struct CookieSecrets {
  CookieSecret current;
  CookieSecret previous;
  bool has_current = false;  // false until the first rotation
  bool has_previous = false;
};

// previous = current; current = a fresh secret from OpenSSL's CSPRNG with
// the next generation number. False (nothing changed) if the CSPRNG fails.
[[nodiscard]] bool rotate_cookie_secret(CookieSecrets& secrets);

enum class CookieCheck : uint8_t {
  ok,
  absent,  // empty cookie: the first ClientHello of an exchange
  wrong_length,
  unknown_generation,  // made with a secret neither current nor previous
  mismatch,            // another peer, other parameters, or forged
};
std::string_view to_string(CookieCheck c);

class CookieMaker {
 public:
  static std::unique_ptr<CookieMaker> create();
  ~CookieMaker();
  CookieMaker(const CookieMaker&) = delete;
  CookieMaker& operator=(const CookieMaker&) = delete;

  // Adopts `secrets` (cheap when unchanged: compares generations).
  void set_secrets(const CookieSecrets& secrets);

  // The cookie for `hello` from `peer` under the current secret; false if
  // no secret is set or the engine failed.
  [[nodiscard]] bool make_cookie(const PeerAddress& peer, const ClientHello& hello,
                                 uint8_t out[kCookieLength]);

  // Checks hello.cookie against current and previous secrets, comparing
  // MACs in constant time.
  [[nodiscard]] CookieCheck verify_cookie(const PeerAddress& peer, const ClientHello& hello);

  // Writes the HelloVerifyRequest answering `hello` into `out`: one record
  // in epoch 0 echoing the ClientHello's record sequence number (§4.2.1),
  // message_seq 0. Returns its length, or 0 when `out` is too small, no
  // secret is set, or the reply would be longer than the ClientHello's
  // record (amplification must stay at or below 1).
  [[nodiscard]] size_t build_hello_verify_request(const PeerAddress& peer, const ClientHello& hello,
                                                  std::span<uint8_t> out);

  static constexpr size_t kHelloVerifyRequestLength =
      record::kRecordHeaderLength + kHandshakeHeaderLength + 2 + 1 + kCookieLength;

 private:
  struct Key {
    uint8_t generation = 0;
    bool valid = false;
    alignas(16) uint8_t inner[32];  // SHA-256 state after key ^ ipad
    alignas(16) uint8_t outer[32];  // SHA-256 state after key ^ opad
  };

  CookieMaker() = default;
  void load_key(Key& k, const CookieSecret& s);
  [[nodiscard]] bool mac(const Key& k, const PeerAddress& peer, const ClientHello& hello,
                         uint8_t out[kCookieMacLength]);

  IMB_MGR* mgr_ = nullptr;
  Key current_;
  Key previous_;
  // The MAC input: address, port and the ClientHello fields, with lengths.
  uint8_t scratch_[1 + 16 + 2 + 2 + kRandomLength + 1 + 32 + 2 + kMaxClientHelloBytes + 1 + 256];
};

}  // namespace dtlsgw::handshake
