#include "dtls_record/cid_record.h"

#include <openssl/crypto.h>

#include <cstring>

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

HeaderResult parse_cid_record(std::span<uint8_t> datagram, size_t cid_length,
                              CidRecordView& out) {
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

bool CidReadEpoch::install(CryptoContext& ctx, Epoch epoch, Aead aead,
                           std::span<const uint8_t> key, std::span<const uint8_t> fixed_iv,
                           std::span<const uint8_t> own_cid) {
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

class CidOpener {
 public:
  static RecordOpenResult open(CryptoContext& ctx, CidReadEpoch& e, const CidRecordView& rec,
                               ContentType& type, std::span<uint8_t>& plaintext) {
    if (!e.cipher_.valid()) [[unlikely]] {
      return RecordOpenResult::unknown_epoch;
    }
    if (rec.number.epoch() != e.epoch_) [[unlikely]] {
      return RecordOpenResult::unknown_epoch;
    }
    if (!e.cid_.equals(rec.cid)) [[unlikely]] {
      return RecordOpenResult::unknown_connection_id;
    }
    const ReplayCheck seen = e.window_.get().check(rec.number.sequence());
    if (seen != ReplayCheck::fresh) [[unlikely]] {
      return seen == ReplayCheck::duplicate ? RecordOpenResult::replay : RecordOpenResult::too_old;
    }
    const AeadParams& p = e.cipher_.params();
    const std::span<uint8_t> fragment = rec.fragment;
    // At least the content type inside.
    if (fragment.size() < p.explicit_nonce_length + p.tag_length + 1) [[unlikely]] {
      return RecordOpenResult::malformed;
    }
    const size_t inner_length = fragment.size() - p.explicit_nonce_length - p.tag_length;
    if (inner_length > kMaxInnerPlaintextLength + 255) [[unlikely]] {
      return RecordOpenResult::malformed;
    }
    AeadOp& op = ctx.ops()[0];
    uint8_t aad[kCidAadFixedLength + kMaxConnectionIdLength];
    op.cipher = &e.cipher_;
    op.encrypt = false;
    e.cipher_.make_nonce(rec.number, fragment.data(), op.nonce);
    op.nonce_length = 12;
    op.aad = aad;
    op.aad_length =
        write_cid_additional_data(aad, rec.version, rec.number, e.cid_.bytes(), inner_length);
    op.data = fragment.data() + p.explicit_nonce_length;
    op.length = inner_length;
    ctx.run(1);
    if (op.engine_failed) [[unlikely]] {
      return RecordOpenResult::engine_error;
    }
    if (CRYPTO_memcmp(op.tag, op.data + op.length, p.tag_length) != 0) [[unlikely]] {
      ++e.forgeries_;
      std::memset(op.data, 0, op.length);
      return RecordOpenResult::auth_failed;
    }
    const ReplayCheck committed = e.window_.get().commit(rec.number.sequence());
    if (committed != ReplayCheck::fresh) [[unlikely]] {
      return committed == ReplayCheck::duplicate ? RecordOpenResult::replay
                                                 : RecordOpenResult::too_old;
    }
    ++e.opened_;
    const std::span<const uint8_t> inner(op.data, op.length);
    const size_t content = inner_content_length(inner);
    if (content == inner.size()) [[unlikely]] {
      return RecordOpenResult::no_content_type;
    }
    type = static_cast<ContentType>(inner[content]);
    plaintext = std::span<uint8_t>(op.data, content);
    return RecordOpenResult::ok;
  }
};

RecordOpenResult open_cid_record(CryptoContext& ctx, CidReadEpoch& epoch,
                                 const CidRecordView& record, ContentType& type,
                                 std::span<uint8_t>& plaintext) {
  return CidOpener::open(ctx, epoch, record, type, plaintext);
}

class CidSealer {
 public:
  static SealResult seal(CryptoContext& ctx, CidWriteEpoch& e, ContentType type,
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
    if (buffer.size() < prefix + plaintext_length + suffix) [[unlikely]] {
      return SealResult::buffer_too_small;
    }
    const size_t inner = plaintext_length + suffix - p.tag_length;
    uint8_t* out = buffer.data();
    uint8_t* body = out + prefix;
    body[plaintext_length] = static_cast<uint8_t>(type);
    std::memset(body + plaintext_length + 1, 0, inner - plaintext_length - 1);
    const RecordNumber n = e.next_;
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
    AeadOp& op = ctx.ops()[0];
    uint8_t aad[kCidAadFixedLength + kMaxConnectionIdLength];
    op.cipher = &e.cipher_;
    op.encrypt = true;
    e.cipher_.make_nonce(n, out + header_length, op.nonce);
    op.nonce_length = 12;
    op.aad = aad;
    op.aad_length =
        write_cid_additional_data(aad, ProtocolVersion::dtls12, n, e.cid_.bytes(), inner);
    op.data = body;
    op.length = inner;
    ctx.run(1);
    if (op.engine_failed) [[unlikely]] {
      return SealResult::engine_error;
    }
    std::memcpy(body + inner, op.tag, p.tag_length);
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

SealResult seal_cid_record(CryptoContext& ctx, CidWriteEpoch& epoch, ContentType type,
                           std::span<uint8_t> buffer, size_t plaintext_length,
                           size_t& record_length, RecordNumber* number) {
  return CidSealer::seal(ctx, epoch, type, buffer, plaintext_length, record_length, number);
}

}  // namespace dtlsgw::record
