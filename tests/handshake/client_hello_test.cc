// ClientHello parsing for the stateless cookie path: every malformation
// has its reason (RFC 6347 §4.2.1–§4.2.3, RFC 5246 §7.4.1.2).
#include "handshake/client_hello.h"

#include <gtest/gtest.h>

#include <vector>

namespace dtlsgw::handshake {
namespace {

using Bytes = std::vector<uint8_t>;

// Builds a ClientHello datagram field by field so each test can break one.
struct HelloBuilder {
  uint8_t record_type = 22;
  uint16_t record_version = 0xfefd;
  uint16_t epoch = 0;
  uint64_t sequence = 5;
  uint8_t msg_type = 1;
  uint16_t message_seq = 0;
  int fragment_offset = 0;
  int fragment_length_delta = 0;
  int length_delta = 0;
  uint16_t version = 0xfefd;
  Bytes session_id;
  Bytes cookie;
  Bytes suites = {0xc0, 0x2b, 0xc0, 0x2f};
  Bytes compression = {0};
  bool extensions = true;
  Bytes extension_block = {0x00, 0x17, 0x00, 0x00};  // extended_master_secret
  int extensions_length_delta = 0;
  size_t trailing = 0;

  Bytes build() const {
    Bytes body;
    body.push_back(static_cast<uint8_t>(version >> 8));
    body.push_back(static_cast<uint8_t>(version));
    for (int i = 0; i < 32; ++i) {
      body.push_back(static_cast<uint8_t>(i));
    }
    body.push_back(static_cast<uint8_t>(session_id.size()));
    body.insert(body.end(), session_id.begin(), session_id.end());
    body.push_back(static_cast<uint8_t>(cookie.size()));
    body.insert(body.end(), cookie.begin(), cookie.end());
    body.push_back(static_cast<uint8_t>(suites.size() >> 8));
    body.push_back(static_cast<uint8_t>(suites.size()));
    body.insert(body.end(), suites.begin(), suites.end());
    body.push_back(static_cast<uint8_t>(compression.size()));
    body.insert(body.end(), compression.begin(), compression.end());
    if (extensions) {
      const size_t n = extension_block.size() + static_cast<size_t>(extensions_length_delta);
      body.push_back(static_cast<uint8_t>(n >> 8));
      body.push_back(static_cast<uint8_t>(n));
      body.insert(body.end(), extension_block.begin(), extension_block.end());
    }
    const uint32_t length = static_cast<uint32_t>(static_cast<int>(body.size()) + length_delta);
    const uint32_t frag_len =
        static_cast<uint32_t>(static_cast<int>(length) + fragment_length_delta);
    Bytes hs = {msg_type,
                static_cast<uint8_t>(length >> 16),
                static_cast<uint8_t>(length >> 8),
                static_cast<uint8_t>(length),
                static_cast<uint8_t>(message_seq >> 8),
                static_cast<uint8_t>(message_seq),
                0,
                0,
                static_cast<uint8_t>(fragment_offset),
                static_cast<uint8_t>(frag_len >> 16),
                static_cast<uint8_t>(frag_len >> 8),
                static_cast<uint8_t>(frag_len)};
    hs.insert(hs.end(), body.begin(), body.end());
    hs.resize(hs.size() + trailing, 0);
    Bytes rec = {record_type, static_cast<uint8_t>(record_version >> 8),
                 static_cast<uint8_t>(record_version), static_cast<uint8_t>(epoch >> 8),
                 static_cast<uint8_t>(epoch)};
    for (int i = 5; i >= 0; --i) {
      rec.push_back(static_cast<uint8_t>(sequence >> (8 * i)));
    }
    rec.push_back(static_cast<uint8_t>(hs.size() >> 8));
    rec.push_back(static_cast<uint8_t>(hs.size()));
    rec.insert(rec.end(), hs.begin(), hs.end());
    return rec;
  }
};

ClientHelloResult parse(const HelloBuilder& b) {
  ClientHello ch;
  const Bytes d = b.build();
  return parse_client_hello(d, ch);
}

TEST(ClientHelloParse, WellFormedHelloParsesEveryField) {
  HelloBuilder b;
  b.session_id = {1, 2, 3};
  b.cookie = {9, 9};
  const Bytes d = b.build();
  ClientHello ch;
  ASSERT_EQ(parse_client_hello(d, ch), ClientHelloResult::ok);
  EXPECT_EQ(ch.record_number.sequence(), 5u);
  EXPECT_EQ(ch.client_version, 0xfefd);
  EXPECT_EQ(ch.random[31], 31);
  EXPECT_EQ(ch.session_id.size(), 3u);
  EXPECT_EQ(ch.cookie.size(), 2u);
  EXPECT_EQ(ch.cipher_suites.size(), 4u);
  EXPECT_EQ(ch.compression_methods.size(), 1u);
  EXPECT_EQ(ch.record_length, d.size());
}

TEST(ClientHelloParse, WithoutExtensionsIsFine) {
  HelloBuilder b;
  b.extensions = false;
  EXPECT_EQ(parse(b), ClientHelloResult::ok);
}

TEST(ClientHelloParse, EachMalformationHasItsReason) {
  struct Row {
    const char* what;
    HelloBuilder b;
    ClientHelloResult expected;
  };
  std::vector<Row> rows;
  auto add = [&](const char* what, auto mutate, ClientHelloResult r) {
    HelloBuilder b;
    mutate(b);
    rows.push_back({what, b, r});
  };
  add(
      "alert record", [](HelloBuilder& b) { b.record_type = 21; },
      ClientHelloResult::not_handshake);
  add(
      "epoch 1", [](HelloBuilder& b) { b.epoch = 1; }, ClientHelloResult::not_epoch_zero);
  add(
      "server hello", [](HelloBuilder& b) { b.msg_type = 2; }, ClientHelloResult::not_client_hello);
  add(
      "fragment offset", [](HelloBuilder& b) { b.fragment_offset = 1; },
      ClientHelloResult::fragmented);
  add(
      "short fragment", [](HelloBuilder& b) { b.fragment_length_delta = -1; },
      ClientHelloResult::fragmented);
  add(
      "length past record",
      [](HelloBuilder& b) {
        b.length_delta = 1;
        b.fragment_length_delta = 0;
      },
      ClientHelloResult::bad_length);
  add(
      "trailing bytes", [](HelloBuilder& b) { b.trailing = 3; }, ClientHelloResult::bad_length);
  add(
      "TLS version", [](HelloBuilder& b) { b.version = 0x0303; }, ClientHelloResult::bad_version);
  add(
      "session id 33", [](HelloBuilder& b) { b.session_id.assign(33, 1); },
      ClientHelloResult::bad_session_id);
  add(
      "no suites", [](HelloBuilder& b) { b.suites.clear(); }, ClientHelloResult::bad_cipher_suites);
  add(
      "odd suites",
      [](HelloBuilder& b) {
        b.suites = {0xc0, 0x2b, 0xc0};
      },
      ClientHelloResult::bad_cipher_suites);
  add(
      "no compression", [](HelloBuilder& b) { b.compression.clear(); },
      ClientHelloResult::bad_compression);
  add(
      "extensions too long", [](HelloBuilder& b) { b.extensions_length_delta = 1; },
      ClientHelloResult::bad_extensions);
  add(
      "extensions too short", [](HelloBuilder& b) { b.extensions_length_delta = -1; },
      ClientHelloResult::bad_extensions);
  add(
      "huge", [](HelloBuilder& b) { b.suites.assign(kMaxClientHelloBytes, 0x0a); },
      ClientHelloResult::too_large);
  add(
      "unknown record version", [](HelloBuilder& b) { b.record_version = 0x0303; },
      ClientHelloResult::bad_record);
  for (const Row& r : rows) {
    EXPECT_EQ(parse(r.b), r.expected) << r.what << ": got " << to_string(parse(r.b));
  }
}

TEST(ClientHelloParse, DatagramsTooShortForAHeaderAreBadRecords) {
  ClientHello ch;
  const Bytes empty;
  EXPECT_EQ(parse_client_hello(empty, ch), ClientHelloResult::bad_record);
  const Bytes twelve(12, 22);
  EXPECT_EQ(parse_client_hello(twelve, ch), ClientHelloResult::bad_record);
}

}  // namespace
}  // namespace dtlsgw::handshake
