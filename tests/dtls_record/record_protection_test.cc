// Seal/open round trips, tamper tests and usage limits for every AEAD.
#include "dtls_record/record_protection.h"

#include <gtest/gtest.h>

#include "tests/dtls_record/test_keys.h"

namespace dtlsgw::record {
namespace {

using testing::KeyPair;
using testing::make_context;
using testing::pattern;
using testing::seal;
using testing::view_of;

class EveryAead : public ::testing::TestWithParam<Aead> {
 protected:
  std::unique_ptr<CryptoContext> ctx = make_context();
};

INSTANTIATE_TEST_SUITE_P(Suites, EveryAead,
                         ::testing::Values(Aead::aes128_gcm, Aead::aes256_gcm,
                                           Aead::chacha20_poly1305, Aead::aes128_ccm,
                                           Aead::aes128_ccm8),
                         [](const auto& info) {
                           std::string n(to_string(info.param));
                           for (auto& c : n) {
                             if (c == '-') {
                               c = '_';
                             }
                           }
                           return n;
                         });

TEST_P(EveryAead, RoundTripAtEverySize) {
  KeyPair keys(*ctx, GetParam());
  for (size_t size : {0u, 1u, 15u, 16u, 17u, 64u, 255u, 1024u, 1400u, 16384u}) {
    const auto plaintext = pattern(size, static_cast<uint8_t>(size));
    auto record = seal(*ctx, keys.write, plaintext);
    EXPECT_EQ(record.size(), kRecordHeaderLength + size + record_expansion(GetParam()));
    std::span<uint8_t> out;
    ASSERT_EQ(open_record(*ctx, keys.read, view_of(record), out), OpenResult::ok) << size;
    EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.end()), plaintext) << size;
  }
  EXPECT_EQ(keys.read.records_opened(), 10u);
  EXPECT_EQ(keys.write.records_sealed(), 10u);
}

// RFC 6347 §4.1.2.6: "the window MUST NOT be updated unless the MAC
// verification succeeds." Flip every byte of header, nonce, body and tag:
// each copy is refused and the window stays exactly as it was.
TEST_P(EveryAead, EveryFlippedByteIsRefusedAndLeavesTheWindowAlone) {
  KeyPair keys(*ctx, GetParam());
  const auto plaintext = pattern(48, 3);
  const auto record = seal(*ctx, keys.write, plaintext);
  for (size_t i = 0; i < record.size(); ++i) {
    auto tampered = record;
    tampered[i] ^= 0x01;
    RecordWalker walker(tampered);
    RecordView v;
    if (!walker.next(v)) {
      // A flipped length or type byte can make the record unframeable.
      EXPECT_NE(walker.error(), HeaderResult::ok);
      continue;
    }
    std::span<uint8_t> out;
    const OpenResult r = open_record(*ctx, keys.read, v, out);
    EXPECT_NE(r, OpenResult::ok) << "byte " << i;
    EXPECT_TRUE(r == OpenResult::auth_failed || r == OpenResult::malformed ||
                r == OpenResult::unknown_epoch)
        << "byte " << i << ": " << to_string(r);
    EXPECT_EQ(keys.read.replay_window().next_expected(), 0u) << "byte " << i;
    EXPECT_EQ(keys.read.replay_window().check(0), ReplayCheck::fresh);
  }
  // The untouched record still opens afterwards: nothing was committed.
  auto good = record;
  std::span<uint8_t> out;
  EXPECT_EQ(open_record(*ctx, keys.read, view_of(good), out), OpenResult::ok);
}

TEST_P(EveryAead, ReplayedRecordIsRefused) {
  KeyPair keys(*ctx, GetParam());
  const auto record = seal(*ctx, keys.write, pattern(100, 9));
  auto first = record;
  auto second = record;
  std::span<uint8_t> out;
  EXPECT_EQ(open_record(*ctx, keys.read, view_of(first), out), OpenResult::ok);
  EXPECT_EQ(open_record(*ctx, keys.read, view_of(second), out), OpenResult::replay);
}

