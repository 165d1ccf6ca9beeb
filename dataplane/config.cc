// The configuration file: TOML read by toml++, then every key checked
// against the specification in config.h. toml++ reports syntax errors by
// throwing toml::parse_error (Debian's shared build exports only the
// exceptions ABI, so TOML_EXCEPTIONS=0 would not link); the exception is
// caught here and never leaves parse_config. Everything after the parse
// is [[nodiscard]]-style bool results: the first problem wins and becomes
// the one-line error.
//
// The parser is one class, config_parser.h, over this file (the reader,
// the top level, [dataplane] and [handshake]) and config_network.cc
// (addresses, ports, listeners, neighbors).
#include "dataplane/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <initializer_list>
#include <iterator>

#include "dataplane/config_parser.h"
#include "dtls_record/replay_window.h"
#include "handshake/cipher_suites.h"

namespace dtlsgw::dataplane::config_internal {

namespace {

// RTE_MAX_LCORE of Debian's DPDK build: EAL knows no lcore id at or above.
constexpr int64_t kMaxLcoreId = 128 - 1;
// Each worker owns a share of the session table and its queues; 64 is
// more than any port's queue count dtlsgw is tuned for.
constexpr size_t kMaxWorkers = 64;
// The record layer accepts ReplayWindow::kMinBits..kMaxBits. Whole 64-bit
// words because the ring is stored in words; capped at 4096 bits because
// every session carries its window in hugepage memory.
constexpr uint32_t kMinReplayWindow = record::ReplayWindow::kMinBits;
constexpr uint32_t kMaxReplayWindow = 4096;
static_assert(kMinReplayWindow % 64 == 0);
static_assert(record::ReplayWindow::valid_size(kMinReplayWindow) &&
              record::ReplayWindow::valid_size(kMaxReplayWindow));
// HandshakeEngine refuses less (handshake_engine.h: OpenSSL's minimum of
// 256 less the IPv4 and UDP headers, plus the AEAD room it forgets).
constexpr int64_t kMinMtu = 252;
constexpr int64_t kMaxMtu = 9000;  // a jumbo frame
// HandshakeEngine refuses less: OpenSSL 3.0 treats a shorter timer as
// expired at once. 60 s is RFC 6298's maximum, the engine's ceiling.
constexpr milliseconds kMinInitialTimeout{15};
constexpr milliseconds kMaxInitialTimeout{60'000};
// One certificate per key type (ECDSA, RSA): ServerContext checks the
// types when it loads them; the parser can only count.
constexpr size_t kMaxCertificates = 2;
// IP reassembly bounds per worker (fragments.h): incomplete datagrams,
// fragment copies, and how long an incomplete datagram is kept.
constexpr int64_t kMaxFragmentDatagrams = 65536;
constexpr int64_t kMinFragmentBuffers = 64;
constexpr int64_t kMaxFragmentBuffers = 1 << 20;
constexpr milliseconds kMinFragmentTimeout{100};
constexpr milliseconds kMaxFragmentTimeout{60'000};
// RFC 8201 §4 puts the floor for raising a lowered path MTU at 5 minutes
// and recommends 10; 10 s lets a test watch an entry age out.
constexpr milliseconds kMinPathMtuTimeout{10'000};

constexpr milliseconds kSecond{1000};
constexpr milliseconds kMinute{60'000};
constexpr milliseconds kHour{3'600'000};
constexpr milliseconds kDay{24 * 3'600'000};

// "1500ms", "300s", "5m", "1h": a decimal integer and a unit, no sign, no
// space, no fraction, so a value reads the same to every tool.
std::optional<milliseconds> parse_duration(std::string_view text) {
  size_t digits = 0;
  int64_t n = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    n = n * 10 + (text[digits] - '0');
    ++digits;
    // 12 digits of hours still fit in int64_t milliseconds.
    if (digits > 12) {
      return std::nullopt;
    }
  }
  if (digits == 0) {
    return std::nullopt;
  }
  const std::string_view unit = text.substr(digits);
  if (unit == "ms") {
    return milliseconds(n);
  }
  if (unit == "s") {
    return n * kSecond;
  }
  if (unit == "m") {
    return n * kMinute;
  }
  if (unit == "h") {
    return n * kHour;
  }
  return std::nullopt;
}

// The largest unit that states `d` exactly, as parse_duration reads it.
std::string format_duration(milliseconds d) {
  const int64_t ms = d.count();
  if (ms != 0 && ms % kHour.count() == 0) {
    return std::to_string(ms / kHour.count()) + "h";
  }
  if (ms != 0 && ms % kMinute.count() == 0) {
    return std::to_string(ms / kMinute.count()) + "m";
  }
  if (ms % kSecond.count() == 0) {
    return std::to_string(ms / kSecond.count()) + "s";
  }
  return std::to_string(ms) + "ms";
}

}  // namespace

// Escapes what would break the one-line error format and, inside quotes,
// what would make the quoting ambiguous.
std::string printable(std::string_view text, bool in_quotes) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || (in_quotes && (c == '"' || c == '\\'))) {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", u);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out;
}

std::string quoted(std::string_view text) { return '"' + printable(text, true) + '"'; }

std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

bool Parser::parse(const toml::table& root_entries, Config& c) {
  const Table root{&root_entries, ""};
  return known_keys(root,
                    {"dataplane", "outside", "inside", "listener", "neighbor", "handshake"}) &&
         dataplane(root, c) && port(root, "outside", c.outside) && inside(root, c) &&
         listeners(root, c) && neighbors(root, c) && handshake(root, c.handshake);
}

bool Parser::fail(std::string_view key, std::string_view problem) {
  error_ = std::string(source_) + ": " + std::string(key) + ": " + std::string(problem);
  return false;
}

// Checked before any value, so that a misspelt optional key is reported
// as itself rather than silently defaulted, and a misspelt required one
// as itself rather than as the key it should have been.
bool Parser::known_keys(const Table& t, std::initializer_list<std::string_view> known) {
  for (auto&& [k, v] : *t.entries) {
    if (std::find(known.begin(), known.end(), k.str()) == known.end()) {
      return fail(t.key(k.str()), "unknown key");
    }
  }
  return true;
}

bool Parser::find(const Table& t, std::string_view k, Presence p, const toml::node*& n) {
  n = t.entries->get(k);
  if (n == nullptr && p == Presence::required) {
    return fail(t.key(k), "missing (required)");
  }
  return true;
}

// An absent table reads as an empty one, so its required keys report
// themselves as missing by name.
bool Parser::sub_table(const Table& parent, std::string_view k, Table& out) {
  out.path = parent.key(k);
  const toml::node* n = parent.entries->get(k);
  if (n == nullptr) {
    out.entries = &empty_;
    return true;
  }
  if (!n->is_table()) {
    return fail(out.path, "expected a table, got " + type_name(*n));
  }
  out.entries = n->as_table();
  return true;
}

// An array of tables: [[listener]] or [{...}, {...}].
bool Parser::table_array(const Table& parent, std::string_view k, size_t min, size_t max,
                         std::vector<Table>& out) {
  const std::string key = parent.key(k);
  const toml::node* n = parent.entries->get(k);
  const toml::array* a = n != nullptr ? n->as_array() : nullptr;
  if (n != nullptr && a == nullptr) {
    return fail(key, "expected an array of tables, got " + type_name(*n));
  }
  const size_t size = a != nullptr ? a->size() : 0;
  if (size < min || size > max) {
    if (n == nullptr) {
      return fail(key, "missing (required)");
    }
    return fail(key, "must have " + std::to_string(min) + ".." + std::to_string(max) +
                         " entries, got " + std::to_string(size));
  }
  for (size_t i = 0; i < size; ++i) {
    const toml::node& e = (*a)[i];
    std::string path = key + "[" + std::to_string(i) + "]";
    if (!e.is_table()) {
      return fail(path, "expected a table, got " + type_name(e));
    }
    out.push_back(Table{e.as_table(), std::move(path)});
  }
  return true;
}

bool Parser::integer_value(const toml::node& n, const std::string& key, int64_t lo, int64_t hi,
                           int64_t& out) {
  const toml::value<int64_t>* v = n.as_integer();
  if (v == nullptr) {
    return fail(key, "expected an integer, got " + type_name(n));
  }
  if (v->get() < lo || v->get() > hi) {
    return fail(key, "must be in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " +
                         std::to_string(v->get()));
  }
  out = v->get();
  return true;
}

bool Parser::boolean(const Table& t, std::string_view k, bool& out) {
  const toml::node* n = t.entries->get(k);
  if (n == nullptr) {
    return true;
  }
  const toml::value<bool>* v = n->as_boolean();
  if (v == nullptr) {
    return fail(t.key(k), "expected a boolean, got " + type_name(*n));
  }
  out = v->get();
  return true;
}

bool Parser::string_value(const toml::node& n, const std::string& key, std::string& out) {
  const toml::value<std::string>* v = n.as_string();
  if (v == nullptr) {
    return fail(key, "expected a string, got " + type_name(n));
  }
  out = v->get();
  return true;
}

bool Parser::string(const Table& t, std::string_view k, Presence p, std::string& out) {
  const toml::node* n;
  if (!find(t, k, p, n)) {
    return false;
  }
  if (n == nullptr) {
    return true;
  }
  if (!string_value(*n, t.key(k), out)) {
    return false;
  }
  if (p == Presence::required && out.empty()) {
    return fail(t.key(k), "must not be empty");
  }
  return true;
}

// `zero_disables`: "0s" is accepted as "off" besides lo..hi.
bool Parser::duration(const Table& t, std::string_view k, milliseconds lo, milliseconds hi,
                      bool zero_disables, milliseconds& out) {
  std::string text;
  if (!string(t, k, Presence::optional, text)) {
    return false;
  }
  if (t.entries->get(k) == nullptr) {
    return true;
  }
  const std::optional<milliseconds> d = parse_duration(text);
  if (!d) {
    return fail(t.key(k), "expected a duration like \"1500ms\", \"30s\", \"5m\" or \"1h\", got " +
                              quoted(text));
  }
  if ((*d < lo || *d > hi) && !(zero_disables && d->count() == 0)) {
    return fail(t.key(k), std::string("must be ") + (zero_disables ? "0s (off) or " : "") + "in " +
                              format_duration(lo) + ".." + format_duration(hi) + ", got " +
                              quoted(text));
  }
  out = *d;
  return true;
}

bool Parser::dataplane(const Table& root, Config& c) {
  Table t;
  if (!sub_table(root, "dataplane", t) ||
      !known_keys(t, {"workers", "replay_window", "max_sessions", "idle_timeout", "mbufs",
                      "punt_rate", "punt_burst", "final_flight_interval", "summary_interval",
                      "static_keys", "relaxed_replay", "fragment_datagrams", "fragment_buffers",
                      "fragment_timeout", "path_mtu_timeout"}) ||
      !workers(t, c.workers)) {
    return false;
  }
  if (!integer(t, "replay_window", Presence::optional, kMinReplayWindow, kMaxReplayWindow,
               c.replay_window)) {
    return false;
  }
  if (c.replay_window % 64 != 0) {
    return fail(t.key("replay_window"),
                "must be a multiple of 64, got " + std::to_string(c.replay_window));
  }
  // final_flight_interval is at least 1 ms: with none, a peer replaying
  // its Finished would drive the gateway's transmit rate.
  return integer(t, "max_sessions", Presence::optional, 1, 1 << 24, c.max_sessions) &&
         duration(t, "idle_timeout", kSecond, kDay, false, c.idle_timeout) &&
         integer(t, "mbufs", Presence::optional, 1024, 1 << 24, c.mbufs) &&
         integer(t, "punt_rate", Presence::optional, 1, 10'000'000, c.punt_rate) &&
         integer(t, "punt_burst", Presence::optional, 1, 1'000'000, c.punt_burst) &&
         duration(t, "final_flight_interval", milliseconds(1), kMinute, false,
                  c.final_flight_interval) &&
         duration(t, "summary_interval", kSecond, kDay, true, c.summary_interval) &&
         string(t, "static_keys", Presence::optional, c.static_keys) &&
         boolean(t, "relaxed_replay", c.relaxed_replay) &&
         (!c.relaxed_replay || !c.static_keys.empty() ||
          fail(t.key("relaxed_replay"), "only with static_keys (benchmark builds)")) &&
         integer(t, "fragment_datagrams", Presence::optional, 1, kMaxFragmentDatagrams,
                 c.fragment_datagrams) &&
         integer(t, "fragment_buffers", Presence::optional, kMinFragmentBuffers,
                 kMaxFragmentBuffers, c.fragment_buffers) &&
         duration(t, "fragment_timeout", kMinFragmentTimeout, kMaxFragmentTimeout, false,
                  c.fragment_timeout) &&
         duration(t, "path_mtu_timeout", kMinPathMtuTimeout, kDay, false, c.path_mtu_timeout);
}

bool Parser::workers(const Table& t, std::vector<unsigned>& out) {
  const std::string key = t.key("workers");
  const toml::node* n;
  if (!find(t, "workers", Presence::required, n)) {
    return false;
  }
  const toml::array* a = n->as_array();
  if (a == nullptr) {
    return fail(key, "expected an array of lcore ids, got " + type_name(*n));
  }
  if (a->empty() || a->size() > kMaxWorkers) {
    return fail(key, "must have 1.." + std::to_string(kMaxWorkers) + " lcore ids, got " +
                         std::to_string(a->size()));
  }
  out.clear();
  for (size_t i = 0; i < a->size(); ++i) {
    const std::string element = key + "[" + std::to_string(i) + "]";
    int64_t id;
    if (!integer_value((*a)[i], element, 0, kMaxLcoreId, id)) {
      return false;
    }
    const auto lcore = static_cast<unsigned>(id);
    if (std::find(out.begin(), out.end(), lcore) != out.end()) {
      return fail(element, "lcore " + std::to_string(lcore) + " is listed twice");
    }
    out.push_back(lcore);
  }
  return true;
}

bool Parser::handshake(const Table& root, HandshakeConfig& c) {
  Table t;
  if (!sub_table(root, "handshake", t) ||
      !known_keys(t, {"cipher_suites", "certificates", "psk_file", "client_ca_file",
                      "require_client_certificate", "mtu", "initial_timeout", "max_handshakes",
                      "session_tickets", "session_cache", "cookie_rotation"}) ||
      !cipher_suites(t, c.server.cipher_suites) || !certificates(t, c.server.certificates) ||
      !string(t, "psk_file", Presence::optional, c.server.psk_file) ||
      !string(t, "client_ca_file", Presence::optional, c.server.client_ca_file) ||
      !boolean(t, "require_client_certificate", c.server.require_client_certificate) ||
      !integer(t, "mtu", Presence::optional, kMinMtu, kMaxMtu, c.mtu) ||
      !duration(t, "initial_timeout", kMinInitialTimeout, kMaxInitialTimeout, false,
                c.initial_timeout) ||
      !integer(t, "max_handshakes", Presence::optional, 1, 1'000'000, c.max_handshakes) ||
      !boolean(t, "session_tickets", c.server.session_tickets) ||
      !boolean(t, "session_cache", c.server.session_cache)) {
    return false;
  }
  milliseconds rotation = c.cookie_rotation;
  if (!duration(t, "cookie_rotation", kSecond, kDay, false, rotation)) {
    return false;
  }
  if (rotation.count() % kSecond.count() != 0) {
    return fail(t.key("cookie_rotation"),
                "must be whole seconds, got " + format_duration(rotation));
  }
  c.cookie_rotation = std::chrono::duration_cast<std::chrono::seconds>(rotation);
  return true;
}

bool Parser::cipher_suites(const Table& t, std::vector<std::string>& out) {
  const std::string key = t.key("cipher_suites");
  const toml::node* n = t.entries->get("cipher_suites");
  if (n == nullptr) {
    return true;
  }
  const toml::array* a = n->as_array();
  if (a == nullptr) {
    return fail(key, "expected an array of cipher suite names, got " + type_name(*n));
  }
  out.clear();
  for (size_t i = 0; i < a->size(); ++i) {
    const std::string element = key + "[" + std::to_string(i) + "]";
    std::string name;
    if (!string_value((*a)[i], element, name)) {
      return false;
    }
    if (handshake::find_suite(std::string_view(name)) == nullptr) {
      std::string known;
      for (const handshake::CipherSuite& s : handshake::dtls12_aead_suites()) {
        known += (known.empty() ? "" : ", ") + std::string(s.openssl_name);
      }
      return fail(element, "unknown cipher suite " + quoted(name) + " (known: " + known + ")");
    }
    if (std::find(out.begin(), out.end(), name) != out.end()) {
      return fail(element, quoted(name) + " is listed twice");
    }
    out.push_back(std::move(name));
  }
  return true;
}

bool Parser::certificates(const Table& t, std::vector<handshake::CertificateFiles>& out) {
  std::vector<Table> entries;
  if (!table_array(t, "certificates", 0, kMaxCertificates, entries)) {
    return false;
  }
  out.clear();
  for (const Table& e : entries) {
    handshake::CertificateFiles files;
    if (!known_keys(e, {"chain", "key"}) ||
        !string(e, "chain", Presence::required, files.chain_file) ||
        !string(e, "key", Presence::required, files.key_file)) {
      return false;
    }
    out.push_back(std::move(files));
  }
  return true;
}

}  // namespace dtlsgw::dataplane::config_internal

namespace dtlsgw::dataplane {

using config_internal::Parser;
using config_internal::printable;

std::optional<Config> parse_config(std::string_view toml_text, std::string_view source_name,
                                   std::string& error) {
  try {
    const toml::table root = toml::parse(toml_text, source_name);
    Config c;
    if (!Parser(source_name, error).parse(root, c)) {
      return std::nullopt;
    }
    return c;
  } catch (const toml::parse_error& e) {
    error = std::string(source_name) + ":" + std::to_string(e.source().begin.line) + ":" +
            std::to_string(e.source().begin.column) + ": " + printable(e.description());
  } catch (const std::exception& e) {
    // Allocation failure: the control process reports it like any other.
    error = std::string(source_name) + ": " + printable(e.what());
  }
  return std::nullopt;
}

std::optional<Config> load_config(const std::string& path, std::string& error) {
  std::string text;
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      error = path + ": cannot open: " + std::strerror(errno);
      return std::nullopt;
    }
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) {
      error = path + ": cannot read: " + std::strerror(errno);
      return std::nullopt;
    }
  } catch (const std::exception& e) {
    error = path + ": cannot read: " + e.what();
    return std::nullopt;
  }
  return parse_config(text, path, error);
}

}  // namespace dtlsgw::dataplane
