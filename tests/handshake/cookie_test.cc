// Stateless cookies and HelloVerifyRequests (RFC 6347 §4.2.1), checked
// against a real OpenSSL DTLS 1.2 client.
#include "handshake/cookie.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <vector>

#include "dtls_record/record_header.h"
#include "dtls_record/wire.h"
#include "handshake/client_hello.h"

namespace dtlsgw::handshake {
namespace {

using Bytes = std::vector<uint8_t>;

const uint8_t kAddrA[4] = {192, 0, 2, 10};
const uint8_t kAddrB[4] = {192, 0, 2, 11};

// A real OpenSSL DTLS 1.2 client writing into memory: its first flight is
// the cookieless ClientHello; fed a HelloVerifyRequest it answers with the
// cookie ClientHello.
class OpenSslClient {
 public:
  OpenSslClient() {
    ctx_ = SSL_CTX_new(DTLS_client_method());
    SSL_CTX_set_min_proto_version(ctx_, DTLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx_, DTLS1_2_VERSION);
    ssl_ = SSL_new(ctx_);
    rbio_ = BIO_new(BIO_s_mem());
    wbio_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(rbio_, -1);
    SSL_set_bio(ssl_, rbio_, wbio_);
    SSL_set_options(ssl_, SSL_OP_NO_QUERY_MTU);
    SSL_set_mtu(ssl_, 1200);
    SSL_set_connect_state(ssl_);
  }
  ~OpenSslClient() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }
  // Runs the client until it wants to read; returns what it wrote.
  Bytes step(const Bytes& in = {}) {
    if (!in.empty()) {
      BIO_write(rbio_, in.data(), static_cast<int>(in.size()));
    }
    SSL_do_handshake(ssl_);
    Bytes out(static_cast<size_t>(BIO_ctrl_pending(wbio_)));
    if (!out.empty()) {
      BIO_read(wbio_, out.data(), static_cast<int>(out.size()));
    }
    return out;
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;
  BIO* wbio_ = nullptr;
};

class CookieTest : public ::testing::Test {
 protected:
  void SetUp() override {
    maker = CookieMaker::create();
    ASSERT_NE(maker, nullptr);
    ASSERT_TRUE(rotate_cookie_secret(secrets));
    maker->set_secrets(secrets);
  }

  // The OpenSSL client's cookie ClientHello after our HelloVerifyRequest.
  Bytes cookie_hello(OpenSslClient& client, const PeerAddress& peer) {
    const Bytes first = client.step();
    ClientHello ch;
    EXPECT_EQ(parse_client_hello(first, ch), ClientHelloResult::ok);
    Bytes hvr(CookieMaker::kHelloVerifyRequestLength);
    EXPECT_EQ(maker->build_hello_verify_request(peer, ch, hvr), hvr.size());
    return client.step(hvr);
  }

