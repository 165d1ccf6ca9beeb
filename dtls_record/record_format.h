// The three record formats dtlsgw protects. Each epoch class has exactly
// one (its kFormat), so a key's format is fixed when it is installed and
// the mixed bursts of record_dispatch.h switch on it once per record,
// never re-deciding from the bytes.
#pragma once

#include <cstdint>
#include <string_view>

namespace dtlsgw::record {

enum class RecordFormat : uint8_t {
  dtls12,      // RFC 6347 records (record_protection.h)
  dtls12_cid,  // RFC 9146 tls12_cid records (cid_record.h)
  dtls13,      // RFC 9147 unified-header ciphertexts (dtls13_protection.h)
};

constexpr std::string_view to_string(RecordFormat f) {
  switch (f) {
    case RecordFormat::dtls12:
      return "1.2";
    case RecordFormat::dtls12_cid:
      return "1.2 CID";
    case RecordFormat::dtls13:
      return "1.3";
  }
  return "invalid";
}

}  // namespace dtlsgw::record
