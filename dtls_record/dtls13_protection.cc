#include "dtls_record/dtls13_protection.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>

#include "dtls_record/burst_batches.h"
#include "dtls_record/constant_time.h"
#include "dtls_record/inner_plaintext.h"
#include "dtls_record/sequence_reconstruction.h"
#include "dtls_record/wire.h"

namespace dtlsgw::record {

namespace {

// RFC 8446 §5.3: the 64-bit record sequence number, left-padded with
// zeros to the IV length, XORed with the IV.
void make_dtls13_nonce(const uint8_t iv[12], uint64_t sequence, uint8_t out[12]) {
  std::memcpy(out, iv, 12);
  for (size_t i = 0; i < 8; ++i) {
    out[4 + i] ^= static_cast<uint8_t>(sequence >> (56 - 8 * i));
  }
}

// IPsec-MB 1.3's CCM takes at most 46 bytes of additional data.
constexpr size_t kCcmMaxAad = 46;

}  // namespace

bool Dtls13ReadEpoch::install(CryptoContext& ctx, Epoch epoch, Aead aead,
                              const Dtls13TrafficKeys& keys, std::span<const uint8_t> own_cid) {
  retire();
  const AeadParams& p = aead_params(aead);
  if (keys.key_length != p.key_length || !cid_.assign(own_cid)) {
    return false;
  }
  // RecordCipher takes the DTLS 1.2 fixed-IV length; the DTLS 1.3 nonce is
  // built here from the whole 12-byte IV, so its first bytes are unused.
  if (!cipher_.init(ctx, aead, keys.key_bytes(), {keys.iv.data(), p.fixed_iv_length}) ||
      !mask_.init(ctx, aead, keys.sn_key_bytes())) {
    retire();
    return false;
  }
  std::memcpy(iv_, keys.iv.data(), sizeof(iv_));
  epoch_ = epoch;
  opened_ = 0;
  forgeries_ = 0;
  window_.get().reset();
  return true;
}

bool Dtls13ReadEpoch::install_secret(CryptoContext& ctx, Epoch epoch, const Dtls13Suite& suite,
                                     std::span<const uint8_t> secret,
                                     std::span<const uint8_t> own_cid) {
  Dtls13TrafficKeys keys;
  return derive_dtls13_traffic_keys(suite.aead, suite.hash, secret, keys) &&
         install(ctx, epoch, suite.aead, keys, own_cid);
}

void Dtls13ReadEpoch::retire() {
  cipher_.wipe();
  mask_.wipe();
  OPENSSL_cleanse(iv_, sizeof(iv_));
}

bool Dtls13WriteEpoch::install(CryptoContext& ctx, Epoch epoch, Aead aead,
                               const Dtls13TrafficKeys& keys, std::span<const uint8_t> peer_cid,
                               Dtls13WriteOptions options, uint64_t first_sequence) {
  retire();
  const AeadParams& p = aead_params(aead);
  if (keys.key_length != p.key_length || !cid_.assign(peer_cid)) {
    return false;
  }
  if (!cipher_.init(ctx, aead, keys.key_bytes(), {keys.iv.data(), p.fixed_iv_length}) ||
      !mask_.init(ctx, aead, keys.sn_key_bytes())) {
    retire();
    return false;
  }
  std::memcpy(iv_, keys.iv.data(), sizeof(iv_));
  options_ = options;
  next_ = RecordNumber(epoch, first_sequence);
  exhausted_ = first_sequence > RecordNumber::kMaxSequence;
  sealed_ = 0;
  return true;
}

bool Dtls13WriteEpoch::install_secret(CryptoContext& ctx, Epoch epoch, const Dtls13Suite& suite,
                                      std::span<const uint8_t> secret,
                                      std::span<const uint8_t> peer_cid, Dtls13WriteOptions options,
                                      uint64_t first_sequence) {
  Dtls13TrafficKeys keys;
  return derive_dtls13_traffic_keys(suite.aead, suite.hash, secret, keys) &&
         install(ctx, epoch, suite.aead, keys, peer_cid, options, first_sequence);
}

void Dtls13WriteEpoch::retire() {
  cipher_.wipe();
  mask_.wipe();
  OPENSSL_cleanse(iv_, sizeof(iv_));
}

size_t Dtls13WriteEpoch::seal_suffix(size_t plaintext_length) const {
  const size_t tag = cipher_.params().tag_length;
  return 1 +
         inner_padding(plaintext_length, options_.padding, options_.pad_to_multiple, tag,
                       kMaskSampleLength) +
         tag;
}

// Friend of Dtls13ReadEpoch: the one place its counters and window change.
class Dtls13Opener {
 public:
  static bool prepare(Dtls13OpenRequest& r, AeadOp& op) {
    Dtls13ReadEpoch& e = *r.epoch;
    Dtls13RecordView& rec = r.record;
    if (!e.cipher_.valid()) [[unlikely]] {
      r.result = OpenResult::unknown_epoch;
      return false;
    }
    if (rec.kind != Dtls13RecordKind::ciphertext) [[unlikely]] {
      r.result = OpenResult::malformed;
      return false;
    }
    const UnifiedHeader& h = rec.unified;
    if (h.epoch_bits != (e.epoch_.value & kUnifiedEpochMask)) [[unlikely]] {
      r.result = OpenResult::unknown_epoch;
      return false;
    }
    if (e.cid_.empty() ? h.has_cid : !(h.has_cid && e.cid_.equals(rec.cid))) [[unlikely]] {
      r.result = OpenResult::unknown_connection_id;
      return false;
    }
    const size_t tag = e.cipher_.params().tag_length;
    if (rec.body.size() < kMaskSampleLength) [[unlikely]] {
      r.result = OpenResult::too_short_to_mask;
      return false;
    }
    if (rec.body.size() < tag + 1 || rec.body.size() - tag > kMaxInnerPlaintextLength ||
        rec.header.size() > kCcmMaxAad) [[unlikely]] {
      r.result = OpenResult::malformed;
      return false;
    }
    // RFC 9147 §4.2.3: unmask the sequence bits (in the header, which is
    // then the additional data), then §4.2.2: the full number.
    uint8_t mask[2];
    e.mask_.mask(rec.body.data(), mask);
    uint8_t* seq = rec.header.data() + h.sequence_offset;
    uint16_t low;
    if (h.sequence_bits == 16) {
      seq[0] ^= mask[0];
      seq[1] ^= mask[1];
      low = wire::load_u16(seq);
    } else {
      seq[0] ^= mask[0];
      low = seq[0];
    }
    const uint64_t sequence =
        reconstruct_sequence(e.window_.get().next_expected(), low, h.sequence_bits);
    const ReplayCheck seen = e.window_.get().check(sequence);
    if (seen != ReplayCheck::fresh) [[unlikely]] {
      r.result = seen == ReplayCheck::duplicate ? OpenResult::replay : OpenResult::too_old;
      return false;
    }
    r.number = RecordNumber(e.epoch_, sequence);
    op.cipher = &e.cipher_;
    op.encrypt = false;
    make_dtls13_nonce(e.iv_, sequence, op.nonce);
    op.nonce_length = 12;
    op.aad = rec.header.data();
    op.aad_length = rec.header.size();
    op.data = rec.body.data();
    op.length = rec.body.size() - tag;
    return true;
  }

