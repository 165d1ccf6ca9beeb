#include "dtls_record/crypto_context.h"

#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cassert>

#include "dtls_record/record_cipher.h"

namespace dtlsgw::record {

namespace {

IMB_MGR* new_manager() {
  IMB_MGR* m = alloc_mb_mgr(0);
  if (m == nullptr) {
    return nullptr;
  }
  init_mb_mgr_auto(m, nullptr);
  if (imb_get_errno(m) != 0) {
    free_mb_mgr(m);
    return nullptr;
  }
  return m;
}

void fill_ccm_job(IMB_JOB* job, AeadOp& op) {
  const RecordCipher& c = *op.cipher;
  job->cipher_mode = IMB_CIPHER_CCM;
  job->hash_alg = IMB_AUTH_AES_CCM;
  job->key_len_in_bytes = IMB_KEY_128_BYTES;
  job->enc_keys = c.schedule();
  job->dec_keys = c.schedule();  // CCM uses the encryption schedule both ways
  job->src = op.data;
  job->dst = op.data;
  job->cipher_start_src_offset_in_bytes = 0;
  job->msg_len_to_cipher_in_bytes = op.length;
  job->hash_start_src_offset_in_bytes = 0;
  job->msg_len_to_hash_in_bytes = op.length;
  job->iv = op.nonce;
  job->iv_len_in_bytes = op.nonce_length;
  job->u.CCM.aad = op.aad;
  job->u.CCM.aad_len_in_bytes = op.aad_length;
  job->auth_tag_output = op.tag;
  job->auth_tag_output_len_in_bytes = c.params().tag_length;
  // CCM authenticates the plaintext: MAC first when sealing, last when opening.
  if (op.encrypt) {
    job->cipher_direction = IMB_DIR_ENCRYPT;
    job->chain_order = IMB_ORDER_HASH_CIPHER;
  } else {
    job->cipher_direction = IMB_DIR_DECRYPT;
    job->chain_order = IMB_ORDER_CIPHER_HASH;
  }
  job->user_data = &op;
}

// The direct (one call per record) engines. `scratch` is the context's
// engine state, which CryptoContext::run wipes once the burst is done. Both
// take 96-bit nonces only, all a record op uses.
void run_gcm(IMB_MGR* mgr, AeadOp& op, gcm_context_data* scratch) {
  assert(op.nonce_length == 12);
  const RecordCipher& c = *op.cipher;
  const auto* key = static_cast<const gcm_key_data*>(c.schedule());
  const size_t tag_length = c.params().tag_length;
  if (c.aead() == Aead::aes128_gcm) [[likely]] {
    if (op.encrypt) {
      IMB_AES128_GCM_ENC(mgr, key, scratch, op.data, op.data, op.length, op.nonce, op.aad,
                         op.aad_length, op.tag, tag_length);
    } else {
      IMB_AES128_GCM_DEC(mgr, key, scratch, op.data, op.data, op.length, op.nonce, op.aad,
                         op.aad_length, op.tag, tag_length);
    }
  } else if (op.encrypt) {
    IMB_AES256_GCM_ENC(mgr, key, scratch, op.data, op.data, op.length, op.nonce, op.aad,
                       op.aad_length, op.tag, tag_length);
  } else {
    IMB_AES256_GCM_DEC(mgr, key, scratch, op.data, op.data, op.length, op.nonce, op.aad,
                       op.aad_length, op.tag, tag_length);
  }
}

void run_chacha(IMB_MGR* mgr, AeadOp& op, chacha20_poly1305_context_data* scratch) {
  assert(op.nonce_length == 12);
  const void* key = op.cipher->schedule();
  const size_t tag_length = op.cipher->params().tag_length;
  IMB_CHACHA20_POLY1305_INIT(mgr, key, scratch, op.nonce, op.aad, op.aad_length);
  if (op.encrypt) {
    IMB_CHACHA20_POLY1305_ENC_UPDATE(mgr, key, scratch, op.data, op.data, op.length);
    IMB_CHACHA20_POLY1305_ENC_FINALIZE(mgr, scratch, op.tag, tag_length);
  } else {
    IMB_CHACHA20_POLY1305_DEC_UPDATE(mgr, key, scratch, op.data, op.data, op.length);
    IMB_CHACHA20_POLY1305_DEC_FINALIZE(mgr, scratch, op.tag, tag_length);
  }
}

}  // namespace

std::unique_ptr<CryptoContext> CryptoContext::create() {
  std::unique_ptr<CryptoContext> ctx(new CryptoContext());
  ctx->direct_ = new_manager();
  ctx->burst_ = new_manager();
  if (ctx->direct_ == nullptr || ctx->burst_ == nullptr) {
    return nullptr;
  }
  return ctx;
}

CryptoContext::~CryptoContext() {
  if (direct_ != nullptr) {
    free_mb_mgr(direct_);
  }
  if (burst_ != nullptr) {
    free_mb_mgr(burst_);
  }
}

const char* CryptoContext::arch_name() const {
  switch (direct_->used_arch) {
    case IMB_ARCH_NOAESNI:
      return "no-AESNI";
    case IMB_ARCH_SSE:
      return "SSE";
    case IMB_ARCH_AVX:
      return "AVX";
    case IMB_ARCH_AVX2:
      return "AVX2";
    case IMB_ARCH_AVX512:
      return "AVX512";
    default:
      return "unknown";
  }
}

void CryptoContext::fail_queued(size_t count) {
  for (size_t k = 0; k < count; ++k) {
    if (ops_[k].cipher->engine() == Engine::ipsec_mb_ccm_burst) {
      ops_[k].engine_failed = true;
    }
  }
}

static_assert(sizeof(gcm_context_data) <= 256 && sizeof(chacha20_poly1305_context_data) <= 256,
              "direct_scratch_ holds either engine context");

void CryptoContext::run(size_t count) {
  size_t queued = 0;
  size_t scratch_used = 0;
  for (size_t i = 0; i < count; ++i) {
    AeadOp& op = ops_[i];
    op.engine_failed = false;
    switch (op.cipher->engine()) {
      case Engine::ipsec_mb_ccm_burst:
        ++queued;
        break;
      case Engine::ipsec_mb_gcm_direct:
        run_gcm(direct_, op, static_cast<gcm_context_data*>(direct_scratch()));
        scratch_used = std::max(scratch_used, sizeof(gcm_context_data));
        break;
      case Engine::ipsec_mb_chacha_direct:
        run_chacha(direct_, op, static_cast<chacha20_poly1305_context_data*>(direct_scratch()));
        scratch_used = std::max(scratch_used, sizeof(chacha20_poly1305_context_data));
        break;
    }
  }
  if (scratch_used != 0) {
    // It holds keystream and hash state of the last record: wipe it once
    // per burst rather than once per record.
    OPENSSL_cleanse(direct_scratch_.data(), scratch_used);
  }
  if (queued == 0) {
    return;
  }
  // The burst manager is drained at the end of every call, so its queue is
  // empty here and hands out `queued` (<= 64) jobs at once.
  const uint32_t got = IMB_GET_NEXT_BURST(burst_, static_cast<uint32_t>(queued), jobs_.data());
  if (got < queued) [[unlikely]] {
    fail_queued(count);
    return;
  }
  // Every job field comes from the record layer, so IPsec-MB's per-job
  // validation (IMB_SUBMIT_BURST) would only re-check what is checked here
  // once: nonce 7..13 bytes and AAD at most 46 (record ops use 12 and 13;
  // only vector tests set others); tag 8 or 16 and plaintext at most 2^14
  // come from the suite and the record layer. It costs about 20 ns a job
  // at 64 bytes (bench/README.md), hence the NOCHECK call.
  size_t j = 0;
  for (size_t i = 0; i < count; ++i) {
    AeadOp& op = ops_[i];
    if (op.cipher->engine() != Engine::ipsec_mb_ccm_burst) {
      continue;
    }
    if (op.nonce_length < 7 || op.nonce_length > 13 || op.aad_length > 46) [[unlikely]] {
      op.engine_failed = true;
      continue;
    }
    fill_ccm_job(jobs_[j++], op);
  }
  uint32_t done = IMB_SUBMIT_BURST_NOCHECK(burst_, static_cast<uint32_t>(j), jobs_.data());
  if (done == 0 && j != 0 && imb_get_errno(burst_) != 0) [[unlikely]] {
    // An invalid job: IPsec-MB stops at jobs_[0]; fail them all.
    fail_queued(count);
    IMB_FLUSH_BURST(burst_, IMB_MAX_BURST_SIZE, jobs_.data());
    return;
  }
  for (uint32_t k = 0; k < done; ++k) {
    if (jobs_[k]->status != IMB_STATUS_COMPLETED) [[unlikely]] {
      static_cast<AeadOp*>(jobs_[k]->user_data)->engine_failed = true;
    }
  }
  while (done < j) {
    const uint32_t more = IMB_FLUSH_BURST(burst_, static_cast<uint32_t>(j - done), jobs_.data());
    if (more == 0) [[unlikely]] {
      break;
    }
    for (uint32_t k = 0; k < more; ++k) {
      if (jobs_[k]->status != IMB_STATUS_COMPLETED) [[unlikely]] {
        static_cast<AeadOp*>(jobs_[k]->user_data)->engine_failed = true;
      }
    }
    done += more;
  }
}

}  // namespace dtlsgw::record
