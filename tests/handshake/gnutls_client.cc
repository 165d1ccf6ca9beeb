#include "tests/handshake/gnutls_client.h"

#include <gnutls/dtls.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "handshake/client_hello.h"

namespace dtlsgw::handshake::test {
namespace {

[[noreturn]] void die(const std::string& what, int code) {
  throw std::runtime_error(what + ": " + gnutls_strerror(code));
}

void check(int code, const std::string& what) {
  if (code < 0) {
    die(what, code);
  }
}

// GnuTLS's names for dtlsgw's AEADs and key exchanges (gnutls-cli --list).
std::string_view gnutls_cipher(record::Aead a) {
  switch (a) {
    case record::Aead::aes128_gcm:
      return "AES-128-GCM";
    case record::Aead::aes256_gcm:
      return "AES-256-GCM";
    case record::Aead::chacha20_poly1305:
      return "CHACHA20-POLY1305";
    case record::Aead::aes128_ccm:
      return "AES-128-CCM";
    case record::Aead::aes128_ccm8:
      return "AES-128-CCM-8";
  }
  throw std::logic_error("AEAD without a GnuTLS name");
}

std::string_view gnutls_key_exchange(KeyExchange k) {
  switch (k) {
    case KeyExchange::ecdhe_ecdsa:
      return "ECDHE-ECDSA";
    case KeyExchange::ecdhe_rsa:
      return "ECDHE-RSA";
    case KeyExchange::psk:
      return "PSK";
    case KeyExchange::ecdhe_psk:
      return "ECDHE-PSK";
  }
  throw std::logic_error("key exchange without a GnuTLS name");
}

}  // namespace

std::string priority_for(const CipherSuite& suite) {
  // NONE clears every list; each "+" adds back exactly one item, so the
  // ClientHello offers the one suite (GnuTLS pairs the cipher, the AEAD
  // "MAC" and the key exchange into suites from its own table).
  std::string p = "NONE:+VERS-DTLS1.2:+AEAD:+COMP-NULL:+CTYPE-X509:+SIGN-ALL:+GROUP-ALL:+";
  p += gnutls_cipher(suite.aead);
  p += ":+";
  p += gnutls_key_exchange(suite.key_exchange);
  return p;
}

GnutlsClientOptions gnutls_client_options(const CipherSuite& suite) {
  GnutlsClientOptions o;
  o.priority = priority_for(suite);
  if (suite.key_exchange == KeyExchange::psk || suite.key_exchange == KeyExchange::ecdhe_psk) {
    o.psk_identity = kPskIdentity;
    o.psk.assign(psk_key().begin(), psk_key().end());
  } else {
    o.trust_files = {credentials().ecdsa.chain_file, credentials().rsa.chain_file};
  }
  return o;
}

// ---- GnutlsClient ----------------------------------------------------------

GnutlsClient::GnutlsClient(const GnutlsClientOptions& options) {
  try {
    set_up(options);
  } catch (...) {
    release();
    throw;
  }
}

void GnutlsClient::set_up(const GnutlsClientOptions& options) {
  unsigned int flags = GNUTLS_CLIENT | GNUTLS_DATAGRAM | GNUTLS_NONBLOCK;
  if (!options.tickets) {
    flags |= GNUTLS_NO_TICKETS;
  }
  check(gnutls_init(&session_, flags), "gnutls_init");
  const char* error_at = nullptr;
  const int r = gnutls_priority_set_direct(session_, options.priority.c_str(), &error_at);
  if (r < 0) {
    die("priority \"" + options.priority + "\" at \"" + (error_at ? error_at : "") + "\"", r);
  }

  if (!options.psk_identity.empty()) {
    check(gnutls_psk_allocate_client_credentials(&psk_credentials_), "PSK credentials");
    const gnutls_datum_t key = {const_cast<unsigned char*>(options.psk.data()),
                                static_cast<unsigned int>(options.psk.size())};
    check(gnutls_psk_set_client_credentials(psk_credentials_, options.psk_identity.c_str(), &key,
                                            GNUTLS_PSK_KEY_RAW),
          "gnutls_psk_set_client_credentials");
    check(gnutls_credentials_set(session_, GNUTLS_CRD_PSK, psk_credentials_), "PSK credentials");
  }
  // Certificate credentials always: harmless for PSK suites, and a client
  // certificate may be asked for.
  check(gnutls_certificate_allocate_credentials(&certificate_credentials_),
        "certificate credentials");
  for (const std::string& f : options.trust_files) {
    const int n = gnutls_certificate_set_x509_trust_file(certificate_credentials_, f.c_str(),
                                                         GNUTLS_X509_FMT_PEM);
    if (n <= 0) {
      die("trust file " + f, n == 0 ? GNUTLS_E_FILE_ERROR : n);
    }
  }
  if (options.certificate != nullptr) {
    check(gnutls_certificate_set_x509_key_file(
              certificate_credentials_, options.certificate->chain_file.c_str(),
              options.certificate->key_file.c_str(), GNUTLS_X509_FMT_PEM),
          "client certificate");
  }
  check(gnutls_credentials_set(session_, GNUTLS_CRD_CERTIFICATE, certificate_credentials_),
        "certificate credentials");
  if (!options.trust_files.empty()) {
    // The self-signed server certificates are themselves the trust
    // anchors; their CN is no host name, so none is checked.
    gnutls_session_set_verify_cert(session_, nullptr, 0);
  }

  gnutls_transport_set_ptr(session_, this);
  gnutls_transport_set_push_function(session_, push);
  gnutls_transport_set_pull_function(session_, pull);
  gnutls_transport_set_pull_timeout_function(session_, pull_timeout);
  gnutls_dtls_set_mtu(session_, options.mtu);
  gnutls_dtls_set_timeouts(session_,
                           static_cast<unsigned int>(options.retransmission_timeout.count()),
                           static_cast<unsigned int>(options.handshake_timeout.count()));
  if (!options.resume.empty()) {
    check(gnutls_session_set_data(session_, options.resume.data(), options.resume.size()),
          "gnutls_session_set_data");
  }
}

GnutlsClient::~GnutlsClient() { release(); }

void GnutlsClient::release() {
  if (session_ != nullptr) {
    gnutls_deinit(session_);
    session_ = nullptr;
  }
  if (psk_credentials_ != nullptr) {
    gnutls_psk_free_client_credentials(psk_credentials_);
    psk_credentials_ = nullptr;
  }
  if (certificate_credentials_ != nullptr) {
    gnutls_certificate_free_credentials(certificate_credentials_);
    certificate_credentials_ = nullptr;
  }
}

// One datagram per push: GnuTLS's DTLS layer hands each datagram it sends
// to the push function whole.
ssize_t GnutlsClient::push(gnutls_transport_ptr_t self, const void* data, size_t length) {
  auto* c = static_cast<GnutlsClient*>(self);
  const auto* bytes = static_cast<const uint8_t*>(data);
  c->outbound_.emplace_back(bytes, bytes + length);
  return static_cast<ssize_t>(length);
}

// One datagram per pull, as recv on a UDP socket: a datagram longer than
// the buffer is truncated (GnuTLS reads with room for the largest record).
ssize_t GnutlsClient::pull(gnutls_transport_ptr_t self, void* data, size_t length) {
  auto* c = static_cast<GnutlsClient*>(self);
  if (c->inbound_.empty()) {
    gnutls_transport_set_errno(c->session_, EAGAIN);
    return -1;
  }
  const Datagram d = std::move(c->inbound_.front());
  c->inbound_.pop_front();
  const size_t n = std::min(length, d.size());
  std::memcpy(data, d.data(), n);
  return static_cast<ssize_t>(n);
}

// Non-blocking: GnuTLS asks with 0 ms and decides about retransmission
// itself from its clock; nothing here waits.
int GnutlsClient::pull_timeout(gnutls_transport_ptr_t self, unsigned int /*ms*/) {
  return static_cast<GnutlsClient*>(self)->inbound_.empty() ? 0 : 1;
}

void GnutlsClient::deliver(const std::vector<Datagram>& ds) {
  for (const Datagram& d : ds) {
    deliver(d);
  }
}

std::vector<Datagram> GnutlsClient::take() {
  std::vector<Datagram> out = std::move(outbound_);
  outbound_.clear();
  return out;
}

std::vector<Datagram> GnutlsClient::step() {
  if (!done_ && !failed_) {
    const int r = ::gnutls_handshake(session_);
    if (r == GNUTLS_E_SUCCESS) {
      done_ = true;
    } else if (gnutls_error_is_fatal(r) != 0) {
      failed_ = true;
      error_code_ = r;
      error_ = std::string("gnutls_handshake: ") + gnutls_strerror(r);
      if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
        gnutls_datum_t text{};
        if (gnutls_certificate_verification_status_print(
                gnutls_session_get_verify_cert_status(session_), GNUTLS_CRT_X509, &text, 0) >= 0) {
          error_ += std::string(" (") + reinterpret_cast<const char*>(text.data) + ")";
          gnutls_free(text.data);
        }
      }
    }
  }
  return take();
}