  std::unique_ptr<CookieMaker> maker;
  CookieSecrets secrets;
  PeerAddress peer = PeerAddress::v4(kAddrA, 40000);
};

TEST_F(CookieTest, RealClientHelloParses) {
  OpenSslClient client;
  const Bytes first = client.step();
  ClientHello ch;
  ASSERT_EQ(parse_client_hello(first, ch), ClientHelloResult::ok);
  EXPECT_EQ(ch.client_version, 0xfefd);
  EXPECT_EQ(ch.random.size(), 32u);
  EXPECT_TRUE(ch.cookie.empty());
  EXPECT_GE(ch.cipher_suites.size(), 2u);
  EXPECT_EQ(ch.message_seq, 0);
  EXPECT_EQ(ch.record_number.epoch().value, 0);
}

// §4.2.1: the client repeats its ClientHello with the cookie, and the
// cookie verifies for the same peer.
TEST_F(CookieTest, RealClientEchoesTheCookieAndItVerifies) {
  OpenSslClient client;
  const Bytes second = cookie_hello(client, peer);
  ClientHello ch;
  ASSERT_EQ(parse_client_hello(second, ch), ClientHelloResult::ok);
  EXPECT_EQ(ch.cookie.size(), kCookieLength);
  EXPECT_EQ(ch.message_seq, 1) << "§4.2.2: the cookie ClientHello has message_seq 1";
  EXPECT_EQ(maker->verify_cookie(peer, ch), CookieCheck::ok);
}

// §4.2.1 HelloVerifyRequest format, version rules and the echoed sequence.
TEST_F(CookieTest, HelloVerifyRequestFollowsTheRfc) {
  OpenSslClient client;
  const Bytes first = client.step();
  ClientHello ch;
  ASSERT_EQ(parse_client_hello(first, ch), ClientHelloResult::ok);
  Bytes hvr(200);
  const size_t n = maker->build_hello_verify_request(peer, ch, hvr);
  ASSERT_EQ(n, CookieMaker::kHelloVerifyRequestLength);
  hvr.resize(n);
  record::RecordHeader rh;
  ASSERT_EQ(record::parse_record_header(hvr, rh), record::HeaderResult::ok);
  EXPECT_EQ(rh.type, record::ContentType::handshake);
  EXPECT_EQ(rh.number.epoch().value, 0);
  EXPECT_EQ(rh.number.sequence(), ch.record_number.sequence())
      << "the server MUST use the record sequence number in the ClientHello";
  EXPECT_EQ(rh.length + record::kRecordHeaderLength, n);
  const uint8_t* hs = hvr.data() + record::kRecordHeaderLength;
  EXPECT_EQ(hs[0], 3) << "hello_verify_request";
  EXPECT_EQ(record::wire::load_u16(hs + 4), 0) << "message_seq of the server's first message";
  EXPECT_EQ(record::wire::load_u16(hs + 12), 0xfeff)
      << "DTLS 1.2 servers SHOULD use DTLS version 1.0 in HelloVerifyRequest";
  EXPECT_EQ(hs[14], kCookieLength);
}

// Amplification: the reply is never larger than the request.
TEST_F(CookieTest, ReplyIsNeverLargerThanTheRequest) {
  OpenSslClient client;
  const Bytes first = client.step();
  ClientHello ch;
  ASSERT_EQ(parse_client_hello(first, ch), ClientHelloResult::ok);
  Bytes hvr(200);
  const size_t n = maker->build_hello_verify_request(peer, ch, hvr);
  ASSERT_GT(n, 0u);
  EXPECT_LE(n, first.size());
  const double amplification = static_cast<double>(n) / static_cast<double>(first.size());
  RecordProperty("amplification", std::to_string(amplification));
  EXPECT_LE(amplification, 1.0);
  // A (hypothetical) request shorter than the reply gets no reply at all.
  ClientHello tiny = ch;
  tiny.record_length = CookieMaker::kHelloVerifyRequestLength - 1;
  EXPECT_EQ(maker->build_hello_verify_request(peer, tiny, hvr), 0u);
  // Nor does a buffer too small for it.
  Bytes small(CookieMaker::kHelloVerifyRequestLength - 1);
  EXPECT_EQ(maker->build_hello_verify_request(peer, ch, small), 0u);
}

TEST_F(CookieTest, CookieIsBoundToAddressAndPort) {
  OpenSslClient client;
  const Bytes second = cookie_hello(client, peer);
  ClientHello ch;
  ASSERT_EQ(parse_client_hello(second, ch), ClientHelloResult::ok);
  EXPECT_EQ(maker->verify_cookie(PeerAddress::v4(kAddrB, 40000), ch), CookieCheck::mismatch);
  EXPECT_EQ(maker->verify_cookie(PeerAddress::v4(kAddrA, 40001), ch), CookieCheck::mismatch);
  uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};
  std::copy(kAddrA, kAddrA + 4, v6 + 12);
  EXPECT_EQ(maker->verify_cookie(PeerAddress::v6(v6, 40000), ch), CookieCheck::mismatch);
  EXPECT_EQ(maker->verify_cookie(peer, ch), CookieCheck::ok);
}

TEST_F(CookieTest, CookieFromAnotherClientIsRejected) {
  OpenSslClient alice;
  OpenSslClient mallory;
  const Bytes from_alice = cookie_hello(alice, peer);
  const Bytes from_mallory = cookie_hello(mallory, peer);
  ClientHello a, m;
  ASSERT_EQ(parse_client_hello(from_alice, a), ClientHelloResult::ok);
  ASSERT_EQ(parse_client_hello(from_mallory, m), ClientHelloResult::ok);
  // Mallory presents Alice's cookie with her own ClientHello (same address).
  ClientHello forged = m;
  forged.cookie = a.cookie;
  EXPECT_EQ(maker->verify_cookie(peer, forged), CookieCheck::mismatch);
}

// §4.2.1: the client MUST repeat version, random, session_id,
// cipher_suites and compression_methods: any change breaks the cookie.
TEST_F(CookieTest, EveryCoveredFieldIsBound) {
  OpenSslClient client;
  Bytes second = cookie_hello(client, peer);
  ClientHello ch;
  ASSERT_EQ(parse_client_hello(second, ch), ClientHelloResult::ok);
  ASSERT_EQ(maker->verify_cookie(peer, ch), CookieCheck::ok);
  const std::span<const uint8_t> fields[] = {ch.random, ch.cipher_suites, ch.compression_methods};
  for (const auto& field : fields) {
    for (size_t i = 0; i < field.size(); ++i) {
      Bytes copy = second;
      const size_t offset = static_cast<size_t>(field.data() - second.data()) + i;
      copy[offset] ^= 0x01;
      ClientHello changed;
      ASSERT_EQ(parse_client_hello(copy, changed), ClientHelloResult::ok);
      EXPECT_EQ(maker->verify_cookie(peer, changed), CookieCheck::mismatch) << offset;
    }
  }
  ClientHello other_version = ch;
  other_version.client_version = 0xfeff;
  EXPECT_EQ(maker->verify_cookie(peer, other_version), CookieCheck::mismatch);
  const uint8_t sid[1] = {7};
  ClientHello with_session = ch;
  with_session.session_id = sid;
  EXPECT_EQ(maker->verify_cookie(peer, with_session), CookieCheck::mismatch);
}

TEST_F(CookieTest, EveryFlippedCookieBitIsRejected) {
  OpenSslClient client;
  const Bytes second = cookie_hello(client, peer);
  ClientHello ch;
  ASSERT_EQ(parse_client_hello(second, ch), ClientHelloResult::ok);
  const size_t offset = static_cast<size_t>(ch.cookie.data() - second.data());
  for (size_t byte = 0; byte < kCookieLength; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes copy = second;
      copy[offset + byte] ^= static_cast<uint8_t>(1u << bit);
      ClientHello flipped;
      ASSERT_EQ(parse_client_hello(copy, flipped), ClientHelloResult::ok);
      const CookieCheck c = maker->verify_cookie(peer, flipped);
      // The generation byte flipped names an unknown secret; any MAC bit
      // flipped is a mismatch.
      EXPECT_TRUE(byte == 0 ? c == CookieCheck::unknown_generation : c == CookieCheck::mismatch)
          << byte << ":" << bit << " " << to_string(c);
    }
  }
}

