// Walks every record of one datagram (RFC 6347 §4.1.1: "multiple DTLS
// records may be placed in a single datagram"). Records may not span
// datagrams, so the first record that cannot be framed ends the walk and
// its reason is kept: the rest of the datagram is unusable.
#pragma once

#include <cstdint>
#include <span>

#include "dtls_record/record_header.h"

namespace dtlsgw::record {

struct RecordView {
  RecordHeader header;
  std::span<uint8_t> record;    // header and fragment, in place
  std::span<uint8_t> fragment;  // the fragment alone
};

class RecordWalker {
 public:
  explicit RecordWalker(std::span<uint8_t> datagram) : rest_(datagram) {}

  // Fills `out` with the next record and returns true; false at the end of
  // the datagram or at the first record that cannot be framed (see error()).
  [[nodiscard]] bool next(RecordView& out) {
    if (rest_.empty() || error_ != HeaderResult::ok) {
      return false;
    }
    const HeaderResult r = parse_record_header(rest_, out.header);
    if (r != HeaderResult::ok) [[unlikely]] {
      error_ = r;
      return false;
    }
    const size_t total = kRecordHeaderLength + out.header.length;
    out.record = rest_.first(total);
    out.fragment = out.record.subspan(kRecordHeaderLength);
    rest_ = rest_.subspan(total);
    return true;
  }

  // ok after a clean end; otherwise why the walk stopped early.
  HeaderResult error() const { return error_; }
  // Bytes not yet walked (non-empty only after an error).
  size_t remaining() const { return rest_.size(); }

 private:
  std::span<uint8_t> rest_;
  HeaderResult error_ = HeaderResult::ok;
};

}  // namespace dtlsgw::record
