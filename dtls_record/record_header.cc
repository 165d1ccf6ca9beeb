#include "dtls_record/record_header.h"

namespace dtlsgw::record {

std::string_view to_string(HeaderResult r) {
  switch (r) {
    case HeaderResult::ok:
      return "ok";
    case HeaderResult::truncated_header:
      return "truncated_header";
    case HeaderResult::length_overrun:
      return "length_overrun";
    case HeaderResult::fragment_too_long:
      return "fragment_too_long";
    case HeaderResult::unknown_content_type:
      return "unknown_content_type";
    case HeaderResult::unknown_version:
      return "unknown_version";
  }
  return "invalid";
}

}  // namespace dtlsgw::record
