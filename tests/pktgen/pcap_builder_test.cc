// The pktgen pcaps (bench/pktgen/README.md) as committed: the flood is
// UDP to the gateway carrying cookieless ClientHellos the gateway's own
// parser accepts (RFC 6347 §4.2.1); every data record opens with the
// static-keys file's client keys, with sequence numbers increasing per
// session; the configurations load; and make_pcaps with its documented
// (default) arguments writes exactly the committed bytes.
#include "bench/pktgen/pcap_builder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "dataplane/config.h"
#include "dataplane/packet.h"
#include "dataplane/static_keys.h"
#include "dtls_record/crypto_context.h"
#include "dtls_record/record_protection.h"
#include "dtls_record/record_walker.h"
#include "handshake/client_hello.h"
#include "tools/pcap_file.h"

namespace dtlsgw::pktgen {
namespace {

namespace fs = std::filesystem;
using dataplane::packet::FrameResult;

const std::string kCommitted = PKTGEN_DIR;

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<Frame> read_frames(const std::string& path) {
  std::string error;
  auto frames = tools::read_pcap(path, error);
  EXPECT_TRUE(frames.has_value()) << error;
  return frames ? *frames : std::vector<Frame>{};
}

const PcapOptions kDefaults;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/dtlsgw-pktgen-XXXXXX";
    path_ = mkdtemp(tmpl) == nullptr ? "" : tmpl;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

const char* const kFiles[] = {
    "clienthello_flood.pcap",
    "static_keys.txt",
    "gateway.toml",
    "gateway_static_keys.toml",
    "static_keys_data_64.pcap",
    "static_keys_data_256.pcap",
    "static_keys_data_1024.pcap",
    "static_keys_data_1400.pcap",
};

TEST(MakePcaps, DefaultArgumentsWriteTheCommittedFiles) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string error;
  ASSERT_TRUE(write_all(kDefaults, dir.path(), error)) << error;
  for (const char* name : kFiles) {
    const std::string committed = slurp(kCommitted + "/" + name);
    ASSERT_FALSE(committed.empty()) << name << " is not committed in " << kCommitted;
    EXPECT_EQ(slurp(dir.path() + "/" + name), committed)
        << name << " differs from `make_pcaps --out bench/pktgen`: regenerate and commit it";
  }
}

TEST(MakePcaps, TheSeedChangesEveryRandomByte) {
  PcapOptions other = kDefaults;
  other.seed = 2;
  const auto a = client_hello_flood(kDefaults);
  const auto b = client_hello_flood(other);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_NE(a, b);
  EXPECT_NE(static_keys_text(kDefaults), static_keys_text(other));
  EXPECT_EQ(client_hello_flood(kDefaults), a);  // and nothing else does
}

// RFC 6347 §4.2.1: the first ClientHello carries an empty cookie, to which
// the server answers with a HelloVerifyRequest.
TEST(ClientHelloFlood, EveryFrameIsACookielessClientHelloToTheListener) {
  const auto frames = read_frames(kCommitted + "/clienthello_flood.pcap");
  ASSERT_EQ(frames.size(), kDefaults.flood_frames);
  std::set<std::pair<uint32_t, uint16_t>> sources;
  std::set<std::string> randoms;
  for (size_t i = 0; i < frames.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i));
    dataplane::packet::Frame f;
    ASSERT_EQ(dataplane::packet::parse_frame(frames[i], f), FrameResult::udp);
    EXPECT_EQ(f.destination, kDefaults.gateway_address);
    EXPECT_EQ(f.destination_port, kDefaults.listener_port);
    EXPECT_EQ(f.destination_mac, kDefaults.gateway_mac);
    sources.emplace(f.source.be, f.source_port);
    // The UDP checksum a client's stack sends (RFC 768): computing it
    // again changes nothing.
    Frame again = frames[i];
    dataplane::packet::set_udp_checksum(again.data() + f.l3_offset);
    EXPECT_EQ(again, frames[i]);
    const std::span<const uint8_t> payload(frames[i].data() + f.payload_offset, f.payload_length);
    handshake::ClientHello hello;
    ASSERT_EQ(handshake::parse_client_hello(payload, hello), handshake::ClientHelloResult::ok);
    EXPECT_TRUE(hello.cookie.empty());
    EXPECT_EQ(hello.client_version, 0xfefd);  // DTLS 1.2
    EXPECT_EQ(hello.cipher_suites.size(), 56u);
    randoms.emplace(reinterpret_cast<const char*>(hello.random.data()), hello.random.size());
  }
  // Each a fresh attempt from its own source.
  EXPECT_EQ(sources.size(), frames.size());
  EXPECT_EQ(randoms.size(), frames.size());
}

