// The RSS hash key the dataplane gives devices with several queues.
//
// The repeated 0x6d5a pattern makes the Toeplitz hash symmetric (Woo and
// Park, "Scalable TCP Session Monitoring with Symmetric Receive-side
// Scaling", 2012): the key repeats every 16 bits, and the fields RSS hashes
// (IPv4 or IPv6 source and destination, then the two ports) are multiples
// of 16 bits in the same places in both directions, so swapping source and
// destination does not change the hash. A flow and its reverse land on one
// queue, which keeps a deployment with both directions through one port on
// one worker (tests/dataplane/rss_key_test checks it with DPDK's software
// Toeplitz, rte_softrss).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dtlsgw::dataplane {

// A key of `length` bytes (the device's hash_key_size; an even length:
// devices whose key has an odd length keep their default).
inline std::vector<uint8_t> symmetric_rss_key(size_t length) {
  std::vector<uint8_t> key(length);
  for (size_t i = 0; i + 1 < length; i += 2) {
    key[i] = 0x6d;
    key[i + 1] = 0x5a;
  }
  return key;
}

}  // namespace dtlsgw::dataplane