std::vector<Datagram> GnutlsClient::step_until_output() {
  std::vector<Datagram> out = step();
  for (size_t budget = pending(); out.empty() && !done_ && !failed_ && budget > 0; --budget) {
    const size_t before = pending();
    out = step();
    if (pending() == before) {
      break;  // GnuTLS waits for something not delivered yet
    }
  }
  return out;
}

uint16_t GnutlsClient::suite() const {
  const gnutls_kx_algorithm_t kx = gnutls_kx_get(session_);
  const gnutls_cipher_algorithm_t cipher = gnutls_cipher_get(session_);
  const gnutls_mac_algorithm_t mac = gnutls_mac_get(session_);
  unsigned char id[2];
  gnutls_kx_algorithm_t k;
  gnutls_cipher_algorithm_t c;
  gnutls_mac_algorithm_t m;
  gnutls_protocol_t version;
  for (size_t i = 0; gnutls_cipher_suite_info(i, id, &k, &c, &m, &version) != nullptr; ++i) {
    if (k == kx && c == cipher && m == mac) {
      return static_cast<uint16_t>(id[0] << 8 | id[1]);
    }
  }
  return 0;
}

Bytes GnutlsClient::session_data() const {
  gnutls_datum_t d{};
  check(gnutls_session_get_data2(session_, &d), "gnutls_session_get_data2");
  Bytes out(d.data, d.data + d.size);
  gnutls_free(d.data);
  return out;
}

