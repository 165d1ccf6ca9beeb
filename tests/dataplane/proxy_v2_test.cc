// dataplane/proxy_v2 against a PROXY protocol v2 parser written from
// HAProxy's doc/proxy-protocol.txt (§2.2), not from the writer
// (proxy_v2_parser.h): it reads every field the way a receiver must,
// rejects what the specification rejects, and the tests compare each
// field with what was asked for.
#include "dataplane/proxy_v2.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/contract.h"
#include "tests/dataplane/proxy_v2_parser.h"

namespace dtlsgw::dataplane {
namespace {

using namespace proxy_v2_parser;  // NOLINT

// ---- helpers ----------------------------------------------------------

proxy_v2::Endpoint v4(const char* a, uint16_t port) {
  in_addr addr{};
  EXPECT_EQ(inet_pton(AF_INET, a, &addr), 1);
  return proxy_v2::ipv4_endpoint(addr.s_addr, port);
}
proxy_v2::Endpoint v6(const char* a, uint16_t port) {
  proxy_v2::Endpoint e;
  e.ipv6 = true;
  EXPECT_EQ(inet_pton(AF_INET6, a, e.address.data()), 1);
  e.port = port;
  return e;
}
proxy_v2::Identity identity(proxy_v2::Identity::Kind kind, const std::string& full,
                            size_t keep = SIZE_MAX) {
  proxy_v2::Identity id;
  id.kind = kind;
  id.name = std::string_view(full).substr(0, keep);
  id.truncated = id.name.size() < full.size();
  id.full_length = static_cast<uint16_t>(full.size());
  id.hash = contract::identity_hash(full.data(), full.size());
  return id;
}
std::vector<uint8_t> write(const proxy_v2::HeaderFields& f) {
  std::vector<uint8_t> out(proxy_v2::header_length(f) + 7, 0xAB);  // room to spare
  const size_t n = proxy_v2::write_header(f, out);
  EXPECT_EQ(n, proxy_v2::header_length(f));
  out.resize(n);
  return out;
}
uint64_t be64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = v << 8 | p[i];
  }
  return v;
}
void expect_digest(const Tlv* t, uint8_t kind, bool truncated, const std::string& full) {
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->value.size(), 12u);
  EXPECT_EQ(t->value[0], kind);
  EXPECT_EQ(t->value[1], truncated ? 1 : 0);
  EXPECT_EQ(size_t{t->value[2]} << 8 | t->value[3], full.size());
  EXPECT_EQ(be64(t->value.data() + 4), contract::identity_hash(full.data(), full.size()));
}

// ---- tests ------------------------------------------------------------

TEST(ProxyV2, Section2_2_Ipv4DgramWithoutIdentity) {
  proxy_v2::HeaderFields f;
  f.source = v4("198.51.100.7", 50123);
  f.destination = v4("192.0.2.1", 4433);
  const auto bytes = write(f);
  const auto p = parse(bytes);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->header_length, bytes.size());
  EXPECT_EQ(bytes.size(), 28u);  // 16 + 12, no TLV
  EXPECT_EQ(p->family, AF_INET);
  EXPECT_EQ(p->transport, 2);  // DGRAM: the backend sees UDP
  EXPECT_EQ(p->source, "198.51.100.7");
  EXPECT_EQ(p->destination, "192.0.2.1");
  EXPECT_EQ(p->source_port, 50123);
  EXPECT_EQ(p->destination_port, 4433);
  EXPECT_TRUE(p->tlvs.empty());
}

