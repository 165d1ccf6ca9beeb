// The inner plaintext shared by DTLS 1.3 (DTLSInnerPlaintext, RFC 9147
// §4 / RFC 8446 §5.2) and RFC 9146 tls12_cid records (§4):
//
//   struct { opaque content[length]; ContentType real_type;
//            uint8 zeros[length_of_padding]; } DTLSInnerPlaintext;
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "dtls_record/record_header.h"

namespace dtlsgw::record {

// RFC 8446 §5.4: "The length ... of the full encoded TLSInnerPlaintext
// MUST NOT exceed 2^14 + 1 octets."
inline constexpr size_t kMaxInnerPlaintextLength = kMaxPlaintextLength + 1;

// The index of the content-type byte: the last non-zero byte ("scanning
// the field from the end toward the beginning", RFC 8446 §5.4). `inner`
// itself if all bytes are zero (the caller rejects the record).
inline size_t inner_content_length(std::span<const uint8_t> inner) {
  size_t i = inner.size();
  while (i > 0 && inner[i - 1] == 0) {
    --i;
  }
  return i == 0 ? inner.size() : i - 1;
}

// Zero bytes to add after the content type of `content_length` bytes:
// at least `padding`, then up to a multiple of `multiple` (0: none), then
// enough that inner + `tag_length` >= `min_ciphertext`; never past the
// 2^14 + 1 limit (unless the minimum needs it, which it never does for a
// content of at most 2^14 bytes).
inline size_t inner_padding(size_t content_length, size_t padding, size_t multiple,
                            size_t tag_length, size_t min_ciphertext) {
  size_t inner = content_length + 1 + padding;
  if (multiple > 1 && inner % multiple != 0) {
    inner += multiple - inner % multiple;
  }
  inner = std::min(inner, std::max(kMaxInnerPlaintextLength, content_length + 1));
  if (inner + tag_length < min_ciphertext) {
    inner = min_ciphertext - tag_length;
  }
  return inner - content_length - 1;
}

}  // namespace dtlsgw::record
