// The handshake mode's client (bench/loadgen/hs_client.h) against a plain
// OpenSSL DTLS 1.2 PSK server over the same datagram BIO: the handshake
// completes and the echo is checked; a lost flight is retransmitted on the
// client's timer (RFC 6347 §4.2.4); a wrong echo and a silent server fail
// with their reasons.
#include "bench/loadgen/hs_client.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <cstring>
#include <thread>

namespace dtlsgw::loadgen {
namespace {

const char kIdentity[] = "loadgen-test";
const uint8_t kKey[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

unsigned int server_psk(SSL*, const char* identity, unsigned char* psk, unsigned int max) {
  if (identity == nullptr || std::strcmp(identity, kIdentity) != 0 || max < sizeof kKey) {
    return 0;
  }
  std::memcpy(psk, kKey, sizeof kKey);
  return sizeof kKey;
}

// A DTLS 1.2 PSK server without the cookie exchange (the gateway's is
// tested elsewhere); it echoes the first application data, altered if
// `corrupt_echo`.
class EchoServer {
 public:
  explicit EchoServer(bool corrupt_echo) : corrupt_(corrupt_echo) {
    ctx_ = SSL_CTX_new(DTLS_server_method());
    SSL_CTX_set_min_proto_version(ctx_, DTLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx_, DTLS1_2_VERSION);
    SSL_CTX_set_cipher_list(ctx_, "PSK-AES128-GCM-SHA256");
    SSL_CTX_set_psk_server_callback(ctx_, server_psk);
    SSL_CTX_set_options(ctx_, SSL_OP_NO_QUERY_MTU);
    const uint8_t a[4] = {198, 18, 0, 1};
    link_.peer = handshake::PeerAddress::v4(a, 1024);
    ssl_ = SSL_new(ctx_);
    BIO* bio = handshake::new_datagram_bio(link_);
    SSL_set_bio(ssl_, bio, bio);
    SSL_set_mtu(ssl_, 1200);
    SSL_set_accept_state(ssl_);
  }
  ~EchoServer() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }
  // Feeds one datagram; returns what the server wrote.
  std::vector<handshake::Datagram> receive(handshake::Datagram d) {
    link_.inbound.push_back(std::move(d));
    if (SSL_is_init_finished(ssl_) == 0) {
      SSL_do_handshake(ssl_);
    }
    if (SSL_is_init_finished(ssl_) != 0) {
      uint8_t buf[2048];
      while (!link_.inbound.empty()) {
        const int n = SSL_read(ssl_, buf, sizeof buf);
        if (n <= 0) {
          break;
        }
        if (corrupt_) {
          buf[0] ^= 1;
        }
        SSL_write(ssl_, buf, n);
      }
    }
    std::vector<handshake::Datagram> out = std::move(link_.outbound);
    link_.outbound.clear();
    return out;
  }

 private:
  bool corrupt_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  handshake::DatagramLink link_;
};

std::unique_ptr<HsClientContext> psk_context(unsigned initial_timeout_ms = 1000) {
  HsClientConfig c;
  c.psk = true;
  c.psk_identity = kIdentity;
  c.psk_key.assign(kKey, kKey + sizeof kKey);
  c.cipher_list = "PSK-AES128-GCM-SHA256";
  c.initial_timeout_ms = initial_timeout_ms;
  std::string error;
  auto ctx = HsClientContext::create(c, error);
  EXPECT_NE(ctx, nullptr) << error;
  return ctx;
}

handshake::PeerAddress gateway() {
  const uint8_t a[4] = {192, 0, 2, 1};
  return handshake::PeerAddress::v4(a, 4433);
}

// Carries datagrams both ways until nothing moves. The client's datagram
// number `lose` (counted from 0, the ClientHello) is lost on the way.
void converse(HsClient& client, EchoServer& server, int lose = -1) {
  int sent = 0;
  for (int round = 0; round < 20; ++round) {
    std::vector<handshake::Datagram> to_server = std::move(client.outbound());
    client.outbound().clear();
    if (to_server.empty()) {
      return;
    }
    for (auto& d : to_server) {
      if (sent++ == lose) {
        continue;
      }
      for (auto& answer : server.receive(std::move(d))) {
        client.receive(std::move(answer), Clock::now());
      }
    }
  }
}

std::vector<uint8_t> message() {
  const char text[] = "dtlsgw-loadgen handshake 0 abc";
  return {text, text + sizeof text - 1};
}

TEST(HsClient, CompletesTheHandshakeAndChecksTheEcho) {
  auto ctx = psk_context();
  HsClient client(*ctx, gateway(), message());
  EchoServer server(false);
  client.start(Clock::now());
  converse(client, server);
  EXPECT_EQ(client.state(), HsClient::State::done);
  EXPECT_EQ(client.failure(), HsClient::Failure::none);
  EXPECT_EQ(client.retransmissions(), 0u);
  EXPECT_GT(client.handshake_time().count(), 0);
}

TEST(HsClient, ALostFlightIsRetransmittedOnTheTimer) {
  auto ctx = psk_context(50);
  HsClient client(*ctx, gateway(), message());
  EchoServer server(false);
  client.start(Clock::now());
  // The first datagram of the client's second flight (ClientKeyExchange)
  // is lost: only the client's timer can recover (RFC 6347 §4.2.4).
  converse(client, server, /*lose=*/1);
  EXPECT_EQ(client.state(), HsClient::State::handshaking);
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  for (int i = 0; i < 200 && client.state() == HsClient::State::handshaking; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    client.on_timer(Clock::now(), deadline, std::chrono::milliseconds(500));
    converse(client, server);
  }
  EXPECT_EQ(client.state(), HsClient::State::done);
  EXPECT_GE(client.retransmissions(), 1u);
}

TEST(HsClient, AWrongEchoFails) {
  auto ctx = psk_context();
  HsClient client(*ctx, gateway(), message());
  EchoServer server(true);
  client.start(Clock::now());
  converse(client, server);
  EXPECT_EQ(client.state(), HsClient::State::failed);
  EXPECT_EQ(client.failure(), HsClient::Failure::echo_mismatch);
}

TEST(HsClient, ASilentGatewayTimesOut) {
  auto ctx = psk_context(100);
  HsClient client(*ctx, gateway(), message());
  const auto now = Clock::now();
  client.start(now);
  EXPECT_EQ(client.outbound().size(), 1u);  // the ClientHello
  client.on_timer(now + std::chrono::seconds(1), now + std::chrono::seconds(1),
                  std::chrono::milliseconds(500));
  EXPECT_EQ(client.state(), HsClient::State::failed);
  EXPECT_EQ(client.failure(), HsClient::Failure::timeout);
}

}  // namespace
}  // namespace dtlsgw::loadgen
