// libFuzzer harness: the stateless ClientHello parser and the
// HelloVerifyRequest builder (RFC 6347 §4.2.1), which the dataplane runs on
// every epoch-0 datagram from anyone.
//
// Properties:
//  - the parser reads only inside the input and every view it returns lies
//    within the ClientHello's record;
//  - the reply is never longer than the request's record (amplification at
//    most 1) and is exactly kHelloVerifyRequestLength when built;
//  - a cookie the maker builds for a parsed hello verifies for the same
//    peer and fails for another port;
//  - verifying whatever cookie the input carries never crashes and never
//    says ok (the fuzzer cannot forge a 128-bit MAC).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

#include "handshake/client_hello.h"
#include "handshake/cookie.h"

namespace dtlsgw::handshake {
namespace {

bool inside(std::span<const uint8_t> part, const uint8_t* begin, size_t size) {
  return part.empty() || (part.data() >= begin && part.data() + part.size() <= begin + size);
}

CookieMaker& maker() {
  static std::unique_ptr<CookieMaker> m = [] {
    auto made = CookieMaker::create();
    CookieSecrets s;
    s.has_current = true;
    s.current.generation = 7;
    std::memset(s.current.key, 0x42, sizeof(s.current.key));
    made->set_secrets(s);
    return made;
  }();
  return *m;
}

}  // namespace
}  // namespace dtlsgw::handshake

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dtlsgw::handshake;
  ClientHello ch;
  if (parse_client_hello({data, size}, ch) != ClientHelloResult::ok) {
    return 0;
  }
  if (ch.record_length > size || ch.random.size() != kRandomLength ||
      !inside(ch.random, data, ch.record_length) ||
      !inside(ch.session_id, data, ch.record_length) ||
      !inside(ch.cookie, data, ch.record_length) ||
      !inside(ch.cipher_suites, data, ch.record_length) ||
      !inside(ch.compression_methods, data, ch.record_length) || ch.session_id.size() > 32 ||
      ch.cipher_suites.size() < 2 || ch.compression_methods.empty()) {
    __builtin_trap();
  }
  const uint8_t addr[4] = {198, 51, 100, 1};
  const PeerAddress peer = PeerAddress::v4(addr, 5684);
  uint8_t reply[256];
  const size_t n = maker().build_hello_verify_request(peer, ch, reply);
  if (n != 0 && (n > ch.record_length || n != CookieMaker::kHelloVerifyRequestLength)) {
    __builtin_trap();
  }
  if (n == 0 && ch.record_length >= CookieMaker::kHelloVerifyRequestLength) {
    __builtin_trap();  // a big enough request always gets its answer
  }
  if (maker().verify_cookie(peer, ch) == CookieCheck::ok) {
    __builtin_trap();
  }
  uint8_t cookie[kCookieLength];
  if (!maker().make_cookie(peer, ch, cookie)) {
    __builtin_trap();
  }
  ClientHello echoed = ch;
  echoed.cookie = cookie;
  if (maker().verify_cookie(peer, echoed) != CookieCheck::ok ||
      maker().verify_cookie(PeerAddress::v4(addr, 5685), echoed) != CookieCheck::mismatch) {
    __builtin_trap();
  }
  return 0;
}
