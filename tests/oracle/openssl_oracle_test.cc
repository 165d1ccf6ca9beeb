// The oracle (STYLE.md rule 8): a real OpenSSL 3.0 DTLS 1.2 client and
// server complete a handshake over memory for every suite dtlsgw serves;
// the test derives the record keys the way the control process will (key
// log master secret, TLS1-PRF "key expansion") and checks that records cross
// between OpenSSL and dtls_record in both directions, byte for byte where
// the construction is deterministic.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dtls_record/record_protection.h"
#include "tests/oracle/datagram_bio.h"
#include "tests/oracle/dtls_pair.h"
#include "tests/oracle/session_keys.h"

namespace dtlsgw::oracle {

// gtest prints the parameter of a failing test with this.
void PrintTo(const SuiteCase& suite, std::ostream* os) { *os << suite.openssl_name; }

namespace {

using record::Aead;
using record::ContentType;
using record::CryptoContext;
using record::Epoch;
using record::OpenRequest;
using record::OpenResult;
using record::ReadEpoch;
using record::RecordNumber;
using record::RecordView;
using record::RecordWalker;
using record::SealRequest;
using record::SealResult;
using record::WriteEpoch;
using Bytes = std::vector<uint8_t>;

// Every DTLS 1.2 AEAD suite OpenSSL 3.0 has (DESIGN.md, "Handshake engine").
constexpr SuiteCase kSuites[] = {
    {"ECDHE-ECDSA-AES128-GCM-SHA256", KeyExchange::ecdhe_ecdsa, Aead::aes128_gcm, "SHA256"},
    {"ECDHE-ECDSA-AES256-GCM-SHA384", KeyExchange::ecdhe_ecdsa, Aead::aes256_gcm, "SHA384"},
    {"ECDHE-ECDSA-CHACHA20-POLY1305", KeyExchange::ecdhe_ecdsa, Aead::chacha20_poly1305, "SHA256"},
    {"ECDHE-ECDSA-AES128-CCM", KeyExchange::ecdhe_ecdsa, Aead::aes128_ccm, "SHA256"},
    {"ECDHE-ECDSA-AES128-CCM8", KeyExchange::ecdhe_ecdsa, Aead::aes128_ccm8, "SHA256"},
    {"ECDHE-RSA-AES128-GCM-SHA256", KeyExchange::ecdhe_rsa, Aead::aes128_gcm, "SHA256"},
    {"ECDHE-RSA-AES256-GCM-SHA384", KeyExchange::ecdhe_rsa, Aead::aes256_gcm, "SHA384"},
    {"ECDHE-RSA-CHACHA20-POLY1305", KeyExchange::ecdhe_rsa, Aead::chacha20_poly1305, "SHA256"},
    {"PSK-AES128-GCM-SHA256", KeyExchange::psk, Aead::aes128_gcm, "SHA256"},
    {"PSK-AES256-GCM-SHA384", KeyExchange::psk, Aead::aes256_gcm, "SHA384"},
    {"PSK-CHACHA20-POLY1305", KeyExchange::psk, Aead::chacha20_poly1305, "SHA256"},
    {"PSK-AES128-CCM", KeyExchange::psk, Aead::aes128_ccm, "SHA256"},
    {"PSK-AES128-CCM8", KeyExchange::psk, Aead::aes128_ccm8, "SHA256"},
    {"ECDHE-PSK-CHACHA20-POLY1305", KeyExchange::ecdhe_psk, Aead::chacha20_poly1305, "SHA256"},
};

// dtls_record's first write sequence number in the tests that seal for
// OpenSSL: above every epoch-1 number OpenSSL uses here (checked), as the
// handover starts the dataplane above OpenSSL's last write (DESIGN.md).
constexpr uint64_t kFirstSealedSequence = 16;

constexpr size_t kSizes[] = {1, 100, 1400};

Bytes pattern(size_t n, uint8_t seed) {
  Bytes v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i] = static_cast<uint8_t>(seed + 13 * i + (i >> 8));
  }
  return v;
}

std::string hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : bytes) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

