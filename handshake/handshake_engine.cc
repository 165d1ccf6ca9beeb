#include "handshake/handshake_engine.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <climits>

#include "dtls_record/record_protection.h"
#include "dtls_record/record_walker.h"
#include "dtls_record/wire.h"
#include "handshake/client_hello.h"

namespace dtlsgw::handshake {

using record::ContentType;
using record::Epoch;

namespace {

// Bounds on the client epoch-1 records kept for the handover: a handshake
// sees one Finished and a few retransmissions of it, perhaps some early
// application data; anything beyond is not worth memory under attack.
constexpr size_t kMaxClientRecords = 16;
constexpr size_t kMaxClientRecordBytes = 64 * 1024;

// OpenSSL 3.0's DTLS fragmenter (dtls1_do_write) reserves room for a MAC
// and a CBC block but not for an AEAD's explicit nonce and tag, so a
// datagram holding epoch-1 records (the Finished packed behind
// NewSessionTicket and ChangeCipherSpec) can exceed the MTU it was given by
// up to 8 + 16 bytes. Giving OpenSSL the path MTU less the largest AEAD
// expansion keeps every datagram within the path MTU.
constexpr long kMaxAeadExpansion = 8 + 16;

long openssl_mtu(long path_mtu) { return path_mtu - kMaxAeadExpansion; }

// OpenSSL's error queue must be empty before an SSL_* call whose result
// goes to SSL_get_error, and is left empty for the next user of the
// thread. ERR_clear_error itself costs about 0.2 us (it resets all 16
// slots of the thread's queue) and the engine called it seven times per
// handshake; peeking first costs 0.03 us, and the queue is almost always
// empty.
void clear_openssl_errors() {
  if (ERR_peek_error() != 0) [[unlikely]] {
    ERR_clear_error();
  }
}

bool is_gcm(record::Aead a) {
  return a == record::Aead::aes128_gcm || a == record::Aead::aes256_gcm;
}

std::string certificate_subject(X509* cert) {
  BIO* mem = BIO_new(BIO_s_mem());
  if (mem == nullptr) {
    return {};
  }
  std::string out;
  if (X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(mem, &data);
    if (n > 0 && data != nullptr) {
      out.assign(data, static_cast<size_t>(n));
    }
  }
  BIO_free(mem);
  return out;
}

}  // namespace

std::string_view to_string(HandshakeState s) {
  switch (s) {
    case HandshakeState::in_progress:
      return "in_progress";
    case HandshakeState::complete:
      return "complete";
    case HandshakeState::failed:
      return "failed";
  }
  return "invalid";
}

std::string_view to_string(FailureReason r) {
  switch (r) {
    case FailureReason::none:
      return "none";
    case FailureReason::bad_config:
      return "bad_config";
    case FailureReason::openssl_error:
      return "openssl_error";
    case FailureReason::bad_client_hello:
      return "bad_client_hello";
    case FailureReason::cookie_rejected:
      return "cookie_rejected";
    case FailureReason::protocol_error:
      return "protocol_error";
    case FailureReason::peer_alert:
      return "peer_alert";
    case FailureReason::retransmissions_exhausted:
      return "retransmissions_exhausted";
    case FailureReason::deadline_exceeded:
      return "deadline_exceeded";
    case FailureReason::unsupported_suite:
      return "unsupported_suite";
    case FailureReason::key_derivation_failed:
      return "key_derivation_failed";
  }
  return "invalid";
}

// ---- Set-up ----------------------------------------------------------------

HandshakeEngine::HandshakeEngine(std::shared_ptr<ServerContext> context,
                                 record::CryptoContext& crypto, const EngineConfig& config,
                                 const PeerAddress& peer)
    : context_(std::move(context)), crypto_(crypto), config_(config) {
  link_.peer = peer;
  link_.mtu = openssl_mtu(config.path_mtu);
}

namespace {
constexpr long long kMinRetransmissionTimeoutUs = 15000;
}  // namespace

std::unique_ptr<HandshakeEngine> HandshakeEngine::create(std::shared_ptr<ServerContext> context,
                                                         record::CryptoContext& crypto,
                                                         const EngineConfig& config,
                                                         const PeerAddress& peer) {
  std::unique_ptr<HandshakeEngine> e(new HandshakeEngine(std::move(context), crypto, config, peer));
  clear_openssl_errors();
  const auto initial = config.initial_retransmission_timeout.count();
  const auto max = config.max_retransmission_timeout.count();
  // OpenSSL 3.0 treats a DTLS timer with under 15 ms left as expired, and
  // its read loop retransmits before it looks for input: a shorter initial
  // timeout burns every retransmission inside start() (found by fuzzing).
  if (initial < kMinRetransmissionTimeoutUs || max < initial || max > UINT_MAX / 2) {
    e->fail(FailureReason::bad_config, "retransmission timeouts out of range");
    return e;
  }
  if (e->context_ == nullptr || (e->ssl_ = SSL_new(e->context_->ssl_ctx())) == nullptr) {
    e->fail(FailureReason::openssl_error, "SSL_new: " + drain_openssl_errors());
    return e;
  }
  BIO* bio = new_datagram_bio(e->link_);
  if (bio == nullptr) {
    e->fail(FailureReason::openssl_error, "datagram BIO: " + drain_openssl_errors());
    return e;
  }
  // One BIO for both directions: SSL_set_bio takes the one reference.
  SSL_set_bio(e->ssl_, bio, bio);
  SSL_set_app_data(e->ssl_, e.get());
  SSL_set_info_callback(e->ssl_, info_callback);
  DTLS_set_timer_cb(e->ssl_, timer_callback);
  // Checked now so a bad MTU fails before any packet; set again after
  // DTLSv1_listen, whose SSL_clear may reset it (DESIGN.md).
  if (SSL_set_mtu(e->ssl_, openssl_mtu(config.path_mtu)) <= 0) {
    e->fail(FailureReason::bad_config,
            "path MTU " + std::to_string(config.path_mtu) + " is below OpenSSL's minimum (" +
                std::to_string(256 - udp_overhead(peer.family) + kMaxAeadExpansion) + ")");
  }
  clear_openssl_errors();
  return e;
}

HandshakeEngine::~HandshakeEngine() { release_ssl(); }

void HandshakeEngine::release_ssl() {
  if (ssl_ == nullptr) {
    return;
  }
  if (state_ == HandshakeState::complete) {
    // Marks the connection shut down without writing anything: SSL_free
    // would otherwise drop a completed, never shut down session from the
    // server cache (ssl_clear_bad_session), and with it resumption.
    SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  }
  SSL_free(ssl_);  // frees the BIO too; wipes OpenSSL's record keys
  ssl_ = nullptr;
  link_.inbound.clear();
  link_.outbound.clear();
}

void HandshakeEngine::fail(FailureReason reason, std::string detail) {
  state_ = HandshakeState::failed;
  failure_ = reason;
  failure_detail_ = std::move(detail);
  retransmission_deadline_ = TimePoint::max();
  release_ssl();
}

// ---- OpenSSL callbacks -----------------------------------------------------

// RFC 6347 §4.2.4.1 back-off: OpenSSL asks with 0 when a flight's timer
// starts and with the previous timeout when it expires (then retransmits).
unsigned int HandshakeEngine::timer_callback(SSL* ssl, unsigned int previous_us) {
  auto* e = static_cast<HandshakeEngine*>(SSL_get_app_data(ssl));
  const auto initial = static_cast<unsigned int>(e->config_.initial_retransmission_timeout.count());
  const auto max = static_cast<unsigned int>(e->config_.max_retransmission_timeout.count());
  if (previous_us == 0) {
    e->flight_retransmissions_ = 0;
    return initial;
  }
  ++e->flight_retransmissions_;
  ++e->stats_.retransmissions;
  return std::min(previous_us * 2, max);
}

void HandshakeEngine::info_callback(const SSL* ssl, int where, int ret) {
  if ((where & SSL_CB_ALERT) == 0) {
    return;
  }
  auto* e = static_cast<HandshakeEngine*>(SSL_get_app_data(ssl));
  // ret: level (RFC 5246 §7.2: 1 warning, 2 fatal) << 8 | description.
  const auto description = static_cast<uint8_t>(ret & 0xff);
  if ((where & SSL_CB_READ) != 0) {
    e->alert_received_ = description;
    e->fatal_alert_received_ |= (ret >> 8) == 2;
  } else {
    e->alert_sent_ = description;
  }
}

// ---- Driving ---------------------------------------------------------------

std::vector<Datagram> HandshakeEngine::start(std::span<const uint8_t> cookie_client_hello,
                                             TimePoint now) {
  std::vector<Datagram> out;
  if (started_ || state_ != HandshakeState::in_progress) {
    return out;
  }
  started_ = true;
  ++stats_.datagrams_in;
  handshake_deadline_ = now + config_.handshake_timeout;
  ClientHello hello;
  if (parse_client_hello(cookie_client_hello, hello) != ClientHelloResult::ok) {
    fail(FailureReason::bad_client_hello, "not a whole ClientHello");
    return out;
  }
  std::copy(hello.random.begin(), hello.random.end(), client_random_.begin());
  has_client_random_ = true;
  link_.client_hello.assign(cookie_client_hello.begin(), cookie_client_hello.end());
  link_.inbound.emplace_back(cookie_client_hello.begin(), cookie_client_hello.end());

  clear_openssl_errors();
  BIO_ADDR* client = BIO_ADDR_new();
  const int listened = client == nullptr ? -1 : DTLSv1_listen(ssl_, client);
  BIO_ADDR_free(client);
  if (listened != 1) {
    // A HelloVerifyRequest OpenSSL may have written is not sent: the
    // dataplane answers cookie-less ClientHellos, statelessly.
    const bool rejected = listened == 0 && link_.cookie_rejections > 0;
    fail(rejected        ? FailureReason::cookie_rejected
         : listened == 0 ? FailureReason::bad_client_hello
                         : FailureReason::openssl_error,
         "DTLSv1_listen returned " + std::to_string(listened) + ": " + drain_openssl_errors());
    return out;
  }
  if (SSL_set_mtu(ssl_, openssl_mtu(config_.path_mtu)) <= 0) {
    fail(FailureReason::bad_config, "SSL_set_mtu after DTLSv1_listen refused");
    return out;
  }
  link_.cookie_verified = true;  // for SSL_accept's repeat of the check
  drive(out);
  link_.cookie_verified = false;
  update_deadline(now);
  clear_openssl_errors();
  return out;
}

long HandshakeEngine::minimum_path_mtu(PeerAddress::Family family) {
  // OpenSSL 3.0's dtls1_min_mtu: 256 less the BIO's overhead.
  return 256 - udp_overhead(family) + kMaxAeadExpansion;
}

bool HandshakeEngine::set_path_mtu(long path_mtu) {
  if (state_ != HandshakeState::in_progress || ssl_ == nullptr) {
    return false;
  }
  // OpenSSL refuses an MTU below its minimum and keeps the old one; after
  // DTLSv1_listen the value is read again from config_ (start()).
  clear_openssl_errors();
  if (SSL_set_mtu(ssl_, openssl_mtu(path_mtu)) <= 0) {
    clear_openssl_errors();
    return false;
  }
  config_.path_mtu = path_mtu;
  link_.mtu = openssl_mtu(path_mtu);
  return true;
}

std::vector<Datagram> HandshakeEngine::on_datagram(std::span<const uint8_t> datagram,
                                                   TimePoint now) {
  std::vector<Datagram> out;
  if (state_ == HandshakeState::complete) {
    if (handover_.has_value() && resends_ < config_.max_final_flight_resends &&
        authenticates_as_client_finished(datagram)) {
      ++resends_;
      ++stats_.final_flight_resends;
      stats_.datagrams_out += handover_->final_flight.size();
      return handover_->final_flight;
    }
    ++stats_.refused_after_completion;
    return out;
  }
  if (state_ != HandshakeState::in_progress || !started_) {
    ++stats_.refused_after_completion;
    return out;
  }
  ++stats_.datagrams_in;
  if (now >= handshake_deadline_) {
    fail(FailureReason::deadline_exceeded);
    return out;
  }
  // What OpenSSL would do on its own before reading (dtls1_read_bytes),
  // done here so the retransmission budget applies to it too.
  handle_expired_timer(out);
  if (state_ != HandshakeState::in_progress) {
    return out;
  }
  note_client_records(datagram);
  link_.inbound.emplace_back(datagram.begin(), datagram.end());
  drive(out);
  link_.inbound.clear();
  update_deadline(now);
  clear_openssl_errors();
  return out;
}

std::vector<Datagram> HandshakeEngine::on_timer(TimePoint now) {
  std::vector<Datagram> out;
  if (state_ != HandshakeState::in_progress || !started_) {
    return out;
  }
  if (now >= handshake_deadline_) {
    fail(FailureReason::deadline_exceeded);
    return out;
  }
  handle_expired_timer(out);
  update_deadline(now);
  clear_openssl_errors();
  return out;
}

TimePoint HandshakeEngine::next_deadline() const {
  if (state_ != HandshakeState::in_progress || !started_) {
    return TimePoint::max();
  }
  return std::min(retransmission_deadline_, handshake_deadline_);
}

void HandshakeEngine::drive(std::vector<Datagram>& out) {
  clear_openssl_errors();
  const int r = SSL_do_handshake(ssl_);
  collect_output(out);
  if (r == 1) {
    complete();
    return;
  }
  const int error = SSL_get_error(ssl_, r);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
    return;
  }
  fail(fatal_alert_received_ ? FailureReason::peer_alert : FailureReason::protocol_error,
       "SSL_get_error " + std::to_string(error) + ": " + drain_openssl_errors());
}

