// PSK files: `identity:hexkey` lines (psk_store.h). Every malformed line is
// refused with its file and line number, and no key byte in the message.
#include "handshake/psk_store.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <array>
#include <string>

namespace dtlsgw::handshake {
namespace {

std::vector<uint8_t> key_of(const PskStore& s, std::string_view identity) {
  std::array<uint8_t, 64> buf{};
  const size_t n = s.find(identity, buf);
  return {buf.begin(), buf.begin() + static_cast<long>(n)};
}

TEST(PskStore, ParsesIdentitiesCommentsBlankLinesAndCrlf) {
  PskStore s;
  const Status st = s.parse(
      "# comment\n"
      "client-1:000102\n"
      "\n"
      "urn:imei:35 0000:0001:A0b1\r\n"
      "caf\xc3\xa9 device:ff",  // UTF-8, no final newline
      "psk.txt");
  ASSERT_TRUE(st) << st.message();
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(key_of(s, "client-1"), (std::vector<uint8_t>{0, 1, 2}));
  // The last colon separates: the identity keeps its colons and spaces.
  EXPECT_EQ(key_of(s, "urn:imei:35 0000:0001"), (std::vector<uint8_t>{0xa0, 0xb1}));
  EXPECT_EQ(key_of(s, "caf\xc3\xa9 device"), (std::vector<uint8_t>{0xff}));
  EXPECT_FALSE(s.contains("client-2"));
  EXPECT_TRUE(key_of(s, "client-2").empty());
}

TEST(PskStore, KeyLargerThanTheCallersBufferIsNotReturned) {
  PskStore s;
  ASSERT_TRUE(s.parse("a:00112233", "x"));
  std::array<uint8_t, 3> small{};
  EXPECT_EQ(s.find("a", small), 0u);
}

struct BadLine {
  const char* text;
  const char* expected;  // in the message
};

class PskStoreRefuses : public ::testing::TestWithParam<BadLine> {};

TEST_P(PskStoreRefuses, WithFileAndLineAndWithoutKeyBytes) {
  PskStore s;
  const std::string text = std::string("ok:0102\n# fine\n") + GetParam().text;
  const Status st = s.parse(text, "/etc/dtlsgw/psk.txt");
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("/etc/dtlsgw/psk.txt:3: "), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(GetParam().expected), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("deadbeef"), std::string::npos) << "key bytes in a message";
  EXPECT_EQ(s.size(), 0u) << "a refused file leaves the store empty";
}

INSTANTIATE_TEST_SUITE_P(
    Lines, PskStoreRefuses,
    ::testing::Values(BadLine{"no-colon-deadbeef\n", "no colon"},
                      BadLine{":deadbeef\n", "empty PSK identity"},
                      BadLine{"id\x01x:deadbeef\n", "non-printable byte at column 3"},
                      BadLine{"id\x7f:deadbeef\n", "non-printable"}, BadLine{"id:\n", "empty key"},
                      BadLine{"id:deadbee\n", "odd number of hex digits"},
                      BadLine{"id:deadbeefzz\n", "not hexadecimal (column 12)"},
                      BadLine{"ok:deadbeef\n", "already defined on line 1"}));

TEST(PskStore, IdentityAndKeyLengthLimits) {
  PskStore s;
  const std::string long_identity(PSK_MAX_IDENTITY_LEN + 1, 'x');
  Status st = s.parse(long_identity + ":00\n", "f");
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("longer than"), std::string::npos);
  const std::string long_key(2 * (PSK_MAX_PSK_LEN + 1), 'a');
  st = s.parse("id:" + long_key + "\n", "f");
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("longer than"), std::string::npos);
  EXPECT_TRUE(s.parse(std::string(PSK_MAX_IDENTITY_LEN, 'x') + ":00\n", "f"));
}

TEST(PskStore, MissingFileNamesIt) {
  PskStore s;
  const Status st = s.load_file("/nonexistent/dtlsgw/psk.txt");
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("/nonexistent/dtlsgw/psk.txt"), std::string::npos);
  EXPECT_NE(st.message().find("No such file"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace dtlsgw::handshake
