// Why a DTLS 1.3 or RFC 9146 record did not open. The first seven values
// are OpenResult's (record_protection.h), in the same order; the rest are
// reasons only the new formats have. Once record_protection.h may change,
// OpenResult gains these values and this becomes an alias of it, so every
// format shares one result enum (issue 9, "the same result enum").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dtls_record/record_protection.h"

namespace dtlsgw::record {

enum class RecordOpenResult : uint8_t {
  ok,
  malformed,
  unknown_epoch,
  replay,
  too_old,
  auth_failed,
  engine_error,
  // RFC 9147 §4.2.3: fewer than 16 bytes of ciphertext to sample for the
  // record-number mask. "Receivers MUST reject shorter records as if they
  // had failed deprotection" (counted apart: it needs no AEAD work).
  too_short_to_mask,
  // The record's CID is not the one this epoch was installed with.
  unknown_connection_id,
  // Authenticated, but the inner plaintext is all zeros: no content type
  // (RFC 8446 §5.4, RFC 9146 §5: "unexpected_message").
  no_content_type,
};
inline constexpr size_t kRecordOpenResultCount = 10;

constexpr RecordOpenResult to_record_open_result(OpenResult r) {
  return static_cast<RecordOpenResult>(r);
}

std::string_view to_string(RecordOpenResult r);

}  // namespace dtlsgw::record
