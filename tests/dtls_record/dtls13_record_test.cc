// DTLS 1.3 records (RFC 9147 §4) and RFC 9146 tls12_cid records: framing,
// epoch and sequence reconstruction at the wraps, record-number masks,
// protection round trips for every AEAD, tamper tests (each byte of
// header, CID, masked sequence, body and tag), replay, KeyUpdate epochs,
// and the CCM CID limit. The captures are in capture_vectors_test.cc.
#include <gtest/gtest.h>

#include <vector>

#include "dtls_record/cid_record.h"
#include "dtls_record/dtls13_header.h"
#include "dtls_record/dtls13_protection.h"
#include "dtls_record/hkdf_label.h"
#include "dtls_record/record_number_mask.h"
#include "dtls_record/sequence_reconstruction.h"

namespace dtlsgw::record {
namespace {

using Bytes = std::vector<uint8_t>;

// ---- §4.2.2 reconstruction ---------------------------------------------------

struct SeqCase {
  uint64_t next_expected;
  uint16_t wire;
  unsigned bits;
  uint64_t want;
};

TEST(Rfc9147Section4_2_2, SequenceReconstructionPicksTheClosestNumber) {
  // "the receiver ... SHOULD pick the sequence number closest to one plus
  //  the sequence number of the highest successfully deprotected record".
  const SeqCase cases[] = {
      {0, 0, 16, 0},
      {0, 0xffff, 16, 0xffff},  // nothing below 0: the only candidate
      {1, 5, 8, 5},
      {0xff, 0x00, 8, 0x100},         // 8-bit wrap forward
      {0x100, 0xff, 8, 0xff},         // a late record just before the wrap
      {0x180, 0x00, 8, 0x200},        // exactly half a window ahead
      {0x180, 0x01, 8, 0x101},        // more than half ahead: the earlier one
      {0xffff, 0x0000, 16, 0x10000},  // 16-bit wrap forward
      {0x10000, 0xffff, 16, 0xffff},  // reordered across the wrap
      {0x12345, 0x2346, 16, 0x12346},
      {0x18000, 0x0000, 16, 0x20000},
      {0x18001, 0x8000, 16, 0x18000},
      // Never above 2^48 - 1.
      {RecordNumber::kMaxSequence, 0x0000, 16, RecordNumber::kMaxSequence - 0xffff},
      {RecordNumber::kMaxSequence, 0xffff, 16, RecordNumber::kMaxSequence},
  };
  for (const SeqCase& c : cases) {
    EXPECT_EQ(reconstruct_sequence(c.next_expected, c.wire, c.bits), c.want)
        << std::hex << c.next_expected << " " << c.wire;
  }
  static_assert(reconstruct_sequence(0x100, 0xff, 8) == 0xff);
}

TEST(Rfc9147Section4_2_2, EpochReconstructionReachesThePreviousAndNextEpochs) {
  // wolfSSL: 0x2e is epoch 2, 0x2f epoch 3, 0x2c epoch 4 (bits 00).
  EXPECT_EQ(reconstruct_epoch(Epoch{2}, 2).value, 2);
  EXPECT_EQ(reconstruct_epoch(Epoch{2}, 3).value, 3);
  EXPECT_EQ(reconstruct_epoch(Epoch{3}, 0).value, 4);
  EXPECT_EQ(reconstruct_epoch(Epoch{3}, 2).value, 2);  // grace period
  EXPECT_EQ(reconstruct_epoch(Epoch{4}, 3).value, 3);
  EXPECT_EQ(reconstruct_epoch(Epoch{4}, 1).value, 5);
  EXPECT_EQ(reconstruct_epoch(Epoch{4}, 2).value, 6);
  EXPECT_EQ(reconstruct_epoch(Epoch{0xffff}, 0).value, 0xfffc);  // never wraps
  EXPECT_EQ(reconstruct_epoch(Epoch{0xfffe}, 3).value, 0xffff);
}

// ---- §4 unified header ---------------------------------------------------------

TEST(Rfc9147Section4_1, FirstByteDemultiplexing) {
  EXPECT_EQ(classify_dtls13_record(21), Dtls13RecordKind::plaintext);
  EXPECT_EQ(classify_dtls13_record(22), Dtls13RecordKind::plaintext);
  EXPECT_EQ(classify_dtls13_record(26), Dtls13RecordKind::plaintext);
  EXPECT_EQ(classify_dtls13_record(23), Dtls13RecordKind::invalid);
  EXPECT_EQ(classify_dtls13_record(25), Dtls13RecordKind::invalid);
  EXPECT_EQ(classify_dtls13_record(0x20), Dtls13RecordKind::ciphertext);
  EXPECT_EQ(classify_dtls13_record(0x3f), Dtls13RecordKind::ciphertext);
  EXPECT_EQ(classify_dtls13_record(0x40), Dtls13RecordKind::invalid);
  EXPECT_EQ(classify_dtls13_record(0x1f), Dtls13RecordKind::invalid);
}

TEST(Rfc9147Section4, UnifiedHeaderFields) {
  // C=1 (4-byte CID), S=1, L=1, epoch bits 3: as in capture B frame 11.
  Bytes d = {0x3f, 0x5e, 0x4e, 0xa1, 0xb2, 0x12, 0x34, 0x00, 0x03, 0xaa, 0xbb, 0xcc};
  Dtls13RecordView v;
  ASSERT_EQ(parse_unified_header(d, 4, v), Dtls13HeaderResult::ok);
  EXPECT_TRUE(v.unified.has_cid);
  EXPECT_EQ(v.unified.sequence_bits, 16);
  EXPECT_TRUE(v.unified.has_length);
  EXPECT_EQ(v.unified.epoch_bits, 3);
  EXPECT_EQ(v.unified.masked_sequence, 0x1234);
  EXPECT_EQ(v.header.size(), 9u);
  EXPECT_EQ(Bytes(v.cid.begin(), v.cid.end()), (Bytes{0x5e, 0x4e, 0xa1, 0xb2}));
  EXPECT_EQ(v.body.size(), 3u);
  // No CID negotiated: C set is refused.
  EXPECT_EQ(parse_unified_header(d, 0, v), Dtls13HeaderResult::unexpected_cid);
  // Every truncation of the header, and a length past the end.
  for (size_t n = 0; n < 9; ++n) {
    EXPECT_EQ(parse_unified_header(std::span(d).first(n), 4, v),
              Dtls13HeaderResult::truncated_header)
        << n;
  }
  EXPECT_EQ(parse_unified_header(std::span(d).first(11), 4, v),
            Dtls13HeaderResult::length_overrun);
  // S=0, L=0: 8-bit sequence, the record runs to the end of the datagram.
  Bytes e = {0x22, 0x7f, 1, 2, 3, 4, 5};
  ASSERT_EQ(parse_unified_header(e, 0, v), Dtls13HeaderResult::ok);
  EXPECT_EQ(v.unified.sequence_bits, 8);
  EXPECT_FALSE(v.unified.has_length);
  EXPECT_EQ(v.unified.masked_sequence, 0x7f);
  EXPECT_EQ(v.body.size(), 5u);
  // Over 2^14 + 256.
  Bytes big(3 + 16384 + 257, 0);
  big[0] = 0x22;  // L=0: the body runs to the end of the datagram
  big[1] = 0;
  EXPECT_EQ(parse_unified_header(big, 0, v), Dtls13HeaderResult::fragment_too_long);
}

TEST(Rfc9147Section4, SeveralRecordsPerDatagramTheLastWithoutLength) {
  Bytes d = {
      22,   0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 7, 0, 2, 0xaa, 0xbb,  // DTLSPlaintext
      0x2e, 0x00, 0x01, 0x00, 0x02, 0x11, 0x22,                    // S=1 L=1
      0x22, 0x05, 0x33, 0x44, 0x55,                                 // S=0 L=0: the rest
  };
  Dtls13Walker w(d, 0);
  Dtls13RecordView v;
  ASSERT_TRUE(w.next(v));
  EXPECT_EQ(v.kind, Dtls13RecordKind::plaintext);
  EXPECT_EQ(v.plaintext.number.sequence(), 7u);
  EXPECT_EQ(v.body.size(), 2u);
  ASSERT_TRUE(w.next(v));
  EXPECT_EQ(v.kind, Dtls13RecordKind::ciphertext);
  EXPECT_EQ(v.body.size(), 2u);
  ASSERT_TRUE(w.next(v));
  EXPECT_EQ(v.unified.masked_sequence, 5);
  EXPECT_EQ(v.body.size(), 3u);
  EXPECT_FALSE(w.next(v));
  EXPECT_EQ(w.error(), Dtls13HeaderResult::ok);
  // An invalid first byte ends the walk with its reason.
  Bytes bad = {0x2e, 0, 1, 0, 1, 0x99, 0x17, 0, 0};
  Dtls13Walker b(bad, 0);
  ASSERT_TRUE(b.next(v));
  EXPECT_FALSE(b.next(v));
  EXPECT_EQ(b.error(), Dtls13HeaderResult::invalid_first_byte);
}

// ---- §4.2.3 masks --------------------------------------------------------------

TEST(Rfc8439Section2_3_2, ChaCha20BlockFunction) {
  uint8_t key[32];
  for (int i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(i);
  const uint8_t nonce[12] = {0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0};
  uint8_t out[64];
  chacha20_block(key, 1, nonce, out);
  const uint8_t want[16] = {0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15,
                            0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20, 0x71, 0xc4};
  EXPECT_EQ(0, std::memcmp(out, want, 16));
}

// ---- protection ----------------------------------------------------------------

struct Dtls13Pair {
  std::unique_ptr<CryptoContext> ctx = CryptoContext::create();
  Dtls13WriteEpoch writer;
  Dtls13ReadEpoch reader{128};
};

Bytes secret_of(uint8_t seed, size_t n) {
  Bytes s(n);
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<uint8_t>(seed * 7 + i);
  return s;
}

Bytes seal13(Dtls13Pair& p, ContentType type, const Bytes& plaintext) {
  Bytes buffer(p.writer.seal_prefix() + plaintext.size() + p.writer.seal_suffix(plaintext.size()));
  std::copy(plaintext.begin(), plaintext.end(), buffer.begin() + p.writer.seal_prefix());
  size_t length = 0;
  EXPECT_EQ(seal_dtls13_record(*p.ctx, p.writer, type, buffer, plaintext.size(), length),
            SealResult::ok);
  buffer.resize(length);
  return buffer;
}

OpenResult open13(Dtls13Pair& p, Bytes record, Bytes* plaintext = nullptr,
                        RecordNumber* number = nullptr, ContentType* type = nullptr) {
  Dtls13RecordView v;
  if (parse_unified_header(record, p.reader.cid().size(), v) != Dtls13HeaderResult::ok) {
    return OpenResult::malformed;
  }
  ContentType t{};
  RecordNumber n;
  std::span<uint8_t> pt;
  const OpenResult r = open_dtls13_record(*p.ctx, p.reader, v, t, n, pt);
  if (plaintext) plaintext->assign(pt.begin(), pt.end());
  if (number) *number = n;
  if (type) *type = t;
  return r;
}

struct SuiteCase {
  uint16_t code;
  size_t cid;
  bool sequence16;
};

class Dtls13Protection : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(Dtls13Protection, SealOpenTamperReplay) {
  const auto suite = dtls13_suite(GetParam().code);
  ASSERT_TRUE(suite);
  Dtls13Pair p;
  ASSERT_NE(p.ctx, nullptr);
  const Bytes secret = secret_of(1, hash_length(suite->hash));
  const Bytes cid = secret_of(9, GetParam().cid);
  Dtls13WriteOptions o;
  o.sequence16 = GetParam().sequence16;
  ASSERT_TRUE(p.writer.install_secret(*p.ctx, Epoch{3}, *suite, secret, cid, o, 250));
  ASSERT_TRUE(p.reader.install_secret(*p.ctx, Epoch{3}, *suite, secret, cid));
  const Bytes message = {'h', 'e', 'l', 'l', 'o'};
  // Several records across the 8-bit wrap (250..260).
  for (int i = 0; i < 10; ++i) {
    Bytes record = seal13(p, ContentType::application_data, message);
    Bytes pt;
    RecordNumber n;
    ContentType t{};
    ASSERT_EQ(open13(p, record, &pt, &n, &t), OpenResult::ok) << i;
    EXPECT_EQ(pt, message);
    EXPECT_EQ(n.sequence(), 250u + i);
    EXPECT_EQ(t, ContentType::application_data);
    // RFC 9147 §4.5.1: a second copy is a replay.
    EXPECT_EQ(open13(p, record), OpenResult::replay);
  }
  // Tamper: flip each byte of header, CID, masked sequence, body and tag.
  const Bytes record = seal13(p, ContentType::alert, {1, 0});
  const uint64_t before = p.reader.replay_window().next_expected();
  const uint64_t opened = p.reader.records_opened();
  for (size_t i = 0; i < record.size(); ++i) {
    Bytes t = record;
    t[i] ^= 0x01;
    EXPECT_NE(open13(p, t), OpenResult::ok) << "byte " << i;
    EXPECT_EQ(p.reader.replay_window().next_expected(), before);
  }
  EXPECT_EQ(p.reader.records_opened(), opened);
  EXPECT_EQ(open13(p, record), OpenResult::ok);  // the original still opens
  // A wrong CID never reaches the AEAD.
  if (!cid.empty()) {
    Bytes t = seal13(p, ContentType::application_data, message);
    t[1] ^= 0x80;
    EXPECT_EQ(open13(p, t), OpenResult::unknown_connection_id);
  }
}

INSTANTIATE_TEST_SUITE_P(AllSuites, Dtls13Protection,
                         ::testing::Values(SuiteCase{0x1301, 0, true}, SuiteCase{0x1302, 4, true},
                                           SuiteCase{0x1303, 8, false},
                                           SuiteCase{0x1304, 0, false},
                                           SuiteCase{0x1305, 3, true},
                                           SuiteCase{0x1305, 32, false}));

TEST(Rfc9147Section4_2_3, RecordsTooShortToMaskAreRejected) {
  const auto suite = dtls13_suite(0x1305);  // CCM-8: an 8-byte tag
  Dtls13Pair p;
  const Bytes secret = secret_of(2, 32);
  ASSERT_TRUE(p.reader.install_secret(*p.ctx, Epoch{3}, *suite, secret, {}));
  // 15 bytes of ciphertext.
  Bytes record = {0x2f, 0x00, 0x00, 0x00, 0x0f};
  record.resize(record.size() + 15, 0x5a);
  EXPECT_EQ(open13(p, record), OpenResult::too_short_to_mask);
  // "Senders MUST pad short plaintexts out": a 2-byte alert under CCM-8
  // (the record wolfSSL 5.6.4 could not build) is padded to 16 bytes.
  ASSERT_TRUE(p.writer.install_secret(*p.ctx, Epoch{3}, *suite, secret, {}));
  const Bytes sealed = seal13(p, ContentType::alert, {1, 0});
  EXPECT_EQ(sealed.size(), 5u + 16u);
  Bytes pt;
  EXPECT_EQ(open13(p, sealed, &pt), OpenResult::ok);
  EXPECT_EQ(pt, (Bytes{1, 0}));
}

TEST(Rfc9147Section4, PaddingPolicyAndAllZeroInnerPlaintext) {
  const auto suite = dtls13_suite(0x1301);
  Dtls13Pair p;
  const Bytes secret = secret_of(3, 32);
  Dtls13WriteOptions o;
  o.padding = 3;
  o.pad_to_multiple = 32;
  ASSERT_TRUE(p.writer.install_secret(*p.ctx, Epoch{4}, *suite, secret, {}, o));
  ASSERT_TRUE(p.reader.install_secret(*p.ctx, Epoch{4}, *suite, secret, {}));
  const Bytes sealed = seal13(p, ContentType::application_data, Bytes(40, 'x'));
  EXPECT_EQ(sealed.size(), 5u + 64u + 16u);  // 40 + 1 + 3 -> 64
  EXPECT_EQ(sealed[0], 0x2c);                // epoch 4: bits 00
  Bytes pt;
  EXPECT_EQ(open13(p, sealed, &pt), OpenResult::ok);
  EXPECT_EQ(pt, Bytes(40, 'x'));
  // Content type 0 and no content: the inner plaintext is all zeros.
  const Bytes zeros = seal13(p, static_cast<ContentType>(0), {});
  EXPECT_EQ(open13(p, zeros), OpenResult::no_content_type);
}

// RFC 8446 §7.2 with the "dtls13" prefix: epoch 4 and later open with the
// next traffic secrets, and the previous epoch stays readable.
TEST(Rfc8446Section7_2, KeyUpdateEpochs) {
  const auto suite = dtls13_suite(0x1303);
  auto ctx = CryptoContext::create();
  Bytes secret = secret_of(4, 32);
  Dtls13ReadEpoch previous;
  ASSERT_TRUE(previous.install_secret(*ctx, Epoch{3}, *suite, secret, {}));
  for (uint16_t epoch = 4; epoch <= 7; ++epoch) {
    Bytes next(32);
    ASSERT_TRUE(next_dtls13_traffic_secret(suite->hash, secret, next));
    EXPECT_NE(next, secret);
    secret = next;
    Dtls13Pair p;
    ASSERT_TRUE(p.writer.install_secret(*p.ctx, Epoch{epoch}, *suite, secret, {}));
    ASSERT_TRUE(p.reader.install_secret(*p.ctx, Epoch{epoch}, *suite, secret, {}));
    const Bytes record = seal13(p, ContentType::application_data, {'k'});
    EXPECT_EQ(reconstruct_epoch(Epoch{static_cast<uint16_t>(epoch - 1)}, record[0] & 3).value,
              epoch);
    EXPECT_EQ(open13(p, record), OpenResult::ok);
    // The previous epoch's key does not open it.
    Dtls13RecordView v;
    Bytes copy = record;
    ASSERT_EQ(parse_unified_header(copy, 0, v), Dtls13HeaderResult::ok);
    ContentType t{};
    RecordNumber n;
    std::span<uint8_t> pt;
    EXPECT_NE(open_dtls13_record(*ctx, previous, v, t, n, pt), OpenResult::ok);
  }
  Bytes wrong(48);
  EXPECT_FALSE(next_dtls13_traffic_secret(HkdfHash::sha256, secret, wrong));
}

// ---- RFC 9146 ------------------------------------------------------------------

struct CidPair {
  std::unique_ptr<CryptoContext> ctx = CryptoContext::create();
  CidWriteEpoch writer;
  CidReadEpoch reader;
};

Bytes seal_cid(CidPair& p, ContentType type, const Bytes& plaintext) {
  Bytes buffer(p.writer.seal_prefix() + plaintext.size() + p.writer.seal_suffix(plaintext.size()));
  std::copy(plaintext.begin(), plaintext.end(), buffer.begin() + p.writer.seal_prefix());
  size_t length = 0;
  EXPECT_EQ(seal_cid_record(*p.ctx, p.writer, type, buffer, plaintext.size(), length),
            SealResult::ok);
  buffer.resize(length);
  return buffer;
}

OpenResult open_cid(CidPair& p, Bytes record, Bytes* plaintext = nullptr) {
  CidRecordView v;
  if (parse_cid_record(record, p.reader.cid().size(), v) != HeaderResult::ok) {
    return OpenResult::malformed;
  }
  ContentType t{};
  std::span<uint8_t> pt;
  const OpenResult r = open_cid_record(*p.ctx, p.reader, v, t, pt);
  if (plaintext) plaintext->assign(pt.begin(), pt.end());
  return r;
}

class CidProtection : public ::testing::TestWithParam<Aead> {};

TEST_P(CidProtection, SealOpenTamperReplayPadding) {
  const Aead aead = GetParam();
  const AeadParams& ap = aead_params(aead);
  CidPair p;
  const Bytes key = secret_of(5, ap.key_length), iv = secret_of(6, ap.fixed_iv_length);
  const Bytes cid = {0xc0, 0xff, 0xee, 1, 2, 3, 4, 5};
  ASSERT_TRUE(p.writer.install(*p.ctx, Epoch{1}, aead, key, iv, cid, CidPaddingPolicy{0, 16}));
  ASSERT_TRUE(p.reader.install(*p.ctx, Epoch{1}, aead, key, iv, cid));
  const Bytes message(51, 'g');
  const Bytes record = seal_cid(p, ContentType::application_data, message);
  // RFC 9146 §4: 25 ‖ fefd ‖ epoch ‖ seq ‖ cid ‖ length; inner padded to 64.
  EXPECT_EQ(record[0], 25);
  EXPECT_EQ(record.size(), 11 + 8 + 2 + ap.explicit_nonce_length + 64 + ap.tag_length);
  const uint64_t before = p.reader.replay_window().next_expected();
  for (size_t i = 0; i < record.size(); ++i) {
    Bytes t = record;
    t[i] ^= 0x01;
    EXPECT_NE(open_cid(p, t), OpenResult::ok) << "byte " << i;
    EXPECT_EQ(p.reader.replay_window().next_expected(), before);
  }
  Bytes pt;
  ASSERT_EQ(open_cid(p, record, &pt), OpenResult::ok);
  EXPECT_EQ(pt, message);
  EXPECT_EQ(open_cid(p, record), OpenResult::replay);
}

INSTANTIATE_TEST_SUITE_P(AllAeads, CidProtection,
                         ::testing::Values(Aead::aes128_gcm, Aead::aes256_gcm,
                                           Aead::chacha20_poly1305, Aead::aes128_ccm,
                                           Aead::aes128_ccm8));

TEST(Rfc9146, CcmCidLengthLimit) {
  // The AAD is 23 + cid bytes; IPsec-MB's CCM takes at most 46.
  auto ctx = CryptoContext::create();
  CidReadEpoch r;
  CidWriteEpoch w;
  const Bytes key(16, 1), iv(4, 2);
  EXPECT_TRUE(r.install(*ctx, Epoch{1}, Aead::aes128_ccm, key, iv, Bytes(kMaxCcmCidLength, 7)));
  EXPECT_FALSE(r.install(*ctx, Epoch{1}, Aead::aes128_ccm8, key, iv,
                         Bytes(kMaxCcmCidLength + 1, 7)));
  EXPECT_FALSE(w.install(*ctx, Epoch{1}, Aead::aes128_ccm, key, iv, Bytes(24, 7)));
  EXPECT_TRUE(w.install(*ctx, Epoch{1}, Aead::aes128_gcm, key, iv, Bytes(24, 7)));
  EXPECT_FALSE(w.install(*ctx, Epoch{1}, Aead::aes128_gcm, key, iv, {}));  // empty: plain records
  EXPECT_FALSE(w.install(*ctx, Epoch{1}, Aead::aes128_gcm, key, iv, Bytes(33, 7)));
}

}  // namespace
}  // namespace dtlsgw::record
