#include "handshake/server_context.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "handshake/datagram_bio.h"

namespace dtlsgw::handshake {
namespace {

constexpr unsigned char kSessionIdContext[] = "dtlsgw";

// A clearer first word than OpenSSL's "no such file" deep in a BIO error.
Status readable(const std::string& path, const char* what) {
  if (path.empty()) {
    return Status::error(std::string(what) + ": no file name given");
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return Status::error(std::string(what) + " '" + path + "': " + std::strerror(errno));
  }
  std::fclose(f);
  return Status::ok();
}

Status openssl_failure(const std::string& what) {
  return Status::error(what + ": " + drain_openssl_errors());
}

const char* key_type_name(int type) {
  switch (type) {
    case EVP_PKEY_EC:
      return "ECDSA";
    case EVP_PKEY_RSA:
      return "RSA";
    default:
      return "unsupported";
  }
}

// ---- OpenSSL callbacks -----------------------------------------------------

// The ClientHello the handshake started from, parsed again from the datagram
// saved in the BIO: the callbacks get only the cookie bytes (DESIGN.md).
bool saved_client_hello(SSL* ssl, DatagramLink*& link, ClientHello& hello) {
  link = datagram_link(SSL_get_rbio(ssl));
  return link != nullptr && parse_client_hello(link->client_hello, hello) == ClientHelloResult::ok;
}

int generate_cookie(SSL* ssl, unsigned char* cookie, unsigned int* length) {
  ServerContext* context = ServerContext::of(ssl);
  DatagramLink* link = nullptr;
  ClientHello hello;
  if (context == nullptr || !saved_client_hello(ssl, link, hello)) {
    return 0;
  }
  // DTLS1_COOKIE_LENGTH (255) bytes of room.
  if (!context->cookie_maker().make_cookie(link->peer, hello, cookie)) {
    return 0;
  }
  *length = kCookieLength;
  return 1;
}

int verify_cookie(SSL* ssl, const unsigned char* cookie, unsigned int length) {
  ServerContext* context = ServerContext::of(ssl);
  DatagramLink* link = nullptr;
  ClientHello hello;
  if (context == nullptr || !saved_client_hello(ssl, link, hello)) {
    return 0;
  }
  ++link->cookie_verifications;
  // The cookie OpenSSL read must be the one in the saved datagram, or the
  // MAC below would vouch for another ClientHello.
  const bool same_cookie =
      hello.cookie.size() == length && std::memcmp(hello.cookie.data(), cookie, length) == 0;
  if (same_cookie && link->cookie_verified) {
    // OpenSSL's second check of the ClientHello whose cookie listen has
    // just accepted (datagram_bio.h): the MAC would be computed again over
    // the same bytes with the same secrets.
    return 1;
  }
  if (!same_cookie || context->cookie_maker().verify_cookie(link->peer, hello) != CookieCheck::ok) {
    ++link->cookie_rejections;
    return 0;
  }
  return 1;
}

unsigned int find_psk(SSL* ssl, const char* identity, unsigned char* psk,
                      unsigned int max_psk_length) {
  ServerContext* context = ServerContext::of(ssl);
  if (context == nullptr || identity == nullptr) {
    return 0;
  }
  return static_cast<unsigned int>(
      context->psk_store().find(identity, std::span<uint8_t>(psk, max_psk_length)));
}

int ticket_key(SSL* ssl, unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
               EVP_MAC_CTX* mac, int enc) {
  ServerContext* context = ServerContext::of(ssl);
  if (context == nullptr || context->ticket_keys() == nullptr) {
    return enc == 1 ? -1 : 0;
  }
  return context->ticket_keys()->on_ticket(key_name, iv, cipher, mac, enc);
}

}  // namespace

ServerContext* ServerContext::of(const SSL* ssl) {
  SSL_CTX* ctx = SSL_get_SSL_CTX(ssl);
  return ctx == nullptr ? nullptr : static_cast<ServerContext*>(SSL_CTX_get_app_data(ctx));
}

Status ServerContext::create(const ServerConfig& config, CookieMaker& cookies,
                             std::shared_ptr<TicketKeys> tickets,
                             std::shared_ptr<ServerContext>& out) {
  ERR_clear_error();
  std::shared_ptr<ServerContext> c(new ServerContext());
  c->cookies_ = &cookies;
  c->tickets_ = std::move(tickets);
  Status s = c->set_up(config);
  ERR_clear_error();
  if (s) {
    out = std::move(c);
  }
  return s;
}

ServerContext::~ServerContext() { SSL_CTX_free(ctx_); }

Status ServerContext::set_up(const ServerConfig& config) {
  ctx_ = SSL_CTX_new(DTLS_server_method());
  if (ctx_ == nullptr) {
    return openssl_failure("SSL_CTX_new");
  }
  SSL_CTX_set_app_data(ctx_, this);
  if (!SSL_CTX_set_min_proto_version(ctx_, DTLS1_2_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx_, DTLS1_2_VERSION)) {
    return openssl_failure("cannot restrict the context to DTLS 1.2");
  }
  SSL_CTX_set_options(ctx_, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_QUERY_MTU |
                                SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);

  // Suites: only the table's, in the configured order.
  suites_.clear();
  if (config.cipher_suites.empty()) {
    for (const CipherSuite& s : dtls12_aead_suites()) {
      suites_.push_back(&s);
    }
  } else {
    for (const std::string& name : config.cipher_suites) {
      const CipherSuite* s = find_suite(name);
      if (s == nullptr) {
        return Status::error("cipher suite '" + name +
                             "' is not one of dtlsgw's DTLS 1.2 AEAD suites");
      }
      if (std::find(suites_.begin(), suites_.end(), s) != suites_.end()) {
        return Status::error("cipher suite '" + name + "' is listed twice");
      }
      suites_.push_back(s);
    }
  }
  std::string list;
  for (const CipherSuite* s : suites_) {
    list += list.empty() ? "" : ":";
    list += s->openssl_name;
  }
  if (!SSL_CTX_set_cipher_list(ctx_, list.c_str())) {
    return openssl_failure("cipher list '" + list + "'");
  }
  // SSL_CTX_set_cipher_list succeeds if any one suite is known; each must
  // be. (The active list also holds the TLS 1.3 suites, unused by DTLS 1.2.)
  const STACK_OF(SSL_CIPHER)* active = SSL_CTX_get_ciphers(ctx_);
  for (const CipherSuite* s : suites_) {
    bool found = false;
    for (int i = 0; active != nullptr && i < sk_SSL_CIPHER_num(active); ++i) {
      found |= SSL_CIPHER_get_protocol_id(sk_SSL_CIPHER_value(active, i)) == s->iana_id;
    }
    if (!found) {
      return Status::error("cipher suite '" + std::string(s->openssl_name) +
                           "' is not available in this OpenSSL");
    }
  }

  // Credentials.
  std::vector<int> key_types;
  for (const CertificateFiles& files : config.certificates) {
    if (Status s = load_certificate(files, key_types); !s) {
      return s;
    }
  }
  if (!config.psk_file.empty()) {
    if (Status s = psk_.load_file(config.psk_file); !s) {
      return s;
    }
    SSL_CTX_set_psk_server_callback(ctx_, find_psk);
  }
  if (config.certificates.empty() && config.psk_file.empty()) {
    return Status::error("no certificate and no PSK file: the server could not authenticate");
  }
  if (!config.client_ca_file.empty()) {
    if (Status s = load_client_ca(config); !s) {
      return s;
    }
  }

  // Resumption. The session ID context must be set for resumption to work
  // when client certificates are verified (SSL_set_session_id_context(3)).
  if (!SSL_CTX_set_session_id_context(ctx_, kSessionIdContext, sizeof(kSessionIdContext) - 1)) {
    return openssl_failure("session id context");
  }
  SSL_CTX_set_session_cache_mode(ctx_,
                                 config.session_cache ? SSL_SESS_CACHE_SERVER : SSL_SESS_CACHE_OFF);
  SSL_CTX_sess_set_cache_size(ctx_, config.session_cache_size);
  SSL_CTX_set_timeout(ctx_, static_cast<long>(config.session_lifetime.count()));
  if (config.session_tickets) {
    if (tickets_ == nullptr) {
      tickets_ = TicketKeys::create();
      if (tickets_ == nullptr) {
        return Status::error("cannot make session ticket keys (CSPRNG failed)");
      }
    }
    if (!SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx_, ticket_key)) {
      return openssl_failure("session ticket callback");
    }
  } else {
    tickets_.reset();
    SSL_CTX_set_options(ctx_, SSL_OP_NO_TICKET);
  }

