// The mixed-format bursts of record_dispatch.h (issue 9: "the burst API and
// the single-record API cover every new format with the same result enum").
#include "dtls_record/record_dispatch.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "dtls_record/dtls13_header.h"
#include "dtls_record/hkdf_label.h"
#include "dtls_record/record_walker.h"

namespace dtlsgw::record {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes pattern(size_t n, uint8_t seed) {
  Bytes v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed * 7 + i);
  return v;
}

// One key of each format, both directions, AES-128-GCM.
struct ThreeFormats {
  std::unique_ptr<CryptoContext> ctx = CryptoContext::create();
  WriteEpoch w12;
  ReadEpoch r12;
  CidWriteEpoch wcid;
  CidReadEpoch rcid;
  Dtls13WriteEpoch w13;
  Dtls13ReadEpoch r13;
  Bytes cid = {0xc0, 0xff, 0xee, 7};

  bool install() {
    const Aead aead = Aead::aes128_gcm;
    const Bytes key = pattern(16, 1), iv = pattern(4, 2);
    const auto suite = dtls13_suite(0x1301);  // TLS_AES_128_GCM_SHA256
    const Bytes secret = pattern(32, 3);
    return ctx && suite && w12.install(*ctx, Epoch{1}, aead, key, iv) &&
           r12.install(*ctx, Epoch{1}, aead, key, iv) &&
           wcid.install(*ctx, Epoch{1}, aead, key, iv, cid) &&
           rcid.install(*ctx, Epoch{1}, aead, key, iv, cid) &&
           w13.install_secret(*ctx, Epoch{3}, *suite, secret, cid) &&
           r13.install_secret(*ctx, Epoch{3}, *suite, secret, cid);
  }
};

// A buffer with the plaintext placed for `prefix`, and room for `suffix`.
Bytes placed(const Bytes& plaintext, size_t prefix, size_t suffix) {
  Bytes b(prefix + plaintext.size() + suffix);
  std::copy(plaintext.begin(), plaintext.end(), b.begin() + static_cast<long>(prefix));
  return b;
}

TEST(RecordDispatch, FormatIsTheKeys) {
  EXPECT_EQ(ReadEpoch::kFormat, RecordFormat::dtls12);
  EXPECT_EQ(CidReadEpoch::kFormat, RecordFormat::dtls12_cid);
  EXPECT_EQ(Dtls13ReadEpoch::kFormat, RecordFormat::dtls13);
  EXPECT_EQ(to_string(OpenResult::too_short_to_mask), "too_short_to_mask");
  EXPECT_EQ(to_string(OpenResult::unknown_connection_id), "unknown_connection_id");
  EXPECT_EQ(to_string(OpenResult::no_content_type), "no_content_type");
  EXPECT_EQ(static_cast<size_t>(OpenResult::no_content_type) + 1, kOpenResultCount);
}

// Seals one record of each format in one mixed burst, then opens them in
// one mixed burst, twice over (the second time: replays).
TEST(RecordDispatch, MixedBurstSealsAndOpensEveryFormat) {
  ThreeFormats k;
  ASSERT_TRUE(k.install());
  const Bytes m12 = pattern(40, 4), mcid = pattern(41, 5), m13 = pattern(42, 6);
  Bytes b12 = placed(m12, k.w12.seal_prefix(), k.w12.tag_length());
  Bytes bcid = placed(mcid, k.wcid.seal_prefix(), k.wcid.seal_suffix(mcid.size()));
  Bytes b13 = placed(m13, k.w13.seal_prefix(), k.w13.seal_suffix(m13.size()));
  std::vector<AnySealRequest> seals = {
      AnySealRequest(k.w12, ContentType::application_data, b12, m12.size()),
      AnySealRequest(k.wcid, ContentType::application_data, bcid, mcid.size()),
      AnySealRequest(k.w13, ContentType::alert, b13, m13.size()),
  };
  ASSERT_EQ(seal_records(*k.ctx, seals), 3u);
  EXPECT_EQ(seals[0].format(), RecordFormat::dtls12);
  EXPECT_EQ(seals[2].number(), RecordNumber(Epoch{3}, 0));
  b12.resize(seals[0].record_length());
  bcid.resize(seals[1].record_length());
  b13.resize(seals[2].record_length());

  for (int pass = 0; pass < 2; ++pass) {
    Bytes c12 = b12, ccid = bcid, c13 = b13;
    RecordView v12;
    RecordWalker walker(c12);
    ASSERT_TRUE(walker.next(v12));
    CidRecordView vcid;
    ASSERT_EQ(parse_cid_record(ccid, k.cid.size(), vcid), HeaderResult::ok);
    Dtls13RecordView v13;
    ASSERT_EQ(parse_unified_header(c13, k.cid.size(), v13), Dtls13HeaderResult::ok);
    std::vector<AnyOpenRequest> opens = {
        AnyOpenRequest(k.r13, v13),
        AnyOpenRequest(k.r12, v12),
        AnyOpenRequest(k.rcid, vcid),
    };
    if (pass == 0) {
      ASSERT_EQ(open_records(*k.ctx, opens), 3u);
      EXPECT_EQ(opens[0].type(), ContentType::alert);
      EXPECT_EQ(opens[0].number(), RecordNumber(Epoch{3}, 0));
      EXPECT_EQ(Bytes(opens[0].plaintext().begin(), opens[0].plaintext().end()), m13);
      EXPECT_EQ(Bytes(opens[1].plaintext().begin(), opens[1].plaintext().end()), m12);
      EXPECT_EQ(Bytes(opens[2].plaintext().begin(), opens[2].plaintext().end()), mcid);
      EXPECT_EQ(opens[2].format(), RecordFormat::dtls12_cid);
    } else {
      EXPECT_EQ(open_records(*k.ctx, opens), 0u);
      for (const AnyOpenRequest& r : opens) {
        EXPECT_EQ(r.result(), OpenResult::replay) << to_string(r.format());
      }
    }
  }
}

