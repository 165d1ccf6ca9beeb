#include "dataplane/static_keys.h"

#include <arpa/inet.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <queue>
#include <span>
#include <sstream>
#include <tuple>
#include <utility>

namespace dtlsgw::dataplane {

namespace {

constexpr size_t kMaxSessions = 16'777'216;  // 2^24, StaticKeys' documented bound
constexpr std::string_view kDerivationLabel = "dtlsgw static keys";
constexpr size_t kSeedLength = 32;

// The file's suite names are the record::Aead enumerators. The record
// layer's own names ("AES-128-GCM", aead_from_name) are accepted as well.
constexpr std::array<std::pair<std::string_view, record::Aead>, 5> kSuites = {{
    {"aes128_gcm", record::Aead::aes128_gcm},
    {"aes256_gcm", record::Aead::aes256_gcm},
    {"chacha20_poly1305", record::Aead::chacha20_poly1305},
    {"aes128_ccm", record::Aead::aes128_ccm},
    {"aes128_ccm8", record::Aead::aes128_ccm8},
}};

std::optional<record::Aead> parse_suite(std::string_view name) {
  for (const auto& [n, aead] : kSuites) {
    if (n == name) {
      return aead;
    }
  }
  return record::aead_from_name(name);
}

std::string_view suite_name(record::Aead aead) {
  for (const auto& [n, a] : kSuites) {
    if (a == aead) {
      return n;
    }
  }
  return "?";
}

uint32_t host_order(Ipv4 a) { return ntohl(a.be); }
Ipv4 from_host_order(uint32_t h) { return Ipv4{htonl(h)}; }

// Local copies of the dotted-quad parser and formatter, so this file does
// not depend on net_types.cc's progress (same grammar: four decimal parts
// 0..255, no leading zeros).
std::optional<Ipv4> parse_dotted_quad(std::string_view text) {
  uint32_t value = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (text.empty() || text.front() != '.') {
        return std::nullopt;
      }
      text.remove_prefix(1);
    }
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
      ++digits;
    }
    if (digits == 0 || digits > 3 || (digits > 1 && text[0] == '0')) {
      return std::nullopt;
    }
    uint32_t octet = 0;
    for (size_t i = 0; i < digits; ++i) {
      octet = octet * 10 + static_cast<uint32_t>(text[i] - '0');
    }
    if (octet > 255) {
      return std::nullopt;
    }
    value = (value << 8) | octet;
    text.remove_prefix(digits);
  }
  if (!text.empty()) {
    return std::nullopt;
  }
  return from_host_order(value);
}

std::string dotted_quad(Ipv4 a) {
  const uint32_t h = host_order(a);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", h >> 24, (h >> 16) & 0xff, (h >> 8) & 0xff,
                h & 0xff);
  return buf;
}

// Plain decimal digits, no sign, within [min, max].
std::optional<uint64_t> parse_decimal(std::string_view text, uint64_t min, uint64_t max) {
  if (text.empty() || text.front() < '0' || text.front() > '9') {
    return std::nullopt;
  }
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

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

struct Endpoint {
  Ipv4 address;
  uint16_t port = 0;
};

// "a.b.c.d:port", port 1..65535.
std::optional<Endpoint> parse_endpoint(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  const auto address = parse_dotted_quad(text.substr(0, colon));
  const auto port = parse_decimal(text.substr(colon + 1), 1, 65535);
  if (!address || !port) {
    return std::nullopt;
  }
  return Endpoint{*address, static_cast<uint16_t>(*port)};
}

// The key=value pairs of one directive line, checked against the keys the
// directive knows.
class Fields {
 public:
  // Fills `problem` and returns false on a malformed token, an unknown or
  // repeated key, or a missing one. Values are never quoted in a problem:
  // some are key material.
  bool parse(std::string_view directive, const std::vector<std::string_view>& tokens,
             std::span<const std::string_view> known, std::string& problem) {
    for (size_t t = 1; t < tokens.size(); ++t) {
      const std::string_view token = tokens[t];
      const size_t eq = token.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        problem =
            "expected key=value, got a token without a key (word " + std::to_string(t + 1) + ")";
        return false;
      }
      const std::string_view key = token.substr(0, eq);
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        problem = "unknown key '" + std::string(key) + "' in " + std::string(directive);
        return false;
      }
      if (find(key)) {
        problem = "key '" + std::string(key) + "' given twice";
        return false;
      }
      values_.emplace_back(key, token.substr(eq + 1));
    }
    for (const std::string_view key : known) {
      if (!find(key)) {
        problem = "missing key '" + std::string(key) + "' in " + std::string(directive);
        return false;
      }
    }
    return true;
  }

  // Present for every known key once parse() succeeded.
  std::string_view operator[](std::string_view key) const { return *find(key); }

 private:
  std::optional<std::string_view> find(std::string_view key) const {
    for (const auto& [k, v] : values_) {
      if (k == key) {
        return v;
      }
    }
    return std::nullopt;
  }

  std::vector<std::pair<std::string_view, std::string_view>> values_;
};

