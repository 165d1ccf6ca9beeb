// The two passes around one crypto batch, shared by every format's open
// and seal bursts (the VPP shape): pass 1 prepares every request the batch
// will take, the engine runs them together, pass 2 finishes each. Chunks
// of kMaxBurst. Internal to dtls_record.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "dtls_record/crypto_context.h"

namespace dtlsgw::record {

template <typename Pass, typename Request, typename Result>
size_t run_in_batches(CryptoContext& ctx, std::span<Request> requests, Result ok_value) {
  size_t ok = 0;
  auto& ops = ctx.ops();
  uint8_t slot[kMaxBurst];
  for (size_t base = 0; base < requests.size(); base += kMaxBurst) {
    const size_t n = std::min(kMaxBurst, requests.size() - base);
    size_t queued = 0;
    for (size_t i = 0; i < n; ++i) {
      if (Pass::prepare(requests[base + i], ops[queued])) {
        slot[queued++] = static_cast<uint8_t>(i);
      }
    }
    ctx.run(queued);
    for (size_t k = 0; k < queued; ++k) {
      Request& r = requests[base + slot[k]];
      Pass::finish(r, ops[k]);
      if constexpr (requires { r.result(); }) {
        ok += r.result() == ok_value;  // the mixed-format requests
      } else {
        ok += r.result == ok_value;
      }
    }
  }
  return ok;
}

}  // namespace dtlsgw::record
