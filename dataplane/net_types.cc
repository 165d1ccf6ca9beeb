#include "dataplane/net_types.h"

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

}  // namespace dtlsgw::dataplane