// Bytes equal, or where they first differ (whole records make unreadable
// gtest diffs).
::testing::AssertionResult same_bytes(const Bytes& ours, const Bytes& theirs) {
  if (ours == theirs) {
    return ::testing::AssertionSuccess();
  }
  const auto first_difference =
      std::mismatch(ours.begin(), ours.end(), theirs.begin(), theirs.end()).first;
  const size_t at = static_cast<size_t>(first_difference - ours.begin());
  const size_t shown = std::min<size_t>(32, std::min(ours.size(), theirs.size()));
  return ::testing::AssertionFailure()
         << "dtls_record " << ours.size() << " bytes, OpenSSL " << theirs.size()
         << " bytes, first difference at byte " << at << "\n  dtls_record "
         << hex(std::span(ours).first(shown)) << "...\n  OpenSSL     "
         << hex(std::span(theirs).first(shown)) << "...";
}

std::vector<RecordView> walk(Bytes& datagram) {
  RecordWalker walker(datagram);
  std::vector<RecordView> records;
  RecordView v;
  while (walker.next(v)) {
    records.push_back(v);
  }
  if (walker.error() != record::HeaderResult::ok) {
    throw std::runtime_error("unframeable record: " + std::string(to_string(walker.error())));
  }
  return records;
}

// The highest epoch-1 sequence number in every datagram sent one way.
std::optional<uint64_t> highest_epoch1_sequence(const DatagramQueue& queue) {
  std::optional<uint64_t> highest;
  for (Bytes d : queue.sent) {
    for (const RecordView& r : walk(d)) {
      if (r.header.number.epoch() == Epoch{1}) {
        highest = std::max(highest.value_or(0), r.header.number.sequence());
      }
    }
  }
  return highest;
}

// The one datagram in flight on `queue`, taken off the wire.
Bytes take_datagram(DatagramQueue& queue) {
  if (queue.in_flight.size() != 1) {
    throw std::runtime_error("expected one datagram in flight, found " +
                             std::to_string(queue.in_flight.size()));
  }
  Bytes d = std::move(queue.in_flight.front());
  queue.in_flight.pop_front();
  return d;
}

// SSL_write of one application record; returns the datagram it produced.
Bytes openssl_write(SSL* ssl, DatagramQueue& wire, const Bytes& plaintext) {
  const int n = SSL_write(ssl, plaintext.data(), static_cast<int>(plaintext.size()));
  if (n != static_cast<int>(plaintext.size())) {
    throw std::runtime_error("SSL_write returned " + std::to_string(n));
  }
  return take_datagram(wire);
}

struct ReadOutcome {
  int result = 0;
  int error = SSL_ERROR_NONE;
  Bytes data;
};

ReadOutcome openssl_read(SSL* ssl) {
  Bytes buf(2 * record::kMaxPlaintextLength);
  ReadOutcome out;
  out.result = SSL_read(ssl, buf.data(), static_cast<int>(buf.size()));
  if (out.result > 0) {
    buf.resize(static_cast<size_t>(out.result));
    out.data = std::move(buf);
  } else {
    out.error = SSL_get_error(ssl, out.result);
  }
  // A discarded record may leave a reason on the error queue; it is not
  // this test's error.
  ERR_clear_error();
  return out;
}

std::string test_name(const ::testing::TestParamInfo<SuiteCase>& info) {
  std::string n = info.param.openssl_name;
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
}

class OpenSslOracle : public ::testing::TestWithParam<SuiteCase> {
 protected:
  // One direction of the session: who writes, who reads, the wire between
  // them and the writer's keys.
  struct Direction {
    const char* name;
    SSL* writer;
    SSL* reader;
    DatagramQueue* wire;
    const Bytes* key;
    const Bytes* iv;
  };

  void SetUp() override {
    pair_ = std::make_unique<DtlsPair>(GetParam());
    ASSERT_TRUE(pair_->handshake()) << pair_->error();
    ctx_ = CryptoContext::create();
    ASSERT_NE(ctx_, nullptr);

    ASSERT_TRUE(pair_->client_key_log().has_value()) << "no CLIENT_RANDOM line logged";
    SSL_get_client_random(client(), client_random_.data(), client_random_.size());
    SSL_get_server_random(client(), server_random_.data(), server_random_.size());
    keys_ =
        derive_session_keys(GetParam().aead, GetParam().prf_digest,
                            pair_->client_key_log()->master_secret, client_random_, server_random_);
  }