// Decodes exactly out.size() bytes of hex into `out`.
bool parse_hex_field(std::string_view key, std::string_view text, record::Aead aead,
                     std::span<uint8_t> out, std::string& problem) {
  if (text.size() != 2 * out.size()) {
    problem = std::string(key) + ": " + std::to_string(text.size()) + " hex digits, " +
              std::string(suite_name(aead)) + " needs " + std::to_string(2 * out.size());
    return false;
  }
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_digit(text[2 * i]);
    const int lo = hex_digit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      problem = std::string(key) + ": not hexadecimal";
      return false;
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

// The (peer address, peer port) set of sessions on one listener that one
// directive covers, as a rectangle; a `sessions` directive is at most two
// (its full addresses, then the partly used last one).
struct Block {
  uint16_t listener = 0;
  uint32_t address_first = 0;  // host order, inclusive
  uint32_t address_last = 0;
  uint16_t port_first = 0;  // inclusive
  uint16_t port_last = 0;
  size_t line = 0;
};

// Finds two intersecting blocks on the same listener in O(n log n): a sweep
// over addresses in ascending order. The blocks active at the sweep's
// address all contain it, so their port intervals are pairwise disjoint
// (else the sweep would have stopped already) and one ordered-map probe
// decides whether a new block meets any of them.
std::optional<std::pair<size_t, size_t>> find_overlap(std::vector<Block>& blocks) {
  std::sort(blocks.begin(), blocks.end(), [](const Block& a, const Block& b) {
    return std::tie(a.listener, a.address_first, a.line) <
           std::tie(b.listener, b.address_first, b.line);
  });
  std::map<uint16_t, size_t> active;           // port_first -> block
  using Expiry = std::pair<uint32_t, size_t>;  // address_last, block
  std::priority_queue<Expiry, std::vector<Expiry>, std::greater<>> expiries;
  for (size_t b = 0; b < blocks.size(); ++b) {
    const Block& block = blocks[b];
    if (b > 0 && blocks[b - 1].listener != block.listener) {
      active.clear();
      expiries = {};
    }
    while (!expiries.empty() && expiries.top().first < block.address_first) {
      active.erase(blocks[expiries.top().second].port_first);
      expiries.pop();
    }
    auto it = active.upper_bound(block.port_last);
    if (it != active.begin()) {
      --it;
      if (blocks[it->second].port_last >= block.port_first) {
        return std::pair{it->second, b};
      }
    }
    active.emplace(block.port_first, b);
    expiries.emplace(block.address_last, b);
  }
  return std::nullopt;
}

// One HMAC-SHA-256 context per thread, kept keyed with the last seed:
// deriving a million sessions of one directive then costs two SHA-256
// compressions per block and no fetch or key setup per session.
class SeedMac {
 public:
  SeedMac() {
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
    if (mac != nullptr) {
      ctx_ = EVP_MAC_CTX_new(mac);
    }
  }
  ~SeedMac() { EVP_MAC_CTX_free(ctx_); }
  SeedMac(const SeedMac&) = delete;
  SeedMac& operator=(const SeedMac&) = delete;

  // HMAC-SHA-256(seed, message) into out[32]; false if OpenSSL fails.
  bool compute(const uint8_t seed[kSeedLength], std::span<const uint8_t> message, uint8_t out[32]) {
    if (ctx_ == nullptr) {
      return false;
    }
    int ok = 0;
    if (keyed_ && std::memcmp(seed, seed_, kSeedLength) == 0) {
      // A null key re-initialises with the key already set (OpenSSL 3.0
      // hmac_init).
      ok = EVP_MAC_init(ctx_, nullptr, 0, nullptr);
    } else {
      char digest[] = "SHA256";
      const OSSL_PARAM params[] = {
          OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
          OSSL_PARAM_construct_end(),
      };
      keyed_ = false;
      ok = EVP_MAC_init(ctx_, seed, kSeedLength, params);
      if (ok == 1) {
        std::memcpy(seed_, seed, kSeedLength);
        keyed_ = true;
      }
    }
    size_t length = 0;
    return ok == 1 && EVP_MAC_update(ctx_, message.data(), message.size()) == 1 &&
           EVP_MAC_final(ctx_, out, &length, 32) == 1 && length == 32;
  }

 private:
  EVP_MAC_CTX* ctx_ = nullptr;
  bool keyed_ = false;
  uint8_t seed_[kSeedLength] = {};
};

std::string at(std::string_view source, size_t line, std::string_view problem) {
  return std::string(source) + ":" + std::to_string(line) + ": " + std::string(problem);
}

constexpr std::string_view kSessionKeys[] = {"peer",      "listener",   "suite",    "client_key",
                                             "client_iv", "server_key", "server_iv"};
constexpr std::string_view kSessionsKeys[] = {"count",    "first_peer", "ports_per_address",
                                              "listener", "suite",      "seed"};

}  // namespace

