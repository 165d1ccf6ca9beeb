#include "dtls_record/dtls13_header.h"

#include "dtls_record/wire.h"

namespace dtlsgw::record {

std::string_view to_string(Dtls13HeaderResult r) {
  switch (r) {
    case Dtls13HeaderResult::ok:
      return "ok";
    case Dtls13HeaderResult::truncated_header:
      return "truncated_header";
    case Dtls13HeaderResult::length_overrun:
      return "length_overrun";
    case Dtls13HeaderResult::fragment_too_long:
      return "fragment_too_long";
    case Dtls13HeaderResult::invalid_first_byte:
      return "invalid_first_byte";
    case Dtls13HeaderResult::unexpected_cid:
      return "unexpected_cid";
    case Dtls13HeaderResult::unknown_version:
      return "unknown_version";
  }
  return "invalid";
}

Dtls13HeaderResult parse_unified_header(std::span<uint8_t> datagram, size_t cid_length,
                                        Dtls13RecordView& out) {
  if (datagram.empty()) [[unlikely]] {
    return Dtls13HeaderResult::truncated_header;
  }
  const uint8_t first = datagram[0];
  if ((first & 0xe0) != kUnifiedFixedBits) [[unlikely]] {
    return Dtls13HeaderResult::invalid_first_byte;
  }
  UnifiedHeader h;
  h.first_byte = first;
  h.has_cid = (first & kUnifiedCidBit) != 0;
  h.sequence_bits = (first & kUnifiedSequence16Bit) != 0 ? 16 : 8;
  h.has_length = (first & kUnifiedLengthBit) != 0;
  h.epoch_bits = first & kUnifiedEpochMask;
  if (h.has_cid && cid_length == 0) [[unlikely]] {
    return Dtls13HeaderResult::unexpected_cid;
  }
  const size_t cid = h.has_cid ? cid_length : 0;
  if (cid > kMaxUnifiedHeaderLength - 5) [[unlikely]] {
    return Dtls13HeaderResult::unexpected_cid;  // longer than dtlsgw keeps
  }
  const size_t header_length = unified_header_length(cid, h.sequence_bits == 16, h.has_length);
  if (datagram.size() < header_length) [[unlikely]] {
    return Dtls13HeaderResult::truncated_header;
  }
  h.sequence_offset = static_cast<uint8_t>(1 + cid);
  const uint8_t* seq = datagram.data() + h.sequence_offset;
  h.masked_sequence = h.sequence_bits == 16 ? wire::load_u16(seq) : seq[0];
  h.header_length = static_cast<uint8_t>(header_length);
  size_t body_length = datagram.size() - header_length;
  if (h.has_length) {
    const size_t length = wire::load_u16(datagram.data() + header_length - 2);
    if (length > kMaxDtls13CiphertextLength) [[unlikely]] {
      return Dtls13HeaderResult::fragment_too_long;
    }
    if (length > body_length) [[unlikely]] {
      return Dtls13HeaderResult::length_overrun;
    }
    body_length = length;
  } else if (body_length > kMaxDtls13CiphertextLength) [[unlikely]] {
    return Dtls13HeaderResult::fragment_too_long;
  }
  out.kind = Dtls13RecordKind::ciphertext;
  out.unified = h;
  out.record = datagram.first(header_length + body_length);
  out.header = datagram.first(header_length);
  out.cid = datagram.subspan(1, cid);
  out.body = datagram.subspan(header_length, body_length);
  return Dtls13HeaderResult::ok;
}

size_t write_unified_header(uint8_t* out, uint8_t epoch_bits, std::span<const uint8_t> cid,
                            bool sequence16, bool with_length, uint16_t sequence_bits,
                            uint16_t length) {
  uint8_t first = kUnifiedFixedBits | (epoch_bits & kUnifiedEpochMask);
  if (!cid.empty()) {
    first |= kUnifiedCidBit;
  }
  if (sequence16) {
    first |= kUnifiedSequence16Bit;
  }
  if (with_length) {
    first |= kUnifiedLengthBit;
  }
  size_t at = 0;
  out[at++] = first;
  for (const uint8_t b : cid) {
    out[at++] = b;
  }
  if (sequence16) {
    wire::store_u16(out + at, sequence_bits);
    at += 2;
  } else {
    out[at++] = static_cast<uint8_t>(sequence_bits);
  }
  if (with_length) {
    wire::store_u16(out + at, length);
    at += 2;
  }
  return at;
}

namespace {

// The DTLSPlaintext header of RFC 9147 §4 is RFC 6347's (13 bytes); only
// the content types differ (ack is new), so it is parsed here rather than
// by parse_record_header, which knows DTLS 1.2's four types only.
Dtls13HeaderResult parse_plaintext(std::span<uint8_t> datagram, Dtls13RecordView& out) {
  if (datagram.size() < kRecordHeaderLength) [[unlikely]] {
    return Dtls13HeaderResult::truncated_header;
  }
  const uint8_t* p = datagram.data();
  const uint16_t version = wire::load_u16(p + 1);
  if (version != static_cast<uint16_t>(ProtocolVersion::dtls12) &&
      version != static_cast<uint16_t>(ProtocolVersion::dtls10)) [[unlikely]] {
    return Dtls13HeaderResult::unknown_version;
  }
  const size_t length = wire::load_u16(p + 11);
  if (length > kMaxPlaintextLength) [[unlikely]] {
    return Dtls13HeaderResult::fragment_too_long;
  }
  if (length > datagram.size() - kRecordHeaderLength) [[unlikely]] {
    return Dtls13HeaderResult::length_overrun;
  }
  out.kind = Dtls13RecordKind::plaintext;
  out.plaintext.type = static_cast<ContentType>(p[0]);
  out.plaintext.version = static_cast<ProtocolVersion>(version);
  out.plaintext.number = RecordNumber::from_packed(wire::load_u64(p + 3));
  out.plaintext.length = static_cast<uint16_t>(length);
  out.record = datagram.first(kRecordHeaderLength + length);
  out.header = datagram.first(kRecordHeaderLength);
  out.cid = {};
  out.body = datagram.subspan(kRecordHeaderLength, length);
  return Dtls13HeaderResult::ok;
}

}  // namespace

bool Dtls13Walker::next(Dtls13RecordView& out) {
  if (rest_.empty() || error_ != Dtls13HeaderResult::ok) {
    return false;
  }
  Dtls13HeaderResult r = Dtls13HeaderResult::invalid_first_byte;
  switch (classify_dtls13_record(rest_[0])) {
    case Dtls13RecordKind::plaintext:
      r = parse_plaintext(rest_, out);
      break;
    case Dtls13RecordKind::ciphertext:
      r = parse_unified_header(rest_, cid_length_, out);
      break;
    case Dtls13RecordKind::invalid:
      break;
  }
  if (r != Dtls13HeaderResult::ok) [[unlikely]] {
    error_ = r;
    return false;
  }
  rest_ = rest_.subspan(out.record.size());
  return true;
}

}  // namespace dtlsgw::record
