// The static-keys file (dataplane/static_keys.h): both directives, the
// derived sessions' addresses and keys, and every refusal.
#include "dataplane/static_keys.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace dtlsgw::dataplane {
namespace {

using record::Aead;

constexpr char kKey16[] = "000102030405060708090a0b0c0d0e0f";
constexpr char kKey32[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr char kSeed[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

Ipv4 ip(uint32_t host_order) { return Ipv4{htonl(host_order)}; }

std::string hex(const uint8_t* p, size_t n) {
  std::string out;
  char buf[3];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", p[i]);
    out += buf;
  }
  return out;
}

std::string session_line(std::string peer, std::string extra = "") {
  return "session peer=" + peer + " listener=4433 suite=aes128_gcm client_key=" + kKey16 +
         " client_iv=01020304 server_key=ffeeddccbbaa99887766554433221100 server_iv=a0b0c0d0" +
         extra + "\n";
}

std::string sessions_line(std::string count, std::string first_peer, std::string per_address,
                          std::string listener = "4433", std::string seed = kSeed) {
  return "sessions count=" + count + " first_peer=" + first_peer +
         " ports_per_address=" + per_address + " listener=" + listener +
         " suite=aes128_gcm seed=" + seed + "\n";
}

std::optional<StaticKeys> parse(const std::string& text, std::string& error) {
  return StaticKeys::parse(text, "keys.txt", error);
}

// Parses `text`, expects a refusal whose message starts "keys.txt:<line>: "
// and contains `problem`; returns the message.
std::string refused(const std::string& text, size_t line, const std::string& problem) {
  std::string error;
  const auto keys = parse(text, error);
  EXPECT_FALSE(keys.has_value()) << text;
  const std::string prefix = "keys.txt:" + std::to_string(line) + ": ";
  EXPECT_EQ(error.rfind(prefix, 0), 0u) << error;
  EXPECT_NE(error.find(problem), std::string::npos) << error;
  return error;
}

TEST(StaticKeysParse, ExplicitSession) {
  const std::string text =
      "# benchmark keys\n"
      "\n"
      "  \t" +
      session_line("198.18.0.1:40000", "   # trailing comment") +
      "session\tpeer=198.18.0.2:1 listener=65535 suite=chacha20_poly1305 client_key=" + kKey32 +
      " client_iv=0102030405060708090a0b0c server_key=" + kKey32 +
      " server_iv=0C0B0A090807060504030201\r\n";
  std::string error;
  const auto keys = parse(text, error);
  ASSERT_TRUE(keys) << error;
  EXPECT_EQ(error, "");
  ASSERT_EQ(keys->size(), 2u);

  StaticSession s;
  keys->session(0, s);
  EXPECT_EQ(s.peer, ip(0xc6120001));
  EXPECT_EQ(s.peer_port, 40000);
  EXPECT_EQ(s.listener_port, 4433);
  EXPECT_EQ(s.aead, Aead::aes128_gcm);
  EXPECT_EQ(hex(s.client_write_key, 32), std::string(kKey16) + std::string(32, '0'));
  EXPECT_EQ(hex(s.server_write_key, 16), "ffeeddccbbaa99887766554433221100");
  EXPECT_EQ(hex(s.client_write_iv, 12), "010203040000000000000000");
  EXPECT_EQ(hex(s.server_write_iv, 12), "a0b0c0d00000000000000000");

  keys->session(1, s);
  EXPECT_EQ(s.peer, ip(0xc6120002));
  EXPECT_EQ(s.peer_port, 1);
  EXPECT_EQ(s.listener_port, 65535);
  EXPECT_EQ(s.aead, Aead::chacha20_poly1305);
  EXPECT_EQ(hex(s.client_write_key, 32), kKey32);
  EXPECT_EQ(hex(s.client_write_iv, 12), "0102030405060708090a0b0c");
  EXPECT_EQ(hex(s.server_write_iv, 12), "0c0b0a090807060504030201");
}

TEST(StaticKeysParse, EverySuiteNameAndTheRecordLayerNames) {
  const std::pair<const char*, Aead> suites[] = {
      {"aes128_gcm", Aead::aes128_gcm},
      {"aes256_gcm", Aead::aes256_gcm},
      {"chacha20_poly1305", Aead::chacha20_poly1305},
      {"aes128_ccm", Aead::aes128_ccm},
      {"aes128_ccm8", Aead::aes128_ccm8},
      {"AES-128-GCM", Aead::aes128_gcm},
  };
  for (const auto& [name, aead] : suites) {
    std::string error;
    const auto keys =
        parse(std::string("sessions count=1 first_peer=10.0.0.1:1 ports_per_address=1 "
                          "listener=1 suite=") +
                  name + " seed=" + kSeed,
              error);
    ASSERT_TRUE(keys) << name << ": " << error;
    StaticSession s;
    keys->session(0, s);
    EXPECT_EQ(s.aead, aead) << name;
  }
}

TEST(StaticKeysParse, EmptyFileHasNoSessions) {
  std::string error;
  const auto keys = parse("# nothing\n\n   \n", error);
  ASSERT_TRUE(keys) << error;
  EXPECT_EQ(keys->size(), 0u);
}

// Session i: address first + i / ports_per_address, port first + i % it.
TEST(StaticKeysParse, DerivedSessionsWrapToTheNextAddress) {
  std::string error;
  const auto keys = parse(sessions_line("40", "198.18.0.255:10000", "16"), error);
  ASSERT_TRUE(keys) << error;
  ASSERT_EQ(keys->size(), 40u);
  struct Expect {
    size_t index;
    uint32_t address;
    uint16_t port;
  };
  const Expect expects[] = {
      {0, 0xc61200ff, 10000},   // first
      {15, 0xc61200ff, 10015},  // ports_per_address - 1
      {16, 0xc6120100, 10000},  // ports_per_address: next address, across an octet
      {17, 0xc6120100, 10001}, {32, 0xc6120101, 10000}, {39, 0xc6120101, 10007},  // last
  };
  uint8_t seed[32];
  for (int i = 0; i < 32; ++i) {
    seed[i] = static_cast<uint8_t>(i);
  }
  for (const Expect& e : expects) {
    StaticSession s;
    keys->session(e.index, s);
    EXPECT_EQ(s.peer, ip(e.address)) << e.index;
    EXPECT_EQ(s.peer_port, e.port) << e.index;
    EXPECT_EQ(s.listener_port, 4433);
    EXPECT_EQ(s.aead, Aead::aes128_gcm);
    // Keys come from derive_keys with the index within the directive.
    StaticSession d;
    d.aead = Aead::aes128_gcm;
    StaticKeys::derive_keys(seed, static_cast<uint32_t>(e.index), d);
    EXPECT_EQ(hex(s.client_write_key, 32), hex(d.client_write_key, 32));
    EXPECT_EQ(hex(s.server_write_key, 32), hex(d.server_write_key, 32));
    EXPECT_EQ(hex(s.client_write_iv, 12), hex(d.client_write_iv, 12));
    EXPECT_EQ(hex(s.server_write_iv, 12), hex(d.server_write_iv, 12));
  }
}

TEST(StaticKeysParse, DirectivesNumberSessionsInFileOrder) {
  std::string error;
  const auto keys =
      parse(session_line("10.0.0.1:5") + sessions_line("3", "10.0.1.1:7", "2") +
                session_line("10.0.0.2:5") + sessions_line("2", "10.0.2.1:9", "65527"),
            error);
  ASSERT_TRUE(keys) << error;
  ASSERT_EQ(keys->size(), 7u);
  const std::pair<uint32_t, uint16_t> expect[] = {
      {0x0a000001, 5}, {0x0a000101, 7}, {0x0a000101, 8},  {0x0a000102, 7},
      {0x0a000002, 5}, {0x0a000201, 9}, {0x0a000201, 10},
  };
  for (size_t i = 0; i < 7; ++i) {
    StaticSession s;
    keys->session(i, s);
    EXPECT_EQ(s.peer, ip(expect[i].first)) << i;
    EXPECT_EQ(s.peer_port, expect[i].second) << i;
  }
  // Derived keys restart at index 0 in each directive.
  StaticSession a;
  StaticSession b;
  keys->session(1, a);
  keys->session(5, b);
  EXPECT_EQ(hex(a.client_write_key, 16), hex(b.client_write_key, 16));
}

TEST(StaticKeysParse, SixteenMillionSessionsCostNoMemoryPerSession) {
  std::string error;
  const auto keys = parse(sessions_line("16777216", "10.0.0.0:1", "65535"), error);
  ASSERT_TRUE(keys) << error;
  ASSERT_EQ(keys->size(), 16777216u);
  StaticSession s;
  keys->session(16777215, s);
  // 16777215 = 256 * 65535 + 255
  EXPECT_EQ(s.peer, ip(0x0a000100));
  EXPECT_EQ(s.peer_port, 256);
}

TEST(StaticKeysParse, LastAddressAndLastPortAreUsable) {
  std::string error;
  auto keys = parse(sessions_line("2", "255.255.255.254:65534", "2"), error);
  ASSERT_TRUE(keys) << error;
  keys = parse(sessions_line("4", "255.255.255.254:65534", "2"), error);
  ASSERT_TRUE(keys) << error;
  StaticSession s;
  keys->session(3, s);
  EXPECT_EQ(s.peer, ip(0xffffffff));
  EXPECT_EQ(s.peer_port, 65535);
}

TEST(StaticKeysLoad, ReadsAFileAndNamesItInErrors) {
  const std::string path = ::testing::TempDir() + "static_keys_test.txt";
  {
    std::ofstream f(path);
    f << session_line("10.0.0.1:5") << "bogus\n";
  }
  std::string error;
  EXPECT_FALSE(StaticKeys::load(path, error));
  EXPECT_EQ(error, path + ":2: unknown directive 'bogus' (expected 'session' or 'sessions')");
  {
    std::ofstream f(path);
    f << session_line("10.0.0.1:5");
  }
  const auto keys = StaticKeys::load(path, error);
  ASSERT_TRUE(keys) << error;
  EXPECT_EQ(keys->size(), 1u);
  std::remove(path.c_str());

  EXPECT_FALSE(StaticKeys::load(path + ".missing", error));
  EXPECT_EQ(error.rfind(path + ".missing: cannot open", 0), 0u) << error;
}

// HMAC-SHA-256(seed, "dtlsgw static keys" ‖ uint32_be(index) ‖ uint8(block)).
// Expected values computed independently, once, with python3's hmac module:
//   k = b''.join(hmac.new(seed, b"dtlsgw static keys" +
//                struct.pack(">IB", index, b), hashlib.sha256).digest()
//                for b in range(3))
// and block 0 for index 0x01020304 checked with
//   printf 'dtlsgw static keys\x01\x02\x03\x04\x00' |
//     openssl mac -digest SHA256 -macopt hexkey:<seed> HMAC
TEST(StaticKeysDerive, KnownAnswer) {
  uint8_t seed[32];
  for (int i = 0; i < 32; ++i) {
    seed[i] = static_cast<uint8_t>(i);
  }
  StaticSession s;
  s.aead = Aead::aes128_gcm;
  StaticKeys::derive_keys(seed, 0x01020304, s);
  EXPECT_EQ(hex(s.client_write_key, 32),
            "910e18989d19c2d51d7996aeab72780d00000000000000000000000000000000");
  EXPECT_EQ(hex(s.server_write_key, 32),
            "cf55c6c3037511ce2013ac82328f805600000000000000000000000000000000");
  EXPECT_EQ(hex(s.client_write_iv, 12), "fa4ea38c0000000000000000");
  EXPECT_EQ(hex(s.server_write_iv, 12), "32f977d40000000000000000");

  s.aead = Aead::chacha20_poly1305;
  StaticKeys::derive_keys(seed, 7, s);
  EXPECT_EQ(hex(s.client_write_key, 32),
            "7b6e0ee21e5978d534b9056bc9972be5cb76a9261f86348c44ed6722798ec2b2");
  EXPECT_EQ(hex(s.server_write_key, 32),
            "2a3ff3a3f5323d97d438f0611919ddd50f255650d53bf72d6a7dd308343bb9b8");
  EXPECT_EQ(hex(s.client_write_iv, 12), "3311924af2160d08adc766dd");
  EXPECT_EQ(hex(s.server_write_iv, 12), "abf07304fe0efb0e56132ecd");

  // Again after another seed was used on this thread (the MAC context
  // caches the last key).
  uint8_t other[32] = {1};
  StaticKeys::derive_keys(other, 7, s);
  s.aead = Aead::aes128_gcm;
  StaticKeys::derive_keys(seed, 0x01020304, s);
  EXPECT_EQ(hex(s.client_write_key, 16), "910e18989d19c2d51d7996aeab72780d");
}

TEST(StaticKeysDerive, DeterministicAndDistinctPerIndexAndSeed) {
  uint8_t seed[32] = {};
  uint8_t other_seed[32] = {};
  other_seed[31] = 1;
  std::set<std::string> seen;
  for (uint32_t index : {0u, 1u, 2u, 255u, 256u, 65535u, 16777215u}) {
    StaticSession a;
    StaticSession b;
    a.aead = b.aead = Aead::aes256_gcm;
    StaticKeys::derive_keys(seed, index, a);
    StaticKeys::derive_keys(seed, index, b);
    const std::string all = hex(a.client_write_key, 32) + hex(a.server_write_key, 32) +
                            hex(a.client_write_iv, 12) + hex(a.server_write_iv, 12);
    EXPECT_EQ(all, hex(b.client_write_key, 32) + hex(b.server_write_key, 32) +
                       hex(b.client_write_iv, 12) + hex(b.server_write_iv, 12));
    EXPECT_NE(hex(a.client_write_key, 32), hex(a.server_write_key, 32));
    EXPECT_TRUE(seen.insert(all).second) << index;
    StaticKeys::derive_keys(other_seed, index, b);
    EXPECT_NE(hex(a.client_write_key, 32), hex(b.client_write_key, 32)) << index;
  }
}

TEST(StaticKeysErrors, Directives) {
  refused("hello world\n", 1, "unknown directive 'hello'");
  refused("# comment\n\n" + session_line("10.0.0.1:1") + "Session\n", 4,
          "unknown directive 'Session'");
  refused("session peer=10.0.0.1:1 colour=blue\n", 1, "unknown key 'colour' in session");
  refused(sessions_line("1", "10.0.0.1:1", "1").substr(0, 9) + "count=1 peer=10.0.0.1:1\n", 1,
          "unknown key 'peer' in sessions");
  refused("session peer=10.0.0.1:1 peer=10.0.0.1:2\n", 1, "key 'peer' given twice");
  refused("session peer=10.0.0.1:1 listener 4433\n", 1, "expected key=value");
  refused("session =4433\n", 1, "expected key=value");
}

TEST(StaticKeysErrors, MissingKeys) {
  const std::string full = session_line("10.0.0.1:1");
  for (const char* key :
       {"peer", "listener", "suite", "client_key", "client_iv", "server_key", "server_iv"}) {
    std::string line = full;
    const size_t at = line.find(std::string(" ") + key + "=");
    ASSERT_NE(at, std::string::npos) << key;
    line.erase(at, line.find(' ', at + 1) - at);
    refused(line, 1, std::string("missing key '") + key + "' in session");
  }
  const std::string derived = sessions_line("1", "10.0.0.1:1", "1");
  for (const char* key :
       {"count", "first_peer", "ports_per_address", "listener", "suite", "seed"}) {
    std::string line = derived;
    const size_t at = line.find(std::string(" ") + key + "=");
    ASSERT_NE(at, std::string::npos) << key;
    const size_t end = line.find(' ', at + 1);
    line.erase(at, (end == std::string::npos ? line.size() - 1 : end) - at);
    refused(line, 1, std::string("missing key '") + key + "' in sessions");
  }
}

TEST(StaticKeysErrors, HexOfTheWrongLengthForTheSuite) {
  // A 32-byte key where aes128_gcm needs 16.
  std::string line = session_line("10.0.0.1:1");
  line.replace(line.find(kKey16), 32, kKey32);
  std::string error = refused(line, 1, "client_key: 64 hex digits, aes128_gcm needs 32");
  // Key material is never quoted.
  EXPECT_EQ(error.find(kKey32), std::string::npos);

  line = session_line("10.0.0.1:1");
  line.replace(line.find("client_iv=01020304"), 18, "client_iv=0102030405060708090a0b0c");
  refused(line, 1, "client_iv: 24 hex digits, aes128_gcm needs 8");
  line = session_line("10.0.0.1:1");
  line.replace(line.find("server_iv=a0b0c0d0"), 18, "server_iv=a0b0c0");
  refused(line, 1, "server_iv: 6 hex digits");
  line = session_line("10.0.0.1:1");
  line.replace(line.find("server_key=ff"), 13, "server_key=f");
  refused(line, 1, "server_key: 31 hex digits");
  // chacha20_poly1305 needs 32-byte keys and 12-byte IVs.
  line = session_line("10.0.0.1:1");
  line.replace(line.find("aes128_gcm"), 10, "chacha20_poly1305");
  refused(line, 1, "client_key: 32 hex digits, chacha20_poly1305 needs 64");
  // Not hex at all.
  line = session_line("10.0.0.1:1");
  line.replace(line.find(kKey16), 2, "0g");
  refused(line, 1, "client_key: not hexadecimal");

  refused(sessions_line("1", "10.0.0.1:1", "1", "4433", std::string(kSeed).substr(2)), 1,
          "seed: 62 hex digits");
  refused(sessions_line("1", "10.0.0.1:1", "1", "4433", std::string(kSeed) + "00"), 1,
          "seed: 66 hex digits");
  refused(sessions_line("1", "10.0.0.1:1", "1", "4433", "x" + std::string(kSeed).substr(1)), 1,
          "seed: not hexadecimal");
}

TEST(StaticKeysErrors, Values) {
  std::string line = session_line("10.0.0.1:1");
  line.replace(line.find("aes128_gcm"), 10, "aes128_gcm_sha256");
  refused(line, 1, "suite: unknown 'aes128_gcm_sha256'");
  for (const char* peer : {"10.0.0.1", "10.0.0.1:0", "10.0.0.1:65536", "10.0.0.01:1", "10.0.0:1",
                           "10.0.0.256:1", "10.0.0.1:-1", "10.0.0.1:+1", ":1", "host:1"}) {
    refused(session_line(peer), 1, "peer: expected a.b.c.d:port");
    refused(sessions_line("1", peer, "1"), 1, "first_peer: expected a.b.c.d:port");
  }
  for (const char* listener : {"0", "65536", "x", "", "-1"}) {
    refused(sessions_line("1", "10.0.0.1:1", "1", listener), 1, "listener: not a port number");
  }
}

TEST(StaticKeysErrors, Counts) {
  refused(sessions_line("0", "10.0.0.1:1", "1"), 1, "count: must be 1..16777216");
  refused(sessions_line("16777217", "10.0.0.1:1", "1"), 1, "count: must be 1..16777216");
  refused(sessions_line("99999999999999999999999", "10.0.0.1:1", "1"), 1,
          "count: not a decimal number");
  refused(sessions_line("1e3", "10.0.0.1:1", "1"), 1, "count: not a decimal number");
  // The total over all directives.
  refused(sessions_line("16777216", "10.0.0.0:1", "65535") + session_line("11.0.0.1:1"), 2,
          "more than 16777216 sessions in total");
  refused(sessions_line("10000000", "10.0.0.0:1", "1000") +
              sessions_line("6777217", "11.0.0.0:1", "1000"),
          2, "more than 16777216 sessions in total");
  std::string error;
  EXPECT_TRUE(parse(sessions_line("10000000", "10.0.0.0:1", "1000") +
                        sessions_line("6777216", "11.0.0.0:1", "1000"),
                    error))
      << error;
}

TEST(StaticKeysErrors, PortsPerAddress) {
  refused(sessions_line("1", "10.0.0.1:1", "0"), 1, "ports_per_address: must be 1..65535");
  refused(sessions_line("1", "10.0.0.1:1", "65536"), 1, "ports_per_address: must be 1..65535");
  // first_port + ports_per_address - 1 <= 65535.
  std::string error;
  EXPECT_TRUE(parse(sessions_line("1", "10.0.0.1:65000", "536"), error)) << error;
  refused(sessions_line("1", "10.0.0.1:65000", "537"), 1,
          "first_peer port + ports_per_address - 1 exceeds 65535");
  EXPECT_TRUE(parse(sessions_line("1", "10.0.0.1:1", "65535"), error)) << error;
  refused(sessions_line("1", "10.0.0.1:2", "65535"), 1, "exceeds 65535");
}

TEST(StaticKeysErrors, AddressRangePastTheLastAddress) {
  std::string error;
  EXPECT_TRUE(parse(sessions_line("1", "255.255.255.255:1", "1"), error)) << error;
  refused(sessions_line("2", "255.255.255.255:1", "1"), 1,
          "the peer addresses run past 255.255.255.255");
  EXPECT_TRUE(parse(sessions_line("32", "255.255.255.254:1", "16"), error)) << error;
  refused(sessions_line("33", "255.255.255.254:1", "16"), 1, "run past 255.255.255.255");
  refused(sessions_line("16777216", "255.255.0.0:1", "1"), 1, "run past 255.255.255.255");
}

TEST(StaticKeysErrors, DuplicateExplicitSessions) {
  refused(session_line("10.0.0.1:1") + "# x\n" + session_line("10.0.0.1:1"), 3,
          "duplicate session: peer 10.0.0.1:1 on listener 4433 is also on line 1");
  // The same peer on another listener, or another port, is a different session.
  std::string other_listener = session_line("10.0.0.1:1");
  other_listener.replace(other_listener.find("listener=4433"), 13, "listener=4434");
  std::string error;
  EXPECT_TRUE(
      parse(session_line("10.0.0.1:1") + other_listener + session_line("10.0.0.1:2"), error))
      << error;
}

TEST(StaticKeysErrors, DuplicateBetweenExplicitAndDerived) {
  // 20 sessions, 8 per address: 10.0.0.1 and .2 ports 100..107, .3 ports 100..103.
  const std::string range = sessions_line("20", "10.0.0.1:100", "8");
  refused(range + session_line("10.0.0.2:107"), 2,
          "duplicate session: peer 10.0.0.2:107 on listener 4433 is also on line 1");
  refused(session_line("10.0.0.3:103") + range, 2,
          "duplicate session: peer 10.0.0.3:103 on listener 4433 is also on line 1");
  refused(range + session_line("10.0.0.1:100"), 2, "peer 10.0.0.1:100");
  // Just outside: the last address's unused ports, the port after the
  // block, the address after it.
  std::string error;
  EXPECT_TRUE(parse(range + session_line("10.0.0.3:104") + session_line("10.0.0.2:108") +
                        session_line("10.0.0.1:99") + session_line("10.0.0.4:100") +
                        session_line("10.0.0.0:100"),
                    error))
      << error;
}

TEST(StaticKeysErrors, DuplicateBetweenRanges) {
  // 1,000,000 sessions on 16 ports of 62,500 addresses; the check is
  // arithmetic, so this is quick.
  const std::string big = sessions_line("1000000", "198.18.0.1:10000", "16");
  // 62500 = 0xF424 addresses: 198.18.0.1 .. 198.18.244.36.
  refused(big + sessions_line("5", "198.18.244.36:10015", "1"), 2,
          "peer 198.18.244.36:10015 on listener 4433 is also on line 1");
  refused(big + sessions_line("11", "198.18.100.0:9990", "11"), 2, "peer 198.18.100.0:10000");
  refused(sessions_line("3", "198.18.0.1:10015", "3") + big, 2, "is also on line 1");
  // A range whose full part misses but whose partial last address hits.
  refused(sessions_line("33", "198.17.255.255:10000", "16") + big, 2,
          "peer 198.18.0.1:10000 on listener 4433 is also on line 1");
  std::string error;
  // Adjacent in address, adjacent in port, and the same on another listener.
  EXPECT_TRUE(parse(big + sessions_line("16", "198.18.244.37:10000", "16") +
                        sessions_line("16", "198.18.244.36:10016", "1") +
                        sessions_line("1000", "198.18.0.1:10016", "1") +
                        sessions_line("1000000", "198.18.0.1:10000", "16", "4434") +
                        sessions_line("16", "198.17.255.255:10000", "16"),
                    error))
      << error;
}

// The arithmetic overlap check against enumeration, on random small files.
TEST(StaticKeysErrors, DuplicateCheckAgreesWithEnumeration) {
  std::mt19937 rng(12345);
  auto pick = [&](uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>(lo, hi)(rng);
  };
  int refusals = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string text;
    std::set<std::tuple<uint32_t, uint32_t, uint32_t>> seen;
    bool duplicate = false;
    const uint32_t directives = pick(1, 4);
    for (uint32_t d = 0; d < directives; ++d) {
      const uint32_t listener = pick(1, 2);
      const uint32_t address = pick(0, 6);
      const uint32_t port = pick(1, 6);
      const std::string peer = "10.0.0." + std::to_string(address) + ":" + std::to_string(port);
      uint32_t count = 1;
      uint32_t per_address = 1;
      if (pick(0, 3) == 0) {
        std::string line = session_line(peer);
        line.replace(line.find("listener=4433"), 13, "listener=" + std::to_string(listener));
        text += line;
      } else {
        count = pick(1, 12);
        per_address = pick(1, 4);
        text += sessions_line(std::to_string(count), peer, std::to_string(per_address),
                              std::to_string(listener));
      }
      for (uint32_t i = 0; i < count; ++i) {
        duplicate |=
            !seen.emplace(listener, address + i / per_address, port + i % per_address).second;
      }
    }
    std::string error;
    const auto keys = parse(text, error);
    EXPECT_EQ(keys.has_value(), !duplicate) << text << error;
    if (!keys) {
      ++refusals;
      EXPECT_NE(error.find("duplicate session"), std::string::npos) << error;
    } else {
      // And the sessions are the enumerated ones.
      std::set<std::tuple<uint32_t, uint32_t, uint32_t>> got;
      for (size_t i = 0; i < keys->size(); ++i) {
        StaticSession s;
        keys->session(i, s);
        got.emplace(s.listener_port, ntohl(s.peer.be) - 0x0a000000u, s.peer_port);
      }
      EXPECT_EQ(got, seen);
    }
  }
  // Both outcomes were exercised.
  EXPECT_GT(refusals, 100);
  EXPECT_LT(refusals, 1900);
}

}  // namespace
}  // namespace dtlsgw::dataplane
