#include "dataplane/session_table.h"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

#include "dataplane/key_hash.h"

namespace dtlsgw::dataplane {

namespace {

size_t heap_bytes(int socket) {
  rte_malloc_socket_stats stats{};
  if (rte_malloc_get_socket_stats(socket < 0 ? 0 : socket, &stats) != 0) {
    return 0;
  }
  return stats.heap_allocsz_bytes;
}

// FlowKey's 20 bytes compared as 8 + 8 + 4: rte_hash has vector compares
// only for multiples of 16 and otherwise calls memcmp, whose call and
// length dispatch cost more than the compare on every probe.
int compare_flow_keys(const void* a, const void* b, size_t) {
  static_assert(sizeof(contract::FlowKey) == 20);
  uint64_t a0, a1, b0, b1;
  uint32_t a2, b2;
  const auto* pa = static_cast<const uint8_t*>(a);
  const auto* pb = static_cast<const uint8_t*>(b);
  std::memcpy(&a0, pa, 8);
  std::memcpy(&a1, pa + 8, 8);
  std::memcpy(&a2, pa + 16, 4);
  std::memcpy(&b0, pb, 8);
  std::memcpy(&b1, pb + 8, 8);
  std::memcpy(&b2, pb + 16, 4);
  return ((a0 ^ b0) | (a1 ^ b1) | (a2 ^ b2)) != 0;
}

// InsideKey's 8 bytes as one word, for the same reason (rte_hash calls
// memcmp for them too).
int compare_inside_keys(const void* a, const void* b, size_t) {
  static_assert(sizeof(InsideKey) == 8);
  uint64_t x, y;
  std::memcpy(&x, a, 8);
  std::memcpy(&y, b, 8);
  return x != y;
}

rte_hash* make_hash(const std::string& name, uint32_t entries, uint32_t key_length, int socket) {
  rte_hash_parameters params{};
  params.name = name.c_str();
  params.entries = entries;
  params.key_len = key_length;
  params.hash_func = key_hash;  // (rte_hash_crc needs 8-aligned keys)
  params.hash_func_init_val = SessionTable::kHashSeed;
  params.socket_id = socket;
  // Lock-free readers with several writers (each worker adds its own
  // sessions); the extendable bucket table guarantees `entries` keys fit
  // whatever their hashes.
  params.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
                      RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD | RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
  rte_hash* h = rte_hash_create(&params);
  if (h != nullptr && key_length == sizeof(contract::FlowKey)) {
    rte_hash_set_cmp_func(h, compare_flow_keys);
  } else if (h != nullptr && key_length == sizeof(InsideKey)) {
    rte_hash_set_cmp_func(h, compare_inside_keys);
  }
  return h;
}

// One rte_hash bulk lookup with the keys' hashes; past its bulk size, or
// should it fail, one lookup each.
template <typename Key, typename FindOne>
void lookup_bulk(const rte_hash* h, const Key* const* keys, const uint32_t* hashes,
                 unsigned count, Session** out, FindOne find_one) {
  uint64_t hits = 0;
  void* data[RTE_HASH_LOOKUP_BULK_MAX];
  if (count > RTE_HASH_LOOKUP_BULK_MAX ||
      rte_hash_lookup_with_hash_bulk_data(
          h, const_cast<const void**>(reinterpret_cast<const void* const*>(keys)),
          const_cast<hash_sig_t*>(hashes), count, &hits, data) < 0) {
    for (unsigned i = 0; i < count; ++i) {
      out[i] = find_one(*keys[i]);
    }
    return;
  }
  for (unsigned i = 0; i < count; ++i) {
    out[i] = (hits >> i) & 1 ? static_cast<Session*>(data[i]) : nullptr;
  }
}

}  // namespace

std::unique_ptr<SessionTable> SessionTable::create(const Options& options, std::string& error) {
  std::unique_ptr<SessionTable> t(new SessionTable());
  t->capacity_ = options.capacity;
  t->replay_window_bits_ = options.replay_window_bits;
  if (options.capacity == 0 || !record::ReplayWindow::valid_size(options.replay_window_bits)) {
    error = "session table: bad capacity or replay window size";
    return nullptr;
  }
  const size_t before = heap_bytes(options.socket);
  t->slots_ = static_cast<Session*>(
      rte_zmalloc_socket("dtlsgw_sessions", sizeof(Session) * options.capacity, 64,
                         options.socket));
  t->live_ = static_cast<std::atomic<uint8_t>*>(
      rte_zmalloc_socket("dtlsgw_session_live", options.capacity, 64, options.socket));
  // Every slot's replay window words (Session::read's), allocated here
  // once rather than on the C heap at each install.
  t->replay_words_per_session_ = record::ReplayWindow::storage_words(options.replay_window_bits);
  const size_t replay_bytes = t->replay_words_per_session_ * sizeof(uint64_t) * options.capacity;
  t->replay_words_ = static_cast<uint64_t*>(
      rte_zmalloc_socket("dtlsgw_replay_words", replay_bytes, 64, options.socket));
  if (t->slots_ == nullptr || t->live_ == nullptr || t->replay_words_ == nullptr) {
    error = "session table: cannot allocate " + std::to_string(options.capacity) +
            " sessions (" +
            std::to_string((sizeof(Session) * options.capacity + replay_bytes) >> 20) +
            " MiB with their replay windows) from hugepages";
    return nullptr;
  }
  t->free_slots_ = rte_ring_create_elem((options.name + "_free").c_str(), sizeof(uint32_t),
                                        options.capacity, options.socket, RING_F_EXACT_SZ);
  t->outside_ = make_hash(options.name + "_out", options.capacity, sizeof(contract::FlowKey),
                          options.socket);
  t->inside_ = make_hash(options.name + "_in", options.capacity, sizeof(InsideKey), options.socket);
  if (t->free_slots_ == nullptr || t->outside_ == nullptr || t->inside_ == nullptr) {
    error = std::string("session table: cannot create its hash tables or free list: ") +
            rte_strerror(rte_errno);
    return nullptr;
  }
  for (uint32_t i = 0; i < options.capacity; ++i) {
    if (rte_ring_enqueue_elem(t->free_slots_, &i, sizeof(i)) != 0) {
      error = "session table: free list too small";
      return nullptr;
    }
  }
  // The key schedules' arena (see the header): virtual memory for every
  // slot, committed in 2 MiB pages as sessions use it.
  t->schedule_slot_bytes_ = 0;
  for (size_t a = 0; a < record::kAeadCount; ++a) {
    t->schedule_slot_bytes_ =
        std::max(t->schedule_slot_bytes_,
                 record::RecordCipher::schedule_allocation_bytes(static_cast<record::Aead>(a)));
  }
  constexpr size_t kLargePage = size_t{2} << 20;
  const uint32_t schedule_slots = 2 * options.capacity;
  t->schedules_bytes_ = (schedule_slots * t->schedule_slot_bytes_ + kLargePage - 1) /
                        kLargePage * kLargePage;
  void* arena = mmap(nullptr, t->schedules_bytes_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  t->free_schedules_ = rte_ring_create_elem((options.name + "_keys").c_str(), sizeof(uint32_t),
                                            schedule_slots, options.socket, RING_F_EXACT_SZ);
  if (arena == MAP_FAILED || t->free_schedules_ == nullptr) {
    error = "session table: cannot reserve " + std::to_string(t->schedules_bytes_ >> 20) +
            " MiB for key schedules";
    if (arena != MAP_FAILED) {
      munmap(arena, t->schedules_bytes_);
    }
    return nullptr;
  }
  t->schedules_ = static_cast<uint8_t*>(arena);
  // Best effort: without transparent huge pages it still works, on 4 KiB pages.
  (void)madvise(arena, t->schedules_bytes_, MADV_HUGEPAGE);
  {
    std::vector<uint32_t> ids(4096);
    for (uint32_t first = 0; first < schedule_slots; first += static_cast<uint32_t>(ids.size())) {
      const uint32_t n = std::min<uint32_t>(static_cast<uint32_t>(ids.size()),
                                            schedule_slots - first);
      for (uint32_t k = 0; k < n; ++k) {
        ids[k] = first + k;
      }
      if (rte_ring_enqueue_bulk_elem(t->free_schedules_, ids.data(), sizeof(uint32_t), n,
                                     nullptr) != n) {
        error = "session table: key schedule free list too small";
        return nullptr;
      }
    }
  }
  t->schedule_memory_ = {&SessionTable::allocate_schedule, &SessionTable::release_schedule,
                         t.get()};

  const size_t qsbr_size = rte_rcu_qsbr_get_memsize(options.readers);
  t->qsbr_ = static_cast<rte_rcu_qsbr*>(
      rte_zmalloc_socket("dtlsgw_session_qsbr", qsbr_size, RTE_CACHE_LINE_SIZE, options.socket));
  if (t->qsbr_ == nullptr || rte_rcu_qsbr_init(t->qsbr_, options.readers) != 0) {
    error = "session table: cannot set up RCU QSBR";
    return nullptr;
  }
  // The outside table's reclamation frees the session slot: both keys are
  // deleted together, and a slot must outlive every reader of either.
  rte_hash_rcu_config outside_rcu{};
  outside_rcu.v = t->qsbr_;
  outside_rcu.mode = RTE_HASH_QSBR_MODE_DQ;
  outside_rcu.key_data_ptr = t.get();
  outside_rcu.free_key_data_func = &SessionTable::free_slot;
  // Reclaim on every removal whatever has passed its grace period, so a
  // freed slot is reusable soon after (the default waits for 32).
  outside_rcu.trigger_reclaim_limit = 1;
  rte_hash_rcu_config inside_rcu{};
  inside_rcu.v = t->qsbr_;
  inside_rcu.mode = RTE_HASH_QSBR_MODE_DQ;
  inside_rcu.trigger_reclaim_limit = 1;
  if (rte_hash_rcu_qsbr_add(t->outside_, &outside_rcu) != 0 ||
      rte_hash_rcu_qsbr_add(t->inside_, &inside_rcu) != 0) {
    error = std::string("session table: cannot attach RCU to the hash tables: ") +
            rte_strerror(rte_errno);
    return nullptr;
  }
  // The array is counted apart, the replay words with the windows; the
  // schedules' free list with the schedules.
  t->hash_bytes_ = heap_bytes(options.socket) - before - sizeof(Session) * options.capacity -
                   replay_bytes -
                   static_cast<size_t>(rte_ring_get_memsize_elem(sizeof(uint32_t),
                                                                 t->free_schedules_->size));
  return t;
}

SessionTable::~SessionTable() {
  if (slots_ != nullptr && live_ != nullptr) {
    for (uint32_t i = 0; i < capacity_; ++i) {
      if (live_[i].load(std::memory_order_relaxed) != 0) {
        slots_[i].~Session();
      }
    }
  }
  rte_hash_free(outside_);
  rte_hash_free(inside_);
  rte_ring_free(free_slots_);
  rte_free(qsbr_);
  rte_free(live_);
  rte_free(slots_);
  rte_free(replay_words_);
  // Every schedule was wiped by its cipher (above, or at remove()).
  rte_ring_free(free_schedules_);
  if (schedules_ != nullptr) {
    munmap(schedules_, schedules_bytes_);
  }
}

void* SessionTable::allocate_schedule(void* table, size_t bytes) {
  auto* t = static_cast<SessionTable*>(table);
  uint32_t id = 0;
  if (bytes > t->schedule_slot_bytes_ ||
      rte_ring_dequeue_elem(t->free_schedules_, &id, sizeof(id)) != 0) {
    return nullptr;
  }
  return t->schedules_ + size_t{id} * t->schedule_slot_bytes_;
}

void SessionTable::release_schedule(void* table, void* p, size_t /*bytes*/) {
  auto* t = static_cast<SessionTable*>(table);
  auto id = static_cast<uint32_t>((static_cast<uint8_t*>(p) - t->schedules_) /
                                        t->schedule_slot_bytes_);
  rte_ring_enqueue_elem(t->free_schedules_, &id, sizeof(id));
}

Session* SessionTable::find(const contract::FlowKey& flow) const {
  void* data = nullptr;
  return rte_hash_lookup_data(outside_, &flow, &data) >= 0 ? static_cast<Session*>(data)
                                                           : nullptr;
}

Session* SessionTable::find_inside(const InsideKey& key) const {
  void* data = nullptr;
  return rte_hash_lookup_data(inside_, &key, &data) >= 0 ? static_cast<Session*>(data) : nullptr;
}

void SessionTable::find_bulk(const contract::FlowKey* const* flows, const uint32_t* hashes,
                             unsigned count, Session** out) const {
  lookup_bulk(outside_, flows, hashes, count, out, [this](const auto& k) { return find(k); });
}

void SessionTable::find_inside_bulk(const InsideKey* const* keys, const uint32_t* hashes,
                                    unsigned count, Session** out) const {
  lookup_bulk(inside_, keys, hashes, count, out, [this](const auto& k) { return find_inside(k); });
}

Session* SessionTable::allocate() {
  uint32_t index = 0;
  // Slots of removed sessions come back when their grace period has
  // passed (reclaimed on the next removal): until then the table counts
  // as full, which keeps it bounded.
  if (rte_ring_dequeue_elem(free_slots_, &index, sizeof(index)) != 0) {
    return nullptr;
  }
  return new (&slots_[index])
      Session(replay_window_bits_, &schedule_memory_,
              {replay_words_ + size_t{index} * replay_words_per_session_, replay_words_per_session_});
}

void SessionTable::release(Session* s) {
  uint32_t index = index_of(s);
  s->~Session();
  rte_ring_enqueue_elem(free_slots_, &index, sizeof(index));
}

SessionTable::AddResult SessionTable::publish(Session* s) {
  if (rte_hash_lookup(outside_, &s->flow) >= 0 || rte_hash_lookup(inside_, &s->inside) >= 0) {
    return AddResult::exists;
  }
  // Inside first: only the outside key's deletion frees the slot (after
  // the grace period), so a failed second add can be undone without it.
  if (rte_hash_add_key_data(inside_, &s->inside, s) != 0) {
    return AddResult::full;
  }
  if (rte_hash_add_key_data(outside_, &s->flow, s) != 0) {
    rte_hash_del_key(inside_, &s->inside);
    return AddResult::full;
  }
  live_[index_of(s)].store(live_mark(s->worker), std::memory_order_release);
  live_count_.fetch_add(1, std::memory_order_relaxed);
  return AddResult::ok;
}

void SessionTable::remove(Session* s) {
  // Keys go at once (DESIGN.md: key material wiped from freed sessions);
  // the slot itself only after the grace period.
  s->read.retire();
  s->write.retire();
  live_[index_of(s)].store(0, std::memory_order_release);
  live_count_.fetch_sub(1, std::memory_order_relaxed);
  rte_hash_del_key(inside_, &s->inside);
  rte_hash_del_key(outside_, &s->flow);  // free_slot runs after the grace period
}

void SessionTable::free_slot(void* table, void* session) {
  auto* t = static_cast<SessionTable*>(table);
  auto* s = static_cast<Session*>(session);
  uint32_t index = t->index_of(s);
  s->~Session();
  rte_ring_enqueue_elem(t->free_slots_, &index, sizeof(index));
}

size_t SessionTable::table_bytes_per_session() const {
  return sizeof(Session) + 1 + (capacity_ ? hash_bytes_ / capacity_ : 0);
}

size_t SessionTable::bytes_per_session() const {
  return table_bytes_per_session() + schedule_bytes_per_session() +
         record::ReplayWindow::storage_words(replay_window_bits_) * sizeof(uint64_t);
}

}  // namespace dtlsgw::dataplane
