// The data mode's view of the static-key sessions: for each, the peer it
// plays on the outside, the backend it plays on the inside (the
// listener's, from the gateway's configuration), the inside source port
// the gateway picked for it (learned), its sequence numbers, and one
// direction's keys: AES-GCM through record_gcm.h (cheap, for throughput),
// every other suite through the record layer (valid records, but sealing
// one then costs the generator what opening it costs the gateway: those
// suites are for coverage, AES-GCM for throughput figures).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench/loadgen/record_gcm.h"
#include "dataplane/config.h"
#include "dataplane/static_keys.h"
#include "dtls_record/crypto_context.h"
#include "dtls_record/record_protection.h"

namespace dtlsgw::loadgen {

struct DataSession {
  uint32_t peer_be = 0;  // network order, as in headers
  uint16_t peer_port = 0;
  uint16_t listener_port = 0;
  uint32_t backend_be = 0;
  uint16_t backend_port = 0;
  uint16_t inside_port = 0;    // the gateway's source port toward the backend; 0: not learned
  uint64_t next_sequence = 0;  // the next one this program sends
  uint64_t last_received = 0;  // the highest stamp sequence received in this run
};

class DataSessions {
 public:
  // The first `count` sessions of `keys` (all when 0). Fails when a
  // session's listener is not in the configuration.
  bool build(const dataplane::Config& config, const dataplane::StaticKeys& keys, size_t count,
             bool crypto, uint64_t first_sequence, std::string& error);

  // Installs every session's client (records this program writes) or
  // server (records the gateway writes) keys.
  void use_keys(bool client);
  // Every session's GcmShape for records of `plaintext_length` bytes.
  void shape_for(size_t plaintext_length);

  size_t size() const { return sessions_.size(); }
  DataSession& operator[](size_t i) { return sessions_[i]; }
  const GcmKey& key(size_t i) const { return keys_[i]; }
  const GcmShape& shape(size_t i) const { return shapes_[i]; }
  record::Aead aead(size_t i) const;

  // Sessions whose suite record_gcm.h does not generate: their records go
  // through the record layer (seal, open below).
  bool generic(size_t i) const { return !gcm_supported(aead(i)); }
  // Bytes a record adds to its plaintext: header, explicit nonce, tag.
  size_t overhead(size_t i) const;
  // Bytes before the plaintext in a record of session i.
  size_t prefix(size_t i) const;
  // A generic session's record with sequence number `sequence` (epoch 1),
  // whose plaintext already sits at out[prefix(i)..]: needs use_keys(true).
  bool seal(size_t i, uint64_t sequence, std::span<uint8_t> out, size_t plaintext_length);
  // Opens a generic session's record in place: needs use_keys(false).
  bool open(size_t i, std::span<uint8_t> record, std::span<uint8_t>& plaintext);

  // The session a datagram from (listener_port) to (peer, peer_port)
  // belongs to; false when none.
  bool find(uint32_t peer_be, uint16_t peer_port, uint16_t listener_port, uint32_t& index) const {
    const auto it = by_flow_.find(flow_key(peer_be, peer_port, listener_port));
    if (it == by_flow_.end()) {
      return false;
    }
    index = it->second;
    return true;
  }
  void reset_received() {
    for (DataSession& s : sessions_) {
      s.last_received = 0;
    }
  }

 private:
  static uint64_t flow_key(uint32_t peer_be, uint16_t peer_port, uint16_t listener_port) {
    return (uint64_t{peer_be} << 32) | (uint64_t{peer_port} << 16) | listener_port;
  }

  const dataplane::StaticKeys* keys_file_ = nullptr;
  std::vector<DataSession> sessions_;
  std::vector<uint8_t> aeads_;
  std::vector<GcmKey> keys_;
  std::vector<GcmShape> shapes_;
  // The record layer's epochs of the generic sessions (empty otherwise).
  struct RecordKeys {
    std::unique_ptr<record::WriteEpoch> write;
    std::unique_ptr<record::ReadEpoch> read;
  };
  std::vector<RecordKeys> record_keys_;
  std::unique_ptr<record::CryptoContext> crypto_;
  bool install_write(size_t i, uint64_t first_sequence);
  std::unordered_map<uint64_t, uint32_t> by_flow_;
};

}  // namespace dtlsgw::loadgen
