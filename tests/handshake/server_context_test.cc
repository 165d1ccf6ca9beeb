// The server context: policy (DTLS 1.2 only, the 14 AEAD suites in the
// configured order), and a clear error for every bad file.
#include "handshake/server_context.h"

#include <gtest/gtest.h>

#include "tests/handshake/test_support.h"

namespace dtlsgw::handshake::test {
namespace {

Status make(const ServerConfig& config) {
  static const auto cookies = CookieMaker::create();
  std::shared_ptr<ServerContext> out;
  return ServerContext::create(config, *cookies, nullptr, out);
}

// The message names the file and says what is wrong with it.
void expect_error(const ServerConfig& config, const std::string& file, const std::string& what) {
  const Status s = make(config);
  ASSERT_FALSE(s) << "accepted";
  EXPECT_NE(s.message().find(file), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(what), std::string::npos) << s.message();
}

TEST(ServerContext, DefaultIsTheFourteenSuitesDtls12Only) {
  Server server;
  const auto& suites = server.context->suites();
  ASSERT_EQ(suites.size(), 14u);
  EXPECT_EQ(suites.front()->openssl_name, "ECDHE-ECDSA-AES128-GCM-SHA256");
  SSL_CTX* ctx = server.context->ssl_ctx();
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), DTLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx), DTLS1_2_VERSION);
  const uint64_t options = SSL_CTX_get_options(ctx);
  EXPECT_TRUE(options & SSL_OP_NO_RENEGOTIATION);
  EXPECT_TRUE(options & SSL_OP_NO_QUERY_MTU);
  EXPECT_TRUE(options & SSL_OP_CIPHER_SERVER_PREFERENCE);
}

// The configured order is the server's preference: a client offering two
// suites gets the one listed first.
TEST(ServerContext, ConfiguredOrderIsTheServerPreference) {
  for (const bool psk_first : {true, false}) {
    SCOPED_TRACE(psk_first);
    ServerConfig config = full_server_config();
    config.cipher_suites = {"PSK-AES128-CCM8", "ECDHE-ECDSA-CHACHA20-POLY1305"};
    if (!psk_first) {
      std::swap(config.cipher_suites[0], config.cipher_suites[1]);
    }
    Server server(config);
    ClientOptions o;
    o.cipher_suites = "ECDHE-ECDSA-CHACHA20-POLY1305:PSK-AES128-CCM8";
    o.psk_identity = kPskIdentity;
    o.psk.assign(psk_key().begin(), psk_key().end());
    TestClient client(o, server_address());
    std::string why;
    auto engine = handshake(server, client, test_engine_config(), why);
    ASSERT_EQ(engine->state(), HandshakeState::complete) << why;
    EXPECT_EQ(engine->take_handover().suite, psk_first ? 0xc0a8 : 0xcca9);
  }
}

TEST(ServerContext, SuitesOutsideTheTableAreRefused) {
  ServerConfig config = full_server_config();
  config.cipher_suites = {"ECDHE-ECDSA-AES128-GCM-SHA256", "AES128-SHA"};
  expect_error(config, "AES128-SHA", "not one of dtlsgw's");
  config.cipher_suites = {"PSK-AES128-CCM", "PSK-AES128-CCM"};
  expect_error(config, "PSK-AES128-CCM", "listed twice");
}

TEST(ServerContext, NoCredentialsIsAnError) {
  ServerConfig config;
  const Status s = make(config);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("no certificate and no PSK file"), std::string::npos);
}

TEST(ServerContext, MissingCertificateFile) {
  ServerConfig config;
  config.certificates = {{"/nonexistent/chain.pem", credentials().ecdsa.key_file}};
  expect_error(config, "/nonexistent/chain.pem", "No such file");
  config.certificates = {{credentials().ecdsa.chain_file, "/nonexistent/key.pem"}};
  expect_error(config, "/nonexistent/key.pem", "No such file");
}

TEST(ServerContext, CertificateFileWithoutACertificate) {
  const std::string garbage = write_file("garbage.pem", "this is not PEM\n");
  ServerConfig config;
  config.certificates = {{garbage, credentials().ecdsa.key_file}};
  expect_error(config, garbage, "no usable PEM certificate");
  // A private key where the chain should be.
  config.certificates = {{credentials().ecdsa.key_file, credentials().ecdsa.key_file}};
  expect_error(config, credentials().ecdsa.key_file, "no usable PEM certificate");
}

TEST(ServerContext, KeyFileWithoutAKey) {
  const std::string garbage = write_file("garbage-key.pem", "-----BEGIN PRIVATE KEY-----\n");
  ServerConfig config;
  config.certificates = {{credentials().ecdsa.chain_file, garbage}};
  expect_error(config, garbage, "no usable PEM private key");
}

TEST(ServerContext, KeyThatDoesNotMatchTheCertificate) {
  ServerConfig config;
  // Another P-256 key: same type, wrong key.
  config.certificates = {{credentials().ecdsa.chain_file, credentials().stranger.key_file}};
  expect_error(config, credentials().stranger.key_file, "does not match the certificate in");
  // An RSA key for an ECDSA certificate.
  config.certificates = {{credentials().ecdsa.chain_file, credentials().rsa.key_file}};
  expect_error(config, credentials().rsa.key_file, "does not match the certificate in");
}

TEST(ServerContext, OneCertificatePerKeyType) {
  ServerConfig config;
  config.certificates = {credentials().ecdsa, credentials().client};
  expect_error(config, credentials().client.chain_file, "a second ECDSA certificate");
}

TEST(ServerContext, BadPskFileNamesTheLine) {
  const std::string psk = write_file("bad-psk.txt", "# ok\ngood:00ff\nbad line without key\n");
  ServerConfig config;
  config.psk_file = psk;
  expect_error(config, psk + ":3:", "no colon");
  config.psk_file = "/nonexistent/psk.txt";
  expect_error(config, "/nonexistent/psk.txt", "No such file");
}

TEST(ServerContext, BadClientCaFile) {
  ServerConfig config = full_server_config();
  config.client_ca_file = "/nonexistent/ca.pem";
  expect_error(config, "/nonexistent/ca.pem", "No such file");
  config.client_ca_file = write_file("garbage-ca.pem", "not a CA\n");
  expect_error(config, config.client_ca_file, "no usable PEM certificate");
}

TEST(ServerContext, TicketsOffMeansNoTicketKeys) {
  ServerConfig config = full_server_config();
  config.session_tickets = false;
  Server server(config);
  EXPECT_EQ(server.context->ticket_keys(), nullptr);
  EXPECT_TRUE(SSL_CTX_get_options(server.context->ssl_ctx()) & SSL_OP_NO_TICKET);
}

}  // namespace
}  // namespace dtlsgw::handshake::test
