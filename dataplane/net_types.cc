#include "dataplane/net_types.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace dtlsgw::dataplane {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace

std::optional<Ipv4> parse_ipv4(std::string_view text) {
  uint8_t bytes[4];
  size_t pos = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (pos >= text.size() || text[pos] != '.') {
        return std::nullopt;
      }
      ++pos;
    }
    const size_t start = pos;
    unsigned value = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && pos - start < 3) {
      value = value * 10 + static_cast<unsigned>(text[pos] - '0');
      ++pos;
    }
    const size_t digits = pos - start;
    // inet_aton reads "010" as octal 8; refusing leading zeros keeps one
    // spelling meaning one address everywhere the text is reused.
    if (digits == 0 || value > 255 || (digits > 1 && text[start] == '0')) {
      return std::nullopt;
    }
    bytes[part] = static_cast<uint8_t>(value);
  }
  if (pos != text.size()) {
    return std::nullopt;
  }
  Ipv4 a;
  // The bytes in text order are the bytes in header order.
  std::memcpy(&a.be, bytes, sizeof bytes);
  return a;
}

std::optional<MacAddress> parse_mac(std::string_view text) {
  // "xx:xx:xx:xx:xx:xx": six pairs and five separators.
  if (text.size() != 17) {
    return std::nullopt;
  }
  MacAddress m;
  for (size_t i = 0; i < 6; ++i) {
    const size_t at = i * 3;
    if (i > 0 && text[at - 1] != ':') {
      return std::nullopt;
    }
    const int hi = hex_digit(text[at]);
    const int lo = hex_digit(text[at + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    m.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return m;
}

std::string to_string(Ipv4 a) {
  uint8_t b[4];
  std::memcpy(b, &a.be, sizeof b);
  char text[16];
  std::snprintf(text, sizeof text, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
  return text;
}

std::string to_string(const MacAddress& m) {
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", m.bytes[0], m.bytes[1],
                m.bytes[2], m.bytes[3], m.bytes[4], m.bytes[5]);
  return text;
}

std::optional<Ipv6> parse_ipv6(std::string_view text) {
  // The 16-bit groups in text order, and where "::" stood among them.
  uint16_t groups[8] = {};
  size_t count = 0;
  size_t gap = SIZE_MAX;  // the group index "::" stands before
  size_t pos = 0;
  if (text.starts_with("::")) {
    gap = 0;
    pos = 2;
  }
  while (pos < text.size()) {
    // RFC 4291 §2.2 form 3: the low 32 bits as a dotted quad, only as the
    // last part and only where two groups still fit.
    const size_t end = std::min(text.find(':', pos), text.size());
    if (text.substr(pos, end - pos).find('.') != std::string_view::npos) {
      if (end != text.size() || count + 2 > 8) {
        return std::nullopt;
      }
      const std::optional<Ipv4> v4 = parse_ipv4(text.substr(pos));
      if (!v4) {
        return std::nullopt;
      }
      uint8_t b[4];
      std::memcpy(b, &v4->be, sizeof b);
      groups[count++] = static_cast<uint16_t>(b[0] << 8 | b[1]);
      groups[count++] = static_cast<uint16_t>(b[2] << 8 | b[3]);
      pos = end;
      break;
    }
    // One to four hex digits (RFC 4291 §2.2 form 1).
    if (count == 8 || end - pos == 0 || end - pos > 4) {
      return std::nullopt;
    }
    unsigned value = 0;
    for (; pos < end; ++pos) {
      const int d = hex_digit(text[pos]);
      if (d < 0) {
        return std::nullopt;
      }
      value = value << 4 | static_cast<unsigned>(d);
    }
    groups[count++] = static_cast<uint16_t>(value);
    if (pos == text.size()) {
      break;
    }
    ++pos;  // the ':'
    if (pos < text.size() && text[pos] == ':') {
      // Form 2: "::" at most once.
      if (gap != SIZE_MAX) {
        return std::nullopt;
      }
      gap = count;
      ++pos;
    } else if (pos == text.size()) {
      return std::nullopt;  // a trailing single ':'
    }
  }
  // "::" stands for at least one zero group; without it there are eight.
  if (gap == SIZE_MAX ? count != 8 : count > 7) {
    return std::nullopt;
  }
  Ipv6 a;
  const size_t zeros = 8 - count;
  for (size_t i = 0, out = 0; i < count; ++i, ++out) {
    if (i == gap) {
      out += zeros;
    }
    a.bytes[2 * out] = static_cast<uint8_t>(groups[i] >> 8);
    a.bytes[2 * out + 1] = static_cast<uint8_t>(groups[i]);
  }
  return a;
}

std::string to_string(const Ipv6& a) {
  uint16_t groups[8];
  for (size_t i = 0; i < 8; ++i) {
    groups[i] = static_cast<uint16_t>(a.bytes[2 * i] << 8 | a.bytes[2 * i + 1]);
  }
  // RFC 5952 §5: the IPv4-mapped prefix keeps the dotted quad.
  if (IpAddress::from(a).is_v4()) {
    return "::ffff:" + to_string(IpAddress::from(a).v4());
  }
  // RFC 5952 §4.2: the longest run of zero groups, if at least two long
  // (§4.2.2), the first of equal runs (§4.2.3), becomes "::".
  size_t best_start = 8;
  size_t best_length = 1;
  for (size_t i = 0; i < 8;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < 8 && groups[j] == 0) {
      ++j;
    }
    if (j - i > best_length) {
      best_start = i;
      best_length = j - i;
    }
    i = j;
  }
  std::string text;
  for (size_t i = 0; i < 8; ++i) {
    if (i == best_start) {
      text += "::";
      i += best_length - 1;
      continue;
    }
    if (!text.empty() && text.back() != ':') {
      text += ':';
    }
    // §4.1 leading zeros suppressed; §4.3 lower case.
    char group[5];
    std::snprintf(group, sizeof group, "%x", groups[i]);
    text += group;
  }
  return text;
}

std::optional<IpAddress> parse_ip_address(std::string_view text) {
  if (text.find(':') == std::string_view::npos) {
    const std::optional<Ipv4> v4 = parse_ipv4(text);
    return v4 ? std::optional<IpAddress>(IpAddress::from(*v4)) : std::nullopt;
  }
  const std::optional<Ipv6> v6 = parse_ipv6(text);
  return v6 ? std::optional<IpAddress>(IpAddress::from(*v6)) : std::nullopt;
}

std::string to_string(const IpAddress& a) {
  return a.is_v4() ? to_string(a.v4()) : to_string(a.v6());
}

Ipv6 solicited_node_multicast(const Ipv6& a) {
  Ipv6 m;
  m.bytes[0] = 0xff;
  m.bytes[1] = 0x02;
  m.bytes[11] = 0x01;
  m.bytes[12] = 0xff;
  std::memcpy(m.bytes + 13, a.bytes + 13, 3);
  return m;
}

MacAddress multicast_mac(const Ipv6& a) {
  MacAddress m;
  m.bytes[0] = 0x33;
  m.bytes[1] = 0x33;
  std::memcpy(m.bytes + 2, a.bytes + 12, 4);
  return m;
}

}  // namespace dtlsgw::dataplane