// Two copies of one record in one burst: both pass the pre-check and both
// authenticate; the commit re-tests the bit so only one is ok.
TEST_P(EveryAead, DuplicateInsideOneBurstYieldsOneOkOneReplay) {
  KeyPair keys(*ctx, GetParam());
  const auto record = seal(*ctx, keys.write, pattern(64, 5));
  auto a = record;
  auto b = record;
  OpenRequest reqs[2];
  reqs[0].epoch = &keys.read;
  reqs[0].record = view_of(a);
  reqs[1].epoch = &keys.read;
  reqs[1].record = view_of(b);
  EXPECT_EQ(open_burst(*ctx, reqs), 1u);
  EXPECT_EQ(reqs[0].result, OpenResult::ok);
  EXPECT_EQ(reqs[1].result, OpenResult::replay);
}

TEST_P(EveryAead, BurstOfSixtyFourOutOfOrderRecordsAllOpen) {
  // Reversed, 70 records need a window wider than 64.
  KeyPair keys(*ctx, GetParam(), 1, 128);
  std::vector<std::vector<uint8_t>> records;
  for (size_t i = 0; i < 70; ++i) {
    records.push_back(seal(*ctx, keys.write, pattern(20 + i, static_cast<uint8_t>(i))));
  }
  // Reverse order, more than one chunk of kMaxBurst.
  std::vector<OpenRequest> reqs(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    reqs[i].epoch = &keys.read;
    reqs[i].record = view_of(records[records.size() - 1 - i]);
  }
  EXPECT_EQ(open_burst(*ctx, reqs), 64u + 6u);
  for (size_t i = 0; i < reqs.size(); ++i) {
    const size_t orig = records.size() - 1 - i;
    ASSERT_EQ(reqs[i].result, OpenResult::ok);
    EXPECT_EQ(reqs[i].number.sequence(), orig);
    EXPECT_EQ(std::vector<uint8_t>(reqs[i].plaintext.begin(), reqs[i].plaintext.end()),
              pattern(20 + orig, static_cast<uint8_t>(orig)));
  }
}

TEST_P(EveryAead, SealBurstNumbersRecordsInOrder) {
  KeyPair keys(*ctx, GetParam(), 1, 64, 1000);
  std::vector<std::vector<uint8_t>> bufs(40);
  std::vector<SealRequest> reqs(40);
  for (size_t i = 0; i < reqs.size(); ++i) {
    const auto pt = pattern(i * 7, static_cast<uint8_t>(i));
    bufs[i].resize(keys.write.seal_prefix() + pt.size() + keys.write.tag_length());
    std::copy(pt.begin(), pt.end(), bufs[i].begin() + static_cast<long>(keys.write.seal_prefix()));
    reqs[i].epoch = &keys.write;
    reqs[i].buffer = bufs[i];
    reqs[i].plaintext_length = pt.size();
  }
  EXPECT_EQ(seal_burst(*ctx, reqs), reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_EQ(reqs[i].number, RecordNumber(Epoch{1}, 1000 + i));
    bufs[i].resize(reqs[i].record_length);
    std::span<uint8_t> out;
    ASSERT_EQ(open_record(*ctx, keys.read, view_of(bufs[i]), out), OpenResult::ok);
    EXPECT_EQ(out.size(), i * 7);
  }
}

TEST_P(EveryAead, WrongEpochIsUnknown) {
  auto ctx2 = make_context();
  KeyPair e1(*ctx, GetParam(), 1);
  KeyPair e2(*ctx, GetParam(), 2);
  auto record = seal(*ctx, e2.write, pattern(10, 1));
  std::span<uint8_t> out;
  EXPECT_EQ(open_record(*ctx, e1.read, view_of(record), out), OpenResult::unknown_epoch);
}

