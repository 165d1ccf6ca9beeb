#include "dataplane/proxy_v2.h"

#include <algorithm>
#include <cstring>

namespace dtlsgw::dataplane::proxy_v2 {

namespace {

// §2.2: "TLVs ... have a length of 16 bits": each is type, length (2), value.
constexpr size_t kTlvHeader = 3;
// §2.2.5: struct pp2_tlv_ssl { uint8_t client; uint32_t verify; sub TLVs }.
constexpr size_t kSslFixed = 5;
// §2.2.3: "The value of the type PP2_TYPE_UNIQUE_ID is an opaque byte
// sequence of up to 128 bytes".
static_assert(sizeof(SessionId) <= 128);

size_t address_length(const HeaderFields& f) {
  // §2.2: AF_INET: 4 + 4 + 2 + 2; AF_INET6: 16 + 16 + 2 + 2.
  return f.source.ipv6 ? 36 : 12;
}

// The CN the header carries: none when a truncated subject may have cut
// it short (it then runs to the end of the prefix).
std::string_view carried_common_name(const Identity& id) {
  const std::string_view cn = common_name(id.name);
  if (id.truncated && cn.data() + cn.size() == id.name.data() + id.name.size()) {
    return {};
  }
  return cn;
}

size_t ssl_length(const Identity& id) {
  size_t n = kSslFixed + kTlvHeader + kSslVersion.size();
  if (id.kind == Identity::Kind::certificate) {
    const std::string_view cn = carried_common_name(id);
    if (!cn.empty()) {
      n += kTlvHeader + cn.size();
    }
  }
  return n;
}

size_t tlvs_length(const HeaderFields& f) {
  size_t n = 0;
  if (f.session_id != nullptr) {
    n += kTlvHeader + f.session_id->size();
  }
  if (f.identity.kind != Identity::Kind::none) {
    n += kTlvHeader + ssl_length(f.identity);
    n += kTlvHeader + f.identity.name.size();
    n += kTlvHeader + kDigestLength;
  }
  return n;
}

uint8_t* put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
  return p + 2;
}
uint8_t* put_tlv_header(uint8_t* p, uint8_t type, size_t length) {
  *p++ = type;
  return put16(p, static_cast<uint16_t>(length));
}
uint8_t* put_bytes(uint8_t* p, const void* data, size_t length) {
  std::memcpy(p, data, length);
  return p + length;
}
uint8_t* put_tlv(uint8_t* p, uint8_t type, std::string_view value) {
  p = put_tlv_header(p, type, value.size());
  return put_bytes(p, value.data(), value.size());
}

}  // namespace

Endpoint ipv4_endpoint(uint32_t be_address, uint16_t port) {
  Endpoint e;
  std::memcpy(e.address.data(), &be_address, 4);
  e.port = port;
  return e;
}

std::string_view common_name(std::string_view subject) {
  // RFC 2253 §2.1–2.4: RDNs separated by ',', attributes of one RDN by
  // '+', each "type=value"; a value escapes ',' '+' '"' '\' '<' '>' ';'
  // with '\'. The value is returned as it stands (still escaped).
  size_t i = 0;
  while (i < subject.size()) {
    // `i` is at the start of an attribute.
    const bool is_cn = subject.size() - i >= 3 && (subject[i] == 'C' || subject[i] == 'c') &&
                       (subject[i + 1] == 'N' || subject[i + 1] == 'n') && subject[i + 2] == '=';
    size_t j = is_cn ? i + 3 : i;
    const size_t value_start = j;
    while (j < subject.size() && subject[j] != ',' && subject[j] != '+') {
      j += subject[j] == '\\' ? 2 : 1;
    }
    j = std::min(j, subject.size());
    if (is_cn) {
      return subject.substr(value_start, j - value_start);
    }
    i = j + 1;
  }
  return {};
}

size_t header_length(const HeaderFields& f) {
  return kFixedLength + address_length(f) + tlvs_length(f);
}

size_t write_header(const HeaderFields& f, std::span<uint8_t> out) {
  const size_t total = header_length(f);
  // §2.2: the length field counts the bytes after the 16 fixed ones; an
  // identity too long for a TLV, or mixed families, cannot be encoded.
  if (total > out.size() || total - kFixedLength > UINT16_MAX ||
      f.identity.name.size() > UINT16_MAX - kSslFixed || f.source.ipv6 != f.destination.ipv6) {
    return 0;
  }
  uint8_t* p = out.data();
  p = put_bytes(p, kSignature.data(), kSignature.size());
  *p++ = kVersion2Proxy;
  *p++ = f.source.ipv6 ? kInet6Dgram : kInetDgram;
  p = put16(p, static_cast<uint16_t>(total - kFixedLength));
  const size_t address_bytes = f.source.ipv6 ? 16 : 4;
  p = put_bytes(p, f.source.address.data(), address_bytes);
  p = put_bytes(p, f.destination.address.data(), address_bytes);
  p = put16(p, f.source.port);
  p = put16(p, f.destination.port);

  if (f.session_id != nullptr) {
    p = put_tlv_header(p, kTypeUniqueId, f.session_id->size());
    p = put_bytes(p, f.session_id->data(), f.session_id->size());
  }
  const Identity& id = f.identity;
  if (id.kind != Identity::Kind::none) {
    const bool certificate = id.kind == Identity::Kind::certificate;
    p = put_tlv_header(p, kTypeSsl, ssl_length(id));
    // §2.2.5: PP2_CLIENT_SSL: "the client connected over SSL/TLS";
    // CERT_CONN / CERT_SESS: it presented a certificate on this
    // connection / over this session. The dataplane cannot tell a resumed
    // session, so a certificate identity sets both. verify = 0: "the
    // client presented a certificate and it was successfully verified"
    // (the handshake requires it), and 0 as well without a certificate.
    *p++ = certificate ? kClientSsl | kClientCertConn | kClientCertSess : kClientSsl;
    const uint32_t verify = 0;
    p = put_bytes(p, &verify, 4);
    p = put_tlv(p, kSubtypeSslVersion, kSslVersion);
    if (certificate) {
      if (const std::string_view cn = carried_common_name(id); !cn.empty()) {
        p = put_tlv(p, kSubtypeSslCn, cn);
      }
    }
    p = put_tlv(p, certificate ? kTypeSubject : kTypePskIdentity, id.name);
    p = put_tlv_header(p, kTypeIdentityDigest, kDigestLength);
    *p++ = static_cast<uint8_t>(id.kind);
    *p++ = id.truncated ? kDigestTruncated : 0;
    p = put16(p, id.full_length);
    for (int shift = 56; shift >= 0; shift -= 8) {
      *p++ = static_cast<uint8_t>(id.hash >> shift);
    }
  }
  return static_cast<size_t>(p - out.data());
}

}  // namespace dtlsgw::dataplane::proxy_v2
