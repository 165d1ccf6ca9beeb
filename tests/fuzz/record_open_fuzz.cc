// libFuzzer harness: opening DTLS 1.2 AEAD records (RFC 6347 §4.1.2,
// RFC 5246 §6.2.3.3) as the dataplane does: walk a datagram, open every
// record in one open_burst on a ReadEpoch.
//
// The first input byte (fuzz_keys.h) picks the AEAD, the replay window and
// the mode:
//  - raw datagram: the rest of the input is the datagram. Random bytes
//    almost never authenticate, so the seed corpus holds records sealed
//    under the harness's fixed keys, and mutations start from those.
//  - seal then mutate: the rest of the input says which records to seal
//    (content types, plaintext lengths, gaps in the numbering), how the network
//    reorders, duplicates or loses them, and which bytes it then damages.
//
// Properties, whatever the bytes:
//  - nothing crashes or reads outside the datagram (ASan; the datagram is
//    an exactly sized heap copy of the input);
//  - a record that opens `ok` has its plaintext in place inside its own
//    fragment, and sealing that plaintext again under the same key and
//    record number gives back byte for byte the record that was received:
//    nothing but a record this key sealed authenticates;
//  - a refusal leaves nothing behind: `auth_failed` zeroes the would-be
//    plaintext (DESIGN.md), and refusals decided before the AEAD leave the
//    record untouched; the header, explicit nonce and tag are never written;
//  - each result is one the record's header allows (a wrong version is
//    `malformed`, a wrong epoch `unknown_epoch`), and the epoch's counters
//    add up.
// When no byte was damaged, also: a record opens exactly when a reference
// replay model (committed set plus highest number, RFC 6347 §4.1.2.6)
// calls it fresh, with the plaintext it was sealed with; every other copy
// is `replay` or `too_old`.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "dtls_record/record_protection.h"
#include "tests/fuzz/fuzz_keys.h"

namespace dtlsgw::record::fuzz {
namespace {

constexpr uint64_t kTop = RecordNumber::kMaxSequence;

constexpr std::array<ContentType, 4> kContentTypes = {ContentType::change_cipher_spec,
                                                      ContentType::alert, ContentType::handshake,
                                                      ContentType::application_data};

CryptoContext& crypto() {
  static const std::unique_ptr<CryptoContext> ctx = CryptoContext::create();
  FUZZ_CHECK(ctx != nullptr);
  return *ctx;
}

struct KeyMaterial {
  std::vector<uint8_t> key;
  std::vector<uint8_t> iv;
};

const KeyMaterial& keys_of(Aead aead) {
  static const std::array<KeyMaterial, kAeadCount> keys = [] {
    std::array<KeyMaterial, kAeadCount> k;
    for (size_t i = 0; i < kAeadCount; ++i) {
      k[i] = {fuzz_key(static_cast<Aead>(i)), fuzz_fixed_iv(static_cast<Aead>(i))};
    }
    return k;
  }();
  return keys[static_cast<size_t>(aead)];
}

bool all_zero(std::span<const uint8_t> s) {
  return std::all_of(s.begin(), s.end(), [](uint8_t b) { return b == 0; });
}

bool same_bytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// Seals `plaintext` as the record numbered `sequence` and returns the
// record's bytes.
std::vector<uint8_t> seal_at(Aead aead, ContentType type, uint64_t sequence,
                             std::span<const uint8_t> plaintext) {
  const KeyMaterial& k = keys_of(aead);
  WriteEpoch w;
  FUZZ_CHECK(w.install(crypto(), kFuzzEpoch, aead, k.key, k.iv, sequence));
  std::vector<uint8_t> buf(w.seal_prefix() + plaintext.size() + w.tag_length());
  std::copy(plaintext.begin(), plaintext.end(), buf.begin() + static_cast<long>(w.seal_prefix()));
  size_t length = 0;
  FUZZ_CHECK(seal_record(crypto(), w, type, buf, plaintext.size(), length) == SealResult::ok);
  FUZZ_CHECK(length == buf.size());
  return buf;
}

struct Opened {
  std::vector<OpenRequest> requests;
  std::vector<uint8_t> original;  // the datagram before opening
  // Where each request's record starts in the datagram.
  std::vector<size_t> offsets;

