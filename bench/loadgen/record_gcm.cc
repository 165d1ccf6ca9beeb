#include "bench/loadgen/record_gcm.h"

#include <algorithm>
#include <array>
#include <cstring>

// AES-NI and PCLMULQDQ for this file's functions only: the generator runs
// where the gateway runs (x86-64 with AES-NI, which IPsec-MB needs too).
// GCC and clang spell it differently; the rest of the build stays at the
// baseline ISA.
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("aes,pclmul,ssse3,sse4.1"))), \
                             apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("aes,pclmul,ssse3,sse4.1")
#endif

namespace dtlsgw::loadgen {

namespace {

constexpr uint8_t kApplicationData = 23;         // RFC 5246 §6.2.1 ContentType
constexpr uint8_t kVersion12[2] = {0xfe, 0xfd};  // RFC 6347 §4.1: DTLS 1.2
constexpr size_t kHeader = 13;
constexpr size_t kExplicitNonce = 8;
constexpr size_t kTag = 16;

inline __m128i reflect(__m128i x) {
  const __m128i mask = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  return _mm_shuffle_epi8(x, mask);
}

// GF(2^128) product in GCM's bit order, on byte-reflected operands: the
// carry-less multiplication and reduction of Gueron and Kounavis, "Intel
// Carry-Less Multiplication Instruction and its Usage for Computing the
// GCM Mode" (2010), Figure 5 (shift left by one for the reflected bits,
// then reduce modulo x^128 + x^7 + x^2 + x + 1).
inline __m128i gf_multiply(__m128i a, __m128i b) {
  __m128i t3 = _mm_clmulepi64_si128(a, b, 0x00);
  __m128i t4 = _mm_clmulepi64_si128(a, b, 0x10);
  __m128i t5 = _mm_clmulepi64_si128(a, b, 0x01);
  __m128i t6 = _mm_clmulepi64_si128(a, b, 0x11);
  t4 = _mm_xor_si128(t4, t5);
  t5 = _mm_slli_si128(t4, 8);
  t4 = _mm_srli_si128(t4, 8);
  t3 = _mm_xor_si128(t3, t5);
  t6 = _mm_xor_si128(t6, t4);
  __m128i t7 = _mm_srli_epi32(t3, 31);
  __m128i t8 = _mm_srli_epi32(t6, 31);
  t3 = _mm_slli_epi32(t3, 1);
  t6 = _mm_slli_epi32(t6, 1);
  __m128i t9 = _mm_srli_si128(t7, 12);
  t8 = _mm_slli_si128(t8, 4);
  t7 = _mm_slli_si128(t7, 4);
  t3 = _mm_or_si128(t3, t7);
  t6 = _mm_or_si128(t6, t8);
  t6 = _mm_or_si128(t6, t9);
  t7 = _mm_slli_epi32(t3, 31);
  t8 = _mm_slli_epi32(t3, 30);
  t9 = _mm_slli_epi32(t3, 25);
  t7 = _mm_xor_si128(t7, t8);
  t7 = _mm_xor_si128(t7, t9);
  t8 = _mm_srli_si128(t7, 4);
  t7 = _mm_slli_si128(t7, 12);
  t3 = _mm_xor_si128(t3, t7);
  __m128i t2 = _mm_srli_epi32(t3, 1);
  t4 = _mm_srli_epi32(t3, 2);
  t5 = _mm_srli_epi32(t3, 7);
  t2 = _mm_xor_si128(t2, t4);
  t2 = _mm_xor_si128(t2, t5);
  t2 = _mm_xor_si128(t2, t8);
  t3 = _mm_xor_si128(t3, t2);
  return _mm_xor_si128(t6, t3);
}

inline __m128i load(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}
inline void store(uint8_t* p, __m128i x) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), x); }

// A block of up to 16 bytes, zero padded (GHASH's padding, SP 800-38D §6.4).
inline __m128i load_partial(const uint8_t* p, size_t n) {
  if (n >= 16) {
    return load(p);
  }
  alignas(16) uint8_t b[16] = {};
  std::memcpy(b, p, n);
  return load(b);
}

inline __m128i encrypt_block(const GcmKey& k, __m128i x) {
  x = _mm_xor_si128(x, k.round_keys[0]);
  for (unsigned r = 1; r < k.rounds; ++r) {
    x = _mm_aesenc_si128(x, k.round_keys[r]);
  }
  return _mm_aesenclast_si128(x, k.round_keys[k.rounds]);
}

