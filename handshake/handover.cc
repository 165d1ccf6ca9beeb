// The low-level SHA-2 functions (p_hash_sha below) are deprecated in 3.0.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "handshake/handover.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

namespace dtlsgw::handshake {

void RecordKeys::wipe() {
  // The four arrays are adjacent (checked below): one cleanse call instead
  // of four, and a Handover moves three times on its way out of the table.
  static_assert(
      offsetof(RecordKeys, server_key_) ==
          offsetof(RecordKeys, client_key_) + sizeof(client_key_) &&
      offsetof(RecordKeys, client_iv_) == offsetof(RecordKeys, server_key_) + sizeof(server_key_) &&
      offsetof(RecordKeys, server_iv_) == offsetof(RecordKeys, client_iv_) + sizeof(client_iv_));
  OPENSSL_cleanse(
      reinterpret_cast<uint8_t*>(this) + offsetof(RecordKeys, client_key_),
      sizeof(client_key_) + sizeof(server_key_) + sizeof(client_iv_) + sizeof(server_iv_));
  key_length_ = 0;
  iv_length_ = 0;
}

void RecordKeys::take(RecordKeys& other) {
  std::memcpy(client_key_, other.client_key_, sizeof(client_key_));
  std::memcpy(server_key_, other.server_key_, sizeof(server_key_));
  std::memcpy(client_iv_, other.client_iv_, sizeof(client_iv_));
  std::memcpy(server_iv_, other.server_iv_, sizeof(server_iv_));
  key_length_ = other.key_length_;
  iv_length_ = other.iv_length_;
  aead_ = other.aead_;
  other.wipe();
}

namespace {

// RFC 5246 §5:
//   P_hash(secret, seed) = HMAC_hash(secret, A(1) + seed) +
//                          HMAC_hash(secret, A(2) + seed) + ...
//   A(0) = seed, A(i) = HMAC_hash(secret, A(i-1))
//
// Two implementations compute these bytes. The fast one is HMAC written
// out (RFC 2104: H(K ^ opad, H(K ^ ipad, text))) over OpenSSL's low-level
// SHA-256 / SHA-384 functions, which hash straight on the CPU's SHA
// extensions: the pads' states are computed once per call and copied (a
// plain struct) for each of the HMACs. OpenSSL 3.0's TLS1-PRF KDF computes
// the same bytes but sets its HMAC contexts up through provider fetches on
// every call (9.7 us); an EVP_MAC context re-initialised per HMAC still
// duplicates provider contexts on the heap for each one (2.3-5 us), and
// IPsec-MB's HMAC jobs pay for two multi-buffer lanes per lone job
// (1.4 us); this takes 0.9 us (bench/README.md, "handshake"). These
// functions are deprecated in OpenSSL 3.0 in favour of EVP, which is the
// cost avoided here; they remain in every 3.x release. The EVP_MAC one
// stays for a secret longer than the hash block (never a TLS 1.2 master
// secret) and any other digest.

struct Sha256 {
  using Ctx = SHA256_CTX;
  static constexpr size_t kBlock = SHA256_CBLOCK;
  static constexpr size_t kDigest = SHA256_DIGEST_LENGTH;
  static bool init(Ctx* c) { return SHA256_Init(c) == 1; }
  static bool update(Ctx* c, const uint8_t* p, size_t n) { return SHA256_Update(c, p, n) == 1; }
  static bool final(uint8_t* out, Ctx* c) { return SHA256_Final(out, c) == 1; }
};

struct Sha384 {
  using Ctx = SHA512_CTX;
  static constexpr size_t kBlock = SHA512_CBLOCK;
  static constexpr size_t kDigest = SHA384_DIGEST_LENGTH;
  static bool init(Ctx* c) { return SHA384_Init(c) == 1; }
  static bool update(Ctx* c, const uint8_t* p, size_t n) { return SHA384_Update(c, p, n) == 1; }
  static bool final(uint8_t* out, Ctx* c) { return SHA384_Final(out, c) == 1; }
};

template <typename H>
bool p_hash_sha(std::span<const uint8_t> secret, std::span<const uint8_t> seed,
                std::span<uint8_t> out) {
  if (secret.size() > H::kBlock) {
    return false;
  }
  typename H::Ctx inner;
  typename H::Ctx outer;
  typename H::Ctx work;
  uint8_t block[H::kBlock];
  uint8_t digest[H::kDigest];
  uint8_t a[H::kDigest];
  uint8_t chunk[H::kDigest];
  bool ok = true;
  for (auto [pad, ctx] : {std::pair{uint8_t{0x36}, &inner}, {uint8_t{0x5c}, &outer}}) {
    std::memset(block, pad, sizeof(block));
    for (size_t i = 0; i < secret.size(); ++i) {
      block[i] ^= secret[i];
    }
    ok = ok && H::init(ctx) && H::update(ctx, block, sizeof(block));
  }
  // HMAC(first ‖ second) into `tag`, from the saved pad states.
  const auto hmac = [&](std::span<const uint8_t> first, std::span<const uint8_t> second,
                        uint8_t* tag) {
    work = inner;
    ok = ok && H::update(&work, first.data(), first.size()) &&
         (second.empty() || H::update(&work, second.data(), second.size())) &&
         H::final(digest, &work);
    work = outer;
    ok = ok && H::update(&work, digest, sizeof(digest)) && H::final(tag, &work);
  };
  hmac(seed, {}, a);  // A(1)
  for (size_t done = 0; ok && done < out.size();) {
    hmac(a, seed, chunk);
    const size_t take = std::min(sizeof(chunk), out.size() - done);
    std::memcpy(out.data() + done, chunk, take);
    done += take;
    if (done < out.size()) {
      hmac(a, {}, a);  // A(i+1)
    }
  }
  OPENSSL_cleanse(&inner, sizeof(inner));
  OPENSSL_cleanse(&outer, sizeof(outer));
  OPENSSL_cleanse(&work, sizeof(work));
  OPENSSL_cleanse(block, sizeof(block));
  OPENSSL_cleanse(digest, sizeof(digest));
  OPENSSL_cleanse(a, sizeof(a));
  OPENSSL_cleanse(chunk, sizeof(chunk));
  return ok;
}

// P_hash on one EVP_MAC context keyed once: each HMAC re-initialises it
// without a key, so OpenSSL restarts from the saved pad states.
//
// The digest is set once per thread on an unkeyed template context that
// each call duplicates: setting it by name fetches the digest through the
// provider store (locks, name lookups) every time. The keyed copy is freed
// (and so wiped) as before.
EVP_MAC_CTX* new_hmac_context(std::string_view digest) {
  static EVP_MAC* const hmac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  if (hmac == nullptr) {
    return nullptr;
  }
  struct Templates {
    struct Entry {
      std::string digest;
      EVP_MAC_CTX* ctx = nullptr;
    };
    std::vector<Entry> entries;
    ~Templates() {
      for (Entry& e : entries) {
        EVP_MAC_CTX_free(e.ctx);
      }
    }
  };
  thread_local Templates templates;
  for (const Templates::Entry& e : templates.entries) {
    if (e.digest == digest) {
      return EVP_MAC_CTX_dup(e.ctx);
    }
  }
  std::string name(digest);
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, name.data(), 0),
      OSSL_PARAM_construct_end(),
  };
  EVP_MAC_CTX* t = EVP_MAC_CTX_new(hmac);
  if (t == nullptr || EVP_MAC_CTX_set_params(t, params) != 1) {
    EVP_MAC_CTX_free(t);
    return nullptr;
  }
  templates.entries.push_back({std::move(name), t});
  return EVP_MAC_CTX_dup(t);
}