void HandshakeEngine::handle_expired_timer(std::vector<Datagram>& out) {
  timeval left{};
  if (DTLSv1_get_timeout(ssl_, &left) != 1 || left.tv_sec != 0 || left.tv_usec != 0) {
    return;  // no timer running, or not expired
  }
  if (flight_retransmissions_ >= config_.max_retransmissions) {
    fail(FailureReason::retransmissions_exhausted,
         std::to_string(flight_retransmissions_) + " retransmissions of one flight unanswered");
    return;
  }
  clear_openssl_errors();
  const int r = DTLSv1_handle_timeout(ssl_);
  collect_output(out);
  if (r < 0) {
    fail(FailureReason::protocol_error, "DTLSv1_handle_timeout: " + drain_openssl_errors());
  }
}

void HandshakeEngine::update_deadline(TimePoint now) {
  timeval left{};
  if (state_ != HandshakeState::in_progress || ssl_ == nullptr ||
      DTLSv1_get_timeout(ssl_, &left) != 1) {
    retransmission_deadline_ = TimePoint::max();
    return;
  }
  retransmission_deadline_ =
      now + std::chrono::seconds(left.tv_sec) + std::chrono::microseconds(left.tv_usec);
}

// ---- Record bookkeeping ----------------------------------------------------

void HandshakeEngine::collect_output(std::vector<Datagram>& out) {
  const size_t first = out.size();
  bool carries_change_cipher_spec = false;
  for (Datagram& d : link_.outbound) {
    record::RecordWalker walker(d);
    record::RecordView r;
    while (walker.next(r)) {
      if (r.header.type == ContentType::change_cipher_spec) {
        carries_change_cipher_spec = true;
      }
      if (r.header.number.epoch() == Epoch{1}) {
        const uint64_t sequence = r.header.number.sequence();
        server_last_sequence_ = std::max(server_last_sequence_.value_or(0), sequence);
        // The first 8 bytes are the explicit nonce in GCM and CCM suites
        // (RFC 5288 §3, RFC 6655 §3); kept for GCM at completion.
        if (r.fragment.size() >= 8) {
          server_explicit_nonces_.push_back(record::wire::load_u64(r.fragment.data()));
        }
      }
    }
    out.push_back(std::move(d));
  }
  link_.outbound.clear();
  stats_.datagrams_out += out.size() - first;
  // One OpenSSL call writes one flight (or retransmits one): the flight
  // with the ChangeCipherSpec is the final one, in its latest copy.
  if (carries_change_cipher_spec) {
    final_flight_.assign(out.begin() + static_cast<long>(first), out.end());
  }
}

