// libFuzzer harness: the DTLS 1.2 record header parser (RFC 6347 §4.1) on
// arbitrary bytes, the first thing every datagram from the wire meets.
//
// Properties:
//  - it reads only inside the input (ASan: libFuzzer hands us a heap
//    buffer of exactly `size` bytes);
//  - it accepts exactly when no framing rule is broken, and a refusal names
//    one of the rules the input does break;
//  - an accepted header is the input's first 13 bytes, field for field:
//    write_record_header reproduces them exactly, and the fragment it
//    announces lies within the input.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "dtls_record/record_header.h"
#include "tests/fuzz/fuzz_keys.h"

namespace dtlsgw::record::fuzz {
namespace {

// The rules, written out independently of the parser. Bit i set: rule i
// is broken by the input.
enum Broken : unsigned {
  kTruncated = 1u << 0,
  kContentType = 1u << 1,
  kVersion = 1u << 2,
  kTooLong = 1u << 3,
  kOverrun = 1u << 4,
};

unsigned broken_rules(const uint8_t* p, size_t size) {
  if (size < 13) {
    return kTruncated;  // nothing else can be read
  }
  unsigned broken = 0;
  if (p[0] < 20 || p[0] > 23) {
    broken |= kContentType;
  }
  const unsigned version = (unsigned{p[1]} << 8) | p[2];
  if (version != 0xfefd && version != 0xfeff) {
    broken |= kVersion;
  }
  const size_t length = (size_t{p[11]} << 8) | p[12];
  if (length > 16384 + 2048) {
    broken |= kTooLong;
  }
  if (13 + length > size) {
    broken |= kOverrun;
  }
  return broken;
}

unsigned rule_of(HeaderResult r) {
  switch (r) {
    case HeaderResult::ok:
      return 0;
    case HeaderResult::truncated_header:
      return kTruncated;
    case HeaderResult::unknown_content_type:
      return kContentType;
    case HeaderResult::unknown_version:
      return kVersion;
    case HeaderResult::fragment_too_long:
      return kTooLong;
    case HeaderResult::length_overrun:
      return kOverrun;
  }
  __builtin_trap();  // not one of the declared results
}

void check_header(const uint8_t* data, size_t size) {
  RecordHeader header;
  const HeaderResult r = parse_record_header(std::span<const uint8_t>(data, size), header);
  FUZZ_CHECK(to_string(r) != "invalid");
  const unsigned broken = broken_rules(data, size);
  if (r != HeaderResult::ok) {
    // A refusal must be for a rule the input really breaks.
    FUZZ_CHECK((broken & rule_of(r)) != 0);
    return;
  }
  FUZZ_CHECK(broken == 0);
  FUZZ_CHECK(size >= kRecordHeaderLength);
  // The fragment lies within the input.
  FUZZ_CHECK(kRecordHeaderLength + size_t{header.length} <= size);
  FUZZ_CHECK(header.length <= kMaxFragmentLength);
  // Field by field, against the wire (big-endian, RFC 6347 §4.1).
  FUZZ_CHECK(static_cast<uint8_t>(header.type) == data[0]);
  FUZZ_CHECK(static_cast<uint16_t>(header.version) == ((unsigned{data[1]} << 8) | data[2]));
  FUZZ_CHECK(header.number.epoch().value == ((unsigned{data[3]} << 8) | data[4]));
  uint64_t sequence = 0;
  for (size_t i = 5; i < 11; ++i) {
    sequence = (sequence << 8) | data[i];
  }
  FUZZ_CHECK(header.number.sequence() == sequence);
  // And the writer is the parser's exact inverse.
  uint8_t rewritten[kRecordHeaderLength];
  write_record_header(header, rewritten);
  FUZZ_CHECK(std::memcmp(rewritten, data, kRecordHeaderLength) == 0);
}

}  // namespace
}  // namespace dtlsgw::record::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dtlsgw::record::fuzz::check_header(data, size);
  return 0;
}
