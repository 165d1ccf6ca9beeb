// RFC 9146 Connection ID records for DTLS 1.2 (content type tls12_cid, 25):
//
//   struct {
//     ContentType outer_type = tls12_cid;  ProtocolVersion version;
//     uint16 epoch;  uint48 sequence_number;
//     opaque cid[cid_length];               // the receiver's CID
//     uint16 length;
//     opaque enc_content[DTLSCiphertext.length];
//   } DTLSCiphertext;
//
//   struct { opaque content[length]; ContentType real_type;
//            uint8 zeros[length_of_padding]; } DTLSInnerPlaintext;
//
// RFC 9146 §5 (AEAD) additional data:
//   seq_num_placeholder (8 × 0xff) ‖ tls12_cid ‖ cid_length ‖ tls12_cid ‖
//   DTLSCiphertext.version ‖ epoch ‖ sequence_number ‖ cid ‖
//   length_of_DTLSInnerPlaintext
// that is 23 + cid_length bytes. IPsec-MB 1.3's CCM takes at most 46 bytes
// of additional data, so with AES-CCM and AES-CCM-8 a CID is at most
// kMaxCcmCidLength (23) bytes: install() refuses a longer one.
//
// The nonce is DTLS 1.2's (RecordCipher::make_nonce): salt ‖ explicit for
// GCM/CCM, IV XOR epoch‖sequence for ChaCha20-Poly1305 (RFC 7905). In a
// direction whose receiver's CID is empty, records are ordinary DTLS 1.2
// records (record_protection.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dtls_record/aead_suite.h"
#include "dtls_record/connection_id.h"
#include "dtls_record/crypto_context.h"
#include "dtls_record/record_cipher.h"
#include "dtls_record/record_format.h"
#include "dtls_record/record_header.h"
#include "dtls_record/record_number.h"
#include "dtls_record/record_protection.h"
#include "dtls_record/replay_window.h"

namespace dtlsgw::record {

inline constexpr uint8_t kTls12CidContentType = 25;
inline constexpr size_t kCidAadFixedLength = 23;
inline constexpr size_t kMaxCcmCidLength = 46 - kCidAadFixedLength;

constexpr size_t cid_header_length(size_t cid_length) { return 11 + cid_length + 2; }

struct CidRecordView {
  ProtocolVersion version = ProtocolVersion::dtls12;
  RecordNumber number;
  std::span<uint8_t> record;    // header and fragment, in place
  std::span<uint8_t> cid;       // inside the header
  std::span<uint8_t> fragment;  // explicit nonce, enc_content, tag
};

// Parses the tls12_cid record at the start of `datagram`, whose receiver's
// CID is `cid_length` bytes (RFC 9146 §4: the length is not on the wire).
// unknown_content_type if the first byte is not 25; unknown_version unless
// DTLS 1.2.
[[nodiscard]] HeaderResult parse_cid_record(std::span<uint8_t> datagram, size_t cid_length,
                                            CidRecordView& out);

// Zero padding after the real content type when sealing: at least
// `padding` bytes, then up to a multiple of `pad_to_multiple` bytes of
// DTLSInnerPlaintext (Mbed TLS 3.6 pads to a multiple of 16).
struct CidPaddingPolicy {
  uint16_t padding = 0;
  uint16_t pad_to_multiple = 0;
};

class CidReadEpoch {
 public:
  static constexpr RecordFormat kFormat = RecordFormat::dtls12_cid;
  explicit CidReadEpoch(uint32_t replay_window_bits = 64) : window_(replay_window_bits) {}
  // `own_cid`: this receiver's CID, non-empty. False on a key of the wrong
  // length, an empty or too long CID, or a CID over kMaxCcmCidLength with
  // CCM.
  [[nodiscard]] bool install(CryptoContext& ctx, Epoch epoch, Aead aead,
                             std::span<const uint8_t> key, std::span<const uint8_t> fixed_iv,
                             std::span<const uint8_t> own_cid);
  void retire() { cipher_.wipe(); }
  Epoch epoch() const { return epoch_; }
  const ConnectionId& cid() const { return cid_; }
  const RecordCipher& cipher() const { return cipher_; }
  ReplayWindow& replay_window() { return window_.get(); }
  const ReplayWindow& replay_window() const { return window_.get(); }
  uint64_t records_opened() const { return opened_; }
  uint64_t forgeries() const { return forgeries_; }

