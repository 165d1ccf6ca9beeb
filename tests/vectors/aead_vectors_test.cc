// The checks every published AEAD vector goes through, and one burst that
// runs all of them at once. The vectors themselves, with the lines of the
// documents they come from, are in aes_gcm_vectors.cc,
// chacha20_poly1305_vectors.cc and aes_ccm_vectors.cc; each instantiates
// these tests under the name of the section it checks, e.g.
// Rfc3610Section8/PublishedVector.SealGivesThePublishedCiphertextAndTag/PacketVector1.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "tests/vectors/known_answer.h"

namespace dtlsgw::record::vectors {
namespace {

// Sealing the published plaintext gives the published ciphertext and tag.
TEST_P(PublishedVector, SealGivesThePublishedCiphertextAndTag) {
  const KnownAnswer& v = GetParam();
  const EngineOutput out = run_one(*ctx_, *cipher_, /*encrypt=*/true, v, v.plaintext, v.aad);
  ASSERT_FALSE(out.engine_failed);
  EXPECT_EQ(to_hex(out.data), to_hex(v.ciphertext));
  EXPECT_EQ(to_hex(out.tag), to_hex(v.tag));
}

// Opening the published ciphertext gives the published plaintext, and the
// tag the engine computes is the published one (the record layer compares
// the two in constant time; here they are compared as hex for the message).
TEST_P(PublishedVector, OpenGivesThePublishedPlaintextAndTag) {
  const KnownAnswer& v = GetParam();
  const EngineOutput out = run_one(*ctx_, *cipher_, /*encrypt=*/false, v, v.ciphertext, v.aad);
  ASSERT_FALSE(out.engine_failed);
  EXPECT_EQ(to_hex(out.data), to_hex(v.plaintext));
  EXPECT_EQ(to_hex(out.tag), to_hex(v.tag));
}

// A ciphertext with one flipped bit, in any byte, opens to a tag that is
// not the published one: the record layer would refuse it.
TEST_P(PublishedVector, EveryFlippedCiphertextByteChangesTheComputedTag) {
  const KnownAnswer& v = GetParam();
  ASSERT_FALSE(v.ciphertext.empty()) << "nothing to tamper with";
  for (size_t i = 0; i < v.ciphertext.size(); ++i) {
    Bytes tampered = v.ciphertext;
    tampered[i] ^= static_cast<uint8_t>(1u << (i % 8));
    const EngineOutput out = run_one(*ctx_, *cipher_, /*encrypt=*/false, v, tampered, v.aad);
    ASSERT_FALSE(out.engine_failed) << "byte " << i;
    EXPECT_NE(to_hex(out.tag), to_hex(v.tag)) << "flipped ciphertext byte " << i;
  }
}

// The same for the additional data, which for a DTLS record is the
// sequence number, type, version and length.
TEST_P(PublishedVector, EveryFlippedAadByteChangesTheComputedTag) {
  const KnownAnswer& v = GetParam();
  if (v.aad.empty()) {
    GTEST_SKIP() << v.name << " has no additional data";
  }
  for (size_t i = 0; i < v.aad.size(); ++i) {
    Bytes tampered = v.aad;
    tampered[i] ^= static_cast<uint8_t>(0x80u >> (i % 8));
    const EngineOutput out = run_one(*ctx_, *cipher_, /*encrypt=*/false, v, v.ciphertext, tampered);
    ASSERT_FALSE(out.engine_failed) << "byte " << i;
    EXPECT_NE(to_hex(out.tag), to_hex(v.tag)) << "flipped AAD byte " << i;
  }
}

// Every vector of every document in one CryptoContext::run(): direct GCM
// and ChaCha20-Poly1305 calls next to CCM and CCM-8 jobs of both tag
// lengths in one IPsec-MB burst, seals and opens interleaved. Then the
// directions swap. Each op must still get its own published answer, which
// it would not if the burst path mixed up jobs, keys, nonces or tag
// lengths.
TEST(PublishedVectorBurst, AllVectorsInOneRunInterleavingSealAndOpen) {
  std::vector<KnownAnswer> all;
  for (const auto* table : {&gcm_spec_vectors(), &rfc8439_section_2_8_2(), &rfc8439_appendix_a_5(),
                            &rfc3610_packet_vectors(), &nist_cavp_ccm_vectors()}) {
    all.insert(all.end(), table->begin(), table->end());
  }
  ASSERT_LE(all.size(), kMaxBurst);
  auto ctx = CryptoContext::create();
  ASSERT_NE(ctx, nullptr);
  std::vector<std::unique_ptr<RecordCipher>> ciphers;
  for (const KnownAnswer& v : all) {
    ciphers.push_back(keyed_cipher(*ctx, v));
    ASSERT_NE(ciphers.back(), nullptr);
  }

  for (int pass = 0; pass < 2; ++pass) {
    std::vector<Bytes> buffers;
    std::vector<bool> sealing;
    buffers.reserve(all.size());
    for (size_t i = 0; i < all.size(); ++i) {
      sealing.push_back((i + static_cast<size_t>(pass)) % 2 == 0);
      buffers.push_back(sealing[i] ? all[i].plaintext : all[i].ciphertext);
      fill_op(ctx->ops()[i], *ciphers[i], sealing[i], all[i], all[i].aad, buffers[i]);
    }
    ctx->run(all.size());
    for (size_t i = 0; i < all.size(); ++i) {
      const KnownAnswer& v = all[i];
      const AeadOp& op = ctx->ops()[i];
      const char* what = sealing[i] ? "seal" : "open";
      ASSERT_FALSE(op.engine_failed) << v.name << " " << what;
      const Bytes tag(op.tag, op.tag + ciphers[i]->params().tag_length);
      EXPECT_EQ(to_hex(buffers[i]), to_hex(sealing[i] ? v.ciphertext : v.plaintext))
          << v.name << " " << what << " (pass " << pass << ")";
      EXPECT_EQ(to_hex(tag), to_hex(v.tag)) << v.name << " " << what << " (pass " << pass << ")";
    }
  }
}

}  // namespace
}  // namespace dtlsgw::record::vectors