bool p_hash_evp(std::string_view digest, std::span<const uint8_t> secret,
                std::span<const uint8_t> seed, std::span<uint8_t> out) {
  EVP_MAC_CTX* ctx = new_hmac_context(digest);
  uint8_t a[EVP_MAX_MD_SIZE];
  uint8_t chunk[EVP_MAX_MD_SIZE];
  size_t a_length = 0;
  bool ok = ctx != nullptr && EVP_MAC_init(ctx, secret.data(), secret.size(), nullptr) == 1 &&
            EVP_MAC_update(ctx, seed.data(), seed.size()) == 1 &&
            EVP_MAC_final(ctx, a, &a_length, sizeof(a)) == 1;
  for (size_t done = 0; ok && done < out.size();) {
    size_t n = 0;
    ok = EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1 && EVP_MAC_update(ctx, a, a_length) == 1 &&
         EVP_MAC_update(ctx, seed.data(), seed.size()) == 1 &&
         EVP_MAC_final(ctx, chunk, &n, sizeof(chunk)) == 1;
    const size_t take = std::min(n, out.size() - done);
    std::memcpy(out.data() + done, chunk, take);
    done += take;
    if (ok && done < out.size()) {
      ok = EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1 && EVP_MAC_update(ctx, a, a_length) == 1 &&
           EVP_MAC_final(ctx, a, &a_length, sizeof(a)) == 1;
    }
  }
  EVP_MAC_CTX_free(ctx);
  OPENSSL_cleanse(a, sizeof(a));
  OPENSSL_cleanse(chunk, sizeof(chunk));
  return ok;
}