namespace {

// The walker hands out mutable views; these walks only read them.
record::RecordWalker read_only_walker(std::span<const uint8_t> datagram) {
  return record::RecordWalker(
      std::span<uint8_t>(const_cast<uint8_t*>(datagram.data()), datagram.size()));
}

}  // namespace

void HandshakeEngine::note_client_records(std::span<const uint8_t> datagram) {
  record::RecordWalker walker = read_only_walker(datagram);
  record::RecordView r;
  while (walker.next(r)) {
    if (r.header.number.epoch() != Epoch{1}) {
      continue;
    }
    if (client_records_.size() >= kMaxClientRecords ||
        client_record_bytes_ + r.record.size() > kMaxClientRecordBytes) {
      ++stats_.client_records_over_limit;
      continue;
    }
    client_record_bytes_ += r.record.size();
    client_records_.emplace_back(r.record.begin(), r.record.end());
  }
}

void HandshakeEngine::complete() {
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_);
  const CipherSuite* suite =
      cipher == nullptr ? nullptr : find_suite(SSL_CIPHER_get_protocol_id(cipher));
  if (suite == nullptr) {
    fail(FailureReason::unsupported_suite);
    return;
  }
  if (!server_last_sequence_.has_value()) {
    // Both the full and the abbreviated handshake end with the server's
    // epoch-1 Finished; without it the numbers cannot be handed over.
    fail(FailureReason::protocol_error, "no epoch-1 record from OpenSSL");
    return;
  }
  Handover h;
  h.peer = link_.peer;
  h.suite = suite->iana_id;

  uint8_t master[SSL_MAX_MASTER_KEY_LENGTH];
  uint8_t client_random[SSL3_RANDOM_SIZE];
  uint8_t server_random[SSL3_RANDOM_SIZE];
  const size_t master_length =
      SSL_SESSION_get_master_key(SSL_get_session(ssl_), master, sizeof(master));
  const bool randoms =
      SSL_get_client_random(ssl_, client_random, sizeof(client_random)) == sizeof(client_random) &&
      SSL_get_server_random(ssl_, server_random, sizeof(server_random)) == sizeof(server_random);
  const bool derived = master_length > 0 && randoms &&
                       expand_key_block(*suite, std::span(master, master_length), client_random,
                                        server_random, h.keys);
  OPENSSL_cleanse(master, sizeof(master));
  if (!derived) {
    fail(FailureReason::key_derivation_failed, drain_openssl_errors());
    return;
  }

  h.server_last_sequence = *server_last_sequence_;
  if (is_gcm(suite->aead)) {
    h.server_explicit_nonces = std::move(server_explicit_nonces_);
  }

  // The client's epoch-1 records, authenticated under its key: handshake
  // records (its Finished) were consumed; others are passed on unopened.
  // When OpenSSL was fed exactly one epoch-1 record and it is a handshake
  // record, OpenSSL has authenticated it already: the handshake cannot
  // complete without the client's Finished, which travels in epoch 1, so
  // that record carried it whole. Its number is consumed without opening
  // it again (the usual case: one client flight, one Finished).
  record::RecordView only;
  const bool only_finished = client_records_.size() == 1 &&
                             read_only_walker(client_records_.front()).next(only) &&
                             only.header.type == ContentType::handshake;
  if (only_finished) {
    h.client_sequences.push_back(only.header.number.sequence());
  } else if (record::ReadEpoch read;
             read.install(crypto_, Epoch{1}, suite->aead, h.keys.client_write_key(),
                          h.keys.client_write_iv())) {
    for (const Datagram& original : client_records_) {
      Datagram scratch = original;
      record::RecordWalker walker(scratch);
      record::RecordView r;
      std::span<uint8_t> plaintext;
      if (walker.next(r) && open_record(crypto_, read, r, plaintext) == record::OpenResult::ok) {
        if (r.header.type == ContentType::handshake) {
          h.client_sequences.push_back(r.header.number.sequence());
        } else {
          h.client_pending_records.push_back(original);
        }
      }
      OPENSSL_cleanse(scratch.data(), scratch.size());
    }
    read.retire();
  }
  client_records_.clear();

  if (const char* identity = SSL_get_psk_identity(ssl_); identity != nullptr) {
    h.identity.kind = PeerIdentity::Kind::psk;
    h.identity.name = identity;
  } else if (X509* cert = SSL_get0_peer_certificate(ssl_); cert != nullptr) {
    h.identity.kind = PeerIdentity::Kind::certificate;
    h.identity.name = certificate_subject(cert);
  }
  h.resumed = SSL_session_reused(ssl_) == 1;
  // Resends come from the Handover's copy while the engine holds it.
  h.final_flight = std::move(final_flight_);
  final_flight_.clear();

  handover_ = std::move(h);
  state_ = HandshakeState::complete;
  retransmission_deadline_ = TimePoint::max();
  // OpenSSL never runs again for this peer (DESIGN.md).
  release_ssl();
}

