// One in-memory OpenSSL DTLS 1.2 client of the handshake mode: the cookie
// exchange and the handshake (RFC 6347 §4.2), retransmitted on OpenSSL's
// timer (DTLSv1_handle_timeout, §4.2.4), then one application-data record
// that the backend echoes and the client checks. Datagrams go in and out
// through handshake/datagram_bio, one std::vector per UDP payload.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "handshake/datagram_bio.h"

namespace dtlsgw::loadgen {

using Clock = std::chrono::steady_clock;

struct HsClientConfig {
  bool psk = true;
  std::string psk_identity;
  std::vector<uint8_t> psk_key;
  std::string cipher_list;  // OpenSSL names
  std::string groups;       // supported_groups; empty: OpenSSL's
  // First retransmission (§4.2.4.1). At least 20: OpenSSL 3.0 takes a
  // timer with under 15 ms left as already expired.
  unsigned initial_timeout_ms = 1000;
  unsigned mtu = 1200;
};

class HsClientContext {
 public:
  static std::unique_ptr<HsClientContext> create(const HsClientConfig& config, std::string& error);
  ~HsClientContext();
  HsClientContext(const HsClientContext&) = delete;
  HsClientContext& operator=(const HsClientContext&) = delete;
  SSL_CTX* ssl_ctx() const { return ctx_; }
  const HsClientConfig& config() const { return config_; }

 private:
  HsClientContext() = default;
  SSL_CTX* ctx_ = nullptr;
  HsClientConfig config_;
};

class HsClient {
 public:
  enum class State : uint8_t { handshaking, awaiting_echo, done, failed };
  enum class Failure : uint8_t { none, ssl_error, echo_mismatch, timeout };

  // `server` is the gateway's listener; `message` the application data the
  // backend is to echo.
  HsClient(const HsClientContext& context, const handshake::PeerAddress& server,
           std::vector<uint8_t> message);
  ~HsClient();
  HsClient(const HsClient&) = delete;
  HsClient& operator=(const HsClient&) = delete;

  // Starts the handshake (the first ClientHello goes to outbound()).
  void start(Clock::time_point now);
  // A datagram from the gateway.
  void receive(std::vector<uint8_t> datagram, Clock::time_point now);
  // Retransmissions: the handshake's flight on OpenSSL's timer, the
  // application data every `echo_retry`. Fails the client past `deadline`.
  void on_timer(Clock::time_point now, Clock::time_point deadline,
                std::chrono::milliseconds echo_retry);

  std::vector<handshake::Datagram>& outbound() { return link_.outbound; }
  State state() const { return state_; }
  Failure failure() const { return failure_; }
  std::chrono::nanoseconds handshake_time() const { return handshake_done_ - started_; }
  std::chrono::nanoseconds echo_time() const { return echo_done_ - handshake_done_; }
  Clock::time_point started() const { return started_; }
  unsigned retransmissions() const { return retransmissions_; }

 private:
  void drive(Clock::time_point now);
  void send_message();
  void fail(Failure f);

  handshake::DatagramLink link_;
  SSL* ssl_ = nullptr;
  std::vector<uint8_t> message_;
  State state_ = State::handshaking;
  Failure failure_ = Failure::none;
  Clock::time_point started_{};
  Clock::time_point handshake_done_{};
  Clock::time_point echo_done_{};
  Clock::time_point last_message_{};
  unsigned retransmissions_ = 0;
};

// "00112233..." → bytes; false on odd length or a non-hex digit.
bool parse_hex(const std::string& text, std::vector<uint8_t>& out);

}  // namespace dtlsgw::loadgen
