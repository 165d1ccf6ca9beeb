#include "dtls_record/record_header.h"

#include "dtls_record/wire.h"

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

namespace {

constexpr bool is_known_content_type(uint8_t t) {
  return t >= static_cast<uint8_t>(ContentType::change_cipher_spec) &&
         t <= static_cast<uint8_t>(ContentType::application_data);
}

constexpr bool is_known_version(uint16_t v) {
  return v == static_cast<uint16_t>(ProtocolVersion::dtls12) ||
         v == static_cast<uint16_t>(ProtocolVersion::dtls10);
}

}  // namespace

HeaderResult parse_record_header(std::span<const uint8_t> datagram, RecordHeader& out) {
  if (datagram.size() < kRecordHeaderLength) [[unlikely]] {
    return HeaderResult::truncated_header;
  }
  const uint8_t* p = datagram.data();
  if (!is_known_content_type(p[0])) [[unlikely]] {
    return HeaderResult::unknown_content_type;
  }
  const uint16_t version = wire::load_u16(p + 1);
  if (!is_known_version(version)) [[unlikely]] {
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

}  // namespace dtlsgw::record