bool HandshakeEngine::authenticates_as_client_finished(std::span<const uint8_t> datagram) {
  const RecordKeys& keys = handover_->keys;
  record::ReadEpoch read;
  if (!read.install(crypto_, Epoch{1}, keys.aead(), keys.client_write_key(),
                    keys.client_write_iv())) {
    return false;
  }
  bool found = false;
  Datagram scratch(datagram.begin(), datagram.end());
  record::RecordWalker walker(scratch);
  record::RecordView r;
  while (walker.next(r)) {
    if (r.header.number.epoch() != Epoch{1} || r.header.type != ContentType::handshake) {
      continue;
    }
    std::vector<uint64_t>& seen = handover_->client_sequences;
    const uint64_t sequence = r.header.number.sequence();
    if (std::find(seen.begin(), seen.end(), sequence) != seen.end()) {
      continue;  // a replay of a record already consumed
    }
    std::span<uint8_t> plaintext;
    if (open_record(crypto_, read, r, plaintext) == record::OpenResult::ok) {
      // Consumed here: the dataplane must treat it as seen too.
      seen.push_back(sequence);
      found = true;
    }
  }
  OPENSSL_cleanse(scratch.data(), scratch.size());
  read.retire();
  return found;
}

Handover HandshakeEngine::take_handover() {
  Handover h = std::move(*handover_);
  handover_.reset();
  return h;
}

}  // namespace dtlsgw::handshake
