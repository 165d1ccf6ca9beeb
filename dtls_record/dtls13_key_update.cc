#include "dtls_record/dtls13_key_update.h"

#include "dtls_record/sequence_reconstruction.h"

#include <openssl/crypto.h>

#include <algorithm>

namespace dtlsgw::record {

Dtls13ReadKeys::~Dtls13ReadKeys() { OPENSSL_cleanse(secret_.data(), secret_.size()); }

bool Dtls13ReadKeys::install(CryptoContext& ctx, Epoch epoch, const Dtls13Suite& suite,
                             std::span<const uint8_t> secret, std::span<const uint8_t> own_cid) {
  if (secret.size() != hash_length(suite.hash) || own_cid.size() > cid_.size()) {
    return false;
  }
  epochs_[0].retire();
  epochs_[1].retire();
  has_previous_ = false;
  current_ = 0;
  if (!epochs_[0].install_secret(ctx, epoch, suite, secret, own_cid)) {
    return false;
  }
  suite_ = suite;
  std::copy(secret.begin(), secret.end(), secret_.begin());
  std::copy(own_cid.begin(), own_cid.end(), cid_.begin());
  cid_length_ = own_cid.size();
  return true;
}

bool Dtls13ReadKeys::update(CryptoContext& ctx, uint64_t now_ms) {
  const Epoch epoch = epochs_[current_].epoch();
  if (!epochs_[current_].valid() || epoch.value == 0xffff) {
    return false;
  }
  const size_t n = hash_length(suite_.hash);
  std::array<uint8_t, 48> next{};
  if (!next_dtls13_traffic_secret(suite_.hash, {secret_.data(), n}, {next.data(), n})) {
    return false;
  }
  // The slot of the epoch before the current one is retired (its grace,
  // if any, ends now: only one previous epoch is kept).
  const unsigned slot = current_ ^ 1u;
  epochs_[slot].retire();
  const bool ok = epochs_[slot].install_secret(ctx, Epoch{static_cast<uint16_t>(epoch.value + 1)},
                                               suite_, {next.data(), n}, {cid_.data(), cid_length_});
  if (ok) {
    std::copy(next.begin(), next.begin() + static_cast<long>(n), secret_.begin());
    current_ = slot;
    has_previous_ = true;
    previous_until_ms_ = now_ms + grace_ms_;
  } else {
    has_previous_ = false;
  }
  OPENSSL_cleanse(next.data(), next.size());
  return ok;
}

bool Dtls13ReadKeys::previous_readable(uint64_t now_ms) {
  if (has_previous_ && now_ms >= previous_until_ms_) {
    epochs_[current_ ^ 1u].retire();
    has_previous_ = false;
  }
  return has_previous_;
}

Dtls13ReadEpoch* Dtls13ReadKeys::select(uint8_t epoch_bits, uint64_t now_ms) {
  Dtls13ReadEpoch& cur = epochs_[current_];
  if (!cur.valid()) {
    return nullptr;
  }
  const Epoch wanted = reconstruct_epoch(cur.epoch(), epoch_bits);
  if (wanted == cur.epoch()) {
    return &cur;
  }
  if (previous_readable(now_ms) && wanted == epochs_[current_ ^ 1u].epoch()) {
    return &epochs_[current_ ^ 1u];
  }
  return nullptr;
}

}  // namespace dtlsgw::record