  SSL_CTX_set_cookie_generate_cb(ctx_, generate_cookie);
  SSL_CTX_set_cookie_verify_cb(ctx_, verify_cookie);
  return Status::ok();
}

Status ServerContext::load_certificate(const CertificateFiles& files, std::vector<int>& key_types) {
  if (Status s = readable(files.chain_file, "certificate chain file"); !s) {
    return s;
  }
  if (Status s = readable(files.key_file, "private key file"); !s) {
    return s;
  }
  if (SSL_CTX_use_certificate_chain_file(ctx_, files.chain_file.c_str()) != 1) {
    return openssl_failure("certificate chain file '" + files.chain_file +
                           "' holds no usable PEM certificate");
  }
  X509* cert = SSL_CTX_get0_certificate(ctx_);
  EVP_PKEY* public_key = cert == nullptr ? nullptr : X509_get0_pubkey(cert);
  const int type = public_key == nullptr ? EVP_PKEY_NONE : EVP_PKEY_get_base_id(public_key);
  if (type != EVP_PKEY_EC && type != EVP_PKEY_RSA) {
    return Status::error("certificate chain file '" + files.chain_file +
                         "': the certificate's key is neither ECDSA nor RSA");
  }
  if (std::find(key_types.begin(), key_types.end(), type) != key_types.end()) {
    return Status::error("certificate chain file '" + files.chain_file + "': a second " +
                         key_type_name(type) + " certificate (one per key type)");
  }
  key_types.push_back(type);
  // Read the key here, not with SSL_CTX_use_PrivateKey_file, so that "not
  // a key" and "not this certificate's key" get different messages.
  BIO* in = BIO_new_file(files.key_file.c_str(), "r");
  EVP_PKEY* key = in == nullptr ? nullptr : PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  if (key == nullptr) {
    return openssl_failure("private key file '" + files.key_file +
                           "' holds no usable PEM private key");
  }
  ERR_clear_error();
  const bool matches = X509_check_private_key(cert, key) == 1;
  const bool used = matches && SSL_CTX_use_PrivateKey(ctx_, key) == 1;
  EVP_PKEY_free(key);
  if (!matches) {
    ERR_clear_error();
    return Status::error("private key file '" + files.key_file +
                         "' does not match the certificate in '" + files.chain_file + "'");
  }
  if (!used || SSL_CTX_check_private_key(ctx_) != 1) {
    return openssl_failure("private key file '" + files.key_file + "'");
  }
  return Status::ok();
}

Status ServerContext::load_client_ca(const ServerConfig& config) {
  const std::string& path = config.client_ca_file;
  if (Status s = readable(path, "client CA file"); !s) {
    return s;
  }
  if (SSL_CTX_load_verify_locations(ctx_, path.c_str(), nullptr) != 1) {
    return openssl_failure("client CA file '" + path + "' holds no usable PEM certificate");
  }
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(path.c_str());
  if (names == nullptr) {
    return openssl_failure("client CA file '" + path + "': cannot read the CA names");
  }
  SSL_CTX_set_client_CA_list(ctx_, names);
  int mode = SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE;
  if (config.require_client_certificate) {
    mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  SSL_CTX_set_verify(ctx_, mode, nullptr);
  SSL_CTX_set_verify_depth(ctx_, config.client_verify_depth);
  return Status::ok();
}

}  // namespace dtlsgw::handshake
