// The configuration file parser against the specification in config.h:
// the documented example, defaults, and one rejection per rule, each
// checked for the exact one-line error that names the key.
#include "dataplane/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>

#include "handshake/cipher_suites.h"

namespace dtlsgw::dataplane {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// config.h's example with its comments taken out: every key, each at its
// default where it has one.
constexpr std::string_view kExample = R"([dataplane]
workers = [1]
replay_window = 128
max_sessions = 65536
idle_timeout = "300s"
mbufs = 16384
punt_rate = 2000
punt_burst = 256
final_flight_interval = "1s"
summary_interval = "5s"
static_keys = ""
fragment_datagrams = 1024
fragment_buffers = 2048
fragment_timeout = "2s"
path_mtu_timeout = "600s"

[outside]
port = 0
address = "192.0.2.1"
prefix_length = 24
gateway = ""
address6 = ""
prefix_length6 = 64
gateway6 = ""
vlan = 0

[inside]
port = 1
address = "10.0.0.1"
prefix_length = 24
gateway = ""
address6 = ""
prefix_length6 = 64
gateway6 = ""
vlan = 0
source_ports = "20000-59999"

[[listener]]
port = 4433
backend = "10.0.0.2:7"

[[neighbor]]
address = "10.0.0.2"
mac = "02:00:00:00:00:02"

[handshake]
cipher_suites = []
certificates = [{ chain = "cert.pem", key = "key.pem" }]
psk_file = ""
client_ca_file = ""
require_client_certificate = true
mtu = 1200
initial_timeout = "1s"
max_handshakes = 10000
session_tickets = true
session_cache = true
cookie_rotation = "60s"
)";

// Only the required keys.
constexpr std::string_view kMinimal = R"([dataplane]
workers = [1]

[outside]
port = 0
address = "192.0.2.1"

[inside]
port = 1
address = "10.0.0.1"

[[listener]]
port = 4433
backend = "10.0.0.2:7"
)";

Ipv4 ip(std::string_view text) {
  const std::optional<Ipv4> a = parse_ipv4(text);
  EXPECT_TRUE(a) << text;
  return a.value_or(Ipv4{});
}

Ipv6 ip6(std::string_view text) {
  const std::optional<Ipv6> a = parse_ipv6(text);
  EXPECT_TRUE(a) << text;
  return a.value_or(Ipv6{});
}

// Either family, as IpAddress holds it (IPv4 mapped).
IpAddress ipa(std::string_view text) {
  const std::optional<IpAddress> a = parse_ip_address(text);
  EXPECT_TRUE(a) << text;
  return a.value_or(IpAddress{});
}

// `base` with the first occurrence of `from` replaced by `to`.
std::string edit(std::string_view base, std::string_view from, std::string_view to) {
  std::string text(base);
  const size_t at = text.find(from);
  if (at == std::string::npos) {
    ADD_FAILURE() << "not in the base text: " << from;
    return text;
  }
  text.replace(at, from.size(), to);
  return text;
}

std::optional<Config> parse(std::string_view text, std::string& error) {
  return parse_config(text, "test.toml", error);
}

// The error `text` is rejected with ("" if it is accepted).
std::string rejection(std::string_view text) {
  std::string error;
  if (parse(text, error)) {
    return "";
  }
  EXPECT_EQ(error.find('\n'), std::string::npos) << "not one line: " << error;
  return error;
}

TEST(Config, ExampleParsesToItsValues) {
  std::string error;
  const std::optional<Config> c = parse(kExample, error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->workers, std::vector<unsigned>{1});
  EXPECT_EQ(c->replay_window, 128u);
  EXPECT_EQ(c->max_sessions, 65536u);
  EXPECT_EQ(c->idle_timeout, seconds(300));
  EXPECT_EQ(c->mbufs, 16384u);
  EXPECT_EQ(c->punt_rate, 2000u);
  EXPECT_EQ(c->punt_burst, 256u);
  EXPECT_EQ(c->final_flight_interval, seconds(1));
  EXPECT_EQ(c->summary_interval, seconds(5));
  EXPECT_EQ(c->static_keys, "");
  EXPECT_FALSE(c->relaxed_replay);
  EXPECT_EQ(c->fragment_datagrams, 1024u);
  EXPECT_EQ(c->fragment_buffers, 2048u);
  EXPECT_EQ(c->fragment_timeout, seconds(2));
  EXPECT_EQ(c->path_mtu_timeout, seconds(600));

  EXPECT_EQ(c->outside.port_id, 0);
  EXPECT_EQ(c->outside.address, ip("192.0.2.1"));
  EXPECT_EQ(c->outside.prefix_length, 24);
  EXPECT_FALSE(c->outside.gateway);
  EXPECT_FALSE(c->outside.address6);
  EXPECT_EQ(c->outside.prefix_length6, 64);
  EXPECT_FALSE(c->outside.gateway6);
  EXPECT_EQ(c->outside.vlan, 0);
  EXPECT_EQ(c->inside.port_id, 1);
  EXPECT_EQ(c->inside.address, ip("10.0.0.1"));
  EXPECT_EQ(c->inside.prefix_length, 24);
  EXPECT_FALSE(c->inside.gateway);
  EXPECT_FALSE(c->inside.address6);
  EXPECT_EQ(c->inside.prefix_length6, 64);
  EXPECT_FALSE(c->inside.gateway6);
  EXPECT_EQ(c->inside.vlan, 0);
  EXPECT_EQ(c->inside.source_port_first, 20000);
  EXPECT_EQ(c->inside.source_port_last, 59999);
  EXPECT_EQ(c->inside.source_addresses, std::vector<IpAddress>{ipa("10.0.0.1")});

  ASSERT_EQ(c->listeners.size(), 1u);
  EXPECT_EQ(c->listeners[0].port, 4433);
  EXPECT_EQ(c->listeners[0].backend_address, ipa("10.0.0.2"));
  EXPECT_EQ(c->listeners[0].backend_port, 7);

  ASSERT_EQ(c->neighbors.size(), 1u);
  EXPECT_EQ(c->neighbors[0].address, ipa("10.0.0.2"));
  EXPECT_EQ(c->neighbors[0].mac, (MacAddress{{0x02, 0, 0, 0, 0, 0x02}}));

  const handshake::ServerConfig& s = c->handshake.server;
  EXPECT_TRUE(s.cipher_suites.empty());
  ASSERT_EQ(s.certificates.size(), 1u);
  EXPECT_EQ(s.certificates[0].chain_file, "cert.pem");
  EXPECT_EQ(s.certificates[0].key_file, "key.pem");
  EXPECT_EQ(s.psk_file, "");
  EXPECT_EQ(s.client_ca_file, "");
  EXPECT_TRUE(s.require_client_certificate);
  EXPECT_TRUE(s.session_tickets);
  EXPECT_TRUE(s.session_cache);
  EXPECT_EQ(c->handshake.mtu, 1200);
  EXPECT_EQ(c->handshake.initial_timeout, seconds(1));
  EXPECT_EQ(c->handshake.max_handshakes, 10000u);
  EXPECT_EQ(c->handshake.cookie_rotation, seconds(60));
}

// Every optional key left out takes the default the example shows.
TEST(Config, DefaultsMatchTheExample) {
  std::string error;
  const std::optional<Config> minimal = parse(kMinimal, error);
  ASSERT_TRUE(minimal) << error;
  const std::optional<Config> example = parse(kExample, error);
  ASSERT_TRUE(example) << error;
  const Config& m = *minimal;
  const Config& e = *example;
  EXPECT_EQ(m.replay_window, e.replay_window);
  EXPECT_EQ(m.max_sessions, e.max_sessions);
  EXPECT_EQ(m.idle_timeout, e.idle_timeout);
  EXPECT_EQ(m.mbufs, e.mbufs);
  EXPECT_EQ(m.punt_rate, e.punt_rate);
  EXPECT_EQ(m.punt_burst, e.punt_burst);
  EXPECT_EQ(m.final_flight_interval, e.final_flight_interval);
  EXPECT_EQ(m.summary_interval, e.summary_interval);
  EXPECT_EQ(m.static_keys, e.static_keys);
  EXPECT_EQ(m.fragment_datagrams, e.fragment_datagrams);
  EXPECT_EQ(m.fragment_buffers, e.fragment_buffers);
  EXPECT_EQ(m.fragment_timeout, e.fragment_timeout);
  EXPECT_EQ(m.path_mtu_timeout, e.path_mtu_timeout);
  EXPECT_EQ(m.outside.prefix_length, e.outside.prefix_length);
  EXPECT_FALSE(m.outside.gateway);
  EXPECT_FALSE(m.outside.address6);
  EXPECT_EQ(m.outside.prefix_length6, e.outside.prefix_length6);
  EXPECT_FALSE(m.outside.gateway6);
  EXPECT_EQ(m.outside.vlan, e.outside.vlan);
  EXPECT_EQ(m.inside.prefix_length, e.inside.prefix_length);
  EXPECT_FALSE(m.inside.gateway);
  EXPECT_FALSE(m.inside.address6);
  EXPECT_EQ(m.inside.prefix_length6, e.inside.prefix_length6);
  EXPECT_FALSE(m.inside.gateway6);
  EXPECT_EQ(m.inside.vlan, e.inside.vlan);
  EXPECT_EQ(m.inside.source_addresses, e.inside.source_addresses);
  EXPECT_EQ(m.inside.source_port_first, e.inside.source_port_first);
  EXPECT_EQ(m.inside.source_port_last, e.inside.source_port_last);
  EXPECT_TRUE(m.neighbors.empty());
  EXPECT_TRUE(m.handshake.server.certificates.empty());
  EXPECT_EQ(m.handshake.server.require_client_certificate,
            e.handshake.server.require_client_certificate);
  EXPECT_EQ(m.handshake.server.session_tickets, e.handshake.server.session_tickets);
  EXPECT_EQ(m.handshake.server.session_cache, e.handshake.server.session_cache);
  EXPECT_EQ(m.handshake.mtu, e.handshake.mtu);
  EXPECT_EQ(m.handshake.initial_timeout, e.handshake.initial_timeout);
  EXPECT_EQ(m.handshake.max_handshakes, e.handshake.max_handshakes);
  EXPECT_EQ(m.handshake.cookie_rotation, e.handshake.cookie_rotation);
  // Keys the file does not set keep ServerConfig's own defaults.
  const handshake::ServerConfig defaults;
  EXPECT_EQ(m.handshake.server.client_verify_depth, defaults.client_verify_depth);
  EXPECT_EQ(m.handshake.server.session_cache_size, defaults.session_cache_size);
  EXPECT_EQ(m.handshake.server.session_lifetime, defaults.session_lifetime);
}

