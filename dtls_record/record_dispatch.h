// One burst entry point for every record format (issue 9: "the burst API
// and the single-record API cover every new format with the same result
// enum; dispatch on format and suite decided once per key").
//
// A request is built from a key (an epoch object) and a record parsed by
// that format's parser; its format tag comes from the key's type
// (ReadEpoch::kFormat, CidReadEpoch::kFormat, Dtls13ReadEpoch::kFormat), so
// it is decided when the key is installed, never from the record's bytes.
// The suite is the key's RecordCipher, chosen at install as for DTLS 1.2.
// A burst may mix formats, sessions and suites: each request runs its own
// format's pass 1 and pass 2 around one crypto batch (kMaxBurst records).
//
// The per-format bursts stay: open_burst/seal_burst (DTLS 1.2, the
// dataplane's hot path, untouched), open_cid_burst/seal_cid_burst and
// open_dtls13_burst/seal_dtls13_burst. These mixed bursts cost one switch
// per record and pass on top of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dtls_record/cid_record.h"
#include "dtls_record/crypto_context.h"
#include "dtls_record/dtls13_protection.h"
#include "dtls_record/record_format.h"
#include "dtls_record/record_protection.h"

namespace dtlsgw::record {

class AnyOpenRequest {
 public:
  AnyOpenRequest() : format_(RecordFormat::dtls12), dtls12_() {}
  AnyOpenRequest(ReadEpoch& epoch, const RecordView& record)
      : format_(ReadEpoch::kFormat), dtls12_() {
    dtls12_.epoch = &epoch;
    dtls12_.record = record;
  }
  AnyOpenRequest(CidReadEpoch& epoch, const CidRecordView& record)
      : format_(CidReadEpoch::kFormat), cid_() {
    cid_.epoch = &epoch;
    cid_.record = record;
  }
  AnyOpenRequest(Dtls13ReadEpoch& epoch, const Dtls13RecordView& record)
      : format_(Dtls13ReadEpoch::kFormat), dtls13_() {
    dtls13_.epoch = &epoch;
    dtls13_.record = record;
  }

  RecordFormat format() const { return format_; }
  // Filled by open_records():
  OpenResult result() const;
  ContentType type() const;  // the inner (real) type for CID and 1.3
  RecordNumber number() const;
  std::span<uint8_t> plaintext() const;  // in place, inside the record

 private:
  friend struct AnyOpenPass;
  RecordFormat format_;
  union {
    OpenRequest dtls12_;
    CidOpenRequest cid_;
    Dtls13OpenRequest dtls13_;
  };
};

// Opens every request, whatever its format. Returns how many are `ok`.
size_t open_records(CryptoContext& ctx, std::span<AnyOpenRequest> requests);
// One record; the same checks and order as the burst.
OpenResult open_any_record(CryptoContext& ctx, AnyOpenRequest& request);

class AnySealRequest {
 public:
  AnySealRequest() : format_(RecordFormat::dtls12), dtls12_() {}
  // The plaintext sits at buffer.data() + epoch.seal_prefix(), with room
  // after it for the format's suffix (tag; inner type, padding and tag).
  AnySealRequest(WriteEpoch& epoch, ContentType type, std::span<uint8_t> buffer,
                 size_t plaintext_length)
      : format_(WriteEpoch::kFormat), dtls12_() {
    set(dtls12_, epoch, type, buffer, plaintext_length);
  }
  AnySealRequest(CidWriteEpoch& epoch, ContentType type, std::span<uint8_t> buffer,
                 size_t plaintext_length)
      : format_(CidWriteEpoch::kFormat), cid_() {
    set(cid_, epoch, type, buffer, plaintext_length);
  }
  AnySealRequest(Dtls13WriteEpoch& epoch, ContentType type, std::span<uint8_t> buffer,
                 size_t plaintext_length)
      : format_(Dtls13WriteEpoch::kFormat), dtls13_() {
    set(dtls13_, epoch, type, buffer, plaintext_length);
  }

  RecordFormat format() const { return format_; }
  // Filled by seal_records():
  SealResult result() const;
  RecordNumber number() const;
  size_t record_length() const;

 private:
  friend struct AnySealPass;
  template <typename Request, typename Epoch>
  static void set(Request& r, Epoch& epoch, ContentType type, std::span<uint8_t> buffer,
                  size_t plaintext_length) {
    r.epoch = &epoch;
    r.type = type;
    r.buffer = buffer;
    r.plaintext_length = plaintext_length;
  }
  RecordFormat format_;
  union {
    SealRequest dtls12_;
    CidSealRequest cid_;
    Dtls13SealRequest dtls13_;
  };
};

size_t seal_records(CryptoContext& ctx, std::span<AnySealRequest> requests);
SealResult seal_any_record(CryptoContext& ctx, AnySealRequest& request);

}  // namespace dtlsgw::record
