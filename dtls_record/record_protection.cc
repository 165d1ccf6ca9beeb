#include "dtls_record/record_protection.h"

#include <algorithm>
#include <cstring>

#include "dtls_record/burst_batches.h"
#include "dtls_record/constant_time.h"
#include "dtls_record/wire.h"

namespace dtlsgw::record {

std::string_view to_string(OpenResult r) {
  switch (r) {
    case OpenResult::ok:
      return "ok";
    case OpenResult::malformed:
      return "malformed";
    case OpenResult::unknown_epoch:
      return "unknown_epoch";
    case OpenResult::replay:
      return "replay";
    case OpenResult::too_old:
      return "too_old";
    case OpenResult::auth_failed:
      return "auth_failed";
    case OpenResult::engine_error:
      return "engine_error";
    case OpenResult::too_short_to_mask:
      return "too_short_to_mask";
    case OpenResult::unknown_connection_id:
      return "unknown_connection_id";
    case OpenResult::no_content_type:
      return "no_content_type";
  }
  return "invalid";
}

std::string_view to_string(SealResult r) {
  switch (r) {
    case SealResult::ok:
      return "ok";
    case SealResult::plaintext_too_long:
      return "plaintext_too_long";
    case SealResult::buffer_too_small:
      return "buffer_too_small";
    case SealResult::sequence_exhausted:
      return "sequence_exhausted";
    case SealResult::usage_limit:
      return "usage_limit";
    case SealResult::no_key:
      return "no_key";
    case SealResult::engine_error:
      return "engine_error";
  }
  return "invalid";
}

UsageStatus ReadEpoch::usage_status() const {
  if (!cipher_.valid()) {
    return UsageStatus::ok;
  }
  const uint64_t limit = cipher_.params().integrity_limit;
  if (limit == 0) {
    return forgeries_ >= forgery_alarm_ ? UsageStatus::forgery_alarm : UsageStatus::ok;
  }
  return forgeries_ >= limit ? UsageStatus::close_required : UsageStatus::ok;
}

namespace {

// RFC 6347 §4.1.2.1 / RFC 5246 §6.2.3.3: additional_data = seq_num ‖
// TLSCompressed.type ‖ TLSCompressed.version ‖ TLSCompressed.length, where
// seq_num is epoch ‖ sequence_number and the length is the plaintext's.
void write_additional_data(uint8_t aad[13], RecordNumber number, ContentType type,
                           ProtocolVersion version, size_t plaintext_length) {
  wire::store_u64(aad, number.packed());
  aad[8] = static_cast<uint8_t>(type);
  wire::store_u16(aad + 9, static_cast<uint16_t>(version));
  wire::store_u16(aad + 11, static_cast<uint16_t>(plaintext_length));
}

}  // namespace

// Friend of ReadEpoch: the one place its counters and window change.
class RecordOpener {
 public:
  // Pass 1: everything that can be decided before the AEAD. Returns true
  // and fills `op` when the record goes to the crypto batch.
  static bool prepare(OpenRequest& r, AeadOp& op) {
    ReadEpoch& e = *r.epoch;
    const RecordHeader& h = r.record.header;
    if (!e.cipher_.valid()) [[unlikely]] {
      r.result = OpenResult::unknown_epoch;
      return false;
    }
    if (h.version != ProtocolVersion::dtls12) [[unlikely]] {
      r.result = OpenResult::malformed;
      return false;
    }
    if (h.number.epoch() != e.epoch_) [[unlikely]] {
      r.result = OpenResult::unknown_epoch;
      return false;
    }
    const ReplayCheck seen = e.window_.get().check(h.number.sequence());
    if (seen != ReplayCheck::fresh) [[unlikely]] {
      r.result = seen == ReplayCheck::duplicate ? OpenResult::replay : OpenResult::too_old;
      return false;
    }
    const AeadParams& p = e.cipher_.params();
    const std::span<uint8_t> fragment = r.record.fragment;
    if (fragment.size() < p.explicit_nonce_length + p.tag_length) [[unlikely]] {
      r.result = OpenResult::malformed;
      return false;
    }
    const size_t plaintext_length = fragment.size() - p.explicit_nonce_length - p.tag_length;
    if (plaintext_length > kMaxPlaintextLength) [[unlikely]] {
      r.result = OpenResult::malformed;
      return false;
    }
    op.cipher = &e.cipher_;
    op.encrypt = false;
    e.cipher_.make_nonce(h.number, fragment.data(), op.nonce);
    op.nonce_length = 12;
    write_additional_data(op.aad_storage, h.number, h.type, h.version, plaintext_length);
    op.aad = op.aad_storage;
    op.aad_length = sizeof(op.aad_storage);
    op.data = fragment.data() + p.explicit_nonce_length;
    op.length = plaintext_length;
    return true;
  }

