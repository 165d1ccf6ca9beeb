// DTLS 1.3 record protection (RFC 9147 §4, RFC 8446 §5.2-5.4), in place on
// plain buffers, on the IPsec-MB engines of CryptoContext/RecordCipher.
//
//   nonce = iv XOR (64-bit sequence number, left-padded to 12 bytes)
//           (RFC 8446 §5.3; the epoch is not in the nonce)
//   additional data = the unified header exactly as sent, with the
//           sequence-number bytes unmasked (RFC 9147 §4: "the AEAD
//           additional_data is ... the record header ... [with] the
//           unencrypted form of the sequence number")
//   DTLSInnerPlaintext = content ‖ ContentType type ‖ uint8 zeros[pad]
//
// Opening is the two-phase scheme of DESIGN.md, as for DTLS 1.2: unmask
// the sequence bits, reconstruct the full number (§4.2.2), a const replay
// check, the AEAD, then the window commit. The sequence bytes of the
// header are unmasked in place (they are the AAD), so an opened record no
// longer holds the bytes received.
//
// One Dtls13ReadEpoch / Dtls13WriteEpoch per epoch and direction; the
// replay window is per epoch (RFC 9147 §4.5.1), and the caller picks the
// epoch slot with reconstruct_epoch() (the previous epoch stays installed
// for a grace period after a KeyUpdate).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dtls_record/aead_suite.h"
#include "dtls_record/connection_id.h"
#include "dtls_record/crypto_context.h"
#include "dtls_record/dtls13_header.h"
#include "dtls_record/hkdf_label.h"
#include "dtls_record/record_cipher.h"
#include "dtls_record/record_format.h"
#include "dtls_record/record_number.h"
#include "dtls_record/record_number_mask.h"
#include "dtls_record/record_protection.h"
#include "dtls_record/replay_window.h"

namespace dtlsgw::record {

class Dtls13ReadEpoch {
 public:
  static constexpr RecordFormat kFormat = RecordFormat::dtls13;
  explicit Dtls13ReadEpoch(uint32_t replay_window_bits = 64) : window_(replay_window_bits) {}

  // `own_cid`: the CID this receiver asked for (records must carry it);
  // empty when none was negotiated. False when a key has the wrong length
  // or the CID is longer than kMaxConnectionIdLength.
  [[nodiscard]] bool install(CryptoContext& ctx, Epoch epoch, Aead aead,
                             const Dtls13TrafficKeys& keys, std::span<const uint8_t> own_cid);
  // Derives the keys from a traffic secret and installs them.
  [[nodiscard]] bool install_secret(CryptoContext& ctx, Epoch epoch, const Dtls13Suite& suite,
                                    std::span<const uint8_t> secret,
                                    std::span<const uint8_t> own_cid);
  void retire();

  bool valid() const { return cipher_.valid(); }
  Epoch epoch() const { return epoch_; }
  const ConnectionId& cid() const { return cid_; }
  const RecordCipher& cipher() const { return cipher_; }
  ReplayWindow& replay_window() { return window_.get(); }
  const ReplayWindow& replay_window() const { return window_.get(); }
  uint64_t records_opened() const { return opened_; }
  uint64_t forgeries() const { return forgeries_; }

 private:
  friend class Dtls13Opener;
  RecordCipher cipher_;
  RecordNumberMask mask_;
  OwnedReplayWindow window_;
  uint64_t opened_ = 0;
  uint64_t forgeries_ = 0;
  uint8_t iv_[12] = {};
  ConnectionId cid_;
  Epoch epoch_;
};

// How a sealer frames its records and pads its inner plaintexts.
struct Dtls13WriteOptions {
  bool sequence16 = true;   // S: 16-bit sequence numbers (wolfSSL's choice)
  bool with_length = true;  // L: needed unless the record ends the datagram
  // Zero bytes after the content type: at least `padding`, then more until
  // the inner plaintext is a multiple of `pad_to_multiple` (0: no rounding).
  // Short records get more so the ciphertext can be sampled (§4.2.3).
  uint16_t padding = 0;
  uint16_t pad_to_multiple = 0;
};

class Dtls13WriteEpoch {
 public:
  static constexpr RecordFormat kFormat = RecordFormat::dtls13;
  // `peer_cid`: the CID the peer asked for, sent in every record (empty:
  // no C bit). `first_sequence` as in WriteEpoch::install.
  [[nodiscard]] bool install(CryptoContext& ctx, Epoch epoch, Aead aead,
                             const Dtls13TrafficKeys& keys, std::span<const uint8_t> peer_cid,
                             Dtls13WriteOptions options = {}, uint64_t first_sequence = 0);
  [[nodiscard]] bool install_secret(CryptoContext& ctx, Epoch epoch, const Dtls13Suite& suite,
                                    std::span<const uint8_t> secret,
                                    std::span<const uint8_t> peer_cid,
                                    Dtls13WriteOptions options = {}, uint64_t first_sequence = 0);
  void retire();

