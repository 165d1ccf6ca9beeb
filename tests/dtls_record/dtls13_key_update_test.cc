// RFC 9147 §8 / RFC 8446 §7.2: after a KeyUpdate the new epoch's records
// open under keys derived from the next traffic secret, and the previous
// epoch stays readable for a grace period, then is retired.
#include <gtest/gtest.h>

#include <vector>

#include "dtls_record/dtls13_header.h"
#include "dtls_record/dtls13_key_update.h"

namespace dtlsgw::record {
namespace {

using Bytes = std::vector<uint8_t>;

struct Writer {
  std::unique_ptr<CryptoContext> ctx = CryptoContext::create();
  Dtls13WriteEpoch epoch;
  Bytes seal(const Bytes& plaintext) {
    Bytes buffer(epoch.seal_prefix() + plaintext.size() + epoch.seal_suffix(plaintext.size()));
    std::copy(plaintext.begin(), plaintext.end(), buffer.begin() + epoch.seal_prefix());
    size_t length = 0;
    EXPECT_EQ(seal_dtls13_record(*ctx, epoch, ContentType::application_data, buffer,
                                 plaintext.size(), length),
              SealResult::ok);
    buffer.resize(length);
    return buffer;
  }
};

// Opens `record` with whatever epoch `keys` selects for it.
OpenResult open(CryptoContext& ctx, Dtls13ReadKeys& keys, Bytes record, uint64_t now_ms,
                Bytes* plaintext = nullptr) {
  Dtls13RecordView v;
  if (parse_unified_header(record, 0, v) != Dtls13HeaderResult::ok) {
    return OpenResult::malformed;
  }
  Dtls13ReadEpoch* epoch = keys.select(v.unified.epoch_bits, now_ms);
  if (epoch == nullptr) {
    return OpenResult::unknown_epoch;
  }
  ContentType type{};
  RecordNumber number;
  std::span<uint8_t> pt;
  const OpenResult r = open_dtls13_record(ctx, *epoch, v, type, number, pt);
  if (plaintext != nullptr) {
    plaintext->assign(pt.begin(), pt.end());
  }
  return r;
}

class KeyUpdate : public ::testing::TestWithParam<uint16_t> {};

TEST_P(KeyUpdate, NewEpochOpensAndThePreviousOneOnlyForItsGracePeriod) {
  const auto suite = dtls13_suite(GetParam());
  ASSERT_TRUE(suite);
  const size_t n = hash_length(suite->hash);
  Bytes secret(n);
  for (size_t i = 0; i < n; ++i) secret[i] = static_cast<uint8_t>(0x40 + i);

  Writer w;
  ASSERT_TRUE(w.epoch.install_secret(*w.ctx, Epoch{3}, *suite, secret, {}));
  auto ctx = CryptoContext::create();
  Dtls13ReadKeys keys(64, /*grace_ms=*/10'000);
  ASSERT_TRUE(keys.install(*ctx, Epoch{3}, *suite, secret, {}));

  const Bytes in3 = w.seal({'e', '3'});
  const Bytes late3 = w.seal({'l', 'a', 't', 'e'});  // delayed in the network
  Bytes pt;
  ASSERT_EQ(open(*ctx, keys, in3, 0, &pt), OpenResult::ok);
  EXPECT_EQ(pt, (Bytes{'e', '3'}));

  // Epochs 4 to 7 (the two epoch bits wrap at 4), each from the previous
  // secret: "traffic upd".
  Bytes s = secret;
  for (uint16_t epoch = 4; epoch <= 7; ++epoch) {
    Bytes next(n);
    ASSERT_TRUE(next_dtls13_traffic_secret(suite->hash, s, next));
    s = next;
    ASSERT_TRUE(w.epoch.install_secret(*w.ctx, Epoch{epoch}, *suite, s, {}));
    const uint64_t now = 1000 * epoch;
    // Before the receiver updates, the new epoch is unknown.
    EXPECT_EQ(open(*ctx, keys, w.seal({'x'}), now), OpenResult::unknown_epoch);
    ASSERT_TRUE(keys.update(*ctx, now));
    EXPECT_EQ(keys.current().epoch().value, epoch);
    ASSERT_EQ(open(*ctx, keys, w.seal({'n', 'e', 'w'}), now, &pt), OpenResult::ok);
    EXPECT_EQ(pt, (Bytes{'n', 'e', 'w'}));
  }
  // Epoch 3's late record, four updates later: its two epoch bits now name
  // epoch 7 (§4.2.2), whose keys do not authenticate it; epoch 3 itself
  // was retired long ago.
  EXPECT_NE(open(*ctx, keys, late3, 7000), OpenResult::ok);

  // One more update, then a record of the previous epoch (7) inside and
  // after the grace period.
  Writer old;  // epoch 7's keys, as the peer had them
  ASSERT_TRUE(old.epoch.install_secret(*old.ctx, Epoch{7}, *suite, s, {}, {}, 100));
  const Bytes delayed = old.seal({'d'});
  const Bytes too_late = old.seal({'t'});
  ASSERT_TRUE(keys.update(*ctx, 20'000));
  EXPECT_EQ(keys.current().epoch().value, 8);
  EXPECT_TRUE(keys.previous_readable(25'000));
  ASSERT_EQ(open(*ctx, keys, delayed, 25'000, &pt), OpenResult::ok);
  EXPECT_EQ(pt, (Bytes{'d'}));
  EXPECT_EQ(open(*ctx, keys, too_late, 30'000), OpenResult::unknown_epoch);
  EXPECT_FALSE(keys.previous_readable(30'000));
}

INSTANTIATE_TEST_SUITE_P(Suites, KeyUpdate,
                         ::testing::Values(0x1301, 0x1302, 0x1303, 0x1304, 0x1305));

TEST(KeyUpdate, RefusesSecretsOfTheWrongLength) {
  const auto suite = dtls13_suite(0x1301);
  auto ctx = CryptoContext::create();
  Dtls13ReadKeys keys;
  EXPECT_FALSE(keys.install(*ctx, Epoch{3}, *suite, Bytes(20), {}));
  EXPECT_FALSE(keys.update(*ctx, 0));  // nothing installed
  EXPECT_EQ(keys.select(3, 0), nullptr);
}

}  // namespace
}  // namespace dtlsgw::record
