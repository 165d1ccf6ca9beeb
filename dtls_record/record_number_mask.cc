#include "dtls_record/record_number_mask.h"

#include <immintrin.h>
#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>

#include <cstring>

#include "dtls_record/crypto_context.h"

namespace dtlsgw::record {

namespace {

uint32_t load_le32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

void store_le32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

constexpr uint32_t rotl(uint32_t v, int n) { return (v << n) | (v >> (32 - n)); }

void quarter_round(uint32_t& a, uint32_t& b, uint32_t& c, uint32_t& d) {
  a += b;
  d = rotl(d ^ a, 16);
  c += d;
  b = rotl(b ^ c, 12);
  a += b;
  d = rotl(d ^ a, 8);
  c += d;
  b = rotl(b ^ c, 7);
}

__attribute__((target("aes,sse2"))) void aes_encrypt_block(const uint8_t* round_keys, int rounds,
                                                            const uint8_t in[16], uint8_t out[16]) {
  const auto* rk = reinterpret_cast<const __m128i*>(round_keys);
  __m128i b = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in)),
                            _mm_load_si128(rk));
  for (int r = 1; r < rounds; ++r) {
    b = _mm_aesenc_si128(b, _mm_load_si128(rk + r));
  }
  b = _mm_aesenclast_si128(b, _mm_load_si128(rk + rounds));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), b);
}

}  // namespace

void chacha20_block(const uint8_t key[32], uint32_t counter, const uint8_t nonce[12],
                    uint8_t out[64]) {
  uint32_t s[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
  for (int i = 0; i < 8; ++i) {
    s[4 + i] = load_le32(key + 4 * i);
  }
  s[12] = counter;
  for (int i = 0; i < 3; ++i) {
    s[13 + i] = load_le32(nonce + 4 * i);
  }
  uint32_t x[16];
  std::memcpy(x, s, sizeof(x));
  for (int i = 0; i < 10; ++i) {
    quarter_round(x[0], x[4], x[8], x[12]);
    quarter_round(x[1], x[5], x[9], x[13]);
    quarter_round(x[2], x[6], x[10], x[14]);
    quarter_round(x[3], x[7], x[11], x[15]);
    quarter_round(x[0], x[5], x[10], x[15]);
    quarter_round(x[1], x[6], x[11], x[12]);
    quarter_round(x[2], x[7], x[8], x[13]);
    quarter_round(x[3], x[4], x[9], x[14]);
  }
  for (int i = 0; i < 16; ++i) {
    store_le32(out + 4 * i, x[i] + s[i]);
  }
  OPENSSL_cleanse(x, sizeof(x));
  OPENSSL_cleanse(s, sizeof(s));
}

bool RecordNumberMask::init(CryptoContext& ctx, Aead aead, std::span<const uint8_t> sn_key) {
  wipe();
  if (sn_key.size() != aead_params(aead).key_length) {
    return false;
  }
  if (aead == Aead::chacha20_poly1305) {
    std::memcpy(schedule_, sn_key.data(), 32);
    chacha_ = true;
    rounds_ = 20;
    return true;
  }
  if (!__builtin_cpu_supports("aes")) {
    return false;
  }
  alignas(16) uint8_t decrypt_keys[15 * 16];
  IMB_MGR* mgr = ctx.direct_manager();
  if (sn_key.size() == 16) {
    IMB_AES_KEYEXP_128(mgr, sn_key.data(), schedule_, decrypt_keys);
    rounds_ = 10;
  } else if (sn_key.size() == 32) {
    IMB_AES_KEYEXP_256(mgr, sn_key.data(), schedule_, decrypt_keys);
    rounds_ = 14;
  }
  OPENSSL_cleanse(decrypt_keys, sizeof(decrypt_keys));
  return rounds_ != 0;
}

void RecordNumberMask::wipe() {
  OPENSSL_cleanse(schedule_, sizeof(schedule_));
  rounds_ = 0;
  chacha_ = false;
}

void RecordNumberMask::mask(const uint8_t sample[kMaskSampleLength], uint8_t out[2]) const {
  if (chacha_) {
    uint8_t block[64];
    chacha20_block(schedule_, load_le32(sample), sample + 4, block);
    out[0] = block[0];
    out[1] = block[1];
    OPENSSL_cleanse(block, sizeof(block));
    return;
  }
  uint8_t block[16];
  aes_encrypt_block(schedule_, rounds_, sample, block);
  out[0] = block[0];
  out[1] = block[1];
}

}  // namespace dtlsgw::record
