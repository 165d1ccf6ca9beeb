// The configuration's network sections (config_parser.h): addresses of
// both families, [outside] and [inside] with their VLAN and the inside
// source pool, [[listener]] with its backend and rate limits, and
// [[neighbor]]. Every address is checked against the port it is reached
// through, so a configuration that cannot route is refused here, not
// discovered by the data path.
#include <toml++/toml.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "dataplane/config.h"
#include "dataplane/config_parser.h"

namespace dtlsgw::dataplane::config_internal {

namespace {

constexpr size_t kMaxListeners = 256;
// Below 1024 are the ports other hosts expect services on; the inside
// source ports must not look like one to a backend's firewall.
constexpr int64_t kMinSourcePort = 1024;
// Listener rate limits toward backends (datagrams/s, and bucket depths).
constexpr int64_t kMaxRate = 100'000'000;
// 802.1Q: VID 4095 is reserved and VID 0 names no VLAN (a priority tag),
// so 0 is free to mean "untagged" here.
constexpr int64_t kMaxVlan = 4094;

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

}  // namespace

bool Parser::ipv4_value(std::string_view text, const std::string& key, Ipv4& out) {
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

bool Parser::ipv4(const Table& t, std::string_view k, Presence p, Ipv4& out) {
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
bool Parser::ipv6_value(std::string_view text, const std::string& key, Ipv6& out) {
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
bool Parser::optional_ipv6(const Table& t, std::string_view k, std::optional<Ipv6>& out) {
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
bool Parser::ip_value(std::string_view text, const std::string& key, IpAddress& out) {
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

bool Parser::port(const Table& root, std::string_view name, PortConfig& c) {
  Table t;
  if (!sub_table(root, name, t)) {
    return false;
  }
  if (name == "inside") {
    if (!known_keys(t, {"port", "address", "prefix_length", "gateway", "address6", "prefix_length6",
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
bool Parser::port6(const Table& t, std::string_view name, PortConfig& c) {
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
bool Parser::source_addresses(const Table& t, InsideConfig& c) {
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
    return fail(key, "needs 1 to " + std::to_string(kMaxSourceAddresses) + " addresses, got " +
                         std::to_string(a->size()));
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

bool Parser::inside(const Table& root, Config& c) {
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
    return fail("inside.source_ports", "must be first-last with " + std::to_string(kMinSourcePort) +
                                           " <= first <= last, got " + quoted(text));
  }
  c.inside.source_port_first = *first;
  c.inside.source_port_last = *last;
  return true;
}

// ---- backend identity, rate limits ----
// A rate "N/s" (datagrams per second, kMaxRate at most; "" means no
// limit) and its bucket depth (0 or absent: one second's worth).
bool Parser::rate(const Table& t, std::string_view rate_key, std::string_view burst_key,
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
                      std::string_view(text).substr(text.size() - kPerSecond.size()) == kPerSecond;
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
    return fail(t.key(rate_key),
                "must be in 1/s.." + std::to_string(kMaxRate) + "/s, got " + quoted(text));
  }
  rate_out = static_cast<uint32_t>(n);
  if (burst_out == 0) {
    burst_out = rate_out;
  }
  return true;
}

bool Parser::listeners(const Table& root, Config& c) {
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
bool Parser::backend_value(const Table& t, const InsideConfig& in, const std::string& text,
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

bool Parser::neighbors(const Table& root, Config& c) {
  std::vector<Table> entries;
  if (!table_array(root, "neighbor", 0, std::numeric_limits<size_t>::max(), entries)) {
    return false;
  }
  c.neighbors.clear();
  for (const Table& t : entries) {
    NeighborConfig nb;
    std::string address;
    std::string mac;
    if (!known_keys(t, {"address", "mac"}) || !string(t, "address", Presence::required, address) ||
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

}  // namespace dtlsgw::dataplane::config_internal