Datagram GnutlsClient::write(const Bytes& plaintext) {
  const ssize_t n = gnutls_record_send(session_, plaintext.data(), plaintext.size());
  if (n != static_cast<ssize_t>(plaintext.size())) {
    die("gnutls_record_send", n < 0 ? static_cast<int>(n) : GNUTLS_E_INTERNAL_ERROR);
  }
  std::vector<Datagram> out = take();
  if (out.size() != 1) {
    throw std::runtime_error("gnutls_record_send pushed " + std::to_string(out.size()) +
                             " datagrams");
  }
  return out[0];
}

std::vector<Bytes> GnutlsClient::read_all() {
  std::vector<Bytes> got;
  // Bounded: GnuTLS returns GNUTLS_E_AGAIN once the queue is empty; 64
  // records is more than any test delivers at once.
  for (int i = 0; i < 64; ++i) {
    Bytes buf(1 << 15);
    const ssize_t n = gnutls_record_recv(session_, buf.data(), buf.size());
    if (n == GNUTLS_E_AGAIN) {
      break;
    }
    if (n < 0) {
      if (gnutls_error_is_fatal(static_cast<int>(n)) != 0) {
        ADD_FAILURE() << "gnutls_record_recv: " << gnutls_strerror(static_cast<int>(n));
        break;
      }
      continue;  // e.g. a record that failed to decrypt, discarded (DTLS)
    }
    buf.resize(static_cast<size_t>(n));
    got.push_back(std::move(buf));
  }
  return got;
}