TEST(ProxyV2, Section2_2_Ipv6DgramWithPskIdentityAndUniqueId) {
  const std::string psk = "sensor-42@example";
  proxy_v2::HeaderFields f;
  f.source = v6("2001:db8::7", 5684);
  f.destination = v6("2001:db8:1::1", 5684);
  f.identity = identity(proxy_v2::Identity::Kind::psk, psk);
  const proxy_v2::SessionId id = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  f.session_id = &id;
  const auto bytes = write(f);
  const auto p = parse(bytes);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->header_length, bytes.size());
  EXPECT_EQ(p->family, AF_INET6);
  EXPECT_EQ(p->transport, 2);
  EXPECT_EQ(p->source, "2001:db8::7");
  EXPECT_EQ(p->destination, "2001:db8:1::1");
  EXPECT_EQ(p->source_port, 5684);
  EXPECT_EQ(p->destination_port, 5684);
  // §2.2.3 PP2_TYPE_UNIQUE_ID.
  const Tlv* unique = find(p->tlvs, 0x05);
  ASSERT_NE(unique, nullptr);
  EXPECT_EQ(unique->value, std::vector<uint8_t>(id.begin(), id.end()));
  // §2.2.5 PP2_TYPE_SSL: TLS client, no certificate, version DTLSv1.2.
  const Tlv* ssl_tlv = find(p->tlvs, 0x20);
  ASSERT_NE(ssl_tlv, nullptr);
  const auto ssl = parse_ssl(*ssl_tlv);
  ASSERT_TRUE(ssl);
  EXPECT_EQ(ssl->client, 0x01);
  EXPECT_EQ(ssl->verify, 0u);
  EXPECT_EQ(text(find(ssl->sub, 0x21)), "DTLSv1.2");
  EXPECT_EQ(find(ssl->sub, 0x22), nullptr);  // no certificate, no CN
  EXPECT_EQ(text(find(p->tlvs, 0xE0)), psk);
  EXPECT_EQ(find(p->tlvs, 0xE1), nullptr);
  expect_digest(find(p->tlvs, 0xE2), 1, false, psk);
}

TEST(ProxyV2, Section2_2_5_CertificateSubjectAndCommonName) {
  const std::string subject = "CN=dev-7,OU=Meters,O=Example";
  proxy_v2::HeaderFields f;
  f.source = v4("203.0.113.9", 40000);
  f.destination = v4("192.0.2.1", 443);
  f.identity = identity(proxy_v2::Identity::Kind::certificate, subject);
  const auto p = parse(write(f));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->family, AF_INET);
  EXPECT_EQ(p->source, "203.0.113.9");
  EXPECT_EQ(p->source_port, 40000);
  EXPECT_EQ(find(p->tlvs, 0x05), nullptr);
  const auto ssl = parse_ssl(*find(p->tlvs, 0x20));
  ASSERT_TRUE(ssl);
  EXPECT_EQ(ssl->client, 0x01 | 0x02 | 0x04);
  EXPECT_EQ(ssl->verify, 0u);
  EXPECT_EQ(text(find(ssl->sub, 0x21)), "DTLSv1.2");
  EXPECT_EQ(text(find(ssl->sub, 0x22)), "dev-7");
  EXPECT_EQ(text(find(p->tlvs, 0xE1)), subject);
  EXPECT_EQ(find(p->tlvs, 0xE0), nullptr);
  expect_digest(find(p->tlvs, 0xE2), 2, false, subject);
}

TEST(ProxyV2, TruncatedSubjectKeepsOnlyAWholeCommonName) {
  // The dataplane knows a 20-byte prefix of long identities
  // (contract::Identity): a CN the prefix cuts is left out, not sent short.
  const std::string cut = "O=Example Corp,CN=device-000123456";
  proxy_v2::HeaderFields f;
  f.source = v4("203.0.113.9", 1);
  f.destination = v4("192.0.2.1", 2);
  f.identity = identity(proxy_v2::Identity::Kind::certificate, cut, 20);
  auto p = parse(write(f));
  ASSERT_TRUE(p);
  auto ssl = parse_ssl(*find(p->tlvs, 0x20));
  ASSERT_TRUE(ssl);
  EXPECT_EQ(find(ssl->sub, 0x22), nullptr);
  EXPECT_EQ(text(find(p->tlvs, 0xE1)), cut.substr(0, 20));
  expect_digest(find(p->tlvs, 0xE2), 2, true, cut);

  const std::string whole = "CN=dev1,O=Example Corporation International";
  f.identity = identity(proxy_v2::Identity::Kind::certificate, whole, 20);
  p = parse(write(f));
  ASSERT_TRUE(p);
  ssl = parse_ssl(*find(p->tlvs, 0x20));
  ASSERT_TRUE(ssl);
  EXPECT_EQ(text(find(ssl->sub, 0x22)), "dev1");
  expect_digest(find(p->tlvs, 0xE2), 2, true, whole);
}

TEST(ProxyV2, Rfc2253CommonName) {
  EXPECT_EQ(proxy_v2::common_name("CN=a"), "a");
  EXPECT_EQ(proxy_v2::common_name("O=x,CN=b,C=DE"), "b");
  EXPECT_EQ(proxy_v2::common_name("cn=c+UID=1,O=x"), "c");
  EXPECT_EQ(proxy_v2::common_name("CN=a\\,b,O=x"), "a\\,b");  // escaped ','
  EXPECT_EQ(proxy_v2::common_name("O=CN=x"), "");  // not at an attribute start
  EXPECT_EQ(proxy_v2::common_name("O=x"), "");
  EXPECT_EQ(proxy_v2::common_name(""), "");
  EXPECT_EQ(proxy_v2::common_name("CN=trailing\\"), "trailing\\");
}

