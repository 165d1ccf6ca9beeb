#include "bench/loadgen/data_sessions.h"

#include <openssl/crypto.h>

namespace dtlsgw::loadgen {

bool DataSessions::build(const dataplane::Config& config, const dataplane::StaticKeys& keys,
                         size_t count, bool crypto, uint64_t first_sequence, std::string& error) {
  if (count == 0 || count > keys.size()) {
    if (count > keys.size()) {
      error = std::to_string(count) + " sessions asked, the static-keys file has " +
              std::to_string(keys.size());
      return false;
    }
    count = keys.size();
  }
  keys_file_ = &keys;
  sessions_.assign(count, DataSession());
  aeads_.assign(count, 0);
  by_flow_.clear();
  by_flow_.reserve(count);
  dataplane::StaticSession s;
  for (size_t i = 0; i < count; ++i) {
    keys.session(i, s);
    DataSession& d = sessions_[i];
    d.peer_be = s.peer.be;
    d.peer_port = s.peer_port;
    d.listener_port = s.listener_port;
    d.next_sequence = first_sequence;
    aeads_[i] = static_cast<uint8_t>(s.aead);
    bool found = false;
    for (const dataplane::ListenerConfig& l : config.listeners) {
      if (l.port == s.listener_port) {
        d.backend_be = l.backend_address.be;
        d.backend_port = l.backend_port;
        found = true;
      }
    }
    if (!found) {
      error = "static session " + std::to_string(i) + ": listener " +
              std::to_string(s.listener_port) + " is not in the configuration";
      return false;
    }
    if (crypto && !gcm_supported(s.aead)) {
      error = "static session " + std::to_string(i) + ": suite " +
              std::string(record::to_string(s.aead)) +
              ": the data mode generates AES-GCM records only";
      return false;
    }
    by_flow_.emplace(flow_key(d.peer_be, d.peer_port, d.listener_port), static_cast<uint32_t>(i));
  }
  OPENSSL_cleanse(&s, sizeof s);
  if (crypto) {
    keys_.resize(count);
  }
  return true;
}

record::Aead DataSessions::aead(size_t i) const { return static_cast<record::Aead>(aeads_[i]); }

void DataSessions::use_keys(bool client) {
  dataplane::StaticSession s;
  for (size_t i = 0; i < keys_.size(); ++i) {
    keys_file_->session(i, s);
    const size_t n = record::aead_params(s.aead).key_length;
    const bool ok = client
                        ? gcm_key_init({s.client_write_key, n}, {s.client_write_iv, 4}, keys_[i])
                        : gcm_key_init({s.server_write_key, n}, {s.server_write_iv, 4}, keys_[i]);
    (void)ok;  // build() admitted AES-GCM suites only, whose keys are 16 or 32 bytes
  }
  OPENSSL_cleanse(&s, sizeof s);
}

void DataSessions::shape_for(size_t plaintext_length) {
  shapes_.resize(keys_.size());
  for (size_t i = 0; i < keys_.size(); ++i) {
    gcm_shape_init(keys_[i], plaintext_length, shapes_[i]);
  }
}

}  // namespace dtlsgw::loadgen
