// The configuration file: TOML read by toml++, then every key checked
// against the specification in config.h. toml++ reports syntax errors by
// throwing toml::parse_error (Debian's shared build exports only the
// exceptions ABI, so TOML_EXCEPTIONS=0 would not link); the exception is
// caught here and never leaves parse_config. Everything after the parse
// is [[nodiscard]]-style bool results: the first problem wins and becomes
// the one-line error.
#include "dataplane/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>

#include "dtls_record/replay_window.h"
#include "handshake/cipher_suites.h"

namespace dtlsgw::dataplane {

namespace {

using std::chrono::milliseconds;

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
constexpr size_t kMaxListeners = 256;
// Below 1024 are the ports other hosts expect services on; the inside
// source ports must not look like one to a backend's firewall.
constexpr int64_t kMinSourcePort = 1024;
// Listener rate limits toward backends (datagrams/s, and bucket depths).
constexpr int64_t kMaxRate = 100'000'000;
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
// 802.1Q: VID 4095 is reserved and VID 0 names no VLAN (a priority tag),
// so 0 is free to mean "untagged" here.
constexpr int64_t kMaxVlan = 4094;

constexpr milliseconds kSecond{1000};
constexpr milliseconds kMinute{60'000};
constexpr milliseconds kHour{3'600'000};
constexpr milliseconds kDay{24 * 3'600'000};

// Escapes what would break the one-line error format and, inside quotes,
// what would make the quoting ambiguous.
std::string printable(std::string_view text, bool in_quotes = false) {
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

// "1".."65535", decimal digits only.
std::optional<uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) {
    return std::nullopt;
  }
  uint32_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  if (n == 0 || n > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(n);
}

uint32_t host_order(Ipv4 a) {
  uint8_t b[4];
  std::memcpy(b, &a.be, sizeof b);
  return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
}

// Not 0.0.0.0/8 ("this network", RFC 1122 §3.2.1.3), multicast or the
// reserved 240/4 with the limited broadcast: none can be a host's address.
bool is_unicast(Ipv4 a) {
  const uint32_t first_octet = host_order(a) >> 24;
  return first_octet != 0 && first_octet < 224;
}

// Host order; a shift by 32 is undefined, hence /0 apart.
uint32_t subnet_mask(const PortConfig& port) {
  return port.prefix_length == 0 ? 0 : ~uint32_t{0} << (32 - port.prefix_length);
}

bool on_link(Ipv4 a, const PortConfig& port) {
  return ((host_order(a) ^ host_order(port.address)) & subnet_mask(port)) == 0;
}

std::string subnet(const PortConfig& port) {
  const uint32_t network = host_order(port.address) & subnet_mask(port);
  const uint8_t b[4] = {static_cast<uint8_t>(network >> 24), static_cast<uint8_t>(network >> 16),
                        static_cast<uint8_t>(network >> 8), static_cast<uint8_t>(network)};
  Ipv4 n;
  std::memcpy(&n.be, b, sizeof b);
  return to_string(n) + "/" + std::to_string(port.prefix_length);
}

// The first `length` bits of `a`, the rest zero.
Ipv6 prefix_of(const Ipv6& a, uint8_t length) {
  Ipv6 p;
  for (size_t i = 0; i < sizeof p.bytes; ++i) {
    const size_t bits = i * 8 >= length ? 0 : std::min<size_t>(8, length - i * 8);
    p.bytes[i] = static_cast<uint8_t>(a.bytes[i] & (0xff00 >> bits));
  }
  return p;
}

// Whether `a` is on the port's IPv6 prefix; the port must have address6.
bool on_link6(const Ipv6& a, const PortConfig& port) {
  return prefix_of(a, port.prefix_length6) == prefix_of(*port.address6, port.prefix_length6);
}

std::string subnet6(const PortConfig& port) {
  return to_string(prefix_of(*port.address6, port.prefix_length6)) + "/" +
         std::to_string(port.prefix_length6);
}

// "IPv4" or "IPv6": the family of an address, for errors.
std::string family(const IpAddress& a) { return a.is_v4() ? "IPv4" : "IPv6"; }

enum class Presence : bool { optional, required };

class Parser {
 public:
  Parser(std::string_view source, std::string& error) : source_(source), error_(error) {}

  bool parse(const toml::table& root_entries, Config& c) {
    const Table root{&root_entries, ""};
    return known_keys(root,
                      {"dataplane", "outside", "inside", "listener", "neighbor", "handshake"}) &&
           dataplane(root, c) && port(root, "outside", c.outside) && inside(root, c) &&
           listeners(root, c) && neighbors(root, c) && handshake(root, c.handshake);
  }

 private:
  // A table of the file and the dotted path that names it in errors.
  struct Table {
    const toml::table* entries;
    std::string path;  // empty for the root

    std::string key(std::string_view k) const {
      return path.empty() ? printable(k) : path + "." + printable(k);
    }
  };

  bool fail(std::string_view key, std::string_view problem) {
    error_ = std::string(source_) + ": " + std::string(key) + ": " + std::string(problem);
    return false;
  }

  // Checked before any value, so that a misspelt optional key is reported
  // as itself rather than silently defaulted, and a misspelt required one
  // as itself rather than as the key it should have been.
  bool known_keys(const Table& t, std::initializer_list<std::string_view> known) {
    for (auto&& [k, v] : *t.entries) {
      if (std::find(known.begin(), known.end(), k.str()) == known.end()) {
        return fail(t.key(k.str()), "unknown key");
      }
    }
    return true;
  }

  bool find(const Table& t, std::string_view k, Presence p, const toml::node*& n) {
    n = t.entries->get(k);
    if (n == nullptr && p == Presence::required) {
      return fail(t.key(k), "missing (required)");
    }
    return true;
  }

  // An absent table reads as an empty one, so its required keys report
  // themselves as missing by name.
  bool sub_table(const Table& parent, std::string_view k, Table& out) {
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
  bool table_array(const Table& parent, std::string_view k, size_t min, size_t max,
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

  bool integer_value(const toml::node& n, const std::string& key, int64_t lo, int64_t hi,
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

  template <typename T>
  bool integer(const Table& t, std::string_view k, Presence p, int64_t lo, int64_t hi, T& out) {
    // The range must fit the field, or the cast below would wrap.
    assert(lo >= int64_t{std::numeric_limits<T>::min()} && hi >= lo &&
           static_cast<uint64_t>(hi) <= uint64_t{std::numeric_limits<T>::max()});
    const toml::node* n;
    int64_t v;
    if (!find(t, k, p, n)) {
      return false;
    }
    if (n == nullptr) {
      return true;
    }
    if (!integer_value(*n, t.key(k), lo, hi, v)) {
      return false;
    }
    out = static_cast<T>(v);
    return true;
  }

  bool boolean(const Table& t, std::string_view k, bool& out) {
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

  bool string_value(const toml::node& n, const std::string& key, std::string& out) {
    const toml::value<std::string>* v = n.as_string();
    if (v == nullptr) {
      return fail(key, "expected a string, got " + type_name(n));
    }
    out = v->get();
    return true;
  }

  bool string(const Table& t, std::string_view k, Presence p, std::string& out) {
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
  bool duration(const Table& t, std::string_view k, milliseconds lo, milliseconds hi,
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
      return fail(t.key(k), std::string("must be ") + (zero_disables ? "0s (off) or " : "") +
                                "in " + format_duration(lo) + ".." + format_duration(hi) +
                                ", got " + quoted(text));
    }
    out = *d;
    return true;
  }

  bool ipv4_value(std::string_view text, const std::string& key, Ipv4& out) {
    const std::optional<Ipv4> a = parse_ipv4(text);
    if (!a) {
      return fail(key, "expected an IPv4 address like \"192.0.2.1\", got " + quoted(text));
    }
    if (!is_unicast(*a)) {
      return fail(key, to_string(*a) + " is not a unicast address");
    }
    out = *a;
    return true;
  }

  bool ipv4(const Table& t, std::string_view k, Presence p, Ipv4& out) {
    std::string text;
    if (!string(t, k, p, text)) {
      return false;
    }
    if (t.entries->get(k) == nullptr) {
      return true;
    }
    return ipv4_value(text, t.key(k), out);
  }

  // A host's IPv6 address: not multicast, not ::, and not IPv4-mapped,
  // which net_types.h uses for IPv4 itself (IpAddress) and which never
  // appears on an IPv6 wire (RFC 4291 §2.5.5.2).
  bool ipv6_value(std::string_view text, const std::string& key, Ipv6& out) {
    const std::optional<Ipv6> a = parse_ipv6(text);
    if (!a) {
      return fail(key, "expected an IPv6 address like \"2001:db8::1\", got " + quoted(text));
    }
    if (is_multicast(*a) || is_unspecified(*a)) {
      return fail(key, to_string(*a) + " is not a unicast address");
    }
    if (IpAddress::from(*a).is_v4()) {
      return fail(key, to_string(*a) + " is IPv4-mapped (::ffff:0:0/96): write " +
                           to_string(IpAddress::from(*a).v4()) + " for IPv4");
    }
    out = *a;
    return true;
  }

  // An optional IPv6 key where "" means unset, like gateway.
  bool optional_ipv6(const Table& t, std::string_view k, std::optional<Ipv6>& out) {
    std::string text;
    if (!string(t, k, Presence::optional, text)) {
      return false;
    }
    out.reset();
    if (text.empty()) {
      return true;
    }
    Ipv6 a;
    if (!ipv6_value(text, t.key(k), a)) {
      return false;
    }
    out = a;
    return true;
  }

  // Either family: IPv6 text has a ':', IPv4 text never does, so each is
  // reported against its own syntax.
  bool ip_value(std::string_view text, const std::string& key, IpAddress& out) {
    if (text.find(':') != std::string_view::npos) {
      Ipv6 a;
      if (!ipv6_value(text, key, a)) {
        return false;
      }
      out = IpAddress::from(a);
      return true;
    }
    Ipv4 a;
    if (!ipv4_value(text, key, a)) {
      return false;
    }
    out = IpAddress::from(a);
    return true;
  }

  bool dataplane(const Table& root, Config& c) {
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

  bool workers(const Table& t, std::vector<unsigned>& out) {
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

  bool port(const Table& root, std::string_view name, PortConfig& c) {
    Table t;
    if (!sub_table(root, name, t)) {
      return false;
    }
    if (name == "inside") {
      if (!known_keys(t,
                      {"port", "address", "prefix_length", "gateway", "address6", "prefix_length6",
                       "gateway6", "vlan", "source_ports", "source_addresses"})) {
        return false;
      }
    } else if (!known_keys(t, {"port", "address", "prefix_length", "gateway", "address6",
                               "prefix_length6", "gateway6", "vlan"})) {
      return false;
    }
    // 0xffff is DPDK's RTE_MAX_ETHPORTS-independent "no port"; whether the
    // id exists is the dataplane's to check once EAL has probed.
    std::string gateway;
    if (!integer(t, "port", Presence::required, 0, 0xfffe, c.port_id) ||
        !ipv4(t, "address", Presence::required, c.address) ||
        !integer(t, "prefix_length", Presence::optional, 0, 32, c.prefix_length) ||
        !string(t, "gateway", Presence::optional, gateway)) {
      return false;
    }
    // "" is the documented way to say "no gateway".
    c.gateway.reset();
    if (!gateway.empty()) {
      Ipv4 g;
      if (!ipv4_value(gateway, t.key("gateway"), g)) {
        return false;
      }
      if (g == c.address) {
        return fail(t.key("gateway"), to_string(g) + " is " + t.key("address") + " itself");
      }
      if (!on_link(g, c)) {
        return fail(t.key("gateway"),
                    to_string(g) + " is not on " + std::string(name) + "'s subnet " + subnet(c));
      }
      c.gateway = g;
    }
    return port6(t, name, c) && integer(t, "vlan", Presence::optional, 0, kMaxVlan, c.vlan);
  }

  // address6, prefix_length6, gateway6. prefix_length6 alone is accepted
  // (and range-checked) so that address6 can be commented out by itself.
  bool port6(const Table& t, std::string_view name, PortConfig& c) {
    if (!optional_ipv6(t, "address6", c.address6) ||
        !integer(t, "prefix_length6", Presence::optional, 1, 128, c.prefix_length6) ||
        !optional_ipv6(t, "gateway6", c.gateway6)) {
      return false;
    }
    if (!c.gateway6) {
      return true;
    }
    const Ipv6& g = *c.gateway6;
    if (!c.address6) {
      return fail(t.key("gateway6"), "needs " + t.key("address6"));
    }
    if (g == *c.address6) {
      return fail(t.key("gateway6"), to_string(g) + " is " + t.key("address6") + " itself");
    }
    // Routers are commonly known by their link-local address (RFC 4861
    // §4.2: Router Advertisements come from one).
    if (!on_link6(g, c) && !is_link_local(g)) {
      return fail(t.key("gateway6"), to_string(g) + " is neither on " + std::string(name) +
                                         "'s prefix " + subnet6(c) + " nor link-local (fe80::/10)");
    }
    return true;
  }

  // [inside] source_addresses: 1..kMaxSourceAddresses distinct addresses,
  // each IPv4 on the inside subnet or IPv6 on the inside prefix (the
  // gateway answers ARP and neighbour solicitations for them).
  bool source_addresses(const Table& t, InsideConfig& c) {
    c.source_addresses = {IpAddress::from(c.address)};
    if (c.address6) {
      c.source_addresses.push_back(IpAddress::from(*c.address6));
    }
    const toml::node* n = t.entries->get("source_addresses");
    if (n == nullptr) {
      return true;
    }
    const std::string key = t.key("source_addresses");
    const toml::array* a = n->as_array();
    if (a == nullptr) {
      return fail(key, "expected an array of IP addresses, got " + type_name(*n));
    }
    if (a->empty() || a->size() > kMaxSourceAddresses) {
      return fail(key, "needs 1 to " + std::to_string(kMaxSourceAddresses) +
                           " addresses, got " + std::to_string(a->size()));
    }
    c.source_addresses.clear();
    for (size_t i = 0; i < a->size(); ++i) {
      const std::string element = key + "[" + std::to_string(i) + "]";
      const toml::value<std::string>* v = (*a)[i].as_string();
      if (v == nullptr) {
        return fail(element, "expected a string, got " + type_name((*a)[i]));
      }
      IpAddress address;
      if (!ip_value(v->get(), element, address)) {
        return false;
      }
      if (address.is_v4() && !on_link(address.v4(), c)) {
        return fail(element, to_string(address) + " is not on inside's subnet " + subnet(c));
      }
      if (!address.is_v4() && !c.address6) {
        return fail(element, to_string(address) + " is IPv6 and inside.address6 is not set");
      }
      if (!address.is_v4() && !on_link6(address.v6(), c)) {
        return fail(element, to_string(address) + " is not on inside's prefix " + subnet6(c));
      }
      if (std::find(c.source_addresses.begin(), c.source_addresses.end(), address) !=
          c.source_addresses.end()) {
        return fail(element, to_string(address) + " is listed twice");
      }
      c.source_addresses.push_back(address);
    }
    return true;
  }

  bool inside(const Table& root, Config& c) {
    if (!port(root, "inside", c.inside)) {
      return false;
    }
    if (c.inside.port_id == c.outside.port_id) {
      return fail("inside.port", "must differ from outside.port (both are " +
                                     std::to_string(c.inside.port_id) + ")");
    }
    Table t;
    std::string text;
    if (!sub_table(root, "inside", t) || !source_addresses(t, c.inside) ||
        !string(t, "source_ports", Presence::optional, text)) {
      return false;
    }
    if (t.entries->get("source_ports") == nullptr) {
      return true;
    }
    const size_t dash = text.find('-');
    const std::optional<uint16_t> first =
        dash == std::string::npos ? std::nullopt : parse_port(text.substr(0, dash));
    const std::optional<uint16_t> last =
        dash == std::string::npos ? std::nullopt : parse_port(text.substr(dash + 1));
    if (!first || !last) {
      return fail("inside.source_ports",
                  "expected a port range like \"20000-59999\", got " + quoted(text));
    }
    if (*first < kMinSourcePort || *first > *last) {
      return fail("inside.source_ports", "must be first-last with " +
                                             std::to_string(kMinSourcePort) +
                                             " <= first <= last, got " + quoted(text));
    }
    c.inside.source_port_first = *first;
    c.inside.source_port_last = *last;
    return true;
  }

  // ---- backend identity, rate limits ----
  // A rate "N/s" (datagrams per second, kMaxRate at most; "" means no
  // limit) and its bucket depth (0 or absent: one second's worth).
  bool rate(const Table& t, std::string_view rate_key, std::string_view burst_key,
            uint32_t& rate_out, uint32_t& burst_out) {
    std::string text;
    if (!string(t, rate_key, Presence::optional, text) ||
        !integer(t, burst_key, Presence::optional, 0, kMaxRate, burst_out)) {
      return false;
    }
    if (text.empty()) {
      if (burst_out != 0) {
        return fail(t.key(burst_key), "needs " + t.key(rate_key));
      }
      rate_out = 0;
      return true;
    }
    constexpr std::string_view kPerSecond = "/s";
    const bool suffix = text.size() > kPerSecond.size() &&
                        std::string_view(text).substr(text.size() - kPerSecond.size()) ==
                            kPerSecond;
    const std::string_view digits =
        suffix ? std::string_view(text).substr(0, text.size() - kPerSecond.size()) : "";
    uint64_t n = 0;
    bool ok = suffix && !digits.empty() && digits.size() <= 10;
    for (char ch : digits) {
      ok = ok && ch >= '0' && ch <= '9';
      n = n * 10 + static_cast<uint64_t>(ch - '0');
    }
    if (!ok) {
      return fail(t.key(rate_key), "expected a rate like \"1000/s\", got " + quoted(text));
    }
    if (n < 1 || n > kMaxRate) {
      return fail(t.key(rate_key), "must be in 1/s.." + std::to_string(kMaxRate) + "/s, got " +
                                       quoted(text));
    }
    rate_out = static_cast<uint32_t>(n);
    if (burst_out == 0) {
      burst_out = rate_out;
    }
    return true;
  }

  bool listeners(const Table& root, Config& c) {
    std::vector<Table> entries;
    if (!table_array(root, "listener", 1, kMaxListeners, entries)) {
      return false;
    }
    c.listeners.clear();
    for (const Table& t : entries) {
      ListenerConfig l;
      std::string backend;
      if (!known_keys(t, {"port", "backend", "proxy_protocol", "session_rate", "session_burst",
                          "listener_rate", "listener_burst"}) ||
          !integer(t, "port", Presence::required, 1, 65535, l.port) ||
          !string(t, "backend", Presence::required, backend) ||
          !boolean(t, "proxy_protocol", l.proxy_protocol) ||
          !rate(t, "session_rate", "session_burst", l.session_rate, l.session_burst) ||
          !rate(t, "listener_rate", "listener_burst", l.listener_rate, l.listener_burst)) {
        return false;
      }
      for (size_t i = 0; i < c.listeners.size(); ++i) {
        if (c.listeners[i].port == l.port) {
          return fail(t.key("port"), std::to_string(l.port) + " is already listener[" +
                                         std::to_string(i) + "].port");
        }
      }
      if (!backend_value(t, c.inside, backend, l)) {
        return false;
      }
      c.listeners.push_back(l);
    }
    return true;
  }

  // "a.b.c.d:port" or "[IPv6]:port" (RFC 3986 §3.2.2's brackets, without
  // which the port could not be told from the last group), reachable from
  // the inside port, with a source address of its family to reach it from.
  bool backend_value(const Table& t, const InsideConfig& in, const std::string& text,
                     ListenerConfig& l) {
    const std::string key = t.key("backend");
    const bool bracketed = !text.empty() && text[0] == '[';
    std::string host;
    std::optional<uint16_t> port;
    const size_t colon = bracketed ? text.find("]:") : text.rfind(':');
    if (colon != std::string::npos) {
      host = bracketed ? text.substr(1, colon - 1) : text.substr(0, colon);
      port = parse_port(text.substr(colon + (bracketed ? 2 : 1)));
    }
    if (!port || (!bracketed && host.find(':') != std::string::npos)) {
      return fail(key,
                  "expected IPv4:port like \"10.0.0.2:7\" or [IPv6]:port like "
                  "\"[2001:db8::2]:7\", got " +
                      quoted(text));
    }
    l.backend_port = *port;
    if (!bracketed) {
      Ipv4 a;
      if (!ipv4_value(host, key, a)) {
        return false;
      }
      l.backend_address = IpAddress::from(a);
      if (a == in.address) {
        return fail(key, to_string(a) + " is inside.address itself");
      }
      if (!on_link(a, in) && !in.gateway) {
        return fail(key, to_string(a) + " is off inside's subnet " + subnet(in) +
                             " and inside.gateway is not set");
      }
    } else {
      Ipv6 a;
      if (!ipv6_value(host, key, a)) {
        return false;
      }
      l.backend_address = IpAddress::from(a);
      if (!in.address6) {
        return fail(key, to_string(a) + " is IPv6 and inside.address6 is not set");
      }
      if (a == *in.address6) {
        return fail(key, to_string(a) + " is inside.address6 itself");
      }
      if (!on_link6(a, in) && !is_link_local(a) && !in.gateway6) {
        return fail(key, to_string(a) + " is off inside's prefix " + subnet6(in) +
                             " and inside.gateway6 is not set");
      }
    }
    // Sessions to this backend take their source among inside addresses
    // of its family (config.h, InsideConfig::source_addresses).
    const bool v4 = l.backend_address.is_v4();
    if (std::none_of(in.source_addresses.begin(), in.source_addresses.end(),
                     [v4](const IpAddress& s) { return s.is_v4() == v4; })) {
      return fail(key, to_string(l.backend_address) + " is " + family(l.backend_address) +
                           " and inside.source_addresses has no " + family(l.backend_address) +
                           " address");
    }
    return true;
  }

  bool neighbors(const Table& root, Config& c) {
    std::vector<Table> entries;
    if (!table_array(root, "neighbor", 0, std::numeric_limits<size_t>::max(), entries)) {
      return false;
    }
    c.neighbors.clear();
    for (const Table& t : entries) {
      NeighborConfig nb;
      std::string address;
      std::string mac;
      if (!known_keys(t, {"address", "mac"}) ||
          !string(t, "address", Presence::required, address) ||
          !ip_value(address, t.key("address"), nb.address) ||
          !string(t, "mac", Presence::required, mac)) {
        return false;
      }
      // A static neighbor stands in for ARP, which only reaches the
      // subnets the ports are on.
      if (nb.address.is_v4() && !on_link(nb.address.v4(), c.outside) &&
          !on_link(nb.address.v4(), c.inside)) {
        return fail(t.key("address"), to_string(nb.address) + " is on neither outside's subnet " +
                                          subnet(c.outside) + " nor inside's " + subnet(c.inside));
      }
      // Or for neighbour discovery (RFC 4861), which the data path does
      // for inside next hops only: on-prefix ones and link-local routers.
      if (!nb.address.is_v4() && !c.inside.address6) {
        return fail(t.key("address"),
                    to_string(nb.address) + " is IPv6 and inside.address6 is not set");
      }
      if (!nb.address.is_v4() && !on_link6(nb.address.v6(), c.inside) &&
          !is_link_local(nb.address.v6())) {
        return fail(t.key("address"), to_string(nb.address) + " is neither on inside's prefix " +
                                          subnet6(c.inside) + " nor link-local (fe80::/10)");
      }
      for (size_t i = 0; i < c.neighbors.size(); ++i) {
        if (c.neighbors[i].address == nb.address) {
          return fail(t.key("address"), to_string(nb.address) + " is already neighbor[" +
                                            std::to_string(i) + "].address");
        }
      }
      const std::optional<MacAddress> m = parse_mac(mac);
      if (!m) {
        return fail(t.key("mac"),
                    "expected a MAC address like \"02:00:00:00:00:02\", got " + quoted(mac));
      }
      // The I/G bit: a group address is nobody's next hop.
      if ((m->bytes[0] & 1) != 0 || *m == MacAddress{}) {
        return fail(t.key("mac"), to_string(*m) + " is not a unicast MAC address");
      }
      nb.mac = *m;
      c.neighbors.push_back(nb);
    }
    return true;
  }

  bool handshake(const Table& root, HandshakeConfig& c) {
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

  bool cipher_suites(const Table& t, std::vector<std::string>& out) {
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

  bool certificates(const Table& t, std::vector<handshake::CertificateFiles>& out) {
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

  std::string_view source_;
  std::string& error_;
  const toml::table empty_;
};

}  // namespace

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
