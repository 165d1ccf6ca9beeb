// A BIO that keeps datagram boundaries in both directions, so OpenSSL's
// DTLS engine runs over memory as it would over a UDP socket: each BIO_write
// is one datagram out, each BIO_read takes exactly one datagram in. OpenSSL
// 3.0 has no datagram memory BIO (BIO_s_dgram_mem arrived in 3.2) and a
// plain BIO_s_mem merges a flight's datagrams into one byte stream
// (DESIGN.md, "Handshake engine").
//
// It answers the datagram controls OpenSSL 3.0 asks during DTLSv1_listen
// and SSL_accept: the peer address (BIO_CTRL_DGRAM_GET_PEER), the path MTU
// and the IP + UDP overhead, and flush. It also keeps the cookie ClientHello
// the handshake started from, because OpenSSL's cookie verify callback gets
// only the cookie bytes (DESIGN.md, "OpenSSL 3.0 facts").
#pragma once

#include <openssl/bio.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "handshake/peer_address.h"

namespace dtlsgw::handshake {

using Datagram = std::vector<uint8_t>;

// IPv4 (20) or IPv6 (40) header plus UDP (8): what a datagram costs on the
// path beyond its payload. OpenSSL subtracts it from 256 for its minimum MTU.
inline constexpr long kIpv4UdpOverhead = 28;
inline constexpr long kIpv6UdpOverhead = 48;
inline long udp_overhead(PeerAddress::Family f) {
  return f == PeerAddress::Family::ipv4 ? kIpv4UdpOverhead : kIpv6UdpOverhead;
}

// What the BIO reads from and writes to. Not owned by the BIO: it must
// outlive every BIO made over it.
struct DatagramLink {
  PeerAddress peer;
  // Path MTU in bytes of UDP payload (BIO_CTRL_DGRAM_QUERY_MTU, GET_MTU).
  long mtu = 1200;
  std::deque<Datagram> inbound;    // to OpenSSL, oldest first
  std::vector<Datagram> outbound;  // written by OpenSSL, not yet taken
  // The cookie ClientHello datagram, and what the cookie callbacks made of
  // it (server_context.cc).
  Datagram client_hello;
  uint32_t cookie_verifications = 0;
  uint32_t cookie_rejections = 0;
  // Set by the engine between DTLSv1_listen's success and the end of
  // start(): the cookie of `client_hello` passed the MAC check in listen,
  // so the check OpenSSL repeats in SSL_accept, on the same buffered
  // ClientHello, compares the cookie bytes only (server_context.cc).
  bool cookie_verified = false;
  // Controls OpenSSL asked that the BIO does not answer (for tests).
  std::vector<int> unanswered_controls;
};

// A new BIO (one reference) over `link`; nullptr if OpenSSL refuses.
BIO* new_datagram_bio(DatagramLink& link);

// The link behind a BIO made by new_datagram_bio, or nullptr for any other.
DatagramLink* datagram_link(BIO* bio);

}  // namespace dtlsgw::handshake