// Every key set away from its default lands in its own field.
TEST(Config, EveryKeyMapsToItsField) {
  constexpr std::string_view kText = R"(
[dataplane]
workers = [3, 1, 2]
replay_window = 1024
max_sessions = 1000
idle_timeout = "5m"
mbufs = 4096
punt_rate = 500
punt_burst = 32
final_flight_interval = "250ms"
summary_interval = "0s"
static_keys = "/etc/dtlsgw/keys.txt"
relaxed_replay = true

[outside]
port = 2
address = "198.51.100.7"
prefix_length = 28
gateway = "198.51.100.1"

[inside]
port = 3
address = "10.1.2.3"
prefix_length = 16
gateway = "10.1.0.1"
source_ports = "1024-2047"
source_addresses = ["10.1.2.3", "10.1.7.7"]

[[listener]]
port = 5684
backend = "10.1.0.9:5683"

[[listener]]
port = 4433
backend = "172.16.0.5:7"

[[neighbor]]
address = "198.51.100.1"
mac = "0A:bC:de:F0:12:34"

[[neighbor]]
address = "10.1.0.1"
mac = "02:00:00:00:00:03"

[handshake]
cipher_suites = ["PSK-AES128-CCM8", "ECDHE-ECDSA-AES256-GCM-SHA384"]
certificates = [{ chain = "ec.pem", key = "ec.key" }, { key = "rsa.key", chain = "rsa.pem" }]
psk_file = "psk.txt"
client_ca_file = "ca.pem"
require_client_certificate = false
mtu = 1400
initial_timeout = "200ms"
max_handshakes = 50
session_tickets = false
session_cache = false
cookie_rotation = "2h"
)";
  std::string error;
  const std::optional<Config> c = parse(kText, error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->workers, (std::vector<unsigned>{3, 1, 2}));
  EXPECT_EQ(c->replay_window, 1024u);
  EXPECT_EQ(c->max_sessions, 1000u);
  EXPECT_EQ(c->idle_timeout, seconds(300));
  EXPECT_EQ(c->mbufs, 4096u);
  EXPECT_EQ(c->punt_rate, 500u);
  EXPECT_EQ(c->punt_burst, 32u);
  EXPECT_EQ(c->final_flight_interval, milliseconds(250));
  EXPECT_EQ(c->summary_interval, milliseconds(0));
  EXPECT_EQ(c->static_keys, "/etc/dtlsgw/keys.txt");
  EXPECT_TRUE(c->relaxed_replay);

  EXPECT_EQ(c->outside.port_id, 2);
  EXPECT_EQ(c->outside.address, ip("198.51.100.7"));
  EXPECT_EQ(c->outside.prefix_length, 28);
  EXPECT_EQ(c->outside.gateway, ip("198.51.100.1"));
  EXPECT_EQ(c->inside.port_id, 3);
  EXPECT_EQ(c->inside.address, ip("10.1.2.3"));
  EXPECT_EQ(c->inside.prefix_length, 16);
  EXPECT_EQ(c->inside.gateway, ip("10.1.0.1"));
  EXPECT_EQ(c->inside.source_port_first, 1024);
  EXPECT_EQ(c->inside.source_port_last, 2047);
  EXPECT_EQ(c->inside.source_addresses, (std::vector<IpAddress>{ipa("10.1.2.3"), ipa("10.1.7.7")}));

  ASSERT_EQ(c->listeners.size(), 2u);
  EXPECT_EQ(c->listeners[0].port, 5684);
  EXPECT_EQ(c->listeners[0].backend_address, ipa("10.1.0.9"));
  EXPECT_EQ(c->listeners[0].backend_port, 5683);
  EXPECT_EQ(c->listeners[1].port, 4433);
  // Off inside's subnet, reached through inside.gateway.
  EXPECT_EQ(c->listeners[1].backend_address, ipa("172.16.0.5"));
  EXPECT_EQ(c->listeners[1].backend_port, 7);

  ASSERT_EQ(c->neighbors.size(), 2u);
  EXPECT_EQ(c->neighbors[0].address, ipa("198.51.100.1"));
  EXPECT_EQ(c->neighbors[0].mac, (MacAddress{{0x0a, 0xbc, 0xde, 0xf0, 0x12, 0x34}}));
  EXPECT_EQ(c->neighbors[1].address, ipa("10.1.0.1"));

  const handshake::ServerConfig& s = c->handshake.server;
  EXPECT_EQ(s.cipher_suites,
            (std::vector<std::string>{"PSK-AES128-CCM8", "ECDHE-ECDSA-AES256-GCM-SHA384"}));
  ASSERT_EQ(s.certificates.size(), 2u);
  EXPECT_EQ(s.certificates[0].chain_file, "ec.pem");
  EXPECT_EQ(s.certificates[0].key_file, "ec.key");
  EXPECT_EQ(s.certificates[1].chain_file, "rsa.pem");
  EXPECT_EQ(s.certificates[1].key_file, "rsa.key");
  EXPECT_EQ(s.psk_file, "psk.txt");
  EXPECT_EQ(s.client_ca_file, "ca.pem");
  EXPECT_FALSE(s.require_client_certificate);
  EXPECT_FALSE(s.session_tickets);
  EXPECT_FALSE(s.session_cache);
  EXPECT_EQ(c->handshake.mtu, 1400);
  EXPECT_EQ(c->handshake.initial_timeout, milliseconds(200));
  EXPECT_EQ(c->handshake.max_handshakes, 50u);
  EXPECT_EQ(c->handshake.cookie_rotation, seconds(7200));
}

// [[handshake.certificates]] is the same array of tables written long-hand.
TEST(Config, CertificatesAsArrayOfTables) {
  const std::string text = std::string(kMinimal) + R"(
[[handshake.certificates]]
chain = "a.pem"
key = "a.key"
)";
  std::string error;
  const std::optional<Config> c = parse(text, error);
  ASSERT_TRUE(c) << error;
  ASSERT_EQ(c->handshake.server.certificates.size(), 1u);
  EXPECT_EQ(c->handshake.server.certificates[0].chain_file, "a.pem");
}

TEST(Config, AcceptsEveryServedCipherSuite) {
  std::string list;
  for (const handshake::CipherSuite& s : handshake::dtls12_aead_suites()) {
    list += (list.empty() ? "\"" : ", \"") + std::string(s.openssl_name) + "\"";
  }
  const std::string text = edit(kExample, "cipher_suites = []", "cipher_suites = [" + list + "]");
  std::string error;
  const std::optional<Config> c = parse(text, error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->handshake.server.cipher_suites.size(), handshake::dtls12_aead_suites().size());
}

// The ends of every range are inside it.
struct Accepted {
  const char* name;
  const char* from;
  const char* to;
  std::string_view base = kExample;
};

class ConfigAccepts : public testing::TestWithParam<Accepted> {};

TEST_P(ConfigAccepts, Edit) {
  std::string error;
  EXPECT_TRUE(parse(edit(GetParam().base, GetParam().from, GetParam().to), error)) << error;
}

INSTANTIATE_TEST_SUITE_P(
    Config, ConfigAccepts,
    testing::Values(
        Accepted{"Lcore0", "workers = [1]", "workers = [0]"},
        Accepted{"Lcore127", "workers = [1]", "workers = [127, 5]"},
        Accepted{"ReplayWindow64", "replay_window = 128", "replay_window = 64"},
        Accepted{"ReplayWindow4096", "replay_window = 128", "replay_window = 4096"},
        Accepted{"MaxSessions1", "max_sessions = 65536", "max_sessions = 1"},
        Accepted{"MaxSessions2Pow24", "max_sessions = 65536", "max_sessions = 16777216"},
        Accepted{"IdleTimeout1s", "idle_timeout = \"300s\"", "idle_timeout = \"1000ms\""},
        Accepted{"IdleTimeout1Day", "idle_timeout = \"300s\"", "idle_timeout = \"24h\""},
        Accepted{"Mbufs1024", "mbufs = 16384", "mbufs = 1024"},
        Accepted{"SummaryOff", "summary_interval = \"5s\"", "summary_interval = \"0ms\""},
        Accepted{"Prefix32", "prefix_length = 24\ngateway = \"\"",
                 "prefix_length = 32\ngateway = \"\""},
        Accepted{"Prefix0", "prefix_length = 24\ngateway = \"\"",
                 "prefix_length = 0\ngateway = \"\""},
        Accepted{"SourcePorts1024", "\"20000-59999\"", "\"1024-1024\""},
        Accepted{"SourcePorts65535", "\"20000-59999\"", "\"65535-65535\""},
        Accepted{"ListenerPort65535", "port = 4433", "port = 65535"},
        Accepted{"BackendPort65535", "10.0.0.2:7", "10.0.0.2:65535"},
        Accepted{"MacUpperCase", "02:00:00:00:00:02", "02:AB:CD:EF:00:02"},
        Accepted{"Mtu252", "mtu = 1200", "mtu = 252"},
        Accepted{"Mtu9000", "mtu = 1200", "mtu = 9000"},
        Accepted{"InitialTimeout15ms", "initial_timeout = \"1s\"", "initial_timeout = \"15ms\""},
        Accepted{"InitialTimeout60s", "initial_timeout = \"1s\"", "initial_timeout = \"1m\""},
        Accepted{"NoCertificates", "certificates = [{ chain = \"cert.pem\", key = \"key.pem\" }]",
                 "certificates = []"},
        Accepted{"CookieRotationMs", "cookie_rotation = \"60s\"", "cookie_rotation = \"2000ms\""}),
    [](const testing::TestParamInfo<Accepted>& info) { return std::string(info.param.name); });

TEST(Config, TablesMayBeInline) {
  std::string error;
  const std::optional<Config> c = parse(
      edit(kMinimal, "[dataplane]\nworkers = [1]\n", "dataplane = { workers = [4] }\n"), error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->workers, std::vector<unsigned>{4});
}

// Every required key left out is named.
struct Missing {
  const char* name;
  const char* line;  // taken out of `base`
  const char* error;
  std::string_view base = kExample;
};

class ConfigRequires : public testing::TestWithParam<Missing> {};

