// What the control process hands the owning lcore when a handshake
// completes (DESIGN.md, "Keys, epochs and the handover"): the record keys,
// where OpenSSL left the epoch-1 numbers in both directions, who the peer
// is, and the bytes of the final flight to resend when the client
// retransmits its Finished.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dtls_record/aead_suite.h"
#include "handshake/cipher_suites.h"
#include "handshake/datagram_bio.h"
#include "handshake/peer_address.h"

namespace dtlsgw::handshake {

inline constexpr size_t kMaxRecordKeyLength = 32;  // AES-256, ChaCha20
inline constexpr size_t kMaxRecordIvLength = 12;   // ChaCha20-Poly1305 (RFC 7905)

// One session's record keys (RFC 5246 §6.3), wiped when destroyed. Movable
// (the source is wiped), not copyable, so exactly one copy is ever live.
class RecordKeys {
 public:
  RecordKeys() = default;
  ~RecordKeys() { wipe(); }
  RecordKeys(const RecordKeys&) = delete;
  RecordKeys& operator=(const RecordKeys&) = delete;
  RecordKeys(RecordKeys&& other) noexcept { take(other); }
  RecordKeys& operator=(RecordKeys&& other) noexcept {
    if (this != &other) {
      wipe();
      take(other);
    }
    return *this;
  }

  record::Aead aead() const { return aead_; }
  bool valid() const { return key_length_ != 0; }
  std::span<const uint8_t> client_write_key() const { return {client_key_, key_length_}; }
  std::span<const uint8_t> server_write_key() const { return {server_key_, key_length_}; }
  std::span<const uint8_t> client_write_iv() const { return {client_iv_, iv_length_}; }
  std::span<const uint8_t> server_write_iv() const { return {server_iv_, iv_length_}; }

  void wipe();

 private:
  friend bool expand_key_block(const CipherSuite&, std::span<const uint8_t>,
                               std::span<const uint8_t>, std::span<const uint8_t>, RecordKeys&);
  void take(RecordKeys& other);

  uint8_t client_key_[kMaxRecordKeyLength] = {};
  uint8_t server_key_[kMaxRecordKeyLength] = {};
  uint8_t client_iv_[kMaxRecordIvLength] = {};
  uint8_t server_iv_[kMaxRecordIvLength] = {};
  size_t key_length_ = 0;
  size_t iv_length_ = 0;
  record::Aead aead_ = record::Aead::aes128_gcm;
};

// RFC 5246 §6.3:
//   key_block = PRF(SecurityParameters.master_secret, "key expansion",
//                   SecurityParameters.server_random +
//                   SecurityParameters.client_random);
// with the suite's PRF hash (the bytes OpenSSL's TLS1-PRF KDF gives). AEAD suites have no
// MAC keys, so the block is client key ‖ server key ‖ client IV ‖ server
// IV. False (and `out` empty) if the KDF fails or an input has the wrong
// length.
[[nodiscard]] bool expand_key_block(const CipherSuite& suite,
                                    std::span<const uint8_t> master_secret,
                                    std::span<const uint8_t> client_random,
                                    std::span<const uint8_t> server_random, RecordKeys& out);

struct PeerIdentity {
  enum class Kind : uint8_t {
    none,         // certificate suites without client authentication
    psk,          // `name` is the PSK identity, byte for byte
    certificate,  // `name` is the client certificate's subject, RFC 2253
  };
  Kind kind = Kind::none;
  std::string name;
};
std::string_view to_string(PeerIdentity::Kind k);

struct Handover {
  PeerAddress peer;
  uint16_t suite = 0;  // IANA number
  RecordKeys keys;     // keys.aead() is the record AEAD

  // Server → client, epoch 1. OpenSSL wrote records up to and including
  // this sequence number (its Finished, and any retransmission of it): the
  // dataplane's first write number must be above it.
  uint64_t server_last_sequence = 0;
  uint64_t server_first_free_sequence() const { return server_last_sequence + 1; }
  // GCM suites only: the explicit nonces of OpenSSL's epoch-1 records.
  // OpenSSL 3.0 draws them from a counter with a random start, not from the
  // record number, so they go to WriteEpoch::install as foreign nonces.
  std::vector<uint64_t> server_explicit_nonces;

  // Client → server, epoch 1: the sequence numbers of the client's
  // handshake records (its Finished, and retransmissions of it) that the
  // handshake consumed and that authenticate under the client's key, for
  // the dataplane's replay window.
  std::vector<uint64_t> client_sequences;
  std::optional<uint64_t> client_highest_sequence() const;
  // Other epoch-1 records the client sent before completion that
  // authenticate (application data sent right after its Finished, an
  // alert), each exactly as received: the dataplane opens them as if they
  // had just arrived. Their numbers are not in client_sequences.
  std::vector<Datagram> client_pending_records;

  PeerIdentity identity;
  bool resumed = false;

  // The datagrams of OpenSSL's last flight ([NewSessionTicket] +
  // ChangeCipherSpec + Finished; ServerHello first when resumed), byte for
  // byte: resent unchanged when the client retransmits its Finished.
  std::vector<Datagram> final_flight;
};

}  // namespace dtlsgw::handshake
