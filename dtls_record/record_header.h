// The DTLS 1.2 record header (RFC 6347 §4.1):
//
//   struct {
//     ContentType type;               // 1 byte
//     ProtocolVersion version;        // 2 bytes
//     uint16 epoch;                   // 2 bytes
//     uint48 sequence_number;         // 6 bytes
//     uint16 length;                  // 2 bytes
//     opaque fragment[DTLSPlaintext.length];
//   } DTLSPlaintext;
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dtls_record/record_number.h"
#include "dtls_record/wire.h"

namespace dtlsgw::record {

enum class ContentType : uint8_t {
  change_cipher_spec = 20,
  alert = 21,
  handshake = 22,
  application_data = 23,
};

enum class ProtocolVersion : uint16_t {
  // RFC 6347 §4.2.1: a ClientHello may carry DTLS 1.0 in its record header.
  dtls10 = 0xfeff,
  dtls12 = 0xfefd,
};

inline constexpr size_t kRecordHeaderLength = 13;
// RFC 5246 §6.2.3 (inherited by RFC 6347 §4.1): a protected fragment is at
// most 2^14 + 2048 bytes; the plaintext at most 2^14.
inline constexpr size_t kMaxPlaintextLength = size_t{1} << 14;
inline constexpr size_t kMaxFragmentLength = kMaxPlaintextLength + 2048;

struct RecordHeader {
  ContentType type = ContentType::application_data;
  ProtocolVersion version = ProtocolVersion::dtls12;
  RecordNumber number;
  uint16_t length = 0;  // of the fragment that follows the header
};

// Why a record could not be framed. Every value is a counted drop reason.
enum class HeaderResult : uint8_t {
  ok,
  truncated_header,      // fewer than 13 bytes left in the datagram
  length_overrun,        // the length field runs past the datagram's end
  fragment_too_long,     // over 2^14 + 2048 bytes
  unknown_content_type,  // not one of RFC 6347's four record types
  unknown_version,       // not DTLS 1.0 or 1.2
};

std::string_view to_string(HeaderResult r);

// Parses the header at the start of `datagram` and checks that its fragment
// lies within `datagram`. Reads at most `datagram.size()` bytes. Inline:
// it runs once per received record.
[[nodiscard]] inline HeaderResult parse_record_header(std::span<const uint8_t> datagram,
                                                      RecordHeader& out) {
  if (datagram.size() < kRecordHeaderLength) [[unlikely]] {
    return HeaderResult::truncated_header;
  }
  const uint8_t* p = datagram.data();
  // RFC 6347's four record types are the consecutive values 20..23.
  if (p[0] < static_cast<uint8_t>(ContentType::change_cipher_spec) ||
      p[0] > static_cast<uint8_t>(ContentType::application_data)) [[unlikely]] {
    return HeaderResult::unknown_content_type;
  }
  const uint16_t version = wire::load_u16(p + 1);
  if (version != static_cast<uint16_t>(ProtocolVersion::dtls12) &&
      version != static_cast<uint16_t>(ProtocolVersion::dtls10)) [[unlikely]] {
    return HeaderResult::unknown_version;
  }
  const uint16_t length = wire::load_u16(p + 11);
  if (length > kMaxFragmentLength) [[unlikely]] {
    return HeaderResult::fragment_too_long;
  }
  if (length > datagram.size() - kRecordHeaderLength) [[unlikely]] {
    return HeaderResult::length_overrun;
  }
  out.type = static_cast<ContentType>(p[0]);
  out.version = static_cast<ProtocolVersion>(version);
  out.number = RecordNumber::from_packed(wire::load_u64(p + 3));
  out.length = length;
  return HeaderResult::ok;
}

// Writes the 13-byte header; `out` must hold at least kRecordHeaderLength.
// Inline: it runs once per sealed record.
inline void write_record_header(const RecordHeader& header, uint8_t* out) {
  out[0] = static_cast<uint8_t>(header.type);
  wire::store_u16(out + 1, static_cast<uint16_t>(header.version));
  wire::store_u64(out + 3, header.number.packed());
  wire::store_u16(out + 11, header.length);
}

}  // namespace dtlsgw::record
