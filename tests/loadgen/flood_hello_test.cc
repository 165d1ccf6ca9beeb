// The flood's packets (bench/loadgen/flood_hello.h): the recorded OpenSSL
// ClientHello, rewritten per packet, stays one that the gateway's parser
// accepts (RFC 6347 §4.2.1); HelloVerifyRequests made by the gateway's own
// CookieMaker parse, and malformed ones are refused with their reason;
// spoofed sources are recognised by their keyed port.
#include "bench/loadgen/flood_hello.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <vector>

#include "dtls_record/wire.h"
#include "handshake/client_hello.h"
#include "handshake/cookie.h"

namespace dtlsgw::loadgen {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes recorded() {
  std::string error;
  Bytes hello = record_openssl_client_hello(error);
  EXPECT_FALSE(hello.empty()) << error;
  return hello;
}

TEST(FloodHello, RecordedOpenSslHelloIsAcceptedAsIs) {
  const Bytes hello = recorded();
  handshake::ClientHello parsed;
  ASSERT_EQ(handshake::parse_client_hello(hello, parsed), handshake::ClientHelloResult::ok);
  EXPECT_TRUE(parsed.cookie.empty());
  EXPECT_EQ(parsed.client_version, 0xfefd);  // DTLS 1.2
  EXPECT_GT(parsed.cipher_suites.size(), 2u);
}

TEST(FloodHello, RewriteKeepsAParsableHelloWithOurRandomAndSequence) {
  const Bytes original = recorded();
  ClientHelloTemplate t;
  std::string error;
  ASSERT_TRUE(t.init(original, error)) << error;
  ASSERT_EQ(t.size(), original.size());
  handshake::ClientHello before;
  ASSERT_EQ(handshake::parse_client_hello(original, before), handshake::ClientHelloResult::ok);

  uint64_t rng = 42;
  for (uint64_t sequence :
       {uint64_t{0}, uint64_t{1}, uint64_t{0xabcdef}, (uint64_t{1} << 48) - 1}) {
    uint8_t random[32];
    for (size_t i = 0; i < sizeof random; i += 8) {
      const uint64_t r = splitmix64(rng);
      std::memcpy(random + i, &r, 8);
    }
    Bytes out(t.size());
    t.write(out.data(), random, sequence);
    handshake::ClientHello parsed;
    ASSERT_EQ(handshake::parse_client_hello(out, parsed), handshake::ClientHelloResult::ok);
    EXPECT_EQ(parsed.record_number.sequence(), sequence);
    EXPECT_EQ(0, std::memcmp(parsed.random.data(), random, 32));
    EXPECT_TRUE(parsed.cookie.empty());
    // Everything else is the recorded client's: only the random (32
    // bytes) and the record sequence number (6 bytes) may differ.
    size_t differing = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      const bool in_sequence = i >= 5 && i < 11;
      const bool in_random =
          out.data() + i >= parsed.random.data() && out.data() + i < parsed.random.data() + 32;
      if (!in_sequence && !in_random) {
        EXPECT_EQ(out[i], original[i]) << "byte " << i;
      }
      differing += out[i] != original[i];
    }
    EXPECT_GT(differing, 0u);
    EXPECT_TRUE(std::equal(parsed.cipher_suites.begin(), parsed.cipher_suites.end(),
                           before.cipher_suites.begin(), before.cipher_suites.end()));
  }
}

TEST(FloodHello, TemplateRefusesWhatIsNotACookielessClientHello) {
  ClientHelloTemplate t;
  std::string error;
  EXPECT_FALSE(t.init({}, error));
  EXPECT_FALSE(error.empty());
  Bytes hello = recorded();
  Bytes truncated(hello.begin(), hello.end() - 1);
  EXPECT_FALSE(t.init(truncated, error));
  Bytes not_handshake = hello;
  not_handshake[0] = 23;  // application_data
  EXPECT_FALSE(t.init(not_handshake, error));
  Bytes two_records = hello;
  two_records.insert(two_records.end(), hello.begin(), hello.end());
  EXPECT_FALSE(t.init(two_records, error));
}

// The gateway's own HelloVerifyRequest for a rewritten ClientHello.
Bytes gateway_hvr(const Bytes& hello, const handshake::PeerAddress& peer) {
  auto cookies = handshake::CookieMaker::create();
  handshake::CookieSecrets secrets;
  EXPECT_TRUE(cookies != nullptr && handshake::rotate_cookie_secret(secrets));
  cookies->set_secrets(secrets);
  handshake::ClientHello parsed;
  EXPECT_EQ(handshake::parse_client_hello(hello, parsed), handshake::ClientHelloResult::ok);
  Bytes hvr(handshake::CookieMaker::kHelloVerifyRequestLength);
  const size_t n = cookies->build_hello_verify_request(peer, parsed, hvr);
  EXPECT_GT(n, 0u);
  hvr.resize(n);
  return hvr;
}

