#include "bench/loadgen/hs_client.h"

#include <openssl/err.h>

#include <algorithm>
#include <atomic>
#include <cstring>

namespace dtlsgw::loadgen {

namespace {

// The contexts' settings for OpenSSL's callbacks, which get only the SSL.
HsClientContext* context_of(SSL* ssl) {
  return static_cast<HsClientContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
}

// RFC 6347 §4.2.4.1: start at the configured timeout, double on each
// expiry, at most 60 s. The timeout is an option because a loaded gateway
// sharing a core with the load generator can take longer than OpenSSL's
// 1 s default to answer, and a spurious retransmission is extra load.
unsigned int client_timer(SSL* ssl, unsigned int previous_us) {
  if (previous_us == 0) {
    const HsClientContext* c = context_of(ssl);
    return (c != nullptr ? c->config().initial_timeout_ms : 1000) * 1000u;
  }
  return std::min(previous_us * 2, 60u * 1000 * 1000);
}

unsigned int client_psk(SSL* ssl, const char* /*hint*/, char* identity,
                        unsigned int max_identity_length, unsigned char* psk,
                        unsigned int max_psk_length) {
  const HsClientContext* c = context_of(ssl);
  if (c == nullptr) {
    return 0;
  }
  const HsClientConfig& k = c->config();
  if (k.psk_identity.size() + 1 > max_identity_length || k.psk_key.size() > max_psk_length) {
    return 0;
  }
  std::memcpy(identity, k.psk_identity.c_str(), k.psk_identity.size() + 1);
  std::memcpy(psk, k.psk_key.data(), k.psk_key.size());
  return static_cast<unsigned int>(k.psk_key.size());
}

std::string openssl_errors() {
  std::string s;
  char buf[256];
  while (const unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof(buf));
    s += s.empty() ? "" : "; ";
    s += buf;
  }
  return s.empty() ? "no OpenSSL error" : s;
}

}  // namespace

std::unique_ptr<HsClientContext> HsClientContext::create(const HsClientConfig& config,
                                                         std::string& error) {
  std::unique_ptr<HsClientContext> c(new HsClientContext());
  c->config_ = config;
  c->ctx_ = SSL_CTX_new(DTLS_client_method());
  if (c->ctx_ == nullptr || !SSL_CTX_set_min_proto_version(c->ctx_, DTLS1_2_VERSION) ||
      !SSL_CTX_set_max_proto_version(c->ctx_, DTLS1_2_VERSION) ||
      !SSL_CTX_set_cipher_list(c->ctx_, config.cipher_list.c_str()) ||
      (!config.groups.empty() && !SSL_CTX_set1_groups_list(c->ctx_, config.groups.c_str()))) {
    error = "client context: " + openssl_errors();
    return nullptr;
  }
  // Every handshake is a full one, as from distinct devices: no tickets.
  SSL_CTX_set_options(c->ctx_, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(c->ctx_, SSL_SESS_CACHE_OFF);
  // The benchmark measures the server; ECDSA clients need not verify it.
  SSL_CTX_set_verify(c->ctx_, SSL_VERIFY_NONE, nullptr);
  if (config.psk) {
    SSL_CTX_set_psk_client_callback(c->ctx_, client_psk);
  }
  SSL_CTX_set_app_data(c->ctx_, c.get());
  return c;
}

HsClientContext::~HsClientContext() { SSL_CTX_free(ctx_); }

HsClient::HsClient(const HsClientContext& context, const handshake::PeerAddress& server,
                   std::vector<uint8_t> message)
    : message_(std::move(message)) {
  link_.peer = server;
  link_.mtu = context.config().mtu;
  SSL* ssl = SSL_new(context.ssl_ctx());
  BIO* bio = ssl == nullptr ? nullptr : handshake::new_datagram_bio(link_);
  if (bio == nullptr) {
    SSL_free(ssl);
    state_ = State::failed;
    failure_ = Failure::ssl_error;
    return;
  }
  SSL_set_bio(ssl, bio, bio);
  DTLS_set_timer_cb(ssl, client_timer);
  SSL_set_mtu(ssl, link_.mtu);
  SSL_set_connect_state(ssl);
  ssl_ = ssl;
}

HsClient::~HsClient() { SSL_free(ssl_); }

void HsClient::fail(Failure f) {
  state_ = State::failed;
  failure_ = f;
  ERR_clear_error();
}

void HsClient::start(Clock::time_point now) {
  started_ = now;
  if (state_ == State::handshaking) {
    drive(now);
  }
}

void HsClient::drive(Clock::time_point now) {
  if (state_ == State::handshaking) {
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) {
      handshake_done_ = now;
      state_ = State::awaiting_echo;
      send_message();
      last_message_ = now;
    } else if (SSL_get_error(ssl_, r) != SSL_ERROR_WANT_READ) {
      fail(Failure::ssl_error);
      return;
    }
  }
  if (state_ == State::awaiting_echo) {
    // Records that are not the echo (a retransmitted Finished, §4.2.4)
    // are consumed by SSL_read without returning data.
    uint8_t buf[2048];
    while (!link_.inbound.empty()) {
      const int n = SSL_read(ssl_, buf, sizeof(buf));
      if (n > 0) {
        if (static_cast<size_t>(n) != message_.size() ||
            std::memcmp(buf, message_.data(), message_.size()) != 0) {
          fail(Failure::echo_mismatch);
          return;
        }
        echo_done_ = now;
        state_ = State::done;
        // close_notify (RFC 5246 §7.2.1): the gateway may drop the session
        // now rather than at its idle timeout.
        SSL_shutdown(ssl_);
        return;
      }
      const int e = SSL_get_error(ssl_, n);
      if (e != SSL_ERROR_WANT_READ) {
        fail(Failure::ssl_error);
        return;
      }
    }
  }
}

void HsClient::send_message() {
  if (SSL_write(ssl_, message_.data(), static_cast<int>(message_.size())) <= 0) {
    fail(Failure::ssl_error);
  }
}

void HsClient::receive(std::vector<uint8_t> datagram, Clock::time_point now) {
  if (state_ != State::handshaking && state_ != State::awaiting_echo) {
    return;
  }
  link_.inbound.push_back(std::move(datagram));
  drive(now);
}

void HsClient::on_timer(Clock::time_point now, Clock::time_point deadline,
                        std::chrono::milliseconds echo_retry) {
  if (state_ != State::handshaking && state_ != State::awaiting_echo) {
    return;
  }
  if (now >= deadline) {
    fail(Failure::timeout);
    return;
  }
  if (state_ == State::handshaking) {
    timeval left{};
    if (DTLSv1_get_timeout(ssl_, &left) == 1 && left.tv_sec == 0 && left.tv_usec == 0) {
      const int r = DTLSv1_handle_timeout(ssl_);
      if (r > 0) {
        ++retransmissions_;
      } else if (r < 0) {
        fail(Failure::ssl_error);
      }
    }
  } else if (now - last_message_ >= echo_retry) {
    // Application data is not retransmitted by DTLS: resend the message
    // (a new record) in case the first was lost or came too early.
    last_message_ = now;
    ++retransmissions_;
    send_message();
  }
}

bool parse_hex(const std::string& text, std::vector<uint8_t>& out) {
  if (text.size() % 2 != 0) {
    return false;
  }
  const auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  };
  out.clear();
  for (size_t i = 0; i < text.size(); i += 2) {
    const int hi = digit(text[i]);
    const int lo = digit(text[i + 1]);
    if (hi < 0 || lo < 0) {
      return false;
    }
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return true;
}

}  // namespace dtlsgw::loadgen
