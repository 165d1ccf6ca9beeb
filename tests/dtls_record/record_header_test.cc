// RFC 6347 §4.1 record header parsing and the walk over one datagram.
#include "dtls_record/record_header.h"

#include <gtest/gtest.h>

#include <vector>

#include "dtls_record/record_number.h"
#include "dtls_record/record_walker.h"

namespace dtlsgw::record {
namespace {

std::vector<uint8_t> record_bytes(uint8_t type, uint16_t version, uint16_t epoch, uint64_t seq,
                                  uint16_t length, size_t actual_body) {
  std::vector<uint8_t> v = {type, static_cast<uint8_t>(version >> 8), static_cast<uint8_t>(version),
                            static_cast<uint8_t>(epoch >> 8), static_cast<uint8_t>(epoch)};
  for (int i = 5; i >= 0; --i) {
    v.push_back(static_cast<uint8_t>(seq >> (8 * i)));
  }
  v.push_back(static_cast<uint8_t>(length >> 8));
  v.push_back(static_cast<uint8_t>(length));
  v.resize(v.size() + actual_body, 0xab);
  return v;
}

TEST(RecordNumber, PacksEpochAndFortyEightBitSequence) {
  const RecordNumber n(Epoch{0x1234}, 0x0000'5678'9abc'def0ull);
  EXPECT_EQ(n.epoch().value, 0x1234);
  EXPECT_EQ(n.sequence(), 0x5678'9abc'def0ull);
  EXPECT_EQ(n.packed(), 0x1234'5678'9abc'def0ull);
}

// RFC 6347 §4.1: "... sequence numbers ... MUST NOT be allowed to wrap."
TEST(RecordNumber, NextRefusesToWrap) {
  const RecordNumber top(Epoch{1}, RecordNumber::kMaxSequence);
  EXPECT_FALSE(top.next().has_value());
  const auto n = RecordNumber(Epoch{1}, RecordNumber::kMaxSequence - 1).next();
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->sequence(), RecordNumber::kMaxSequence);
  EXPECT_EQ(n->epoch().value, 1);
}

TEST(RecordHeader, ParsesEveryField) {
  const auto bytes = record_bytes(23, 0xfefd, 1, 0x0102'0304'0506ull, 5, 5);
  RecordHeader h;
  ASSERT_EQ(parse_record_header(bytes, h), HeaderResult::ok);
  EXPECT_EQ(h.type, ContentType::application_data);
  EXPECT_EQ(h.version, ProtocolVersion::dtls12);
  EXPECT_EQ(h.number.epoch().value, 1);
  EXPECT_EQ(h.number.sequence(), 0x0102'0304'0506ull);
  EXPECT_EQ(h.length, 5);
  uint8_t out[kRecordHeaderLength];
  write_record_header(h, out);
  EXPECT_TRUE(std::equal(out, out + kRecordHeaderLength, bytes.begin()));
}

// RFC 6347 §4.2.1: a ClientHello record may carry DTLS 1.0.
TEST(RecordHeader, AcceptsDtls10ForClientHelloRecords) {
  const auto bytes = record_bytes(22, 0xfeff, 0, 0, 0, 0);
  RecordHeader h;
  EXPECT_EQ(parse_record_header(bytes, h), HeaderResult::ok);
  EXPECT_EQ(h.version, ProtocolVersion::dtls10);
}

TEST(RecordHeader, RejectsWithAReason) {
  RecordHeader h;
  struct Row {
    std::vector<uint8_t> bytes;
    HeaderResult expected;
  };
  const Row rows[] = {
      {{}, HeaderResult::truncated_header},
      {std::vector<uint8_t>(12, 0x17), HeaderResult::truncated_header},
      {record_bytes(24, 0xfefd, 1, 0, 0, 0), HeaderResult::unknown_content_type},  // heartbeat
      {record_bytes(19, 0xfefd, 1, 0, 0, 0), HeaderResult::unknown_content_type},
      {record_bytes(0, 0xfefd, 1, 0, 0, 0), HeaderResult::unknown_content_type},
      {record_bytes(23, 0x0303, 1, 0, 0, 0), HeaderResult::unknown_version},  // TLS 1.2
      {record_bytes(23, 0xfefc, 1, 0, 0, 0), HeaderResult::unknown_version},  // DTLS 1.3 value
      {record_bytes(23, 0xfefd, 1, 0, 10, 9), HeaderResult::length_overrun},
      {record_bytes(23, 0xfefd, 1, 0, 0xffff, 0), HeaderResult::fragment_too_long},
      {record_bytes(23, 0xfefd, 1, 0, kMaxFragmentLength + 1, kMaxFragmentLength + 1),
       HeaderResult::fragment_too_long},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(parse_record_header(r.bytes, h), r.expected) << to_string(r.expected);
  }
  const auto max = record_bytes(23, 0xfefd, 1, 0, kMaxFragmentLength, kMaxFragmentLength);
  EXPECT_EQ(parse_record_header(max, h), HeaderResult::ok);
}

// RFC 6347 §4.1.1: several records in one datagram.
TEST(RecordWalker, WalksEveryRecordOfADatagram) {
  auto d = record_bytes(22, 0xfefd, 0, 1, 3, 3);
  const auto r2 = record_bytes(20, 0xfefd, 0, 2, 1, 1);
  const auto r3 = record_bytes(22, 0xfefd, 1, 0, 0, 0);
  d.insert(d.end(), r2.begin(), r2.end());
  d.insert(d.end(), r3.begin(), r3.end());
  RecordWalker walker(d);
  RecordView v;
  std::vector<ContentType> types;
  size_t offset = 0;
  while (walker.next(v)) {
    EXPECT_EQ(v.record.data(), d.data() + offset);
    EXPECT_EQ(v.fragment.size(), v.header.length);
    offset += v.record.size();
    types.push_back(v.header.type);
  }
  EXPECT_EQ(walker.error(), HeaderResult::ok);
  EXPECT_EQ(offset, d.size());
  EXPECT_EQ(types,
            (std::vector<ContentType>{ContentType::handshake, ContentType::change_cipher_spec,
                                      ContentType::handshake}));
}

TEST(RecordWalker, StopsAtTheFirstUnframeableRecordWithItsReason) {
  auto d = record_bytes(23, 0xfefd, 1, 1, 4, 4);
  const auto bad = record_bytes(23, 0xfefd, 1, 2, 100, 10);
  d.insert(d.end(), bad.begin(), bad.end());
  RecordWalker walker(d);
  RecordView v;
  ASSERT_TRUE(walker.next(v));
  EXPECT_FALSE(walker.next(v));
  EXPECT_EQ(walker.error(), HeaderResult::length_overrun);
  EXPECT_EQ(walker.remaining(), bad.size());
  EXPECT_FALSE(walker.next(v));  // stays stopped
}

TEST(RecordWalker, TrailingBytesShorterThanAHeaderAreAnError) {
  auto d = record_bytes(23, 0xfefd, 1, 1, 0, 0);
  d.push_back(0x17);
  RecordWalker walker(d);
  RecordView v;
  ASSERT_TRUE(walker.next(v));
  EXPECT_FALSE(walker.next(v));
  EXPECT_EQ(walker.error(), HeaderResult::truncated_header);
}

TEST(RecordWalker, EmptyDatagramHasNoRecords) {
  std::vector<uint8_t> d;
  RecordWalker walker(d);
  RecordView v;
  EXPECT_FALSE(walker.next(v));
  EXPECT_EQ(walker.error(), HeaderResult::ok);
}

}  // namespace
}  // namespace dtlsgw::record
