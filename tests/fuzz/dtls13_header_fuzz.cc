// libFuzzer harness: the DTLS 1.3 datagram walk (RFC 9147 §4): unified
// headers and DTLSPlaintext headers, several records per datagram.
//
// Input: the first byte picks the receiver's CID length (0..32), the rest
// is the datagram. Properties: reads stay inside the input; the records
// found tile a prefix of the datagram; each unified header's fields are
// its first byte's bits, and write_unified_header rebuilds its bytes; a
// record without a length field is the last one.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "dtls_record/dtls13_header.h"
#include "tests/fuzz/fuzz_keys.h"

namespace dtlsgw::record::fuzz {
namespace {

void check(const uint8_t* data, size_t size) {
  if (size == 0) {
    return;
  }
  const size_t cid_length = data[0] % 33;
  std::vector<uint8_t> datagram(data + 1, data + size);
  Dtls13Walker walker(datagram, cid_length);
  Dtls13RecordView v;
  size_t consumed = 0;
  bool ended = false;
  while (walker.next(v)) {
    FUZZ_CHECK(!ended);
    FUZZ_CHECK(v.record.data() == datagram.data() + consumed);
    FUZZ_CHECK(v.header.size() + v.body.size() == v.record.size());
    consumed += v.record.size();
    FUZZ_CHECK(consumed <= datagram.size());
    if (v.kind == Dtls13RecordKind::ciphertext) {
      const UnifiedHeader& h = v.unified;
      const uint8_t first = v.header[0];
      FUZZ_CHECK((first & 0xe0) == 0x20);
      FUZZ_CHECK(h.has_cid == ((first & 0x10) != 0));
      FUZZ_CHECK(v.cid.size() == (h.has_cid ? cid_length : 0));
      FUZZ_CHECK(v.body.size() <= kMaxDtls13CiphertextLength);
      uint8_t rebuilt[kMaxUnifiedHeaderLength];
      const size_t n = write_unified_header(
          rebuilt, h.epoch_bits, v.cid, h.sequence_bits == 16, h.has_length, h.masked_sequence,
          static_cast<uint16_t>(v.body.size()));
      FUZZ_CHECK(n == v.header.size());
      FUZZ_CHECK(std::memcmp(rebuilt, v.header.data(), n) == 0);
      if (!h.has_length) {
        FUZZ_CHECK(consumed == datagram.size());
        ended = true;
      }
    } else {
      FUZZ_CHECK(v.kind == Dtls13RecordKind::plaintext);
      FUZZ_CHECK(v.header.size() == kRecordHeaderLength);
      FUZZ_CHECK(classify_dtls13_record(v.header[0]) == Dtls13RecordKind::plaintext);
    }
  }
  FUZZ_CHECK(to_string(walker.error()) != "invalid");
  FUZZ_CHECK((walker.error() == Dtls13HeaderResult::ok) == (consumed == datagram.size()));
  FUZZ_CHECK(walker.remaining() == datagram.size() - consumed);
}

}  // namespace
}  // namespace dtlsgw::record::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dtlsgw::record::fuzz::check(data, size);
  return 0;
}
