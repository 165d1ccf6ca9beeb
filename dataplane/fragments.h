// IP reassembly for one worker (DPDK's ip_frag library), bounded in memory
// and in time: the DTLS datagrams a peer sends fragmented (a large
// certificate flight, a record over the path MTU) come back whole, and a
// flood of fragments that never complete costs a fixed amount of memory
// and nothing else.
//
// Bounds, all fixed when the table is made (Options):
// - at most `max_datagrams` incomplete datagrams (rte_ip_frag table
//   entries; a new datagram finds no room until one completes or expires:
//   ip_frag evicts only an expired entry);
// - every fragment held is a copy in a buffer of this table's own pool
//   (`buffers` of them): a flood can exhaust that pool, never the port's
//   receive pool, so unfragmented traffic goes on (fragments are rare, a
//   copy of one costs little);
// - an incomplete datagram is freed `timeout_ms` after its first fragment
//   (expire(), called by the worker's loop; RFC 791 §3.2's reassembly
//   timer, kept short: DTLS retransmits a lost flight itself);
// - at most RTE_LIBRTE_IP_FRAG_MAX_FRAG (8) fragments per datagram.
//
// A complete datagram is copied into one contiguous buffer of a second
// small pool (`reassembled_buffers` of `kMaxReassembledFrame` bytes): the
// record walk and the AEAD need contiguous bytes, and the worker then
// treats the frame like any other it received. Larger datagrams are
// dropped and counted (a DTLS record is at most 2^14 + 2048 bytes,
// RFC 6347 §4.1; a datagram of several is still below the limit).
//
// Overlapping fragments, a second first or last fragment, more than 8
// fragments: ip_frag abandons the whole datagram (RFC 5722's rule for
// IPv6, applied to both: overlaps are an attack, never a network's doing).
// An exact duplicate of a fragment already held (a network duplicate) is
// dropped before it reaches ip_frag, which would otherwise abandon the
// datagram for it.
#pragma once

#include <rte_ip_frag.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "dataplane/counters.h"

struct rte_mbuf;
struct rte_mempool;

namespace dtlsgw::dataplane {

class FragmentTable {
 public:
  struct Options {
    uint32_t max_datagrams = 1024;
    uint32_t buffers = 2048;
    uint32_t timeout_ms = 2000;
    uint32_t reassembled_buffers = 128;
  };
  // The largest frame a reassembled datagram may make (Ethernet, one VLAN
  // tag, IP header with options or IPv6 extension headers, UDP, payload).
  static constexpr uint32_t kMaxReassembledFrame = 18432;
  // The largest fragment frame kept (a fragment is at most a link MTU).
  static constexpr uint32_t kMaxFragmentFrame = 2048 - 128;

  // `name` makes the pools' names unique (one table per worker).
  static std::unique_ptr<FragmentTable> create(const std::string& name, const Options& options,
                                               int socket, WorkerCounters& counters,
                                               std::string& error);
  ~FragmentTable();
  FragmentTable(const FragmentTable&) = delete;
  FragmentTable& operator=(const FragmentTable&) = delete;

  // One IPv4 fragment: `frame` is the whole Ethernet frame, whose IPv4
  // header at `l3` parsed (version, lengths, header checksum) and is a
  // fragment. The frame is copied; the caller keeps (and frees) its own
  // buffer. Returns the complete datagram as one contiguous frame (the
  // first fragment's Ethernet header, the IPv4 header without fragment
  // fields and with its checksum), or nullptr: held, or dropped and
  // counted. `now_ms` is the worker's clock.
  rte_mbuf* add_ipv4(std::span<const uint8_t> frame, size_t l3, uint64_t now_ms);
  // One IPv6 fragment: the IPv6 header at `l3`, the fragment extension
  // header (RFC 8200 §4.5) at `fragment_header`, which must be the last
  // extension header before the fragmentable part. Same contract.
  rte_mbuf* add_ipv6(std::span<const uint8_t> frame, size_t l3, size_t fragment_header,
                     uint64_t now_ms);

  // Frees the datagrams whose time ran out; call from the loop (at most
  // every millisecond is plenty).
  void expire(uint64_t now_ms);

  // Fragment buffers held (incomplete datagrams' fragments): the flood
  // bound's meter.
  unsigned buffers_in_use() const;
  unsigned reassembled_buffers_in_use() const;
  const Options& options() const { return options_; }

 private:
  FragmentTable(const Options& options, WorkerCounters& counters)
      : options_(options), counters_(counters) {}
  // Copies the fragment into a buffer of the fragment pool; nullptr (and
  // counted) if none is free or it is too long.
  rte_mbuf* copy_fragment(std::span<const uint8_t> frame, size_t length);
  // The reassembled chain as one contiguous frame; frees the chain.
  rte_mbuf* linearize(rte_mbuf* chain);
  // After ip_frag ran: frees its death row, counting a datagram it gave up.
  void settle(rte_mbuf* fragment, uint32_t row_before);
  // True if this exact fragment was seen within the timeout (and notes it).
  bool duplicate(uint64_t fingerprint, uint64_t now_ms);

  Options options_;
  WorkerCounters& counters_;
  rte_ip_frag_tbl* table_ = nullptr;
  rte_mempool* fragment_pool_ = nullptr;
  rte_mempool* reassembled_pool_ = nullptr;
  rte_ip_frag_death_row death_row_{};
  // Recent fragments' fingerprints (source, destination, identification,
  // offset, length, MF), direct-mapped; a slot remembers one fragment for
  // the timeout. A collision forgets the older one (it is then only not
  // deduplicated), never drops a fragment that was not seen.
  static constexpr size_t kRecentFragments = 4096;
  struct Seen {
    uint64_t fingerprint = 0;
    uint64_t expires_ms = 0;
  };
  std::unique_ptr<std::array<Seen, kRecentFragments>> seen_ =
      std::make_unique<std::array<Seen, kRecentFragments>>();
};

}  // namespace dtlsgw::dataplane