  bool valid() const { return cipher_.valid(); }
  Epoch epoch() const { return next_.epoch(); }
  RecordNumber next_number() const { return next_; }
  uint64_t records_sealed() const { return sealed_; }
  const Dtls13WriteOptions& options() const { return options_; }

  // Where the plaintext goes in a seal buffer (the header's length).
  size_t seal_prefix() const {
    return unified_header_length(cid_.size(), options_.sequence16, options_.with_length);
  }
  // The bytes after the plaintext a seal of `plaintext_length` needs:
  // content type, padding and tag.
  size_t seal_suffix(size_t plaintext_length) const;

 private:
  friend class Dtls13Sealer;
  RecordCipher cipher_;
  RecordNumberMask mask_;
  RecordNumber next_;
  uint64_t sealed_ = 0;
  bool exhausted_ = false;
  uint8_t iv_[12] = {};
  ConnectionId cid_;
  Dtls13WriteOptions options_;
};

// ---- Opening ---------------------------------------------------------------

struct Dtls13OpenRequest {
  Dtls13ReadEpoch* epoch = nullptr;
  Dtls13RecordView record;  // a ciphertext from Dtls13Walker, in place
  // Filled by open:
  OpenResult result = OpenResult::malformed;
  ContentType type = ContentType::application_data;  // the inner type
  RecordNumber number;
  std::span<uint8_t> plaintext;  // inside record.body
};

size_t open_dtls13_burst(CryptoContext& ctx, std::span<Dtls13OpenRequest> requests);
OpenResult open_dtls13_record(CryptoContext& ctx, Dtls13ReadEpoch& epoch, Dtls13RecordView& record,
                              ContentType& type, RecordNumber& number,
                              std::span<uint8_t>& plaintext);

// ---- Sealing ---------------------------------------------------------------

struct Dtls13SealRequest {
  Dtls13WriteEpoch* epoch = nullptr;
  ContentType type = ContentType::application_data;  // the inner type
  // The record is written from buffer.data(); the plaintext must be at
  // buffer.data() + epoch->seal_prefix(), with
  // epoch->seal_suffix(plaintext_length) bytes of room after it.
  std::span<uint8_t> buffer;
  size_t plaintext_length = 0;
  // Filled by seal_dtls13_burst:
  SealResult result = SealResult::engine_error;
  RecordNumber number;
  size_t record_length = 0;
};

// Seals every request as one crypto batch per kMaxBurst; the record
// numbers are masked after the AEAD (§4.2.3). Returns how many are `ok`.
size_t seal_dtls13_burst(CryptoContext& ctx, std::span<Dtls13SealRequest> requests);

// Seals the plaintext at buffer.data() + epoch.seal_prefix() into a record
// that starts at buffer.data(); record_length is its total length.
SealResult seal_dtls13_record(CryptoContext& ctx, Dtls13WriteEpoch& epoch, ContentType type,
                              std::span<uint8_t> buffer, size_t plaintext_length,
                              size_t& record_length, RecordNumber* number = nullptr);

// The two passes of the bursts above (record_dispatch.h).
bool prepare_open(Dtls13OpenRequest& r, AeadOp& op);
void finish_open(Dtls13OpenRequest& r, const AeadOp& op);
bool prepare_seal(Dtls13SealRequest& r, AeadOp& op);
void finish_seal(Dtls13SealRequest& r, const AeadOp& op);

}  // namespace dtlsgw::record
