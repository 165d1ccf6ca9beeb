#include "handshake/recent_handshakes.h"

#include <openssl/rand.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <random>

namespace dtlsgw::handshake {
namespace {

constexpr size_t kInitialRing = 64;
// Index slots hold ring position + 1 in 32 bits.
constexpr size_t kMaxCapacity = (size_t{1} << 30);

uint64_t load_u64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

}  // namespace

RecentHandshakes::RecentHandshakes(size_t capacity)
    : capacity_(std::clamp<size_t>(capacity, 1, kMaxCapacity)) {
  uint64_t keys[2] = {0, 0};
  if (RAND_bytes(reinterpret_cast<unsigned char*>(keys), sizeof(keys)) != 1) {
    std::random_device rd;  // still unpredictable to a client, if weaker
    keys[0] = (uint64_t{rd()} << 32) ^ rd();
    keys[1] = (uint64_t{rd()} << 32) ^ rd();
  }
  key0_ = keys[0];
  key1_ = keys[1];
  rebuild(std::min(capacity_, kInitialRing));
}

// A multiply-rotate mix keyed by two secret words, over the key's eight
// 64-bit words, with a final avalanche. Not a MAC: it only has to keep a
// client that cannot see the keys from choosing colliding randoms.
uint64_t RecentHandshakes::hash(const Key& key) const {
  uint64_t h = key0_;
  const auto mix = [&](uint64_t w) { h = (std::rotl(h, 29) ^ w) * 0x9e3779b97f4a7c15ull + key1_; };
  mix(static_cast<uint64_t>(key.peer.family) | (uint64_t{key.peer.port} << 8));
  mix(load_u64(key.peer.address));
  mix(load_u64(key.peer.address + 8));
  for (size_t i = 0; i < key.random.size(); i += 8) {
    mix(load_u64(key.random.data() + i));
  }
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ull;
  h ^= h >> 32;
  return h;
}

size_t RecentHandshakes::find_slot(const Key& key, uint64_t h) const {
  // The index is at least twice the ring: a probe always ends.
  for (size_t i = h & mask();; i = (i + 1) & mask()) {
    const uint32_t v = index_[i];
    if (v == kEmpty) {
      return i;
    }
    const Entry& e = ring_[v - 1];
    if (e.hash == h && e.key == key) {
      return i;
    }
  }
}

size_t RecentHandshakes::slot_of_position(uint64_t h, uint32_t position) const {
  for (size_t i = h & mask();; i = (i + 1) & mask()) {
    if (index_[i] == position + 1) {
      return i;
    }
  }
}

void RecentHandshakes::erase_slot(size_t slot) {
  // Backward-shift deletion: move later members of the probe run into
  // the hole unless their home slot lies cyclically in (hole, member].
  index_[slot] = kEmpty;
  size_t hole = slot;
  for (size_t j = (slot + 1) & mask(); index_[j] != kEmpty; j = (j + 1) & mask()) {
    const size_t home = ring_[index_[j] - 1].hash & mask();
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (!stays) {
      index_[hole] = index_[j];
      index_[j] = kEmpty;
      hole = j;
    }
  }
}

void RecentHandshakes::forget_oldest() {
  Entry& e = ring_[head_];
  if (e.live) {
    erase_slot(slot_of_position(e.hash, static_cast<uint32_t>(head_)));
    e.live = false;
    --live_;
  }
  head_ = (head_ + 1) % ring_.size();
  --count_;
}

void RecentHandshakes::rebuild(size_t ring_size) {
  std::vector<Entry> ring(ring_size);
  size_t n = 0;
  for (size_t k = 0; k < count_; ++k) {
    const Entry& e = ring_[(head_ + k) % ring_.size()];
    if (e.live) {
      ring[n++] = e;
    }
  }
  ring_ = std::move(ring);
  head_ = 0;
  count_ = n;
  live_ = n;
  index_.assign(std::bit_ceil(2 * ring_size), kEmpty);
  for (size_t k = 0; k < n; ++k) {
    size_t i = ring_[k].hash & mask();
    while (index_[i] != kEmpty) {
      i = (i + 1) & mask();
    }
    index_[i] = static_cast<uint32_t>(k + 1);
  }
}

void RecentHandshakes::make_room() {
  if (count_ < ring_.size()) {
    return;
  }
  if (live_ < count_) {
    // Superseded entries hold ring slots: drop them rather than forget a
    // live key early. (Rare: the table refuses a remembered key, so it
    // remembers one again only once it has expired.)
    rebuild(ring_.size());
  } else if (ring_.size() < capacity_) {
    rebuild(std::min(capacity_, 2 * ring_.size()));
  } else {
    forget_oldest();
  }
}

bool RecentHandshakes::contains(const Key& key, TimePoint now) const {
  const uint32_t v = index_[find_slot(key, hash(key))];
  return v != kEmpty && ring_[v - 1].until > now;
}

void RecentHandshakes::remember(const Key& key, TimePoint until) {
  const uint64_t h = hash(key);
  if (const size_t slot = find_slot(key, h); index_[slot] != kEmpty) {
    // Remembered already: the old entry is superseded where it stands in
    // the ring (forgotten without an index lookup when its turn comes).
    ring_[index_[slot] - 1].live = false;
    --live_;
    erase_slot(slot);
  }
  make_room();
  const size_t position = (head_ + count_) % ring_.size();
  ring_[position] = Entry{key, until, h, true};
  ++count_;
  ++live_;
  index_[find_slot(key, h)] = static_cast<uint32_t>(position + 1);
}

void RecentHandshakes::forget_expired(TimePoint now) {
  while (count_ > 0 && ring_[head_].until <= now) {
    forget_oldest();
  }
}

}  // namespace dtlsgw::handshake
