// The load generator's DTLS 1.2 AES-GCM records (RFC 6347 §4.1.2.1,
// RFC 5288 §3), cheap enough that one generating core outruns a gateway
// core that opens them.
//
// Why not the record layer's seal: sealing a record costs what opening it
// costs, so a generator that seals every byte is as slow as the gateway it
// measures and the run would measure the generator. GCM is counter mode
// plus a linear MAC (NIST SP 800-38D §6.4, §7.1), so a record whose
// ciphertext is fixed except for its first two blocks (the stamp, which
// carries the session, the sequence number and the send time) costs three
// AES blocks and three GF(2^128) multiplications whatever its size:
//
//   S = GHASH_H(A ‖ C1 ‖ C2 ‖ C3..Cn ‖ L)
//     = A·H^(n+2) ⊕ C1·H^(n+1) ⊕ C2·H^n ⊕ GHASH_H(C3..Cn ‖ L)
//
// where the last term depends only on the size and the session's H and is
// computed once per session and size (Shape). The records are ordinary,
// valid records under the session's keys (tests/loadgen/record_gcm_test.cc
// opens them with dtls_record/); their plaintext past the stamp is the
// fixed ciphertext XOR the key stream, which a full check recomputes.
//
// Checking records the gateway sealed (the other direction) reads the stamp
// with two AES blocks; a full check also verifies the tag and every
// plaintext byte. The caller picks how often (a sample, or every record).
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "dtls_record/aead_suite.h"

namespace dtlsgw::loadgen {

// The expanded AES key (FIPS 197 §5.2) and GHASH key of one direction of
// one session. AES-128 and AES-256 (the DTLS 1.2 GCM suites).
struct GcmKey {
  __m128i round_keys[15];
  __m128i h;             // E_K(0^128), byte-reflected for the multiplication
  uint8_t salt[4] = {};  // the write IV: the nonce's implicit part (RFC 5288 §3)
  uint8_t rounds = 10;
};

// Sets up `out` from a key of 16 or 32 bytes and the 4-byte salt. False for
// any other length.
bool gcm_key_init(std::span<const uint8_t> key, std::span<const uint8_t> salt, GcmKey& out);
// True for the suites this file generates (AES-GCM, 16-byte tag).
bool gcm_supported(record::Aead aead);

// What a record of one plaintext size needs besides its key: H^(n+2),
// H^(n+1), H^n and the GHASH of the fixed blocks (see above; the three
// products of a record are then independent and overlap). One cache line.
struct GcmShape {
  __m128i h_n2;
  __m128i h_n1;
  __m128i h_n;
  __m128i fixed_hash;
};

// The record's fixed parts, and its layout. Plaintext sizes from kStampLength
// to 2^14.
inline constexpr size_t kStampLength = 32;
inline constexpr size_t kRecordOverhead = 13 + 8 + 16;  // header, explicit nonce, tag
inline constexpr size_t kMaxPlaintext = 1 << 14;

// The byte every record's ciphertext holds at plaintext offset i >= 32.
inline uint8_t fixed_ciphertext_byte(size_t i) { return static_cast<uint8_t>(0x5a + 131 * i); }

void gcm_shape_init(const GcmKey& key, size_t plaintext_length, GcmShape& out);

// Writes a complete DTLS 1.2 application_data record, epoch `epoch`,
// sequence `sequence`, whose plaintext starts with `stamp` (32 bytes) and
// is `plaintext_length` long, at out[0 .. plaintext_length + kRecordOverhead).
void gcm_write_record(const GcmKey& key, const GcmShape& shape, uint16_t epoch, uint64_t sequence,
                      const uint8_t stamp[kStampLength], size_t plaintext_length, uint8_t* out);

// The plaintext a gateway forwards when it opens such a record: the stamp,
// then fixed ciphertext XOR key stream. Compares `plaintext` with it (the
// full check of the open direction).
bool gcm_expected_plaintext_matches(const GcmKey& key, uint16_t epoch, uint64_t sequence,
                                    std::span<const uint8_t> plaintext);

// Records sealed by the gateway (the seal direction). `record` is the whole
// record (header to tag). read_stamp decrypts the first 32 plaintext bytes
// only, without the tag (false if the record is shorter or not a DTLS 1.2
// application_data record). open_full verifies the tag and decrypts the
// whole plaintext to `plaintext` (record length - kRecordOverhead bytes).
bool gcm_read_stamp(const GcmKey& key, std::span<const uint8_t> record,
                    uint8_t stamp[kStampLength]);
bool gcm_open_full(const GcmKey& key, std::span<const uint8_t> record, uint8_t* plaintext);

}  // namespace dtlsgw::loadgen
