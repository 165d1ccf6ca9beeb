// The data mode's other suites (bench/loadgen/data_sessions.h): records it
// seals for ChaCha20-Poly1305, AES-128-CCM and CCM-8 sessions open with the
// record layer under the static-keys file's client keys, each at the
// sequence number asked; records sealed under the server keys open in it;
// a flipped byte or the other direction's keys do not.
#include "bench/loadgen/data_sessions.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dataplane/config.h"
#include "dtls_record/record_walker.h"

namespace dtlsgw::loadgen {
namespace {

using record::Aead;

constexpr char kConfig[] = R"(
[dataplane]
workers = [1]
[outside]
port = 0
address = "192.0.2.1"
[inside]
port = 1
address = "10.0.0.1"
[[listener]]
port = 4433
backend = "10.0.0.2:7"
)";

// The static-keys file's names (the record::Aead enumerators).
std::string file_name(Aead aead) {
  switch (aead) {
    case Aead::aes128_gcm:
      return "aes128_gcm";
    case Aead::aes256_gcm:
      return "aes256_gcm";
    case Aead::chacha20_poly1305:
      return "chacha20_poly1305";
    case Aead::aes128_ccm:
      return "aes128_ccm";
    case Aead::aes128_ccm8:
      return "aes128_ccm8";
  }
  return "?";
}

std::string keys_text(std::string_view suite) {
  return "sessions count=3 first_peer=198.18.0.1:10000 ports_per_address=4 listener=4433 "
         "suite=" + std::string(suite) +
         " seed=5eed000000000000000000000000000000000000000000000000000000000002\n";
}

struct Fixture {
  explicit Fixture(Aead aead) {
    std::string error;
    config = dataplane::parse_config(kConfig, "test.toml", error);
    EXPECT_TRUE(config) << error;
    keys = dataplane::StaticKeys::parse(keys_text(file_name(aead)), "keys", error);
    EXPECT_TRUE(keys) << error;
    EXPECT_TRUE(sessions.build(*config, *keys, 0, true, 1, error)) << error;
    crypto = record::CryptoContext::create();
  }
  std::optional<dataplane::Config> config;
  std::optional<dataplane::StaticKeys> keys;
  DataSessions sessions;
  std::unique_ptr<record::CryptoContext> crypto;
};

std::vector<uint8_t> plaintext(size_t n) {
  std::vector<uint8_t> p(n);
  for (size_t i = 0; i < n; ++i) {
    p[i] = static_cast<uint8_t>(i * 7 + 3);
  }
  return p;
}

class OtherSuites : public ::testing::TestWithParam<Aead> {};

TEST_P(OtherSuites, SealedRecordsOpenWithTheClientKeys) {
  Fixture f(GetParam());
  ASSERT_EQ(f.sessions.size(), 3u);
  ASSERT_TRUE(f.sessions.generic(1));
  f.sessions.use_keys(true);
  const auto p = plaintext(200);
  for (const uint64_t sequence : {1u, 2u, 9u}) {
    std::vector<uint8_t> record(p.size() + f.sessions.overhead(1));
    std::copy(p.begin(), p.end(), record.begin() + static_cast<long>(f.sessions.prefix(1)));
    ASSERT_TRUE(f.sessions.seal(1, sequence, record, p.size())) << sequence;

    dataplane::StaticSession s;
    f.keys->session(1, s);
    const record::AeadParams& params = record::aead_params(s.aead);
    for (const bool flip : {false, true}) {
      std::vector<uint8_t> copy = record;
      if (flip) {
        copy[copy.size() / 2] ^= 0x01;
      }
      record::ReadEpoch read(128);
      ASSERT_TRUE(read.install(*f.crypto, record::Epoch{1}, s.aead,
                               {s.client_write_key, params.key_length},
                               {s.client_write_iv, params.fixed_iv_length}));
      record::RecordWalker walker(copy);
      record::RecordView view;
      ASSERT_TRUE(walker.next(view));
      EXPECT_EQ(view.header.number.sequence(), sequence);
      std::span<uint8_t> opened;
      const record::OpenResult r = record::open_record(*f.crypto, read, view, opened);
      if (flip) {
        EXPECT_NE(r, record::OpenResult::ok);
      } else {
        ASSERT_EQ(r, record::OpenResult::ok);
        EXPECT_TRUE(std::equal(opened.begin(), opened.end(), p.begin(), p.end()));
      }
    }
  }
}

TEST_P(OtherSuites, RecordsUnderTheServerKeysOpenAndOthersDoNot) {
  Fixture f(GetParam());
  dataplane::StaticSession s;
  f.keys->session(2, s);
  const record::AeadParams& params = record::aead_params(s.aead);
  const auto p = plaintext(64);
  const auto sealed = [&](bool server_keys, uint64_t sequence) {
    record::WriteEpoch write;
    EXPECT_TRUE(write.install(
        *f.crypto, record::Epoch{1}, s.aead,
        {server_keys ? s.server_write_key : s.client_write_key, params.key_length},
        {server_keys ? s.server_write_iv : s.client_write_iv, params.fixed_iv_length}, sequence));
    std::vector<uint8_t> record(p.size() + write.seal_prefix() + write.tag_length());
    std::copy(p.begin(), p.end(), record.begin() + static_cast<long>(write.seal_prefix()));
    size_t length = 0;
    EXPECT_EQ(record::seal_record(*f.crypto, write, record::ContentType::application_data, record,
                                  p.size(), length),
              record::SealResult::ok);
    EXPECT_EQ(length, record.size());
    return record;
  };
  f.sessions.use_keys(false);
  auto good = sealed(true, 5);
  std::span<uint8_t> opened;
  ASSERT_TRUE(f.sessions.open(2, good, opened));
  EXPECT_TRUE(std::equal(opened.begin(), opened.end(), p.begin(), p.end()));

  auto client = sealed(false, 6);
  EXPECT_FALSE(f.sessions.open(2, client, opened));
  auto tampered = sealed(true, 7);  // fresh: not refused as a replay
  tampered.back() ^= 0x80;
  EXPECT_FALSE(f.sessions.open(2, tampered, opened));
}

INSTANTIATE_TEST_SUITE_P(Suites, OtherSuites,
                         ::testing::Values(Aead::chacha20_poly1305, Aead::aes128_ccm,
                                           Aead::aes128_ccm8),
                         [](const auto& info) { return file_name(info.param); });

TEST(DataSessions, AesGcmSessionsUseTheFastGenerator) {
  Fixture f(Aead::aes128_gcm);
  EXPECT_FALSE(f.sessions.generic(0));
  EXPECT_EQ(f.sessions.overhead(0), kRecordOverhead);
}

}  // namespace
}  // namespace dtlsgw::loadgen