// Three blocks at once: the AES rounds of independent blocks overlap.
inline void encrypt3(const GcmKey& k, __m128i& a, __m128i& b, __m128i& c) {
  a = _mm_xor_si128(a, k.round_keys[0]);
  b = _mm_xor_si128(b, k.round_keys[0]);
  c = _mm_xor_si128(c, k.round_keys[0]);
  for (unsigned r = 1; r < k.rounds; ++r) {
    a = _mm_aesenc_si128(a, k.round_keys[r]);
    b = _mm_aesenc_si128(b, k.round_keys[r]);
    c = _mm_aesenc_si128(c, k.round_keys[r]);
  }
  a = _mm_aesenclast_si128(a, k.round_keys[k.rounds]);
  b = _mm_aesenclast_si128(b, k.round_keys[k.rounds]);
  c = _mm_aesenclast_si128(c, k.round_keys[k.rounds]);
}

// FIPS 197 §5.2 with AESKEYGENASSIST: `gen` holds RotWord(SubWord(w3)) ^
// Rcon (shuffled from dword 3) or SubWord(w3) (dword 2, AES-256's odd keys).
inline __m128i expand_step(__m128i key, __m128i gen) {
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  return _mm_xor_si128(key, gen);
}

#define DTLSGW_EXPAND128(i, rcon) \
  rk[i] =                         \
      expand_step(rk[i - 1], _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[i - 1], rcon), 0xff))
#define DTLSGW_EXPAND256(i, rcon)                                                                  \
  rk[i] =                                                                                          \
      expand_step(rk[i - 2], _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[i - 1], rcon), 0xff)); \
  rk[i + 1] = expand_step(rk[i - 1], _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[i], 0), 0xaa))

void expand_128(const uint8_t* key, __m128i* rk) {
  rk[0] = load(key);
  DTLSGW_EXPAND128(1, 0x01);
  DTLSGW_EXPAND128(2, 0x02);
  DTLSGW_EXPAND128(3, 0x04);
  DTLSGW_EXPAND128(4, 0x08);
  DTLSGW_EXPAND128(5, 0x10);
  DTLSGW_EXPAND128(6, 0x20);
  DTLSGW_EXPAND128(7, 0x40);
  DTLSGW_EXPAND128(8, 0x80);
  DTLSGW_EXPAND128(9, 0x1b);
  DTLSGW_EXPAND128(10, 0x36);
}

void expand_256(const uint8_t* key, __m128i* rk) {
  rk[0] = load(key);
  rk[1] = load(key + 16);
  DTLSGW_EXPAND256(2, 0x01);
  DTLSGW_EXPAND256(4, 0x02);
  DTLSGW_EXPAND256(6, 0x04);
  DTLSGW_EXPAND256(8, 0x08);
  DTLSGW_EXPAND256(10, 0x10);
  DTLSGW_EXPAND256(12, 0x20);
  rk[14] = expand_step(rk[12], _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[13], 0x40), 0xff));
}

#undef DTLSGW_EXPAND128
#undef DTLSGW_EXPAND256

// The counter block nonce ‖ uint32_be(counter) (SP 800-38D §7.1: J0 is
// counter 1, the key stream starts at 2), nonce = salt ‖ explicit nonce.
inline __m128i counter_block(const GcmKey& k, const uint8_t explicit_nonce[8], uint32_t counter) {
  alignas(16) uint8_t b[16];
  std::memcpy(b, k.salt, 4);
  std::memcpy(b + 4, explicit_nonce, 8);
  b[12] = static_cast<uint8_t>(counter >> 24);
  b[13] = static_cast<uint8_t>(counter >> 16);
  b[14] = static_cast<uint8_t>(counter >> 8);
  b[15] = static_cast<uint8_t>(counter);
  return load(b);
}

// The same, for the generator, from the record number in registers: bytes
// written one by one and read back as a vector stall store forwarding,
// once per block and record. `number_be` holds epoch ‖ sequence as the 8
// wire bytes (big-endian) in memory order.
inline __m128i counter_block(const GcmKey& k, uint64_t number_be, uint32_t counter) {
  uint32_t salt;
  std::memcpy(&salt, k.salt, 4);
  const uint64_t low = salt | (number_be << 32);
  const uint64_t high = (number_be >> 32) | (uint64_t{__builtin_bswap32(counter)} << 32);
  return _mm_set_epi64x(static_cast<long long>(high), static_cast<long long>(low));
}

// RFC 6347 §4.1.2.1 / RFC 5246 §6.2.3.3: seq_num ‖ type ‖ version ‖ length,
// 13 bytes, zero padded to a block.
inline __m128i aad_block(const uint8_t seq_num[8], size_t plaintext_length) {
  alignas(16) uint8_t b[16] = {};
  std::memcpy(b, seq_num, 8);
  b[8] = kApplicationData;
  b[9] = kVersion12[0];
  b[10] = kVersion12[1];
  b[11] = static_cast<uint8_t>(plaintext_length >> 8);
  b[12] = static_cast<uint8_t>(plaintext_length);
  return reflect(load(b));
}

