// The dataplane's session table (DESIGN.md, "Session table"): sessions in
// one preallocated hugepage array, found by their outside flow and by their
// inside flow through two DPDK rte_hash tables with lock-free reads.
//
// Concurrency: every worker adds, finds and removes only the sessions it
// owns, but all share the hash tables, so the tables use DPDK's lock-free
// reader/multi-writer mode and an RCU QSBR variable: a removed session's
// slot (and the hash tables' key slots) are reused only after every
// registered thread has passed a quiescent state, so no reader can see a
// slot change under it. Workers report quiescence once per loop; the
// telemetry thread registers as one more reader, online only while it
// reads.
//
// Bounded: `capacity` sessions, never more; allocate() says when full.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "dataplane/key_hash.h"
#include "dataplane/session.h"

struct rte_hash;
struct rte_ring;
struct rte_rcu_qsbr;

namespace dtlsgw::dataplane {

class SessionTable {
 public:
  struct Options {
    std::string name = "dtlsgw";
    uint32_t capacity = 65536;
    uint32_t replay_window_bits = 128;
    unsigned readers = 1;  // QSBR thread ids: the workers, then telemetry
    int socket = -1;       // NUMA socket (SOCKET_ID_ANY)
  };
  static std::unique_ptr<SessionTable> create(const Options& options, std::string& error);
  ~SessionTable();
  SessionTable(const SessionTable&) = delete;
  SessionTable& operator=(const SessionTable&) = delete;

  uint32_t capacity() const { return capacity_; }
  size_t size() const { return live_count_.load(std::memory_order_relaxed); }
  rte_rcu_qsbr* qsbr() const { return qsbr_; }

  Session* find(const contract::FlowKey& flow) const;
  Session* find_inside(const InsideKey& key) const;
  // Look up `count` keys at once, each with its table hash (hash_of),
  // which a worker computes while it parses the burst: rte_hash's bulk
  // lookup overlaps the bucket and key misses of the whole burst and
  // skips its call through the hash function pointer per key. Misses are
  // nullptr.
  void find_bulk(const contract::FlowKey* const* flows, const uint32_t* hashes, unsigned count,
                 Session** out) const;
  void find_inside_bulk(const InsideKey* const* keys, const uint32_t* hashes, unsigned count,
                        Session** out) const;
  // The hash both tables are built with.
  static constexpr uint32_t kHashSeed = 0;
  static uint32_t hash_of(const contract::FlowKey& flow) {
    return key_hash(&flow, sizeof(flow), kHashSeed);
  }
  static uint32_t hash_of(const InsideKey& key) { return key_hash(&key, sizeof(key), kHashSeed); }

  // A fresh session object (constructed, not yet findable), or nullptr
  // when all `capacity` slots are in use or awaiting reclamation.
  Session* allocate();
  // Makes `s` findable under s->flow and s->inside. On failure (a key
  // already present, or a hash table full) nothing is added and the
  // caller still owns `s` (give it back with release()).
  enum class AddResult : uint8_t { ok, exists, full };
  AddResult publish(Session* s);
  // Gives back a session never published.
  void release(Session* s);
  // Unpublishes `s`, wipes its keys at once, and frees its slot after the
  // RCU grace period. Only the owning worker calls this.
  void remove(Session* s);

  // Calls fn(const Session&) for every published session (telemetry; the
  // caller must be an online QSBR reader).
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (uint32_t i = 0; i < capacity_; ++i) {
      if (live_[i].load(std::memory_order_acquire)) {
        fn(slots_[i]);
      }
    }
  }
  Session& slot(uint32_t i) const { return slots_[i]; }
  // Whether slot i holds a published session of `worker`. A slot's live
  // byte is 0 while unpublished, else live_mark(its worker), so a worker's
  // scans (the idle sweep) skip the other workers' sessions without
  // reading them.
  bool owned_by(uint32_t i, unsigned worker) const {
    return live_[i].load(std::memory_order_acquire) == live_mark(worker);
  }

  // Hash-table and array bytes per session (excluding key schedules and
  // replay window words, which are reported per suite).
  size_t table_bytes_per_session() const;
  // The key schedules' arena slots one session holds (read and write).
  size_t schedule_bytes_per_session() const { return 2 * schedule_slot_bytes_; }
  // Everything one session costs: table_bytes_per_session(), its two
  // schedule slots and its replay window's words.
  size_t bytes_per_session() const;

  // The key schedules' arena: 2 × capacity fixed-size slots (the largest
  // suite's schedule) in one mapping asking for transparent huge pages,
  // committed as sessions use them. Next to each other and on few TLB
  // entries, unlike one heap allocation per key on 4 KiB pages.
  // Thread-safe (the workers install and remove concurrently).
  const record::ScheduleMemory& schedule_memory() const { return schedule_memory_; }

 private:
  SessionTable() = default;
  static void free_slot(void* table, void* session);
  static void* allocate_schedule(void* table, size_t bytes);
  static void release_schedule(void* table, void* p, size_t bytes);
  uint32_t index_of(const Session* s) const { return static_cast<uint32_t>(s - slots_); }
  static constexpr uint8_t live_mark(unsigned worker) { return static_cast<uint8_t>(worker + 1); }
  static_assert(contract::kMaxWorkers < UINT8_MAX, "a worker's live mark must fit a byte");

  uint32_t capacity_ = 0;
  uint32_t replay_window_bits_ = 128;
  Session* slots_ = nullptr;
  std::atomic<uint8_t>* live_ = nullptr;
  rte_ring* free_slots_ = nullptr;
  rte_hash* outside_ = nullptr;
  rte_hash* inside_ = nullptr;
  rte_rcu_qsbr* qsbr_ = nullptr;
  std::atomic<size_t> live_count_{0};
  uint64_t* replay_words_ = nullptr;  // capacity × replay_words_per_session_
  size_t replay_words_per_session_ = 0;
  size_t hash_bytes_ = 0;
  uint8_t* schedules_ = nullptr;  // the arena (mmap)
  size_t schedules_bytes_ = 0;
  size_t schedule_slot_bytes_ = 0;
  rte_ring* free_schedules_ = nullptr;
  record::ScheduleMemory schedule_memory_;
};

}  // namespace dtlsgw::dataplane