TEST_F(CookieTest, TruncatedOrAbsentCookiesAreRejected) {
  OpenSslClient client;
  const Bytes second = cookie_hello(client, peer);
  ClientHello ch;
  ASSERT_EQ(parse_client_hello(second, ch), ClientHelloResult::ok);
  for (size_t len = 1; len < kCookieLength; ++len) {
    ClientHello t = ch;
    t.cookie = ch.cookie.first(len);
    EXPECT_EQ(maker->verify_cookie(peer, t), CookieCheck::wrong_length) << len;
  }
  ClientHello none = ch;
  none.cookie = {};
  EXPECT_EQ(maker->verify_cookie(peer, none), CookieCheck::absent);
}

// Rotation: a cookie made under the previous secret still verifies (a
// client mid-exchange is not stranded); two rotations later it is stale.
TEST_F(CookieTest, PreviousSecretIsAcceptedAndOlderOnesAreNot) {
  OpenSslClient client;
  const Bytes second = cookie_hello(client, peer);
  ClientHello ch;
  ASSERT_EQ(parse_client_hello(second, ch), ClientHelloResult::ok);
  ASSERT_TRUE(rotate_cookie_secret(secrets));
  maker->set_secrets(secrets);
  EXPECT_EQ(maker->verify_cookie(peer, ch), CookieCheck::ok);
  ASSERT_TRUE(rotate_cookie_secret(secrets));
  maker->set_secrets(secrets);
  EXPECT_EQ(maker->verify_cookie(peer, ch), CookieCheck::unknown_generation);
}

