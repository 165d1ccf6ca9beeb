// The PROXY protocol version 2 header (HAProxy's doc/proxy-protocol.txt,
// §2.2), written in front of each datagram a listener with
// `proxy_protocol = true` sends to its backend: the backend learns the
// peer's address and port and who it authenticated as, which it cannot
// see otherwise (the gateway terminates DTLS and sends from its own
// inside address). Pure (no DPDK): the data path calls write_header into
// the headroom in front of the plaintext.
//
// What is sent (all multi-byte integers in network byte order):
//   - the 12-byte signature, 0x21 (version 2, command PROXY), the family
//     and transport byte: 0x12 (AF_INET, DGRAM) or 0x22 (AF_INET6,
//     DGRAM), the length of what follows;
//   - the addresses: source = the peer, destination = the listener
//     (the gateway's outside address and the listener's port);
//   - TLVs (§2.2.1–§2.2.7), in this order:
//       PP2_TYPE_UNIQUE_ID (0x05), when a session id is given: 12 bytes,
//         see SessionId;
//       a certificate identity: PP2_TYPE_SSL (0x20) with client =
//         PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS,
//         verify = 0 (the handshake verified the chain), and the
//         sub-TLVs PP2_SUBTYPE_SSL_VERSION (0x21, "DTLSv1.2") and
//         PP2_SUBTYPE_SSL_CN (0x22, the subject's CN, when it has one);
//         then kTypeSubject with the subject (RFC 2253) as the
//         dataplane knows it;
//       a PSK identity: PP2_TYPE_SSL with client = PP2_CLIENT_SSL,
//         verify = 0 and PP2_SUBTYPE_SSL_VERSION, then kTypePskIdentity
//         with the identity's bytes;
//       for either: kTypeIdentityDigest (below), so a backend can tell
//         a complete identity from a truncated one.
// The custom types are in the range §2.2.8 reserves for private use
// (0xE0–0xEF). No PP2_TYPE_CRC32C: the datagram crosses the gateway's own
// inside link, and UDP's checksum covers the header already.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace dtlsgw::dataplane::proxy_v2 {

// §2.2: "\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A".
inline constexpr std::array<uint8_t, 12> kSignature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                       0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
inline constexpr uint8_t kVersion2Proxy = 0x21;
inline constexpr uint8_t kInetDgram = 0x12;
inline constexpr uint8_t kInet6Dgram = 0x22;
inline constexpr size_t kFixedLength = 16;  // signature, ver_cmd, fam, len

// §2.2: registered TLV types.
inline constexpr uint8_t kTypeUniqueId = 0x05;
inline constexpr uint8_t kTypeSsl = 0x20;
inline constexpr uint8_t kSubtypeSslVersion = 0x21;
inline constexpr uint8_t kSubtypeSslCn = 0x22;
inline constexpr uint8_t kClientSsl = 0x01;
inline constexpr uint8_t kClientCertConn = 0x02;
inline constexpr uint8_t kClientCertSess = 0x04;

// dtlsgw's own types (§2.2.8: 0xE0–0xEF are for custom use).
// The PSK identity (RFC 4279 §2: opaque bytes), as the dataplane knows it.
inline constexpr uint8_t kTypePskIdentity = 0xE0;
// The client certificate's subject, RFC 2253 (e.g. "CN=dev1,O=Acme").
inline constexpr uint8_t kTypeSubject = 0xE1;
// 12 bytes: kind (1 = PSK, 2 = certificate), flags (bit 0: the identity
// TLV holds only a prefix), the whole identity's length (2 bytes), and
// its 64-bit FNV-1a hash (8 bytes; contract::identity_hash): a backend
// matches a long identity by length and hash.
inline constexpr uint8_t kTypeIdentityDigest = 0xE2;
inline constexpr uint8_t kDigestTruncated = 0x01;
inline constexpr size_t kDigestLength = 12;

inline constexpr std::string_view kSslVersion = "DTLSv1.2";

struct Endpoint {
  bool ipv6 = false;
  std::array<uint8_t, 16> address{};  // network byte order; IPv4: first 4
  uint16_t port = 0;                  // host order
};
Endpoint ipv4_endpoint(uint32_t be_address, uint16_t port);

struct Identity {
  enum class Kind : uint8_t { none = 0, psk = 1, certificate = 2 };
  Kind kind = Kind::none;
  std::string_view name;        // all of it, or a prefix (truncated)
  bool truncated = false;
  uint16_t full_length = 0;
  uint64_t hash = 0;
};

// PP2_TYPE_UNIQUE_ID: the peer's address and port, the listener port and
// the session's install time (s): unique per session unless one peer
// replaces its session within the same second on the same flow.
using SessionId = std::array<uint8_t, 12>;

struct HeaderFields {
  Endpoint source;       // the peer
  Endpoint destination;  // the listener
  Identity identity;
  const SessionId* session_id = nullptr;  // none: no PP2_TYPE_UNIQUE_ID
};

// The CN attribute's value in an RFC 2253 subject (the first CN=, where an
// attribute starts), up to its first unescaped ','; empty when none.
std::string_view common_name(std::string_view subject);

// Bytes write_header will write.
size_t header_length(const HeaderFields& f);
// Writes the header at the start of `out`; returns its length, or 0 when
// `out` is too small or a value cannot be encoded (never a partial
// header a caller might send).
size_t write_header(const HeaderFields& f, std::span<uint8_t> out);

}  // namespace dtlsgw::dataplane::proxy_v2
