// Wire address types of the dataplane, kept in network byte order exactly
// as they sit in headers, so parsing and rewriting never convert them.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace dtlsgw::dataplane {

struct Ipv4 {
  uint32_t be = 0;  // network byte order
  friend bool operator==(const Ipv4&, const Ipv4&) = default;
};

// An IPv6 address, the 16 bytes in header (network) order.
struct Ipv6 {
  uint8_t bytes[16] = {};
  friend bool operator==(const Ipv6&, const Ipv6&) = default;
};

// Either family in one 16-byte value, as the data path keys and compares
// addresses: an IPv4 address is held as its IPv4-mapped IPv6 address
// ::ffff:a.b.c.d (RFC 4291 §2.5.5.2), so one comparison serves both and
// a v4 peer never equals a v6 one. The mapped range itself is therefore
// not a separate IPv6 address here: it never appears on an IPv6 wire as a
// source or destination (RFC 4291 §2.5.5.2 is for dual-stack APIs).
struct IpAddress {
  uint8_t bytes[16] = {};

  static IpAddress from(Ipv4 a) {
    IpAddress r;
    r.bytes[10] = 0xff;
    r.bytes[11] = 0xff;
    std::memcpy(r.bytes + 12, &a.be, sizeof a.be);
    return r;
  }
  static IpAddress from(const Ipv6& a) {
    IpAddress r;
    std::memcpy(r.bytes, a.bytes, sizeof r.bytes);
    return r;
  }
  // Whether this is ::ffff:0:0/96, an IPv4 address. (Word loads: the
  // data path asks this of every packet.)
  bool is_v4() const {
    uint64_t high;
    uint32_t middle;
    std::memcpy(&high, bytes, 8);
    std::memcpy(&middle, bytes + 8, 4);
    return high == 0 && middle == kMappedMiddle;
  }
  // The IPv4 address (the low 32 bits); meaningful when is_v4().
  Ipv4 v4() const {
    Ipv4 a;
    std::memcpy(&a.be, bytes + 12, sizeof a.be);
    return a;
  }
  Ipv6 v6() const {
    Ipv6 a;
    std::memcpy(a.bytes, bytes, sizeof a.bytes);
    return a;
  }
  // Two word compares; the defaulted operator compared byte by byte.
  friend bool operator==(const IpAddress& a, const IpAddress& b) {
    uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, a.bytes, 8);
    std::memcpy(&a1, a.bytes + 8, 8);
    std::memcpy(&b0, b.bytes, 8);
    std::memcpy(&b1, b.bytes + 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }

 private:
  // Bytes 8..11 of a mapped address (0, 0, 0xff, 0xff) as a host word.
  static constexpr uint32_t kMappedMiddle =
      std::endian::native == std::endian::little ? 0xffff0000u : 0x0000ffffu;
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

// IPv6 text (RFC 4291 §2.2): eight groups of 1 to 4 hex digits, one "::"
// standing for one or more zero groups, the last 32 bits optionally a
// dotted quad (parsed as parse_ipv4 does). No zone ("%eth0"), no prefix
// length, no brackets. to_string writes the canonical form of RFC 5952 §4:
// lower case, no leading zeros, the longest run of two or more zero groups
// (the first of equal runs) as "::", and §5's mixed notation for
// IPv4-mapped addresses (::ffff:192.0.2.1).
std::optional<Ipv6> parse_ipv6(std::string_view text);
std::string to_string(const Ipv6& a);

// Either family: a dotted quad is IPv4 (held mapped), anything else is
// parsed as IPv6 (where "::ffff:192.0.2.1" is the same IPv4 address).
// to_string gives the dotted quad for IPv4, RFC 5952 text otherwise.
std::optional<IpAddress> parse_ip_address(std::string_view text);
std::string to_string(const IpAddress& a);

// IPv6 address classes the neighbour discovery code needs.
// ff00::/8 (RFC 4291 §2.7).
inline bool is_multicast(const Ipv6& a) { return a.bytes[0] == 0xff; }
// fe80::/10 (RFC 4291 §2.5.6): on-link on every interface.
inline bool is_link_local(const Ipv6& a) {
  return a.bytes[0] == 0xfe && (a.bytes[1] & 0xc0) == 0x80;
}
// :: (RFC 4291 §2.5.2).
inline bool is_unspecified(const Ipv6& a) { return a == Ipv6{}; }
// The solicited-node multicast address of `a`, ff02::1:ffXX:XXXX: the
// prefix ff02:0:0:0:0:1:ff00::/104 and a's low 24 bits (RFC 4291 §2.7.1).
Ipv6 solicited_node_multicast(const Ipv6& a);
// The Ethernet destination of IPv6 multicast `a`: 33:33 and its last four
// bytes (RFC 2464 §7).
MacAddress multicast_mac(const Ipv6& a);

}  // namespace dtlsgw::dataplane
