#include "dtls_record/dtls13_protection.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>

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
                                      std::span<const uint8_t> peer_cid,
                                      Dtls13WriteOptions options, uint64_t first_sequence) {
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
      r.result = RecordOpenResult::unknown_epoch;
      return false;
    }
    if (rec.kind != Dtls13RecordKind::ciphertext) [[unlikely]] {
      r.result = RecordOpenResult::malformed;
      return false;
    }
    const UnifiedHeader& h = rec.unified;
    if (h.epoch_bits != (e.epoch_.value & kUnifiedEpochMask)) [[unlikely]] {
      r.result = RecordOpenResult::unknown_epoch;
      return false;
    }
    if (e.cid_.empty() ? h.has_cid : !(h.has_cid && e.cid_.equals(rec.cid))) [[unlikely]] {
      r.result = RecordOpenResult::unknown_connection_id;
      return false;
    }
    const size_t tag = e.cipher_.params().tag_length;
    if (rec.body.size() < kMaskSampleLength) [[unlikely]] {
      r.result = RecordOpenResult::too_short_to_mask;
      return false;
    }
    if (rec.body.size() < tag + 1 || rec.body.size() - tag > kMaxInnerPlaintextLength ||
        rec.header.size() > kCcmMaxAad) [[unlikely]] {
      r.result = RecordOpenResult::malformed;
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
      r.result =
          seen == ReplayCheck::duplicate ? RecordOpenResult::replay : RecordOpenResult::too_old;
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
      r.result = RecordOpenResult::engine_error;
      return;
    }
    const size_t tag = e.cipher_.params().tag_length;
    if (CRYPTO_memcmp(op.tag, op.data + op.length, tag) != 0) [[unlikely]] {
      ++e.forgeries_;
      std::memset(op.data, 0, op.length);
      r.result = RecordOpenResult::auth_failed;
      return;
    }
    const ReplayCheck seen = e.window_.get().commit(r.number.sequence());
    if (seen != ReplayCheck::fresh) [[unlikely]] {
      r.result =
          seen == ReplayCheck::duplicate ? RecordOpenResult::replay : RecordOpenResult::too_old;
      return;
    }
    ++e.opened_;
    const std::span<const uint8_t> inner(op.data, op.length);
    const size_t content = inner_content_length(inner);
    if (content == inner.size()) [[unlikely]] {
      r.result = RecordOpenResult::no_content_type;
      return;
    }
    r.type = static_cast<ContentType>(inner[content]);
    r.plaintext = std::span<uint8_t>(op.data, content);
    r.result = RecordOpenResult::ok;
  }
};

size_t open_dtls13_burst(CryptoContext& ctx, std::span<Dtls13OpenRequest> requests) {
  size_t ok = 0;
  auto& ops = ctx.ops();
  uint8_t slot[kMaxBurst];
  for (size_t base = 0; base < requests.size(); base += kMaxBurst) {
    const size_t n = std::min(kMaxBurst, requests.size() - base);
    size_t queued = 0;
    for (size_t i = 0; i < n; ++i) {
      if (Dtls13Opener::prepare(requests[base + i], ops[queued])) {
        slot[queued++] = static_cast<uint8_t>(i);
      }
    }
    ctx.run(queued);
    for (size_t k = 0; k < queued; ++k) {
      Dtls13OpenRequest& r = requests[base + slot[k]];
      Dtls13Opener::finish(r, ops[k]);
      ok += r.result == RecordOpenResult::ok;
    }
  }
  return ok;
}

RecordOpenResult open_dtls13_record(CryptoContext& ctx, Dtls13ReadEpoch& epoch,
                                    Dtls13RecordView& record, ContentType& type,
                                    RecordNumber& number, std::span<uint8_t>& plaintext) {
  Dtls13OpenRequest r;
  r.epoch = &epoch;
  r.record = record;
  open_dtls13_burst(ctx, {&r, 1});
  type = r.type;
  number = r.number;
  plaintext = r.plaintext;
  return r.result;
}

class Dtls13Sealer {
 public:
  static SealResult seal(CryptoContext& ctx, Dtls13WriteEpoch& e, ContentType type,
                         std::span<uint8_t> buffer, size_t plaintext_length,
                         size_t& record_length, RecordNumber* number) {
    if (!e.cipher_.valid()) [[unlikely]] {
      return SealResult::no_key;
    }
    if (e.exhausted_) [[unlikely]] {
      return SealResult::sequence_exhausted;
    }
    const AeadParams& p = e.cipher_.params();
    if (e.sealed_ >= p.confidentiality_limit) [[unlikely]] {
      return SealResult::usage_limit;
    }
    if (plaintext_length > kMaxPlaintextLength) [[unlikely]] {
      return SealResult::plaintext_too_long;
    }
    const size_t prefix = e.seal_prefix();
    const size_t suffix = e.seal_suffix(plaintext_length);
    if (buffer.size() < prefix + plaintext_length + suffix ||
        (e.cipher_.engine() == Engine::ipsec_mb_ccm_burst && prefix > kCcmMaxAad)) [[unlikely]] {
      return SealResult::buffer_too_small;
    }
    const size_t inner = plaintext_length + suffix - p.tag_length;
    uint8_t* body = buffer.data() + prefix;
    body[plaintext_length] = static_cast<uint8_t>(type);
    std::memset(body + plaintext_length + 1, 0, inner - plaintext_length - 1);
    const RecordNumber n = e.next_;
    const uint64_t sequence = n.sequence();
    const Dtls13WriteOptions& o = e.options_;
    const uint16_t low = static_cast<uint16_t>(o.sequence16 ? sequence & 0xffff : sequence & 0xff);
    write_unified_header(buffer.data(), static_cast<uint8_t>(n.epoch().value & kUnifiedEpochMask),
                         e.cid_.bytes(), o.sequence16, o.with_length, low,
                         static_cast<uint16_t>(inner + p.tag_length));
    AeadOp& op = ctx.ops()[0];
    op.cipher = &e.cipher_;
    op.encrypt = true;
    make_dtls13_nonce(e.iv_, sequence, op.nonce);
    op.nonce_length = 12;
    op.aad = buffer.data();  // the header with the sequence bits unmasked
    op.aad_length = prefix;
    op.data = body;
    op.length = inner;
    ctx.run(1);
    if (op.engine_failed) [[unlikely]] {
      return SealResult::engine_error;
    }
    std::memcpy(body + inner, op.tag, p.tag_length);
    // RFC 9147 §4.2.3: mask the sequence bits with the sealed ciphertext.
    uint8_t mask[2];
    e.mask_.mask(body, mask);
    uint8_t* seq = buffer.data() + 1 + e.cid_.size();
    seq[0] ^= mask[0];
    if (o.sequence16) {
      seq[1] ^= mask[1];
    }
    if (const auto next = n.next()) {
      e.next_ = *next;
    } else {
      e.exhausted_ = true;
    }
    ++e.sealed_;
    record_length = prefix + inner + p.tag_length;
    if (number != nullptr) {
      *number = n;
    }
    return SealResult::ok;
  }
};

SealResult seal_dtls13_record(CryptoContext& ctx, Dtls13WriteEpoch& epoch, ContentType type,
                              std::span<uint8_t> buffer, size_t plaintext_length,
                              size_t& record_length, RecordNumber* number) {
  return Dtls13Sealer::seal(ctx, epoch, type, buffer, plaintext_length, record_length, number);
}

}  // namespace dtlsgw::record
