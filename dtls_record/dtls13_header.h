// DTLS 1.3 record framing (RFC 9147 §4): the unified header of
// DTLSCiphertext, the DTLSPlaintext header, and the walk over every record
// of one datagram.
//
//    0 1 2 3 4 5 6 7
//   +-+-+-+-+-+-+-+-+
//   |0|0|1|C|S|L|E E|
//   +-+-+-+-+-+-+-+-+
//   | Connection ID |   Legend:
//   | (if any,      |
//   /  length as    /   C   - Connection ID (CID) present
//   |  negotiated)  |   S   - Sequence number length
//   +-+-+-+-+-+-+-+-+   L   - Length present
//   |  8 or 16 bit  |   E   - Epoch
//   |Sequence Number|
//   +-+-+-+-+-+-+-+-+
//   | 16 bit Length |
//   | (if present)  |
//   +-+-+-+-+-+-+-+-+
//
// The CID carries no length on the wire: the receiver knows the length of
// its own CIDs, so parsing takes it as a parameter. A record without the
// length field runs to the end of the datagram, so it is the last one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dtls_record/record_header.h"
#include "dtls_record/record_number.h"

namespace dtlsgw::record {

// RFC 9147 §4.1 demultiplexing by the first byte:
//   "If the first byte is alert(21), handshake(22), or ack(proposed, 26),
//    the record MUST be interpreted as a DTLSPlaintext record. ... If the
//    first byte is any other value, then receivers MUST check to see if the
//    leading bits of the first byte are 001. If so, the implementation MUST
//    process the record as DTLSCiphertext ... Otherwise, the record MUST be
//    rejected as if it had failed deprotection".
enum class Dtls13RecordKind : uint8_t { plaintext, ciphertext, invalid };

inline constexpr uint8_t kAckContentType = 26;  // RFC 9147 §7

constexpr Dtls13RecordKind classify_dtls13_record(uint8_t first_byte) {
  if (first_byte == 21 || first_byte == 22 || first_byte == kAckContentType) {
    return Dtls13RecordKind::plaintext;
  }
  if ((first_byte & 0xe0) == 0x20) {
    return Dtls13RecordKind::ciphertext;
  }
  return Dtls13RecordKind::invalid;
}

inline constexpr uint8_t kUnifiedFixedBits = 0x20;
inline constexpr uint8_t kUnifiedCidBit = 0x10;
inline constexpr uint8_t kUnifiedSequence16Bit = 0x08;
inline constexpr uint8_t kUnifiedLengthBit = 0x04;
inline constexpr uint8_t kUnifiedEpochMask = 0x03;
// RFC 8446 §5.2: "The length MUST NOT exceed 2^14 + 256 bytes".
inline constexpr size_t kMaxDtls13CiphertextLength = (size_t{1} << 14) + 256;
// The longest unified header dtlsgw parses: first byte, CID, 16-bit
// sequence number and length.
inline constexpr size_t kMaxUnifiedHeaderLength = 1 + 32 + 2 + 2;

struct UnifiedHeader {
  uint8_t first_byte = 0;
  uint8_t epoch_bits = 0;      // E E: the epoch's low two bits
  uint8_t sequence_bits = 8;   // 8 or 16 (S)
  bool has_cid = false;        // C
  bool has_length = false;     // L
  uint16_t masked_sequence = 0;  // the sequence bits as on the wire
  uint8_t header_length = 0;   // bytes before the encrypted record
  uint8_t sequence_offset = 0;  // where the sequence bytes start
};

enum class Dtls13HeaderResult : uint8_t {
  ok,
  truncated_header,     // the datagram ends inside a header
  length_overrun,       // the length field runs past the datagram's end
  fragment_too_long,    // over 2^14 + 256 (ciphertext) or 2^14 (plaintext)
  invalid_first_byte,   // neither DTLSPlaintext nor DTLSCiphertext (§4.1)
  unexpected_cid,       // C set, but this receiver has no CID
  unknown_version,      // a DTLSPlaintext whose version is not 1.0/1.2
};
std::string_view to_string(Dtls13HeaderResult r);

// One record of a DTLS 1.3 datagram, in place.
struct Dtls13RecordView {
  Dtls13RecordKind kind = Dtls13RecordKind::invalid;
  UnifiedHeader unified;      // kind == ciphertext
  RecordHeader plaintext;     // kind == plaintext (type may be ack, 26)
  std::span<uint8_t> record;  // header and body
  std::span<uint8_t> header;  // the header bytes (the AAD of a ciphertext)
  std::span<uint8_t> cid;     // inside `header`; empty without C
  std::span<uint8_t> body;    // encrypted_record, or the plaintext fragment
};

// Parses the unified header at the start of `datagram`; `cid_length` is
// the length of this receiver's CID (0: none negotiated). Reads at most
// datagram.size() bytes.
[[nodiscard]] Dtls13HeaderResult parse_unified_header(std::span<uint8_t> datagram,
                                                      size_t cid_length, Dtls13RecordView& out);

// Writes a unified header with the sequence bits given (the sealer writes
// them unmasked, computes the AAD, then masks them). Returns its length;
// `out` must hold unified_header_length(...).
constexpr size_t unified_header_length(size_t cid_length, bool sequence16, bool with_length) {
  return 1 + cid_length + (sequence16 ? 2 : 1) + (with_length ? 2 : 0);
}
size_t write_unified_header(uint8_t* out, uint8_t epoch_bits, std::span<const uint8_t> cid,
                            bool sequence16, bool with_length, uint16_t sequence_bits,
                            uint16_t length);

// Walks every record of a DTLS 1.3 datagram (plaintext and ciphertext
// records may be mixed, RFC 9147 §4.3). The first record that cannot be
// framed ends the walk; its reason is kept.
class Dtls13Walker {
 public:
  Dtls13Walker(std::span<uint8_t> datagram, size_t cid_length)
      : rest_(datagram), cid_length_(cid_length) {}
  [[nodiscard]] bool next(Dtls13RecordView& out);
  Dtls13HeaderResult error() const { return error_; }
  size_t remaining() const { return rest_.size(); }

 private:
  std::span<uint8_t> rest_;
  size_t cid_length_;
  Dtls13HeaderResult error_ = Dtls13HeaderResult::ok;
};

}  // namespace dtlsgw::record