  SSL* client() const { return pair_->client(); }
  SSL* server() const { return pair_->server(); }

  std::array<Direction, 2> directions() {
    return {{
        {"client to server", client(), server(), &pair_->to_server(), &keys_.client_write_key,
         &keys_.client_write_iv},
        {"server to client", server(), client(), &pair_->to_client(), &keys_.server_write_key,
         &keys_.server_write_iv},
    }};
  }

  // Epoch 1 with the keys of `d`'s writer.
  void install(ReadEpoch& epoch, const Direction& d) {
    if (!epoch.install(*ctx_, Epoch{1}, GetParam().aead, *d.key, *d.iv)) {
      throw std::runtime_error("ReadEpoch::install refused the derived keys");
    }
  }
  void install(WriteEpoch& epoch, const Direction& d, uint64_t first_sequence) {
    if (!epoch.install(*ctx_, Epoch{1}, GetParam().aead, *d.key, *d.iv, first_sequence)) {
      throw std::runtime_error("WriteEpoch::install refused the derived keys");
    }
  }

  // The handover rule: dtls_record writes only above every epoch-1 number
  // OpenSSL used in `d`, which these tests keep below kFirstSealedSequence.
  ::testing::AssertionResult openssl_stayed_below_first_sealed_sequence(const Direction& d) {
    const auto highest = highest_epoch1_sequence(*d.wire);
    if (!highest.has_value()) {
      return ::testing::AssertionFailure() << "OpenSSL wrote no epoch-1 record";
    }
    if (*highest >= kFirstSealedSequence) {
      return ::testing::AssertionFailure() << "OpenSSL used epoch-1 sequence " << *highest;
    }
    return ::testing::AssertionSuccess();
  }

  Bytes seal(WriteEpoch& epoch, const Bytes& plaintext,
             ContentType type = ContentType::application_data) {
    Bytes buf(epoch.seal_prefix() + plaintext.size() + epoch.tag_length());
    std::copy(plaintext.begin(), plaintext.end(),
              buf.begin() + static_cast<long>(epoch.seal_prefix()));
    size_t length = 0;
    const SealResult r = seal_record(*ctx_, epoch, type, buf, plaintext.size(), length);
    if (r != SealResult::ok) {
      throw std::runtime_error("seal_record: " + std::string(to_string(r)));
    }
    buf.resize(length);
    return buf;
  }

  // One record sealed by dtls_record's AEAD engine (RecordCipher and
  // CryptoContext, below seal_record) with a caller-chosen explicit nonce,
  // for GCM records whose nonce OpenSSL chose. The additional data is RFC
  // 6347 §4.1.2.1 / RFC 5246 §6.2.3.3: epoch ‖ sequence ‖ type ‖ version ‖
  // plaintext length.
  Bytes seal_with_explicit_nonce(const Direction& d, RecordNumber number, ContentType type,
                                 std::span<const uint8_t> explicit_nonce, const Bytes& plaintext) {
    record::RecordCipher cipher;
    if (!cipher.init(*ctx_, GetParam().aead, *d.key, *d.iv) ||
        explicit_nonce.size() != cipher.params().explicit_nonce_length) {
      throw std::runtime_error("seal_with_explicit_nonce: no explicit nonce in this suite");
    }
    const size_t prefix = record::kRecordHeaderLength + explicit_nonce.size();
    const size_t tag_length = cipher.params().tag_length;
    Bytes out(prefix + plaintext.size() + tag_length);
    record::RecordHeader header;
    header.type = type;
    header.number = number;
    header.length = static_cast<uint16_t>(out.size() - record::kRecordHeaderLength);
    record::write_record_header(header, out.data());
    std::copy(explicit_nonce.begin(), explicit_nonce.end(),
              out.begin() + record::kRecordHeaderLength);
    std::copy(plaintext.begin(), plaintext.end(), out.begin() + static_cast<long>(prefix));

    record::AeadOp& op = ctx_->ops()[0];
    op = record::AeadOp{};
    op.cipher = &cipher;
    op.encrypt = true;
    cipher.make_nonce(number, out.data() + record::kRecordHeaderLength, op.nonce);
    op.nonce_length = 12;
    for (size_t i = 0; i < 8; ++i) {
      op.aad_storage[i] = static_cast<uint8_t>(number.packed() >> (56 - 8 * i));
    }
    op.aad_storage[8] = static_cast<uint8_t>(type);
    op.aad_storage[9] = 0xfe;  // DTLS 1.2
    op.aad_storage[10] = 0xfd;
    op.aad_storage[11] = static_cast<uint8_t>(plaintext.size() >> 8);
    op.aad_storage[12] = static_cast<uint8_t>(plaintext.size());
    op.aad = op.aad_storage;
    op.aad_length = 13;
    op.data = out.data() + prefix;
    op.length = plaintext.size();
    ctx_->run(1);
    if (op.engine_failed) {
      throw std::runtime_error("AEAD engine failed");
    }
    std::copy(op.tag, op.tag + tag_length,
              out.begin() + static_cast<long>(prefix + plaintext.size()));
    return out;
  }

