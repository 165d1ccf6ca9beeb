#include "dtls_record/record_dispatch.h"

#include "dtls_record/burst_batches.h"

namespace dtlsgw::record {

// One switch per record and pass; each arm is that format's own pass.
struct AnyOpenPass {
  static bool prepare(AnyOpenRequest& r, AeadOp& op) {
    switch (r.format_) {
      case RecordFormat::dtls12:
        return prepare_open(r.dtls12_, op);
      case RecordFormat::dtls12_cid:
        return prepare_open(r.cid_, op);
      case RecordFormat::dtls13:
        return prepare_open(r.dtls13_, op);
    }
    return false;
  }
  static void finish(AnyOpenRequest& r, const AeadOp& op) {
    switch (r.format_) {
      case RecordFormat::dtls12:
        finish_open(r.dtls12_, op);
        return;
      case RecordFormat::dtls12_cid:
        finish_open(r.cid_, op);
        return;
      case RecordFormat::dtls13:
        finish_open(r.dtls13_, op);
        return;
    }
  }
};

OpenResult AnyOpenRequest::result() const {
  switch (format_) {
    case RecordFormat::dtls12:
      return dtls12_.result;
    case RecordFormat::dtls12_cid:
      return cid_.result;
    case RecordFormat::dtls13:
      return dtls13_.result;
  }
  return OpenResult::malformed;
}

ContentType AnyOpenRequest::type() const {
  switch (format_) {
    case RecordFormat::dtls12:
      return dtls12_.type;
    case RecordFormat::dtls12_cid:
      return cid_.type;
    case RecordFormat::dtls13:
      return dtls13_.type;
  }
  return ContentType::application_data;
}

RecordNumber AnyOpenRequest::number() const {
  switch (format_) {
    case RecordFormat::dtls12:
      return dtls12_.number;
    case RecordFormat::dtls12_cid:
      return cid_.record.number;
    case RecordFormat::dtls13:
      return dtls13_.number;
  }
  return {};
}

std::span<uint8_t> AnyOpenRequest::plaintext() const {
  switch (format_) {
    case RecordFormat::dtls12:
      return dtls12_.plaintext;
    case RecordFormat::dtls12_cid:
      return cid_.plaintext;
    case RecordFormat::dtls13:
      return dtls13_.plaintext;
  }
  return {};
}

size_t open_records(CryptoContext& ctx, std::span<AnyOpenRequest> requests) {
  return run_in_batches<AnyOpenPass>(ctx, requests, OpenResult::ok);
}

OpenResult open_any_record(CryptoContext& ctx, AnyOpenRequest& request) {
  open_records(ctx, {&request, 1});
  return request.result();
}

struct AnySealPass {
  static bool prepare(AnySealRequest& r, AeadOp& op) {
    switch (r.format_) {
      case RecordFormat::dtls12:
        return prepare_seal(r.dtls12_, op);
      case RecordFormat::dtls12_cid:
        return prepare_seal(r.cid_, op);
      case RecordFormat::dtls13:
        return prepare_seal(r.dtls13_, op);
    }
    return false;
  }
  static void finish(AnySealRequest& r, const AeadOp& op) {
    switch (r.format_) {
      case RecordFormat::dtls12:
        finish_seal(r.dtls12_, op);
        return;
      case RecordFormat::dtls12_cid:
        finish_seal(r.cid_, op);
        return;
      case RecordFormat::dtls13:
        finish_seal(r.dtls13_, op);
        return;
    }
  }
};

SealResult AnySealRequest::result() const {
  switch (format_) {
    case RecordFormat::dtls12:
      return dtls12_.result;
    case RecordFormat::dtls12_cid:
      return cid_.result;
    case RecordFormat::dtls13:
      return dtls13_.result;
  }
  return SealResult::engine_error;
}

RecordNumber AnySealRequest::number() const {
  switch (format_) {
    case RecordFormat::dtls12:
      return dtls12_.number;
    case RecordFormat::dtls12_cid:
      return cid_.number;
    case RecordFormat::dtls13:
      return dtls13_.number;
  }
  return {};
}

size_t AnySealRequest::record_length() const {
  switch (format_) {
    case RecordFormat::dtls12:
      return dtls12_.record_length;
    case RecordFormat::dtls12_cid:
      return cid_.record_length;
    case RecordFormat::dtls13:
      return dtls13_.record_length;
  }
  return 0;
}

size_t seal_records(CryptoContext& ctx, std::span<AnySealRequest> requests) {
  return run_in_batches<AnySealPass>(ctx, requests, SealResult::ok);
}

SealResult seal_any_record(CryptoContext& ctx, AnySealRequest& request) {
  seal_records(ctx, {&request, 1});
  return request.result();
}

}  // namespace dtlsgw::record
