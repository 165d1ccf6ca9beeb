// The configuration parser (internal to the dataplane library), one class
// over two files: config.cc holds the TOML reader (tables, keys, typed
// values, durations, the one-line error), the file's top level,
// [dataplane] and [handshake]; config_network.cc the addresses and what is
// made of them: [outside] and [inside] (IPv4, IPv6, VLAN, the source
// pool), [[listener]] and [[neighbor]]. One class because every section
// reads through the same typed accessors and reports through the same
// error.
#pragma once

#include <toml++/toml.h>

#include <cassert>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/config.h"

namespace dtlsgw::dataplane::config_internal {

// config.cc: what error messages are made of.
std::string printable(std::string_view text, bool in_quotes = false);
std::string quoted(std::string_view text);
std::string type_name(const toml::node& n);

using std::chrono::milliseconds;

enum class Presence : bool { optional, required };

class Parser {
 public:
  Parser(std::string_view source, std::string& error) : source_(source), error_(error) {}

  bool parse(const toml::table& root_entries, Config& c);

 private:
  // A table of the file and the dotted path that names it in errors.
  struct Table {
    const toml::table* entries;
    std::string path;  // empty for the root

    std::string key(std::string_view k) const {
      return path.empty() ? printable(k) : path + "." + printable(k);
    }
  };

  // ---- the reader (config.cc) ----
  bool fail(std::string_view key, std::string_view problem);
  bool known_keys(const Table& t, std::initializer_list<std::string_view> known);
  bool find(const Table& t, std::string_view k, Presence p, const toml::node*& n);
  bool sub_table(const Table& parent, std::string_view k, Table& out);
  bool table_array(const Table& parent, std::string_view k, size_t min, size_t max,
                   std::vector<Table>& out);
  bool integer_value(const toml::node& n, const std::string& key, int64_t lo, int64_t hi,
                     int64_t& out);

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

  bool boolean(const Table& t, std::string_view k, bool& out);
  bool string_value(const toml::node& n, const std::string& key, std::string& out);
  bool string(const Table& t, std::string_view k, Presence p, std::string& out);
  bool duration(const Table& t, std::string_view k, milliseconds lo, milliseconds hi,
                bool zero_disables, milliseconds& out);

  // ---- addresses (config_network.cc) ----
  bool ipv4_value(std::string_view text, const std::string& key, Ipv4& out);
  bool ipv4(const Table& t, std::string_view k, Presence p, Ipv4& out);
  bool ipv6_value(std::string_view text, const std::string& key, Ipv6& out);
  bool optional_ipv6(const Table& t, std::string_view k, std::optional<Ipv6>& out);
  bool ip_value(std::string_view text, const std::string& key, IpAddress& out);

  // ---- the sections: [dataplane] (config.cc) ----
  bool dataplane(const Table& root, Config& c);
  bool workers(const Table& t, std::vector<unsigned>& out);

  // ---- [outside], [inside], [[listener]], [[neighbor]] (config_network.cc) ----
  bool port(const Table& root, std::string_view name, PortConfig& c);
  bool port6(const Table& t, std::string_view name, PortConfig& c);
  bool source_addresses(const Table& t, InsideConfig& c);
  bool inside(const Table& root, Config& c);
  bool rate(const Table& t, std::string_view rate_key, std::string_view burst_key,
            uint32_t& rate_out, uint32_t& burst_out);
  bool listeners(const Table& root, Config& c);
  bool backend_value(const Table& t, const InsideConfig& in, const std::string& text,
                     ListenerConfig& l);
  bool neighbors(const Table& root, Config& c);

  // ---- [handshake] (config.cc) ----
  bool handshake(const Table& root, HandshakeConfig& c);
  bool cipher_suites(const Table& t, std::vector<std::string>& out);
  bool certificates(const Table& t, std::vector<handshake::CertificateFiles>& out);

  std::string_view source_;
  std::string& error_;
  const toml::table empty_;
};

}  // namespace dtlsgw::dataplane::config_internal
