// One server-side DTLS 1.2 handshake, driven by OpenSSL 3.0 over memory
// (DESIGN.md, "Handshake engine"). No sockets, threads or blocking: the
// control process feeds it the datagrams the dataplane punted and the
// timer ticks, and sends what it returns.
//
//   start(cookie ClientHello)  DTLSv1_listen (must accept the cookie) then
//                              SSL_accept; returns the ServerHello flight.
//   on_datagram(d)             feeds the peer's next datagram.
//   on_timer(now)              RFC 6347 §4.2.4.1 retransmission and the
//                              overall deadline; call at next_deadline().
//
// On completion the engine extracts a Handover (keys, record numbers,
// identity, final flight), frees OpenSSL's state and never feeds OpenSSL
// again: fed a retransmitted client flight, OpenSSL would re-send its final
// flight under new epoch-1 numbers the dataplane owns (DESIGN.md). Instead
// the engine answers an authenticated client Finished retransmission with
// the cached final-flight bytes, until the Handover is taken.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dtls_record/crypto_context.h"
#include "handshake/datagram_bio.h"
#include "handshake/handover.h"
#include "handshake/peer_address.h"
#include "handshake/server_context.h"

namespace dtlsgw::handshake {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

struct EngineConfig {
  // RFC 6347 §4.2.4.1: "A recommended initial timer value is 1 second
  // ... double the value at each retransmission, up to no less than the
  // RFC 6298 maximum of 60 seconds."
  // At least 15 ms (below that OpenSSL 3.0 treats the timer as expired at
  // once); a shorter value is bad_config.
  std::chrono::microseconds initial_retransmission_timeout{std::chrono::seconds(1)};
  std::chrono::microseconds max_retransmission_timeout{std::chrono::seconds(60)};
  // Retransmissions of one flight before the handshake fails.
  uint32_t max_retransmissions = 6;
  // The whole handshake, from start().
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(60)};
  // Path MTU in bytes of UDP payload; OpenSSL fragments handshake messages
  // so that no datagram is larger. At least 252 (IPv4) or 232 (IPv6):
  // OpenSSL's minimum of 256 less the IP and UDP headers, plus the AEAD
  // room it forgets to reserve (handshake_engine.cc).
  long path_mtu = 1200;
  // Cached final-flight resends after completion (client Finished
  // retransmissions that reach the engine before the handover is taken).
  uint32_t max_final_flight_resends = 8;
};

enum class HandshakeState : uint8_t { in_progress, complete, failed };
std::string_view to_string(HandshakeState s);

enum class FailureReason : uint8_t {
  none,
  bad_config,                 // e.g. an MTU below OpenSSL's minimum
  openssl_error,              // OpenSSL refused to set up (allocation)
  bad_client_hello,           // DTLSv1_listen found no ClientHello in it
  cookie_rejected,            // DTLSv1_listen did not accept the cookie
  protocol_error,             // OpenSSL aborted the handshake (alert sent)
  peer_alert,                 // the client sent a fatal alert
  retransmissions_exhausted,  // max_retransmissions of one flight
  deadline_exceeded,          // handshake_timeout
  unsupported_suite,          // negotiated a suite outside the table
  key_derivation_failed,
};
inline constexpr size_t kFailureReasonCount = 11;
std::string_view to_string(FailureReason r);

class HandshakeEngine {
 public:
  struct Stats {
    uint64_t datagrams_in = 0;
    uint64_t datagrams_out = 0;
    uint64_t retransmissions = 0;            // timer-driven, all flights
    uint64_t final_flight_resends = 0;       // after completion
    uint64_t refused_after_completion = 0;   // datagrams not fed to OpenSSL
    uint64_t client_records_over_limit = 0;  // epoch-1 records not kept
    uint64_t cookie_verifications = 0;       // by OpenSSL's callback
  };

  // `crypto` (the control thread's) must outlive the engine.
  static std::unique_ptr<HandshakeEngine> create(std::shared_ptr<ServerContext> context,
                                                 record::CryptoContext& crypto,
                                                 const EngineConfig& config,
                                                 const PeerAddress& peer);
  ~HandshakeEngine();
  HandshakeEngine(const HandshakeEngine&) = delete;
  HandshakeEngine& operator=(const HandshakeEngine&) = delete;

  // Starts from the ClientHello that carries a valid cookie (the dataplane
  // checked it; OpenSSL checks it again through the callbacks). Returns the
  // datagrams to send (the ServerHello flight, or with resumption the whole
  // server side). Call once.
  std::vector<Datagram> start(std::span<const uint8_t> cookie_client_hello, TimePoint now);
  std::vector<Datagram> on_datagram(std::span<const uint8_t> datagram, TimePoint now);
  std::vector<Datagram> on_timer(TimePoint now);

