// Shared helpers for the record-layer tests: deterministic keys and a
// sealed record built in a vector.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "dtls_record/record_protection.h"

namespace dtlsgw::record::testing {

inline std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i] = static_cast<uint8_t>(seed + 31 * i);
  }
  return v;
}

inline std::unique_ptr<CryptoContext> make_context() {
  auto ctx = CryptoContext::create();
  if (!ctx) {
    abort();
  }
  return ctx;
}

// A write and a read epoch sharing one key, as the two ends of one
// direction of a session.
struct KeyPair {
  WriteEpoch write;
  ReadEpoch read;
  explicit KeyPair(CryptoContext& ctx, Aead aead, uint16_t epoch = 1, uint32_t window = 64,
                   uint64_t first_sequence = 0)
      : read(window) {
    const AeadParams& p = aead_params(aead);
    const auto key = pattern(p.key_length, 0x11);
    const auto iv = pattern(p.fixed_iv_length, 0x77);
    if (!write.install(ctx, Epoch{epoch}, aead, key, iv, first_sequence) ||
        !read.install(ctx, Epoch{epoch}, aead, key, iv)) {
      abort();
    }
  }
};

// Seals `plaintext` as one record and returns the record bytes.
inline std::vector<uint8_t> seal(CryptoContext& ctx, WriteEpoch& w,
                                 const std::vector<uint8_t>& plaintext,
                                 ContentType type = ContentType::application_data) {
  std::vector<uint8_t> buf(w.seal_prefix() + plaintext.size() + w.tag_length());
  std::copy(plaintext.begin(), plaintext.end(), buf.begin() + static_cast<long>(w.seal_prefix()));
  size_t len = 0;
  if (seal_record(ctx, w, type, buf, plaintext.size(), len) != SealResult::ok) {
    abort();
  }
  buf.resize(len);
  return buf;
}

inline RecordView view_of(std::vector<uint8_t>& record) {
  RecordWalker walker(record);
  RecordView v;
  if (!walker.next(v)) {
    abort();
  }
  return v;
}

}  // namespace dtlsgw::record::testing
