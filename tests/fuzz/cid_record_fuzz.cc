// libFuzzer harness: the RFC 9146 tls12_cid record parser, then an open
// attempt under fixed keys (it must fail cleanly: no key is known to the
// input's author unless it came from the seed corpus).
//
// Input: the first byte picks the receiver's CID length (1..32), the rest
// is the datagram. Properties: reads stay inside the input; an accepted
// record's fields are its bytes (RFC 9146 §4) and its fragment lies within
// the datagram; opening never reports ok for a record whose tag is wrong,
// and a failure leaves the replay window as it was.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "dtls_record/cid_record.h"
#include "tests/fuzz/fuzz_keys.h"

namespace dtlsgw::record::fuzz {
namespace {

void check(const uint8_t* data, size_t size) {
  if (size == 0) {
    return;
  }
  const size_t cid_length = 1 + data[0] % 32;
  std::vector<uint8_t> datagram(data + 1, data + size);
  CidRecordView v;
  const HeaderResult r = parse_cid_record(datagram, cid_length, v);
  FUZZ_CHECK(to_string(r) != "invalid");
  if (r != HeaderResult::ok) {
    return;
  }
  FUZZ_CHECK(datagram[0] == kTls12CidContentType);
  FUZZ_CHECK(v.cid.size() == cid_length && v.cid.data() == datagram.data() + 11);
  FUZZ_CHECK(v.fragment.data() == datagram.data() + 13 + cid_length);
  FUZZ_CHECK(v.fragment.data() + v.fragment.size() <= datagram.data() + datagram.size());
  FUZZ_CHECK(v.record.size() == 13 + cid_length + v.fragment.size());

  static auto ctx = CryptoContext::create();
  static const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  static const uint8_t iv[4] = {0xa, 0xb, 0xc, 0xd};
  CidReadEpoch epoch;
  if (!epoch.install(*ctx, v.number.epoch(), Aead::aes128_gcm, key, iv, v.cid)) {
    return;
  }
  ContentType type{};
  std::span<uint8_t> plaintext;
  const OpenResult o = open_cid_record(*ctx, epoch, v, type, plaintext);
  if (o != OpenResult::ok) {
    FUZZ_CHECK(epoch.replay_window().next_expected() == 0);
  } else {
    FUZZ_CHECK(plaintext.data() >= datagram.data() &&
               plaintext.data() + plaintext.size() <= datagram.data() + datagram.size());
  }
}

}  // namespace
}  // namespace dtlsgw::record::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dtlsgw::record::fuzz::check(data, size);
  return 0;
}