  static void finish(Dtls13OpenRequest& r, const AeadOp& op) {
    Dtls13ReadEpoch& e = *r.epoch;
    if (op.engine_failed) [[unlikely]] {
      r.result = OpenResult::engine_error;
      return;
    }
    const size_t tag = e.cipher_.params().tag_length;
    if (!equal_in_constant_time(op.tag, op.data + op.length, tag)) [[unlikely]] {
      ++e.forgeries_;
      std::memset(op.data, 0, op.length);
      r.result = OpenResult::auth_failed;
      return;
    }
    const ReplayCheck seen = e.window_.get().commit(r.number.sequence());
    if (seen != ReplayCheck::fresh) [[unlikely]] {
      r.result = seen == ReplayCheck::duplicate ? OpenResult::replay : OpenResult::too_old;
      return;
    }
    ++e.opened_;
    const std::span<const uint8_t> inner(op.data, op.length);
    const size_t content = inner_content_length(inner);
    if (content == inner.size()) [[unlikely]] {
      r.result = OpenResult::no_content_type;
      return;
    }
    r.type = static_cast<ContentType>(inner[content]);
    r.plaintext = std::span<uint8_t>(op.data, content);
    r.result = OpenResult::ok;
  }
};

bool prepare_open(Dtls13OpenRequest& r, AeadOp& op) { return Dtls13Opener::prepare(r, op); }
void finish_open(Dtls13OpenRequest& r, const AeadOp& op) { Dtls13Opener::finish(r, op); }

size_t open_dtls13_burst(CryptoContext& ctx, std::span<Dtls13OpenRequest> requests) {
  return run_in_batches<Dtls13Opener>(ctx, requests, OpenResult::ok);
}

OpenResult open_dtls13_record(CryptoContext& ctx, Dtls13ReadEpoch& epoch, Dtls13RecordView& record,
                              ContentType& type, RecordNumber& number,
                              std::span<uint8_t>& plaintext) {
  Dtls13OpenRequest r;
  r.epoch = &epoch;
  r.record = record;
  open_dtls13_burst(ctx, {&r, 1});
  type = r.type;
  number = r.number;
  plaintext = r.plaintext;
  return r.result;
}

// Friend of Dtls13WriteEpoch: the one place its sequence and counters change.
class Dtls13Sealer {
 public:
  static bool prepare(Dtls13SealRequest& r, AeadOp& op) {
    Dtls13WriteEpoch& e = *r.epoch;
    if (!e.cipher_.valid()) [[unlikely]] {
      r.result = SealResult::no_key;
      return false;
    }
    if (e.exhausted_) [[unlikely]] {
      r.result = SealResult::sequence_exhausted;
      return false;
    }
    const AeadParams& p = e.cipher_.params();
    if (e.sealed_ >= p.confidentiality_limit) [[unlikely]] {
      r.result = SealResult::usage_limit;
      return false;
    }
    if (r.plaintext_length > kMaxPlaintextLength) [[unlikely]] {
      r.result = SealResult::plaintext_too_long;
      return false;
    }
    const size_t prefix = e.seal_prefix();
    const size_t suffix = e.seal_suffix(r.plaintext_length);
    if (r.buffer.size() < prefix + r.plaintext_length + suffix ||
        (e.cipher_.engine() == Engine::ipsec_mb_ccm_burst && prefix > kCcmMaxAad)) [[unlikely]] {
      r.result = SealResult::buffer_too_small;
      return false;
    }
    // Take the number, then advance: a number is used once, even if the
    // engine later fails, so no (key, nonce) pair can ever repeat.
    const RecordNumber n = e.next_;
    if (const auto next = n.next()) {
      e.next_ = *next;
    } else {
      e.exhausted_ = true;
    }
    ++e.sealed_;
    const size_t inner = r.plaintext_length + suffix - p.tag_length;
    uint8_t* body = r.buffer.data() + prefix;
    body[r.plaintext_length] = static_cast<uint8_t>(r.type);
    std::memset(body + r.plaintext_length + 1, 0, inner - r.plaintext_length - 1);
    const uint64_t sequence = n.sequence();
    const Dtls13WriteOptions& o = e.options_;
    const uint16_t low = static_cast<uint16_t>(o.sequence16 ? sequence & 0xffff : sequence & 0xff);
    write_unified_header(r.buffer.data(), static_cast<uint8_t>(n.epoch().value & kUnifiedEpochMask),
                         e.cid_.bytes(), o.sequence16, o.with_length, low,
                         static_cast<uint16_t>(inner + p.tag_length));
    op.cipher = &e.cipher_;
    op.encrypt = true;
    make_dtls13_nonce(e.iv_, sequence, op.nonce);
    op.nonce_length = 12;
    op.aad = r.buffer.data();  // the header with the sequence bits unmasked
    op.aad_length = prefix;
    op.data = body;
    op.length = inner;
    r.number = n;
    r.record_length = prefix + inner + p.tag_length;
    return true;
  }

