#include "tests/oracle/dtls_pair.h"

#include <openssl/err.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "tests/oracle/credentials.h"

namespace dtlsgw::oracle {
namespace {

// A full DTLS 1.2 handshake takes four flights, so a few rounds; the cap only
// turns a stuck handshake into a failure instead of a hang.
constexpr int kMaxHandshakeRounds = 32;

std::string openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out += out.empty() ? "" : "; ";
    out += buf;
  }
  return out;
}

void require(bool ok, const char* what) {
  if (!ok) {
    throw std::runtime_error(std::string(what) + ": " + openssl_errors());
  }
}

unsigned int psk_server_callback(SSL* /*ssl*/, const char* identity, unsigned char* psk,
                                 unsigned int max_psk_length) {
  const auto key = psk_key();
  if (identity == nullptr || kPskIdentity != identity || key.size() > max_psk_length) {
    return 0;
  }
  std::memcpy(psk, key.data(), key.size());
  return static_cast<unsigned int>(key.size());
}

unsigned int psk_client_callback(SSL* /*ssl*/, const char* /*hint*/, char* identity,
                                 unsigned int max_identity_length, unsigned char* psk,
                                 unsigned int max_psk_length) {
  const auto key = psk_key();
  if (kPskIdentity.size() + 1 > max_identity_length || key.size() > max_psk_length) {
    return 0;
  }
  std::memcpy(identity, kPskIdentity.data(), kPskIdentity.size());
  identity[kPskIdentity.size()] = '\0';
  std::memcpy(psk, key.data(), key.size());
  return static_cast<unsigned int>(key.size());
}

// The in-memory network loses nothing, so a retransmission would only add
// records the tests do not expect (and burn epoch-1 numbers). OpenSSL's DTLS
// timer runs on the real clock; a long first timeout keeps a slow run
// (valgrind, sanitizers) from retransmitting.
unsigned int no_retransmission_timer(SSL* /*ssl*/, unsigned int /*previous_us*/) {
  return 60u * 1000 * 1000;
}

}  // namespace

DtlsPair::DtlsPair(const SuiteCase& suite) {
  ERR_clear_error();
  try {
    set_up(client_, false, suite);
    set_up(server_, true, suite);
  } catch (...) {
    release();
    throw;
  }
}

DtlsPair::~DtlsPair() { release(); }

void DtlsPair::release() {
  for (Endpoint* e : {&client_, &server_}) {
    SSL_free(e->ssl);  // frees the BIO too
    SSL_CTX_free(e->ctx);
    e->ssl = nullptr;
    e->ctx = nullptr;
  }
}

void DtlsPair::key_log_callback(const SSL* ssl, const char* line) {
  auto* e = static_cast<Endpoint*>(SSL_get_app_data(ssl));
  ++e->key_log_lines;
  if (auto entry = parse_client_random_line(line)) {
    e->key_log = std::move(entry);
  }
}

void DtlsPair::set_up(Endpoint& e, bool is_server, const SuiteCase& suite) {
  e.ctx = SSL_CTX_new(is_server ? DTLS_server_method() : DTLS_client_method());
  require(e.ctx != nullptr, "SSL_CTX_new");
  require(SSL_CTX_set_min_proto_version(e.ctx, DTLS1_2_VERSION) &&
              SSL_CTX_set_max_proto_version(e.ctx, DTLS1_2_VERSION),
          "DTLS 1.2 only");
  require(SSL_CTX_set_cipher_list(e.ctx, suite.openssl_name), suite.openssl_name);
  SSL_CTX_set_options(e.ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_QUERY_MTU);
  SSL_CTX_set_keylog_callback(e.ctx, key_log_callback);

  const bool psk =
      suite.key_exchange == KeyExchange::psk || suite.key_exchange == KeyExchange::ecdhe_psk;
  if (is_server) {
    if (psk) {
      SSL_CTX_set_psk_server_callback(e.ctx, psk_server_callback);
    } else {
      const Certificate& c = suite.key_exchange == KeyExchange::ecdhe_ecdsa
                                 ? ecdsa_p256_certificate()
                                 : rsa_2048_certificate();
      require(SSL_CTX_use_certificate(e.ctx, c.cert) && SSL_CTX_use_PrivateKey(e.ctx, c.key) &&
                  SSL_CTX_check_private_key(e.ctx),
              "server certificate");
    }
  } else {
    // The oracle checks records, not certificate paths.
    SSL_CTX_set_verify(e.ctx, SSL_VERIFY_NONE, nullptr);
    if (psk) {
      SSL_CTX_set_psk_client_callback(e.ctx, psk_client_callback);
    }
  }

  e.ssl = SSL_new(e.ctx);
  require(e.ssl != nullptr, "SSL_new");
  SSL_set_app_data(e.ssl, &e);
  BIO* bio = is_server ? new_datagram_bio(to_server_, to_client_)
                       : new_datagram_bio(to_client_, to_server_);
  require(bio != nullptr, "datagram BIO");
  SSL_set_bio(e.ssl, bio, bio);
  require(SSL_set_mtu(e.ssl, kDatagramBioMtu - kDatagramBioOverhead), "SSL_set_mtu");
  DTLS_set_timer_cb(e.ssl, no_retransmission_timer);
  if (is_server) {
    SSL_set_accept_state(e.ssl);
  } else {
    SSL_set_connect_state(e.ssl);
  }
}

int DtlsPair::step(Endpoint& e, const char* side) {
  const int r = SSL_do_handshake(e.ssl);
  if (r == 1) {
    return 1;
  }
  const int err = SSL_get_error(e.ssl, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    return 0;
  }
  error_ = std::string(side) + " handshake failed (SSL_get_error " + std::to_string(err) +
           "): " + openssl_errors();
  return -1;
}

bool DtlsPair::handshake() {
  bool client_done = false;
  bool server_done = false;
  for (int round = 0; round < kMaxHandshakeRounds; ++round) {
    if (!client_done) {
      const int r = step(client_, "client");
      if (r < 0) {
        return false;
      }
      client_done = r == 1;
    }
    if (!server_done) {
      const int r = step(server_, "server");
      if (r < 0) {
        return false;
      }
      server_done = r == 1;
    }
    if (client_done && server_done) {
      return true;
    }
  }
  error_ = "handshake did not finish in " + std::to_string(kMaxHandshakeRounds) + " rounds";
  return false;
}

}  // namespace dtlsgw::oracle
