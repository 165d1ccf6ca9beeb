#include "handshake/client_hello.h"

#include "dtls_record/wire.h"

namespace dtlsgw::handshake {

namespace wire = record::wire;

std::string_view to_string(ClientHelloResult r) {
  switch (r) {
    case ClientHelloResult::ok:
      return "ok";
    case ClientHelloResult::bad_record:
      return "bad_record";
    case ClientHelloResult::not_handshake:
      return "not_handshake";
    case ClientHelloResult::not_epoch_zero:
      return "not_epoch_zero";
    case ClientHelloResult::not_client_hello:
      return "not_client_hello";
    case ClientHelloResult::truncated:
      return "truncated";
    case ClientHelloResult::fragmented:
      return "fragmented";
    case ClientHelloResult::bad_length:
      return "bad_length";
    case ClientHelloResult::bad_version:
      return "bad_version";
    case ClientHelloResult::bad_session_id:
      return "bad_session_id";
    case ClientHelloResult::bad_cipher_suites:
      return "bad_cipher_suites";
    case ClientHelloResult::bad_compression:
      return "bad_compression";
    case ClientHelloResult::bad_extensions:
      return "bad_extensions";
    case ClientHelloResult::too_large:
      return "too_large";
  }
  return "invalid";
}

namespace {

constexpr uint32_t load_u24(const uint8_t* p) {
  return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
}

constexpr uint8_t kClientHelloType = 1;

// The record header of a ClientHello in its usual form (handshake, DTLS
// 1.0 or 1.2 version, epoch 0, whole in the datagram): read inline, the
// dataplane parses one per ClientHello. Anything else goes through
// record::parse_record_header for the exact reason.
bool usual_client_hello_header(std::span<const uint8_t> datagram, record::RecordHeader& rh) {
  if (datagram.size() < record::kRecordHeaderLength) {
    return false;
  }
  const uint8_t* p = datagram.data();
  const uint16_t version = wire::load_u16(p + 1);
  const uint16_t length = wire::load_u16(p + 11);
  if (p[0] != static_cast<uint8_t>(record::ContentType::handshake) ||
      (version != static_cast<uint16_t>(record::ProtocolVersion::dtls10) &&
       version != static_cast<uint16_t>(record::ProtocolVersion::dtls12)) ||
      length > datagram.size() - record::kRecordHeaderLength || length > kMaxClientHelloBytes) {
    return false;
  }
  rh.type = record::ContentType::handshake;
  rh.version = static_cast<record::ProtocolVersion>(version);
  rh.number = record::RecordNumber::from_packed(wire::load_u64(p + 3));
  rh.length = length;
  return true;
}

}  // namespace

ClientHelloResult parse_client_hello(std::span<const uint8_t> datagram, ClientHello& out) {
  record::RecordHeader rh;
  if (!usual_client_hello_header(datagram, rh)) {
    if (record::parse_record_header(datagram, rh) != record::HeaderResult::ok) {
      return ClientHelloResult::bad_record;
    }
    if (rh.type != record::ContentType::handshake) {
      return ClientHelloResult::not_handshake;
    }
  }
  if (rh.number.epoch().value != 0) {
    return ClientHelloResult::not_epoch_zero;
  }
  if (rh.length > kMaxClientHelloBytes) {
    return ClientHelloResult::too_large;
  }
  if (rh.length < kHandshakeHeaderLength) {
    return ClientHelloResult::truncated;
  }
  const uint8_t* h = datagram.data() + record::kRecordHeaderLength;
  if (h[0] != kClientHelloType) {
    return ClientHelloResult::not_client_hello;
  }
  const uint32_t length = load_u24(h + 1);
  const uint16_t message_seq = wire::load_u16(h + 4);
  const uint32_t fragment_offset = load_u24(h + 6);
  const uint32_t fragment_length = load_u24(h + 9);
  // RFC 6347 §4.2.3: a message may be split across records; a stateless
  // server cannot reassemble, so only a whole message is answered.
  if (fragment_offset != 0 || fragment_length != length) {
    return ClientHelloResult::fragmented;
  }
  if (length != size_t{rh.length} - kHandshakeHeaderLength) {
    // Trailing bytes after the message or a message longer than the record.
    return ClientHelloResult::bad_length;
  }
  // The body, [p, end): every read below first checks that what it reads
  // is before `end` (the record's end, inside the datagram).
  const uint8_t* p = h + kHandshakeHeaderLength;
  const uint8_t* const end = p + length;
  const auto left = [&] { return static_cast<size_t>(end - p); };
  ClientHello ch;
  ch.body = p;
  if (left() < 2 + kRandomLength) {
    return ClientHelloResult::truncated;
  }
  const uint16_t version = wire::load_u16(p);
  ch.random = std::span(p + 2, kRandomLength);
  p += 2 + kRandomLength;
  // DTLS versions are 0xfeXX (1's complement of the TLS minor numbering).
  if ((version >> 8) != 0xfe) {
    return ClientHelloResult::bad_version;
  }
  if (left() < 1) {
    return ClientHelloResult::truncated;
  }
  const size_t session_id_length = *p++;
  if (session_id_length > 32) {
    return ClientHelloResult::bad_session_id;
  }
  // session_id, then the cookie's length byte.
  if (left() < session_id_length + 1) {
    return ClientHelloResult::truncated;
  }
  ch.session_id = std::span(p, session_id_length);
  p += session_id_length;
  const size_t cookie_length = *p++;
  // cookie, then the cipher_suites length.
  if (left() < cookie_length + 2) {
    return ClientHelloResult::truncated;
  }
  ch.cookie = std::span(p, cookie_length);
  p += cookie_length;
  const size_t suites_length = wire::load_u16(p);
  p += 2;
  if (suites_length < 2 || (suites_length & 1) != 0) {
    return ClientHelloResult::bad_cipher_suites;
  }
  // cipher_suites, then the compression_methods length.
  if (left() < suites_length + 1) {
    return ClientHelloResult::truncated;
  }
  ch.cipher_suites = std::span(p, suites_length);
  p += suites_length;
  const size_t compression_length = *p++;
  if (compression_length < 1) {
    return ClientHelloResult::bad_compression;
  }
  if (left() < compression_length) {
    return ClientHelloResult::truncated;
  }
  ch.compression_methods = std::span(p, compression_length);
  p += compression_length;
  if (left() != 0) {
    // RFC 5246 §7.4.1.2: extensions, if present, fill the rest exactly.
    if (left() < 2 || wire::load_u16(p) != left() - 2) {
      return ClientHelloResult::bad_extensions;
    }
  }
  ch.record_number = rh.number;
  ch.record_version = rh.version;
  ch.message_seq = message_seq;
  ch.client_version = version;
  ch.record_length = record::kRecordHeaderLength + rh.length;
  out = ch;
  return ClientHelloResult::ok;
}

}  // namespace dtlsgw::handshake