  std::unique_ptr<DtlsPair> pair_;
  std::unique_ptr<CryptoContext> ctx_;
  std::array<uint8_t, SSL3_RANDOM_SIZE> client_random_{};
  std::array<uint8_t, SSL3_RANDOM_SIZE> server_random_{};
  SessionKeys keys_;
};

INSTANTIATE_TEST_SUITE_P(Suites, OpenSslOracle, ::testing::ValuesIn(kSuites), test_name);

// The suite OpenSSL negotiated maps, by its IANA number, to the AEAD the
// table expects; its PRF hash and key length agree with what dtlsgw derives.
TEST_P(OpenSslOracle, HandshakeNegotiatesTheSuiteAndDtlsgwMapsItToItsAead) {
  EXPECT_EQ(SSL_version(client()), DTLS1_2_VERSION);
  EXPECT_EQ(SSL_version(server()), DTLS1_2_VERSION);
  for (SSL* ssl : {client(), server()}) {
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
    ASSERT_NE(cipher, nullptr);
    EXPECT_STREQ(SSL_CIPHER_get_name(cipher), GetParam().openssl_name);
    const auto aead = aead_for_suite(SSL_CIPHER_get_protocol_id(cipher));
    ASSERT_TRUE(aead.has_value()) << std::hex << SSL_CIPHER_get_protocol_id(cipher);
    EXPECT_EQ(*aead, GetParam().aead) << to_string(*aead);
    EXPECT_TRUE(SSL_CIPHER_is_aead(cipher));

    const EVP_MD* prf = SSL_CIPHER_get_handshake_digest(cipher);
    ASSERT_NE(prf, nullptr);
    EXPECT_TRUE(EVP_MD_is_a(prf, GetParam().prf_digest)) << EVP_MD_get0_name(prf);
    const EVP_CIPHER* evp = EVP_get_cipherbynid(SSL_CIPHER_get_cipher_nid(cipher));
    ASSERT_NE(evp, nullptr);
    EXPECT_EQ(static_cast<size_t>(EVP_CIPHER_get_key_length(evp)),
              record::aead_params(GetParam().aead).key_length);
  }
  // Every datagram of the handshake was consumed.
  EXPECT_TRUE(pair_->to_server().in_flight.empty());
  EXPECT_TRUE(pair_->to_client().in_flight.empty());
}

// The key log is what the control process derives keys from: both ends log
// one CLIENT_RANDOM line, for this session's client random, holding the
// session's master secret.
TEST_P(OpenSslOracle, KeyLogHoldsTheSessionMasterSecretOnBothSides) {
  const auto& c = pair_->client_key_log();
  const auto& s = pair_->server_key_log();
  ASSERT_TRUE(c.has_value());
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(pair_->client_key_log_lines(), 1);
  EXPECT_EQ(pair_->server_key_log_lines(), 1);
  EXPECT_EQ(c->client_random, client_random_);
  EXPECT_EQ(s->client_random, client_random_);
  EXPECT_EQ(c->master_secret, s->master_secret);

  Bytes master(SSL_MAX_MASTER_KEY_LENGTH);
  master.resize(
      SSL_SESSION_get_master_key(SSL_get_session(server()), master.data(), master.size()));
  EXPECT_EQ(c->master_secret, master);
  std::array<uint8_t, SSL3_RANDOM_SIZE> server_random_seen_by_server{};
  SSL_get_server_random(server(), server_random_seen_by_server.data(),
                        server_random_seen_by_server.size());
  EXPECT_EQ(server_random_seen_by_server, server_random_);

  const auto& p = record::aead_params(GetParam().aead);
  EXPECT_EQ(keys_.client_write_key.size(), p.key_length);
  EXPECT_EQ(keys_.client_write_iv.size(), p.fixed_iv_length);
  EXPECT_NE(keys_.client_write_key, keys_.server_write_key);
}