TEST_P(ConfigRequires, Key) {
  EXPECT_EQ(rejection(edit(GetParam().base, GetParam().line, "")), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Config, ConfigRequires,
    testing::Values(
        Missing{"Workers", "workers = [1]\n", "test.toml: dataplane.workers: missing (required)"},
        Missing{"DataplaneTable", "[dataplane]\nworkers = [1]\n",
                "test.toml: dataplane.workers: missing (required)", kMinimal},
        Missing{"OutsidePort", "port = 0\n", "test.toml: outside.port: missing (required)"},
        Missing{"OutsideAddress", "address = \"192.0.2.1\"\n",
                "test.toml: outside.address: missing (required)"},
        Missing{"OutsideTable", "[outside]\nport = 0\naddress = \"192.0.2.1\"\n",
                "test.toml: outside.port: missing (required)", kMinimal},
        Missing{"InsidePort", "port = 1\n", "test.toml: inside.port: missing (required)"},
        Missing{"InsideAddress", "address = \"10.0.0.1\"\n",
                "test.toml: inside.address: missing (required)"},
        Missing{"ListenerPort", "port = 4433\n", "test.toml: listener[0].port: missing (required)"},
        Missing{"ListenerBackend", "backend = \"10.0.0.2:7\"\n",
                "test.toml: listener[0].backend: missing (required)"},
        Missing{"Listener", "[[listener]]\nport = 4433\nbackend = \"10.0.0.2:7\"\n",
                "test.toml: listener: missing (required)"},
        Missing{"NeighborAddress", "address = \"10.0.0.2\"\n",
                "test.toml: neighbor[0].address: missing (required)"},
        Missing{"NeighborMac", "mac = \"02:00:00:00:00:02\"\n",
                "test.toml: neighbor[0].mac: missing (required)"},
        Missing{"CertificateChain", "chain = \"cert.pem\", ",
                "test.toml: handshake.certificates[0].chain: missing (required)"},
        Missing{"CertificateKey", ", key = \"key.pem\"",
                "test.toml: handshake.certificates[0].key: missing (required)"}),
    [](const testing::TestParamInfo<Missing>& info) { return std::string(info.param.name); });

// One edit of kExample, and the exact error it must give.
struct Rejected {
  const char* name;
  const char* from;
  const char* to;
  const char* error;
  std::string_view base = kExample;
};

class ConfigRejects : public testing::TestWithParam<Rejected> {};

TEST_P(ConfigRejects, Edit) {
  EXPECT_EQ(rejection(edit(GetParam().base, GetParam().from, GetParam().to)), GetParam().error);
}

constexpr const char* kSecondListener = "backend = \"10.0.0.2:7\"\n";

INSTANTIATE_TEST_SUITE_P(
    UnknownKeys, ConfigRejects,
    testing::Values(
        Rejected{"TopLevel", "[dataplane]", "colour = 1\n[dataplane]",
                 "test.toml: colour: unknown key"},
        Rejected{"TopLevelTable", "[[neighbor]]", "[[neighbour]]",
                 "test.toml: neighbour: unknown key"},
        Rejected{"InDataplane", "mbufs = 16384", "mbuf = 16384",
                 "test.toml: dataplane.mbuf: unknown key"},
        Rejected{"OutsideSourcePorts", "prefix_length = 24\ngateway = \"\"",
                 "prefix_length = 24\ngateway = \"\"\nsource_ports = \"20000-59999\"",
                 "test.toml: outside.source_ports: unknown key"},
        Rejected{"InSecondListener", kSecondListener,
                 "backend = \"10.0.0.2:7\"\n[[listener]]\nport = 4434\nbakend = \"10.0.0.2:7\"\n",
                 "test.toml: listener[1].bakend: unknown key"},
        Rejected{"InNeighbor", "mac = ", "hwaddr = \"02:00:00:00:00:03\"\nmac = ",
                 "test.toml: neighbor[0].hwaddr: unknown key"},
        Rejected{"InHandshake", "mtu = 1200", "pmtu = 1200",
                 "test.toml: handshake.pmtu: unknown key"},
        Rejected{"InCertificate", "key = \"key.pem\"", "key = \"key.pem\", password = \"x\"",
                 "test.toml: handshake.certificates[0].password: unknown key"},
        // An unknown key is named even when it makes a required one missing.
        Rejected{"MisspeltRequired", "workers = [1]", "worker = [1]",
                 "test.toml: dataplane.worker: unknown key"},
        // Control characters in a key are escaped: the error stays one line.
        Rejected{"EscapedKey", "[dataplane]", "\"a\\nb\" = 1\n[dataplane]",
                 "test.toml: a\\x0ab: unknown key"}),
    [](const testing::TestParamInfo<Rejected>& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    WrongTypes, ConfigRejects,
    testing::Values(
        Rejected{"DataplaneNotTable", "[dataplane]\nworkers = [1]\n", "dataplane = 5\n",
                 "test.toml: dataplane: expected a table, got an integer", kMinimal},
        Rejected{"WorkersNotArray", "workers = [1]", "workers = 1",
                 "test.toml: dataplane.workers: expected an array of lcore ids, got an integer"},
        Rejected{"WorkerNotInteger", "workers = [1]", "workers = [1, \"2\"]",
                 "test.toml: dataplane.workers[1]: expected an integer, got a string"},
        Rejected{"ReplayWindowString", "replay_window = 128", "replay_window = \"128\"",
                 "test.toml: dataplane.replay_window: expected an integer, got a string"},
        Rejected{"MaxSessionsFloat", "max_sessions = 65536", "max_sessions = 65536.0",
                 "test.toml: dataplane.max_sessions: expected an integer, got a float"},
        Rejected{"IdleTimeoutInteger", "idle_timeout = \"300s\"", "idle_timeout = 300",
                 "test.toml: dataplane.idle_timeout: expected a string, got an integer"},
        Rejected{"StaticKeysBoolean", "static_keys = \"\"", "static_keys = false",
                 "test.toml: dataplane.static_keys: expected a string, got a boolean"},
        Rejected{"RelaxedReplayWithoutStaticKeys", "static_keys = \"\"",
                 "static_keys = \"\"\nrelaxed_replay = true",
                 "test.toml: dataplane.relaxed_replay: only with static_keys (benchmark builds)"},
        Rejected{"RelaxedReplayString", "static_keys = \"\"",
                 "static_keys = \"keys.txt\"\nrelaxed_replay = \"yes\"",
                 "test.toml: dataplane.relaxed_replay: expected a boolean, got a string"},
        Rejected{"PortString", "[outside]\nport = 0", "[outside]\nport = \"0\"",
                 "test.toml: outside.port: expected an integer, got a string"},
        Rejected{"AddressInteger", "address = \"192.0.2.1\"", "address = 3221225985",
                 "test.toml: outside.address: expected a string, got an integer"},
        Rejected{"GatewayArray", "prefix_length = 24\ngateway = \"\"",
                 "prefix_length = 24\ngateway = []",
                 "test.toml: outside.gateway: expected a string, got an array"},
        Rejected{"ListenerTable", "[[listener]]", "[listener]",
                 "test.toml: listener: expected an array of tables, got a table"},
        Rejected{"ListenerNotTables", "[dataplane]", "listener = [4433]\n[dataplane]",
                 "test.toml: listener[0]: expected a table, got an integer",
                 "[dataplane]\nworkers = [1]\n[outside]\nport = 0\naddress = \"192.0.2.1\"\n"
                 "[inside]\nport = 1\naddress = \"10.0.0.1\"\n"},
        Rejected{"ListenerPortDate", "port = 4433", "port = 2024-01-01",
                 "test.toml: listener[0].port: expected an integer, got a date"},
        Rejected{"CipherSuitesString", "cipher_suites = []",
                 "cipher_suites = \"ECDHE-ECDSA-AES128-GCM-SHA256\"",
                 "test.toml: handshake.cipher_suites: expected an array of cipher suite names, "
                 "got a string"},
        Rejected{"CipherSuiteInteger", "cipher_suites = []", "cipher_suites = [49195]",
                 "test.toml: handshake.cipher_suites[0]: expected a string, got an integer"},
        Rejected{"CertificateString",
                 "certificates = [{ chain = \"cert.pem\", key = \"key.pem\" }]",
                 "certificates = [\"cert.pem\"]",
                 "test.toml: handshake.certificates[0]: expected a table, got a string"},
        Rejected{"CertificatesTable",
                 "certificates = [{ chain = \"cert.pem\", key = \"key.pem\" }]",
                 "certificates = { chain = \"cert.pem\", key = \"key.pem\" }",
                 "test.toml: handshake.certificates: expected an array of tables, got a table"},
        Rejected{"RequireClientCertificateString", "require_client_certificate = true",
                 "require_client_certificate = \"yes\"",
                 "test.toml: handshake.require_client_certificate: expected a boolean, got a "
                 "string"},
        Rejected{"SessionTicketsInteger", "session_tickets = true", "session_tickets = 1",
                 "test.toml: handshake.session_tickets: expected a boolean, got an integer"},
        Rejected{"SessionCacheString", "session_cache = true", "session_cache = \"true\"",
                 "test.toml: handshake.session_cache: expected a boolean, got a string"},
        Rejected{"PskFileInteger", "psk_file = \"\"", "psk_file = 0",
                 "test.toml: handshake.psk_file: expected a string, got an integer"},
        Rejected{"HandshakeNotTable", "[dataplane]", "handshake = true\n[dataplane]",
                 "test.toml: handshake: expected a table, got a boolean", kMinimal}),
    [](const testing::TestParamInfo<Rejected>& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    OutOfRange, ConfigRejects,
    testing::Values(
        Rejected{"NoWorkers", "workers = [1]", "workers = []",
                 "test.toml: dataplane.workers: must have 1..64 lcore ids, got 0"},
        Rejected{"Lcore128", "workers = [1]", "workers = [1, 128]",
                 "test.toml: dataplane.workers[1]: must be in 0..127, got 128"},
        Rejected{"NegativeLcore", "workers = [1]", "workers = [-1]",
                 "test.toml: dataplane.workers[0]: must be in 0..127, got -1"},
        Rejected{"DuplicateLcore", "workers = [1]", "workers = [1, 2, 1]",
                 "test.toml: dataplane.workers[2]: lcore 1 is listed twice"},
        Rejected{"ReplayWindow0", "replay_window = 128", "replay_window = 0",
                 "test.toml: dataplane.replay_window: must be in 64..4096, got 0"},
        Rejected{"ReplayWindow4160", "replay_window = 128", "replay_window = 4160",
                 "test.toml: dataplane.replay_window: must be in 64..4096, got 4160"},
        Rejected{"ReplayWindowNotWords", "replay_window = 128", "replay_window = 100",
                 "test.toml: dataplane.replay_window: must be a multiple of 64, got 100"},
        Rejected{"MaxSessions0", "max_sessions = 65536", "max_sessions = 0",
                 "test.toml: dataplane.max_sessions: must be in 1..16777216, got 0"},
        Rejected{"MaxSessionsTooMany", "max_sessions = 65536", "max_sessions = 16777217",
                 "test.toml: dataplane.max_sessions: must be in 1..16777216, got 16777217"},
        Rejected{"MaxSessionsHuge", "max_sessions = 65536", "max_sessions = 9223372036854775807",
                 "test.toml: dataplane.max_sessions: must be in 1..16777216, got "
                 "9223372036854775807"},
        Rejected{"Mbufs1023", "mbufs = 16384", "mbufs = 1023",
                 "test.toml: dataplane.mbufs: must be in 1024..16777216, got 1023"},
        Rejected{"PuntRate0", "punt_rate = 2000", "punt_rate = 0",
                 "test.toml: dataplane.punt_rate: must be in 1..10000000, got 0"},
        Rejected{"PuntBurst0", "punt_burst = 256", "punt_burst = 0",
                 "test.toml: dataplane.punt_burst: must be in 1..1000000, got 0"},
        Rejected{"IdleTimeout0", "idle_timeout = \"300s\"", "idle_timeout = \"0s\"",
                 "test.toml: dataplane.idle_timeout: must be in 1s..24h, got \"0s\""},
        Rejected{"IdleTimeoutOverADay", "idle_timeout = \"300s\"", "idle_timeout = \"1441m\"",
                 "test.toml: dataplane.idle_timeout: must be in 1s..24h, got \"1441m\""},
        Rejected{"FinalFlightInterval0", "final_flight_interval = \"1s\"",
                 "final_flight_interval = \"0ms\"",
                 "test.toml: dataplane.final_flight_interval: must be in 1ms..1m, got \"0ms\""},
        Rejected{"SummaryInterval500ms", "summary_interval = \"5s\"",
                 "summary_interval = \"500ms\"",
                 "test.toml: dataplane.summary_interval: must be 0s (off) or in 1s..24h, got "
                 "\"500ms\""},
        Rejected{"OutsidePortFfff", "[outside]\nport = 0", "[outside]\nport = 65535",
                 "test.toml: outside.port: must be in 0..65534, got 65535"},
        Rejected{"PrefixLength33", "prefix_length = 24", "prefix_length = 33",
                 "test.toml: outside.prefix_length: must be in 0..32, got 33"},
        Rejected{"ListenerPort0", "port = 4433", "port = 0",
                 "test.toml: listener[0].port: must be in 1..65535, got 0"},
        Rejected{"ListenerPort65536", "port = 4433", "port = 65536",
                 "test.toml: listener[0].port: must be in 1..65535, got 65536"},
        Rejected{"Mtu251", "mtu = 1200", "mtu = 251",
                 "test.toml: handshake.mtu: must be in 252..9000, got 251"},
        Rejected{"Mtu9001", "mtu = 1200", "mtu = 9001",
                 "test.toml: handshake.mtu: must be in 252..9000, got 9001"},
        Rejected{"InitialTimeout14ms", "initial_timeout = \"1s\"", "initial_timeout = \"14ms\"",
                 "test.toml: handshake.initial_timeout: must be in 15ms..1m, got \"14ms\""},
        Rejected{"InitialTimeout61s", "initial_timeout = \"1s\"", "initial_timeout = \"61s\"",
                 "test.toml: handshake.initial_timeout: must be in 15ms..1m, got \"61s\""},
        Rejected{"MaxHandshakes0", "max_handshakes = 10000", "max_handshakes = 0",
                 "test.toml: handshake.max_handshakes: must be in 1..1000000, got 0"},
        Rejected{"CookieRotation0", "cookie_rotation = \"60s\"", "cookie_rotation = \"0s\"",
                 "test.toml: handshake.cookie_rotation: must be in 1s..24h, got \"0s\""},
        Rejected{"CookieRotationFraction", "cookie_rotation = \"60s\"",
                 "cookie_rotation = \"1500ms\"",
                 "test.toml: handshake.cookie_rotation: must be whole seconds, got 1500ms"},
        Rejected{
            "ThreeCertificates", "certificates = [{",
            "certificates = [{ chain = \"a\", key = \"b\" }, { chain = \"c\", key = \"d\" }, {",
            "test.toml: handshake.certificates: must have 0..2 entries, got 3"},
        Rejected{"EmptyCertificateChain", "chain = \"cert.pem\"", "chain = \"\"",
                 "test.toml: handshake.certificates[0].chain: must not be empty"}),
    [](const testing::TestParamInfo<Rejected>& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Malformed, ConfigRejects,
    testing::Values(
        Rejected{"AddressThreeParts", "\"192.0.2.1\"", "\"192.0.2\"",
                 "test.toml: outside.address: expected an IPv4 address like \"192.0.2.1\", got "
                 "\"192.0.2\""},
        Rejected{"AddressFiveParts", "\"192.0.2.1\"", "\"192.0.2.1.5\"",
                 "test.toml: outside.address: expected an IPv4 address like \"192.0.2.1\", got "
                 "\"192.0.2.1.5\""},
        Rejected{"AddressOctet256", "\"10.0.0.1\"", "\"10.0.0.256\"",
                 "test.toml: inside.address: expected an IPv4 address like \"192.0.2.1\", got "
                 "\"10.0.0.256\""},
        Rejected{"AddressLeadingZero", "\"10.0.0.1\"", "\"10.0.0.01\"",
                 "test.toml: inside.address: expected an IPv4 address like \"192.0.2.1\", got "
                 "\"10.0.0.01\""},
        Rejected{"AddressSpace", "\"192.0.2.1\"", "\" 192.0.2.1\"",
                 "test.toml: outside.address: expected an IPv4 address like \"192.0.2.1\", got "
                 "\" 192.0.2.1\""},
        Rejected{"AddressWithPrefix", "\"192.0.2.1\"", "\"192.0.2.1/24\"",
                 "test.toml: outside.address: expected an IPv4 address like \"192.0.2.1\", got "
                 "\"192.0.2.1/24\""},
        // Quotes and backslashes in an echoed value are escaped.
        Rejected{"AddressQuoted", "\"192.0.2.1\"", "'192.0.2.1\"\\'",
                 "test.toml: outside.address: expected an IPv4 address like \"192.0.2.1\", got "
                 "\"192.0.2.1\\x22\\x5c\""},
        Rejected{"AddressEmpty", "\"192.0.2.1\"", "\"\"",
                 "test.toml: outside.address: must not be empty"},
        Rejected{"AddressMulticast", "\"192.0.2.1\"", "\"224.0.0.1\"",
                 "test.toml: outside.address: 224.0.0.1 is not a unicast address"},
        Rejected{"AddressZero", "\"10.0.0.1\"", "\"0.0.0.0\"",
                 "test.toml: inside.address: 0.0.0.0 is not a unicast address"},
        Rejected{"GatewayMalformed", "prefix_length = 24\ngateway = \"\"",
                 "prefix_length = 24\ngateway = \"192.0.2\"",
                 "test.toml: outside.gateway: expected an IPv4 address like \"192.0.2.1\", got "
                 "\"192.0.2\""},
        Rejected{"GatewayOffLink", "prefix_length = 24\ngateway = \"\"",
                 "prefix_length = 24\ngateway = \"192.0.3.1\"",
                 "test.toml: outside.gateway: 192.0.3.1 is not on outside's subnet 192.0.2.0/24"},
        Rejected{"GatewayIsSelf", "prefix_length = 24\ngateway = \"\"",
                 "prefix_length = 24\ngateway = \"192.0.2.1\"",
                 "test.toml: outside.gateway: 192.0.2.1 is outside.address itself"},
        Rejected{"BackendNoPort", "\"10.0.0.2:7\"", "\"10.0.0.2\"",
                 "test.toml: listener[0].backend: expected IPv4:port like \"10.0.0.2:7\" or "
                 "[IPv6]:port like \"[2001:db8::2]:7\", got "
                 "\"10.0.0.2\""},
        Rejected{"BackendPort0", "\"10.0.0.2:7\"", "\"10.0.0.2:0\"",
                 "test.toml: listener[0].backend: expected IPv4:port like \"10.0.0.2:7\" or "
                 "[IPv6]:port like \"[2001:db8::2]:7\", got "
                 "\"10.0.0.2:0\""},
        Rejected{"BackendPort65536", "\"10.0.0.2:7\"", "\"10.0.0.2:65536\"",
                 "test.toml: listener[0].backend: expected IPv4:port like \"10.0.0.2:7\" or "
                 "[IPv6]:port like \"[2001:db8::2]:7\", got "
                 "\"10.0.0.2:65536\""},
        Rejected{"BackendPortSign", "\"10.0.0.2:7\"", "\"10.0.0.2:+7\"",
                 "test.toml: listener[0].backend: expected IPv4:port like \"10.0.0.2:7\" or "
                 "[IPv6]:port like \"[2001:db8::2]:7\", got "
                 "\"10.0.0.2:+7\""},
        Rejected{"BackendBadAddress", "\"10.0.0.2:7\"", "\"10.0.0:7\"",
                 "test.toml: listener[0].backend: expected an IPv4 address like \"192.0.2.1\", "
                 "got \"10.0.0\""},
        Rejected{"BackendIsInsideAddress", "\"10.0.0.2:7\"", "\"10.0.0.1:7\"",
                 "test.toml: listener[0].backend: 10.0.0.1 is inside.address itself"},
        Rejected{"BackendUnreachable", "\"10.0.0.2:7\"", "\"10.0.1.2:7\"",
                 "test.toml: listener[0].backend: 10.0.1.2 is off inside's subnet 10.0.0.0/24 "
                 "and inside.gateway is not set"},
        Rejected{"DuplicateListenerPort", kSecondListener,
                 "backend = \"10.0.0.2:7\"\n[[listener]]\nport = 4433\nbackend = \"10.0.0.3:7\"\n",
                 "test.toml: listener[1].port: 4433 is already listener[0].port"},
        Rejected{"SamePortIds", "[inside]\nport = 1", "[inside]\nport = 0",
                 "test.toml: inside.port: must differ from outside.port (both are 0)"},
        Rejected{"MacFiveBytes", "\"02:00:00:00:00:02\"", "\"02:00:00:00:00\"",
                 "test.toml: neighbor[0].mac: expected a MAC address like \"02:00:00:00:00:02\", "
                 "got \"02:00:00:00:00\""},
        Rejected{"MacDashes", "\"02:00:00:00:00:02\"", "\"02-00-00-00-00-02\"",
                 "test.toml: neighbor[0].mac: expected a MAC address like \"02:00:00:00:00:02\", "
                 "got \"02-00-00-00-00-02\""},
        Rejected{"MacNotHex", "\"02:00:00:00:00:02\"", "\"02:00:00:00:0g:02\"",
                 "test.toml: neighbor[0].mac: expected a MAC address like \"02:00:00:00:00:02\", "
                 "got \"02:00:00:00:0g:02\""},
        Rejected{"MacMulticast", "\"02:00:00:00:00:02\"", "\"01:00:5e:00:00:01\"",
                 "test.toml: neighbor[0].mac: 01:00:5e:00:00:01 is not a unicast MAC address"},
        Rejected{"MacBroadcast", "\"02:00:00:00:00:02\"", "\"ff:ff:ff:ff:ff:ff\"",
                 "test.toml: neighbor[0].mac: ff:ff:ff:ff:ff:ff is not a unicast MAC address"},
        Rejected{"MacZero", "\"02:00:00:00:00:02\"", "\"00:00:00:00:00:00\"",
                 "test.toml: neighbor[0].mac: 00:00:00:00:00:00 is not a unicast MAC address"},
        Rejected{"NeighborOffLink", "address = \"10.0.0.2\"", "address = \"10.9.0.2\"",
                 "test.toml: neighbor[0].address: 10.9.0.2 is on neither outside's subnet "
                 "192.0.2.0/24 nor inside's 10.0.0.0/24"},
        Rejected{"DuplicateNeighbor", "mac = \"02:00:00:00:00:02\"\n",
                 "mac = \"02:00:00:00:00:02\"\n[[neighbor]]\naddress = \"10.0.0.2\"\n"
                 "mac = \"02:00:00:00:00:03\"\n",
                 "test.toml: neighbor[1].address: 10.0.0.2 is already neighbor[0].address"},
        Rejected{"DurationNoUnit", "\"300s\"", "\"300\"",
                 "test.toml: dataplane.idle_timeout: expected a duration like \"1500ms\", "
                 "\"30s\", \"5m\" or \"1h\", got \"300\""},
        Rejected{"DurationFraction", "\"300s\"", "\"1.5s\"",
                 "test.toml: dataplane.idle_timeout: expected a duration like \"1500ms\", "
                 "\"30s\", \"5m\" or \"1h\", got \"1.5s\""},
        Rejected{"DurationNegative", "\"300s\"", "\"-1s\"",
                 "test.toml: dataplane.idle_timeout: expected a duration like \"1500ms\", "
                 "\"30s\", \"5m\" or \"1h\", got \"-1s\""},
        Rejected{"DurationSpace", "\"300s\"", "\"300 s\"",
                 "test.toml: dataplane.idle_timeout: expected a duration like \"1500ms\", "
                 "\"30s\", \"5m\" or \"1h\", got \"300 s\""},
        Rejected{"DurationDays", "\"300s\"", "\"1d\"",
                 "test.toml: dataplane.idle_timeout: expected a duration like \"1500ms\", "
                 "\"30s\", \"5m\" or \"1h\", got \"1d\""},
        Rejected{"DurationUpperCase", "\"300s\"", "\"300S\"",
                 "test.toml: dataplane.idle_timeout: expected a duration like \"1500ms\", "
                 "\"30s\", \"5m\" or \"1h\", got \"300S\""},
        Rejected{"DurationOnlyUnit", "\"300s\"", "\"s\"",
                 "test.toml: dataplane.idle_timeout: expected a duration like \"1500ms\", "
                 "\"30s\", \"5m\" or \"1h\", got \"s\""},
        Rejected{"DurationOverflow", "\"300s\"", "\"99999999999999999999h\"",
                 "test.toml: dataplane.idle_timeout: expected a duration like \"1500ms\", "
                 "\"30s\", \"5m\" or \"1h\", got \"99999999999999999999h\""},
        Rejected{
            "SourceAddressesNotArray", "source_ports = \"20000-59999\"",
            "source_ports = \"20000-59999\"\nsource_addresses = \"10.0.0.3\"",
            "test.toml: inside.source_addresses: expected an array of IP addresses, got a string"},
        Rejected{"SourceAddressesEmpty", "source_ports = \"20000-59999\"",
                 "source_ports = \"20000-59999\"\nsource_addresses = []",
                 "test.toml: inside.source_addresses: needs 1 to 16 addresses, got 0"},
        Rejected{"SourceAddressesNotString", "source_ports = \"20000-59999\"",
                 "source_ports = \"20000-59999\"\nsource_addresses = [\"10.0.0.3\", 7]",
                 "test.toml: inside.source_addresses[1]: expected a string, got an integer"},
        Rejected{"SourceAddressesBad", "source_ports = \"20000-59999\"",
                 "source_ports = \"20000-59999\"\nsource_addresses = [\"10.0.0.256\"]",
                 "test.toml: inside.source_addresses[0]: expected an IPv4 address like "
                 "\"192.0.2.1\", got \"10.0.0.256\""},
        Rejected{"SourceAddressesOffLink", "source_ports = \"20000-59999\"",
                 "source_ports = \"20000-59999\"\nsource_addresses = [\"10.0.0.3\", \"10.0.1.3\"]",
                 "test.toml: inside.source_addresses[1]: 10.0.1.3 is not on inside's subnet "
                 "10.0.0.0/24"},
        Rejected{"SourceAddressesTwice", "source_ports = \"20000-59999\"",
                 "source_ports = \"20000-59999\"\nsource_addresses = [\"10.0.0.1\", \"10.0.0.1\"]",
                 "test.toml: inside.source_addresses[1]: 10.0.0.1 is listed twice"},
        Rejected{"SourcePortsSingle", "\"20000-59999\"", "\"20000\"",
                 "test.toml: inside.source_ports: expected a port range like \"20000-59999\", "
                 "got \"20000\""},
        Rejected{"SourcePortsOpen", "\"20000-59999\"", "\"20000-\"",
                 "test.toml: inside.source_ports: expected a port range like \"20000-59999\", "
                 "got \"20000-\""},
        Rejected{"SourcePortsSpaces", "\"20000-59999\"", "\"20000 - 59999\"",
                 "test.toml: inside.source_ports: expected a port range like \"20000-59999\", "
                 "got \"20000 - 59999\""},
        Rejected{"SourcePortsAbove65535", "\"20000-59999\"", "\"20000-65536\"",
                 "test.toml: inside.source_ports: expected a port range like \"20000-59999\", "
                 "got \"20000-65536\""},
        Rejected{"SourcePortsReversed", "\"20000-59999\"", "\"59999-20000\"",
                 "test.toml: inside.source_ports: must be first-last with 1024 <= first <= "
                 "last, got \"59999-20000\""},
        Rejected{"SourcePortsPrivileged", "\"20000-59999\"", "\"1023-2000\"",
                 "test.toml: inside.source_ports: must be first-last with 1024 <= first <= "
                 "last, got \"1023-2000\""},
        Rejected{"UnknownCipherSuite", "cipher_suites = []",
                 "cipher_suites = [\"ECDHE-ECDSA-AES128-GCM-SHA256\", \"AES128-SHA\"]",
                 "test.toml: handshake.cipher_suites[1]: unknown cipher suite \"AES128-SHA\" "
                 "(known: ECDHE-ECDSA-AES128-GCM-SHA256, ECDHE-ECDSA-AES256-GCM-SHA384, "
                 "ECDHE-ECDSA-CHACHA20-POLY1305, ECDHE-ECDSA-AES128-CCM, ECDHE-ECDSA-AES128-CCM8, "
                 "ECDHE-RSA-AES128-GCM-SHA256, ECDHE-RSA-AES256-GCM-SHA384, "
                 "ECDHE-RSA-CHACHA20-POLY1305, PSK-AES128-GCM-SHA256, PSK-AES256-GCM-SHA384, "
                 "PSK-CHACHA20-POLY1305, PSK-AES128-CCM, PSK-AES128-CCM8, "
                 "ECDHE-PSK-CHACHA20-POLY1305)"},
        Rejected{"CipherSuiteWrongCase", "cipher_suites = []",
                 "cipher_suites = [\"psk-aes128-ccm8\"]",
                 "test.toml: handshake.cipher_suites[0]: unknown cipher suite \"psk-aes128-ccm8\" "
                 "(known: ECDHE-ECDSA-AES128-GCM-SHA256, ECDHE-ECDSA-AES256-GCM-SHA384, "
                 "ECDHE-ECDSA-CHACHA20-POLY1305, ECDHE-ECDSA-AES128-CCM, ECDHE-ECDSA-AES128-CCM8, "
                 "ECDHE-RSA-AES128-GCM-SHA256, ECDHE-RSA-AES256-GCM-SHA384, "
                 "ECDHE-RSA-CHACHA20-POLY1305, PSK-AES128-GCM-SHA256, PSK-AES256-GCM-SHA384, "
                 "PSK-CHACHA20-POLY1305, PSK-AES128-CCM, PSK-AES128-CCM8, "
                 "ECDHE-PSK-CHACHA20-POLY1305)"},
        Rejected{"DuplicateCipherSuite", "cipher_suites = []",
                 "cipher_suites = [\"PSK-AES128-CCM8\", \"PSK-AES128-CCM8\"]",
                 "test.toml: handshake.cipher_suites[1]: \"PSK-AES128-CCM8\" is listed twice"}),
    [](const testing::TestParamInfo<Rejected>& info) { return std::string(info.param.name); });

TEST(Config, AtMost64Workers) {
  std::string ids = "0";
  for (int i = 1; i < 64; ++i) {
    ids += ", " + std::to_string(i);
  }
  EXPECT_EQ(rejection(edit(kExample, "workers = [1]", "workers = [" + ids + "]")), "");
  EXPECT_EQ(rejection(edit(kExample, "workers = [1]", "workers = [" + ids + ", 64]")),
            "test.toml: dataplane.workers: must have 1..64 lcore ids, got 65");
}

TEST(Config, AtMost256Listeners) {
  std::string listeners;
  for (int i = 0; i < 256; ++i) {
    listeners += "[[listener]]\nport = " + std::to_string(10000 + i) +
                 "\nbackend = \"10.0.0.2:" + std::to_string(i + 1) + "\"\n";
  }
  const std::string base =
      edit(kMinimal, "[[listener]]\nport = 4433\nbackend = \"10.0.0.2:7\"\n", listeners);
  std::string error;
  const std::optional<Config> c = parse(base, error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->listeners.size(), 256u);
  EXPECT_EQ(c->listeners[255].port, 10255);
  EXPECT_EQ(c->listeners[255].backend_port, 256);
  EXPECT_EQ(rejection(base + "[[listener]]\nport = 4433\nbackend = \"10.0.0.2:7\"\n"),
            "test.toml: listener: must have 1..256 entries, got 257");
}

TEST(Config, EmptyListenerArray) {
  const std::string no_listener =
      edit(kMinimal, "[[listener]]\nport = 4433\nbackend = \"10.0.0.2:7\"\n", "");
  // Before the first table header, so that it is a top-level key.
  EXPECT_EQ(rejection("listener = []\n" + no_listener),
            "test.toml: listener: must have 1..256 entries, got 0");
}

// A TOML error is located by line and column, not by key.
TEST(Config, SyntaxErrorGivesLineAndColumn) {
  // Line 3, column 9: the value missing after '='.
  const std::string error = rejection("[dataplane]\nworkers = [1]\nmbufs = \n");
  EXPECT_EQ(error.rfind("test.toml:3:9: ", 0), 0u) << error;
  EXPECT_GT(error.size(), std::string_view("test.toml:3:9: ").size()) << error;
}

TEST(Config, DuplicateKeyIsASyntaxError) {
  const std::string error = rejection(std::string(kMinimal) + "[outside]\nport = 2\n");
  EXPECT_EQ(error.rfind("test.toml:15:", 0), 0u) << error;
}

TEST(Config, UnterminatedStringGivesItsLine) {
  const std::string error =
      rejection(edit(kExample, "address = \"192.0.2.1\"", "address = \"192.0.2.1"));
  EXPECT_EQ(error.rfind("test.toml:19:", 0), 0u) << error;
}

// The parser does not look at the files a configuration names: the
// control process loads them and reports what is wrong with them.
TEST(Config, DoesNotOpenNamedFiles) {
  const std::string text = std::string(kMinimal) + R"(
[handshake]
certificates = [{ chain = "/nonexistent/chain.pem", key = "/nonexistent/key.pem" }]
psk_file = "/nonexistent/psk"
client_ca_file = "/nonexistent/ca.pem"
)";
  std::string error;
  EXPECT_TRUE(parse(text, error)) << error;
}

class TempFile {
 public:
  explicit TempFile(std::string_view contents) {
    char name[] = "/tmp/config_test_XXXXXX";
    const int fd = mkstemp(name);
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = name;
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---- backend identity, rate limits ([[listener]]) ----

TEST(Config, ListenerProxyProtocolAndRates) {
  std::string error;
  std::optional<Config> c = parse(kMinimal, error);
  ASSERT_TRUE(c) << error;
  EXPECT_FALSE(c->listeners[0].proxy_protocol);
  EXPECT_EQ(c->listeners[0].session_rate, 0u);
  EXPECT_EQ(c->listeners[0].session_burst, 0u);
  EXPECT_EQ(c->listeners[0].listener_rate, 0u);
  EXPECT_EQ(c->listeners[0].listener_burst, 0u);

  c = parse(edit(kMinimal, "backend = \"10.0.0.2:7\"\n",
                 "backend = \"10.0.0.2:7\"\nproxy_protocol = true\nsession_rate = \"1000/s\"\n"
                 "session_burst = 50\nlistener_rate = \"100000000/s\"\nlistener_burst = 7\n"),
            error);
  ASSERT_TRUE(c) << error;
  EXPECT_TRUE(c->listeners[0].proxy_protocol);
  EXPECT_EQ(c->listeners[0].session_rate, 1000u);
  EXPECT_EQ(c->listeners[0].session_burst, 50u);
  EXPECT_EQ(c->listeners[0].listener_rate, 100'000'000u);
  EXPECT_EQ(c->listeners[0].listener_burst, 7u);

  // Without a burst, the bucket holds one second's worth.
  c = parse(edit(kMinimal, "backend = \"10.0.0.2:7\"\n",
                 "backend = \"10.0.0.2:7\"\nsession_rate = \"1/s\"\nlistener_rate = \"30/s\"\n"),
            error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->listeners[0].session_rate, 1u);
  EXPECT_EQ(c->listeners[0].session_burst, 1u);
  EXPECT_EQ(c->listeners[0].listener_rate, 30u);
  EXPECT_EQ(c->listeners[0].listener_burst, 30u);
}

struct ListenerRejected {
  const char* name;
  const char* lines;  // added to kMinimal's listener
  const char* error;
};
class ConfigRejectsListenerKey : public testing::TestWithParam<ListenerRejected> {};

TEST_P(ConfigRejectsListenerKey, Edit) {
  EXPECT_EQ(rejection(edit(kMinimal, "backend = \"10.0.0.2:7\"\n",
                           std::string("backend = \"10.0.0.2:7\"\n") + GetParam().lines)),
            GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Config, ConfigRejectsListenerKey,
    testing::Values(
        ListenerRejected{"ProxyProtocolString", "proxy_protocol = \"yes\"\n",
                         "test.toml: listener[0].proxy_protocol: expected a boolean, got a string"},
        ListenerRejected{"ProxyProtocolInteger", "proxy_protocol = 1\n",
                         "test.toml: listener[0].proxy_protocol: expected a boolean, got an integer"},
        ListenerRejected{"SessionRateInteger", "session_rate = 1000\n",
                         "test.toml: listener[0].session_rate: expected a string, got an integer"},
        ListenerRejected{"SessionRateNoUnit", "session_rate = \"1000\"\n",
                         "test.toml: listener[0].session_rate: expected a rate like \"1000/s\", "
                         "got \"1000\""},
        ListenerRejected{"SessionRateOtherUnit", "session_rate = \"1000/m\"\n",
                         "test.toml: listener[0].session_rate: expected a rate like \"1000/s\", "
                         "got \"1000/m\""},
        ListenerRejected{"SessionRateNegative", "session_rate = \"-5/s\"\n",
                         "test.toml: listener[0].session_rate: expected a rate like \"1000/s\", "
                         "got \"-5/s\""},
        ListenerRejected{"SessionRateZero", "session_rate = \"0/s\"\n",
                         "test.toml: listener[0].session_rate: must be in 1/s..100000000/s, "
                         "got \"0/s\""},
        ListenerRejected{"SessionRateTooHigh", "session_rate = \"100000001/s\"\n",
                         "test.toml: listener[0].session_rate: must be in 1/s..100000000/s, "
                         "got \"100000001/s\""},
        ListenerRejected{"SessionRateHuge", "session_rate = \"99999999999999/s\"\n",
                         "test.toml: listener[0].session_rate: expected a rate like \"1000/s\", "
                         "got \"99999999999999/s\""},
        ListenerRejected{"SessionBurstString", "session_rate = \"5/s\"\nsession_burst = \"5\"\n",
                         "test.toml: listener[0].session_burst: expected an integer, got a string"},
        ListenerRejected{"SessionBurstNegative", "session_rate = \"5/s\"\nsession_burst = -1\n",
                         "test.toml: listener[0].session_burst: must be in 0..100000000, got -1"},
        ListenerRejected{"SessionBurstTooHigh",
                         "session_rate = \"5/s\"\nsession_burst = 100000001\n",
                         "test.toml: listener[0].session_burst: must be in 0..100000000, "
                         "got 100000001"},
        ListenerRejected{"SessionBurstWithoutRate", "session_burst = 5\n",
                         "test.toml: listener[0].session_burst: needs listener[0].session_rate"},
        ListenerRejected{"ListenerRateArray", "listener_rate = []\n",
                         "test.toml: listener[0].listener_rate: expected a string, got an array"},
        ListenerRejected{"ListenerRateZero", "listener_rate = \"0/s\"\n",
                         "test.toml: listener[0].listener_rate: must be in 1/s..100000000/s, "
                         "got \"0/s\""},
        ListenerRejected{"ListenerBurstTooHigh",
                         "listener_rate = \"5/s\"\nlistener_burst = 100000001\n",
                         "test.toml: listener[0].listener_burst: must be in 0..100000000, "
                         "got 100000001"},
        ListenerRejected{"ListenerBurstWithoutRate", "listener_burst = 5\n",
                         "test.toml: listener[0].listener_burst: needs listener[0].listener_rate"},
        ListenerRejected{"MisspeltRate", "sesion_rate = \"5/s\"\n",
                         "test.toml: listener[0].sesion_rate: unknown key"}),
    [](const testing::TestParamInfo<ListenerRejected>& info) {
      return std::string(info.param.name);
    });

// ---- IPv6, 802.1Q VLANs, IP reassembly and path MTU ----

// Both ports dual-stack, an IPv6 backend and neighbour: the base of the
// IPv6 edits below.
constexpr std::string_view kDualStack = R"([dataplane]
workers = [1]

[outside]
port = 0
address = "192.0.2.1"
address6 = "2001:db8:1::1"
prefix_length6 = 48
gateway6 = ""
vlan = 0

[inside]
port = 1
address = "10.0.0.1"
address6 = "fd00::1"
prefix_length6 = 64
gateway6 = ""
vlan = 0
source_ports = "20000-59999"

[[listener]]
port = 4433
backend = "[fd00::2]:7"

[[neighbor]]
address = "fd00::2"
mac = "02:00:00:00:00:02"
)";

TEST(Config, Ipv6VlanAndFragmentKeysMapToTheirFields) {
  constexpr std::string_view kText = R"(
[dataplane]
workers = [1]
fragment_datagrams = 4096
fragment_buffers = 65536
fragment_timeout = "500ms"
path_mtu_timeout = "15m"

[outside]
port = 0
address = "192.0.2.1"
address6 = "2001:DB8:1:0::1"
prefix_length6 = 48
gateway6 = "fe80::1"
vlan = 100

[inside]
port = 1
address = "10.0.0.1"
address6 = "fd00::1"
prefix_length6 = 120
gateway6 = "fd00::fe"
vlan = 4094
source_addresses = ["fd00::1", "10.0.0.1", "fd00::10", "10.0.0.9"]

[[listener]]
port = 4433
backend = "[fd00::2]:5683"

[[listener]]
port = 4434
backend = "[2001:db8:99::7]:7"

[[listener]]
port = 4435
backend = "[fe80::2:3]:65535"

[[listener]]
port = 4436
backend = "10.0.0.2:7"

[[neighbor]]
address = "fd00::fe"
mac = "02:00:00:00:00:fe"

[[neighbor]]
address = "fe80::1"
mac = "02:00:00:00:00:01"

[[neighbor]]
address = "10.0.0.2"
mac = "02:00:00:00:00:02"
)";
  std::string error;
  const std::optional<Config> c = parse(kText, error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->fragment_datagrams, 4096u);
  EXPECT_EQ(c->fragment_buffers, 65536u);
  EXPECT_EQ(c->fragment_timeout, milliseconds(500));
  EXPECT_EQ(c->path_mtu_timeout, seconds(900));

  EXPECT_EQ(c->outside.address, ip("192.0.2.1"));
  EXPECT_EQ(c->outside.address6, ip6("2001:db8:1::1"));
  EXPECT_EQ(c->outside.prefix_length6, 48);
  // Link-local: off outside's prefix, and still a valid router.
  EXPECT_EQ(c->outside.gateway6, ip6("fe80::1"));
  EXPECT_EQ(c->outside.vlan, 100);
  EXPECT_FALSE(c->outside.gateway);
  EXPECT_EQ(c->inside.address6, ip6("fd00::1"));
  EXPECT_EQ(c->inside.prefix_length6, 120);
  EXPECT_EQ(c->inside.gateway6, ip6("fd00::fe"));
  EXPECT_EQ(c->inside.vlan, 4094);
  // In the file's order, IPv4 held mapped.
  EXPECT_EQ(
      c->inside.source_addresses,
      (std::vector<IpAddress>{IpAddress::from(ip6("fd00::1")), IpAddress::from(ip("10.0.0.1")),
                              IpAddress::from(ip6("fd00::10")), IpAddress::from(ip("10.0.0.9"))}));
  EXPECT_FALSE(c->inside.source_addresses[0].is_v4());
  EXPECT_TRUE(c->inside.source_addresses[1].is_v4());

  ASSERT_EQ(c->listeners.size(), 4u);
  EXPECT_EQ(c->listeners[0].port, 4433);
  EXPECT_EQ(c->listeners[0].backend_address, IpAddress::from(ip6("fd00::2")));
  EXPECT_EQ(c->listeners[0].backend_port, 5683);
  // Off inside's prefix, reached through inside.gateway6.
  EXPECT_EQ(c->listeners[1].backend_address, IpAddress::from(ip6("2001:db8:99::7")));
  EXPECT_EQ(c->listeners[1].backend_port, 7);
  // Link-local: on the inside link whatever the prefix.
  EXPECT_EQ(c->listeners[2].backend_address, IpAddress::from(ip6("fe80::2:3")));
  EXPECT_EQ(c->listeners[2].backend_port, 65535);
  EXPECT_EQ(c->listeners[3].backend_address, IpAddress::from(ip("10.0.0.2")));
  EXPECT_TRUE(c->listeners[3].backend_address.is_v4());
  EXPECT_EQ(c->listeners[3].backend_port, 7);

  ASSERT_EQ(c->neighbors.size(), 3u);
  EXPECT_EQ(c->neighbors[0].address, IpAddress::from(ip6("fd00::fe")));
  EXPECT_EQ(c->neighbors[0].mac, (MacAddress{{0x02, 0, 0, 0, 0, 0xfe}}));
  EXPECT_EQ(c->neighbors[1].address, IpAddress::from(ip6("fe80::1")));
  EXPECT_EQ(c->neighbors[1].mac, (MacAddress{{0x02, 0, 0, 0, 0, 0x01}}));
  EXPECT_EQ(c->neighbors[2].address, IpAddress::from(ip("10.0.0.2")));
}

TEST(Config, Ipv6VlanAndFragmentDefaults) {
  std::string error;
  std::optional<Config> c = parse(kMinimal, error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->fragment_datagrams, 1024u);
  EXPECT_EQ(c->fragment_buffers, 2048u);
  EXPECT_EQ(c->fragment_timeout, milliseconds(2000));
  EXPECT_EQ(c->path_mtu_timeout, seconds(600));
  for (const PortConfig* p :
       {static_cast<const PortConfig*>(&c->outside), static_cast<const PortConfig*>(&c->inside)}) {
    EXPECT_FALSE(p->address6);
    EXPECT_EQ(p->prefix_length6, 64);
    EXPECT_FALSE(p->gateway6);
    EXPECT_EQ(p->vlan, 0);
  }
  EXPECT_EQ(c->inside.source_addresses, std::vector<IpAddress>{ipa("10.0.0.1")});

  // With address6, the default pool is address then address6.
  c = parse(kDualStack, error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->inside.source_addresses,
            (std::vector<IpAddress>{ipa("10.0.0.1"), IpAddress::from(ip6("fd00::1"))}));
  EXPECT_EQ(c->outside.prefix_length6, 48);
  EXPECT_EQ(c->inside.prefix_length6, 64);
  EXPECT_FALSE(c->inside.gateway6);
  EXPECT_EQ(c->listeners[0].backend_address, IpAddress::from(ip6("fd00::2")));
  EXPECT_EQ(c->neighbors[0].address, IpAddress::from(ip6("fd00::2")));
}

INSTANTIATE_TEST_SUITE_P(
    Ipv6, ConfigAccepts,
    testing::Values(
        Accepted{"Vlan1", "vlan = 0\n\n[inside]", "vlan = 1\n\n[inside]", kDualStack},
        Accepted{"Vlan4094", "vlan = 0\nsource_ports", "vlan = 4094\nsource_ports", kDualStack},
        Accepted{"Prefix6Of1", "prefix_length6 = 48", "prefix_length6 = 1", kDualStack},
        Accepted{"Prefix6Of128", "prefix_length6 = 48", "prefix_length6 = 128", kDualStack},
        // Meaningless without address6, so harmless.
        Accepted{"Prefix6WithoutAddress6", "prefix_length6 = 64", "prefix_length6 = 96"},
        Accepted{"LinkLocalAddress6", "\"2001:db8:1::1\"", "\"fe80::1\"", kDualStack},
        Accepted{"Address6LongForm", "\"2001:db8:1::1\"", "\"2001:0DB8:0001:0:0:0:0:1\"",
                 kDualStack},
        Accepted{"Gateway6OnPrefix", "prefix_length6 = 48\ngateway6 = \"\"",
                 "prefix_length6 = 48\ngateway6 = \"2001:db8:1:ffff::1\"", kDualStack},
        Accepted{"Gateway6LinkLocal", "prefix_length6 = 64\ngateway6 = \"\"",
                 "prefix_length6 = 64\ngateway6 = \"fe80::abcd\"", kDualStack},
        Accepted{"BackendOffPrefixViaGateway6",
                 "gateway6 = \"\"\nvlan = 0\nsource_ports = \"20000-59999\"\n\n[[listener]]\n"
                 "port = 4433\nbackend = \"[fd00::2]:7\"",
                 "gateway6 = \"fe80::1\"\nvlan = 0\nsource_ports = \"20000-59999\"\n\n"
                 "[[listener]]\nport = 4433\nbackend = \"[2001:db8:5::2]:7\"",
                 kDualStack},
        Accepted{"BackendLinkLocal", "\"[fd00::2]:7\"", "\"[fe80::2]:7\"", kDualStack},
        Accepted{"Ipv4BackendOnDualStack", "\"[fd00::2]:7\"", "\"10.0.0.2:7\"", kDualStack},
        Accepted{"NeighborLinkLocal", "address = \"fd00::2\"", "address = \"fe80::2\"", kDualStack},
        Accepted{"NeighborIpv4OnDualStack", "address = \"fd00::2\"", "address = \"10.0.0.2\"",
                 kDualStack},
        Accepted{"FragmentDatagrams1", "fragment_datagrams = 1024", "fragment_datagrams = 1"},
        Accepted{"FragmentDatagrams65536", "fragment_datagrams = 1024",
                 "fragment_datagrams = 65536"},
        Accepted{"FragmentBuffers64", "fragment_buffers = 2048", "fragment_buffers = 64"},
        Accepted{"FragmentBuffers2Pow20", "fragment_buffers = 2048", "fragment_buffers = 1048576"},
        Accepted{"FragmentTimeout100ms", "fragment_timeout = \"2s\"",
                 "fragment_timeout = \"100ms\""},
        Accepted{"FragmentTimeout60s", "fragment_timeout = \"2s\"", "fragment_timeout = \"1m\""},
        Accepted{"PathMtuTimeout10s", "path_mtu_timeout = \"600s\"",
                 "path_mtu_timeout = \"10000ms\""},
        Accepted{"PathMtuTimeout1Day", "path_mtu_timeout = \"600s\"",
                 "path_mtu_timeout = \"24h\""}),
    [](const testing::TestParamInfo<Accepted>& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Ipv6, ConfigRejects,
    testing::Values(
        // ---- [outside] / [inside] address6, prefix_length6, gateway6, vlan ----
        Rejected{"UnknownPortKey", "vlan = 0\n\n[inside]", "vlan_id = 0\n\n[inside]",
                 "test.toml: outside.vlan_id: unknown key", kDualStack},
        Rejected{"Address6Integer", "\"2001:db8:1::1\"", "1",
                 "test.toml: outside.address6: expected a string, got an integer", kDualStack},
        Rejected{"Address6Malformed", "\"2001:db8:1::1\"", "\"2001:db8:1::g\"",
                 "test.toml: outside.address6: expected an IPv6 address like \"2001:db8::1\", "
                 "got \"2001:db8:1::g\"",
                 kDualStack},
        Rejected{"Address6WithPrefix", "\"fd00::1\"", "\"fd00::1/64\"",
                 "test.toml: inside.address6: expected an IPv6 address like \"2001:db8::1\", "
                 "got \"fd00::1/64\"",
                 kDualStack},
        Rejected{"Address6Zone", "\"2001:db8:1::1\"", "\"fe80::1%eth0\"",
                 "test.toml: outside.address6: expected an IPv6 address like \"2001:db8::1\", "
                 "got \"fe80::1%eth0\"",
                 kDualStack},
        Rejected{"Address6IsIpv4", "\"2001:db8:1::1\"", "\"192.0.2.1\"",
                 "test.toml: outside.address6: expected an IPv6 address like \"2001:db8::1\", "
                 "got \"192.0.2.1\"",
                 kDualStack},
        Rejected{"Address6Multicast", "\"2001:db8:1::1\"", "\"ff02::1\"",
                 "test.toml: outside.address6: ff02::1 is not a unicast address", kDualStack},
        Rejected{"Address6Unspecified", "\"fd00::1\"", "\"::\"",
                 "test.toml: inside.address6: :: is not a unicast address", kDualStack},
        Rejected{"Address6Ipv4Mapped", "\"2001:db8:1::1\"", "\"::ffff:192.0.2.1\"",
                 "test.toml: outside.address6: ::ffff:192.0.2.1 is IPv4-mapped (::ffff:0:0/96): "
                 "write 192.0.2.1 for IPv4",
                 kDualStack},
        Rejected{"Prefix6Of0", "prefix_length6 = 48", "prefix_length6 = 0",
                 "test.toml: outside.prefix_length6: must be in 1..128, got 0", kDualStack},
        Rejected{"Prefix6Of129", "prefix_length6 = 64", "prefix_length6 = 129",
                 "test.toml: inside.prefix_length6: must be in 1..128, got 129", kDualStack},
        Rejected{"Prefix6WithoutAddress6OutOfRange", "prefix_length6 = 64", "prefix_length6 = 200",
                 "test.toml: outside.prefix_length6: must be in 1..128, got 200"},
        Rejected{"Gateway6WithoutAddress6", "prefix_length6 = 64\ngateway6 = \"\"",
                 "prefix_length6 = 64\ngateway6 = \"fe80::1\"",
                 "test.toml: outside.gateway6: needs outside.address6"},
        Rejected{"Gateway6Malformed", "prefix_length6 = 48\ngateway6 = \"\"",
                 "prefix_length6 = 48\ngateway6 = \"2001:db8:1::1::2\"",
                 "test.toml: outside.gateway6: expected an IPv6 address like \"2001:db8::1\", "
                 "got \"2001:db8:1::1::2\"",
                 kDualStack},
        Rejected{"Gateway6OffPrefix", "prefix_length6 = 64\ngateway6 = \"\"",
                 "prefix_length6 = 64\ngateway6 = \"fd00:0:0:1::1\"",
                 "test.toml: inside.gateway6: fd00:0:0:1::1 is neither on inside's prefix "
                 "fd00::/64 nor link-local (fe80::/10)",
                 kDualStack},
        // A prefix that does not end on a group boundary.
        Rejected{"Gateway6OffPrefixOddLength", "prefix_length6 = 48\ngateway6 = \"\"",
                 "prefix_length6 = 47\ngateway6 = \"2001:db8:2::1\"",
                 "test.toml: outside.gateway6: 2001:db8:2::1 is neither on outside's prefix "
                 "2001:db8::/47 nor link-local (fe80::/10)",
                 kDualStack},
        Rejected{"Gateway6Multicast", "prefix_length6 = 64\ngateway6 = \"\"",
                 "prefix_length6 = 64\ngateway6 = \"ff02::2\"",
                 "test.toml: inside.gateway6: ff02::2 is not a unicast address", kDualStack},
        Rejected{"Gateway6IsSelf", "prefix_length6 = 64\ngateway6 = \"\"",
                 "prefix_length6 = 64\ngateway6 = \"fd00:0::1\"",
                 "test.toml: inside.gateway6: fd00::1 is inside.address6 itself", kDualStack},
        Rejected{"Vlan4095", "vlan = 0\n\n[inside]", "vlan = 4095\n\n[inside]",
                 "test.toml: outside.vlan: must be in 0..4094, got 4095"},
        Rejected{"VlanNegative", "vlan = 0\nsource_ports", "vlan = -1\nsource_ports",
                 "test.toml: inside.vlan: must be in 0..4094, got -1"},
        Rejected{"VlanString", "vlan = 0\nsource_ports", "vlan = \"100\"\nsource_ports",
                 "test.toml: inside.vlan: expected an integer, got a string"},

        // ---- inside.source_addresses ----
        Rejected{"SourceAddressIpv6WithoutAddress6", "source_ports = \"20000-59999\"",
                 "source_ports = \"20000-59999\"\nsource_addresses = [\"10.0.0.1\", \"fd00::5\"]",
                 "test.toml: inside.source_addresses[1]: fd00::5 is IPv6 and inside.address6 is "
                 "not set"},
        Rejected{"SourceAddressIpv6OffPrefix", "source_ports = \"20000-59999\"",
                 "source_ports = \"20000-59999\"\nsource_addresses = [\"fd00::5\", \"fd01::5\"]",
                 "test.toml: inside.source_addresses[1]: fd01::5 is not on inside's prefix "
                 "fd00::/64",
                 kDualStack},
        Rejected{"SourceAddressIpv6Malformed", "source_ports = \"20000-59999\"",
                 "source_ports = \"20000-59999\"\nsource_addresses = [\"fd00::5:\"]",
                 "test.toml: inside.source_addresses[0]: expected an IPv6 address like "
                 "\"2001:db8::1\", got \"fd00::5:\"",
                 kDualStack},
        Rejected{"SourceAddressIpv4Mapped", "source_ports = \"20000-59999\"",
                 "source_ports = \"20000-59999\"\nsource_addresses = [\"::ffff:10.0.0.3\"]",
                 "test.toml: inside.source_addresses[0]: ::ffff:10.0.0.3 is IPv4-mapped "
                 "(::ffff:0:0/96): write 10.0.0.3 for IPv4",
                 kDualStack},
        Rejected{"SourceAddressIpv6Multicast", "source_ports = \"20000-59999\"",
                 "source_ports = \"20000-59999\"\nsource_addresses = [\"ff02::1:ff00:1\"]",
                 "test.toml: inside.source_addresses[0]: ff02::1:ff00:1 is not a unicast address",
                 kDualStack},
        // One address however it is spelt.
        Rejected{"SourceAddressIpv6Twice", "source_ports = \"20000-59999\"",
                 "source_ports = \"20000-59999\"\n"
                 "source_addresses = [\"fd00::5\", \"10.0.0.1\", \"FD00:0:0:0::5\"]",
                 "test.toml: inside.source_addresses[2]: fd00::5 is listed twice", kDualStack},
        Rejected{"SourceAddressesSeventeen", "source_ports = \"20000-59999\"",
                 "source_ports = \"20000-59999\"\nsource_addresses = [\"fd00::1\", \"fd00::2\", "
                 "\"fd00::3\", \"fd00::4\", \"fd00::5\", \"fd00::6\", \"fd00::7\", \"fd00::8\", "
                 "\"10.0.0.1\", \"10.0.0.2\", \"10.0.0.3\", \"10.0.0.4\", \"10.0.0.5\", "
                 "\"10.0.0.6\", \"10.0.0.7\", \"10.0.0.8\", \"10.0.0.9\"]",
                 "test.toml: inside.source_addresses: needs 1 to 16 addresses, got 17", kDualStack},

        // ---- [[listener]] backend ----
        Rejected{"BackendIpv6WithoutBrackets", "\"[fd00::2]:7\"", "\"fd00::2:7\"",
                 "test.toml: listener[0].backend: expected IPv4:port like \"10.0.0.2:7\" or "
                 "[IPv6]:port like \"[2001:db8::2]:7\", got \"fd00::2:7\"",
                 kDualStack},
        Rejected{"BackendIpv6NoPort", "\"[fd00::2]:7\"", "\"[fd00::2]\"",
                 "test.toml: listener[0].backend: expected IPv4:port like \"10.0.0.2:7\" or "
                 "[IPv6]:port like \"[2001:db8::2]:7\", got \"[fd00::2]\"",
                 kDualStack},
        Rejected{"BackendIpv6Port0", "\"[fd00::2]:7\"", "\"[fd00::2]:0\"",
                 "test.toml: listener[0].backend: expected IPv4:port like \"10.0.0.2:7\" or "
                 "[IPv6]:port like \"[2001:db8::2]:7\", got \"[fd00::2]:0\"",
                 kDualStack},
        Rejected{"BackendIpv6Port65536", "\"[fd00::2]:7\"", "\"[fd00::2]:65536\"",
                 "test.toml: listener[0].backend: expected IPv4:port like \"10.0.0.2:7\" or "
                 "[IPv6]:port like \"[2001:db8::2]:7\", got \"[fd00::2]:65536\"",
                 kDualStack},
        Rejected{"BackendIpv6Empty", "\"[fd00::2]:7\"", "\"[]:7\"",
                 "test.toml: listener[0].backend: expected an IPv6 address like \"2001:db8::1\", "
                 "got \"\"",
                 kDualStack},
        Rejected{"BackendIpv4InBrackets", "\"[fd00::2]:7\"", "\"[10.0.0.2]:7\"",
                 "test.toml: listener[0].backend: expected an IPv6 address like \"2001:db8::1\", "
                 "got \"10.0.0.2\"",
                 kDualStack},
        Rejected{"BackendIpv4Mapped", "\"[fd00::2]:7\"", "\"[::ffff:10.0.0.2]:7\"",
                 "test.toml: listener[0].backend: ::ffff:10.0.0.2 is IPv4-mapped "
                 "(::ffff:0:0/96): write 10.0.0.2 for IPv4",
                 kDualStack},
        Rejected{"BackendIpv6Multicast", "\"[fd00::2]:7\"", "\"[ff05::1:3]:547\"",
                 "test.toml: listener[0].backend: ff05::1:3 is not a unicast address", kDualStack},
        Rejected{"BackendIpv6WithoutInsideAddress6", "\"10.0.0.2:7\"", "\"[fd00::2]:7\"",
                 "test.toml: listener[0].backend: fd00::2 is IPv6 and inside.address6 is not "
                 "set"},
        Rejected{"BackendIsInsideAddress6", "\"[fd00::2]:7\"", "\"[fd00::1]:7\"",
                 "test.toml: listener[0].backend: fd00::1 is inside.address6 itself", kDualStack},
        Rejected{"BackendIpv6Unreachable", "\"[fd00::2]:7\"", "\"[fd00:1::2]:7\"",
                 "test.toml: listener[0].backend: fd00:1::2 is off inside's prefix fd00::/64 "
                 "and inside.gateway6 is not set",
                 kDualStack},
        Rejected{"BackendIpv6WithoutIpv6Source", "source_ports = \"20000-59999\"",
                 "source_ports = \"20000-59999\"\nsource_addresses = [\"10.0.0.1\"]",
                 "test.toml: listener[0].backend: fd00::2 is IPv6 and inside.source_addresses "
                 "has no IPv6 address",
                 kDualStack},

        // ---- [[neighbor]] address ----
        Rejected{"NeighborIpv6WithoutInsideAddress6", "address = \"10.0.0.2\"",
                 "address = \"fd00::2\"",
                 "test.toml: neighbor[0].address: fd00::2 is IPv6 and inside.address6 is not "
                 "set"},
        Rejected{"NeighborIpv6OffPrefix", "address = \"fd00::2\"", "address = \"fd00:1::2\"",
                 "test.toml: neighbor[0].address: fd00:1::2 is neither on inside's prefix "
                 "fd00::/64 nor link-local (fe80::/10)",
                 kDualStack},
        // The data path resolves inside next hops only (neighbors.h).
        Rejected{"NeighborIpv6OnOutsidePrefix", "address = \"fd00::2\"",
                 "address = \"2001:db8:1::2\"",
                 "test.toml: neighbor[0].address: 2001:db8:1::2 is neither on inside's prefix "
                 "fd00::/64 nor link-local (fe80::/10)",
                 kDualStack},
        Rejected{"NeighborIpv6Malformed", "address = \"fd00::2\"", "address = \"fd00:::2\"",
                 "test.toml: neighbor[0].address: expected an IPv6 address like "
                 "\"2001:db8::1\", got \"fd00:::2\"",
                 kDualStack},
        Rejected{"NeighborIpv4Mapped", "address = \"fd00::2\"", "address = \"::ffff:10.0.0.2\"",
                 "test.toml: neighbor[0].address: ::ffff:10.0.0.2 is IPv4-mapped "
                 "(::ffff:0:0/96): write 10.0.0.2 for IPv4",
                 kDualStack},
        Rejected{"NeighborIpv6Twice", "mac = \"02:00:00:00:00:02\"\n",
                 "mac = \"02:00:00:00:00:02\"\n[[neighbor]]\naddress = \"fd00:0::2\"\n"
                 "mac = \"02:00:00:00:00:03\"\n",
                 "test.toml: neighbor[1].address: fd00::2 is already neighbor[0].address",
                 kDualStack},

        // ---- [dataplane] fragments and path MTU ----
        Rejected{"FragmentDatagrams0", "fragment_datagrams = 1024", "fragment_datagrams = 0",
                 "test.toml: dataplane.fragment_datagrams: must be in 1..65536, got 0"},
        Rejected{"FragmentDatagrams65537", "fragment_datagrams = 1024",
                 "fragment_datagrams = 65537",
                 "test.toml: dataplane.fragment_datagrams: must be in 1..65536, got 65537"},
        Rejected{"FragmentBuffers63", "fragment_buffers = 2048", "fragment_buffers = 63",
                 "test.toml: dataplane.fragment_buffers: must be in 64..1048576, got 63"},
        Rejected{"FragmentBuffersTooMany", "fragment_buffers = 2048", "fragment_buffers = 1048577",
                 "test.toml: dataplane.fragment_buffers: must be in 64..1048576, got 1048577"},
        Rejected{"FragmentBuffersString", "fragment_buffers = 2048", "fragment_buffers = \"2k\"",
                 "test.toml: dataplane.fragment_buffers: expected an integer, got a string"},
        Rejected{"FragmentTimeout99ms", "fragment_timeout = \"2s\"", "fragment_timeout = \"99ms\"",
                 "test.toml: dataplane.fragment_timeout: must be in 100ms..1m, got \"99ms\""},
        Rejected{"FragmentTimeout61s", "fragment_timeout = \"2s\"", "fragment_timeout = \"61s\"",
                 "test.toml: dataplane.fragment_timeout: must be in 100ms..1m, got \"61s\""},
        Rejected{"FragmentTimeoutNoUnit", "fragment_timeout = \"2s\"", "fragment_timeout = \"2\"",
                 "test.toml: dataplane.fragment_timeout: expected a duration like \"1500ms\", "
                 "\"30s\", \"5m\" or \"1h\", got \"2\""},
        Rejected{"PathMtuTimeout9s", "path_mtu_timeout = \"600s\"", "path_mtu_timeout = \"9s\"",
                 "test.toml: dataplane.path_mtu_timeout: must be in 10s..24h, got \"9s\""},
        Rejected{"PathMtuTimeoutOverADay", "path_mtu_timeout = \"600s\"",
                 "path_mtu_timeout = \"1441m\"",
                 "test.toml: dataplane.path_mtu_timeout: must be in 10s..24h, got \"1441m\""},
        Rejected{"PathMtuTimeoutZero", "path_mtu_timeout = \"600s\"", "path_mtu_timeout = \"0s\"",
                 "test.toml: dataplane.path_mtu_timeout: must be in 10s..24h, got \"0s\""},
        Rejected{"PathMtuTimeoutInteger", "path_mtu_timeout = \"600s\"", "path_mtu_timeout = 600",
                 "test.toml: dataplane.path_mtu_timeout: expected a string, got an integer"}),
    [](const testing::TestParamInfo<Rejected>& info) { return std::string(info.param.name); });

// An IPv4 backend needs an IPv4 inside source address, which an explicit
// pool may leave out.
TEST(Config, Ipv4BackendNeedsAnIpv4SourceAddress) {
  const std::string text =
      edit(edit(kDualStack, "\"[fd00::2]:7\"", "\"10.0.0.2:7\""), "source_ports = \"20000-59999\"",
           "source_ports = \"20000-59999\"\nsource_addresses = [\"fd00::1\"]");
  EXPECT_EQ(rejection(text),
            "test.toml: listener[0].backend: 10.0.0.2 is IPv4 and inside.source_addresses has no "
            "IPv4 address");
}

TEST(LoadConfig, ReadsAFile) {
  const TempFile file(kExample);
  std::string error;
  const std::optional<Config> c = load_config(file.path(), error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->listeners.size(), 1u);
}

TEST(LoadConfig, ErrorsNameThePath) {
  const TempFile file(edit(kExample, "mtu = 1200", "mtu = 1"));
  std::string error;
  EXPECT_FALSE(load_config(file.path(), error));
  EXPECT_EQ(error, file.path() + ": handshake.mtu: must be in 252..9000, got 1");
}

TEST(LoadConfig, MissingFile) {
  std::string error;
  EXPECT_FALSE(load_config("/nonexistent/dtlsgw.toml", error));
  EXPECT_EQ(error, "/nonexistent/dtlsgw.toml: cannot open: No such file or directory");
}

TEST(NetTypes, Ipv4IsInNetworkByteOrder) {
  const std::optional<Ipv4> a = parse_ipv4("192.0.2.1");
  ASSERT_TRUE(a);
  uint8_t bytes[4];
  std::memcpy(bytes, &a->be, sizeof bytes);
  EXPECT_EQ(bytes[0], 192);
  EXPECT_EQ(bytes[1], 0);
  EXPECT_EQ(bytes[2], 2);
  EXPECT_EQ(bytes[3], 1);
  EXPECT_EQ(to_string(*a), "192.0.2.1");
}

TEST(NetTypes, Ipv4RoundTrips) {
  for (const char* text : {"0.0.0.0", "255.255.255.255", "10.0.0.1", "1.22.133.244"}) {
    const std::optional<Ipv4> a = parse_ipv4(text);
    ASSERT_TRUE(a) << text;
    EXPECT_EQ(to_string(*a), text);
  }
}

TEST(NetTypes, Ipv4RejectsOtherSpellings) {
  for (const char* text :
       {"", ".", "1.2.3", "1.2.3.4.", ".1.2.3.4", "1..2.3", "1.2.3.256", "1.2.3.1000", "01.2.3.4",
        "1.2.3.00", "0x1.2.3.4", "1.2.3.4 ", "+1.2.3.4", "1.2.3.-4", "16909060", "::1"}) {
    EXPECT_FALSE(parse_ipv4(text)) << text;
  }
}

TEST(NetTypes, MacAnyCaseLowerOnOutput) {
  const std::optional<MacAddress> m = parse_mac("02:aB:Cd:eF:00:9f");
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, (MacAddress{{0x02, 0xab, 0xcd, 0xef, 0x00, 0x9f}}));
  EXPECT_EQ(to_string(*m), "02:ab:cd:ef:00:9f");
}

TEST(NetTypes, MacRejectsOtherSpellings) {
  for (const char* text :
       {"", "02:00:00:00:00", "02:00:00:00:00:00:00", "02-00-00-00-00-00", "2:00:00:00:00:00:0",
        "02:00:00:00:00:0g", "0200.0000.0000", "02:00:00:00:00:00 ", "02::00:00:00:00:00"}) {
    EXPECT_FALSE(parse_mac(text)) << text;
  }
}

}  // namespace
}  // namespace dtlsgw::dataplane
