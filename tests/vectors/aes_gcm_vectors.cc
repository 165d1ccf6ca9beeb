// AES-GCM known answers: the AES test vectors of D. McGrew and J. Viega,
// "The Galois/Counter Mode of Operation (GCM)", the specification submitted
// to NIST (gcm-spec.pdf, and its revision), which RFC 5288 cites for the
// TLS/DTLS GCM suites. DTLS 1.2 uses 96-bit nonces (RFC 5288 §3: "salt"
// ‖ "nonce_explicit"), so these are the 96-bit-IV cases: Test Cases 2, 3
// and 4 for AES-128 and 14, 15 and 16 for AES-256. (Cases 1 and 13 have an
// empty plaintext; 5, 6, 17 and 18 use 64- and 480-bit IVs that DTLS never
// forms.)
//
// Each field is laid out as the document prints it:
//   K   the key            P   the plaintext
//   A   the additional authenticated data
//   IV  the 96-bit IV      C   the ciphertext     T   the tag
#include <string_view>
#include <vector>

#include "tests/vectors/known_answer.h"

namespace dtlsgw::record::vectors {
namespace {

struct GcmTestCase {
  std::string_view name;
  Aead aead;
  std::string_view k, p, a, iv, c, t;
};

// "Test Case 2"
constexpr GcmTestCase kTestCase2 = {
    "TestCase2",
    Aead::aes128_gcm,
    /*K */ "00000000000000000000000000000000",
    /*P */ "00000000000000000000000000000000",
    /*A */ "",
    /*IV*/ "000000000000000000000000",
    /*C */ "0388dace60b6a392f328c2b971b2fe78",
    /*T */ "ab6e47d42cec13bdf53a67b21257bddf",
};

// "Test Case 3"
constexpr GcmTestCase kTestCase3 = {
    "TestCase3",
    Aead::aes128_gcm,
    /*K */ "feffe9928665731c6d6a8f9467308308",
    /*P */
    "d9313225f88406e5a55909c5aff5269a\n"
    "86a7a9531534f7da2e4c303d8a318a72\n"
    "1c3c0c95956809532fcf0e2449a6b525\n"
    "b16aedf5aa0de657ba637b391aafd255",
    /*A */ "",
    /*IV*/ "cafebabefacedbaddecaf888",
    /*C */
    "42831ec2217774244b7221b784d0d49c\n"
    "e3aa212f2c02a4e035c17e2329aca12e\n"
    "21d514b25466931c7d8f6a5aac84aa05\n"
    "1ba30b396a0aac973d58e091473f5985",
    /*T */ "4d5c2af327cd64a62cf35abd2ba6fab4",
};

// "Test Case 4": Test Case 3's key and IV, the plaintext cut to 60 bytes,
// and 20 bytes of additional data.
constexpr GcmTestCase kTestCase4 = {
    "TestCase4",
    Aead::aes128_gcm,
    /*K */ "feffe9928665731c6d6a8f9467308308",
    /*P */
    "d9313225f88406e5a55909c5aff5269a\n"
    "86a7a9531534f7da2e4c303d8a318a72\n"
    "1c3c0c95956809532fcf0e2449a6b525\n"
    "b16aedf5aa0de657ba637b39",
    /*A */
    "feedfacedeadbeeffeedfacedeadbeef\n"
    "abaddad2",
    /*IV*/ "cafebabefacedbaddecaf888",
    /*C */
    "42831ec2217774244b7221b784d0d49c\n"
    "e3aa212f2c02a4e035c17e2329aca12e\n"
    "21d514b25466931c7d8f6a5aac84aa05\n"
    "1ba30b396a0aac973d58e091",
    /*T */ "5bc94fbc3221a5db94fae95ae7121a47",
};

// "Test Case 14"
constexpr GcmTestCase kTestCase14 = {
    "TestCase14",
    Aead::aes256_gcm,
    /*K */
    "00000000000000000000000000000000\n"
    "00000000000000000000000000000000",
    /*P */ "00000000000000000000000000000000",
    /*A */ "",
    /*IV*/ "000000000000000000000000",
    /*C */ "cea7403d4d606b6e074ec5d3baf39d18",
    /*T */ "d0d1c8a799996bf0265b98b5d48ab919",
};

// "Test Case 15"
constexpr GcmTestCase kTestCase15 = {
    "TestCase15",
    Aead::aes256_gcm,
    /*K */
    "feffe9928665731c6d6a8f9467308308\n"
    "feffe9928665731c6d6a8f9467308308",
    /*P */
    "d9313225f88406e5a55909c5aff5269a\n"
    "86a7a9531534f7da2e4c303d8a318a72\n"
    "1c3c0c95956809532fcf0e2449a6b525\n"
    "b16aedf5aa0de657ba637b391aafd255",
    /*A */ "",
    /*IV*/ "cafebabefacedbaddecaf888",
    /*C */
    "522dc1f099567d07f47f37a32a84427d\n"
    "643a8cdcbfe5c0c97598a2bd2555d1aa\n"
    "8cb08e48590dbb3da7b08b1056828838\n"
    "c5f61e6393ba7a0abcc9f662898015ad",
    /*T */ "b094dac5d93471bdec1a502270e3cc6c",
};

// "Test Case 16": Test Case 15's key and IV, 60 bytes of plaintext and 20
// of additional data, as in Test Case 4.
constexpr GcmTestCase kTestCase16 = {
    "TestCase16",
    Aead::aes256_gcm,
    /*K */
    "feffe9928665731c6d6a8f9467308308\n"
    "feffe9928665731c6d6a8f9467308308",
    /*P */
    "d9313225f88406e5a55909c5aff5269a\n"
    "86a7a9531534f7da2e4c303d8a318a72\n"
    "1c3c0c95956809532fcf0e2449a6b525\n"
    "b16aedf5aa0de657ba637b39",
    /*A */
    "feedfacedeadbeeffeedfacedeadbeef\n"
    "abaddad2",
    /*IV*/ "cafebabefacedbaddecaf888",
    /*C */
    "522dc1f099567d07f47f37a32a84427d\n"
    "643a8cdcbfe5c0c97598a2bd2555d1aa\n"
    "8cb08e48590dbb3da7b08b1056828838\n"
    "c5f61e6393ba7a0abcc9f662",
    /*T */ "76fc6ece0f4e1768cddf8853bb2d551b",
};

KnownAnswer decode(const GcmTestCase& tc) {
  return KnownAnswer{
      .name = std::string(tc.name),
      .aead = tc.aead,
      .key = from_hex(tc.k),
      .nonce = from_hex(tc.iv),
      .aad = from_hex(tc.a),
      .plaintext = from_hex(tc.p),
      .ciphertext = from_hex(tc.c),
      .tag = from_hex(tc.t),
  };
}

}  // namespace

const std::vector<KnownAnswer>& gcm_spec_vectors() {
  static const std::vector<KnownAnswer> kVectors = {
      decode(kTestCase2),  decode(kTestCase3),  decode(kTestCase4),
      decode(kTestCase14), decode(kTestCase15), decode(kTestCase16),
  };
  return kVectors;
}

INSTANTIATE_TEST_SUITE_P(McGrewViegaGcmSpec, PublishedVector,
                         ::testing::ValuesIn(gcm_spec_vectors()), VectorName());

}  // namespace dtlsgw::record::vectors
