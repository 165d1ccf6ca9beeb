#include "dtls_record/cid_record.h"

#include <cstring>

#include "dtls_record/burst_batches.h"
#include "dtls_record/constant_time.h"
#include "dtls_record/inner_plaintext.h"
#include "dtls_record/wire.h"

namespace dtlsgw::record {

namespace {

// RFC 9146 §5, AEAD ciphers.
size_t write_cid_additional_data(uint8_t* aad, ProtocolVersion version, RecordNumber number,
                                 std::span<const uint8_t> cid, size_t inner_length) {
  std::memset(aad, 0xff, 8);
  aad[8] = kTls12CidContentType;
  aad[9] = static_cast<uint8_t>(cid.size());
  aad[10] = kTls12CidContentType;
  wire::store_u16(aad + 11, static_cast<uint16_t>(version));
  wire::store_u64(aad + 13, number.packed());
  std::memcpy(aad + 21, cid.data(), cid.size());
  wire::store_u16(aad + 21 + cid.size(), static_cast<uint16_t>(inner_length));
  return kCidAadFixedLength + cid.size();
}

bool cid_fits(Aead aead, size_t cid_length) {
  const bool ccm = aead == Aead::aes128_ccm || aead == Aead::aes128_ccm8;
  return cid_length != 0 && (!ccm || cid_length <= kMaxCcmCidLength);
}

}  // namespace

HeaderResult parse_cid_record(std::span<uint8_t> datagram, size_t cid_length, CidRecordView& out) {
  const size_t header_length = cid_header_length(cid_length);
  if (datagram.size() < header_length) [[unlikely]] {
    return HeaderResult::truncated_header;
  }
  const uint8_t* p = datagram.data();
  if (p[0] != kTls12CidContentType) [[unlikely]] {
    return HeaderResult::unknown_content_type;
  }
  if (wire::load_u16(p + 1) != static_cast<uint16_t>(ProtocolVersion::dtls12)) [[unlikely]] {
    return HeaderResult::unknown_version;
  }
  const size_t length = wire::load_u16(p + header_length - 2);
  if (length > kMaxFragmentLength) [[unlikely]] {
    return HeaderResult::fragment_too_long;
  }
  if (length > datagram.size() - header_length) [[unlikely]] {
    return HeaderResult::length_overrun;
  }
  out.version = ProtocolVersion::dtls12;
  out.number = RecordNumber::from_packed(wire::load_u64(p + 3));
  out.record = datagram.first(header_length + length);
  out.cid = datagram.subspan(11, cid_length);
  out.fragment = datagram.subspan(header_length, length);
  return HeaderResult::ok;
}

bool CidReadEpoch::install(CryptoContext& ctx, Epoch epoch, Aead aead, std::span<const uint8_t> key,
                           std::span<const uint8_t> fixed_iv, std::span<const uint8_t> own_cid) {
  cipher_.wipe();
  if (!cid_fits(aead, own_cid.size()) || !cid_.assign(own_cid)) {
    return false;
  }
  epoch_ = epoch;
  opened_ = 0;
  forgeries_ = 0;
  window_.get().reset();
  return cipher_.init(ctx, aead, key, fixed_iv);
}

bool CidWriteEpoch::install(CryptoContext& ctx, Epoch epoch, Aead aead,
                            std::span<const uint8_t> key, std::span<const uint8_t> fixed_iv,
                            std::span<const uint8_t> peer_cid, CidPaddingPolicy padding,
                            uint64_t first_sequence) {
  cipher_.wipe();
  if (!cid_fits(aead, peer_cid.size()) || !cid_.assign(peer_cid)) {
    return false;
  }
  padding_ = padding;
  next_ = RecordNumber(epoch, first_sequence);
  exhausted_ = first_sequence > RecordNumber::kMaxSequence;
  sealed_ = 0;
  return cipher_.init(ctx, aead, key, fixed_iv);
}

size_t CidWriteEpoch::seal_suffix(size_t plaintext_length) const {
  return 1 + inner_padding(plaintext_length, padding_.padding, padding_.pad_to_multiple, 0, 0) +
         cipher_.params().tag_length;
}

// Friend of CidReadEpoch: the one place its counters and window change.
class CidOpener {
 public:
  static bool prepare(CidOpenRequest& r, AeadOp& op) {
    CidReadEpoch& e = *r.epoch;
    const CidRecordView& rec = r.record;
    if (!e.cipher_.valid()) [[unlikely]] {
      r.result = OpenResult::unknown_epoch;
      return false;
    }
    if (rec.number.epoch() != e.epoch_) [[unlikely]] {
      r.result = OpenResult::unknown_epoch;
      return false;
    }
    if (!e.cid_.equals(rec.cid)) [[unlikely]] {
      r.result = OpenResult::unknown_connection_id;
      return false;
    }
    const ReplayCheck seen = e.window_.get().check(rec.number.sequence());
    if (seen != ReplayCheck::fresh) [[unlikely]] {
      r.result = seen == ReplayCheck::duplicate ? OpenResult::replay : OpenResult::too_old;
      return false;
    }
    const AeadParams& p = e.cipher_.params();
    const std::span<uint8_t> fragment = rec.fragment;
    // At least the content type inside.
    if (fragment.size() < p.explicit_nonce_length + p.tag_length + 1) [[unlikely]] {
      r.result = OpenResult::malformed;
      return false;
    }
    const size_t inner_length = fragment.size() - p.explicit_nonce_length - p.tag_length;
    if (inner_length > kMaxInnerPlaintextLength + 255) [[unlikely]] {
      r.result = OpenResult::malformed;
      return false;
    }
    op.cipher = &e.cipher_;
    op.encrypt = false;
    e.cipher_.make_nonce(rec.number, fragment.data(), op.nonce);
    op.nonce_length = 12;
    op.aad = r.aad;
    op.aad_length =
        write_cid_additional_data(r.aad, rec.version, rec.number, e.cid_.bytes(), inner_length);
    op.data = fragment.data() + p.explicit_nonce_length;
    op.length = inner_length;
    return true;
  }

