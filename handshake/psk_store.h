// Pre-shared keys by identity (RFC 4279), loaded from a file of lines
//
//   identity:hexkey
//
// CoAP and LwM2M identities are arbitrary byte strings, so the identity is
// everything before the LAST colon and may hold spaces and colons; it must
// be printable (no control bytes: OpenSSL hands the server callback a
// NUL-terminated string, and the file is line-based). Blank lines and lines
// whose first byte is '#' are skipped. A bad line is an error naming the
// file and line; key bytes never appear in a message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "handshake/status.h"

namespace dtlsgw::handshake {

class PskStore {
 public:
  PskStore() = default;
  ~PskStore();
  PskStore(const PskStore&) = delete;
  PskStore& operator=(const PskStore&) = delete;
  PskStore(PskStore&&) = default;
  PskStore& operator=(PskStore&&) = default;

  // Replaces the contents with the lines of `text`; `source` names it in
  // errors. On error the store is left empty.
  Status parse(std::string_view text, std::string_view source);
  // Reads and parses a file.
  Status load_file(const std::string& path);

  // Copies the key of `identity` into `out`; returns its length, or 0 if
  // the identity is unknown or the key does not fit.
  size_t find(std::string_view identity, std::span<uint8_t> out) const;
  bool contains(std::string_view identity) const;
  size_t size() const { return keys_.size(); }
  // Calls fn(identity) for every identity, in order (a reload compares the
  // old store with the new one to close the sessions of removed ones).
  template <typename Fn>
  void for_each_identity(Fn&& fn) const {
    for (const auto& [identity, key] : keys_) {
      fn(std::string_view(identity));
    }
  }

 private:
  void clear();
  std::map<std::string, std::vector<uint8_t>, std::less<>> keys_;
};

}  // namespace dtlsgw::handshake