TEST(ProxyV2, NeverWritesAPartialHeader) {
  const std::string psk = "id";
  proxy_v2::HeaderFields f;
  f.source = v4("198.51.100.7", 1);
  f.destination = v4("192.0.2.1", 2);
  f.identity = identity(proxy_v2::Identity::Kind::psk, psk);
  const size_t need = proxy_v2::header_length(f);
  std::vector<uint8_t> out(need - 1, 0xCC);
  EXPECT_EQ(proxy_v2::write_header(f, out), 0u);
  EXPECT_EQ(out, std::vector<uint8_t>(need - 1, 0xCC));
  // Mixed families cannot be one header.
  f.destination = v6("2001:db8::1", 2);
  out.assign(200, 0);
  EXPECT_EQ(proxy_v2::write_header(f, out), 0u);
}

TEST(ProxyV2, ParserRejectsWhatTheSpecificationRejects) {
  // The parser itself must be able to fail: each corruption of a good
  // header is caught.
  proxy_v2::HeaderFields f;
  f.source = v4("198.51.100.7", 1);
  f.destination = v4("192.0.2.1", 2);
  const std::string psk = "abc";
  f.identity = identity(proxy_v2::Identity::Kind::psk, psk);
  const auto good = write(f);
  ASSERT_TRUE(parse(good));
  auto bad = good;
  bad[4] = 0x01;  // signature
  EXPECT_FALSE(parse(bad));
  bad = good;
  bad[12] = 0x11;  // version 1
  EXPECT_FALSE(parse(bad));
  bad = good;
  bad[12] = 0x22;  // command 2
  EXPECT_FALSE(parse(bad));
  bad = good;
  bad[13] = 0x32;  // AF_UNIX is not what we send
  EXPECT_FALSE(parse(bad));
  bad = good;
  bad[15] = static_cast<uint8_t>(bad[15] + 1);  // longer than the datagram
  EXPECT_FALSE(parse(bad));
  bad = good;
  bad[15] = static_cast<uint8_t>(bad[15] - 1);  // the last TLV runs past len
  EXPECT_FALSE(parse(bad));
}

TEST(ProxyV2, EveryLengthFieldMatchesOverIdentitySizes) {
  // PSK identities of 0..300 bytes (RFC 4279 allows up to 2^16-1): every
  // length the parser reads agrees with what the writer put.
  for (size_t n = 0; n <= 300; n += 7) {
    std::string psk(n, 'x');
    for (size_t i = 0; i < n; ++i) {
      psk[i] = static_cast<char>('a' + i % 26);
    }
    proxy_v2::HeaderFields f;
    f.source = v4("10.1.2.3", static_cast<uint16_t>(n));
    f.destination = v4("10.9.9.9", 9);
    f.identity = identity(proxy_v2::Identity::Kind::psk, psk);
    const auto p = parse(write(f));
    ASSERT_TRUE(p) << n;
    EXPECT_EQ(text(find(p->tlvs, 0xE0)), psk);
    EXPECT_EQ(p->source_port, n);
    expect_digest(find(p->tlvs, 0xE2), 1, false, psk);
  }
}


// ---- HAProxy as a second, real parser ---------------------------------
//
// HAProxy's `accept-proxy` reads the same header on a TCP connection. It
// keeps the addresses only for TCP families (it does not carry datagrams),
// so byte 13 goes from DGRAM (0x12/0x22) to STREAM (0x11/0x21) — the one
// change — and an HTTP frontend answers with what HAProxy parsed: source,
// destination, ports and PP2_TYPE_UNIQUE_ID. HAProxy checks the signature,
// version, command, length and every TLV's length on the way (a TLV past
// the header's end is refused). Skipped when haproxy is not installed.

constexpr const char* kHaproxy = "/usr/sbin/haproxy";

