// IP reassembly for one worker (fragments.h).
#include "dataplane/fragments.h"

#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstring>

namespace dtlsgw::dataplane {

namespace {

// ip_frag's table: two buckets per key (its hash functions), each of this
// many entries; twice as many entries as datagrams keeps the chance that
// both buckets of a new key are full small below the bound.
constexpr uint32_t kBucketEntries = 8;
constexpr unsigned kPoolCache = 32;
constexpr size_t kIpv6HeaderLength = 40;
constexpr size_t kIpv6FragmentHeaderLength = 8;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

uint64_t fingerprint_of(const uint8_t* key, size_t length) {
  const uint64_t f = uint64_t{rte_hash_crc(key, static_cast<uint32_t>(length), 0x66726167)} << 32 |
                     rte_hash_crc(key, static_cast<uint32_t>(length), 0x6d656e74);
  return f == 0 ? 1 : f;  // 0 marks an empty slot
}

}  // namespace

std::unique_ptr<FragmentTable> FragmentTable::create(const std::string& name,
                                                     const Options& options, int socket,
                                                     WorkerCounters& counters, std::string& error) {
  std::unique_ptr<FragmentTable> t(new FragmentTable(options, counters));
  const uint32_t buckets = rte_align32pow2(
      std::max<uint32_t>(2, (options.max_datagrams * 2 + kBucketEntries - 1) / kBucketEntries));
  // The timestamps are the worker's milliseconds (its clock moves in tests).
  t->table_ = rte_ip_frag_table_create(buckets, kBucketEntries, options.max_datagrams,
                                       options.timeout_ms, socket);
  t->fragment_pool_ = rte_pktmbuf_pool_create((name + "_frag").c_str(), options.buffers,
                                              std::min<unsigned>(kPoolCache, options.buffers / 2),
                                              0, kMaxFragmentFrame + RTE_PKTMBUF_HEADROOM, socket);
  t->reassembled_pool_ = rte_pktmbuf_pool_create(
      (name + "_whole").c_str(), options.reassembled_buffers, 0, 0,
      static_cast<uint16_t>(kMaxReassembledFrame + RTE_PKTMBUF_HEADROOM), socket);
  if (t->table_ == nullptr || t->fragment_pool_ == nullptr || t->reassembled_pool_ == nullptr) {
    error = name + ": cannot create the IP reassembly table or its pools (" +
            rte_strerror(rte_errno) + ")";
    return nullptr;
  }
  return t;
}

FragmentTable::~FragmentTable() {
  if (table_ != nullptr) {
    // Frees every fragment still held (through the death row).
    rte_ip_frag_table_destroy(table_);
  }
  rte_ip_frag_free_death_row(&death_row_, 0);
  rte_mempool_free(fragment_pool_);
  rte_mempool_free(reassembled_pool_);
}

unsigned FragmentTable::buffers_in_use() const { return rte_mempool_in_use_count(fragment_pool_); }
unsigned FragmentTable::reassembled_buffers_in_use() const {
  return rte_mempool_in_use_count(reassembled_pool_);
}

bool FragmentTable::duplicate(uint64_t fingerprint, uint64_t now_ms) {
  Seen& s = (*seen_)[fingerprint % kRecentFragments];
  if (s.fingerprint == fingerprint && s.expires_ms > now_ms) {
    return true;
  }
  s.fingerprint = fingerprint;
  s.expires_ms = now_ms + options_.timeout_ms;
  return false;
}

rte_mbuf* FragmentTable::copy_fragment(std::span<const uint8_t> frame, size_t length) {
  if (length > kMaxFragmentFrame) [[unlikely]] {
    counters_.add(Counter::drop_fragment_invalid);
    return nullptr;
  }
  rte_mbuf* m = rte_pktmbuf_alloc(fragment_pool_);
  if (m == nullptr) [[unlikely]] {
    counters_.add(Counter::drop_fragment_no_buffer);
    return nullptr;
  }
  // Exactly the IP packet and its link header: Ethernet padding after it
  // would otherwise be reassembled as data.
  std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(length)), frame.data(), length);
  return m;
}

void FragmentTable::settle(rte_mbuf* fragment, uint32_t row_before) {
  // ip_frag puts on the death row every buffer of a datagram it gives up
  // (overlap, a second first or last fragment, too many fragments) and a
  // fragment it has no room for (table full).
  const uint32_t freed = death_row_.cnt - row_before;
  if (freed != 0) {
    const bool self = std::find(death_row_.row + row_before, death_row_.row + death_row_.cnt,
                                fragment) != death_row_.row + death_row_.cnt;
    counters_.add(self ? Counter::drop_fragment_datagram : Counter::fragments_expired, freed);
  }
  rte_ip_frag_free_death_row(&death_row_, 0);
}

