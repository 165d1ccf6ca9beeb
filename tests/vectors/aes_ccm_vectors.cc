// AES-128-CCM known answers, for the two CCM suites of RFC 6655 / RFC 7251.
//
// AES-128-CCM-8 (M = 8): RFC 3610 §8, the packet vectors with an 8-octet
// authentication field. RFC 3610 prints 24 of them, all with L = 2 and so
// a 13-octet nonce; #1-#6 and #13-#18 have M = 8, while #7-#12 and #19-#24
// have M = 10, a tag length no TLS suite uses, so they are not here.
//
// AES-128-CCM (M = 16): RFC 3610 has no 16-octet example, and neither does
// NIST SP 800-38C Appendix C (its examples use Tlen = 32, 48, 64 and 112
// bits). These come from NIST's CAVP CCM validation files
// (ccmtestvectors.zip), which are written for Tlen = 128: one with no
// associated data, one with 32 bytes of it, and one with the 12-byte nonce
// (L = 3) that DTLS itself forms (RFC 6655 §3).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "tests/vectors/known_answer.h"

namespace dtlsgw::record::vectors {
namespace {

[[noreturn]] void inconsistent(std::string_view name, const char* why) {
  std::fprintf(stderr, "inconsistent vector %.*s: %s\n", static_cast<int>(name.size()), name.data(),
               why);
  std::abort();
}

// One RFC 3610 packet vector, as printed:
//   =============== Packet Vector #1 ==================
//   AES Key =  C0 C1 C2 C3  C4 C5 C6 C7  C8 C9 CA CB  CC CD CE CF
//   Nonce =    00 00 00 03  02 01 00 A0  A1 A2 A3 A4  A5
//   Total packet length = 31. [Input with 8 cleartext header octets]
//              00 01 02 03  04 05 06 07  08 09 0A 0B  0C 0D 0E 0F
//              10 11 12 13  14 15 16 17  18 19 1A 1B  1C 1D 1E
//   (CBC-MAC and CTR intermediate values)
//   Total packet length = 39. [Authenticated and Encrypted Output]
//              00 01 02 03  04 05 06 07  58 8C 97 9A  61 C6 63 D2
//              F0 66 D0 C2  C0 F9 89 80  6D 5F 6B 61  DA C3 84 17
//              E8 D1 2C FD  F9 26 E0
// The cleartext header is the associated data; the output repeats it, then
// carries the ciphertext and, last, the M-octet authentication field.
struct Rfc3610PacketVector {
  std::string_view name;
  std::string_view aes_key;
  std::string_view nonce;
  size_t cleartext_header_octets;
  std::string_view input;
  std::string_view output;
};

constexpr size_t kRfc3610M = 8;

constexpr Rfc3610PacketVector kRfc3610Vectors[] = {
    // =============== Packet Vector #1 ==================
    {"PacketVector1", "C0 C1 C2 C3  C4 C5 C6 C7  C8 C9 CA CB  CC CD CE CF",
     "00 00 00 03  02 01 00 A0  A1 A2 A3 A4  A5", 8,
     // Total packet length = 31. [Input with 8 cleartext header octets]
     "00 01 02 03  04 05 06 07  08 09 0A 0B  0C 0D 0E 0F\n"
     "10 11 12 13  14 15 16 17  18 19 1A 1B  1C 1D 1E",
     // Total packet length = 39. [Authenticated and Encrypted Output]
     "00 01 02 03  04 05 06 07  58 8C 97 9A  61 C6 63 D2\n"
     "F0 66 D0 C2  C0 F9 89 80  6D 5F 6B 61  DA C3 84 17\n"
     "E8 D1 2C FD  F9 26 E0"},
    // =============== Packet Vector #2 ==================
    {"PacketVector2", "C0 C1 C2 C3  C4 C5 C6 C7  C8 C9 CA CB  CC CD CE CF",
     "00 00 00 04  03 02 01 A0  A1 A2 A3 A4  A5", 8,
     // Total packet length = 32. [Input with 8 cleartext header octets]
     "00 01 02 03  04 05 06 07  08 09 0A 0B  0C 0D 0E 0F\n"
     "10 11 12 13  14 15 16 17  18 19 1A 1B  1C 1D 1E 1F",
     // Total packet length = 40. [Authenticated and Encrypted Output]
     "00 01 02 03  04 05 06 07  72 C9 1A 36  E1 35 F8 CF\n"
     "29 1C A8 94  08 5C 87 E3  CC 15 C4 39  C9 E4 3A 3B\n"
     "A0 91 D5 6E  10 40 09 16"},
    // =============== Packet Vector #3 ==================
    {"PacketVector3", "C0 C1 C2 C3  C4 C5 C6 C7  C8 C9 CA CB  CC CD CE CF",
     "00 00 00 05  04 03 02 A0  A1 A2 A3 A4  A5", 8,
     // Total packet length = 33. [Input with 8 cleartext header octets]
     "00 01 02 03  04 05 06 07  08 09 0A 0B  0C 0D 0E 0F\n"
     "10 11 12 13  14 15 16 17  18 19 1A 1B  1C 1D 1E 1F\n"
     "20",
     // Total packet length = 41. [Authenticated and Encrypted Output]
     "00 01 02 03  04 05 06 07  51 B1 E5 F4  4A 19 7D 1D\n"
     "A4 6B 0F 8E  2D 28 2A E8  71 E8 38 BB  64 DA 85 96\n"
     "57 4A DA A7  6F BD 9F B0  C5"},
    // =============== Packet Vector #4 ==================
    {"PacketVector4", "C0 C1 C2 C3  C4 C5 C6 C7  C8 C9 CA CB  CC CD CE CF",
     "00 00 00 06  05 04 03 A0  A1 A2 A3 A4  A5", 12,
     // Total packet length = 31. [Input with 12 cleartext header octets]
     "00 01 02 03  04 05 06 07  08 09 0A 0B  0C 0D 0E 0F\n"
     "10 11 12 13  14 15 16 17  18 19 1A 1B  1C 1D 1E",
     // Total packet length = 39. [Authenticated and Encrypted Output]
     "00 01 02 03  04 05 06 07  08 09 0A 0B  A2 8C 68 65\n"
     "93 9A 9A 79  FA AA 5C 4C  2A 9D 4A 91  CD AC 8C 96\n"
     "C8 61 B9 C9  E6 1E F1"},
    // =============== Packet Vector #5 ==================
    {"PacketVector5", "C0 C1 C2 C3  C4 C5 C6 C7  C8 C9 CA CB  CC CD CE CF",
     "00 00 00 07  06 05 04 A0  A1 A2 A3 A4  A5", 12,
     // Total packet length = 32. [Input with 12 cleartext header octets]
     "00 01 02 03  04 05 06 07  08 09 0A 0B  0C 0D 0E 0F\n"
     "10 11 12 13  14 15 16 17  18 19 1A 1B  1C 1D 1E 1F",
     // Total packet length = 40. [Authenticated and Encrypted Output]
     "00 01 02 03  04 05 06 07  08 09 0A 0B  DC F1 FB 7B\n"
     "5D 9E 23 FB  9D 4E 13 12  53 65 8A D8  6E BD CA 3E\n"
     "51 E8 3F 07  7D 9C 2D 93"},
    // =============== Packet Vector #6 ==================
    {"PacketVector6", "C0 C1 C2 C3  C4 C5 C6 C7  C8 C9 CA CB  CC CD CE CF",
     "00 00 00 08  07 06 05 A0  A1 A2 A3 A4  A5", 12,
     // Total packet length = 33. [Input with 12 cleartext header octets]
     "00 01 02 03  04 05 06 07  08 09 0A 0B  0C 0D 0E 0F\n"
     "10 11 12 13  14 15 16 17  18 19 1A 1B  1C 1D 1E 1F\n"
     "20",
     // Total packet length = 41. [Authenticated and Encrypted Output]
     "00 01 02 03  04 05 06 07  08 09 0A 0B  6F C1 B0 11\n"
     "F0 06 56 8B  51 71 A4 2D  95 3D 46 9B  25 70 A4 BD\n"
     "87 40 5A 04  43 AC 91 CB  94"},
    // =============== Packet Vector #13 ==================
    {"PacketVector13", "D7 82 8D 13  B2 B0 BD C3  25 A7 62 36  DF 93 CC 6B",
     "00 41 2B 4E  A9 CD BE 3C  96 96 76 6C  FA", 8,
     // Total packet length = 31. [Input with 8 cleartext header octets]
     "0B E1 A8 8B  AC E0 18 B1  08 E8 CF 97  D8 20 EA 25\n"
     "84 60 E9 6A  D9 CF 52 89  05 4D 89 5C  EA C4 7C",
     // Total packet length = 39. [Authenticated and Encrypted Output]
     "0B E1 A8 8B  AC E0 18 B1  4C B9 7F 86  A2 A4 68 9A\n"
     "87 79 47 AB  80 91 EF 53  86 A6 FF BD  D0 80 F8 E7\n"
     "8C F7 CB 0C  DD D7 B3"},
    // =============== Packet Vector #14 ==================
    {"PacketVector14", "D7 82 8D 13  B2 B0 BD C3  25 A7 62 36  DF 93 CC 6B",
     "00 33 56 8E  F7 B2 63 3C  96 96 76 6C  FA", 8,
     // Total packet length = 32. [Input with 8 cleartext header octets]
     "63 01 8F 76  DC 8A 1B CB  90 20 EA 6F  91 BD D8 5A\n"
     "FA 00 39 BA  4B AF F9 BF  B7 9C 70 28  94 9C D0 EC",
     // Total packet length = 40. [Authenticated and Encrypted Output]
     "63 01 8F 76  DC 8A 1B CB  4C CB 1E 7C  A9 81 BE FA\n"
     "A0 72 6C 55  D3 78 06 12  98 C8 5C 92  81 4A BC 33\n"
     "C5 2E E8 1D  7D 77 C0 8A"},
    // =============== Packet Vector #15 ==================
    {"PacketVector15", "D7 82 8D 13  B2 B0 BD C3  25 A7 62 36  DF 93 CC 6B",
     "00 10 3F E4  13 36 71 3C  96 96 76 6C  FA", 8,
     // Total packet length = 33. [Input with 8 cleartext header octets]
     "AA 6C FA 36  CA E8 6B 40  B9 16 E0 EA  CC 1C 00 D7\n"
     "DC EC 68 EC  0B 3B BB 1A  02 DE 8A 2D  1A A3 46 13\n"
     "2E",
     // Total packet length = 41. [Authenticated and Encrypted Output]
     "AA 6C FA 36  CA E8 6B 40  B1 D2 3A 22  20 DD C0 AC\n"
     "90 0D 9A A0  3C 61 FC F4  A5 59 A4 41  77 67 08 97\n"
     "08 A7 76 79  6E DB 72 35  06"},
    // =============== Packet Vector #16 ==================
    {"PacketVector16", "D7 82 8D 13  B2 B0 BD C3  25 A7 62 36  DF 93 CC 6B",
     "00 76 4C 63  B8 05 8E 3C  96 96 76 6C  FA", 12,
     // Total packet length = 31. [Input with 12 cleartext header octets]
     "D0 D0 73 5C  53 1E 1B EC  F0 49 C2 44  12 DA AC 56\n"
     "30 EF A5 39  6F 77 0C E1  A6 6B 21 F7  B2 10 1C",
     // Total packet length = 39. [Authenticated and Encrypted Output]
     "D0 D0 73 5C  53 1E 1B EC  F0 49 C2 44  14 D2 53 C3\n"
     "96 7B 70 60  9B 7C BB 7C  49 91 60 28  32 45 26 9A\n"
     "6F 49 97 5B  CA DE AF"},
    // =============== Packet Vector #17 ==================
    {"PacketVector17", "D7 82 8D 13  B2 B0 BD C3  25 A7 62 36  DF 93 CC 6B",
     "00 F8 B6 78  09 4E 3B 3C  96 96 76 6C  FA", 12,
     // Total packet length = 32. [Input with 12 cleartext header octets]
     "77 B6 0F 01  1C 03 E1 52  58 99 BC AE  E8 8B 6A 46\n"
     "C7 8D 63 E5  2E B8 C5 46  EF B5 DE 6F  75 E9 CC 0D",
     // Total packet length = 40. [Authenticated and Encrypted Output]
     "77 B6 0F 01  1C 03 E1 52  58 99 BC AE  55 45 FF 1A\n"
     "08 5E E2 EF  BF 52 B2 E0  4B EE 1E 23  36 C7 3E 3F\n"
     "76 2C 0C 77  44 FE 7E 3C"},
    // =============== Packet Vector #18 ==================
    {"PacketVector18", "D7 82 8D 13  B2 B0 BD C3  25 A7 62 36  DF 93 CC 6B",
     "00 D5 60 91  2D 3F 70 3C  96 96 76 6C  FA", 12,
     // Total packet length = 33. [Input with 12 cleartext header octets]
     "CD 90 44 D2  B7 1F DB 81  20 EA 60 C0  64 35 AC BA\n"
     "FB 11 A8 2E  2F 07 1D 7C  A4 A5 EB D9  3A 80 3B A8\n"
     "7F",
     // Total packet length = 41. [Authenticated and Encrypted Output]
     "CD 90 44 D2  B7 1F DB 81  20 EA 60 C0  00 97 69 EC\n"
     "AB DF 48 62  55 94 C5 92  51 E6 03 57  22 67 5E 04\n"
     "C8 47 09 9E  5A E0 70 45  51"},
};

KnownAnswer decode(const Rfc3610PacketVector& pv) {
  const Bytes input = from_hex(pv.input);
  const Bytes output = from_hex(pv.output);
  const size_t h = pv.cleartext_header_octets;
  if (input.size() < h || output.size() != input.size() + kRfc3610M) {
    inconsistent(pv.name, "packet lengths do not fit M = 8");
  }
  if (!std::equal(input.begin(), input.begin() + static_cast<long>(h), output.begin())) {
    inconsistent(pv.name, "the output does not repeat the cleartext header");
  }
  const auto hl = static_cast<long>(h);
  const auto tag_at = output.end() - static_cast<long>(kRfc3610M);
  return KnownAnswer{
      .name = std::string(pv.name),
      .aead = Aead::aes128_ccm8,
      .key = from_hex(pv.aes_key),
      .nonce = from_hex(pv.nonce),
      .aad = Bytes(input.begin(), input.begin() + hl),
      .plaintext = Bytes(input.begin() + hl, input.end()),
      .ciphertext = Bytes(output.begin() + hl, tag_at),
      .tag = Bytes(tag_at, output.end()),
  };
}

// One NIST CAVP CCM record, as the .rsp files print it: the lengths in
// bytes, then Key, Nonce, Adata, Payload and CT, where CT is the ciphertext
// followed by the Tlen-byte tag. With Alen = 0 the files still print
// "Adata = 00"; only the first Alen bytes count.
struct CavpCcmRecord {
  std::string_view name;
  size_t alen, plen, nlen, tlen;
  std::string_view key, nonce, adata, payload, ct;
};

constexpr CavpCcmRecord kCavpRecords[] = {
    // VADT128.rsp ("CCM-VADT", AES Keylen: 128): Plen = 24, Nlen = 13,
    // Tlen = 16; [Alen = 0], Count = 0.
    {"Vadt128Alen0Count0", 0, 24, 13, 16,
     /*Key     =*/"d24a3d3dde8c84830280cb87abad0bb3",
     /*Nonce   =*/"f1100035bb24a8d26004e0e24b",
     /*Adata   =*/"00",
     /*Payload =*/"7c86135ed9c2a515aaae0e9a208133897269220f30870006",
     /*CT      =*/
     "1faeb0ee2ca2cd52f0aa3966578344f24e69b742c4ab37ab1123301219c70599b7c373ad4b3ad67b"},
    // VADT128.rsp: Plen = 24, Nlen = 13, Tlen = 16; [Alen = 32].
    {"Vadt128Alen32", 32, 24, 13, 16,
     /*Key     =*/"5a33980e71e7d67fd6cf171454dc96e5",
     /*Nonce   =*/"33ae68ebb8010c6b3da6b9cb29",
     /*Adata   =*/"eca622a37570df619e10ebb18bebadb2f2b49c4d2b2ff715873bb672e30fc0ff",
     /*Payload =*/"a34dfa24847c365291ce1b54bcf8d9a75d861e5133cc3a74",
     /*CT      =*/
     "7a60fa7ee8859e283cce378fb6b95522ab8b70efcdb0265f7c4b4fa597666b86dd1353e400f28864"},
    // VNT128.rsp ("CCM-VNT", AES Keylen: 128): Alen = 32, Plen = 24,
    // Tlen = 16; [Nlen = 12], Count = 50.
    {"Vnt128Nlen12Count50", 32, 24, 12, 16,
     /*Key     =*/"005e8f4d8e0cbf4e1ceeb5d87a275848",
     /*Nonce   =*/"0ec3ac452b547b9062aac8fa",
     /*Adata   =*/"2f1821aa57e5278ffd33c17d46615b77363149dbc98470413f6543a6b749f2ca",
     /*Payload =*/"b6f345204526439daf84998f380dcfb4b4167c959c04ff65",
     /*CT      =*/
     "9575e16f35da3c88a19c26a7b762044f4d7bbbafeff05d754829e2a7752fa3a14890972884b511d8"},
};

KnownAnswer decode(const CavpCcmRecord& r) {
  const Bytes key = from_hex(r.key);
  const Bytes nonce = from_hex(r.nonce);
  Bytes adata = from_hex(r.adata);
  const Bytes payload = from_hex(r.payload);
  const Bytes ct = from_hex(r.ct);
  if (adata.size() < r.alen || payload.size() != r.plen || nonce.size() != r.nlen ||
      ct.size() != r.plen + r.tlen) {
    inconsistent(r.name, "lengths do not match the record's Alen/Plen/Nlen/Tlen");
  }
  adata.resize(r.alen);
  const auto tag_at = ct.begin() + static_cast<long>(r.plen);
  return KnownAnswer{
      .name = std::string(r.name),
      .aead = r.tlen == 16 ? Aead::aes128_ccm : Aead::aes128_ccm8,
      .key = key,
      .nonce = nonce,
      .aad = adata,
      .plaintext = payload,
      .ciphertext = Bytes(ct.begin(), tag_at),
      .tag = Bytes(tag_at, ct.end()),
  };
}

}  // namespace

const std::vector<KnownAnswer>& rfc3610_packet_vectors() {
  static const std::vector<KnownAnswer> kVectors = [] {
    std::vector<KnownAnswer> v;
    for (const auto& pv : kRfc3610Vectors) {
      v.push_back(decode(pv));
    }
    return v;
  }();
  return kVectors;
}

const std::vector<KnownAnswer>& nist_cavp_ccm_vectors() {
  static const std::vector<KnownAnswer> kVectors = [] {
    std::vector<KnownAnswer> v;
    for (const auto& r : kCavpRecords) {
      v.push_back(decode(r));
    }
    return v;
  }();
  return kVectors;
}

INSTANTIATE_TEST_SUITE_P(Rfc3610Section8, PublishedVector,
                         ::testing::ValuesIn(rfc3610_packet_vectors()), VectorName());
INSTANTIATE_TEST_SUITE_P(NistCavpCcm, PublishedVector, ::testing::ValuesIn(nist_cavp_ccm_vectors()),
                         VectorName());

}  // namespace dtlsgw::record::vectors