class HaproxyOracle : public testing::Test {
 protected:
  void SetUp() override {
    if (access(kHaproxy, X_OK) != 0) {
      GTEST_SKIP() << "haproxy not installed (apt-get install haproxy)";
    }
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(a);
    ASSERT_EQ(bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ASSERT_EQ(getsockname(probe, reinterpret_cast<sockaddr*>(&a), &length), 0);
    port_ = ntohs(a.sin_port);
    close(probe);
    char path[] = "/tmp/dtlsgw_haproxy_XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    config_ = path;
    std::ofstream(config_) << "defaults\n  mode http\n  timeout connect 1s\n"
                              "  timeout client 5s\n  timeout server 5s\n"
                              "frontend f\n  bind 127.0.0.1:" << port_ << " accept-proxy\n"
                              "  http-request return status 200 content-type text/plain "
                              "lf-string \"%[src] %[src_port] %[dst] %[dst_port] "
                              "%[fc_pp_unique_id,hex]\"\n";
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      execl(kHaproxy, kHaproxy, "-db", "-q", "-f", config_.c_str(), nullptr);
      _exit(127);
    }
    for (int i = 0; i < 100 && !ready(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    if (!config_.empty()) {
      std::remove(config_.c_str());
    }
  }
  bool ready() {
    const int s = connect_to();
    if (s < 0) {
      return false;
    }
    close(s);
    return true;
  }
  int connect_to() {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port_);
    if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      close(s);
      return -1;
    }
    return s;
  }
  // HAProxy's answer to `header` followed by an HTTP request ("" if it
  // closed the connection: a header it refused).
  std::string exchange(std::vector<uint8_t> header) {
    header[13] = static_cast<uint8_t>((header[13] & 0xF0) | 0x1);  // DGRAM → STREAM
    const std::string request = "GET / HTTP/1.0\r\n\r\n";
    header.insert(header.end(), request.begin(), request.end());
    const int s = connect_to();
    EXPECT_GE(s, 0);
    if (s < 0) {
      return "";
    }
    EXPECT_EQ(send(s, header.data(), header.size(), 0), static_cast<ssize_t>(header.size()));
    std::string reply;
    char buffer[4096];
    ssize_t n;
    while ((n = recv(s, buffer, sizeof(buffer), 0)) > 0) {
      reply.append(buffer, static_cast<size_t>(n));
    }
    close(s);
    if (reply.rfind("HTTP/1.", 0) != 0 || reply.find(" 200 ") == std::string::npos) {
      return "";
    }
    const size_t body = reply.find("\r\n\r\n");
    return body == std::string::npos ? "" : reply.substr(body + 4);
  }

  uint16_t port_ = 0;
  std::string config_;
  pid_t pid_ = -1;
};

TEST_F(HaproxyOracle, AcceptsOurIpv4HeaderWithPskIdentity) {
  const std::string psk = "sensor-42@example";
  proxy_v2::HeaderFields f;
  f.source = v4("198.51.100.7", 50123);
  f.destination = v4("192.0.2.1", 4433);
  f.identity = identity(proxy_v2::Identity::Kind::psk, psk);
  const proxy_v2::SessionId id = {0xc6, 0x33, 0x64, 0x07, 0xc3, 0xcb, 0x11, 0x51, 0, 0, 0, 42};
  f.session_id = &id;
  EXPECT_EQ(exchange(write(f)), "198.51.100.7 50123 192.0.2.1 4433 C6336407C3CB11510000002A");
}

TEST_F(HaproxyOracle, AcceptsOurIpv6HeaderWithCertificateIdentity) {
  const std::string subject = "CN=dev-7,OU=Meters,O=Example Utilities International";
  proxy_v2::HeaderFields f;
  f.source = v6("2001:db8::7", 5684);
  f.destination = v6("2001:db8:1::1", 5685);
  f.identity = identity(proxy_v2::Identity::Kind::certificate, subject, 20);
  const proxy_v2::SessionId id = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  f.session_id = &id;
  EXPECT_EQ(exchange(write(f)), "2001:db8::7 5684 2001:db8:1::1 5685 0102030405060708090A0B0C");
}

TEST_F(HaproxyOracle, RefusesACorruptedHeader) {
  // The oracle can say no: one TLV length made to run past the header.
  proxy_v2::HeaderFields f;
  f.source = v4("198.51.100.7", 1);
  f.destination = v4("192.0.2.1", 2);
  const std::string psk = "abc";
  f.identity = identity(proxy_v2::Identity::Kind::psk, psk);
  auto bytes = write(f);
  ASSERT_NE(exchange(bytes), "");
  bytes[16 + 12 + 2] = static_cast<uint8_t>(bytes[16 + 12 + 2] + 100);  // first TLV's length
  EXPECT_EQ(exchange(bytes), "");
}

}  // namespace
}  // namespace dtlsgw::dataplane
