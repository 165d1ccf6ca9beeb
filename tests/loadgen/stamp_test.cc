// The payload stamp (bench/loadgen/data_stamp.h): round trip, and any
// changed byte is refused.
#include <gtest/gtest.h>

#include "bench/loadgen/data_stamp.h"

namespace dtlsgw::loadgen {
namespace {

TEST(Stamp, RoundTrips) {
  for (const Stamp s : {Stamp{0, 0, 0, 0}, Stamp{999999, 3, 1ull << 47, 0xfedcba9876543210ull},
                        Stamp{UINT32_MAX, UINT32_MAX, UINT64_MAX, UINT64_MAX}}) {
    uint8_t bytes[kStampBytes];
    write_stamp(s, bytes);
    Stamp back;
    ASSERT_TRUE(read_stamp(bytes, back));
    EXPECT_EQ(back.session, s.session);
    EXPECT_EQ(back.run, s.run);
    EXPECT_EQ(back.sequence, s.sequence);
    EXPECT_EQ(back.tsc, s.tsc);
  }
}

TEST(Stamp, EveryFlippedBitIsRefused) {
  uint8_t bytes[kStampBytes];
  write_stamp(Stamp{12, 1, 345, 6789}, bytes);
  for (size_t bit = 0; bit < 8 * kStampBytes; ++bit) {
    uint8_t bad[kStampBytes];
    std::memcpy(bad, bytes, sizeof bad);
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    Stamp back;
    EXPECT_FALSE(read_stamp(bad, back)) << "bit " << bit;
  }
}

TEST(Stamp, PatternDependsOnSessionSequenceAndOffset) {
  const Stamp a{1, 0, 10, 0};
  const Stamp b{2, 0, 10, 0};
  const Stamp c{1, 0, 11, 0};
  int same_session = 0;
  int same_sequence = 0;
  for (size_t i = 32; i < 288; ++i) {
    same_session += pattern_byte(a, i) == pattern_byte(b, i);
    same_sequence += pattern_byte(a, i) == pattern_byte(c, i);
  }
  EXPECT_EQ(same_session, 0);
  EXPECT_EQ(same_sequence, 0);
}

}  // namespace
}  // namespace dtlsgw::loadgen
