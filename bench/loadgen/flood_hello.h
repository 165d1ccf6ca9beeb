// The ClientHello flood's packets (dtlsgw-loadgen flood): one realistic
// cookieless ClientHello recorded from OpenSSL at start, rewritten per
// packet so that every one is a fresh attempt; spoofed sources the
// HelloVerifyRequests can be recognised by without keeping state; and the
// check that an answer is a HelloVerifyRequest carrying a cookie.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dataplane/net_types.h"

namespace dtlsgw::loadgen {

// The first flight of an OpenSSL 3.0 DTLS 1.2 client with its default
// cipher list and extensions: one datagram holding the cookieless
// ClientHello (RFC 6347 §4.2.1). Empty, with `error` set, on failure.
std::vector<uint8_t> record_openssl_client_hello(std::string& error);

// A recorded ClientHello whose random and record sequence number are
// rewritten per packet. The rest (suites, extensions) is what the client
// sent, so the gateway parses and MACs exactly what a real one costs.
class ClientHelloTemplate {
 public:
  // False, with `error` set, unless `hello` is a cookieless ClientHello
  // that the gateway's parser (handshake/client_hello.h) accepts.
  bool init(std::vector<uint8_t> hello, std::string& error);
  size_t size() const { return hello_.size(); }
  // Writes the ClientHello into out[0 .. size()) with `random` as its
  // Random's 32 bytes (RFC 5246 §7.4.1.2) and `sequence` as its record
  // sequence number (48 bits; the HelloVerifyRequest echoes it, §4.2.1).
  void write(uint8_t* out, const uint8_t random[32], uint64_t sequence) const;

 private:
  std::vector<uint8_t> hello_;
  size_t random_offset_ = 0;
};

// A source address and port that look random, but whose port is a keyed
// function of the address: an answer addressed to one is recognised as
// answering one of our packets without a table of what was sent. Addresses
// are unicast, outside 0/8, 127/8 and 224/3.
struct SpoofedSource {
  dataplane::Ipv4 address;
  uint16_t port = 0;  // host order, 1024..65535
};
SpoofedSource spoofed_source(uint64_t random, uint64_t key);
bool is_spoofed_source(dataplane::Ipv4 address, uint16_t port, uint64_t key);

// splitmix64: the flood's per-packet randomness (not for secrets).
inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

enum class HelloVerifyResult : uint8_t {
  ok,
  truncated,         // shorter than its headers or length fields
  not_handshake,     // record type is not handshake (22)
  not_epoch_zero,    // HelloVerifyRequests travel in epoch 0
  not_hello_verify,  // handshake type is not hello_verify_request (3)
  fragmented,        // not the whole message in one fragment
  bad_length,        // the lengths disagree with each other
  no_cookie,         // an empty cookie: nothing to retry with
};

struct HelloVerifyRequest {
  uint64_t record_sequence = 0;
  uint16_t server_version = 0;
  std::span<const uint8_t> cookie;
};

// Parses the first record of `datagram` as a HelloVerifyRequest
// (RFC 6347 §4.2.1: struct { ProtocolVersion server_version;
// opaque cookie<0..2^8-1>; } HelloVerifyRequest;).
HelloVerifyResult parse_hello_verify_request(std::span<const uint8_t> datagram,
                                             HelloVerifyRequest& out);

}  // namespace dtlsgw::loadgen