// ---- Exchanges -------------------------------------------------------------

Datagram cookie_exchange(GnutlsClient& client, CookieMaker& cookies, const PeerAddress& peer) {
  std::vector<Datagram> first = client.step();
  if (first.size() != 1) {
    throw std::runtime_error("expected one ClientHello datagram from GnuTLS, got " +
                             std::to_string(first.size()) + " (" + client.error() + ")");
  }
  ClientHello hello;
  const ClientHelloResult parsed = parse_client_hello(first[0], hello);
  if (parsed != ClientHelloResult::ok) {
    throw std::runtime_error("GnuTLS's first ClientHello does not parse: " +
                             std::string(to_string(parsed)));
  }
  if (cookies.verify_cookie(peer, hello) != CookieCheck::absent) {
    throw std::runtime_error("GnuTLS's first ClientHello carries a cookie");
  }
  Datagram hvr(CookieMaker::kHelloVerifyRequestLength);
  const size_t n = cookies.build_hello_verify_request(peer, hello, hvr);
  if (n == 0) {
    throw std::runtime_error("build_hello_verify_request");
  }
  hvr.resize(n);
  client.deliver(hvr);
  std::vector<Datagram> second = client.step();
  if (second.size() != 1) {
    throw std::runtime_error("expected one cookie ClientHello datagram from GnuTLS, got " +
                             std::to_string(second.size()) + " (" + client.error() + ")");
  }
  ClientHello with_cookie;
  if (parse_client_hello(second[0], with_cookie) != ClientHelloResult::ok) {
    throw std::runtime_error("GnuTLS's cookie ClientHello does not parse");
  }
  const CookieCheck c = cookies.verify_cookie(peer, with_cookie);
  if (c != CookieCheck::ok) {
    throw std::runtime_error("GnuTLS's cookie ClientHello does not verify: " +
                             std::string(to_string(c)));
  }
  return second[0];
}

bool pump(GnutlsClient& client, HandshakeEngine& engine, std::vector<Datagram> to_client,
          std::string& why) {
  for (int round = 0; round < 32; ++round) {
    client.deliver(to_client);
    to_client.clear();
    const std::vector<Datagram> to_server = client.step();
    for (const Datagram& d : to_server) {
      std::vector<Datagram> answer = engine.on_datagram(d, Clock::now());
      to_client.insert(to_client.end(), answer.begin(), answer.end());
    }
    if (client.failed()) {
      why = client.error() + " (engine " + std::string(to_string(engine.state())) + ", " +
            std::string(to_string(engine.failure())) + ": " + engine.failure_detail() + ")";
      return false;
    }
    if (engine.state() == HandshakeState::failed) {
      why = "engine failed: " + std::string(to_string(engine.failure())) + ": " +
            engine.failure_detail();
      return false;
    }
    if (client.done() && engine.state() == HandshakeState::complete && to_client.empty()) {
      return true;
    }
  }
  why = "handshake did not finish in 32 rounds (client " +
        std::string(client.done() ? "done" : "not done") + ", engine " +
        std::string(to_string(engine.state())) + ")";
  return false;
}

void expect_handover_keys_work(record::CryptoContext& crypto, GnutlsClient& client,
                               const Handover& h) {
  const Bytes up = pattern(100, 7);
  const std::vector<Bytes> opened = open_client_records(crypto, h, client.write(up));
  ASSERT_EQ(opened.size(), 1u) << "GnuTLS's application record did not open";
  EXPECT_EQ(opened[0], up);

  const Bytes down = pattern(300, 9);
  uint64_t sequence = 0;
  client.deliver(seal_server_record(crypto, h, down, &sequence));
  EXPECT_EQ(sequence, h.server_first_free_sequence());
  const std::vector<Bytes> read = client.read_all();
  ASSERT_EQ(read.size(), 1u) << "GnuTLS did not return the dataplane's record";
  EXPECT_EQ(read[0], down);
}

}  // namespace dtlsgw::handshake::test
