// A UDP peer: IPv4 or IPv6 address and port, as the cookie and the
// handshake engine see it. Plain bytes in network order, no sockaddr.
#pragma once

#include <compare>
#include <cstdint>
#include <cstring>

namespace dtlsgw::handshake {

struct PeerAddress {
  enum class Family : uint8_t { ipv4 = 4, ipv6 = 6 };
  Family family = Family::ipv4;
  uint8_t address[16] = {};  // IPv4 in the first 4 bytes, the rest zero
  uint16_t port = 0;         // host order

  static PeerAddress v4(const uint8_t a[4], uint16_t port) {
    PeerAddress p;
    p.family = Family::ipv4;
    std::memcpy(p.address, a, 4);
    p.port = port;
    return p;
  }
  static PeerAddress v6(const uint8_t a[16], uint16_t port) {
    PeerAddress p;
    p.family = Family::ipv6;
    std::memcpy(p.address, a, 16);
    p.port = port;
    return p;
  }
  size_t address_length() const { return family == Family::ipv4 ? 4 : 16; }

  friend bool operator==(const PeerAddress&, const PeerAddress&) = default;
};

}  // namespace dtlsgw::handshake
