// A PROXY protocol v2 parser written from HAProxy's doc/proxy-protocol.txt
// (§2.2) for the tests, independently of dataplane/proxy_v2 (the writer):
// it is the receiver the writer's headers must satisfy.
#pragma once

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace dtlsgw::proxy_v2_parser {

// ---- the parser, from the specification ------------------------------

struct Tlv {
  uint8_t type = 0;
  std::vector<uint8_t> value;
};

struct Parsed {
  size_t header_length = 0;  // 16 + len
  int family = 0;            // AF_INET / AF_INET6
  int transport = 0;         // 1 STREAM, 2 DGRAM
  std::string source;        // inet_ntop
  std::string destination;
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
  std::vector<Tlv> tlvs;
};

inline std::optional<std::vector<Tlv>> parse_tlvs(const uint8_t* p, size_t n) {
  // "struct pp2_tlv { uint8_t type; uint8_t length_hi; uint8_t length_lo;
  //  uint8_t value[0]; }" — a TLV running past the end is an error.
  std::vector<Tlv> out;
  while (n > 0) {
    if (n < 3) {
      return std::nullopt;
    }
    const size_t length = size_t{p[1]} << 8 | p[2];
    if (n - 3 < length) {
      return std::nullopt;
    }
    out.push_back(Tlv{p[0], std::vector<uint8_t>(p + 3, p + 3 + length)});
    p += 3 + length;
    n -= 3 + length;
  }
  return out;
}

inline std::optional<Parsed> parse(const std::vector<uint8_t>& in) {
  // "The binary header format starts with a constant 12 bytes block
  // containing the protocol signature: \x0D \x0A \x0D \x0A \x00 \x0D \x0A
  // \x51 \x55 \x49 \x54 \x0A".
  static const uint8_t sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                  0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
  if (in.size() < 16 || std::memcmp(in.data(), sig, 12) != 0) {
    return std::nullopt;
  }
  // "The highest four bits contains the version ... must always be sent
  // as \x2"; "The lowest four bits represents the command: \x0 LOCAL,
  // \x1 PROXY" (others: "must drop the connection").
  if ((in[12] >> 4) != 2 || (in[12] & 0x0F) != 1) {
    return std::nullopt;
  }
  Parsed out;
  // "The 14th byte contains the transport protocol and address family.
  // The highest 4 bits contain the address family, the lowest 4 bits
  // contain the protocol." 0x1 AF_INET, 0x2 AF_INET6; 0x1 STREAM, 0x2 DGRAM.
  const int family = in[13] >> 4;
  out.transport = in[13] & 0x0F;
  // "The 15th and 16th bytes is the address length in bytes in network
  // endian order" — the number of bytes after these 16.
  const size_t len = size_t{in[14]} << 8 | in[15];
  if (in.size() < 16 + len) {
    return std::nullopt;
  }
  out.header_length = 16 + len;
  const uint8_t* a = in.data() + 16;
  size_t address_block = 0;
  char text[INET6_ADDRSTRLEN];
  if (family == 1) {
    // "struct { uint32_t src_addr; uint32_t dst_addr; uint16_t src_port;
    //  uint16_t dst_port; } ipv4_addr;" — 12 bytes.
    address_block = 12;
    if (len < address_block) {
      return std::nullopt;
    }
    out.family = AF_INET;
    out.source = inet_ntop(AF_INET, a, text, sizeof(text));
    out.destination = inet_ntop(AF_INET, a + 4, text, sizeof(text));
    out.source_port = static_cast<uint16_t>(a[8] << 8 | a[9]);
    out.destination_port = static_cast<uint16_t>(a[10] << 8 | a[11]);
  } else if (family == 2) {
    // "struct { uint8_t src_addr[16]; uint8_t dst_addr[16]; uint16_t
    //  src_port; uint16_t dst_port; } ipv6_addr;" — 36 bytes.
    address_block = 36;
    if (len < address_block) {
      return std::nullopt;
    }
    out.family = AF_INET6;
    out.source = inet_ntop(AF_INET6, a, text, sizeof(text));
    out.destination = inet_ntop(AF_INET6, a + 16, text, sizeof(text));
    out.source_port = static_cast<uint16_t>(a[32] << 8 | a[33]);
    out.destination_port = static_cast<uint16_t>(a[34] << 8 | a[35]);
  } else {
    return std::nullopt;
  }
  // "the receiver ... may find additional data after the address block
  // ... in the form of TLVs".
  auto tlvs = parse_tlvs(a + address_block, len - address_block);
  if (!tlvs) {
    return std::nullopt;
  }
  out.tlvs = std::move(*tlvs);
  return out;
}

inline const Tlv* find(const std::vector<Tlv>& tlvs, uint8_t type) {
  for (const Tlv& t : tlvs) {
    if (t.type == type) {
      return &t;
    }
  }
  return nullptr;
}
inline std::string text(const Tlv* t) {
  return t ? std::string(t->value.begin(), t->value.end()) : "";
}

// "struct pp2_tlv_ssl { uint8_t client; uint32_t verify; struct pp2_tlv
// sub_tlv[0]; }" with PP2_CLIENT_SSL 0x01, PP2_CLIENT_CERT_CONN 0x02,
// PP2_CLIENT_CERT_SESS 0x04; sub-types PP2_SUBTYPE_SSL_VERSION 0x21,
// PP2_SUBTYPE_SSL_CN 0x22.
struct Ssl {
  uint8_t client = 0;
  uint32_t verify = 0;
  std::vector<Tlv> sub;
};
inline std::optional<Ssl> parse_ssl(const Tlv& t) {
  if (t.value.size() < 5) {
    return std::nullopt;
  }
  Ssl s;
  s.client = t.value[0];
  s.verify = uint32_t{t.value[1]} << 24 | uint32_t{t.value[2]} << 16 |
             uint32_t{t.value[3]} << 8 | t.value[4];
  auto sub = parse_tlvs(t.value.data() + 5, t.value.size() - 5);
  if (!sub) {
    return std::nullopt;
  }
  s.sub = std::move(*sub);
  return s;
}

}  // namespace dtlsgw::proxy_v2_parser