rte_mbuf* FragmentTable::add_ipv4(std::span<const uint8_t> frame, size_t l3, uint64_t now_ms) {
  counters_.add(Counter::fragments_received);
  const uint8_t* ip = frame.data() + l3;
  const size_t header_length = size_t{ip[0] & 0x0fu} * 4;
  const size_t total_length = be16(ip + 2);
  const uint16_t flags_offset = be16(ip + 6);
  const bool more = (flags_offset & RTE_IPV4_HDR_MF_FLAG) != 0;
  const size_t data_length = total_length - header_length;
  // RFC 791 §3.2: every fragment but the last carries a multiple of 8
  // bytes; an empty fragment makes no progress. (ip_frag checks neither.)
  if (data_length == 0 || (more && data_length % 8 != 0)) [[unlikely]] {
    counters_.add(Counter::drop_fragment_invalid);
    return nullptr;
  }
  // Source, destination, identification, protocol; offset+MF; length.
  uint8_t key[16];
  std::memcpy(key, ip + 12, 8);
  std::memcpy(key + 8, ip + 4, 2);
  key[10] = ip[9];
  std::memcpy(key + 11, ip + 6, 2);
  std::memcpy(key + 13, ip + 2, 2);
  key[15] = 4;
  if (duplicate(fingerprint_of(key, sizeof key), now_ms)) {
    counters_.add(Counter::drop_fragment_duplicate);
    return nullptr;
  }
  rte_mbuf* m = copy_fragment(frame, l3 + total_length);
  if (m == nullptr) {
    return nullptr;
  }
  m->l2_len = l3;
  m->l3_len = header_length;
  auto* header = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, l3);
  const uint32_t row_before = death_row_.cnt;
  rte_mbuf* whole = rte_ipv4_frag_reassemble_packet(table_, &death_row_, m, now_ms, header);
  settle(m, row_before);
  if (whole == nullptr) {
    return nullptr;
  }
  rte_mbuf* out = linearize(whole);
  if (out != nullptr) {
    // ip_frag rewrote total length and the fragment field and left the
    // checksum 0 (for an offload to fill): the frame must parse as received.
    auto* h = rte_pktmbuf_mtod_offset(out, rte_ipv4_hdr*, l3);
    h->hdr_checksum = 0;
    h->hdr_checksum = rte_ipv4_cksum(h);
  }
  return out;
}

rte_mbuf* FragmentTable::add_ipv6(std::span<const uint8_t> frame, size_t l3, size_t fragment_header,
                                  uint64_t now_ms) {
  counters_.add(Counter::fragments_received);
  const uint8_t* ip = frame.data() + l3;
  const uint8_t* fh = frame.data() + fragment_header;
  const size_t packet_length = kIpv6HeaderLength + be16(ip + 4);
  const uint16_t offset_flags = be16(fh + 2);
  const bool more = (offset_flags & 1) != 0;
  const size_t header_length = fragment_header + kIpv6FragmentHeaderLength - l3;
  // ip_frag handles only a fragment header right after the IPv6 header
  // (it rewrites that header's next header on reassembly).
  if (fragment_header != l3 + kIpv6HeaderLength || packet_length <= header_length ||
      l3 + packet_length > frame.size() || (more && (packet_length - header_length) % 8 != 0))
      [[unlikely]] {
    counters_.add(Counter::drop_fragment_invalid);
    return nullptr;
  }
  // Source, destination, identification; offset+M; length.
  uint8_t key[41];
  std::memcpy(key, ip + 8, 32);
  std::memcpy(key + 32, fh + 4, 4);
  std::memcpy(key + 36, fh + 2, 2);
  std::memcpy(key + 38, ip + 4, 2);
  key[40] = 6;
  if (duplicate(fingerprint_of(key, sizeof key), now_ms)) {
    counters_.add(Counter::drop_fragment_duplicate);
    return nullptr;
  }
  rte_mbuf* m = copy_fragment(frame, l3 + packet_length);
  if (m == nullptr) {
    return nullptr;
  }
  m->l2_len = l3;
  m->l3_len = header_length;
  auto* header = rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, l3);
  auto* frag = rte_pktmbuf_mtod_offset(m, rte_ipv6_fragment_ext*, fragment_header);
  const uint32_t row_before = death_row_.cnt;
  rte_mbuf* whole = rte_ipv6_frag_reassemble_packet(table_, &death_row_, m, now_ms, header, frag);
  settle(m, row_before);
  return whole == nullptr ? nullptr : linearize(whole);
}

rte_mbuf* FragmentTable::linearize(rte_mbuf* chain) {
  const uint32_t length = rte_pktmbuf_pkt_len(chain);
  rte_mbuf* out = length <= kMaxReassembledFrame ? rte_pktmbuf_alloc(reassembled_pool_) : nullptr;
  if (out == nullptr) [[unlikely]] {
    counters_.add(Counter::drop_fragment_too_big);
    rte_pktmbuf_free(chain);
    return nullptr;
  }
  auto* p = rte_pktmbuf_mtod(out, uint8_t*);
  for (const rte_mbuf* seg = chain; seg != nullptr; seg = seg->next) {
    std::memcpy(p, rte_pktmbuf_mtod(seg, const uint8_t*), seg->data_len);
    p += seg->data_len;
  }
  out->data_len = static_cast<uint16_t>(length);
  out->pkt_len = length;
  out->port = chain->port;
  rte_pktmbuf_free(chain);
  counters_.add(Counter::datagrams_reassembled);
  return out;
}

void FragmentTable::expire(uint64_t now_ms) {
  // Each call frees what fits on the death row; a flood's worth of
  // expired datagrams takes a few rounds.
  for (unsigned round = 0; round < 64; ++round) {
    rte_ip_frag_table_del_expired_entries(table_, &death_row_, now_ms);
    if (death_row_.cnt == 0) {
      return;
    }
    counters_.add(Counter::fragments_expired, death_row_.cnt);
    rte_ip_frag_free_death_row(&death_row_, 0);
  }
}

}  // namespace dtlsgw::dataplane