// Another process (the control process) adopting the same secrets makes
// the same cookies: the secret, not the maker, defines them.
TEST_F(CookieTest, TwoMakersWithOneSecretAgree) {
  auto other = CookieMaker::create();
  other->set_secrets(secrets);
  OpenSslClient client;
  const Bytes second = cookie_hello(client, peer);
  ClientHello ch;
  ASSERT_EQ(parse_client_hello(second, ch), ClientHelloResult::ok);
  EXPECT_EQ(other->verify_cookie(peer, ch), CookieCheck::ok);
  // A maker with a different secret of the same generation number rejects.
  CookieSecrets foreign;
  foreign.has_current = true;
  foreign.current.generation = secrets.current.generation;
  foreign.current.key[0] = 1;
  auto stranger = CookieMaker::create();
  stranger->set_secrets(foreign);
  EXPECT_EQ(stranger->verify_cookie(peer, ch), CookieCheck::mismatch);
}

// The MAC is HMAC-SHA-256 truncated to 16 bytes: cross-check IPsec-MB's
// HMAC against OpenSSL's on the documented input encoding.
TEST_F(CookieTest, MacIsHmacSha256OverTheDocumentedFields) {
  OpenSslClient client;
  const Bytes first = client.step();
  ClientHello ch;
  ASSERT_EQ(parse_client_hello(first, ch), ClientHelloResult::ok);
  uint8_t cookie[kCookieLength];
  ASSERT_TRUE(maker->make_cookie(peer, ch, cookie));
  Bytes input = {4,
                 kAddrA[0],
                 kAddrA[1],
                 kAddrA[2],
                 kAddrA[3],
                 40000 >> 8,
                 40000 & 0xff,
                 static_cast<uint8_t>(ch.client_version >> 8),
                 static_cast<uint8_t>(ch.client_version)};
  input.insert(input.end(), ch.random.begin(), ch.random.end());
  input.push_back(static_cast<uint8_t>(ch.session_id.size()));
  input.insert(input.end(), ch.session_id.begin(), ch.session_id.end());
  input.push_back(static_cast<uint8_t>(ch.cipher_suites.size() >> 8));
  input.push_back(static_cast<uint8_t>(ch.cipher_suites.size()));
  input.insert(input.end(), ch.cipher_suites.begin(), ch.cipher_suites.end());
  input.push_back(static_cast<uint8_t>(ch.compression_methods.size()));
  input.insert(input.end(), ch.compression_methods.begin(), ch.compression_methods.end());
  uint8_t mac[32];
  unsigned int mac_len = 0;
  ASSERT_NE(HMAC(EVP_sha256(), secrets.current.key, kCookieSecretLength, input.data(), input.size(),
                 mac, &mac_len),
            nullptr);
  EXPECT_EQ(cookie[0], secrets.current.generation);
  EXPECT_TRUE(std::equal(mac, mac + kCookieMacLength, cookie + 1));
}