inline __m128i aad_block(uint64_t number_be, size_t plaintext_length) {
  const uint64_t high = uint64_t{kApplicationData} | (uint64_t{kVersion12[0]} << 8) |
                        (uint64_t{kVersion12[1]} << 16) |
                        (uint64_t{(plaintext_length >> 8) & 0xff} << 24) |
                        (uint64_t{plaintext_length & 0xff} << 32);
  return reflect(_mm_set_epi64x(static_cast<long long>(high), static_cast<long long>(number_be)));
}

// [len(A)]_64 ‖ [len(C)]_64 in bits.
inline __m128i length_block(size_t plaintext_length) {
  return _mm_set_epi64x(static_cast<long long>(13 * 8),
                        static_cast<long long>(plaintext_length * 8));
}

const std::array<uint8_t, kMaxPlaintext>& fixed_ciphertext() {
  static const auto table = [] {
    std::array<uint8_t, kMaxPlaintext> t{};
    for (size_t i = 0; i < t.size(); ++i) {
      t[i] = fixed_ciphertext_byte(i);
    }
    return t;
  }();
  return table;
}

void write_header(uint16_t epoch, uint64_t sequence, size_t plaintext_length, uint8_t* out) {
  out[0] = kApplicationData;
  out[1] = kVersion12[0];
  out[2] = kVersion12[1];
  out[3] = static_cast<uint8_t>(epoch >> 8);
  out[4] = static_cast<uint8_t>(epoch);
  for (int i = 0; i < 6; ++i) {
    out[5 + i] = static_cast<uint8_t>(sequence >> (40 - 8 * i));
  }
  const size_t length = kExplicitNonce + plaintext_length + kTag;
  out[11] = static_cast<uint8_t>(length >> 8);
  out[12] = static_cast<uint8_t>(length);
  // The explicit nonce is the record's own sequence number, as dtlsgw's
  // record layer writes it: unique per key by construction.
  std::memcpy(out + kHeader, out + 3, 8);
}

bool header_ok(std::span<const uint8_t> record) {
  if (record.size() < kHeader + kExplicitNonce + kStampLength + kTag) {
    return false;
  }
  const size_t length = (size_t{record[11]} << 8) | record[12];
  return record[0] == kApplicationData && record[1] == kVersion12[0] &&
         record[2] == kVersion12[1] && length == record.size() - kHeader;
}

}  // namespace

bool gcm_supported(record::Aead aead) {
  return aead == record::Aead::aes128_gcm || aead == record::Aead::aes256_gcm;
}

bool gcm_key_init(std::span<const uint8_t> key, std::span<const uint8_t> salt, GcmKey& out) {
  if ((key.size() != 16 && key.size() != 32) || salt.size() != 4) {
    return false;
  }
  if (key.size() == 16) {
    out.rounds = 10;
    expand_128(key.data(), out.round_keys);
  } else {
    out.rounds = 14;
    expand_256(key.data(), out.round_keys);
  }
  out.h = reflect(encrypt_block(out, _mm_setzero_si128()));
  std::memcpy(out.salt, salt.data(), 4);
  return true;
}

void gcm_shape_init(const GcmKey& key, size_t plaintext_length, GcmShape& out) {
  const size_t blocks = (plaintext_length + 15) / 16;
  __m128i h_n = key.h;
  for (size_t i = 1; i < blocks; ++i) {
    h_n = gf_multiply(h_n, key.h);
  }
  out.h_n = h_n;
  out.h_n1 = gf_multiply(h_n, key.h);
  out.h_n2 = gf_multiply(out.h_n1, key.h);
  const uint8_t* fixed = fixed_ciphertext().data();
  __m128i z = _mm_setzero_si128();
  for (size_t offset = kStampLength; offset < plaintext_length; offset += 16) {
    const __m128i c = reflect(load_partial(fixed + offset, plaintext_length - offset));
    z = gf_multiply(_mm_xor_si128(z, c), key.h);
  }
  out.fixed_hash = gf_multiply(_mm_xor_si128(z, length_block(plaintext_length)), key.h);
}