// The same result enum for every format's refusals, through one entry point.
TEST(RecordDispatch, RefusalsShareOneResultEnum) {
  ThreeFormats k;
  ASSERT_TRUE(k.install());
  // RFC 9147 §4.2.3: under 16 bytes of ciphertext cannot be unmasked.
  Bytes short13 = {static_cast<uint8_t>(kUnifiedFixedBits | kUnifiedCidBit | kUnifiedSequence16Bit |
                                        kUnifiedLengthBit | 3)};  // epoch 3
  short13.insert(short13.end(), k.cid.begin(), k.cid.end());
  const Bytes tail = {0, 1, 0, 15};  // sequence 1, length 15
  short13.insert(short13.end(), tail.begin(), tail.end());
  short13.resize(short13.size() + 15, 0xaa);
  Dtls13RecordView v13;
  ASSERT_EQ(parse_unified_header(short13, k.cid.size(), v13), Dtls13HeaderResult::ok);
  AnyOpenRequest r13(k.r13, v13);
  EXPECT_EQ(open_any_record(*k.ctx, r13), OpenResult::too_short_to_mask);

  // A CID record carrying another CID.
  const Bytes m = pattern(20, 8);
  Bytes b = placed(m, k.wcid.seal_prefix(), k.wcid.seal_suffix(m.size()));
  AnySealRequest s(k.wcid, ContentType::application_data, b, m.size());
  ASSERT_EQ(seal_any_record(*k.ctx, s), SealResult::ok);
  b.resize(s.record_length());
  b[11] ^= 0x40;  // the first CID byte
  CidRecordView vcid;
  ASSERT_EQ(parse_cid_record(b, k.cid.size(), vcid), HeaderResult::ok);
  AnyOpenRequest rcid(k.rcid, vcid);
  EXPECT_EQ(open_any_record(*k.ctx, rcid), OpenResult::unknown_connection_id);
  b[11] ^= 0x40;
  b[b.size() - 1] ^= 0x01;  // the tag
  AnyOpenRequest forged(k.rcid, vcid);
  EXPECT_EQ(open_any_record(*k.ctx, forged), OpenResult::auth_failed);
  EXPECT_EQ(k.rcid.forgeries(), 1u);
}

// seal_dtls13_burst seals exactly what one seal_dtls13_record after
// another does.
TEST(Dtls13SealBurst, SameBytesAsSingleSeals) {
  const auto suite = dtls13_suite(0x1303);  // TLS_CHACHA20_POLY1305_SHA256
  ASSERT_TRUE(suite);
  auto ctx = CryptoContext::create();
  ASSERT_NE(ctx, nullptr);
  const Bytes secret = pattern(32, 9);
  Dtls13WriteEpoch a, b;
  ASSERT_TRUE(a.install_secret(*ctx, Epoch{2}, *suite, secret, {}, {}, 5));
  ASSERT_TRUE(b.install_secret(*ctx, Epoch{2}, *suite, secret, {}, {}, 5));
  constexpr size_t kRecords = 70;  // more than one kMaxBurst chunk
  std::vector<Bytes> burst_buffers, single_buffers;
  std::vector<Dtls13SealRequest> reqs(kRecords);
  for (size_t i = 0; i < kRecords; ++i) {
    const Bytes m = pattern(1 + i * 3, static_cast<uint8_t>(i));
    burst_buffers.push_back(placed(m, a.seal_prefix(), a.seal_suffix(m.size())));
    single_buffers.push_back(burst_buffers.back());
  }
  for (size_t i = 0; i < kRecords; ++i) {
    reqs[i].epoch = &a;
    reqs[i].buffer = burst_buffers[i];
    reqs[i].plaintext_length = 1 + i * 3;
  }
  ASSERT_EQ(seal_dtls13_burst(*ctx, reqs), kRecords);
  for (size_t i = 0; i < kRecords; ++i) {
    size_t length = 0;
    RecordNumber n;
    ASSERT_EQ(seal_dtls13_record(*ctx, b, ContentType::application_data, single_buffers[i],
                                 1 + i * 3, length, &n),
              SealResult::ok);
    EXPECT_EQ(n, reqs[i].number);
    EXPECT_EQ(n.sequence(), 5 + i);
    ASSERT_EQ(length, reqs[i].record_length);
    EXPECT_EQ(
        Bytes(single_buffers[i].begin(), single_buffers[i].begin() + static_cast<long>(length)),
        Bytes(burst_buffers[i].begin(), burst_buffers[i].begin() + static_cast<long>(length)))
        << i;
  }
}

}  // namespace
}  // namespace dtlsgw::record
