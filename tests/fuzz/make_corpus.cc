// Writes (or checks) the seed corpora of the fuzz harnesses:
//
//   make_corpus write DIR   regenerate DIR/<harness>/<seed> (the checked-in
//                           tests/fuzz/corpus; meson target `fuzz-corpus`)
//   make_corpus check DIR   exit 1 unless DIR holds exactly these seeds
//                           (a meson test: the corpus never drifts from
//                           the keys in fuzz_keys.h)
//
// Everything is deterministic: fixed keys, fixed record numbers, a fixed
// pseudo-random generator. The record_open_fuzz seeds are sealed with the
// real sealer under the harness's keys, and opened here once more, so the
// fuzzer starts from records that authenticate. The handshake_engine_fuzz
// seeds are real OpenSSL handshakes, made reproducible by replacing
// OpenSSL's random source and clock (handshake_seeds.cc, handshake_fuzz.h).
// The packet_fuzz seeds are frames written by the dataplane's own framing
// (right checksums), then edited into each refusal, each checked here to
// parse to the verdict its name gives.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/packet.h"
#include "dtls_record/cid_record.h"
#include "dtls_record/dtls13_header.h"
#include "dtls_record/dtls13_protection.h"
#include "dtls_record/record_protection.h"
#include "tests/fuzz/fuzz_keys.h"
#include "tests/fuzz/handshake_seeds.h"

namespace dtlsgw::record::fuzz {
namespace {

using Bytes = std::vector<uint8_t>;
// harness -> seed name -> contents
using Corpus = std::map<std::string, std::map<std::string, Bytes>>;

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "make_corpus: %s\n", why.c_str());
  std::exit(2);
}

// splitmix64: the same bytes on every machine.
class Prng {
 public:
  explicit Prng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }
  Bytes bytes(size_t n) {
    Bytes b(n);
    for (auto& x : b) {
      x = static_cast<uint8_t>(next());
    }
    return b;
  }

 private:
  uint64_t s_;
};

Bytes pattern(size_t n, uint8_t seed) {
  Bytes v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i] = static_cast<uint8_t>(seed + 29 * i);
  }
  return v;
}

Bytes header(ContentType type, uint16_t version, uint16_t epoch, uint64_t sequence,
             uint16_t length) {
  RecordHeader h;
  h.type = type;
  h.version = static_cast<ProtocolVersion>(version);
  h.number = RecordNumber(Epoch{epoch}, sequence);
  h.length = length;
  Bytes b(kRecordHeaderLength);
  write_record_header(h, b.data());
  return b;
}