void gcm_write_record(const GcmKey& key, const GcmShape& shape, uint16_t epoch, uint64_t sequence,
                      const uint8_t stamp[kStampLength], size_t plaintext_length, uint8_t* out) {
  write_header(epoch, sequence, plaintext_length, out);
  const uint64_t number_be = __builtin_bswap64((uint64_t{epoch} << 48) | sequence);
  __m128i j0 = counter_block(key, number_be, 1);
  __m128i ks1 = counter_block(key, number_be, 2);
  __m128i ks2 = counter_block(key, number_be, 3);
  encrypt3(key, j0, ks1, ks2);
  uint8_t* ciphertext = out + kHeader + kExplicitNonce;
  const __m128i c1 = _mm_xor_si128(load(stamp), ks1);
  const __m128i c2 = _mm_xor_si128(load(stamp + 16), ks2);
  store(ciphertext, c1);
  store(ciphertext + 16, c2);
  std::memcpy(ciphertext + kStampLength, fixed_ciphertext().data() + kStampLength,
              plaintext_length - kStampLength);
  // Three independent products (the powers come from the shape), so they
  // overlap instead of waiting on each other.
  const __m128i a = gf_multiply(aad_block(number_be, plaintext_length), shape.h_n2);
  const __m128i b = gf_multiply(reflect(c1), shape.h_n1);
  const __m128i c = gf_multiply(reflect(c2), shape.h_n);
  const __m128i s = _mm_xor_si128(_mm_xor_si128(a, b), _mm_xor_si128(c, shape.fixed_hash));
  store(ciphertext + plaintext_length, _mm_xor_si128(reflect(s), j0));
}

bool gcm_expected_plaintext_matches(const GcmKey& key, uint16_t epoch, uint64_t sequence,
                                    std::span<const uint8_t> plaintext) {
  if (plaintext.size() < kStampLength) {
    return false;
  }
  uint8_t header[kHeader + kExplicitNonce];
  write_header(epoch, sequence, plaintext.size(), header);
  const uint8_t* fixed = fixed_ciphertext().data();
  alignas(16) uint8_t stream[16];
  for (size_t offset = kStampLength; offset < plaintext.size(); offset += 16) {
    const auto counter = static_cast<uint32_t>(2 + offset / 16);
    store(stream, encrypt_block(key, counter_block(key, header + kHeader, counter)));
    const size_t n = std::min<size_t>(16, plaintext.size() - offset);
    for (size_t i = 0; i < n; ++i) {
      if (plaintext[offset + i] != (fixed[offset + i] ^ stream[i])) {
        return false;
      }
    }
  }
  return true;
}

bool gcm_read_stamp(const GcmKey& key, std::span<const uint8_t> record,
                    uint8_t stamp[kStampLength]) {
  if (!header_ok(record)) {
    return false;
  }
  const uint8_t* explicit_nonce = record.data() + kHeader;
  __m128i unused = _mm_setzero_si128();
  __m128i ks1 = counter_block(key, explicit_nonce, 2);
  __m128i ks2 = counter_block(key, explicit_nonce, 3);
  encrypt3(key, unused, ks1, ks2);
  const uint8_t* ciphertext = explicit_nonce + kExplicitNonce;
  store(stamp, _mm_xor_si128(load(ciphertext), ks1));
  store(stamp + 16, _mm_xor_si128(load(ciphertext + 16), ks2));
  return true;
}

bool gcm_open_full(const GcmKey& key, std::span<const uint8_t> record, uint8_t* plaintext) {
  if (!header_ok(record)) {
    return false;
  }
  const size_t length = record.size() - kHeader - kExplicitNonce - kTag;
  const uint8_t* explicit_nonce = record.data() + kHeader;
  const uint8_t* ciphertext = explicit_nonce + kExplicitNonce;
  __m128i s = gf_multiply(aad_block(record.data() + 3, length), key.h);
  alignas(16) uint8_t stream[16];
  for (size_t offset = 0; offset < length; offset += 16) {
    const size_t n = std::min<size_t>(16, length - offset);
    s = gf_multiply(_mm_xor_si128(s, reflect(load_partial(ciphertext + offset, n))), key.h);
    const auto counter = static_cast<uint32_t>(2 + offset / 16);
    store(stream, encrypt_block(key, counter_block(key, explicit_nonce, counter)));
    for (size_t i = 0; i < n; ++i) {
      plaintext[offset + i] = ciphertext[offset + i] ^ stream[i];
    }
  }
  s = gf_multiply(_mm_xor_si128(s, length_block(length)), key.h);
  alignas(16) uint8_t tag[16];
  store(tag, _mm_xor_si128(reflect(s), encrypt_block(key, counter_block(key, explicit_nonce, 1))));
  return std::memcmp(tag, ciphertext + length, kTag) == 0;
}

}  // namespace dtlsgw::loadgen

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
