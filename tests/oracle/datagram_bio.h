// A BIO that keeps datagram boundaries, so OpenSSL's DTLS engine can run over
// memory as it runs over UDP. A plain BIO_s_mem merges a flight's datagrams
// into one byte stream, and OpenSSL 3.0 has no datagram memory BIO
// (BIO_s_dgram_mem arrived in 3.2): see DESIGN.md, "Handshake engine".
#pragma once

#include <openssl/bio.h>

#include <cstdint>
#include <deque>
#include <vector>

namespace dtlsgw::oracle {

using Datagram = std::vector<uint8_t>;

// One direction of the in-memory network.
struct DatagramQueue {
  std::deque<Datagram> in_flight;  // written, not yet read
  std::vector<Datagram> sent;      // every datagram ever written, in order
};

// A new BIO (one reference) whose BIO_write sends one datagram to `out` and
// whose BIO_read takes exactly one datagram from `in` (truncated to the read
// length, as recv() on a UDP socket would). An empty `in` is a retryable
// read, as on a non-blocking socket. The queues are not owned and must
// outlive the BIO.
BIO* new_datagram_bio(DatagramQueue& in, DatagramQueue& out);

// The MTU the BIO reports for BIO_CTRL_DGRAM_QUERY_MTU, and the per-datagram
// overhead (IPv4 + UDP) for BIO_CTRL_DGRAM_GET_MTU_OVERHEAD.
inline constexpr long kDatagramBioMtu = 1500;
inline constexpr long kDatagramBioOverhead = 28;

}  // namespace dtlsgw::oracle
