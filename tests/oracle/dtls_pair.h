// A real OpenSSL 3.0 DTLS 1.2 client and server, in process, joined by two
// datagram queues: the far side of the oracle test.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dtls_record/aead_suite.h"
#include "tests/oracle/datagram_bio.h"
#include "tests/oracle/session_keys.h"

namespace dtlsgw::oracle {

enum class KeyExchange { ecdhe_ecdsa, ecdhe_rsa, psk, ecdhe_psk };

// One cipher suite under test, and what dtlsgw must make of it.
struct SuiteCase {
  const char* openssl_name;  // also the only suite either side offers
  KeyExchange key_exchange;
  record::Aead aead;       // the record AEAD dtlsgw must pick for it
  const char* prf_digest;  // the suite's PRF hash, for the key block
};

class DtlsPair {
 public:
  // Both contexts offer only `suite`, DTLS 1.2 only, renegotiation off (as
  // the gateway runs it). Throws std::runtime_error if OpenSSL refuses the
  // set-up.
  explicit DtlsPair(const SuiteCase& suite);
  ~DtlsPair();
  DtlsPair(const DtlsPair&) = delete;
  DtlsPair& operator=(const DtlsPair&) = delete;

  // Alternates the two engines until both report completion, feeding each
  // the other's datagrams. Bounded: false if they have not finished after a
  // fixed number of rounds or either fails (see error()).
  bool handshake();
  const std::string& error() const { return error_; }

  SSL* client() const { return client_.ssl; }
  SSL* server() const { return server_.ssl; }
  DatagramQueue& to_server() { return to_server_; }
  DatagramQueue& to_client() { return to_client_; }

  // The CLIENT_RANDOM line each side's key log callback produced.
  const std::optional<KeyLogEntry>& client_key_log() const { return client_.key_log; }
  const std::optional<KeyLogEntry>& server_key_log() const { return server_.key_log; }
  // How many key log lines each side produced in all.
  int client_key_log_lines() const { return client_.key_log_lines; }
  int server_key_log_lines() const { return server_.key_log_lines; }

 private:
  struct Endpoint {
    SSL_CTX* ctx = nullptr;
    SSL* ssl = nullptr;
    std::optional<KeyLogEntry> key_log;
    int key_log_lines = 0;
  };
  void release();
  static void key_log_callback(const SSL* ssl, const char* line);
  void set_up(Endpoint& e, bool is_server, const SuiteCase& suite);
  // One handshake step: 1 done, 0 waiting for the peer, -1 failed.
  int step(Endpoint& e, const char* side);

  DatagramQueue to_server_;
  DatagramQueue to_client_;
  Endpoint client_;
  Endpoint server_;
  std::string error_;
};

}  // namespace dtlsgw::oracle