// Each side's only epoch-1 handshake record is its Finished (RFC 5246
// §7.4.9: 12 bytes of verify_data after the 12-byte DTLS handshake header,
// RFC 6347 §4.2.2). It opens with the derived keys at epoch 1, sequence 0:
// the record the handover must parse out of OpenSSL's final flight.
TEST_P(OpenSslOracle, BothFinishedRecordsOpenWithTheDerivedKeys) {
  for (const Direction& d : directions()) {
    SCOPED_TRACE(d.name);
    ReadEpoch read;
    install(read, d);
    size_t finished = 0;
    for (Bytes datagram : d.wire->sent) {
      for (const RecordView& r : walk(datagram)) {
        if (r.header.number.epoch() != Epoch{1}) {
          continue;
        }
        std::span<uint8_t> plaintext;
        ASSERT_EQ(open_record(*ctx_, read, r, plaintext), OpenResult::ok);
        EXPECT_EQ(r.header.type, ContentType::handshake);
        EXPECT_EQ(r.header.number.sequence(), 0u);
        ASSERT_EQ(plaintext.size(), 24u);
        EXPECT_EQ(plaintext[0], 20) << "HandshakeType finished";
        ++finished;
      }
    }
    EXPECT_EQ(finished, 1u);
  }
}

// OpenSSL → dtls_record, one record per datagram, at several sizes.
TEST_P(OpenSslOracle, OpenSslRecordsOpenInDtlsRecord) {
  for (const Direction& d : directions()) {
    SCOPED_TRACE(d.name);
    ReadEpoch read;
    install(read, d);
    uint64_t expected_sequence = 1;  // 0 was the Finished
    for (size_t size : kSizes) {
      SCOPED_TRACE(size);
      const Bytes plaintext = pattern(size, static_cast<uint8_t>(size));
      Bytes datagram = openssl_write(d.writer, *d.wire, plaintext);
      const auto records = walk(datagram);
      ASSERT_EQ(records.size(), 1u);
      EXPECT_EQ(records[0].header.number, RecordNumber(Epoch{1}, expected_sequence++));
      std::span<uint8_t> opened;
      ASSERT_EQ(open_record(*ctx_, read, records[0], opened), OpenResult::ok);
      EXPECT_EQ(records[0].header.type, ContentType::application_data);
      EXPECT_EQ(Bytes(opened.begin(), opened.end()), plaintext);
    }
    EXPECT_EQ(read.records_opened(), std::size(kSizes));
    EXPECT_EQ(read.forgeries(), 0u);
  }
}

// RFC 6347 §4.1.1: "Multiple DTLS records may be placed in a single
// datagram." Four of OpenSSL's records in one datagram open as one burst.
TEST_P(OpenSslOracle, SeveralOpenSslRecordsInOneDatagramOpenAsOneBurst) {
  const size_t sizes[] = {1, 100, 1400, 37};
  for (const Direction& d : directions()) {
    SCOPED_TRACE(d.name);
    Bytes datagram;
    std::vector<Bytes> plaintexts;
    for (size_t size : sizes) {
      plaintexts.push_back(pattern(size, static_cast<uint8_t>(3 * size + 1)));
      const Bytes one = openssl_write(d.writer, *d.wire, plaintexts.back());
      datagram.insert(datagram.end(), one.begin(), one.end());
    }
    ReadEpoch read;
    install(read, d);
    const auto records = walk(datagram);
    ASSERT_EQ(records.size(), std::size(sizes));
    std::vector<OpenRequest> requests(records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      requests[i].epoch = &read;
      requests[i].record = records[i];
    }
    EXPECT_EQ(open_burst(*ctx_, requests), records.size());
    for (size_t i = 0; i < requests.size(); ++i) {
      SCOPED_TRACE(i);
      ASSERT_EQ(requests[i].result, OpenResult::ok) << to_string(requests[i].result);
      EXPECT_EQ(requests[i].type, ContentType::application_data);
      EXPECT_EQ(requests[i].number, RecordNumber(Epoch{1}, 1 + i));
      EXPECT_EQ(Bytes(requests[i].plaintext.begin(), requests[i].plaintext.end()), plaintexts[i]);
    }
  }
}