// A record in the clear (epoch 0), as a handshake starts.
Bytes plain_record(ContentType type, uint16_t version, uint16_t epoch, uint64_t sequence,
                   const Bytes& fragment) {
  Bytes b = header(type, version, epoch, sequence, static_cast<uint16_t>(fragment.size()));
  b.insert(b.end(), fragment.begin(), fragment.end());
  return b;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) {
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

CryptoContext& crypto() {
  static const std::unique_ptr<CryptoContext> ctx = CryptoContext::create();
  if (!ctx) {
    die("IPsec-MB cannot run on this CPU");
  }
  return *ctx;
}

Bytes seal(Aead aead, uint64_t sequence, const Bytes& plaintext,
           ContentType type = ContentType::application_data, uint16_t epoch = kFuzzEpoch.value) {
  WriteEpoch w;
  if (!w.install(crypto(), Epoch{epoch}, aead, fuzz_key(aead), fuzz_fixed_iv(aead), sequence)) {
    die("install failed");
  }
  Bytes buf(w.seal_prefix() + plaintext.size() + w.tag_length());
  std::copy(plaintext.begin(), plaintext.end(), buf.begin() + static_cast<long>(w.seal_prefix()));
  size_t length = 0;
  if (seal_record(crypto(), w, type, buf, plaintext.size(), length) != SealResult::ok) {
    die("seal failed");
  }
  buf.resize(length);
  return buf;
}

// Opens `datagram` as record_open_fuzz does; the number of `ok` records.
size_t count_opened(Aead aead, uint32_t window_bits, Bytes datagram) {
  ReadEpoch read(window_bits);
  if (!read.install(crypto(), kFuzzEpoch, aead, fuzz_key(aead), fuzz_fixed_iv(aead))) {
    die("install failed");
  }
  std::vector<OpenRequest> reqs;
  RecordWalker walker(datagram);
  RecordView v;
  while (walker.next(v)) {
    OpenRequest r;
    r.epoch = &read;
    r.record = v;
    reqs.push_back(r);
  }
  return open_burst(crypto(), reqs);
}

std::string slug(Aead aead) {
  std::string s(to_string(aead));
  std::transform(s.begin(), s.end(), s.begin(), [](char c) {
    return c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return s;
}

void header_seeds(std::map<std::string, Bytes>& out) {
  using CT = ContentType;
  out["ok_appdata_empty"] = header(CT::application_data, 0xfefd, 1, 0, 0);
  out["ok_handshake_dtls10"] = plain_record(CT::handshake, 0xfeff, 0, 0, pattern(40, 1));
  out["ok_alert"] = plain_record(CT::alert, 0xfefd, 1, 7, {1, 0});
  out["ok_ccs"] = plain_record(CT::change_cipher_spec, 0xfefd, 0, 3, {1});
  out["ok_max_numbers"] =
      plain_record(CT::application_data, 0xfefd, 0xffff, RecordNumber::kMaxSequence, {});
  out["ok_trailing_bytes"] =
      cat({plain_record(CT::handshake, 0xfefd, 0, 1, pattern(5, 2)), pattern(9, 3)});
  Bytes truncated = header(CT::handshake, 0xfefd, 0, 0, 0);
  truncated.pop_back();
  out["bad_truncated_header"] = truncated;
  out["bad_type_19"] = header(static_cast<CT>(19), 0xfefd, 0, 0, 0);
  out["bad_type_24"] = header(static_cast<CT>(24), 0xfefd, 0, 0, 0);
  out["bad_version_tls12"] = header(CT::handshake, 0x0303, 0, 0, 0);
  out["bad_version_dtls13_legacy"] = header(CT::handshake, 0xfefc, 0, 0, 0);
  // RFC 5246 §6.2.3: at most 2^14 + 2048; one past it, and one that runs
  // past the datagram's end.
  out["bad_fragment_too_long"] = header(CT::application_data, 0xfefd, 1, 0, 18433);
  out["bad_length_overrun"] =
      cat({header(CT::application_data, 0xfefd, 1, 0, 100), pattern(99, 4)});
  out["ok_sealed_record"] = seal(Aead::aes128_gcm, 5, pattern(32, 5));
}

void walker_seeds(std::map<std::string, Bytes>& out) {
  using CT = ContentType;
  out["empty"] = {};
  out["one_record"] = plain_record(CT::handshake, 0xfeff, 0, 0, pattern(60, 1));
  // OpenSSL packs a flight into one datagram (DESIGN.md): ServerHello …
  // ServerHelloDone, and CCS + Finished.
  out["server_flight"] = cat({plain_record(CT::handshake, 0xfefd, 0, 1, pattern(70, 2)),
                              plain_record(CT::handshake, 0xfefd, 0, 2, pattern(300, 3)),
                              plain_record(CT::handshake, 0xfefd, 0, 3, pattern(12, 4)),
                              plain_record(CT::change_cipher_spec, 0xfefd, 0, 4, {1}),
                              seal(Aead::aes128_gcm, 0, pattern(12, 5), CT::handshake)});
  out["empty_fragments"] =
      cat({header(CT::alert, 0xfefd, 1, 1, 0), header(CT::alert, 0xfefd, 1, 2, 0),
           header(CT::alert, 0xfefd, 1, 3, 0)});
  out["records_then_garbage"] =
      cat({plain_record(CT::application_data, 0xfefd, 1, 9, pattern(20, 6)), pattern(30, 7)});
  Bytes partial = header(CT::handshake, 0xfefd, 0, 5, 10);
  partial.resize(8);
  out["records_then_partial_header"] =
      cat({plain_record(CT::handshake, 0xfefd, 0, 4, pattern(10, 8)), partial});
  out["records_then_overrun"] = cat({plain_record(CT::handshake, 0xfefd, 0, 4, pattern(10, 8)),
                                     header(CT::handshake, 0xfefd, 0, 5, 500), pattern(10, 9)});
  out["records_then_bad_version"] = cat({plain_record(CT::alert, 0xfefd, 1, 1, {1, 0}),
                                         plain_record(CT::alert, 0x0303, 1, 2, {1, 0})});
}

// Raw-mode seeds: the selector byte, then the datagram. `opens` is how
// many of its records must authenticate, checked here.
void add_raw(std::map<std::string, Bytes>& out, const std::string& name, Aead aead,
             size_t window_index, const Bytes& datagram, size_t opens) {
  const size_t got = count_opened(aead, kFuzzWindows[window_index], datagram);
  if (got != opens) {
    die(name + ": " + std::to_string(got) + " records opened, expected " + std::to_string(opens));
  }
  Bytes seed{encode_selector(OpenMode::raw_datagram, aead, window_index)};
  seed.insert(seed.end(), datagram.begin(), datagram.end());
  out[slug(aead) + "_raw_" + name] = std::move(seed);
}

void open_seeds(std::map<std::string, Bytes>& out) {
  Prng prng(0x647431736777);  // "dtlsgw"
  for (size_t a = 0; a < kAeadCount; ++a) {
    const Aead aead = static_cast<Aead>(a);
    using CT = ContentType;
    for (size_t size : {0u, 1u, 16u, 100u, 1400u}) {
      add_raw(out, "single_" + std::to_string(size), aead, 0,
              seal(aead, size, pattern(size, static_cast<uint8_t>(size))), 1);
    }
    // Every content type, in order, in one datagram.
    add_raw(
        out, "content_types", aead, 0,
        cat({seal(aead, 1, pattern(6, 1), CT::change_cipher_spec), seal(aead, 2, {1, 0}, CT::alert),
             seal(aead, 3, pattern(40, 2), CT::handshake), seal(aead, 4, pattern(90, 3))}),
        4);
    // Out of order and a duplicate: 3 of 4 open.
    add_raw(out, "reordered_duplicate", aead, 1,
            cat({seal(aead, 12, pattern(20, 4)), seal(aead, 10, pattern(21, 5)),
                 seal(aead, 12, pattern(20, 4)), seal(aead, 11, pattern(22, 6))}),
            3);
    // Left of a 64-bit window once 200 is in: 200 opens, 100 is too old.
    add_raw(out, "too_old", aead, 0,
            cat({seal(aead, 200, pattern(8, 7)), seal(aead, 100, pattern(8, 8))}), 1);
    // 70 records, more than one kMaxBurst, newest first, 128-bit window.
    {
      Bytes d;
      for (uint64_t s = 70; s-- > 0;) {
        const Bytes r = seal(aead, s, pattern(static_cast<size_t>(s % 7), static_cast<uint8_t>(s)));
        d.insert(d.end(), r.begin(), r.end());
      }
      add_raw(out, "burst_of_70_reversed", aead, 2, d, 70);
    }
    // The top of the sequence space.
    add_raw(out, "top_sequence", aead, 3,
            cat({seal(aead, RecordNumber::kMaxSequence - 1, pattern(10, 9)),
                 seal(aead, RecordNumber::kMaxSequence, pattern(10, 10))}),
            2);
    // Refusals: another epoch, DTLS 1.0 in the header, a fragment one byte
    // short of nonce + tag, a flipped tag bit; then one that opens.
    Bytes dtls10 = seal(aead, 30, pattern(10, 11));
    dtls10[2] = 0xff;
    Bytes forged = seal(aead, 31, pattern(10, 12));
    forged.back() ^= 0x01;
    add_raw(out, "refusals", aead, 0,
            cat({seal(aead, 29, pattern(10, 13), CT::application_data, 2), dtls10,
                 plain_record(CT::application_data, 0xfefd, 1, 32,
                              Bytes(record_expansion(aead) - 1, 0)),
                 forged, seal(aead, 33, pattern(10, 14))}),
            1);
    // Seal-then-mutate mode: instructions are read by FuzzedDataProvider,
    // so any bytes do; a few lengths and every window.
    for (size_t w = 0; w < kFuzzWindows.size(); ++w) {
      Bytes seed{encode_selector(OpenMode::seal_then_mutate, aead, w)};
      const Bytes body = prng.bytes(size_t{96} << w);
      seed.insert(seed.end(), body.begin(), body.end());
      out[slug(aead) + "_seal_" + std::to_string(kFuzzWindows[w])] = std::move(seed);
    }
  }
  // The largest plaintext (2^14) once, and one byte more (malformed).
  add_raw(out, "max_plaintext", Aead::aes128_gcm, 0,
          seal(Aead::aes128_gcm, 1, pattern(kMaxPlaintextLength, 1)), 1);
  add_raw(
      out, "plaintext_over_max", Aead::chacha20_poly1305, 0,
      plain_record(ContentType::application_data, 0xfefd, 1, 1,
                   Bytes(kMaxPlaintextLength + 1 + record_expansion(Aead::chacha20_poly1305), 0)),
      0);
}

void replay_seeds(std::map<std::string, Bytes>& out) {
  Prng prng(0x7265706c6179);  // "replay"
  for (size_t n : {16u, 64u, 256u, 1024u}) {
    out["random_" + std::to_string(n)] = prng.bytes(n);
  }
  out["zeros"] = Bytes(256, 0);
  out["ones"] = Bytes(256, 0xff);
  out["ascending"] = pattern(512, 0);
}

// A ClientHello body (RFC 6347 §4.2.1) with the given cookie and an
// extension block, wrapped in a whole, unfragmented handshake message.
Bytes client_hello(const Bytes& session_id, const Bytes& cookie, const Bytes& suites,
                   bool extensions) {
  Bytes body = {0xfe, 0xfd};
  const Bytes random = pattern(32, 0x31);
  body.insert(body.end(), random.begin(), random.end());
  body.push_back(static_cast<uint8_t>(session_id.size()));
  body.insert(body.end(), session_id.begin(), session_id.end());
  body.push_back(static_cast<uint8_t>(cookie.size()));
  body.insert(body.end(), cookie.begin(), cookie.end());
  body.push_back(static_cast<uint8_t>(suites.size() >> 8));
  body.push_back(static_cast<uint8_t>(suites.size()));
  body.insert(body.end(), suites.begin(), suites.end());
  body.push_back(1);
  body.push_back(0);
  if (extensions) {
    const Bytes ext = {0x00, 0x17, 0x00, 0x00, 0xff, 0x01, 0x00, 0x01, 0x00};
    body.push_back(0);
    body.push_back(static_cast<uint8_t>(ext.size()));
    body.insert(body.end(), ext.begin(), ext.end());
  }
  const auto n = static_cast<uint32_t>(body.size());
  Bytes hs = {1, 0, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n), 0, 0,
              0, 0, 0, 0, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
  hs.insert(hs.end(), body.begin(), body.end());
  return hs;
}

void client_hello_seeds(std::map<std::string, Bytes>& out) {
  const Bytes suites = {0xc0, 0x2b, 0xc0, 0x2c, 0xcc, 0xa9, 0xc0, 0xae, 0x00, 0xa8};
  out["cookieless"] = plain_record(ContentType::handshake, 0xfefd, 0, 0,
                                   client_hello({}, {}, suites, true));
  out["cookieless_dtls10_record"] = plain_record(ContentType::handshake, 0xfeff, 0, 3,
                                                 client_hello({}, {}, suites, false));
  out["with_cookie_and_session"] = plain_record(
      ContentType::handshake, 0xfefd, 0, 1, client_hello(pattern(32, 9), pattern(17, 7), suites,
                                                         true));
  Bytes fragmented = client_hello({}, {}, suites, true);
  fragmented[11] = static_cast<uint8_t>(fragmented[11] - 10);
  fragmented.resize(fragmented.size() - 10);
  out["fragmented"] = plain_record(ContentType::handshake, 0xfefd, 0, 0, fragmented);
}

namespace packet = dtlsgw::dataplane::packet;
using packet::FrameResult;

// One frame, its expected verdict checked before it becomes a seed.
void add_frame(std::map<std::string, Bytes>& out, const std::string& name, FrameResult expected,
               const Bytes& frame) {
  packet::Frame f;
  const FrameResult got = packet::parse_frame(frame, f);
  if (got != expected) {
    die("packet seed " + name + ": " + std::string(packet::to_string(got)) + ", expected " +
        std::string(packet::to_string(expected)));
  }
  out[name] = frame;
}

dtlsgw::dataplane::Ipv4 ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  const uint8_t bytes[4] = {a, b, c, d};
  dtlsgw::dataplane::Ipv4 v;
  std::memcpy(&v.be, bytes, 4);
  return v;
}

// A peer's DTLS datagram to the gateway (192.0.2.1:5684), UDP checksum set.
Bytes udp_frame(bool vlan, const Bytes& payload) {
  packet::UdpEndpoints e;
  e.source_mac = {{0x02, 0x00, 0x5e, 0x00, 0x53, 0x02}};
  e.destination_mac = {{0x02, 0x00, 0x5e, 0x00, 0x53, 0x01}};
  e.has_vlan = vlan;
  e.vlan_tci = vlan ? 0x0064 : 0;
  e.source = ipv4(198, 51, 100, 7);
  e.destination = ipv4(192, 0, 2, 1);
  e.source_port = 49152;
  e.destination_port = 5684;
  const size_t headers = packet::udp_headers_length(vlan);
  Bytes f(headers);
  f.insert(f.end(), payload.begin(), payload.end());
  packet::write_udp_headers(f.data(), e, payload.size(), 0x4d2);
  packet::set_udp_checksum(f.data() + headers - 28);
  return f;
}

void fix_ip_checksum(Bytes& f, size_t l3) {
  const size_t ihl = size_t{f[l3] & 0x0fu} * 4;
  f[l3 + 10] = f[l3 + 11] = 0;
  const auto c = static_cast<uint16_t>(~packet::internet_checksum(f.data() + l3, ihl));
  f[l3 + 10] = static_cast<uint8_t>(c >> 8);
  f[l3 + 11] = static_cast<uint8_t>(c);
}

// The same datagram from [2001:db8:1::7] to [2001:db8::1]:5684, UDP
// checksum set (mandatory over IPv6).
Bytes udp6_frame(bool vlan, const Bytes& payload) {
  packet::UdpEndpoints e;
  e.source_mac = {{0x02, 0x00, 0x5e, 0x00, 0x53, 0x02}};
  e.destination_mac = {{0x02, 0x00, 0x5e, 0x00, 0x53, 0x01}};
  e.has_vlan = vlan;
  e.vlan_tci = vlan ? 0x0064 : 0;
  e.set_addresses(*dtlsgw::dataplane::parse_ip_address("2001:db8:1::7"),
                  *dtlsgw::dataplane::parse_ip_address("2001:db8::1"));
  e.source_port = 49152;
  e.destination_port = 5684;
  const size_t headers = packet::udp_headers_length(e);
  Bytes f(headers);
  f.insert(f.end(), payload.begin(), payload.end());
  packet::write_udp_headers(f.data(), e, payload.size(), 0);
  packet::set_udp_checksum(f.data() + headers - 48);
  return f;
}

// Chains extension header `h` in right after the IPv6 header at 14.
Bytes ipv6_extension(Bytes f, uint8_t type, Bytes h) {
  h[0] = f[20];
  f[20] = type;
  f.insert(f.begin() + 54, h.begin(), h.end());
  const size_t length = size_t{f[18]} << 8 | f[19];
  f[18] = static_cast<uint8_t>((length + h.size()) >> 8);
  f[19] = static_cast<uint8_t>(length + h.size());
  return f;
}

// Sets byte `at` of the IPv4 header at 14 and keeps its checksum right.
Bytes ip_edit(Bytes f, size_t at, uint8_t value) {
  f[14 + at] = value;
  fix_ip_checksum(f, 14);
  return f;
}

void packet_seeds(std::map<std::string, Bytes>& out) {
  using R = FrameResult;
  const Bytes hello = client_hello({}, {}, {0xc0, 0xae, 0x00, 0xa8}, true);
  const Bytes dtls = plain_record(ContentType::handshake, 0xfefd, 0, 0, hello);
  const Bytes udp = udp_frame(false, dtls);
  add_frame(out, "udp_client_hello", R::udp, udp);
  add_frame(out, "udp_client_hello_vlan", R::udp, udp_frame(true, dtls));
  add_frame(out, "udp_empty", R::udp, udp_frame(false, {}));
  Bytes padded = udp_frame(false, {0x17, 0xfe, 0xfd});
  padded.resize(60, 0);
  add_frame(out, "udp_padded_to_60", R::udp, padded);
  // IHL 6: a Router Alert option (RFC 2113) before the UDP header.
  Bytes options = udp_frame(false, pattern(20, 1));
  const Bytes router_alert = {0x94, 0x04, 0x00, 0x00};
  options.insert(options.begin() + 34, router_alert.begin(), router_alert.end());
  options[14] = 0x46;
  options[17] = static_cast<uint8_t>(options[17] + 4);
  fix_ip_checksum(options, 14);
  add_frame(out, "udp_ip_options", R::udp, options);

  // Who has 192.0.2.1? Tell 198.51.100.7; untagged and padded, and tagged.
  const Bytes arp_body = {0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00,
                          0x5e, 0x00, 0x53, 0x02, 0xc6, 0x33, 0x64, 0x07, 0x00, 0x00,
                          0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01};
  const Bytes broadcast_from_peer = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0x02, 0x00, 0x5e, 0x00, 0x53, 0x02};
  Bytes arp = cat({broadcast_from_peer, {0x08, 0x06}, arp_body});
  arp.resize(60, 0);
  add_frame(out, "arp_request", R::arp, arp);
  add_frame(out, "arp_request_vlan", R::arp,
            cat({broadcast_from_peer, {0x81, 0x00, 0x00, 0x64, 0x08, 0x06}, arp_body}));
  {
    std::vector<uint8_t> reply(64);
    const dtlsgw::dataplane::MacAddress our_mac{{0x02, 0x00, 0x5e, 0x00, 0x53, 0x01}};
    packet::Frame request;
    packet::parse_frame(arp, request);
    reply.resize(packet::write_arp_reply(reply, request, our_mac, ipv4(192, 0, 2, 1)));
    add_frame(out, "arp_reply", R::arp, reply);
  }
  Bytes bad_arp = arp;
  bad_arp[16] = 0x86;  // ptype IPv6
  bad_arp[17] = 0xdd;
  add_frame(out, "bad_arp_ptype", R::bad_arp, bad_arp);
  add_frame(out, "truncated_arp", R::truncated, Bytes(arp.begin(), arp.begin() + 41));

  Bytes ipv6 = udp;
  ipv6[12] = 0x86;
  ipv6[13] = 0xdd;
  add_frame(out, "bad_ip_header_ipv4_in_ipv6", R::bad_ip_header, ipv6);
  Bytes lldp = udp;
  lldp[12] = 0x88;
  lldp[13] = 0xcc;
  add_frame(out, "not_ipv4_lldp", R::not_ipv4, lldp);
  add_frame(out, "icmp_ipv4", R::icmp, ip_edit(udp, 9, 1));

  // IPv6 (RFC 8200): UDP, extension headers, fragments, ICMPv6 and
  // neighbour discovery.
  const Bytes udp6 = udp6_frame(false, dtls);
  add_frame(out, "udp6_client_hello", R::udp, udp6);
  add_frame(out, "udp6_client_hello_vlan", R::udp, udp6_frame(true, dtls));
  add_frame(out, "udp6_empty", R::udp, udp6_frame(false, {}));
  // Hop-by-Hop (PadN), Destination Options (an unknown skip-type option),
  // Routing with Segments Left 0, an atomic fragment.
  Bytes walked = ipv6_extension(udp6_frame(false, pattern(9, 3)), 44,
                                {0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78});
  walked = ipv6_extension(walked, 43, {0, 0, 0, 0, 0, 0, 0, 0});
  walked = ipv6_extension(walked, 60, {0, 0, 0x1e, 0x02, 0xab, 0xcd, 0x01, 0x00});
  walked = ipv6_extension(walked, 0, {0, 0, 0x01, 0x04, 0, 0, 0, 0});
  add_frame(out, "udp6_extension_headers", R::udp, walked);
  add_frame(out, "ip_fragment_ipv6", R::ip_fragment,
            ipv6_extension(udp6_frame(false, pattern(16, 4)), 44,
                           {0, 0, 0x00, 0x01, 0x0b, 0xad, 0xca, 0xfe}));
  add_frame(out, "bad_ip_header_routing_segments_left", R::bad_ip_header,
            ipv6_extension(udp6, 43, {0, 0, 0, 1, 0, 0, 0, 0}));
  Bytes bad_udp6 = udp6;
  bad_udp6.back() ^= 0x01;
  add_frame(out, "bad_udp_checksum_ipv6", R::bad_udp_checksum, bad_udp6);
  Bytes zero_udp6 = udp6;
  zero_udp6[60] = zero_udp6[61] = 0;
  add_frame(out, "bad_udp_checksum_zero", R::bad_udp_checksum, zero_udp6);
  add_frame(out, "truncated_ipv6", R::truncated, Bytes(udp6.begin(), udp6.end() - 1));
  {
    const dtlsgw::dataplane::MacAddress peer_mac{{0x02, 0x00, 0x5e, 0x00, 0x53, 0x02}};
    const auto peer = *dtlsgw::dataplane::parse_ipv6("2001:db8:1::7");
    const auto gateway = *dtlsgw::dataplane::parse_ipv6("2001:db8::1");
    for (const bool vlan : {false, true}) {
      Bytes ns(packet::neighbor_frame_length(vlan));
      packet::write_neighbor_solicitation(ns, peer_mac, peer, gateway, vlan, vlan ? 0x64 : 0);
      add_frame(out, vlan ? "neighbor_solicitation_vlan" : "neighbor_solicitation",
                R::neighbor_solicitation, ns);
      packet::Frame request;
      packet::parse_frame(ns, request);
      Bytes na(packet::neighbor_frame_length(vlan));
      packet::write_neighbor_advertisement(na, request, {{0x02, 0x00, 0x5e, 0x00, 0x53, 0x01}});
      add_frame(out, vlan ? "neighbor_advertisement_vlan" : "neighbor_advertisement",
                R::neighbor_advertisement, na);
      if (!vlan) {
        Bytes hop_limit = ns;
        hop_limit[21] = 64;
        add_frame(out, "bad_neighbor_discovery_hop_limit", R::bad_neighbor_discovery, hop_limit);
        Bytes echo = ns;  // type 128 (a wrong checksum is not checked here)
        echo[54] = 128;
        add_frame(out, "icmp_ipv6_echo", R::icmp, echo);
      }
    }
  }
  Bytes qinq = udp_frame(true, pattern(12, 2));
  const Bytes inner_tag = {0x81, 0x00, 0x00, 0x07};
  qinq.insert(qinq.begin() + 16, inner_tag.begin(), inner_tag.end());
  add_frame(out, "not_ipv4_qinq", R::not_ipv4, qinq);

  add_frame(out, "truncated_ethernet", R::truncated, Bytes(udp.begin(), udp.begin() + 13));
  add_frame(out, "truncated_vlan_tag", R::truncated, Bytes(qinq.begin(), qinq.begin() + 16));
  add_frame(out, "truncated_ip_packet", R::truncated, Bytes(udp.begin(), udp.end() - 1));
  add_frame(out, "truncated_udp_header", R::truncated, ip_edit(udp, 3, 20 + 7));

  Bytes bad_checksum = udp;
  bad_checksum[24] ^= 0x01;
  add_frame(out, "bad_ip_checksum", R::bad_ip_header, bad_checksum);
  add_frame(out, "bad_ip_version_6", R::bad_ip_header, ip_edit(udp, 0, 0x65));
  add_frame(out, "bad_ip_ihl_4", R::bad_ip_header, ip_edit(udp, 0, 0x44));
  add_frame(out, "bad_ip_total_length", R::bad_ip_header, ip_edit(ip_edit(udp, 2, 0), 3, 19));
  add_frame(out, "ip_fragment_more", R::ip_fragment, ip_edit(udp, 6, 0x20));
  add_frame(out, "ip_fragment_offset", R::ip_fragment, ip_edit(ip_edit(udp, 6, 0), 7, 0xb9));
  add_frame(out, "not_udp_tcp", R::not_udp, ip_edit(udp, 9, 6));
  Bytes short_udp = udp;
  short_udp[38] = 0;
  short_udp[39] = 7;
  add_frame(out, "bad_udp_length_short", R::bad_udp_length, short_udp);
  Bytes long_udp = udp;
  long_udp[39] = static_cast<uint8_t>(long_udp[39] + 1);
  add_frame(out, "bad_udp_length_long", R::bad_udp_length, long_udp);
}

// dtls13_header_fuzz: a CID-length byte, then a datagram. Real records
// sealed by the DTLS 1.3 sealer (16- and 8-bit sequence numbers, with and
// without length and CID), several in one datagram, and each refusal.
Bytes seal13(bool sequence16, bool with_length, const Bytes& cid, const Bytes& plaintext) {
  auto ctx = CryptoContext::create();
  const auto suite = dtls13_suite(0x1301);
  const Bytes secret = pattern(32, 11);
  Dtls13WriteEpoch w;
  Dtls13WriteOptions o;
  o.sequence16 = sequence16;
  o.with_length = with_length;
  if (!ctx || !suite || !w.install_secret(*ctx, Epoch{3}, *suite, secret, cid, o, 300)) {
    die("dtls13 seed: cannot install keys");
  }
  Bytes b(w.seal_prefix() + plaintext.size() + w.seal_suffix(plaintext.size()));
  std::copy(plaintext.begin(), plaintext.end(), b.begin() + w.seal_prefix());
  size_t length = 0;
  if (seal_dtls13_record(*ctx, w, ContentType::application_data, b, plaintext.size(), length) !=
      SealResult::ok) {
    die("dtls13 seed: seal failed");
  }
  b.resize(length);
  return b;
}

void dtls13_header_seeds(std::map<std::string, Bytes>& out) {
  const Bytes cid4 = {0x5e, 0x4e, 0xa1, 0xb2};
  const Bytes plain = plain_record(ContentType::handshake, 0xfefd, 0, 1, pattern(20, 12));
  out["ok_s16_length"] = cat({{0}, seal13(true, true, {}, pattern(33, 13))});
  out["ok_s8_no_length"] = cat({{0}, seal13(false, false, {}, pattern(33, 14))});
  out["ok_cid4"] = cat({{4}, seal13(true, true, cid4, pattern(45, 15))});
  out["ok_plaintext_then_two_records"] =
      cat({{4}, plain, seal13(true, true, cid4, pattern(5, 16)),
           seal13(false, false, cid4, pattern(7, 17))});
  out["ok_ack_plaintext"] = cat({{0}, {26, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 0, 0}});
  out["bad_first_byte_23"] = cat({{0}, plain_record(ContentType::application_data, 0xfefd, 0, 0,
                                                    pattern(4, 18))});
  out["bad_unexpected_cid"] = cat({{0}, seal13(true, true, cid4, pattern(5, 19))});
  Bytes overrun = seal13(true, true, {}, pattern(9, 20));
  overrun.pop_back();
  out["bad_length_overrun"] = cat({{0}, overrun});
  out["bad_truncated_header"] = Bytes{0, 0x2e, 0x01};
}

// cid_record_fuzz: a CID-length byte (length - 1), then a datagram. The
// sealed seeds use the harness's fixed AES-128-GCM key and open.
void cid_record_seeds(std::map<std::string, Bytes>& out) {
  auto ctx = CryptoContext::create();
  const Bytes key = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  const Bytes iv = {0xa, 0xb, 0xc, 0xd};
  auto sealed = [&](const Bytes& cid, CidPaddingPolicy padding, const Bytes& plaintext) {
    CidWriteEpoch w;
    if (!ctx || !w.install(*ctx, Epoch{1}, Aead::aes128_gcm, key, iv, cid, padding, 7)) {
      die("cid seed: cannot install keys");
    }
    Bytes b(w.seal_prefix() + plaintext.size() + w.seal_suffix(plaintext.size()));
    std::copy(plaintext.begin(), plaintext.end(), b.begin() + w.seal_prefix());
    size_t length = 0;
    if (seal_cid_record(*ctx, w, ContentType::application_data, b, plaintext.size(), length) !=
        SealResult::ok) {
      die("cid seed: seal failed");
    }
    b.resize(length);
    return b;
  };
  const Bytes cid4 = {0x5e, 0x4e, 0xa1, 0xb2};
  const Bytes cid8 = {0xc0, 0xff, 0xee, 1, 2, 3, 4, 5};
  out["ok_cid4_pad16"] = cat({{3}, sealed(cid4, {0, 16}, pattern(51, 21))});
  out["ok_cid8_nopad"] = cat({{7}, sealed(cid8, {}, pattern(2, 22))});
  out["ok_cid32_pad5"] = cat({{31}, sealed(pattern(32, 23), {5, 0}, pattern(10, 24))});
  Bytes tampered = sealed(cid4, {0, 16}, pattern(20, 25));
  tampered.back() ^= 1;
  out["bad_tag"] = cat({{3}, tampered});
  Bytes overrun = sealed(cid4, {}, pattern(3, 26));
  overrun.pop_back();
  out["bad_length_overrun"] = cat({{3}, overrun});
  out["bad_type_23"] = cat({{3}, plain_record(ContentType::application_data, 0xfefd, 1, 0,
                                              pattern(30, 27))});
  out["bad_truncated"] = Bytes{3, 25, 0xfe, 0xfd, 0, 1};
}

Corpus build() {
  Corpus c;
  header_seeds(c["record_header_fuzz"]);
  walker_seeds(c["record_walker_fuzz"]);
  open_seeds(c["record_open_fuzz"]);
  replay_seeds(c["replay_window_fuzz"]);
  client_hello_seeds(c["client_hello_fuzz"]);
  dtlsgw::handshake::fuzz::handshake_engine_seeds(c["handshake_engine_fuzz"]);
  packet_seeds(c["packet_fuzz"]);
  dtls13_header_seeds(c["dtls13_header_fuzz"]);
  cid_record_seeds(c["cid_record_fuzz"]);
  return c;
}

Bytes read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

int write(const std::filesystem::path& dir, const Corpus& c) {
  namespace fs = std::filesystem;
  for (const auto& [harness, seeds] : c) {
    const fs::path d = dir / harness;
    // Only this program's seeds live here: start clean.
    fs::remove_all(d);
    fs::create_directories(d);
    for (const auto& [name, bytes] : seeds) {
      std::ofstream f(d / name, std::ios::binary);
      f.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
      if (!f) {
        die("cannot write " + (d / name).string());
      }
    }
    std::printf("%s: %zu seeds\n", harness.c_str(), seeds.size());
  }
  return 0;
}

int check(const std::filesystem::path& dir, const Corpus& c) {
  namespace fs = std::filesystem;
  int problems = 0;
  for (const auto& [harness, seeds] : c) {
    const fs::path d = dir / harness;
    for (const auto& [name, bytes] : seeds) {
      if (!fs::exists(d / name)) {
        std::printf("missing: %s/%s\n", harness.c_str(), name.c_str());
        ++problems;
      } else if (read_file(d / name) != bytes) {
        std::printf("differs: %s/%s\n", harness.c_str(), name.c_str());
        ++problems;
      }
    }
    if (fs::is_directory(d)) {
      for (const auto& e : fs::directory_iterator(d)) {
        if (seeds.count(e.path().filename().string()) == 0) {
          std::printf("not generated: %s\n", e.path().string().c_str());
          ++problems;
        }
      }
    }
  }
  if (problems != 0) {
    std::printf("%d problem(s): regenerate with `ninja -C <build> fuzz-corpus`\n", problems);
    return 1;
  }
  std::printf("corpus up to date\n");
  return 0;
}

}  // namespace
}  // namespace dtlsgw::record::fuzz

int main(int argc, char** argv) {
  using namespace dtlsgw::record::fuzz;
  if (argc != 3 || (std::string_view(argv[1]) != "write" && std::string_view(argv[1]) != "check")) {
    std::fprintf(stderr, "usage: %s write|check CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const Corpus c = build();
  return std::string_view(argv[1]) == "write" ? write(argv[2], c) : check(argv[2], c);
}