TEST_P(EveryAead, TooShortFragmentIsMalformed) {
  KeyPair keys(*ctx, GetParam());
  // A record whose fragment is one byte shorter than nonce + tag.
  std::vector<uint8_t> rec(kRecordHeaderLength + record_expansion(GetParam()) - 1, 0);
  RecordHeader h;
  h.number = RecordNumber(Epoch{1}, 0);
  h.length = static_cast<uint16_t>(rec.size() - kRecordHeaderLength);
  write_record_header(h, rec.data());
  std::span<uint8_t> out;
  EXPECT_EQ(open_record(*ctx, keys.read, view_of(rec), out), OpenResult::malformed);
}

TEST_P(EveryAead, PlaintextOverTwoToTheFourteenIsRefused) {
  KeyPair keys(*ctx, GetParam());
  std::vector<uint8_t> buf(kMaxPlaintextLength + 200);
  size_t len = 0;
  EXPECT_EQ(seal_record(*ctx, keys.write, ContentType::application_data, buf,
                        kMaxPlaintextLength + 1, len),
            SealResult::plaintext_too_long);
  EXPECT_EQ(keys.write.records_sealed(), 0u);
}

TEST_P(EveryAead, BufferWithoutRoomForTheTagIsRefused) {
  KeyPair keys(*ctx, GetParam());
  std::vector<uint8_t> buf(keys.write.seal_prefix() + 10 + keys.write.tag_length() - 1);
  size_t len = 0;
  EXPECT_EQ(seal_record(*ctx, keys.write, ContentType::application_data, buf, 10, len),
            SealResult::buffer_too_small);
  EXPECT_EQ(keys.write.next_number().sequence(), 0u);
}

// RFC 6347 §4.1: sequence numbers must not wrap. The last number is used
// once; after it the epoch seals nothing.
TEST_P(EveryAead, SealingRefusesToWrapTheSequence) {
  KeyPair keys(*ctx, GetParam(), 1, 64, RecordNumber::kMaxSequence - 1);
  const auto a = seal(*ctx, keys.write, pattern(5, 1));
  const auto b = seal(*ctx, keys.write, pattern(5, 2));
  EXPECT_TRUE(keys.write.exhausted());
  std::vector<uint8_t> buf(100);
  size_t len = 0;
  EXPECT_EQ(seal_record(*ctx, keys.write, ContentType::application_data, buf, 5, len),
            SealResult::sequence_exhausted);
  // The reader accepts both top numbers.
  auto a2 = a;
  auto b2 = b;
  std::span<uint8_t> out;
  EXPECT_EQ(open_record(*ctx, keys.read, view_of(a2), out), OpenResult::ok);
  EXPECT_EQ(open_record(*ctx, keys.read, view_of(b2), out), OpenResult::ok);
  EXPECT_EQ(keys.read.replay_window().next_expected(), RecordNumber::kMaxSequence + 1);
}

// DESIGN.md: never two plaintexts under one (key, nonce). OpenSSL 3.0's GCM
// explicit nonce is a counter from a random start; when one it used falls
// in this epoch's range, sealing starts above it.
TEST_P(EveryAead, SealingStartsAboveForeignExplicitNoncesInItsEpoch) {
  const AeadParams& p = aead_params(GetParam());
  const auto key = pattern(p.key_length, 1);
  const auto iv = pattern(p.fixed_iv_length, 2);
  const uint64_t foreign[] = {
      RecordNumber(Epoch{1}, 5000).packed(),   // in range: must be skipped
      RecordNumber(Epoch{2}, 90000).packed(),  // other epoch: irrelevant
      RecordNumber(Epoch{1}, 3).packed(),      // below first_sequence
  };
  WriteEpoch w;
  ASSERT_TRUE(w.install(*ctx, Epoch{1}, GetParam(), key, iv, 16, foreign));
  if (p.nonce_style == NonceStyle::salt_and_explicit) {
    EXPECT_EQ(w.next_number(), RecordNumber(Epoch{1}, 5001));
  } else {
    // ChaCha20-Poly1305's nonce is the record number itself: nothing to skip.
    EXPECT_EQ(w.next_number(), RecordNumber(Epoch{1}, 16));
  }
}

