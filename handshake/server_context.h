// The DTLS 1.2 server configuration of one control process: one SSL_CTX
// with its credentials and callbacks. Built from a ServerConfig; a reload
// builds a new one (handshakes in progress keep the old one alive through
// their shared_ptr), passing the same TicketKeys so tickets stay valid.
//
// Fixed policy (DESIGN.md): DTLS 1.2 only; renegotiation off
// (SSL_OP_NO_RENEGOTIATION: sessions stay in epoch 1); the MTU is set per
// handshake, never queried from a socket (SSL_OP_NO_QUERY_MTU); only the 14
// AEAD suites of cipher_suites.h, in the configured server preference
// order; HelloVerifyRequest cookies are dtlsgw's own (CookieMaker), checked
// on the saved ClientHello datagram.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "handshake/cipher_suites.h"
#include "handshake/cookie.h"
#include "handshake/psk_store.h"
#include "handshake/status.h"
#include "handshake/ticket_keys.h"

namespace dtlsgw::handshake {

struct CertificateFiles {
  std::string chain_file;  // PEM: the certificate first, then its chain
  std::string key_file;    // PEM private key
};

struct ServerConfig {
  // OpenSSL names from cipher_suites.h in server preference order; empty
  // means all 14 in their default order.
  std::vector<std::string> cipher_suites;
  // At most one per key type (ECDSA, RSA).
  std::vector<CertificateFiles> certificates;
  // identity:hexkey lines (psk_store.h); empty: no PSK suites.
  std::string psk_file;
  // PEM CA certificates to verify client certificates against; empty: no
  // client certificate is requested.
  std::string client_ca_file;
  // With client_ca_file: refuse a client that sends no certificate.
  bool require_client_certificate = true;
  int client_verify_depth = 4;
  // Resumption by session ID (RFC 5246 §7.4.1.2), server-side cache.
  bool session_cache = true;
  long session_cache_size = 20000;
  std::chrono::seconds session_lifetime{7200};
  // Resumption by ticket (RFC 5077), keys from TicketKeys.
  bool session_tickets = true;
};

class ServerContext {
 public:
  // `cookies` must outlive the context (the control process owns it and
  // rotates its secrets). `tickets` may be null: the context then makes its
  // own keys when tickets are on.
  static Status create(const ServerConfig& config, CookieMaker& cookies,
                       std::shared_ptr<TicketKeys> tickets, std::shared_ptr<ServerContext>& out);
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  SSL_CTX* ssl_ctx() const { return ctx_; }
  CookieMaker& cookie_maker() const { return *cookies_; }
  const PskStore& psk_store() const { return psk_; }
  // Null when tickets are off.
  TicketKeys* ticket_keys() const { return tickets_.get(); }
  const std::shared_ptr<TicketKeys>& shared_ticket_keys() const { return tickets_; }
  // The suites offered, in preference order.
  const std::vector<const CipherSuite*>& suites() const { return suites_; }

  // The context an SSL made from ssl_ctx() belongs to.
  static ServerContext* of(const SSL* ssl);

 private:
  ServerContext() = default;
  Status set_up(const ServerConfig& config);
  Status load_certificate(const CertificateFiles& files, std::vector<int>& key_types);
  Status load_client_ca(const ServerConfig& config);

  SSL_CTX* ctx_ = nullptr;
  CookieMaker* cookies_ = nullptr;
  std::shared_ptr<TicketKeys> tickets_;
  PskStore psk_;
  std::vector<const CipherSuite*> suites_;
};

}  // namespace dtlsgw::handshake
