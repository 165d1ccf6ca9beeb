#include "dtls_record/record_walker.h"

namespace dtlsgw::record {

bool RecordWalker::next(RecordView& out) {
  if (rest_.empty() || error_ != HeaderResult::ok) {
    return false;
  }
  RecordHeader header;
  const HeaderResult r = parse_record_header(rest_, header);
  if (r != HeaderResult::ok) [[unlikely]] {
    error_ = r;
    return false;
  }
  const size_t total = kRecordHeaderLength + header.length;
  out.header = header;
  out.record = rest_.first(total);
  out.fragment = out.record.subspan(kRecordHeaderLength);
  rest_ = rest_.subspan(total);
  return true;
}

}  // namespace dtlsgw::record