TEST_P(EveryAead, RetiredKeyOpensAndSealsNothing) {
  KeyPair keys(*ctx, GetParam());
  auto record = seal(*ctx, keys.write, pattern(10, 1));
  keys.read.retire();
  keys.write.retire();
  std::span<uint8_t> out;
  EXPECT_EQ(open_record(*ctx, keys.read, view_of(record), out), OpenResult::unknown_epoch);
  std::vector<uint8_t> buf(100);
  size_t len = 0;
  EXPECT_EQ(seal_record(*ctx, keys.write, ContentType::application_data, buf, 5, len),
            SealResult::no_key);
}

TEST_P(EveryAead, ForgeriesAreCountedAgainstTheIntegrityLimit) {
  KeyPair keys(*ctx, GetParam());
  keys.read.set_forgery_alarm_threshold(3);
  for (int i = 0; i < 3; ++i) {
    auto record = seal(*ctx, keys.write, pattern(10, 1));
    record.back() ^= 0x80;
    std::span<uint8_t> out;
    EXPECT_EQ(open_record(*ctx, keys.read, view_of(record), out), OpenResult::auth_failed);
  }
  EXPECT_EQ(keys.read.forgeries(), 3u);
  if (GetParam() == Aead::aes128_ccm8) {
    EXPECT_EQ(keys.read.usage_status(), UsageStatus::forgery_alarm);
  } else {
    EXPECT_EQ(keys.read.usage_status(), UsageStatus::ok);
  }
}

TEST(UsageLimits, ConfidentialityLimitsFollowRfc8446AndRfc9147) {
  EXPECT_EQ(aead_params(Aead::aes128_gcm).confidentiality_limit, 23726566u);  // 2^24.5
  EXPECT_EQ(aead_params(Aead::aes128_ccm).confidentiality_limit, 11863283u);  // 2^23.5
  EXPECT_EQ(aead_params(Aead::aes128_gcm).integrity_limit, uint64_t{1} << 36);
  EXPECT_EQ(aead_params(Aead::aes128_ccm8).integrity_limit, 0u);
}

TEST(UsageLimits, SealerAsksForCloseNearTheEndOfTheSequenceSpace) {
  auto ctx = make_context();
  KeyPair keys(*ctx, Aead::aes128_gcm, 1, 64, RecordNumber::kMaxSequence - kCloseReserve - 5);
  EXPECT_EQ(keys.write.usage_status(), UsageStatus::ok);
  for (int i = 0; i < 6; ++i) {
    seal(*ctx, keys.write, pattern(1, 1));
  }
  EXPECT_EQ(keys.write.usage_status(), UsageStatus::close_required);
}

TEST(KeySchedule, SizesAreReportedPerSuite) {
  EXPECT_EQ(key_schedule_bytes(Aead::aes128_gcm), 1008u);
  EXPECT_EQ(key_schedule_bytes(Aead::chacha20_poly1305), 32u);
  EXPECT_EQ(key_schedule_bytes(Aead::aes128_ccm), 176u);
}

TEST(KeySchedule, WrongKeyOrIvLengthIsRefused) {
  auto ctx = make_context();
  RecordCipher c;
  const auto key = pattern(15, 0);
  const auto iv = pattern(4, 0);
  EXPECT_FALSE(c.init(*ctx, Aead::aes128_gcm, key, iv));
  EXPECT_FALSE(c.valid());
  const auto key16 = pattern(16, 0);
  EXPECT_FALSE(c.init(*ctx, Aead::aes128_gcm, key16, pattern(12, 0)));
  EXPECT_TRUE(c.init(*ctx, Aead::aes128_gcm, key16, iv));
}

}  // namespace
}  // namespace dtlsgw::record
