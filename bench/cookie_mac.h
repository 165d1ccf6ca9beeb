// The ceilings the HelloVerifyRequest benchmark holds dtlsgw's cookie path
// against: HMAC-SHA-256 over the very bytes dtlsgw's cookie MACs, already
// laid out, through IPsec-MB's job API (the engine CookieMaker uses) and
// through OpenSSL (for reference). No parsing, no record or handshake
// header, no copying of fields into a scratch buffer.
//
// The MAC input is rebuilt here from the datagram's bytes, independently of
// handshake/client_hello.cc and handshake/cookie.cc, from the layout
// cookie.h documents (RFC 6347 §4.2.1, "Cookie = HMAC(Secret, Client-IP,
// Client-Parameters)"):
//
//   family[1] ‖ address[4 or 16] ‖ port[2] ‖ client_version[2] ‖ random[32] ‖
//   session_id<0..32> (1-byte length) ‖ cipher_suites (2-byte length) ‖
//   compression_methods (1-byte length)
//
// The benchmark checks that every ceiling's tag equals the MAC in the
// cookie dtlsgw wrote, so the rebuilt input is the one dtlsgw hashes.
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "handshake/peer_address.h"

struct IMB_MGR;

namespace dtlsgw::bench {

inline constexpr size_t kCookieTagLength = 16;  // HMAC-SHA-256 truncated

// The cookie MAC input for a whole, unfragmented ClientHello in the first
// record of `datagram` from `peer`; empty if the datagram is too short for
// the fields it announces. Knows the wire layout, checks nothing else.
std::vector<uint8_t> cookie_mac_input(std::span<const uint8_t> datagram,
                                      const handshake::PeerAddress& peer);

// Which IPsec-MB manager runs the jobs.
enum class ImbManager : uint8_t {
  auto_detected,  // init_mb_mgr_auto, as CookieMaker does: AVX2 on this CPU
  sse,            // init_mb_mgr_sse: its HMAC-SHA-256 uses the SHA extensions
                  // (SHA-NI) when the CPU has them
};

// HMAC-SHA-256 on IPsec-MB's job API, with the key's inner and outer pad
// digests computed once (as CookieMaker does per secret).
class ImbHmacSha256 {
 public:
  static std::unique_ptr<ImbHmacSha256> create(std::span<const uint8_t> key,
                                               ImbManager manager = ImbManager::auto_detected);
  ~ImbHmacSha256();
  ImbHmacSha256(const ImbHmacSha256&) = delete;
  ImbHmacSha256& operator=(const ImbHmacSha256&) = delete;

  // One message per call: get a job, fill it, submit, flush until it comes
  // back, as a caller with one message in hand must. True if it completed.
  bool mac_one(const uint8_t* in, size_t length, uint8_t out[kCookieTagLength]);
  // n messages submitted back to back, flushed once at the end: the
  // manager fills its lanes (multi-buffer). Returns how many completed.
  size_t mac_many(const uint8_t* const* in, const size_t* lengths, uint8_t* const* out, size_t n);
  const char* arch_name() const;
  static const char* version();

 private:
  ImbHmacSha256() = default;
  IMB_MGR* mgr_ = nullptr;
  alignas(16) uint8_t inner_[32] = {};
  alignas(16) uint8_t outer_[32] = {};
};

// HMAC-SHA-256 through OpenSSL 3.0's EVP_MAC, keyed once: each message
// re-initialises the context without a key (OpenSSL then restarts from
// the saved pad states), updates and finalises.
class OpensslHmacSha256 {
 public:
  static std::unique_ptr<OpensslHmacSha256> create(std::span<const uint8_t> key);
  ~OpensslHmacSha256();
  OpensslHmacSha256(const OpensslHmacSha256&) = delete;
  OpensslHmacSha256& operator=(const OpensslHmacSha256&) = delete;

  bool mac(const uint8_t* in, size_t length, uint8_t out[kCookieTagLength]);

 private:
  OpensslHmacSha256() = default;
  EVP_MAC_CTX* ctx_ = nullptr;
};

// OpenSSL's one-shot HMAC() (the key set up on every call), truncated.
bool openssl_hmac_oneshot(std::span<const uint8_t> key, const uint8_t* in, size_t length,
                          uint8_t out[kCookieTagLength]);

}  // namespace dtlsgw::bench