// dtls_record → OpenSSL: SSL_read returns exactly what dtls_record sealed,
// one record per datagram, starting above OpenSSL's own epoch-1 numbers.
TEST_P(OpenSslOracle, DtlsRecordRecordsAreReadByOpenSsl) {
  for (const Direction& d : directions()) {
    SCOPED_TRACE(d.name);
    ASSERT_TRUE(openssl_stayed_below_first_sealed_sequence(d));
    WriteEpoch write;
    install(write, d, kFirstSealedSequence);
    for (size_t size : kSizes) {
      SCOPED_TRACE(size);
      const Bytes plaintext = pattern(size, static_cast<uint8_t>(size + 5));
      d.wire->in_flight.push_back(seal(write, plaintext));
      const ReadOutcome got = openssl_read(d.reader);
      ASSERT_GT(got.result, 0) << "SSL_get_error " << got.error;
      EXPECT_EQ(got.data, plaintext);
    }
    const ReadOutcome none = openssl_read(d.reader);
    EXPECT_LE(none.result, 0);
    EXPECT_EQ(none.error, SSL_ERROR_WANT_READ);
  }
}

// Several records sealed as one burst and sent in one datagram: successive
// SSL_read calls return them one by one, in order.
TEST_P(OpenSslOracle, SeveralSealedRecordsInOneDatagramAreReadOneByOne) {
  const size_t sizes[] = {1, 100, 1400, 37};
  for (const Direction& d : directions()) {
    SCOPED_TRACE(d.name);
    ASSERT_TRUE(openssl_stayed_below_first_sealed_sequence(d));
    WriteEpoch write;
    install(write, d, kFirstSealedSequence);
    std::vector<Bytes> plaintexts;
    std::vector<Bytes> buffers;
    std::vector<SealRequest> requests(std::size(sizes));
    for (size_t i = 0; i < std::size(sizes); ++i) {
      plaintexts.push_back(pattern(sizes[i], static_cast<uint8_t>(i + 40)));
      buffers.emplace_back(write.seal_prefix() + sizes[i] + write.tag_length());
      std::copy(plaintexts[i].begin(), plaintexts[i].end(),
                buffers[i].begin() + static_cast<long>(write.seal_prefix()));
      requests[i].epoch = &write;
      requests[i].buffer = buffers[i];
      requests[i].plaintext_length = sizes[i];
    }
    ASSERT_EQ(seal_burst(*ctx_, requests), requests.size());
    Bytes datagram;
    for (size_t i = 0; i < requests.size(); ++i) {
      EXPECT_EQ(requests[i].number, RecordNumber(Epoch{1}, kFirstSealedSequence + i));
      datagram.insert(datagram.end(), buffers[i].begin(),
                      buffers[i].begin() + static_cast<long>(requests[i].record_length));
    }
    d.wire->in_flight.push_back(std::move(datagram));
    for (size_t i = 0; i < plaintexts.size(); ++i) {
      SCOPED_TRACE(i);
      const ReadOutcome got = openssl_read(d.reader);
      ASSERT_GT(got.result, 0) << "SSL_get_error " << got.error;
      EXPECT_EQ(got.data, plaintexts[i]);
    }
    const ReadOutcome none = openssl_read(d.reader);
    EXPECT_LE(none.result, 0);
    EXPECT_EQ(none.error, SSL_ERROR_WANT_READ);
  }
}