  std::span<const uint8_t> original_record(size_t i) const {
    return std::span<const uint8_t>(original).subspan(offsets[i], requests[i].record.record.size());
  }
};

// Walks `datagram`, opens all its records in one burst, and checks every
// property that holds whatever the bytes were.
Opened open_and_check(Aead aead, uint32_t window_bits, std::vector<uint8_t>& datagram) {
  const KeyMaterial& k = keys_of(aead);
  const AeadParams& p = aead_params(aead);
  Opened o;
  o.original = datagram;
  ReadEpoch read(window_bits);
  FUZZ_CHECK(read.install(crypto(), kFuzzEpoch, aead, k.key, k.iv));

  RecordWalker walker(datagram);
  RecordView v;
  while (walker.next(v)) {
    OpenRequest r;
    r.epoch = &read;
    r.record = v;
    o.offsets.push_back(static_cast<size_t>(v.record.data() - datagram.data()));
    o.requests.push_back(r);
  }
  const size_t walked = datagram.size() - walker.remaining();

  const size_t opened = open_burst(crypto(), o.requests);

  size_t ok = 0;
  size_t forged = 0;
  for (size_t i = 0; i < o.requests.size(); ++i) {
    const OpenRequest& r = o.requests[i];
    const RecordHeader& h = r.record.header;
    const std::span<const uint8_t> before = o.original_record(i);
    const std::span<const uint8_t> now = r.record.record;
    const std::span<const uint8_t> fragment = r.record.fragment;
    const bool well_sized =
        fragment.size() >= p.explicit_nonce_length + p.tag_length &&
        fragment.size() - p.explicit_nonce_length - p.tag_length <= kMaxPlaintextLength;
    const size_t body_length = well_sized ? fragment.size() - record_expansion(aead) : 0;
    FUZZ_CHECK(to_string(r.result) != "invalid");

    // What the header alone decides.
    if (h.version != ProtocolVersion::dtls12) {
      FUZZ_CHECK(r.result == OpenResult::malformed);
    } else if (h.number.epoch() != kFuzzEpoch) {
      FUZZ_CHECK(r.result == OpenResult::unknown_epoch);
    } else if (!well_sized) {
      FUZZ_CHECK(r.result == OpenResult::malformed || r.result == OpenResult::replay ||
                 r.result == OpenResult::too_old);
    }

    if (well_sized) {
      // The AEAD writes only between the explicit nonce and the tag.
      const size_t body = kRecordHeaderLength + p.explicit_nonce_length;
      FUZZ_CHECK(same_bytes(now.first(body), before.first(body)));
      FUZZ_CHECK(same_bytes(now.subspan(body + body_length), before.subspan(body + body_length)));
    }

    switch (r.result) {
      case OpenResult::ok: {
        ++ok;
        FUZZ_CHECK(well_sized);
        FUZZ_CHECK(r.number == h.number);
        FUZZ_CHECK(r.type == h.type);
        // In place, inside this record's fragment, hence inside the input.
        FUZZ_CHECK(r.plaintext.data() == r.record.fragment.data() + p.explicit_nonce_length);
        FUZZ_CHECK(r.plaintext.size() == body_length);
        FUZZ_CHECK(reinterpret_cast<uintptr_t>(r.plaintext.data()) >=
                   reinterpret_cast<uintptr_t>(datagram.data()));
        FUZZ_CHECK(reinterpret_cast<uintptr_t>(r.plaintext.data() + r.plaintext.size()) <=
                   reinterpret_cast<uintptr_t>(datagram.data() + datagram.size()));
        // Only what this key would have sealed authenticates.
        const auto again = seal_at(aead, r.type, r.number.sequence(), r.plaintext);
        FUZZ_CHECK(same_bytes(again, before));
        break;
      }
      case OpenResult::auth_failed: {
        ++forged;
        FUZZ_CHECK(well_sized);
        // No unauthenticated plaintext is left behind.
        FUZZ_CHECK(all_zero(fragment.subspan(p.explicit_nonce_length, body_length)));
        break;
      }
      case OpenResult::malformed:
      case OpenResult::unknown_epoch:
        // Refused before the AEAD ran: not a byte changed.
        FUZZ_CHECK(same_bytes(now, before));
        break;
      case OpenResult::replay:
      case OpenResult::too_old:
        // Refused by the pre-check (untouched) or by the commit after the
        // tag verified (then the body holds the authentic plaintext).
        FUZZ_CHECK(h.version == ProtocolVersion::dtls12 && h.number.epoch() == kFuzzEpoch);
        break;
      case OpenResult::engine_error:
        FUZZ_CHECK(false);  // IPsec-MB never refuses a well-formed job
        break;
      case OpenResult::too_short_to_mask:
      case OpenResult::unknown_connection_id:
      case OpenResult::no_content_type:
        FUZZ_CHECK(false);  // DTLS 1.3 and CID reasons: never from a 1.2 record
        break;
    }
  }
  FUZZ_CHECK(opened == ok);
  FUZZ_CHECK(read.records_opened() == ok);
  FUZZ_CHECK(read.forgeries() == forged);
  // Bytes the walk could not frame are never touched.
  FUZZ_CHECK(same_bytes(std::span<const uint8_t>(datagram).subspan(walked),
                        std::span<const uint8_t>(o.original).subspan(walked)));
  return o;
}

// RFC 6347 §4.1.2.6, the plainest way: committed numbers and the highest.
class ReplayModel {
 public:
  explicit ReplayModel(uint64_t bits) : bits_(bits) {}
  // True (and remembered) when `s` is fresh.
  bool commit(uint64_t s) {
    if (highest_ && s <= *highest_ && (*highest_ - s >= bits_ || seen_.count(s) != 0)) {
      return false;
    }
    seen_.insert(s);
    highest_ = std::max(s, highest_.value_or(0));
    return true;
  }

