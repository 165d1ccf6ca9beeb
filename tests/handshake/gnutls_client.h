// A second, independent DTLS 1.2 client for the handshake tests: GnuTLS
// (libgnutls 3.7) over in-memory datagram queues, through its push, pull and
// pull-timeout callbacks, non-blocking, so the engine is checked against an
// implementation that shares no code with the OpenSSL it runs on
// (STYLE.md rule 8). GnuTLS's DTLS timers run on the real clock; the tests
// make them short (gnutls_dtls_set_timeouts) and wait for them explicitly.
#pragma once

#include <gnutls/gnutls.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "handshake/cipher_suites.h"
#include "handshake/handshake_engine.h"
#include "handshake/server_context.h"
#include "tests/handshake/test_support.h"

namespace dtlsgw::handshake::test {

struct GnutlsClientOptions {
  // A whole GnuTLS priority string (gnutls_priority_init2 syntax).
  std::string priority;
  // Certificate mode: PEM trust anchors the server's certificate must verify
  // against (gnutls_session_set_verify_cert, no host name); empty: no
  // verification.
  std::vector<std::string> trust_files;
  // A client certificate to present when the server asks for one.
  const CertificateFiles* certificate = nullptr;
  // PSK mode (RFC 4279 §2) when psk_identity is not empty.
  std::string psk_identity;
  Bytes psk;
  // gnutls_session_get_data2 of an earlier session: resume it.
  Bytes resume;
  // false: GNUTLS_NO_TICKETS (resumption by session ID only).
  bool tickets = true;
  unsigned int mtu = 1200;
  // gnutls_dtls_set_timeouts: the first retransmission timeout and the
  // whole handshake's.
  std::chrono::milliseconds retransmission_timeout{50};
  std::chrono::milliseconds handshake_timeout{5000};
};

// The GnuTLS priority string that offers exactly `suite` in DTLS 1.2, with
// every signature algorithm and group GnuTLS has, and nothing else.
std::string priority_for(const CipherSuite& suite);

// Options for `suite`: a PSK identity and key from the server's PSK file
// for the PSK suites; otherwise verification against both server
// certificates (the self-signed ECDSA and RSA ones).
GnutlsClientOptions gnutls_client_options(const CipherSuite& suite);

class GnutlsClient {
 public:
  explicit GnutlsClient(const GnutlsClientOptions& options);
  ~GnutlsClient();
  GnutlsClient(const GnutlsClient&) = delete;
  GnutlsClient& operator=(const GnutlsClient&) = delete;

  // One gnutls_handshake call; returns the datagrams GnuTLS pushed. Also
  // where GnuTLS retransmits, once its timer has run out.
  std::vector<Datagram> step();
  void deliver(const Datagram& d) { inbound_.push_back(d); }
  void deliver(const std::vector<Datagram>& ds);
  // Delivered datagrams GnuTLS has not pulled yet.
  size_t pending() const { return inbound_.size(); }
  // Steps until GnuTLS writes something, finishes, fails, or stops
  // pulling: GnuTLS may return GNUTLS_E_AGAIN with datagrams of a flight
  // still queued. Bounded by the datagrams pending.
  std::vector<Datagram> step_until_output();
  bool done() const { return done_; }
  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }
  // The GnuTLS error code that failed the handshake (0 if none).
  int error_code() const { return error_code_; }
  gnutls_session_t session() const { return session_; }

  // After the handshake.
  // The negotiated suite's IANA number (from GnuTLS's own suite table).
  uint16_t suite() const;
  bool resumed() const { return gnutls_session_is_resumed(session_) != 0; }
  // gnutls_session_get_data2: what a later client resumes from.
  Bytes session_data() const;
  // gnutls_record_send of one record; returns the one datagram pushed.
  Datagram write(const Bytes& plaintext);
  // gnutls_record_recv of everything delivered: the plaintexts read.
  std::vector<Bytes> read_all();
  // Datagrams pushed since the last step/write (for alerts).
  std::vector<Datagram> take();

 private:
  void set_up(const GnutlsClientOptions& options);
  void release();
  static ssize_t push(gnutls_transport_ptr_t self, const void* data, size_t length);
  static ssize_t pull(gnutls_transport_ptr_t self, void* data, size_t length);
  static int pull_timeout(gnutls_transport_ptr_t self, unsigned int ms);

  gnutls_session_t session_ = nullptr;
  gnutls_certificate_credentials_t certificate_credentials_ = nullptr;
  gnutls_psk_client_credentials_t psk_credentials_ = nullptr;
  std::deque<Datagram> inbound_;
  std::vector<Datagram> outbound_;
  bool done_ = false;
  bool failed_ = false;
  int error_code_ = 0;
  std::string error_;
};

// The dataplane's part, as cookie_exchange (test_support.h) does it for
// OpenSSL: GnuTLS's first ClientHello answered with CookieMaker's
// HelloVerifyRequest; returns the cookie ClientHello. Throws if GnuTLS
// does not answer with exactly one ClientHello that verifies.
Datagram cookie_exchange(GnutlsClient& client, CookieMaker& cookies, const PeerAddress& peer);

// Alternates client and engine until both are done (no loss); false with a
// message in `why` otherwise. Bounded: 32 rounds.
bool pump(GnutlsClient& client, HandshakeEngine& engine, std::vector<Datagram> to_client,
          std::string& why);

// handshake(server, client, ...) for a GnutlsClient is the template in
// test_support.h, with the two functions above.

// The handover's keys against `client`, as expect_handover_keys_work does
// for OpenSSL: they open the client's first application record
// (gnutls_record_send) in a ReadEpoch seeded with h.client_sequences, and
// a record sealed in a WriteEpoch from h.server_first_free_sequence()
// (avoiding OpenSSL's GCM nonces) is returned by gnutls_record_recv byte
// for byte. Reports through gtest.
void expect_handover_keys_work(record::CryptoContext& crypto, GnutlsClient& client,
                               const Handover& h);

}  // namespace dtlsgw::handshake::test