TEST(ClientHelloFlood, TheTemplateIsWhatTheParserAccepts) {
  const std::vector<uint8_t> hello = openssl_client_hello();
  handshake::ClientHello parsed;
  ASSERT_EQ(handshake::parse_client_hello(hello, parsed), handshake::ClientHelloResult::ok);
  EXPECT_EQ(parsed.record_length, hello.size());
  // A truncated copy is refused: the check can fail.
  const std::vector<uint8_t> cut(hello.begin(), hello.end() - 1);
  EXPECT_NE(handshake::parse_client_hello(cut, parsed), handshake::ClientHelloResult::ok);
}

struct Flow {
  uint32_t address;
  uint16_t port;
  auto operator<=>(const Flow&) const = default;
};

class StaticKeysData : public ::testing::TestWithParam<size_t> {};

TEST_P(StaticKeysData, EveryRecordOpensWithTheClientKeysInSequence) {
  const size_t size = GetParam();
  std::string error;
  const auto keys = dataplane::StaticKeys::load(kCommitted + "/static_keys.txt", error);
  ASSERT_TRUE(keys.has_value()) << error;
  ASSERT_EQ(keys->size(), kDefaults.sessions);
  const auto crypto = record::CryptoContext::create();
  ASSERT_TRUE(crypto);

  // Each session's read epoch (epoch 1, the client's write keys) and,
  // as the negative control, one keyed with the server's.
  std::map<Flow, size_t> index;
  std::vector<std::unique_ptr<record::ReadEpoch>> readers;
  std::vector<std::unique_ptr<record::ReadEpoch>> wrong;
  for (size_t i = 0; i < keys->size(); ++i) {
    dataplane::StaticSession s;
    keys->session(i, s);
    const record::AeadParams& p = record::aead_params(s.aead);
    EXPECT_EQ(s.aead, record::Aead::aes128_gcm);
    index[{s.peer.be, s.peer_port}] = i;
    readers.push_back(std::make_unique<record::ReadEpoch>(64));
    wrong.push_back(std::make_unique<record::ReadEpoch>(64));
    ASSERT_TRUE(readers.back()->install(*crypto, record::Epoch{1}, s.aead,
                                        {s.client_write_key, p.key_length},
                                        {s.client_write_iv, p.fixed_iv_length}));
    ASSERT_TRUE(wrong.back()->install(*crypto, record::Epoch{1}, s.aead,
                                      {s.server_write_key, p.key_length},
                                      {s.server_write_iv, p.fixed_iv_length}));
  }

  const auto frames =
      read_frames(kCommitted + "/static_keys_data_" + std::to_string(size) + ".pcap");
  ASSERT_EQ(frames.size(), size_t{kDefaults.sessions} * kDefaults.records_per_session);
  std::vector<int64_t> last_sequence(keys->size(), 0);  // the Finished was 0
  std::vector<size_t> seen(keys->size(), 0);
  for (size_t n = 0; n < frames.size(); ++n) {
    SCOPED_TRACE("frame " + std::to_string(n));
    dataplane::packet::Frame f;
    ASSERT_EQ(dataplane::packet::parse_frame(frames[n], f), FrameResult::udp);
    EXPECT_EQ(f.destination, kDefaults.gateway_address);
    EXPECT_EQ(f.destination_port, kDefaults.listener_port);
    const auto it = index.find({f.source.be, f.source_port});
    ASSERT_NE(it, index.end()) << "a frame from no session of static_keys.txt";
    const size_t i = it->second;

    std::vector<uint8_t> datagram(frames[n].begin() + f.payload_offset,
                                  frames[n].begin() + f.payload_offset + f.payload_length);
    std::vector<uint8_t> copy = datagram;
    record::RecordWalker walker(datagram);
    record::RecordView view;
    ASSERT_TRUE(walker.next(view));
    EXPECT_EQ(view.header.type, record::ContentType::application_data);
    std::span<uint8_t> plaintext;
    ASSERT_EQ(record::open_record(*crypto, *readers[i], view, plaintext), record::OpenResult::ok);
    const int64_t sequence = static_cast<int64_t>(view.header.number.sequence());
    EXPECT_EQ(view.header.number.epoch(), record::Epoch{1});
    EXPECT_GT(sequence, last_sequence[i]);
    last_sequence[i] = sequence;
    ++seen[i];
    const auto expected = record_plaintext(static_cast<uint32_t>(i), sequence, size);
    EXPECT_EQ(std::vector<uint8_t>(plaintext.begin(), plaintext.end()), expected);
    EXPECT_FALSE(walker.next(view));  // one record per datagram

    // The server's keys do not open it (the check above can fail).
    record::RecordWalker again(copy);
    ASSERT_TRUE(again.next(view));
    EXPECT_EQ(record::open_record(*crypto, *wrong[i], view, plaintext),
              record::OpenResult::auth_failed);
  }
  for (size_t i = 0; i < keys->size(); ++i) {
    EXPECT_EQ(seen[i], kDefaults.records_per_session) << "session " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, StaticKeysData, ::testing::ValuesIn(kDataSizes));

TEST(GatewayConfig, BothConfigurationsLoadAndFitThePcaps) {
  std::string error;
  const auto flood = dataplane::load_config(kCommitted + "/gateway.toml", error);
  ASSERT_TRUE(flood.has_value()) << error;
  EXPECT_TRUE(flood->static_keys.empty());
  EXPECT_FALSE(flood->relaxed_replay);

  const auto bench = dataplane::load_config(kCommitted + "/gateway_static_keys.toml", error);
  ASSERT_TRUE(bench.has_value()) << error;
  EXPECT_EQ(bench->static_keys, "static_keys.txt");
  EXPECT_TRUE(bench->relaxed_replay);
  for (const auto* c : {&*flood, &*bench}) {
    EXPECT_EQ(c->outside.address, kDefaults.gateway_address);
    ASSERT_EQ(c->listeners.size(), 1u);
    EXPECT_EQ(c->listeners[0].port, kDefaults.listener_port);
  }
  // Labelled as the benchmark-only relaxation it is.
  const std::string text = slurp(kCommitted + "/gateway_static_keys.toml");
  EXPECT_NE(text.find("BENCHMARK BUILD ONLY"), std::string::npos);
  EXPECT_NE(text.find("Never use this file on a real network"), std::string::npos);
}

TEST(GatewayConfig, OtherAddressesAndMacsStillLoad) {
  PcapOptions o;
  o.gateway_address = *dataplane::parse_ipv4("203.0.113.10");
  o.listener_port = 5684;
  o.generator_mac = *dataplane::parse_mac("3c:fd:fe:cc:dd:00");
  o.backend_mac = *dataplane::parse_mac("3c:fd:fe:cc:dd:01");
  for (const bool static_keys : {false, true}) {
    std::string error;
    const auto c = dataplane::parse_config(gateway_config(o, static_keys), "generated", error);
    ASSERT_TRUE(c.has_value()) << error;
    EXPECT_EQ(c->outside.address, o.gateway_address);
    ASSERT_TRUE(c->outside.gateway.has_value());
    EXPECT_EQ(dataplane::to_string(*c->outside.gateway), "203.0.113.254");
    EXPECT_EQ(c->listeners.at(0).port, 5684);
    ASSERT_EQ(c->neighbors.size(), 2u);
    EXPECT_EQ(c->neighbors[0].mac, o.generator_mac);
    EXPECT_EQ(c->neighbors[1].mac, o.backend_mac);
  }
}

}  // namespace
}  // namespace dtlsgw::pktgen
