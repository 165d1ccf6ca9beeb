// Per-thread crypto state: the IPsec-MB managers and the scratch a burst
// uses. One per lcore (or per test thread); never shared between threads.
//
// IPsec-MB 1.3 keeps a job queue inside each manager, and mixing its job and
// burst interfaces on one manager corrupts that queue. So there is one
// manager per interface style: `direct` serves the direct AES-GCM and
// ChaCha20-Poly1305 calls (which never touch the queue), `burst` serves the
// AES-CCM jobs submitted with IMB_SUBMIT_BURST.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

struct IMB_MGR;
struct IMB_JOB;

namespace dtlsgw::record {

class RecordCipher;

// The largest burst one call processes; longer spans are taken in chunks.
inline constexpr size_t kMaxBurst = 64;

// One AEAD operation of a burst. The record layer fills one per record; the
// engine writes the tag (seal) or the computed tag (open) to `tag`.
struct AeadOp {
  const RecordCipher* cipher = nullptr;
  bool encrypt = false;
  bool engine_failed = false;  // set when the engine reported an error
  // DTLS 1.2 uses 12-byte nonces; CCM accepts 7 to 13 (RFC 3610 vectors
  // use 13). GCM and ChaCha20-Poly1305 need 12.
  uint8_t nonce_length = 12;
  uint8_t nonce[13];
  // The record layer points `aad` at `aad_storage`; vector tests may point
  // it elsewhere (CCM: at most 46 bytes in IPsec-MB 1.3).
  uint8_t aad_storage[13];
  const uint8_t* aad = nullptr;
  size_t aad_length = 0;
  uint8_t* data = nullptr;  // in place
  size_t length = 0;
  uint8_t tag[16];  // the first params().tag_length bytes are used
};

class CryptoContext {
 public:
  // Allocates and initialises the managers for the best instruction set
  // this CPU has; nullptr if IPsec-MB cannot run here.
  static std::unique_ptr<CryptoContext> create();
  ~CryptoContext();
  CryptoContext(const CryptoContext&) = delete;
  CryptoContext& operator=(const CryptoContext&) = delete;

  IMB_MGR* direct_manager() const { return direct_; }
  IMB_MGR* burst_manager() const { return burst_; }
  // The instruction set IPsec-MB picked ("AVX512", "AVX2", ...).
  const char* arch_name() const;

  // Burst scratch, reset by each burst; nothing is allocated per record.
  std::array<AeadOp, kMaxBurst>& ops() { return ops_; }

  // The engine context of the direct calls (gcm_context_data or
  // chacha20_poly1305_context_data): reused by every op of one run() and
  // wiped once at its end, not once per record.
  void* direct_scratch() { return direct_scratch_.data(); }

  // Runs ops[0..count): direct-engine ops at once, job-engine ops as one
  // IPsec-MB burst. Results land in each op's tag and engine_failed.
  void run(size_t count);

 private:
  CryptoContext() = default;
  void fail_queued(size_t count);
  IMB_MGR* direct_ = nullptr;
  IMB_MGR* burst_ = nullptr;
  std::array<AeadOp, kMaxBurst> ops_{};
  std::array<IMB_JOB*, kMaxBurst> jobs_{};
  alignas(64) std::array<uint8_t, 256> direct_scratch_{};
};

}  // namespace dtlsgw::record