  static void finish(Dtls13SealRequest& r, const AeadOp& op) {
    const Dtls13WriteEpoch& e = *r.epoch;
    if (op.engine_failed) [[unlikely]] {
      r.result = SealResult::engine_error;
      r.record_length = 0;
      return;
    }
    const size_t tag = e.cipher_.params().tag_length;
    std::memcpy(op.data + op.length, op.tag, tag);
    // RFC 9147 §4.2.3: mask the sequence bits with the sealed ciphertext.
    uint8_t mask[2];
    e.mask_.mask(op.data, mask);
    uint8_t* seq = r.buffer.data() + 1 + e.cid_.size();
    seq[0] ^= mask[0];
    if (e.options_.sequence16) {
      seq[1] ^= mask[1];
    }
    r.result = SealResult::ok;
  }
};

bool prepare_seal(Dtls13SealRequest& r, AeadOp& op) { return Dtls13Sealer::prepare(r, op); }
void finish_seal(Dtls13SealRequest& r, const AeadOp& op) { Dtls13Sealer::finish(r, op); }

size_t seal_dtls13_burst(CryptoContext& ctx, std::span<Dtls13SealRequest> requests) {
  return run_in_batches<Dtls13Sealer>(ctx, requests, SealResult::ok);
}

SealResult seal_dtls13_record(CryptoContext& ctx, Dtls13WriteEpoch& epoch, ContentType type,
                              std::span<uint8_t> buffer, size_t plaintext_length,
                              size_t& record_length, RecordNumber* number) {
  Dtls13SealRequest r;
  r.epoch = &epoch;
  r.type = type;
  r.buffer = buffer;
  r.plaintext_length = plaintext_length;
  seal_dtls13_burst(ctx, {&r, 1});
  record_length = r.record_length;
  if (number != nullptr && r.result == SealResult::ok) {
    *number = r.number;
  }
  return r.result;
}

}  // namespace dtlsgw::record