TEST(FloodHello, GatewayHelloVerifyRequestParsesWithItsCookie) {
  ClientHelloTemplate t;
  std::string error;
  ASSERT_TRUE(t.init(recorded(), error)) << error;
  Bytes hello(t.size());
  const uint8_t random[32] = {1, 2, 3};
  t.write(hello.data(), random, 777);
  const uint8_t a[4] = {203, 0, 113, 9};
  const Bytes hvr = gateway_hvr(hello, handshake::PeerAddress::v4(a, 5555));
  HelloVerifyRequest out;
  ASSERT_EQ(parse_hello_verify_request(hvr, out), HelloVerifyResult::ok);
  EXPECT_EQ(out.record_sequence, 777u);  // echoed, RFC 6347 §4.2.1
  EXPECT_EQ(out.cookie.size(), handshake::kCookieLength);
}

TEST(FloodHello, MalformedHelloVerifyRequestsAreRefusedWithTheirReason) {
  ClientHelloTemplate t;
  std::string error;
  ASSERT_TRUE(t.init(recorded(), error)) << error;
  Bytes hello(t.size());
  const uint8_t random[32] = {};
  t.write(hello.data(), random, 1);
  const uint8_t a[4] = {203, 0, 113, 9};
  const Bytes good = gateway_hvr(hello, handshake::PeerAddress::v4(a, 5555));
  HelloVerifyRequest out;
  for (size_t n = 0; n < good.size(); ++n) {
    const Bytes cut(good.begin(), good.begin() + static_cast<long>(n));
    EXPECT_NE(parse_hello_verify_request(cut, out), HelloVerifyResult::ok) << n;
  }
  Bytes b = good;
  b[0] = 21;  // alert
  EXPECT_EQ(parse_hello_verify_request(b, out), HelloVerifyResult::not_handshake);
  b = good;
  b[4] = 1;  // epoch 1
  EXPECT_EQ(parse_hello_verify_request(b, out), HelloVerifyResult::not_epoch_zero);
  b = good;
  b[13] = 2;  // server_hello
  EXPECT_EQ(parse_hello_verify_request(b, out), HelloVerifyResult::not_hello_verify);
  b = good;
  b[13 + 11] -= 1;  // fragment_length short of length
  EXPECT_EQ(parse_hello_verify_request(b, out), HelloVerifyResult::fragmented);
  b = good;
  b[13 + 12 + 2] -= 1;  // cookie length one short of the message
  EXPECT_EQ(parse_hello_verify_request(b, out), HelloVerifyResult::bad_length);
  // An empty cookie: lengths made consistent, nothing to retry with.
  Bytes empty = {22, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0,    15,   3,
                 0,  0,    3,    0, 0, 0, 0, 0, 0, 0, 3, 0xfe, 0xff, 0};
  EXPECT_EQ(parse_hello_verify_request(empty, out), HelloVerifyResult::no_cookie);
}

TEST(FloodHello, SpoofedSourcesAreRecognisedByTheirKeyedPort) {
  uint64_t rng = 7;
  const uint64_t key = splitmix64(rng);
  const uint64_t other_key = splitmix64(rng);
  std::set<uint32_t> addresses;
  size_t recognised_with_other_key = 0;
  for (int i = 0; i < 10000; ++i) {
    const SpoofedSource s = spoofed_source(splitmix64(rng), key);
    const uint32_t host = __builtin_bswap32(s.address.be);
    const uint32_t first = host >> 24;
    EXPECT_GE(first, 1u);
    EXPECT_NE(first, 127u);
    EXPECT_LT(first, 224u);
    EXPECT_GE(s.port, 1024);
    EXPECT_TRUE(is_spoofed_source(s.address, s.port, key));
    EXPECT_FALSE(is_spoofed_source(s.address, static_cast<uint16_t>(s.port ^ 1), key));
    recognised_with_other_key += is_spoofed_source(s.address, s.port, other_key);
    addresses.insert(s.address.be);
  }
  EXPECT_GT(addresses.size(), 9900u);         // random-looking sources
  EXPECT_LT(recognised_with_other_key, 10u);  // ~1 in 64512 by chance
}

}  // namespace
}  // namespace dtlsgw::loadgen
