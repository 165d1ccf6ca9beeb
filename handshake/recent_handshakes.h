// The handshakes a control process completed recently, as (peer address,
// ClientHello.random), so that a replayed cookie ClientHello of one of them
// is refused instead of starting a second handshake (handshake_table.h):
// a cookie stays valid for two secret rotation periods, so the memory must
// last at least one.
//
// Every entry lives for the same time, so they expire in the order they
// came: a ring of entries, oldest first, plus an open-addressing index
// (linear probing, backward-shift deletion) from the key's hash to its ring
// position. Nothing per entry comes from the heap: the control process's
// heap is the one OpenSSL churns through for every handshake, and long-lived
// small nodes there (the std::unordered_map and std::deque this replaces)
// fragmented it; the two arrays grow by doubling up to the capacity and
// never shrink. The hash is keyed with a random secret per instance:
// ClientHello.random is the client's choice, and a client that could make
// its keys collide would turn every lookup into a scan.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "handshake/peer_address.h"

namespace dtlsgw::handshake {

class RecentHandshakes {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  struct Key {
    PeerAddress peer;
    std::array<uint8_t, 32> random{};
    friend bool operator==(const Key&, const Key&) = default;
  };

  // At most `capacity` keys (at least 1); the oldest is forgotten first
  // when a new one would exceed it.
  explicit RecentHandshakes(size_t capacity);

  // True if `key` is remembered with an expiry after `now`.
  bool contains(const Key& key, TimePoint now) const;
  // Remembers `key` until `until` (a key already remembered is moved to
  // the new expiry). `until` should not be earlier than any expiry given
  // before (the table passes now + a fixed lifetime): the ring forgets in
  // arrival order.
  void remember(const Key& key, TimePoint until);
  // Forgets every entry, oldest first, whose expiry is at or before `now`.
  void forget_expired(TimePoint now);

  size_t size() const { return live_; }
  size_t capacity() const { return capacity_; }

 private:
  struct Entry {
    Key key;
    TimePoint until{};
    uint64_t hash = 0;
    bool live = false;  // false: superseded by a later remember of its key
  };
  static constexpr uint32_t kEmpty = 0;  // index slots hold ring position + 1

  uint64_t hash(const Key& key) const;
  size_t mask() const { return index_.size() - 1; }
  // The index slot holding ring position `position`, or the first empty
  // slot of `key`'s probe sequence when absent (find: position unknown).
  size_t find_slot(const Key& key, uint64_t h) const;
  size_t slot_of_position(uint64_t h, uint32_t position) const;
  void erase_slot(size_t slot);
  void forget_oldest();
  // Makes room for one more entry: doubles the ring (and the index) while
  // below capacity, else forgets the oldest.
  void make_room();
  void rebuild(size_t ring_size);

  size_t capacity_;
  uint64_t key0_ = 0;
  uint64_t key1_ = 0;
  std::vector<Entry> ring_;
  size_t head_ = 0;   // oldest entry
  size_t count_ = 0;  // entries in the ring, superseded ones included
  size_t live_ = 0;
  std::vector<uint32_t> index_;
};

}  // namespace dtlsgw::handshake