  // Lowers (or sets) the path MTU, in bytes of UDP payload, for the
  // flights still to come and the retransmissions of the current one
  // (OpenSSL fragments each message again when it resends it): an ICMP
  // frag-needed / packet-too-big reported a smaller path (RFC 1191,
  // RFC 8201). False, and nothing changes, when it is below OpenSSL's
  // minimum (see EngineConfig::path_mtu) or the handshake is over.
  bool set_path_mtu(long path_mtu);
  long path_mtu() const { return config_.path_mtu; }
  // The smallest path MTU (bytes of UDP payload) OpenSSL takes for a peer
  // of this family.
  static long minimum_path_mtu(PeerAddress::Family family);

  // When on_timer should run next; TimePoint::max() when nothing is
  // pending (complete or failed).
  TimePoint next_deadline() const;

  HandshakeState state() const { return state_; }
  FailureReason failure() const { return failure_; }
  // OpenSSL's reasons for a failure (no key material), for the log.
  const std::string& failure_detail() const { return failure_detail_; }
  // The last alert description sent or received (RFC 5246 §7.2).
  std::optional<uint8_t> alert_sent() const { return alert_sent_; }
  std::optional<uint8_t> alert_received() const { return alert_received_; }

  const PeerAddress& peer() const { return link_.peer; }
  // ClientHello.random of the cookie ClientHello (32 bytes once started).
  std::span<const uint8_t> client_random() const {
    return std::span<const uint8_t>(client_random_).first(has_client_random_ ? 32 : 0);
  }

  // Complete and the Handover not yet taken.
  bool has_handover() const { return handover_.has_value(); }
  // Moves the Handover out; the engine keeps no key material afterwards.
  // Call only when has_handover().
  Handover take_handover();
  // The cached final flight: the latest flight OpenSSL wrote with a
  // ChangeCipherSpec; once complete, the Handover's copy until it is taken
  // (it leaves with the Handover: one copy fewer per handshake).
  const std::vector<Datagram>& final_flight() const {
    return handover_.has_value() ? handover_->final_flight : final_flight_;
  }

  Stats stats() const {
    Stats s = stats_;
    s.cookie_verifications = link_.cookie_verifications;
    return s;
  }
  // Datagram controls OpenSSL asked that the BIO left unanswered.
  const std::vector<int>& unanswered_bio_controls() const { return link_.unanswered_controls; }

 private:
  HandshakeEngine(std::shared_ptr<ServerContext> context, record::CryptoContext& crypto,
                  const EngineConfig& config, const PeerAddress& peer);
  static unsigned int timer_callback(SSL* ssl, unsigned int previous_us);
  static void info_callback(const SSL* ssl, int where, int ret);

  void fail(FailureReason reason, std::string detail = {});
  void release_ssl();
  // Runs SSL_do_handshake and handles its result.
  void drive(std::vector<Datagram>& out);
  // Retransmits (or fails) if OpenSSL's timer has expired.
  void handle_expired_timer(std::vector<Datagram>& out);
  // Takes what OpenSSL wrote into `out`, noting epoch-1 records and
  // remembering the flight that carries the ChangeCipherSpec.
  void collect_output(std::vector<Datagram>& out);
  void note_client_records(std::span<const uint8_t> datagram);
  void complete();
  bool authenticates_as_client_finished(std::span<const uint8_t> datagram);
  void update_deadline(TimePoint now);

  std::shared_ptr<ServerContext> context_;
  record::CryptoContext& crypto_;
  EngineConfig config_;
  DatagramLink link_;
  SSL* ssl_ = nullptr;
  HandshakeState state_ = HandshakeState::in_progress;
  FailureReason failure_ = FailureReason::none;
  std::string failure_detail_;
  std::optional<uint8_t> alert_sent_;
  std::optional<uint8_t> alert_received_;
  bool fatal_alert_received_ = false;
  bool started_ = false;
  std::array<uint8_t, 32> client_random_{};
  bool has_client_random_ = false;

  TimePoint handshake_deadline_ = TimePoint::max();
  TimePoint retransmission_deadline_ = TimePoint::max();
  uint32_t flight_retransmissions_ = 0;

  // Server epoch-1 records OpenSSL wrote.
  std::optional<uint64_t> server_last_sequence_;
  std::vector<uint64_t> server_explicit_nonces_;
  // Client epoch-1 records fed to OpenSSL, as received (bounded).
  std::vector<Datagram> client_records_;
  size_t client_record_bytes_ = 0;

  std::vector<Datagram> final_flight_;
  std::optional<Handover> handover_;
  uint32_t resends_ = 0;
  Stats stats_;
};

}  // namespace dtlsgw::handshake