// How OpenSSL 3.0 fills the 8-byte explicit nonce of its epoch-1 records,
// which decides whether dtls_record can reproduce them byte for byte:
// - CCM and CCM-8: epoch ‖ sequence, the record number (the provider copies
//   it from the additional data), as dtls_record does.
// - GCM: NOT the record number. The provider draws a random 64-bit
//   invocation field when the write key is installed (gcm_tls_iv_set_fixed,
//   SP 800-38D §8.2.1) and adds one per record (getivgen). RFC 5288 §3 lets
//   the sender choose; both constructions are unique per key on their own.
// - ChaCha20-Poly1305: nothing explicit (RFC 7905 §2).
// Every epoch-1 record of each direction is checked, from the Finished on.
TEST_P(OpenSslOracle, OpenSslExplicitNonceConstructionIsAsDocumented) {
  const Aead aead = GetParam().aead;
  const bool gcm = aead == Aead::aes128_gcm || aead == Aead::aes256_gcm;
  for (const Direction& d : directions()) {
    SCOPED_TRACE(d.name);
    for (size_t size : kSizes) {
      openssl_write(d.writer, *d.wire, pattern(size, 1));
    }
    // The Finished (12-byte handshake header and 12 bytes of verify_data),
    // then the application records.
    std::vector<size_t> plaintext_sizes = {24};
    plaintext_sizes.insert(plaintext_sizes.end(), std::begin(kSizes), std::end(kSizes));
    const record::AeadParams& p = record::aead_params(aead);
    std::vector<std::pair<RecordNumber, uint64_t>> seen;  // number, explicit nonce
    for (Bytes datagram : d.wire->sent) {
      for (const RecordView& r : walk(datagram)) {
        if (r.header.number.epoch() != Epoch{1}) {
          continue;
        }
        ASSERT_LT(seen.size(), plaintext_sizes.size());
        EXPECT_EQ(r.fragment.size(),
                  p.explicit_nonce_length + plaintext_sizes[seen.size()] + p.tag_length);
        uint64_t explicit_nonce = 0;
        for (size_t i = 0; i < p.explicit_nonce_length; ++i) {
          explicit_nonce = explicit_nonce << 8 | r.fragment[i];
        }
        seen.emplace_back(r.header.number, explicit_nonce);
      }
    }
    ASSERT_EQ(seen.size(), plaintext_sizes.size());
    for (size_t i = 0; i < seen.size(); ++i) {
      SCOPED_TRACE(i);
      EXPECT_EQ(seen[i].first, RecordNumber(Epoch{1}, i));
      if (p.explicit_nonce_length == 0) {
        continue;
      }
      if (gcm) {
        EXPECT_EQ(seen[i].second, seen[0].second + i) << "a counter from a random start";
      } else {
        EXPECT_EQ(seen[i].second, seen[i].first.packed()) << "the record number";
      }
    }
    if (gcm) {
      // Fails with probability 2^-64 per direction: the start is random.
      EXPECT_NE(seen[0].second, seen[0].first.packed());
    }
  }
}

// Same key, same record number, same plaintext: dtls_record's record is
// OpenSSL's, byte for byte, for ChaCha20-Poly1305 and CCM. For GCM the
// explicit nonce differs by construction (see the test above), so the
// header must match, dtls_record's explicit nonce must be the record number,
// and dtls_record's AEAD given OpenSSL's explicit nonce must reproduce
// OpenSSL's record byte for byte. Sealing twice under one number and one
// plaintext is a test-only act that reveals nothing.
TEST_P(OpenSslOracle, SealingReproducesOpenSslRecordsByteForByte) {
  const Aead aead = GetParam().aead;
  const bool gcm = aead == Aead::aes128_gcm || aead == Aead::aes256_gcm;
  for (const Direction& d : directions()) {
    SCOPED_TRACE(d.name);
    for (size_t size : kSizes) {
      SCOPED_TRACE(size);
      const Bytes plaintext = pattern(size, static_cast<uint8_t>(size + 9));
      Bytes theirs = openssl_write(d.writer, *d.wire, plaintext);
      const auto records = walk(theirs);
      ASSERT_EQ(records.size(), 1u);
      const RecordNumber number = records[0].header.number;
      WriteEpoch write;
      install(write, d, number.sequence());
      const Bytes ours = seal(write, plaintext);
      if (!gcm) {
        EXPECT_TRUE(same_bytes(ours, theirs));
        continue;
      }
      ASSERT_EQ(ours.size(), theirs.size());
      EXPECT_TRUE(
          std::equal(ours.begin(), ours.begin() + record::kRecordHeaderLength, theirs.begin()));
      Bytes number_bytes(8);
      for (size_t i = 0; i < 8; ++i) {
        number_bytes[i] = static_cast<uint8_t>(number.packed() >> (56 - 8 * i));
      }
      EXPECT_TRUE(std::equal(number_bytes.begin(), number_bytes.end(),
                             ours.begin() + record::kRecordHeaderLength));
      EXPECT_TRUE(same_bytes(seal_with_explicit_nonce(d, number, ContentType::application_data,
                                                      records[0].fragment.first(8), plaintext),
                             theirs));
    }
  }
}