std::optional<StaticKeys> StaticKeys::parse(std::string_view text, std::string_view source_name,
                                            std::string& error) {
  StaticKeys keys;
  std::vector<Block> blocks;
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }

    std::vector<std::string_view> tokens;
    size_t pos = 0;
    constexpr std::string_view kSpace = " \t\r\v\f";
    while ((pos = line.find_first_not_of(kSpace, pos)) != std::string_view::npos) {
      const size_t end = std::min(line.find_first_of(kSpace, pos), line.size());
      tokens.push_back(line.substr(pos, end - pos));
      pos = end;
    }
    if (tokens.empty()) {
      continue;
    }

    auto fail = [&](std::string_view problem) {
      error = at(source_name, line_number, problem);
      return std::nullopt;
    };
    std::string problem;
    Fields fields;
    const std::string_view directive = tokens[0];
    const bool derived = directive == "sessions";
    if (directive != "session" && !derived) {
      return fail("unknown directive '" + std::string(directive) +
                  "' (expected 'session' or 'sessions')");
    }
    if (!fields.parse(directive, tokens,
                      derived ? std::span<const std::string_view>(kSessionsKeys)
                              : std::span<const std::string_view>(kSessionKeys),
                      problem)) {
      return fail(problem);
    }

    Range range;
    const auto aead = parse_suite(fields["suite"]);
    if (!aead) {
      return fail("suite: unknown '" + std::string(fields["suite"]) +
                  "' (aes128_gcm, aes256_gcm, chacha20_poly1305, aes128_ccm, aes128_ccm8)");
    }
    const auto listener = parse_decimal(fields["listener"], 1, 65535);
    if (!listener) {
      return fail("listener: not a port number 1..65535");
    }
    range.first_index = keys.size_;
    range.derived = derived;
    range.aead = *aead;
    range.listener_port = static_cast<uint16_t>(*listener);

    if (!derived) {
      const auto peer = parse_endpoint(fields["peer"]);
      if (!peer) {
        return fail("peer: expected a.b.c.d:port with port 1..65535");
      }
      const record::AeadParams& p = record::aead_params(*aead);
      StaticSession& s = range.explicit_session;
      s.peer = peer->address;
      s.peer_port = peer->port;
      s.listener_port = range.listener_port;
      s.aead = *aead;
      if (!parse_hex_field("client_key", fields["client_key"], *aead,
                           std::span(s.client_write_key, p.key_length), problem) ||
          !parse_hex_field("client_iv", fields["client_iv"], *aead,
                           std::span(s.client_write_iv, p.fixed_iv_length), problem) ||
          !parse_hex_field("server_key", fields["server_key"], *aead,
                           std::span(s.server_write_key, p.key_length), problem) ||
          !parse_hex_field("server_iv", fields["server_iv"], *aead,
                           std::span(s.server_write_iv, p.fixed_iv_length), problem)) {
        return fail(problem);
      }
      range.count = 1;
      range.first_peer = s.peer;
      range.first_port = s.peer_port;
      const uint32_t address = host_order(s.peer);
      blocks.push_back(
          {range.listener_port, address, address, s.peer_port, s.peer_port, line_number});
    } else {
      const auto count = parse_decimal(fields["count"], 0, UINT64_MAX);
      if (!count) {
        return fail("count: not a decimal number");
      }
      if (*count == 0 || *count > kMaxSessions) {
        return fail("count: must be 1.." + std::to_string(kMaxSessions));
      }
      const auto first_peer = parse_endpoint(fields["first_peer"]);
      if (!first_peer) {
        return fail("first_peer: expected a.b.c.d:port with port 1..65535");
      }
      const auto per_address = parse_decimal(fields["ports_per_address"], 1, 65535);
      if (!per_address) {
        return fail("ports_per_address: must be 1..65535");
      }
      if (first_peer->port + *per_address - 1 > 65535) {
        return fail("first_peer port + ports_per_address - 1 exceeds 65535");
      }
      const uint64_t first_address = host_order(first_peer->address);
      const uint64_t addresses = (*count + *per_address - 1) / *per_address;
      if (first_address + addresses - 1 > UINT32_MAX) {
        return fail("the peer addresses run past 255.255.255.255");
      }
      if (!parse_hex_field("seed", fields["seed"], *aead, std::span(range.seed), problem)) {
        return fail(problem);
      }
      range.count = *count;
      range.first_peer = first_peer->address;
      range.first_port = first_peer->port;
      range.ports_per_address = static_cast<uint32_t>(*per_address);

      // Full addresses, then the last one's used ports.
      const uint64_t full = *count / *per_address;
      const uint64_t rest = *count % *per_address;
      if (full > 0) {
        blocks.push_back({range.listener_port, static_cast<uint32_t>(first_address),
                          static_cast<uint32_t>(first_address + full - 1), range.first_port,
                          static_cast<uint16_t>(range.first_port + *per_address - 1), line_number});
      }
      if (rest > 0) {
        blocks.push_back({range.listener_port, static_cast<uint32_t>(first_address + full),
                          static_cast<uint32_t>(first_address + full), range.first_port,
                          static_cast<uint16_t>(range.first_port + rest - 1), line_number});
      }
    }

    if (range.count > kMaxSessions - keys.size_) {
      return fail("more than " + std::to_string(kMaxSessions) + " sessions in total");
    }
    keys.size_ += range.count;
    keys.ranges_.push_back(range);
  }

  if (const auto overlap = find_overlap(blocks)) {
    const Block& a = blocks[overlap->first];
    const Block& b = blocks[overlap->second];
    // The sweep meets b at its first address, which a covers too.
    const Ipv4 peer = from_host_order(b.address_first);
    const uint16_t port = std::max(a.port_first, b.port_first);
    error = at(source_name, std::max(a.line, b.line),
               "duplicate session: peer " + dotted_quad(peer) + ":" + std::to_string(port) +
                   " on listener " + std::to_string(b.listener) + " is also on line " +
                   std::to_string(std::min(a.line, b.line)));
    return std::nullopt;
  }
  error.clear();
  return keys;
}

