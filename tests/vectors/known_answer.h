// Published known-answer vectors, run through dtlsgw's own engine layer:
// RecordCipher::init() expands the vector's key exactly as it does for a
// session key, one AeadOp carries the vector's nonce and AAD, and
// CryptoContext::run() does the work through the engine the suite
// dispatches to (IPsec-MB direct GCM, direct ChaCha20-Poly1305, or CCM jobs
// submitted as a burst).
//
// The data lives in one file per document (aes_gcm_vectors.cc,
// chacha20_poly1305_vectors.cc, aes_ccm_vectors.cc), each instantiating the
// checks of aead_vectors_test.cc under the name of the section it quotes.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "dtls_record/aead_suite.h"
#include "dtls_record/crypto_context.h"
#include "dtls_record/record_cipher.h"

namespace dtlsgw::record::vectors {

using Bytes = std::vector<uint8_t>;

// Reads hex the way the documents print it: digit pairs, upper or lower
// case, optionally separated by spaces, newlines or colons ("C0 C1  C2",
// "1a:e1:0b", "feffe992..."). Anything else, or an odd digit count, aborts
// the program: a mistyped vector must never turn into a passing test.
Bytes from_hex(std::string_view text);
std::string to_hex(const Bytes& bytes);

// One vector, decoded.
struct KnownAnswer {
  std::string name;  // the gtest parameter name, e.g. "PacketVector1"
  Aead aead = Aead::aes128_gcm;
  Bytes key;
  Bytes nonce;
  Bytes aad;
  Bytes plaintext;
  Bytes ciphertext;
  Bytes tag;
};

// gtest prints parameters of failing tests; keep it to the name.
inline void PrintTo(const KnownAnswer& v, std::ostream* os) { *os << v.name; }

// The tables, defined next to their sources (and used together by the
// burst test).
const std::vector<KnownAnswer>& gcm_spec_vectors();        // aes_gcm_vectors.cc
const std::vector<KnownAnswer>& rfc8439_section_2_8_2();   // chacha20_poly1305_vectors.cc
const std::vector<KnownAnswer>& rfc8439_appendix_a_5();    // chacha20_poly1305_vectors.cc
const std::vector<KnownAnswer>& rfc3610_packet_vectors();  // aes_ccm_vectors.cc
const std::vector<KnownAnswer>& nist_cavp_ccm_vectors();   // aes_ccm_vectors.cc

// A RecordCipher holding the vector's key. The suite's fixed IV is required
// by init() but unused here: every op carries the vector's full nonce.
// Returns nullptr (after a gtest failure) if init() refuses the key.
std::unique_ptr<RecordCipher> keyed_cipher(CryptoContext& ctx, const KnownAnswer& v);

// Fills `op` to seal (`encrypt`) or open `buffer` in place under the
// vector's nonce and `aad`. `buffer` and `aad` must outlive the run.
void fill_op(AeadOp& op, const RecordCipher& cipher, bool encrypt, const KnownAnswer& v,
             const Bytes& aad, Bytes& buffer);

// What one op left behind.
struct EngineOutput {
  bool engine_failed = true;
  Bytes data;  // the buffer after the engine, `length` bytes
  Bytes tag;   // the tag it wrote (seal) or computed (open)
};

// Runs one op through ctx.ops()[0] and ctx.run(1). The buffer is padded
// with guard bytes the engine must not touch; a failed guard is reported
// as a gtest failure.
EngineOutput run_one(CryptoContext& ctx, const RecordCipher& cipher, bool encrypt,
                     const KnownAnswer& v, const Bytes& input, const Bytes& aad);

// gtest parameter names: the vector's own name.
struct VectorName {
  std::string operator()(const ::testing::TestParamInfo<KnownAnswer>& info) const {
    return info.param.name;
  }
};

// The checks every published vector goes through (aead_vectors_test.cc).
class PublishedVector : public ::testing::TestWithParam<KnownAnswer> {
 protected:
  void SetUp() override;
  std::unique_ptr<CryptoContext> ctx_;
  std::unique_ptr<RecordCipher> cipher_;
};

}  // namespace dtlsgw::record::vectors
