#include "tests/vectors/known_answer.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace dtlsgw::record::vectors {

namespace {

// Bytes after the data the engine must leave alone: sealing and opening
// work in place on exactly `length` bytes.
constexpr size_t kGuardBytes = 32;
constexpr uint8_t kGuard = 0xa5;
// What the tag buffer holds before the engine runs, so a tag that was never
// written cannot match by accident of a zeroed buffer.
constexpr uint8_t kUnwrittenTag = 0x5a;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

[[noreturn]] void bad_vector(std::string_view text, const char* why) {
  std::fprintf(stderr, "malformed vector hex (%s): %.*s\n", why, static_cast<int>(text.size()),
               text.data());
  std::abort();
}

}  // namespace

Bytes from_hex(std::string_view text) {
  Bytes out;
  int high = -1;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == ':') {
      if (high >= 0) {
        bad_vector(text, "separator inside a byte");
      }
      continue;
    }
    const int d = hex_digit(c);
    if (d < 0) {
      bad_vector(text, "not a hex digit");
    }
    if (high < 0) {
      high = d;
    } else {
      out.push_back(static_cast<uint8_t>(high << 4 | d));
      high = -1;
    }
  }
  if (high >= 0) {
    bad_vector(text, "odd number of digits");
  }
  return out;
}

std::string to_hex(const Bytes& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 0xf]);
  }
  return s;
}

std::unique_ptr<RecordCipher> keyed_cipher(CryptoContext& ctx, const KnownAnswer& v) {
  auto cipher = std::make_unique<RecordCipher>();
  const Bytes unused_fixed_iv(aead_params(v.aead).fixed_iv_length, 0);
  if (!cipher->init(ctx, v.aead, v.key, unused_fixed_iv)) {
    ADD_FAILURE() << v.name << ": RecordCipher::init refused a " << v.key.size() << "-byte key for "
                  << to_string(v.aead);
    return nullptr;
  }
  return cipher;
}

void fill_op(AeadOp& op, const RecordCipher& cipher, bool encrypt, const KnownAnswer& v,
             const Bytes& aad, Bytes& buffer) {
  op = AeadOp{};
  op.cipher = &cipher;
  op.encrypt = encrypt;
  op.nonce_length = static_cast<uint8_t>(v.nonce.size());
  std::copy(v.nonce.begin(), v.nonce.end(), op.nonce);
  op.aad = aad.data();
  op.aad_length = aad.size();
  op.data = buffer.data();
  op.length = v.plaintext.size();
  std::fill(std::begin(op.tag), std::end(op.tag), kUnwrittenTag);
}

EngineOutput run_one(CryptoContext& ctx, const RecordCipher& cipher, bool encrypt,
                     const KnownAnswer& v, const Bytes& input, const Bytes& aad) {
  Bytes buffer(input);
  buffer.resize(input.size() + kGuardBytes, kGuard);
  AeadOp& op = ctx.ops()[0];
  fill_op(op, cipher, encrypt, v, aad, buffer);
  ctx.run(1);

  EngineOutput out;
  out.engine_failed = op.engine_failed;
  out.data.assign(buffer.begin(), buffer.begin() + static_cast<long>(input.size()));
  out.tag.assign(op.tag, op.tag + cipher.params().tag_length);
  const bool guard_intact = std::all_of(buffer.begin() + static_cast<long>(input.size()),
                                        buffer.end(), [](uint8_t b) { return b == kGuard; });
  EXPECT_TRUE(guard_intact) << v.name << ": the engine wrote past the " << input.size()
                            << " bytes it was given";
  return out;
}

void PublishedVector::SetUp() {
  const KnownAnswer& v = GetParam();
  const AeadParams& p = aead_params(v.aead);
  // A table entry that does not fit its suite is a transcription error.
  ASSERT_EQ(v.key.size(), p.key_length) << v.name;
  ASSERT_EQ(v.tag.size(), p.tag_length) << v.name;
  ASSERT_EQ(v.ciphertext.size(), v.plaintext.size()) << v.name;
  ASSERT_LE(v.nonce.size(), sizeof(AeadOp::nonce)) << v.name;
  ctx_ = CryptoContext::create();
  ASSERT_NE(ctx_, nullptr) << "IPsec-MB cannot run on this CPU";
  cipher_ = keyed_cipher(*ctx_, v);
  ASSERT_NE(cipher_, nullptr);
}

}  // namespace dtlsgw::record::vectors
