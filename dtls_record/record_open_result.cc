#include "dtls_record/record_open_result.h"

namespace dtlsgw::record {

static_assert(static_cast<int>(RecordOpenResult::engine_error) ==
                      static_cast<int>(OpenResult::engine_error) &&
                  kOpenResultCount == 7,
              "RecordOpenResult starts with OpenResult's values, in order");

std::string_view to_string(RecordOpenResult r) {
  switch (r) {
    case RecordOpenResult::too_short_to_mask:
      return "too_short_to_mask";
    case RecordOpenResult::unknown_connection_id:
      return "unknown_connection_id";
    case RecordOpenResult::no_content_type:
      return "no_content_type";
    default:
      return to_string(static_cast<OpenResult>(r));
  }
}

}  // namespace dtlsgw::record
