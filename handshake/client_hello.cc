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

// A cursor over one handshake body that refuses to read past its end.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  bool u8(uint8_t& v) {
    if (b_.size() - pos_ < 1) {
      return false;
    }
    v = b_[pos_++];
    return true;
  }
  bool u16(uint16_t& v) {
    if (b_.size() - pos_ < 2) {
      return false;
    }
    v = wire::load_u16(b_.data() + pos_);
    pos_ += 2;
    return true;
  }
  bool bytes(size_t n, std::span<const uint8_t>& v) {
    if (b_.size() - pos_ < n) {
      return false;
    }
    v = b_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  size_t left() const { return b_.size() - pos_; }

 private:
  std::span<const uint8_t> b_;
  size_t pos_ = 0;
};

constexpr uint32_t load_u24(const uint8_t* p) {
  return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
}

constexpr uint8_t kClientHelloType = 1;

}  // namespace

ClientHelloResult parse_client_hello(std::span<const uint8_t> datagram, ClientHello& out) {
  record::RecordHeader rh;
  if (record::parse_record_header(datagram, rh) != record::HeaderResult::ok) {
    return ClientHelloResult::bad_record;
  }
  if (rh.type != record::ContentType::handshake) {
    return ClientHelloResult::not_handshake;
  }
  if (rh.number.epoch().value != 0) {
    return ClientHelloResult::not_epoch_zero;
  }
  if (rh.length > kMaxClientHelloBytes) {
    return ClientHelloResult::too_large;
  }
  const auto fragment = datagram.subspan(record::kRecordHeaderLength, rh.length);
  if (fragment.size() < kHandshakeHeaderLength) {
    return ClientHelloResult::truncated;
  }
  const uint8_t* h = fragment.data();
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
  if (length != fragment.size() - kHandshakeHeaderLength) {
    // Trailing bytes after the message or a message longer than the record.
    return ClientHelloResult::bad_length;
  }
  Reader r(fragment.subspan(kHandshakeHeaderLength));
  uint16_t version = 0;
  uint8_t n8 = 0;
  uint16_t n16 = 0;
  ClientHello ch;
  if (!r.u16(version) || !r.bytes(kRandomLength, ch.random)) {
    return ClientHelloResult::truncated;
  }
  // DTLS versions are 0xfeXX (1's complement of the TLS minor numbering).
  if ((version >> 8) != 0xfe) {
    return ClientHelloResult::bad_version;
  }
  if (!r.u8(n8)) {
    return ClientHelloResult::truncated;
  }
  if (n8 > 32) {
    return ClientHelloResult::bad_session_id;
  }
  if (!r.bytes(n8, ch.session_id) || !r.u8(n8) || !r.bytes(n8, ch.cookie)) {
    return ClientHelloResult::truncated;
  }
  if (!r.u16(n16)) {
    return ClientHelloResult::truncated;
  }
  if (n16 < 2 || (n16 & 1) != 0) {
    return ClientHelloResult::bad_cipher_suites;
  }
  if (!r.bytes(n16, ch.cipher_suites) || !r.u8(n8)) {
    return ClientHelloResult::truncated;
  }
  if (n8 < 1) {
    return ClientHelloResult::bad_compression;
  }
  if (!r.bytes(n8, ch.compression_methods)) {
    return ClientHelloResult::truncated;
  }
  if (r.left() != 0) {
    // RFC 5246 §7.4.1.2: extensions, if present, fill the rest exactly.
    if (!r.u16(n16) || n16 != r.left()) {
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
