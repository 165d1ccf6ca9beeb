// A Connection ID (RFC 9146 §3, RFC 9147 §9): opaque bytes chosen by the
// receiver of the records that carry it. The protocol allows 0..255 bytes;
// dtlsgw keeps at most kMaxConnectionIdLength, so a session's CIDs fit a
// cache line (the gateway picks its own CIDs; a peer asking for a longer
// one is refused at install time).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

namespace dtlsgw::record {

inline constexpr size_t kMaxConnectionIdLength = 32;

class ConnectionId {
 public:
  constexpr ConnectionId() = default;
  // False (and the CID left empty) when `bytes` is too long.
  [[nodiscard]] bool assign(std::span<const uint8_t> bytes) {
    length_ = 0;
    if (bytes.size() > kMaxConnectionIdLength) {
      return false;
    }
    std::copy(bytes.begin(), bytes.end(), bytes_);
    length_ = static_cast<uint8_t>(bytes.size());
    return true;
  }
  size_t size() const { return length_; }
  bool empty() const { return length_ == 0; }
  std::span<const uint8_t> bytes() const { return {bytes_, length_}; }
  bool equals(std::span<const uint8_t> other) const {
    return other.size() == length_ && std::equal(other.begin(), other.end(), bytes_);
  }

 private:
  uint8_t bytes_[kMaxConnectionIdLength] = {};
  uint8_t length_ = 0;
};

}  // namespace dtlsgw::record
