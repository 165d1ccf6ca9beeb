#include "bench/loadgen/flood_hello.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstring>

#include "dtls_record/record_header.h"
#include "dtls_record/wire.h"
#include "handshake/client_hello.h"
#include "handshake/datagram_bio.h"

namespace dtlsgw::loadgen {

namespace wire = record::wire;

namespace {

constexpr uint8_t kContentHandshake = 22;
constexpr uint8_t kHelloVerifyRequestType = 3;

std::string openssl_error() {
  char buf[256];
  const unsigned long e = ERR_get_error();
  if (e == 0) {
    return "no OpenSSL error";
  }
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

// A murmur-style finaliser: the keyed port of an address.
uint16_t keyed_port(uint32_t address_be, uint64_t key) {
  uint64_t z = (static_cast<uint64_t>(address_be) ^ key) * 0xff51afd7ed558ccdULL;
  z ^= z >> 33;
  z *= 0xc4ceb9fe1a85ec53ULL;
  z ^= z >> 33;
  return static_cast<uint16_t>(1024 + z % (65536 - 1024));
}

}  // namespace

std::vector<uint8_t> record_openssl_client_hello(std::string& error) {
  SSL_CTX* ctx = SSL_CTX_new(DTLS_client_method());
  if (ctx == nullptr || !SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION)) {
    error = "client context: " + openssl_error();
    SSL_CTX_free(ctx);
    return {};
  }
  // The link must outlive the BIO, which the SSL frees.
  handshake::DatagramLink link;
  const uint8_t server[4] = {192, 0, 2, 1};
  link.peer = handshake::PeerAddress::v4(server, 4433);
  SSL* ssl = SSL_new(ctx);
  BIO* bio = ssl == nullptr ? nullptr : handshake::new_datagram_bio(link);
  std::vector<uint8_t> hello;
  if (bio == nullptr) {
    error = "client SSL: " + openssl_error();
  } else {
    SSL_set_bio(ssl, bio, bio);
    SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
    SSL_set_mtu(ssl, 1200);
    SSL_set_connect_state(ssl);
    if (SSL_do_handshake(ssl) == 1 || link.outbound.empty()) {
      error = "OpenSSL wrote no ClientHello: " + openssl_error();
    } else {
      hello = std::move(link.outbound.front());
    }
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return hello;
}

bool ClientHelloTemplate::init(std::vector<uint8_t> hello, std::string& error) {
  handshake::ClientHello parsed;
  const handshake::ClientHelloResult r = handshake::parse_client_hello(hello, parsed);
  if (r != handshake::ClientHelloResult::ok) {
    error = "not a ClientHello the gateway accepts: " + std::string(to_string(r));
    return false;
  }
  if (!parsed.cookie.empty()) {
    error = "the ClientHello carries a cookie; the flood sends cookieless ones";
    return false;
  }
  if (parsed.record_length != hello.size()) {
    error = "the datagram holds more than the ClientHello record";
    return false;
  }
  random_offset_ = static_cast<size_t>(parsed.random.data() - hello.data());
  hello_ = std::move(hello);
  return true;
}

void ClientHelloTemplate::write(uint8_t* out, const uint8_t random[32], uint64_t sequence) const {
  std::memcpy(out, hello_.data(), hello_.size());
  // Record header: type(1) version(2) epoch(2) sequence_number(6).
  wire::store_u48(out + 5, sequence & ((uint64_t{1} << 48) - 1));
  std::memcpy(out + random_offset_, random, handshake::kRandomLength);
}

SpoofedSource spoofed_source(uint64_t random, uint64_t key) {
  auto a = static_cast<uint32_t>(random);
  // First octet 1..223, not 127: unicast, routable-looking.
  uint32_t first = 1 + (a >> 24) % 223;
  if (first == 127) {
    first = 128;
  }
  a = (first << 24) | (a & 0x00ffffff);
  SpoofedSource s;
  s.address.be = __builtin_bswap32(a);
  s.port = keyed_port(s.address.be, key);
  return s;
}

bool is_spoofed_source(dataplane::Ipv4 address, uint16_t port, uint64_t key) {
  return port == keyed_port(address.be, key);
}

HelloVerifyResult parse_hello_verify_request(std::span<const uint8_t> d, HelloVerifyRequest& out) {
  constexpr size_t kRecord = record::kRecordHeaderLength;           // 13
  constexpr size_t kHandshake = handshake::kHandshakeHeaderLength;  // 12
  if (d.size() < kRecord) {
    return HelloVerifyResult::truncated;
  }
  if (d[0] != kContentHandshake) {
    return HelloVerifyResult::not_handshake;
  }
  if (wire::load_u16(d.data() + 3) != 0) {
    return HelloVerifyResult::not_epoch_zero;
  }
  const size_t record_length = wire::load_u16(d.data() + 11);
  if (d.size() < kRecord + record_length) {
    return HelloVerifyResult::truncated;
  }
  const std::span<const uint8_t> fragment = d.subspan(kRecord, record_length);
  if (fragment.size() < kHandshake) {
    return HelloVerifyResult::truncated;
  }
  if (fragment[0] != kHelloVerifyRequestType) {
    return HelloVerifyResult::not_hello_verify;
  }
  const auto u24 = [](const uint8_t* p) {
    return (static_cast<size_t>(p[0]) << 16) | (static_cast<size_t>(p[1]) << 8) | p[2];
  };
  const size_t length = u24(fragment.data() + 1);
  const size_t fragment_offset = u24(fragment.data() + 6);
  const size_t fragment_length = u24(fragment.data() + 9);
  if (fragment_offset != 0 || fragment_length != length) {
    return HelloVerifyResult::fragmented;
  }
  if (kHandshake + length != fragment.size() || length < 3) {
    return HelloVerifyResult::bad_length;
  }
  const uint8_t* body = fragment.data() + kHandshake;
  const size_t cookie_length = body[2];
  if (3 + cookie_length != length) {
    return HelloVerifyResult::bad_length;
  }
  if (cookie_length == 0) {
    return HelloVerifyResult::no_cookie;
  }
  out.record_sequence = wire::load_u48(d.data() + 5);
  out.server_version = wire::load_u16(body);
  out.cookie = {body + 3, cookie_length};
  return HelloVerifyResult::ok;
}

}  // namespace dtlsgw::loadgen
