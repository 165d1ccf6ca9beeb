#include "handshake/cookie.h"

#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstring>

#include "dtls_record/constant_time.h"
#include "dtls_record/wire.h"

namespace dtlsgw::handshake {

namespace wire = record::wire;

std::string_view to_string(CookieCheck c) {
  switch (c) {
    case CookieCheck::ok:
      return "ok";
    case CookieCheck::absent:
      return "absent";
    case CookieCheck::wrong_length:
      return "wrong_length";
    case CookieCheck::unknown_generation:
      return "unknown_generation";
    case CookieCheck::mismatch:
      return "mismatch";
  }
  return "invalid";
}

bool rotate_cookie_secret(CookieSecrets& secrets) {
  CookieSecret fresh;
  if (RAND_bytes(fresh.key, sizeof(fresh.key)) != 1) {
    return false;
  }
  fresh.generation = static_cast<uint8_t>(secrets.current.generation + 1);
  // The first rotation has no previous secret: an all-zero key must
  // never be accepted.
  secrets.previous = secrets.current;
  secrets.has_previous = secrets.has_current;
  secrets.current = fresh;
  secrets.has_current = true;
  OPENSSL_cleanse(fresh.key, sizeof(fresh.key));
  return true;
}

std::unique_ptr<CookieMaker> CookieMaker::create() {
  std::unique_ptr<CookieMaker> m(new CookieMaker());
  m->mgr_ = alloc_mb_mgr(0);
  if (m->mgr_ == nullptr) {
    return nullptr;
  }
  init_mb_mgr_auto(m->mgr_, nullptr);
  if (imb_get_errno(m->mgr_) != 0) {
    return nullptr;
  }
  // A cookie is one HMAC job, submitted and flushed alone. The AVX2 and
  // AVX-512 managers hash HMAC-SHA-256 in 8 or 16 lanes, so a lone job pays
  // for a whole flush (about 1.2 us on Zen 3); the SSE manager hashes it on
  // the SHA extensions when the CPU has them (about 0.2 us). bench/README.md,
  // "Why the HelloVerifyRequest target is missed".
  if ((m->mgr_->features & IMB_FEATURE_SHANI) != 0 && m->mgr_->used_arch != IMB_ARCH_SSE) {
    init_mb_mgr_sse(m->mgr_);
    if (imb_get_errno(m->mgr_) != 0) {
      return nullptr;
    }
  }
  return m;
}

CookieMaker::~CookieMaker() {
  OPENSSL_cleanse(&current_, sizeof(current_));
  OPENSSL_cleanse(&previous_, sizeof(previous_));
  OPENSSL_cleanse(scratch_, sizeof(scratch_));
  if (mgr_ != nullptr) {
    free_mb_mgr(mgr_);
  }
}

void CookieMaker::load_key(Key& k, const CookieSecret& s) {
  // RFC 2104: H(K ^ opad, H(K ^ ipad, text)); the key fits in one block.
  alignas(16) uint8_t block[IMB_SHA_256_BLOCK_SIZE];
  std::memset(block, 0x36, sizeof(block));
  for (size_t i = 0; i < kCookieSecretLength; ++i) {
    block[i] ^= s.key[i];
  }
  IMB_SHA256_ONE_BLOCK(mgr_, block, k.inner);
  std::memset(block, 0x5c, sizeof(block));
  for (size_t i = 0; i < kCookieSecretLength; ++i) {
    block[i] ^= s.key[i];
  }
  IMB_SHA256_ONE_BLOCK(mgr_, block, k.outer);
  OPENSSL_cleanse(block, sizeof(block));
  k.generation = s.generation;
  k.valid = true;
}

void CookieMaker::set_secrets(const CookieSecrets& secrets) {
  if (!secrets.has_current) {
    current_.valid = false;
  } else if (!current_.valid || current_.generation != secrets.current.generation) {
    load_key(current_, secrets.current);
  }
  if (!secrets.has_previous) {
    previous_.valid = false;
  } else if (!previous_.valid || previous_.generation != secrets.previous.generation) {
    load_key(previous_, secrets.previous);
  }
}

namespace {

// True when `hello`'s views are where parse_client_hello left them in the
// datagram, so that the wire holds exactly the MAC input's field layout:
//   client_version ‖ random ‖ session_id length ‖ session_id
//   [cookie length ‖ cookie: skipped]
//   cipher_suites length (2) ‖ cipher_suites ‖ compression length ‖ methods
// (each length byte checked against its view, so the bytes copied are the
// bytes the field-by-field path would write).
bool wire_matches_views(const ClientHello& h) {
  const uint8_t* v = h.body;
  if (v == nullptr || h.random.data() != v + 2 || h.random.size() != kRandomLength ||
      wire::load_u16(v) != h.client_version) {
    return false;
  }
  const uint8_t* sid = v + 2 + kRandomLength;
  if (sid[0] != h.session_id.size() || h.session_id.data() != sid + 1) {
    return false;
  }
  const uint8_t* cookie = sid + 1 + h.session_id.size();
  if (cookie[0] != h.cookie.size() || h.cookie.data() != cookie + 1) {
    return false;
  }
  const uint8_t* suites = cookie + 1 + h.cookie.size();
  if (wire::load_u16(suites) != h.cipher_suites.size() || h.cipher_suites.data() != suites + 2) {
    return false;
  }
  const uint8_t* compression = suites + 2 + h.cipher_suites.size();
  return compression[0] == h.compression_methods.size() &&
         h.compression_methods.data() == compression + 1;
}

}  // namespace

bool CookieMaker::mac(const Key& k, const PeerAddress& peer, const ClientHello& hello,
                      uint8_t out[kCookieMacLength]) {
  // Every variable-length field carries its length, so no two different
  // inputs encode alike. Sizes are bounded by parse_client_hello.
  uint8_t* p = scratch_;
  *p++ = static_cast<uint8_t>(peer.family);
  // Fixed sizes: copied inline, not through a memcpy call.
  if (peer.family == PeerAddress::Family::ipv4) {
    std::memcpy(p, peer.address, 4);
    p += 4;
  } else {
    std::memcpy(p, peer.address, 16);
    p += 16;
  }
  wire::store_u16(p, peer.port);
  p += 2;
  if (wire_matches_views(hello)) {
    // The wire already holds the layout below: two copies instead of
    // seven stores and copies (the HelloVerifyRequest's fixed cost,
    // bench/README.md "handshake").
    // client_version ‖ random ‖ session_id length: a fixed size, copied
    // with vector moves (one variable-length copy of it all compiled to
    // `rep movs`, whose start-up cost was a fifth of this function).
    constexpr size_t kFixed = 2 + kRandomLength + 1;
    std::memcpy(p, hello.body, kFixed);
    p += kFixed;
    if (!hello.session_id.empty()) {
      std::memcpy(p, hello.session_id.data(), hello.session_id.size());
      p += hello.session_id.size();
    }
    const size_t tail = 2 + hello.cipher_suites.size() + 1 + hello.compression_methods.size();
    std::memcpy(p, hello.cipher_suites.data() - 2, tail);
    p += tail;
  } else {
    wire::store_u16(p, hello.client_version);
    p += 2;
    std::memcpy(p, hello.random.data(), kRandomLength);
    p += kRandomLength;
    *p++ = static_cast<uint8_t>(hello.session_id.size());
    if (!hello.session_id.empty()) {  // an empty span's data() may be null
      std::memcpy(p, hello.session_id.data(), hello.session_id.size());
      p += hello.session_id.size();
    }
    wire::store_u16(p, static_cast<uint16_t>(hello.cipher_suites.size()));
    p += 2;
    std::memcpy(p, hello.cipher_suites.data(), hello.cipher_suites.size());
    p += hello.cipher_suites.size();
    *p++ = static_cast<uint8_t>(hello.compression_methods.size());
    std::memcpy(p, hello.compression_methods.data(), hello.compression_methods.size());
    p += hello.compression_methods.size();
  }

  IMB_JOB* job = IMB_GET_NEXT_JOB(mgr_);
  job->cipher_mode = IMB_CIPHER_NULL;
  job->cipher_direction = IMB_DIR_ENCRYPT;
  job->chain_order = IMB_ORDER_HASH_CIPHER;
  job->hash_alg = IMB_AUTH_HMAC_SHA_256;
  job->src = scratch_;
  job->dst = nullptr;
  job->cipher_start_src_offset_in_bytes = 0;
  job->msg_len_to_cipher_in_bytes = 0;
  job->hash_start_src_offset_in_bytes = 0;
  job->msg_len_to_hash_in_bytes = static_cast<uint64_t>(p - scratch_);
  job->u.HMAC._hashed_auth_key_xor_ipad = k.inner;
  job->u.HMAC._hashed_auth_key_xor_opad = k.outer;
  job->auth_tag_output = out;
  job->auth_tag_output_len_in_bytes = kCookieMacLength;
  job = IMB_SUBMIT_JOB(mgr_);
  while (job == nullptr) {
    job = IMB_FLUSH_JOB(mgr_);
  }
  return job->status == IMB_STATUS_COMPLETED;
}

bool CookieMaker::make_cookie(const PeerAddress& peer, const ClientHello& hello,
                              uint8_t out[kCookieLength]) {
  out[0] = current_.generation;
  return current_.valid && mac(current_, peer, hello, out + 1);
}

CookieCheck CookieMaker::verify_cookie(const PeerAddress& peer, const ClientHello& hello) {
  if (hello.cookie.empty()) {
    return CookieCheck::absent;
  }
  if (hello.cookie.size() != kCookieLength) {
    return CookieCheck::wrong_length;
  }
  const uint8_t generation = hello.cookie[0];
  const Key* k = nullptr;
  if (current_.valid && current_.generation == generation) {
    k = &current_;
  } else if (previous_.valid && previous_.generation == generation) {
    k = &previous_;
  }
  if (k == nullptr) {
    return CookieCheck::unknown_generation;
  }
  uint8_t expected[kCookieMacLength];
  if (!mac(*k, peer, hello, expected)) [[unlikely]] {
    return CookieCheck::mismatch;
  }
  const bool same = record::equal_in_constant_time(expected, hello.cookie.data() + 1, kCookieMacLength);
  return same ? CookieCheck::ok : CookieCheck::mismatch;
}

size_t CookieMaker::build_hello_verify_request(const PeerAddress& peer, const ClientHello& hello,
                                               std::span<uint8_t> out) {
  constexpr size_t n = kHelloVerifyRequestLength;
  if (out.size() < n || n > hello.record_length) {
    return 0;
  }
  constexpr uint16_t body = 2 + 1 + kCookieLength;
  uint8_t* p = out.data();
  record::RecordHeader rh;
  rh.type = record::ContentType::handshake;
  rh.version = record::ProtocolVersion::dtls10;
  // §4.2.1: "the server MUST use the record sequence number in the
  // ClientHello as the record sequence number in the HelloVerifyRequest."
  rh.number = record::RecordNumber(record::Epoch{0}, hello.record_number.sequence());
  rh.length = static_cast<uint16_t>(kHandshakeHeaderLength + body);
  record::write_record_header(rh, p);
  p += record::kRecordHeaderLength;
  // Handshake header: hello_verify_request(3), length, message_seq 0,
  // fragment_offset 0, fragment_length = length.
  const uint8_t hs[kHandshakeHeaderLength] = {3, 0, 0, body, 0, 0, 0, 0, 0, 0, 0, body};
  std::memcpy(p, hs, sizeof(hs));
  p += sizeof(hs);
  wire::store_u16(p, kHelloVerifyRequestVersion);
  p += 2;
  *p++ = kCookieLength;
  return make_cookie(peer, hello, p) ? n : 0;
}

}  // namespace dtlsgw::handshake