bool p_hash(std::string_view digest, std::span<const uint8_t> secret, std::span<const uint8_t> seed,
            std::span<uint8_t> out) {
  if (digest == "SHA256" && secret.size() <= Sha256::kBlock) {
    return p_hash_sha<Sha256>(secret, seed, out);
  }
  if (digest == "SHA384" && secret.size() <= Sha384::kBlock) {
    return p_hash_sha<Sha384>(secret, seed, out);
  }
  return p_hash_evp(digest, secret, seed, out);
}

}  // namespace

bool expand_key_block(const CipherSuite& suite, std::span<const uint8_t> master_secret,
                      std::span<const uint8_t> client_random,
                      std::span<const uint8_t> server_random, RecordKeys& out) {
  out.wipe();
  constexpr size_t kRandom = 32;
  const record::AeadParams& p = record::aead_params(suite.aead);
  if (master_secret.empty() || client_random.size() != kRandom || server_random.size() != kRandom ||
      p.key_length > kMaxRecordKeyLength || p.fixed_iv_length > kMaxRecordIvLength) {
    return false;
  }
  // RFC 5246 §5: PRF(secret, label, seed) = P_<hash>(secret, label + seed).
  static constexpr char kLabel[] = "key expansion";
  constexpr size_t kLabelLength = sizeof(kLabel) - 1;
  uint8_t seed[kLabelLength + 2 * kRandom];
  std::memcpy(seed, kLabel, kLabelLength);
  std::memcpy(seed + kLabelLength, server_random.data(), kRandom);
  std::memcpy(seed + kLabelLength + kRandom, client_random.data(), kRandom);

  uint8_t block[2 * kMaxRecordKeyLength + 2 * kMaxRecordIvLength];
  const size_t block_length = 2 * p.key_length + 2 * p.fixed_iv_length;
  const bool ok = p_hash(suite.prf_digest, master_secret, seed, std::span(block, block_length));
  if (ok) {
    const uint8_t* at = block;
    std::memcpy(out.client_key_, at, p.key_length);
    at += p.key_length;
    std::memcpy(out.server_key_, at, p.key_length);
    at += p.key_length;
    std::memcpy(out.client_iv_, at, p.fixed_iv_length);
    at += p.fixed_iv_length;
    std::memcpy(out.server_iv_, at, p.fixed_iv_length);
    out.key_length_ = p.key_length;
    out.iv_length_ = p.fixed_iv_length;
    out.aead_ = suite.aead;
  }
  OPENSSL_cleanse(block, sizeof(block));
  return ok;
}

std::string_view to_string(PeerIdentity::Kind k) {
  switch (k) {
    case PeerIdentity::Kind::none:
      return "none";
    case PeerIdentity::Kind::psk:
      return "psk";
    case PeerIdentity::Kind::certificate:
      return "certificate";
  }
  return "invalid";
}

std::optional<uint64_t> Handover::client_highest_sequence() const {
  if (client_sequences.empty()) {
    return std::nullopt;
  }
  return *std::max_element(client_sequences.begin(), client_sequences.end());
}

}  // namespace dtlsgw::handshake
