#include "bench/loadgen/data_sessions.h"

#include <openssl/crypto.h>

#include "dtls_record/record_walker.h"

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
        d.backend_be = l.backend_address.v4().be;  // (static keys: IPv4)
        d.backend_port = l.backend_port;
        found = true;
      }
    }
    if (!found) {
      error = "static session " + std::to_string(i) + ": listener " +
              std::to_string(s.listener_port) + " is not in the configuration";
      return false;
    }
    by_flow_.emplace(flow_key(d.peer_be, d.peer_port, d.listener_port), static_cast<uint32_t>(i));
  }
  OPENSSL_cleanse(&s, sizeof s);
  if (crypto) {
    keys_.resize(count);
    record_keys_.clear();
    record_keys_.resize(count);
    crypto_ = record::CryptoContext::create();
    if (!crypto_) {
      error = "IPsec-MB cannot run on this CPU";
      return false;
    }
  }
  return true;
}

size_t DataSessions::overhead(size_t i) const {
  const record::AeadParams& p = record::aead_params(aead(i));
  return record::kRecordHeaderLength + p.explicit_nonce_length + p.tag_length;
}

size_t DataSessions::prefix(size_t i) const {
  return record::kRecordHeaderLength + record::aead_params(aead(i)).explicit_nonce_length;
}

bool DataSessions::install_write(size_t i, uint64_t first_sequence) {
  dataplane::StaticSession s;
  keys_file_->session(i, s);
  const record::AeadParams& p = record::aead_params(s.aead);
  auto& w = record_keys_[i].write;
  if (!w) {
    w = std::make_unique<record::WriteEpoch>();
  }
  const bool ok = w->install(*crypto_, record::Epoch{1}, s.aead, {s.client_write_key, p.key_length},
                             {s.client_write_iv, p.fixed_iv_length}, first_sequence);
  OPENSSL_cleanse(&s, sizeof s);
  return ok;
}

bool DataSessions::seal(size_t i, uint64_t sequence, std::span<uint8_t> out,
                        size_t plaintext_length) {
  record::WriteEpoch* w = record_keys_[i].write.get();
  // The epoch counts its own sequence numbers; a record out of that order
  // (or a key past its usage limit: the keys are fixed, this is a
  // benchmark) starts the epoch again at `sequence`.
  if (w == nullptr || w->next_number().sequence() != sequence) {
    if (!install_write(i, sequence)) {
      return false;
    }
    w = record_keys_[i].write.get();
  }
  size_t length = 0;
  record::SealResult r = record::seal_record(*crypto_, *w, record::ContentType::application_data,
                                             out, plaintext_length, length);
  if (r != record::SealResult::ok && install_write(i, sequence)) {
    r = record::seal_record(*crypto_, *record_keys_[i].write,
                            record::ContentType::application_data, out, plaintext_length, length);
  }
  return r == record::SealResult::ok && length == plaintext_length + overhead(i);
}

bool DataSessions::open(size_t i, std::span<uint8_t> record, std::span<uint8_t>& plaintext) {
  record::ReadEpoch* r = record_keys_[i].read.get();
  if (r == nullptr) {
    return false;
  }
  record::RecordWalker walker(record);
  record::RecordView view;
  return walker.next(view) && view.record.size() == record.size() &&
         record::open_record(*crypto_, *r, view, plaintext) == record::OpenResult::ok;
}

record::Aead DataSessions::aead(size_t i) const { return static_cast<record::Aead>(aeads_[i]); }

void DataSessions::use_keys(bool client) {
  dataplane::StaticSession s;
  for (size_t i = 0; i < keys_.size(); ++i) {
    keys_file_->session(i, s);
    const size_t n = record::aead_params(s.aead).key_length;
    if (generic(i)) {
      RecordKeys& k = record_keys_[i];
      k.write.reset();
      k.read.reset();
      if (client) {
        (void)install_write(i, sessions_[i].next_sequence);
      } else {
        // The gateway's records: a wide window, sequence numbers arrive
        // in order but a burst may be reordered by the rings.
        k.read = std::make_unique<record::ReadEpoch>(4096);
        const size_t iv = record::aead_params(s.aead).fixed_iv_length;
        (void)k.read->install(*crypto_, record::Epoch{1}, s.aead, {s.server_write_key, n},
                              {s.server_write_iv, iv});
      }
      continue;
    }
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
    if (!generic(i)) {
      gcm_shape_init(keys_[i], plaintext_length, shapes_[i]);
    }
  }
}

}  // namespace dtlsgw::loadgen