 private:
  uint64_t bits_;
  std::set<uint64_t> seen_;
  std::optional<uint64_t> highest_;
};

struct SealedRecord {
  ContentType type = ContentType::application_data;
  uint64_t sequence = 0;
  std::vector<uint8_t> plaintext;
  std::vector<uint8_t> bytes;
};

void seal_then_mutate(const Selector& sel, FuzzedDataProvider& in) {
  // The sender: numbers from a fuzzer-chosen start, sometimes skipping
  // ahead (records lost in transit, or sent to someone else).
  uint64_t next = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint64_t>(0, 1000)
                                   : in.ConsumeIntegralInRange<uint64_t>(0, kTop);
  const size_t count = in.ConsumeIntegralInRange<size_t>(1, 80);
  std::vector<SealedRecord> sealed;
  for (size_t i = 0; i < count && next <= kTop; ++i) {
    if (in.ConsumeIntegralInRange<int>(0, 3) == 0) {
      const uint64_t gap = in.ConsumeIntegralInRange<uint64_t>(1, 3 * sel.window_bits);
      next = next > kTop - gap ? kTop : next + gap;
    }
    SealedRecord s;
    s.type = kContentTypes[in.ConsumeIntegralInRange<size_t>(0, kContentTypes.size() - 1)];
    s.sequence = next++;
    // The AEAD does not care what the plaintext says; generating it keeps
    // the input's bytes for the structure (FuzzedDataProvider hands out
    // bytes from the front and integers from the back, and a plaintext
    // read from the input would soon eat both).
    const size_t length = in.ConsumeIntegralInRange<size_t>(0, in.ConsumeBool() ? 48 : 1500);
    const uint8_t fill = in.ConsumeIntegral<uint8_t>();
    s.plaintext.resize(length);
    for (size_t b = 0; b < length; ++b) {
      s.plaintext[b] = static_cast<uint8_t>(fill + 131 * b);
    }
    s.bytes = seal_at(sel.aead, s.type, s.sequence, s.plaintext);
    FUZZ_CHECK(s.bytes.size() ==
               kRecordHeaderLength + s.plaintext.size() + record_expansion(sel.aead));
    sealed.push_back(std::move(s));
  }

  // The network: reorders, duplicates, loses.
  std::vector<size_t> order(sealed.size());
  std::iota(order.begin(), order.end(), size_t{0});
  const int moves = in.ConsumeIntegralInRange<int>(0, 8);
  for (int m = 0; m < moves && !order.empty(); ++m) {
    const int kind = in.ConsumeIntegralInRange<int>(0, 3);
    const size_t i = in.ConsumeIntegralInRange<size_t>(0, order.size() - 1);
    const size_t j = in.ConsumeIntegralInRange<size_t>(0, order.size() - 1);
    if (kind == 0) {
      std::swap(order[i], order[j]);
    } else if (kind == 1) {
      order.insert(order.begin() + static_cast<long>(j), order[i]);
    } else if (kind == 2) {
      order.erase(order.begin() + static_cast<long>(i));
    } else {
      std::reverse(order.begin(), order.end());
    }
  }
  std::vector<uint8_t> datagram;
  for (size_t idx : order) {
    datagram.insert(datagram.end(), sealed[idx].bytes.begin(), sealed[idx].bytes.end());
  }

  // And sometimes damages bytes.
  const std::vector<uint8_t> pristine = datagram;
  const int edits = in.ConsumeIntegralInRange<int>(0, 3);
  for (int e = 0; e < edits && !datagram.empty(); ++e) {
    const int kind = in.ConsumeIntegralInRange<int>(0, 3);
    const size_t pos = in.ConsumeIntegralInRange<size_t>(0, datagram.size() - 1);
    const uint8_t value = in.ConsumeIntegral<uint8_t>();
    if (kind == 0) {
      datagram[pos] ^= value;
    } else if (kind == 1) {
      datagram[pos] = value;
    } else if (kind == 2) {
      datagram.resize(pos);
    } else {
      datagram.insert(datagram.begin() + static_cast<long>(pos), value);
    }
  }
  const bool damaged = datagram != pristine;
  // Exactly sized for ASan.
  datagram.shrink_to_fit();

  const Opened o = open_and_check(sel.aead, sel.window_bits, datagram);

  if (damaged) {
    // What still opens is one of the records that were sent.
    for (size_t i = 0; i < o.requests.size(); ++i) {
      if (o.requests[i].result != OpenResult::ok) {
        continue;
      }
      const auto rec = o.original_record(i);
      FUZZ_CHECK(std::any_of(sealed.begin(), sealed.end(),
                             [&](const SealedRecord& s) { return same_bytes(s.bytes, rec); }));
    }
    return;
  }
  FUZZ_CHECK(o.requests.size() == order.size());
  ReplayModel model(sel.window_bits);
  for (size_t k = 0; k < order.size(); ++k) {
    const SealedRecord& s = sealed[order[k]];
    const OpenRequest& r = o.requests[k];
    FUZZ_CHECK(r.record.header.number.sequence() == s.sequence);
    if (model.commit(s.sequence)) {
      FUZZ_CHECK(r.result == OpenResult::ok);
      FUZZ_CHECK(r.type == s.type);
      FUZZ_CHECK(same_bytes(r.plaintext, s.plaintext));
    } else {
      FUZZ_CHECK(r.result == OpenResult::replay || r.result == OpenResult::too_old);
    }
  }
}

void run(const uint8_t* data, size_t size) {
  if (size == 0) {
    return;
  }
  const Selector sel = decode_selector(data[0]);
  if (sel.mode == OpenMode::raw_datagram) {
    std::vector<uint8_t> datagram(data + 1, data + size);
    open_and_check(sel.aead, sel.window_bits, datagram);
  } else {
    FuzzedDataProvider in(data + 1, size - 1);
    seal_then_mutate(sel, in);
  }
}

}  // namespace
}  // namespace dtlsgw::record::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dtlsgw::record::fuzz::run(data, size);
  return 0;
}