  static void finish(CidOpenRequest& r, const AeadOp& op) {
    CidReadEpoch& e = *r.epoch;
    if (op.engine_failed) [[unlikely]] {
      r.result = OpenResult::engine_error;
      return;
    }
    if (!equal_in_constant_time(op.tag, op.data + op.length, e.cipher_.params().tag_length))
        [[unlikely]] {
      ++e.forgeries_;
      std::memset(op.data, 0, op.length);
      r.result = OpenResult::auth_failed;
      return;
    }
    const ReplayCheck committed = e.window_.get().commit(r.record.number.sequence());
    if (committed != ReplayCheck::fresh) [[unlikely]] {
      r.result = committed == ReplayCheck::duplicate ? OpenResult::replay : OpenResult::too_old;
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

bool prepare_open(CidOpenRequest& r, AeadOp& op) { return CidOpener::prepare(r, op); }
void finish_open(CidOpenRequest& r, const AeadOp& op) { CidOpener::finish(r, op); }

size_t open_cid_burst(CryptoContext& ctx, std::span<CidOpenRequest> requests) {
  return run_in_batches<CidOpener>(ctx, requests, OpenResult::ok);
}

OpenResult open_cid_record(CryptoContext& ctx, CidReadEpoch& epoch, const CidRecordView& record,
                           ContentType& type, std::span<uint8_t>& plaintext) {
  CidOpenRequest r;
  r.epoch = &epoch;
  r.record = record;
  open_cid_burst(ctx, {&r, 1});
  type = r.type;
  plaintext = r.plaintext;
  return r.result;
}

// Friend of CidWriteEpoch: the one place its sequence and counters change.
class CidSealer {
 public:
  static bool prepare(CidSealRequest& r, AeadOp& op) {
    CidWriteEpoch& e = *r.epoch;
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
    if (r.buffer.size() < prefix + r.plaintext_length + suffix) [[unlikely]] {
      r.result = SealResult::buffer_too_small;
      return false;
    }
    // Take the number, then advance (as RecordSealer): used once, always.
    const RecordNumber n = e.next_;
    if (const auto next = n.next()) {
      e.next_ = *next;
    } else {
      e.exhausted_ = true;
    }
    ++e.sealed_;
    const size_t inner = r.plaintext_length + suffix - p.tag_length;
    uint8_t* out = r.buffer.data();
    uint8_t* body = out + prefix;
    body[r.plaintext_length] = static_cast<uint8_t>(r.type);
    std::memset(body + r.plaintext_length + 1, 0, inner - r.plaintext_length - 1);
    const size_t header_length = cid_header_length(e.cid_.size());
    out[0] = kTls12CidContentType;
    wire::store_u16(out + 1, static_cast<uint16_t>(ProtocolVersion::dtls12));
    wire::store_u64(out + 3, n.packed());
    std::memcpy(out + 11, e.cid_.bytes().data(), e.cid_.size());
    wire::store_u16(out + header_length - 2,
                    static_cast<uint16_t>(p.explicit_nonce_length + inner + p.tag_length));
    // The explicit nonce is the record's own epoch ‖ sequence (as the
    // DTLS 1.2 sealer and Mbed TLS do), so nonces never repeat.
    if (p.explicit_nonce_length != 0) {
      wire::store_u64(out + header_length, n.packed());
    }
    op.cipher = &e.cipher_;
    op.encrypt = true;
    e.cipher_.make_nonce(n, out + header_length, op.nonce);
    op.nonce_length = 12;
    op.aad = r.aad;
    op.aad_length =
        write_cid_additional_data(r.aad, ProtocolVersion::dtls12, n, e.cid_.bytes(), inner);
    op.data = body;
    op.length = inner;
    r.number = n;
    r.record_length = prefix + inner + p.tag_length;
    return true;
  }

  static void finish(CidSealRequest& r, const AeadOp& op) {
    if (op.engine_failed) [[unlikely]] {
      r.result = SealResult::engine_error;
      r.record_length = 0;
      return;
    }
    std::memcpy(op.data + op.length, op.tag, r.epoch->cipher_.params().tag_length);
    r.result = SealResult::ok;
  }
};

bool prepare_seal(CidSealRequest& r, AeadOp& op) { return CidSealer::prepare(r, op); }
void finish_seal(CidSealRequest& r, const AeadOp& op) { CidSealer::finish(r, op); }

size_t seal_cid_burst(CryptoContext& ctx, std::span<CidSealRequest> requests) {
  return run_in_batches<CidSealer>(ctx, requests, SealResult::ok);
}

SealResult seal_cid_record(CryptoContext& ctx, CidWriteEpoch& epoch, ContentType type,
                           std::span<uint8_t> buffer, size_t plaintext_length,
                           size_t& record_length, RecordNumber* number) {
  CidSealRequest r;
  r.epoch = &epoch;
  r.type = type;
  r.buffer = buffer;
  r.plaintext_length = plaintext_length;
  seal_cid_burst(ctx, {&r, 1});
  record_length = r.record_length;
  if (number != nullptr && r.result == SealResult::ok) {
    *number = r.number;
  }
  return r.result;
}

}  // namespace dtlsgw::record
