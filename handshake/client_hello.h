// Stateless parsing of a ClientHello as it arrives in one datagram
// (RFC 6347 §4.2.1, §4.2.2, §4.3.2; RFC 5246 §7.4.1.2).
//
//   struct {
//     ProtocolVersion client_version;
//     Random random;                                   // 32 bytes
//     SessionID session_id;                            // <0..32>
//     opaque cookie<0..2^8-1>;
//     CipherSuite cipher_suites<2..2^16-2>;
//     CompressionMethod compression_methods<1..2^8-1>;
//     select (extensions_present) { ... Extension extensions<0..2^16-1>; };
//   } ClientHello;
//
// Only what the cookie needs is returned, as views into the datagram; the
// parser reads nothing outside it and allocates nothing.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "dtls_record/record_header.h"

namespace dtlsgw::handshake {

enum class ClientHelloResult : uint8_t {
  ok,
  bad_record,         // no framable record (dtls_record::HeaderResult)
  not_handshake,      // first record is not a handshake record
  not_epoch_zero,     // ClientHellos travel in epoch 0
  not_client_hello,   // handshake message type is not client_hello (1)
  truncated,          // a field runs past the record
  fragmented,         // not the whole message in one fragment: no
                      // stateless answer is possible (§4.2.3)
  bad_length,         // handshake length disagrees with the record
  bad_version,        // client_version is not a DTLS version
  bad_session_id,     // session_id longer than 32
  bad_cipher_suites,  // empty or odd length
  bad_compression,    // empty
  bad_extensions,     // extensions block length does not match
  too_large,          // over kMaxClientHelloBytes: refused statelessly
};
std::string_view to_string(ClientHelloResult r);

// A ClientHello larger than this is not answered statelessly (bounds the
// cookie MAC's input and the work an attacker can demand per datagram).
inline constexpr size_t kMaxClientHelloBytes = 4096;

inline constexpr size_t kHandshakeHeaderLength = 12;
inline constexpr size_t kRandomLength = 32;

struct ClientHello {
  record::RecordNumber record_number;  // to echo in the HelloVerifyRequest
  record::ProtocolVersion record_version;
  uint16_t message_seq = 0;
  uint16_t client_version = 0;
  std::span<const uint8_t> random;
  std::span<const uint8_t> session_id;
  std::span<const uint8_t> cookie;
  std::span<const uint8_t> cipher_suites;        // without the length prefix
  std::span<const uint8_t> compression_methods;  // without the length prefix
  size_t record_length = 0;                      // header + fragment bytes
  // Where client_version starts in the datagram (parse_client_hello sets
  // it): the cookie MAC copies version ‖ random ‖ session_id and
  // cipher_suites ‖ compression_methods, with their length bytes, straight
  // from the wire when the views above still point where the parser left
  // them (cookie.cc). nullptr for a ClientHello assembled by hand.
  const uint8_t* body = nullptr;
};

// Parses the first record of `datagram` as a ClientHello.
[[nodiscard]] ClientHelloResult parse_client_hello(std::span<const uint8_t> datagram,
                                                   ClientHello& out);

}  // namespace dtlsgw::handshake