// The MAC input is copied from the wire in two pieces when the views are
// where the parser left them, field by field otherwise (a ClientHello
// assembled by hand, or with a view replaced): both must give the same
// cookie, for either address family, with and without a cookie present.
TEST_F(CookieTest, WireCopyAndFieldByFieldMacAgree) {
  OpenSslClient client;
  const Bytes first = client.step();
  ClientHello parsed_first;
  ASSERT_EQ(parse_client_hello(first, parsed_first), ClientHelloResult::ok);
  ASSERT_NE(parsed_first.body, nullptr);
  Bytes hvr(CookieMaker::kHelloVerifyRequestLength);
  ASSERT_EQ(maker->build_hello_verify_request(peer, parsed_first, hvr), hvr.size());
  const Bytes second = client.step(hvr);
  ClientHello parsed_second;
  ASSERT_EQ(parse_client_hello(second, parsed_second), ClientHelloResult::ok);
  ASSERT_FALSE(parsed_second.cookie.empty());
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
  for (const ClientHello* parsed : {&parsed_first, &parsed_second}) {
    for (const PeerAddress& p : {peer, PeerAddress::v6(v6, 5684)}) {
      // Same fields, copied out of the datagram: no wire to copy from.
      const Bytes random(parsed->random.begin(), parsed->random.end());
      const Bytes session_id(parsed->session_id.begin(), parsed->session_id.end());
      const Bytes suites(parsed->cipher_suites.begin(), parsed->cipher_suites.end());
      const Bytes compression(parsed->compression_methods.begin(),
                              parsed->compression_methods.end());
      ClientHello by_hand = *parsed;
      by_hand.body = nullptr;
      by_hand.random = random;
      by_hand.session_id = session_id;
      by_hand.cipher_suites = suites;
      by_hand.compression_methods = compression;
      ClientHello moved_view = *parsed;  // body set, one view elsewhere
      moved_view.cipher_suites = suites;
      uint8_t wire[kCookieLength];
      uint8_t hand[kCookieLength];
      uint8_t moved[kCookieLength];
      ASSERT_TRUE(maker->make_cookie(p, *parsed, wire));
      ASSERT_TRUE(maker->make_cookie(p, by_hand, hand));
      ASSERT_TRUE(maker->make_cookie(p, moved_view, moved));
      EXPECT_TRUE(std::equal(wire, wire + kCookieLength, hand));
      EXPECT_TRUE(std::equal(wire, wire + kCookieLength, moved));
    }
  }
  EXPECT_EQ(maker->verify_cookie(peer, parsed_second), CookieCheck::ok);
}

// The first secret has no predecessor: nothing made under an all-zero key
// (the state before any rotation) may verify.
TEST_F(CookieTest, FirstRotationLeavesNoPreviousSecret) {
  EXPECT_TRUE(secrets.has_current);
  EXPECT_FALSE(secrets.has_previous);
  OpenSslClient client;
  Bytes second = cookie_hello(client, peer);
  ClientHello ch;
  ASSERT_EQ(parse_client_hello(second, ch), ClientHelloResult::ok);
  auto zero = CookieMaker::create();
  CookieSecrets zero_secrets;
  zero_secrets.has_current = true;
  zero_secrets.current.generation = static_cast<uint8_t>(secrets.current.generation - 1);
  zero->set_secrets(zero_secrets);
  uint8_t forged[kCookieLength];
  ASSERT_TRUE(zero->make_cookie(peer, ch, forged));
  ClientHello with_forged = ch;
  with_forged.cookie = forged;
  EXPECT_EQ(maker->verify_cookie(peer, with_forged), CookieCheck::unknown_generation);
}

TEST_F(CookieTest, NoSecretMeansNoCookie) {
  auto empty = CookieMaker::create();
  OpenSslClient client;
  const Bytes first = client.step();
  ClientHello ch;
  ASSERT_EQ(parse_client_hello(first, ch), ClientHelloResult::ok);
  Bytes hvr(200);
  EXPECT_EQ(empty->build_hello_verify_request(peer, ch, hvr), 0u);
}

// Strict parsing: every prefix of a real ClientHello is refused with a
// reason, never read past.
TEST_F(CookieTest, EveryTruncationOfARealClientHelloIsRefused) {
  OpenSslClient client;
  const Bytes first = client.step();
  for (size_t n = 0; n < first.size(); ++n) {
    // Copy into an exactly-sized buffer so ASan sees any over-read.
    const Bytes prefix(first.begin(), first.begin() + static_cast<long>(n));
    ClientHello ch;
    EXPECT_NE(parse_client_hello(prefix, ch), ClientHelloResult::ok) << n;
  }
}

}  // namespace
}  // namespace dtlsgw::handshake