  // Pass 2, after the batch: verify, then commit.
  static void finish(OpenRequest& r, const AeadOp& op) {
    ReadEpoch& e = *r.epoch;
    if (op.engine_failed) [[unlikely]] {
      r.result = OpenResult::engine_error;
      return;
    }
    const size_t tag_length = e.cipher_.params().tag_length;
    if (!equal_in_constant_time(op.tag, op.data + op.length, tag_length)) [[unlikely]] {
      ++e.forgeries_;
      // Never leave unauthenticated plaintext behind for a careless caller.
      std::memset(op.data, 0, op.length);
      r.result = OpenResult::auth_failed;
      return;
    }
    // Re-test while setting: a second copy of this record in the same
    // burst authenticated too, but only the first one is fresh.
    const ReplayCheck seen = e.window_.get().commit(r.record.header.number.sequence());
    if (seen != ReplayCheck::fresh) [[unlikely]] {
      r.result = seen == ReplayCheck::duplicate ? OpenResult::replay : OpenResult::too_old;
      return;
    }
    ++e.opened_;
    r.result = OpenResult::ok;
    r.type = r.record.header.type;
    r.number = r.record.header.number;
    r.plaintext = std::span<uint8_t>(op.data, op.length);
  }
};

bool prepare_open(OpenRequest& r, AeadOp& op) { return RecordOpener::prepare(r, op); }
void finish_open(OpenRequest& r, const AeadOp& op) { RecordOpener::finish(r, op); }

size_t open_burst(CryptoContext& ctx, std::span<OpenRequest> requests) {
  return run_in_batches<RecordOpener>(ctx, requests, OpenResult::ok);
}

OpenResult open_record(CryptoContext& ctx, ReadEpoch& epoch, const RecordView& record,
                       std::span<uint8_t>& plaintext) {
  OpenRequest r;
  r.epoch = &epoch;
  r.record = record;
  open_burst(ctx, std::span<OpenRequest>(&r, 1));
  plaintext = r.plaintext;
  return r.result;
}

// Friend of WriteEpoch: the one place its sequence and counters change.
class RecordSealer {
 public:
  static bool prepare(SealRequest& r, AeadOp& op) {
    WriteEpoch& e = *r.epoch;
    if (!e.cipher_.valid()) [[unlikely]] {
      r.result = SealResult::no_key;
      return false;
    }
    if (r.plaintext_length > kMaxPlaintextLength) [[unlikely]] {
      r.result = SealResult::plaintext_too_long;
      return false;
    }
    const AeadParams& p = e.cipher_.params();
    const size_t prefix = e.seal_prefix();
    const size_t record_length = prefix + r.plaintext_length + p.tag_length;
    if (r.buffer.size() < record_length) [[unlikely]] {
      r.result = SealResult::buffer_too_small;
      return false;
    }
    if (e.exhausted_) [[unlikely]] {
      r.result = SealResult::sequence_exhausted;
      return false;
    }
    if (e.sealed_ >= p.confidentiality_limit) [[unlikely]] {
      r.result = SealResult::usage_limit;
      return false;
    }
    // Take the number, then advance: a number is used once, even if the
    // engine later fails, so no (key, nonce) pair can ever repeat.
    const RecordNumber number = e.next_;
    if (const auto following = number.next()) {
      e.next_ = *following;
    } else {
      e.exhausted_ = true;
    }
    ++e.sealed_;

    uint8_t* out = r.buffer.data();
    RecordHeader header;
    header.type = r.type;
    header.version = ProtocolVersion::dtls12;
    header.number = number;
    header.length = static_cast<uint16_t>(record_length - kRecordHeaderLength);
    write_record_header(header, out);
    if (p.explicit_nonce_length == 8) {
      wire::store_u64(out + kRecordHeaderLength, number.packed());
    }
    op.cipher = &e.cipher_;
    op.encrypt = true;
    e.cipher_.make_nonce(number, out + kRecordHeaderLength, op.nonce);
    op.nonce_length = 12;
    write_additional_data(op.aad_storage, number, r.type, ProtocolVersion::dtls12,
                          r.plaintext_length);
    op.aad = op.aad_storage;
    op.aad_length = sizeof(op.aad_storage);
    op.data = out + prefix;
    op.length = r.plaintext_length;
    r.number = number;
    r.record_length = record_length;
    return true;
  }

  static void finish(SealRequest& r, const AeadOp& op) {
    if (op.engine_failed) [[unlikely]] {
      r.result = SealResult::engine_error;
      r.record_length = 0;
      return;
    }
    // Two fixed sizes, so the copy compiles to moves instead of a memcpy call.
    uint8_t* tag_out = op.data + op.length;
    if (r.epoch->cipher_.params().tag_length == 16) {
      std::memcpy(tag_out, op.tag, 16);
    } else {
      std::memcpy(tag_out, op.tag, 8);
    }
    r.result = SealResult::ok;
  }
};

bool prepare_seal(SealRequest& r, AeadOp& op) { return RecordSealer::prepare(r, op); }
void finish_seal(SealRequest& r, const AeadOp& op) { RecordSealer::finish(r, op); }

size_t seal_burst(CryptoContext& ctx, std::span<SealRequest> requests) {
  return run_in_batches<RecordSealer>(ctx, requests, SealResult::ok);
}

SealResult seal_record(CryptoContext& ctx, WriteEpoch& epoch, ContentType type,
                       std::span<uint8_t> buffer, size_t plaintext_length, size_t& record_length) {
  SealRequest r;
  r.epoch = &epoch;
  r.type = type;
  r.buffer = buffer;
  r.plaintext_length = plaintext_length;
  seal_burst(ctx, std::span<SealRequest>(&r, 1));
  record_length = r.record_length;
  return r.result;
}

}  // namespace dtlsgw::record