// A record dtls_record sealed under a wrong key or a wrong fixed IV never
// surfaces from SSL_read: DTLS discards it silently (RFC 6347 §4.1.2.7) and
// does not mark its number as seen, so the genuine record with the same
// number is still read afterwards.
TEST_P(OpenSslOracle, RecordUnderAWrongKeyNeverSurfaces) {
  for (const Direction& d : directions()) {
    SCOPED_TRACE(d.name);
    ASSERT_TRUE(openssl_stayed_below_first_sealed_sequence(d));
    Bytes wrong_key = *d.key;
    wrong_key[0] ^= 0x01;
    Bytes wrong_iv = *d.iv;
    wrong_iv[wrong_iv.size() - 1] ^= 0x80;
    const Bytes forged = pattern(64, 0xee);
    using KeyAndIv = std::pair<const Bytes*, const Bytes*>;
    for (const auto& [key, iv] : {KeyAndIv{&wrong_key, d.iv}, KeyAndIv{d.key, &wrong_iv}}) {
      WriteEpoch bad;
      ASSERT_TRUE(bad.install(*ctx_, Epoch{1}, GetParam().aead, *key, *iv, kFirstSealedSequence));
      d.wire->in_flight.push_back(seal(bad, forged));
      const ReadOutcome got = openssl_read(d.reader);
      EXPECT_LE(got.result, 0);
      EXPECT_EQ(got.error, SSL_ERROR_WANT_READ);
      EXPECT_TRUE(d.wire->in_flight.empty()) << "OpenSSL did not consume the record";
    }
    WriteEpoch good;
    install(good, d, kFirstSealedSequence);
    const Bytes genuine = pattern(64, 0x11);
    d.wire->in_flight.push_back(seal(good, genuine));
    const ReadOutcome got = openssl_read(d.reader);
    ASSERT_GT(got.result, 0) << "SSL_get_error " << got.error;
    EXPECT_EQ(got.data, genuine);
  }
}

// Alerts cross too (the dataplane seals close_notify at an AEAD limit,
// DESIGN.md): OpenSSL's close_notify opens in dtls_record as an alert
// record {warning(1), close_notify(0)} (RFC 5246 §7.2), and dtls_record's
// close_notify makes SSL_read report a clean shutdown.
TEST_P(OpenSslOracle, CloseNotifyCrossesBothWays) {
  const Bytes close_notify = {1, 0};
  for (const Direction& d : directions()) {
    SCOPED_TRACE(d.name);
    // OpenSSL → dtls_record.
    EXPECT_GE(SSL_shutdown(d.writer), 0);
    Bytes datagram = take_datagram(*d.wire);
    const auto records = walk(datagram);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].header.type, ContentType::alert);
    ReadEpoch read;
    install(read, d);
    std::span<uint8_t> opened;
    ASSERT_EQ(open_record(*ctx_, read, records[0], opened), OpenResult::ok);
    EXPECT_EQ(Bytes(opened.begin(), opened.end()), close_notify);
  }
  for (const Direction& d : directions()) {
    SCOPED_TRACE(d.name);
    // dtls_record → OpenSSL.
    ASSERT_TRUE(openssl_stayed_below_first_sealed_sequence(d));
    WriteEpoch write;
    install(write, d, kFirstSealedSequence);
    d.wire->in_flight.push_back(seal(write, close_notify, ContentType::alert));
    const ReadOutcome got = openssl_read(d.reader);
    EXPECT_EQ(got.result, 0);
    EXPECT_EQ(got.error, SSL_ERROR_ZERO_RETURN);
    EXPECT_TRUE(SSL_get_shutdown(d.reader) & SSL_RECEIVED_SHUTDOWN);
  }
}

}  // namespace
}  // namespace dtlsgw::oracle