 private:
  friend class CidOpener;
  RecordCipher cipher_;
  OwnedReplayWindow window_;
  uint64_t opened_ = 0;
  uint64_t forgeries_ = 0;
  ConnectionId cid_;
  Epoch epoch_;
};

class CidWriteEpoch {
 public:
  static constexpr RecordFormat kFormat = RecordFormat::dtls12_cid;
  [[nodiscard]] bool install(CryptoContext& ctx, Epoch epoch, Aead aead,
                             std::span<const uint8_t> key, std::span<const uint8_t> fixed_iv,
                             std::span<const uint8_t> peer_cid, CidPaddingPolicy padding = {},
                             uint64_t first_sequence = 0);
  void retire() { cipher_.wipe(); }
  Epoch epoch() const { return next_.epoch(); }
  RecordNumber next_number() const { return next_; }
  uint64_t records_sealed() const { return sealed_; }
  size_t seal_prefix() const {
    return cid_header_length(cid_.size()) + cipher_.params().explicit_nonce_length;
  }
  size_t seal_suffix(size_t plaintext_length) const;

 private:
  friend class CidSealer;
  RecordCipher cipher_;
  RecordNumber next_;
  uint64_t sealed_ = 0;
  bool exhausted_ = false;
  ConnectionId cid_;
  CidPaddingPolicy padding_;
};

// ---- Opening ---------------------------------------------------------------

// RFC 9146 §5's additional data: 23 bytes and the CID.
inline constexpr size_t kMaxCidAadLength = kCidAadFixedLength + kMaxConnectionIdLength;

struct CidOpenRequest {
  CidReadEpoch* epoch = nullptr;
  CidRecordView record;  // from parse_cid_record: in place, decrypted there
  // Filled by open_cid_burst:
  OpenResult result = OpenResult::malformed;
  ContentType type = ContentType::application_data;  // the real type
  std::span<uint8_t> plaintext;                      // the content, without type and padding
  uint8_t aad[kMaxCidAadLength];                     // the AAD lives here while the batch runs
};

// Opens every request, one crypto batch per kMaxBurst. Returns how many are `ok`.
size_t open_cid_burst(CryptoContext& ctx, std::span<CidOpenRequest> requests);

// Opens in place; `plaintext` is the content without type and padding.
OpenResult open_cid_record(CryptoContext& ctx, CidReadEpoch& epoch, const CidRecordView& record,
                           ContentType& type, std::span<uint8_t>& plaintext);

// ---- Sealing ---------------------------------------------------------------

struct CidSealRequest {
  CidWriteEpoch* epoch = nullptr;
  ContentType type = ContentType::application_data;
  // The plaintext sits at buffer.data() + epoch->seal_prefix(), with
  // epoch->seal_suffix(plaintext_length) bytes of room after it.
  std::span<uint8_t> buffer;
  size_t plaintext_length = 0;
  // Filled by seal_cid_burst:
  SealResult result = SealResult::engine_error;
  RecordNumber number;
  size_t record_length = 0;
  uint8_t aad[kMaxCidAadLength];
};

size_t seal_cid_burst(CryptoContext& ctx, std::span<CidSealRequest> requests);

SealResult seal_cid_record(CryptoContext& ctx, CidWriteEpoch& epoch, ContentType type,
                           std::span<uint8_t> buffer, size_t plaintext_length,
                           size_t& record_length, RecordNumber* number = nullptr);

// The two passes of the bursts above (record_dispatch.h).
bool prepare_open(CidOpenRequest& r, AeadOp& op);
void finish_open(CidOpenRequest& r, const AeadOp& op);
bool prepare_seal(CidSealRequest& r, AeadOp& op);
void finish_seal(CidSealRequest& r, const AeadOp& op);

}  // namespace dtlsgw::record
