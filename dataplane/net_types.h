// Wire address types of the dataplane, kept in network byte order exactly
// as they sit in headers, so parsing and rewriting never convert them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dtlsgw::dataplane {

struct Ipv4 {
  uint32_t be = 0;  // network byte order
  friend bool operator==(const Ipv4&, const Ipv4&) = default;
};

struct MacAddress {
  uint8_t bytes[6] = {};
  friend bool operator==(const MacAddress&, const MacAddress&) = default;
};

// "192.0.2.1" ↔ Ipv4 (dotted quad only, each part 0..255, no leading
// zeros that would read as octal elsewhere), "02:00:5e:00:53:01" ↔
// MacAddress (six hex pairs, ':' separated, any case).
std::optional<Ipv4> parse_ipv4(std::string_view text);
std::optional<MacAddress> parse_mac(std::string_view text);
std::string to_string(Ipv4 a);
std::string to_string(const MacAddress& m);

}  // namespace dtlsgw::dataplane
