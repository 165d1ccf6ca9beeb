#include "handshake/psk_store.h"

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace dtlsgw::handshake {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Printable: no C0 control byte and no DEL. Bytes from 0x80 up are allowed
// (UTF-8 identities).
bool printable(unsigned char c) { return c >= 0x20 && c != 0x7f; }

}  // namespace

PskStore::~PskStore() { clear(); }

void PskStore::clear() {
  for (auto& [identity, key] : keys_) {
    OPENSSL_cleanse(key.data(), key.size());
  }
  keys_.clear();
}

Status PskStore::parse(std::string_view text, std::string_view source) {
  clear();
  std::map<std::string, size_t, std::less<>> first_line;
  size_t line_number = 0;
  auto fail = [&](const std::string& why) {
    clear();
    return Status::error(std::string(source) + ":" + std::to_string(line_number) + ": " + why);
  };
  while (!text.empty()) {
    ++line_number;
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.empty() || line.front() == '#') {
      continue;
    }
    const size_t colon = line.rfind(':');
    if (colon == std::string_view::npos) {
      return fail("expected identity:hexkey (no colon)");
    }
    const std::string_view identity = line.substr(0, colon);
    const std::string_view hex = line.substr(colon + 1);
    if (identity.empty()) {
      return fail("empty PSK identity");
    }
    if (identity.size() > PSK_MAX_IDENTITY_LEN) {
      return fail("PSK identity longer than " + std::to_string(PSK_MAX_IDENTITY_LEN) + " bytes");
    }
    for (size_t i = 0; i < identity.size(); ++i) {
      if (!printable(static_cast<unsigned char>(identity[i]))) {
        return fail("PSK identity has a non-printable byte at column " + std::to_string(i + 1));
      }
    }
    if (hex.empty()) {
      return fail("empty key for identity '" + std::string(identity) + "'");
    }
    if (hex.size() % 2 != 0) {
      return fail("key for identity '" + std::string(identity) +
                  "' has an odd number of hex digits");
    }
    if (hex.size() / 2 > PSK_MAX_PSK_LEN) {
      return fail("key for identity '" + std::string(identity) + "' is longer than " +
                  std::to_string(PSK_MAX_PSK_LEN) + " bytes");
    }
    std::vector<uint8_t> key(hex.size() / 2);
    for (size_t i = 0; i < key.size(); ++i) {
      const int hi = hex_digit(hex[2 * i]);
      const int lo = hex_digit(hex[2 * i + 1]);
      if (hi < 0 || lo < 0) {
        OPENSSL_cleanse(key.data(), key.size());
        return fail("key for identity '" + std::string(identity) + "' is not hexadecimal (column " +
                    std::to_string(colon + 2 + 2 * i) + ")");
      }
      key[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    if (const auto seen = first_line.find(identity); seen != first_line.end()) {
      OPENSSL_cleanse(key.data(), key.size());
      return fail("PSK identity '" + std::string(identity) + "' already defined on line " +
                  std::to_string(seen->second));
    }
    first_line.emplace(std::string(identity), line_number);
    keys_.emplace(std::string(identity), std::move(key));
  }
  return Status::ok();
}

Status PskStore::load_file(const std::string& path) {
  clear();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::error("cannot read PSK file '" + path + "': " + std::strerror(errno));
  }
  // Read in one piece into one buffer, so the only copy of the keys' text
  // is the one wiped below.
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0 || !in) {
    return Status::error("cannot read PSK file '" + path + "'");
  }
  std::string contents(static_cast<size_t>(size), '\0');
  if (!in.read(contents.data(), size)) {
    OPENSSL_cleanse(contents.data(), contents.size());
    return Status::error("cannot read PSK file '" + path + "'");
  }
  Status s = parse(contents, path);
  OPENSSL_cleanse(contents.data(), contents.size());
  return s;
}

size_t PskStore::find(std::string_view identity, std::span<uint8_t> out) const {
  const auto it = keys_.find(identity);
  if (it == keys_.end() || it->second.size() > out.size()) {
    return 0;
  }
  std::memcpy(out.data(), it->second.data(), it->second.size());
  return it->second.size();
}

bool PskStore::contains(std::string_view identity) const {
  return keys_.find(identity) != keys_.end();
}

}  // namespace dtlsgw::handshake
