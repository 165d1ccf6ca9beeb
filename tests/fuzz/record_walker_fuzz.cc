// libFuzzer harness: RecordWalker over an arbitrary datagram (RFC 6347
// §4.1.1: several records may share one datagram, none may span two).
//
// Properties:
//  - the records it yields tile a prefix of the datagram: each starts
//    where the previous one ended, is its 13-byte header plus the length
//    that header announces, and stays in bounds;
//  - remaining() plus the bytes yielded is the datagram's size, at every
//    step; a clean end leaves nothing, an early stop leaves the record
//    that could not be framed and says why (the parser's own verdict on
//    those bytes);
//  - the walk never writes to the datagram, and once it has stopped it
//    stays stopped.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "dtls_record/record_walker.h"
#include "tests/fuzz/fuzz_keys.h"

namespace dtlsgw::record::fuzz {
namespace {

bool same_header(const RecordHeader& a, const RecordHeader& b) {
  return a.type == b.type && a.version == b.version && a.number == b.number && a.length == b.length;
}

void check_walk(const uint8_t* data, size_t size) {
  // The walker takes a mutable span (records are opened in place); give
  // it an exactly sized heap copy so ASan sees any step past the end.
  std::vector<uint8_t> datagram(data, data + size);
  uint8_t* const base = datagram.data();

  RecordWalker walker(datagram);
  FUZZ_CHECK(walker.remaining() == size);
  size_t consumed = 0;
  size_t records = 0;
  RecordView v;
  while (walker.next(v)) {
    ++records;
    // No record is shorter than its header, so the walk must end.
    FUZZ_CHECK(records <= size / kRecordHeaderLength);
    // Contiguous and in bounds.
    FUZZ_CHECK(v.record.data() == base + consumed);
    FUZZ_CHECK(v.record.size() == kRecordHeaderLength + size_t{v.header.length});
    FUZZ_CHECK(v.record.size() <= size - consumed);
    FUZZ_CHECK(v.fragment.data() == v.record.data() + kRecordHeaderLength);
    FUZZ_CHECK(v.fragment.size() == v.header.length);
    // The header is what the parser reads at that offset.
    RecordHeader reparsed;
    FUZZ_CHECK(parse_record_header(std::span<const uint8_t>(base + consumed, size - consumed),
                                   reparsed) == HeaderResult::ok);
    FUZZ_CHECK(same_header(v.header, reparsed));
    consumed += v.record.size();
    FUZZ_CHECK(walker.remaining() + consumed == size);
    FUZZ_CHECK(walker.error() == HeaderResult::ok);
  }
  FUZZ_CHECK(walker.remaining() + consumed == size);
  if (walker.error() == HeaderResult::ok) {
    // A clean end: the records tile the whole datagram.
    FUZZ_CHECK(consumed == size);
  } else {
    // An early stop: what is left does not frame, for the reason given.
    FUZZ_CHECK(consumed < size);
    RecordHeader ignored;
    FUZZ_CHECK(parse_record_header(std::span<const uint8_t>(base + consumed, size - consumed),
                                   ignored) == walker.error());
  }
  // Stopped is stopped.
  const HeaderResult stopped = walker.error();
  FUZZ_CHECK(!walker.next(v));
  FUZZ_CHECK(walker.error() == stopped);
  FUZZ_CHECK(walker.remaining() + consumed == size);
  // Walking reads; it never writes.
  FUZZ_CHECK(size == 0 || std::memcmp(base, data, size) == 0);
}

}  // namespace
}  // namespace dtlsgw::record::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dtlsgw::record::fuzz::check_walk(data, size);
  return 0;
}
