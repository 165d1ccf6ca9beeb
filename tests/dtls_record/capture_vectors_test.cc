// Real DTLS 1.3 (wolfSSL 5.6.4) and DTLS 1.2 + RFC 9146 CID (Mbed TLS 3.6.6)
// captures from ../shared/vectors: every datagram parsed, every protected
// record opened in both directions with keys derived from the key log,
// and epoch, sequence number, content type and plaintext checked against
// the README's per-record tables. Then the same plaintexts are sealed
// with the same keys and record numbers and must equal the captured bytes
// (both producers' padding policies are known: wolfSSL none, Mbed TLS to a
// multiple of 16).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "dtls_record/cid_record.h"
#include "dtls_record/dtls13_protection.h"
#include "dtls_record/hkdf_label.h"
#include "tools/capture_decoder.h"

namespace dtlsgw::record {
namespace {

using Bytes = std::vector<uint8_t>;
using tools::DecodedRecord;
using tools::DecodeOutput;

const std::string kDir = VECTORS_DIR;

Bytes hex(const std::string& s) {
  Bytes b;
  for (size_t i = 0; i + 1 < s.size(); i += 2) {
    b.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
  }
  return b;
}
Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

struct Expect {
  size_t frame;
  bool c2s;
  uint64_t epoch, seq;
  uint8_t type;
  Bytes plaintext;  // empty: not checked (handshake messages)
};

const Bytes kC1 = text("C2S#1: hello from the DTLS client");
const Bytes kS1 = text("S2C#1: server reply to record one");
const Bytes kC2 = text("C2S#2: second client record, 0123456789abcdef");
const Bytes kS2 = text("S2C#2: the server says hello back, ABCDEFGHIJKLMNOPQRSTUVWXYZ");
const Bytes kC3 = text("C2S#3: third and last client message.");
const Bytes kS3 = text("S2C#3: final server reply.");
const Bytes kAck = hex("001000000000000000020000000000000000");
const Bytes kCloseNotify = {1, 0};

// The wolfSSL table (A, B, B2, C1; C2 stops after frame 16).
std::vector<Expect> wolfssl_table(bool close_notify) {
  std::vector<Expect> t = {
      {5, false, 2, 0, 22, {}},      {6, false, 2, 1, 22, {}},  {7, false, 2, 2, 22, {}},
      {8, false, 2, 3, 22, {}},      {9, true, 2, 0, 22, {}},   {10, false, 3, 0, 26, kAck},
      {11, true, 3, 0, 23, kC1},     {12, false, 3, 1, 23, kS1}, {13, true, 3, 1, 23, kC2},
      {14, false, 3, 2, 23, kS2},    {15, true, 3, 2, 23, kC3}, {16, false, 3, 3, 23, kS3},
  };
  if (close_notify) {
    t.push_back({17, true, 3, 3, 21, kCloseNotify});
    t.push_back({18, false, 3, 4, 21, kCloseNotify});
  }
  return t;
}

const Bytes kGet = text("GET / HTTP/1.0\r\nHost: localhost\r\nExtra-header: \r\n\r\n");
const Bytes kReply = text(
    "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<h2>Mbed TLS Test Server</h2>\r\n"
    "<p>Successful connection using: TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256</p>\r\n");

std::vector<Expect> mbedtls_table() {
  return {
      {6, true, 1, 0, 22, {}},          {7, false, 1, 0, 22, {}},
      {8, true, 1, 1, 23, kGet},        {9, false, 1, 1, 23, kReply},
      {10, true, 1, 2, 23, kGet},       {11, false, 1, 2, 23, kReply},
      {12, true, 1, 3, 23, kGet},       {13, false, 1, 3, 23, kReply},
      {14, false, 1, 4, 21, kCloseNotify}, {15, true, 1, 4, 21, kCloseNotify},
  };
}

struct Scenario {
  std::string stem;
  uint16_t port;
  bool dtls13;
  Bytes c2s_cid, s2c_cid;
  std::vector<Expect> table;
  size_t plaintext_records;
};

std::vector<Scenario> scenarios() {
  return {
      {"dtls13_A_aes128gcm", 44301, true, {}, {}, wolfssl_table(true), 4},
      {"dtls13_B_cid_aes128gcm", 44302, true, hex("5e4ea1b2"), hex("c0ffee0102030405"),
       wolfssl_table(true), 4},
      {"dtls13_B2_cid_oneway_chacha20", 44305, true, hex("a0b1c2"), {}, wolfssl_table(true), 4},
      {"dtls13_C1_chacha20", 44303, true, {}, {}, wolfssl_table(true), 4},
      {"dtls13_C2_aes128ccm8", 44307, true, {}, {}, wolfssl_table(false), 4},
      {"dtls12_D_cid_aes128gcm", 44311, false, hex("5e4ea1b2"), hex("c0ffee0102030405"),
       mbedtls_table(), 12},
      {"dtls12_D2_cid_oneway_aes128gcm", 44313, false, hex("5e4ea1b2"), {}, mbedtls_table(), 12},
  };
}

DecodeOutput decode(const Scenario& s, uint16_t port) {
  DecodeOutput out;
  std::string error;
  EXPECT_TRUE(tools::decode_capture(kDir + "/" + s.stem + ".pcap", kDir + "/" + s.stem + ".keylog",
                                    port, out, error))
      << error;
  return out;
}

class CaptureVectors : public ::testing::TestWithParam<Scenario> {};

TEST_P(CaptureVectors, EveryRecordOpensAndMatchesTheReadmeTable) {
  const Scenario& s = GetParam();
  const DecodeOutput out = decode(s, s.port);
  EXPECT_TRUE(out.messages.empty()) << out.messages.front();
  EXPECT_EQ(out.dtls13, s.dtls13);
  EXPECT_EQ(out.server_port, s.port);
  size_t protected_records = 0, plaintext_records = 0;
  for (const DecodedRecord& r : out.records) {
    if (!r.protected_record) {
      EXPECT_EQ(r.result, "plaintext");
      EXPECT_EQ(r.epoch, 0u);
      ++plaintext_records;
      continue;
    }
    SCOPED_TRACE("frame " + std::to_string(r.frame));
    ASSERT_LT(protected_records, s.table.size());
    const Expect& e = s.table[protected_records++];
    EXPECT_EQ(r.result, "ok");
    EXPECT_EQ(r.frame, e.frame);
    EXPECT_EQ(r.client_to_server, e.c2s);
    EXPECT_EQ(r.epoch, e.epoch);
    EXPECT_EQ(r.sequence, e.seq);
    EXPECT_EQ(r.content_type, e.type);
    if (!e.plaintext.empty()) {
      EXPECT_EQ(r.plaintext, e.plaintext);
    }
    EXPECT_EQ(r.cid, e.c2s ? s.c2s_cid : s.s2c_cid);
    if (!s.dtls13) {
      EXPECT_EQ(r.format, r.cid.empty() ? tools::RecordFormat::dtls12
                                        : tools::RecordFormat::dtls12_cid);
    }
  }
  EXPECT_EQ(protected_records, s.table.size());
  EXPECT_EQ(plaintext_records, s.plaintext_records);
  // The server port found without --port is the same.
  EXPECT_EQ(decode(s, 0).records.size(), out.records.size());
}

std::map<std::string, Bytes> keylog(const std::string& stem) {
  std::ifstream in(kDir + "/" + stem + ".keylog");
  std::map<std::string, Bytes> m;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string label, random, secret;
    ls >> label >> random >> secret;
    m[label] = hex(secret);
  }
  return m;
}

// The README's "derived record keys" for A: HKDF-Expand-Label with the
// "dtls13" prefix (RFC 9147 §5.9).
TEST(CaptureKeys, Dtls13KeysFromTheKeyLogMatchTheReadme) {
  auto k = keylog("dtls13_A_aes128gcm");
  Dtls13TrafficKeys c2s2, s2c3;
  ASSERT_TRUE(derive_dtls13_traffic_keys(Aead::aes128_gcm, HkdfHash::sha256,
                                         k["CLIENT_HANDSHAKE_TRAFFIC_SECRET"], c2s2));
  EXPECT_EQ(Bytes(c2s2.key.begin(), c2s2.key.begin() + 16), hex("f224147a3f4b4053f0055f03f2529590"));
  EXPECT_EQ(Bytes(c2s2.iv.begin(), c2s2.iv.end()), hex("492904d3d35bd82c9a30e6a5"));
  EXPECT_EQ(Bytes(c2s2.sn_key.begin(), c2s2.sn_key.begin() + 16),
            hex("cf5a5b055f71dc1d3816cb57cd5f966e"));
  ASSERT_TRUE(derive_dtls13_traffic_keys(Aead::aes128_gcm, HkdfHash::sha256,
                                         k["SERVER_TRAFFIC_SECRET_0"], s2c3));
  EXPECT_EQ(Bytes(s2c3.key.begin(), s2c3.key.begin() + 16), hex("4dde88168a4ee441cf41be1a9a4a53fd"));
  EXPECT_EQ(Bytes(s2c3.iv.begin(), s2c3.iv.end()), hex("543b8f2996791638900a45a1"));
  EXPECT_EQ(Bytes(s2c3.sn_key.begin(), s2c3.sn_key.begin() + 16),
            hex("6c203caed5dd4e2200eb5aaeacfaa712"));
  auto c = keylog("dtls13_C1_chacha20");
  Dtls13TrafficKeys cc;
  ASSERT_TRUE(derive_dtls13_traffic_keys(Aead::chacha20_poly1305, HkdfHash::sha256,
                                         c["SERVER_TRAFFIC_SECRET_0"], cc));
  EXPECT_EQ(Bytes(cc.sn_key.begin(), cc.sn_key.end()),
            hex("d02dee758730fab43f40af4202880ad5901788e909e3ae664e8a41463e61341e"));
}

// Seal every protected record again with the producer's framing and
// padding, at the captured record number: the bytes must be the capture's.
TEST_P(CaptureVectors, ResealingReproducesTheCapturedBytes) {
  const Scenario& s = GetParam();
  const DecodeOutput out = decode(s, s.port);
  auto ctx = CryptoContext::create();
  ASSERT_NE(ctx, nullptr);
  auto k = keylog(s.stem);
  size_t resealed = 0;
  for (const DecodedRecord& r : out.records) {
    if (!r.protected_record || r.result != "ok") {
      continue;
    }
    SCOPED_TRACE("frame " + std::to_string(r.frame));
    Bytes buffer(r.wire.size() + 64);
    size_t length = 0;
    if (s.dtls13) {
      const auto suite = dtls13_suite(out.cipher_suite);
      ASSERT_TRUE(suite);
      const std::string who = r.client_to_server ? "CLIENT" : "SERVER";
      const Bytes& secret =
          r.epoch == 2 ? k[who + "_HANDSHAKE_TRAFFIC_SECRET"] : k[who + "_TRAFFIC_SECRET_0"];
      Dtls13WriteEpoch w;
      // wolfSSL: 16-bit sequence numbers, length present, no padding.
      ASSERT_TRUE(w.install_secret(*ctx, Epoch{static_cast<uint16_t>(r.epoch)}, *suite, secret,
                                   r.cid, Dtls13WriteOptions{}, r.sequence));
      std::copy(r.plaintext.begin(), r.plaintext.end(), buffer.begin() + w.seal_prefix());
      ASSERT_EQ(seal_dtls13_record(*ctx, w, static_cast<ContentType>(r.content_type), buffer,
                                   r.plaintext.size(), length),
                SealResult::ok);
    } else if (!r.cid.empty()) {
      // The README's derived write keys; Mbed TLS pads to a multiple of 16.
      const bool d2 = s.stem.find("D2") != std::string::npos;
      const Bytes key = r.client_to_server
                            ? hex(d2 ? "02eee63ce417227fbb256cc42838b446"
                                     : "1a0e4739407bc2b417ffb213838183b4")
                            : hex("61e74f000b772d01295527c7f0acd47a");
      const Bytes iv = r.client_to_server ? hex(d2 ? "1688a543" : "71cc5085") : hex("1fb2e069");
      CidWriteEpoch w;
      ASSERT_TRUE(w.install(*ctx, Epoch{1}, Aead::aes128_gcm, key, iv, r.cid,
                            CidPaddingPolicy{0, 16}, r.sequence));
      std::copy(r.plaintext.begin(), r.plaintext.end(), buffer.begin() + w.seal_prefix());
      ASSERT_EQ(seal_cid_record(*ctx, w, static_cast<ContentType>(r.content_type), buffer,
                                r.plaintext.size(), length),
                SealResult::ok);
    } else {
      continue;  // an ordinary DTLS 1.2 record (record_protection_test)
    }
    EXPECT_EQ(Bytes(buffer.begin(), buffer.begin() + length), r.wire);
    ++resealed;
  }
  EXPECT_GE(resealed, s.dtls13 ? (s.table.size()) : 5u);
}

INSTANTIATE_TEST_SUITE_P(Vectors, CaptureVectors, ::testing::ValuesIn(scenarios()),
                         [](const auto& info) { return info.param.stem; });

// dtlsgw-decode on garbage: a clear failure, never a crash.
TEST(CaptureDecoder, RefusesMissingAndMalformedFiles) {
  DecodeOutput out;
  std::string error;
  EXPECT_FALSE(tools::decode_capture("/nonexistent.pcap", kDir + "/dtls13_A_aes128gcm.keylog", 0,
                                     out, error));
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(tools::decode_capture(kDir + "/dtls13_A_aes128gcm.keylog",
                                     kDir + "/dtls13_A_aes128gcm.keylog", 0, out, error));
  EXPECT_FALSE(tools::decode_capture(kDir + "/dtls13_A_aes128gcm.pcap",
                                     kDir + "/dtls13_A_aes128gcm.pcap", 0, out, error));
}

}  // namespace
}  // namespace dtlsgw::record
