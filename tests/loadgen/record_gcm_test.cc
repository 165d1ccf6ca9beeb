// The load generator's AES-GCM records (bench/loadgen/record_gcm.h) against
// dtlsgw's record layer as the oracle (STYLE.md rule 8): the records it
// writes for static-key sessions open with the session's client keys, a
// flipped byte anywhere does not; records the record layer seals with the
// server keys are read and opened by the generator's checker.
#include "bench/loadgen/record_gcm.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "bench/loadgen/data_stamp.h"
#include "dataplane/static_keys.h"
#include "dtls_record/record_protection.h"
#include "dtls_record/record_walker.h"

namespace dtlsgw::loadgen {
namespace {

using record::Aead;

constexpr char kKeysFile[] =
    "# one explicit AES-256 session, then derived AES-128 sessions\n"
    "session peer=198.18.0.1:40000 listener=4433 suite=aes256_gcm "
    "client_key=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f "
    "client_iv=01020304 "
    "server_key=1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100 "
    "server_iv=a0b0c0d0\n"
    "sessions count=16 first_peer=198.18.1.1:10000 ports_per_address=4 listener=4433 "
    "suite=aes128_gcm seed=5eed000000000000000000000000000000000000000000000000000000000001\n";

constexpr size_t kSizes[] = {32, 33, 47, 48, 64, 100, 256, 1024, 1400, 16384};

dataplane::StaticKeys load_keys() {
  std::string error;
  auto keys = dataplane::StaticKeys::parse(kKeysFile, "test", error);
  EXPECT_TRUE(keys.has_value()) << error;
  return *keys;
}

std::span<const uint8_t> key_of(const dataplane::StaticSession& s, bool client) {
  const size_t n = record::aead_params(s.aead).key_length;
  return {client ? s.client_write_key : s.server_write_key, n};
}
std::span<const uint8_t> iv_of(const dataplane::StaticSession& s, bool client) {
  return {client ? s.client_write_iv : s.server_write_iv, 4};
}

std::vector<uint8_t> generated(const GcmKey& key, size_t size, uint64_t sequence,
                               const Stamp& stamp) {
  GcmShape shape;
  gcm_shape_init(key, size, shape);
  uint8_t bytes[kStampBytes];
  write_stamp(stamp, bytes);
  std::vector<uint8_t> r(size + kRecordOverhead);
  gcm_write_record(key, shape, 1, sequence, bytes, size, r.data());
  return r;
}

record::OpenResult open_with_record_layer(const dataplane::StaticSession& s, bool client,
                                          std::vector<uint8_t>& r, std::span<uint8_t>& plaintext) {
  auto ctx = record::CryptoContext::create();
  record::ReadEpoch epoch(128);
  EXPECT_TRUE(epoch.install(*ctx, record::Epoch{1}, s.aead, key_of(s, client), iv_of(s, client)));
  record::RecordWalker walker(r);
  record::RecordView view;
  if (!walker.next(view)) {
    return record::OpenResult::malformed;
  }
  return record::open_record(*ctx, epoch, view, plaintext);
}

TEST(RecordGcm, RecordsOpenWithTheRecordLayerUnderTheSessionsClientKeys) {
  const auto keys = load_keys();
  for (size_t i = 0; i < keys.size(); ++i) {
    dataplane::StaticSession s;
    keys.session(i, s);
    ASSERT_TRUE(gcm_supported(s.aead));
    GcmKey key;
    ASSERT_TRUE(gcm_key_init(key_of(s, true), iv_of(s, true), key));
    for (const size_t size : kSizes) {
      const uint64_t sequence = 1 + i * 1000 + size;
      const Stamp stamp{static_cast<uint32_t>(i), 7, sequence, 0x1122334455667788ull + size};
      auto r = generated(key, size, sequence, stamp);
      std::span<uint8_t> plaintext;
      ASSERT_EQ(open_with_record_layer(s, true, r, plaintext), record::OpenResult::ok)
          << "session " << i << " size " << size;
      ASSERT_EQ(plaintext.size(), size);
      Stamp back;
      ASSERT_TRUE(read_stamp(plaintext.data(), back));
      EXPECT_EQ(back.session, i);
      EXPECT_EQ(back.sequence, sequence);
      EXPECT_EQ(back.tsc, stamp.tsc);
      // The plaintext past the stamp is what the full check expects.
      EXPECT_TRUE(gcm_expected_plaintext_matches(key, 1, sequence, plaintext));
      if (size > kStampLength) {  // past the stamp, which the stamp's own check covers
        plaintext[size - 1] ^= 0x01;
        EXPECT_FALSE(gcm_expected_plaintext_matches(key, 1, sequence, plaintext));
        plaintext[size - 1] ^= 0x01;
        EXPECT_FALSE(gcm_expected_plaintext_matches(key, 1, sequence + 1, plaintext));
      }
    }
  }
}

// RFC 6347 §4.1.2.1 / STYLE.md rule 7: every byte of header, nonce,
// ciphertext and tag is covered by the tag.
TEST(RecordGcm, AFlippedByteAnywhereFailsToOpen) {
  const auto keys = load_keys();
  for (const size_t index : {size_t{0}, size_t{5}}) {
    dataplane::StaticSession s;
    keys.session(index, s);
    GcmKey key;
    ASSERT_TRUE(gcm_key_init(key_of(s, true), iv_of(s, true), key));
    const auto good = generated(key, 64, 42, Stamp{1, 2, 42, 3});
    for (size_t b = 0; b < good.size(); ++b) {
      auto r = good;
      r[b] ^= 0x40;
      std::span<uint8_t> plaintext;
      EXPECT_NE(open_with_record_layer(s, true, r, plaintext), record::OpenResult::ok)
          << "byte " << b;
    }
  }
}

TEST(RecordGcm, WrongKeysDoNotOpen) {
  const auto keys = load_keys();
  dataplane::StaticSession s;
  keys.session(3, s);
  GcmKey key;
  ASSERT_TRUE(gcm_key_init(key_of(s, true), iv_of(s, true), key));
  auto r = generated(key, 256, 9, Stamp{3, 0, 9, 0});
  std::span<uint8_t> plaintext;
  // The server's keys, another session's keys.
  EXPECT_EQ(open_with_record_layer(s, false, r, plaintext), record::OpenResult::auth_failed);
  dataplane::StaticSession other;
  keys.session(4, other);
  EXPECT_EQ(open_with_record_layer(other, true, r, plaintext), record::OpenResult::auth_failed);
}

// The seal direction: what the gateway seals with the server keys, the
// generator's checker reads (stamp) and opens (tag and every byte).
TEST(RecordGcm, RecordsSealedByTheRecordLayerAreReadAndOpened) {
  const auto keys = load_keys();
  auto ctx = record::CryptoContext::create();
  for (const size_t index : {size_t{0}, size_t{9}}) {
    dataplane::StaticSession s;
    keys.session(index, s);
    record::WriteEpoch write;
    ASSERT_TRUE(
        write.install(*ctx, record::Epoch{1}, s.aead, key_of(s, false), iv_of(s, false), 5));
    GcmKey key;
    ASSERT_TRUE(gcm_key_init(key_of(s, false), iv_of(s, false), key));
    for (const size_t size : kSizes) {
      const Stamp stamp{static_cast<uint32_t>(index), 1, size, 99};
      std::vector<uint8_t> buffer(write.seal_prefix() + size + write.tag_length());
      write_stamp(stamp, buffer.data() + write.seal_prefix());
      for (size_t k = kStampBytes; k < size; ++k) {
        buffer[write.seal_prefix() + k] = pattern_byte(stamp, k);
      }
      size_t length = 0;
      ASSERT_EQ(record::seal_record(*ctx, write, record::ContentType::application_data, buffer,
                                    size, length),
                record::SealResult::ok);
      ASSERT_EQ(length, size + kRecordOverhead);
      uint8_t read[kStampLength];
      ASSERT_TRUE(gcm_read_stamp(key, buffer, read));
      Stamp back;
      ASSERT_TRUE(read_stamp(read, back));
      EXPECT_EQ(back.sequence, size);
      std::vector<uint8_t> plaintext(size);
      ASSERT_TRUE(gcm_open_full(key, buffer, plaintext.data())) << "size " << size;
      for (size_t k = kStampBytes; k < size; ++k) {
        ASSERT_EQ(plaintext[k], pattern_byte(stamp, k)) << k;
      }
      for (const size_t b :
           {size_t{0}, size_t{4}, size_t{12}, size_t{20}, size_t{40}, buffer.size() - 1}) {
        auto bad = buffer;
        bad[b] ^= 0x08;
        EXPECT_FALSE(gcm_open_full(key, bad, plaintext.data())) << "byte " << b;
      }
    }
  }
}

TEST(RecordGcm, RefusesWhatItCannotGenerateOrRead) {
  GcmKey key;
  const uint8_t k24[24] = {};
  const uint8_t salt[4] = {};
  EXPECT_FALSE(gcm_key_init(k24, salt, key));
  EXPECT_FALSE(gcm_supported(Aead::chacha20_poly1305));
  EXPECT_FALSE(gcm_supported(Aead::aes128_ccm));
  const uint8_t k16[16] = {};
  ASSERT_TRUE(gcm_key_init(k16, salt, key));
  std::vector<uint8_t> shortened(kRecordOverhead + 16, 0);
  uint8_t stamp[kStampLength];
  EXPECT_FALSE(gcm_read_stamp(key, shortened, stamp));
  auto good = generated(key, 64, 1, Stamp{});
  good[0] = 22;  // a handshake record
  EXPECT_FALSE(gcm_read_stamp(key, good, stamp));
}

}  // namespace
}  // namespace dtlsgw::loadgen
