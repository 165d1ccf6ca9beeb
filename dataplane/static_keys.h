// The static-keys file: established sessions with known keys, loaded by
// the dataplane's benchmark build (never a production one: fixed keys
// reuse nonces on every restart, DESIGN.md) and by dtlsgw-loadgen, which
// must derive exactly the same sessions to talk to it.
//
// Text, one directive per line, '#' starts a comment, blank lines ignored:
//
//   session peer=198.18.0.1:40000 listener=4433 suite=aes128_gcm
//           client_key=<hex> client_iv=<hex> server_key=<hex> server_iv=<hex>
//     (all on one line) one explicit session.
//
//   sessions count=1000000 first_peer=198.18.0.1:10000 ports_per_address=16
//            listener=4433 suite=aes128_gcm seed=<64 hex digits>
//     (one line) `count` derived sessions: session i has peer address
//     first_peer.address + i / ports_per_address and port
//     first_peer.port + i % ports_per_address, and keys derived from the
//     seed (see derive_keys).
//
// Suites are the record::Aead names (aes128_gcm, aes256_gcm,
// chacha20_poly1305, aes128_ccm, aes128_ccm8). Key and IV lengths must
// match the suite. The sessions' (peer address, port, listener) must be
// distinct; the total is at most 16,777,216.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/net_types.h"
#include "dtls_record/aead_suite.h"

namespace dtlsgw::dataplane {

struct StaticSession {
  Ipv4 peer;
  uint16_t peer_port = 0;      // host order
  uint16_t listener_port = 0;  // host order
  record::Aead aead = record::Aead::aes128_gcm;
  // The first key_length / iv_length bytes are used (aead_params(aead)).
  uint8_t client_write_key[32] = {};
  uint8_t client_write_iv[12] = {};
  uint8_t server_write_key[32] = {};
  uint8_t server_write_iv[12] = {};
};

class StaticKeys {
 public:
  // nullopt and a one-line error "<source>:<line>: <problem>" on any
  // malformed line, unknown directive or key, wrong length, duplicate.
  static std::optional<StaticKeys> parse(std::string_view text, std::string_view source_name,
                                         std::string& error);
  static std::optional<StaticKeys> load(const std::string& path, std::string& error);

  size_t size() const;
  // Session `index` (< size()), derived on demand: a million sessions cost
  // no memory here.
  void session(size_t index, StaticSession& out) const;

  // The derivation of a `sessions` directive, exposed for the load
  // generator and tests: HMAC-SHA-256(seed, "dtlsgw static keys" ‖
  // uint32_be(index) ‖ uint8(block)) for block = 0, 1, 2, concatenated, gives
  // client_write_key ‖ server_write_key ‖ client_write_iv ‖ server_write_iv
  // with the suite's lengths.
  static void derive_keys(const uint8_t seed[32], uint32_t index, StaticSession& out);

 private:
  struct Range {
    size_t first_index = 0;  // of the whole file
    size_t count = 0;
    bool derived = false;
    StaticSession explicit_session;  // derived == false (count 1)
    Ipv4 first_peer;
    uint16_t first_port = 0;
    uint32_t ports_per_address = 1;
    uint16_t listener_port = 0;
    record::Aead aead = record::Aead::aes128_gcm;
    uint8_t seed[32] = {};
  };
  std::vector<Range> ranges_;
  size_t size_ = 0;
};

}  // namespace dtlsgw::dataplane