std::optional<StaticKeys> StaticKeys::load(const std::string& path, std::string& error) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    error = path + ": cannot open: " + std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad()) {
    error = path + ": cannot read";
    return std::nullopt;
  }
  return parse(contents.str(), path, error);
}

size_t StaticKeys::size() const { return size_; }

void StaticKeys::session(size_t index, StaticSession& out) const {
  assert(index < size_);
  out = StaticSession{};
  if (index >= size_) [[unlikely]] {
    return;
  }
  // The last range starting at or before `index`.
  const auto it =
      std::prev(std::upper_bound(ranges_.begin(), ranges_.end(), index,
                                 [](size_t i, const Range& r) { return i < r.first_index; }));
  const Range& r = *it;
  if (!r.derived) {
    out = r.explicit_session;
    return;
  }
  const size_t i = index - r.first_index;
  out.peer =
      from_host_order(host_order(r.first_peer) + static_cast<uint32_t>(i / r.ports_per_address));
  out.peer_port = static_cast<uint16_t>(r.first_port + i % r.ports_per_address);
  out.listener_port = r.listener_port;
  out.aead = r.aead;
  derive_keys(r.seed, static_cast<uint32_t>(i), out);
}

void StaticKeys::derive_keys(const uint8_t seed[32], uint32_t index, StaticSession& out) {
  thread_local SeedMac mac;
  uint8_t message[kDerivationLabel.size() + 5];
  std::memcpy(message, kDerivationLabel.data(), kDerivationLabel.size());
  uint8_t* tail = message + kDerivationLabel.size();
  tail[0] = static_cast<uint8_t>(index >> 24);
  tail[1] = static_cast<uint8_t>(index >> 16);
  tail[2] = static_cast<uint8_t>(index >> 8);
  tail[3] = static_cast<uint8_t>(index);

  uint8_t block[3 * 32];
  for (uint8_t b = 0; b < 3; ++b) {
    tail[4] = b;
    if (!mac.compute(seed, message, block + 32 * b)) [[unlikely]] {
      // Wrong keys would fail every record silently; there is no caller
      // that could carry on without them.
      std::fputs("dtlsgw: static keys: HMAC-SHA-256 unavailable\n", stderr);
      std::abort();
    }
  }

  const record::AeadParams& p = record::aead_params(out.aead);
  std::memset(out.client_write_key, 0, sizeof out.client_write_key);
  std::memset(out.server_write_key, 0, sizeof out.server_write_key);
  std::memset(out.client_write_iv, 0, sizeof out.client_write_iv);
  std::memset(out.server_write_iv, 0, sizeof out.server_write_iv);
  const uint8_t* next = block;
  std::memcpy(out.client_write_key, next, p.key_length);
  next += p.key_length;
  std::memcpy(out.server_write_key, next, p.key_length);
  next += p.key_length;
  std::memcpy(out.client_write_iv, next, p.fixed_iv_length);
  next += p.fixed_iv_length;
  std::memcpy(out.server_write_iv, next, p.fixed_iv_length);
}

}  // namespace dtlsgw::dataplane
