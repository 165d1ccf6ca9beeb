// What the handover needs from a finished OpenSSL handshake, derived the way
// the control process will: the suite's record AEAD, and the record keys
// from the key log's master secret and the two randoms.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "dtls_record/aead_suite.h"

namespace dtlsgw::oracle {

// The record AEAD of a DTLS 1.2 cipher suite, by its IANA number (as
// SSL_CIPHER_get_protocol_id returns it); nothing for a suite dtlsgw does
// not protect records for.
std::optional<record::Aead> aead_for_suite(uint16_t iana_id);

// One "CLIENT_RANDOM <client_random> <master_secret>" line of the NSS key
// log format, which SSL_CTX_set_keylog_callback produces for TLS 1.2.
struct KeyLogEntry {
  std::array<uint8_t, 32> client_random{};
  std::vector<uint8_t> master_secret;  // 48 bytes
};
std::optional<KeyLogEntry> parse_client_random_line(std::string_view line);

struct SessionKeys {
  record::Aead aead = record::Aead::aes128_gcm;
  std::vector<uint8_t> client_write_key;
  std::vector<uint8_t> server_write_key;
  std::vector<uint8_t> client_write_iv;
  std::vector<uint8_t> server_write_iv;
};

// RFC 5246 §6.3:
//   key_block = PRF(SecurityParameters.master_secret, "key expansion",
//                   SecurityParameters.server_random +
//                   SecurityParameters.client_random);
// partitioned as client_write_MAC_key, server_write_MAC_key (empty for AEAD
// suites), client_write_key, server_write_key, client_write_IV,
// server_write_IV. `prf_digest` is the suite's PRF hash ("SHA256" or
// "SHA384"). Throws std::runtime_error if the KDF fails.
SessionKeys derive_session_keys(record::Aead aead, const char* prf_digest,
                                std::span<const uint8_t> master_secret,
                                std::span<const uint8_t> client_random,
                                std::span<const uint8_t> server_random);

}  // namespace dtlsgw::oracle
