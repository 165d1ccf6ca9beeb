#include "bench/pktgen/pcap_builder.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

#include "dataplane/packet.h"
#include "dtls_record/crypto_context.h"
#include "dtls_record/record_protection.h"
#include "tools/pcap_file.h"

namespace dtlsgw::pktgen {
namespace {

namespace packet = dataplane::packet;

// RFC 6347 §4.1 record header (13) + §4.2.2 handshake header (12) +
// client_version (2): where the ClientHello's Random starts.
constexpr size_t kRandomOffset = 13 + 12 + 2;
constexpr size_t kRandomLength = 32;
// The record sequence number: bytes 5..10 of the record header.
constexpr size_t kSequenceOffset = 5;

// splitmix64: every pseudo-random byte of the pcaps, from the seed.
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Little-endian, so the pcaps are the same bytes on any host.
void put_le64(uint8_t* out, uint64_t v) {
  for (int k = 0; k < 8; ++k) {
    out[k] = static_cast<uint8_t>(v >> (8 * k));
  }
}

dataplane::Ipv4 from_host(uint32_t h) { return dataplane::Ipv4{htonl(h)}; }

// Ethernet / IPv4 / UDP around `payload`, UDP checksum computed (as a
// client's stack sends it).
Frame udp_frame(const PcapOptions& o, dataplane::Ipv4 source, uint16_t source_port,
                const uint8_t* payload, size_t length, uint16_t ip_id) {
  packet::UdpEndpoints e;
  e.source_mac = o.generator_mac;
  e.destination_mac = o.gateway_mac;
  e.source = source;
  e.destination = o.gateway_address;
  e.source_port = source_port;
  e.destination_port = o.listener_port;
  const size_t headers = packet::udp_headers_length(false);
  Frame f(headers + length);
  packet::write_udp_headers(f.data(), e, length, ip_id);
  std::memcpy(f.data() + headers, payload, length);
  packet::set_udp_checksum(f.data() + packet::kEthernetHeaderLength);
  return f;
}

std::string hex(const uint8_t* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += kHex[p[i] >> 4];
    s += kHex[p[i] & 15];
  }
  return s;
}

bool write_text(const std::string& path, const std::string& text, std::string& error) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  if (!f) {
    error = path + ": cannot write";
    return false;
  }
  return true;
}

}  // namespace

std::vector<uint8_t> openssl_client_hello() {
  // Recorded from OpenSSL 3.0.22 (DTLS_client_method, min = max =
  // DTLS1_2_VERSION, default cipher list), the Random zeroed.
  static const uint8_t kHello[] = {
      // DTLSPlaintext: handshake(22), {254, 255} (DTLS 1.0 in the first
      // record, RFC 6347 §4.1), epoch 0, sequence 0, length 192.
      0x16,
      0xfe,
      0xff,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0xc0,
      // Handshake: client_hello(1), length 180, message_seq 0, fragment 0+180.
      0x01,
      0x00,
      0x00,
      0xb4,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0xb4,
      // client_version DTLS 1.2 {254, 253}, Random (32 bytes, set per frame).
      0xfe,
      0xfd,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      // session_id <0>, cookie <0> (RFC 6347 §4.2.1: none yet).
      0x00,
      0x00,
      // cipher_suites <56>: 28 suites, ending in TLS_EMPTY_RENEGOTIATION_INFO_SCSV.
      0x00,
      0x38,
      0xc0,
      0x2c,
      0xc0,
      0x30,
      0x00,
      0x9f,
      0xcc,
      0xa9,
      0xcc,
      0xa8,
      0xcc,
      0xaa,
      0xc0,
      0x2b,
      0xc0,
      0x2f,
      0x00,
      0x9e,
      0xc0,
      0x24,
      0xc0,
      0x28,
      0x00,
      0x6b,
      0xc0,
      0x23,
      0xc0,
      0x27,
      0x00,
      0x67,
      0xc0,
      0x0a,
      0xc0,
      0x14,
      0x00,
      0x39,
      0xc0,
      0x09,
      0xc0,
      0x13,
      0x00,
      0x33,
      0x00,
      0x9d,
      0x00,
      0x9c,
      0x00,
      0x3d,
      0x00,
      0x3c,
      0x00,
      0x35,
      0x00,
      0x2f,
      0x00,
      0xff,
      // compression_methods <1>: null.
      0x01,
      0x00,
      // extensions <82>: ec_point_formats, supported_groups (x25519,
      // secp256r1, x448, secp521r1, secp384r1), session_ticket,
      // encrypt_then_mac, extended_master_secret, signature_algorithms.
      0x00,
      0x52,
      0x00,
      0x0b,
      0x00,
      0x04,
      0x03,
      0x00,
      0x01,
      0x02,
      0x00,
      0x0a,
      0x00,
      0x0c,
      0x00,
      0x0a,
      0x00,
      0x1d,
      0x00,
      0x17,
      0x00,
      0x1e,
      0x00,
      0x19,
      0x00,
      0x18,
      0x00,
      0x23,
      0x00,
      0x00,
      0x00,
      0x16,
      0x00,
      0x00,
      0x00,
      0x17,
      0x00,
      0x00,
      0x00,
      0x0d,
      0x00,
      0x2a,
      0x00,
      0x28,
      0x04,
      0x03,
      0x05,
      0x03,
      0x06,
      0x03,
      0x08,
      0x07,
      0x08,
      0x08,
      0x08,
      0x09,
      0x08,
      0x0a,
      0x08,
      0x0b,
      0x08,
      0x04,
      0x08,
      0x05,
      0x08,
      0x06,
      0x04,
      0x01,
      0x05,
      0x01,
      0x06,
      0x01,
      0x03,
      0x03,
      0x03,
      0x01,
      0x03,
      0x02,
      0x04,
      0x02,
      0x05,
      0x02,
      0x06,
      0x02,
  };
  static_assert(sizeof kHello == 205);
  return {kHello, kHello + sizeof kHello};
}

std::vector<Frame> client_hello_flood(const PcapOptions& o) {
  std::vector<uint8_t> hello = openssl_client_hello();
  uint64_t state = o.seed ^ 0x666c6f6f64ULL;  // "flood"
  std::vector<Frame> frames;
  frames.reserve(o.flood_frames);
  for (size_t i = 0; i < o.flood_frames; ++i) {
    // A fresh attempt each: its own Random (RFC 5246 §7.4.1.2), record
    // sequence 0 as a client's first datagram has, its own source.
    for (size_t b = 0; b < kRandomLength; b += 8) {
      put_le64(hello.data() + kRandomOffset + b, splitmix64(state));
    }
    std::memset(hello.data() + kSequenceOffset, 0, 6);
    const auto source = from_host(kFloodSources + 1 + static_cast<uint32_t>(i % 65534));
    const auto port = static_cast<uint16_t>(1024 + splitmix64(state) % (65536 - 1024));
    frames.push_back(
        udp_frame(o, source, port, hello.data(), hello.size(), static_cast<uint16_t>(i)));
  }
  return frames;
}

std::string static_keys_text(const PcapOptions& o) {
  uint64_t state = o.seed ^ 0x6b657973ULL;  // "keys"
  uint8_t seed[32];
  for (size_t b = 0; b < sizeof seed; b += 8) {
    put_le64(seed + b, splitmix64(state));
  }
  const uint32_t first = kFirstSessionPeer;
  char peer[32];
  std::snprintf(peer, sizeof peer, "%u.%u.%u.%u:%u", first >> 24, (first >> 16) & 255,
                (first >> 8) & 255, first & 255, kFirstSessionPort);
  return "# Sessions of the static_keys_data_*.pcap files (bench/pktgen/README.md).\n"
         "# BENCHMARK ONLY: fixed keys reuse nonces on every restart; only a\n"
         "# -Dstatic_keys=true build loads this file, never a production one.\n"
         "sessions count=" +
         std::to_string(o.sessions) + " first_peer=" + peer +
         " ports_per_address=" + std::to_string(kPortsPerAddress) +
         " listener=" + std::to_string(o.listener_port) +
         " suite=aes128_gcm seed=" + hex(seed, sizeof seed) + "\n";
}

std::vector<uint8_t> record_plaintext(uint32_t session, uint64_t sequence, size_t length) {
  std::vector<uint8_t> p(length);
  for (size_t j = 0; j < length; ++j) {
    p[j] = static_cast<uint8_t>(j + 7 * session + 13 * sequence);
  }
  return p;
}

bool static_keys_data(const PcapOptions& o, const dataplane::StaticKeys& keys,
                      size_t plaintext_length, std::vector<Frame>& frames, std::string& error) {
  const auto crypto = record::CryptoContext::create();
  if (!crypto) {
    error = "IPsec-MB cannot run on this CPU";
    return false;
  }
  // One write epoch per session: epoch 1 (after the handshake's
  // ChangeCipherSpec, RFC 6347 §4.1), first sequence 1.
  std::vector<std::unique_ptr<record::WriteEpoch>> writers;
  std::vector<dataplane::StaticSession> sessions(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    keys.session(i, sessions[i]);
    const record::AeadParams& p = record::aead_params(sessions[i].aead);
    auto w = std::make_unique<record::WriteEpoch>();
    if (!w->install(*crypto, record::Epoch{1}, sessions[i].aead,
                    {sessions[i].client_write_key, p.key_length},
                    {sessions[i].client_write_iv, p.fixed_iv_length}, 1)) {
      error = "session " + std::to_string(i) + ": cannot install its client write key";
      return false;
    }
    writers.push_back(std::move(w));
  }
  frames.clear();
  std::vector<uint8_t> buffer;
  for (uint32_t r = 0; r < o.records_per_session; ++r) {
    for (size_t i = 0; i < keys.size(); ++i) {
      record::WriteEpoch& w = *writers[i];
      const uint64_t sequence = w.next_number().sequence();
      buffer.assign(w.seal_prefix() + plaintext_length + w.tag_length(), 0);
      const std::vector<uint8_t> plaintext =
          record_plaintext(static_cast<uint32_t>(i), sequence, plaintext_length);
      std::memcpy(buffer.data() + w.seal_prefix(), plaintext.data(), plaintext_length);
      size_t length = 0;
      const record::SealResult s = record::seal_record(
          *crypto, w, record::ContentType::application_data, buffer, plaintext_length, length);
      if (s != record::SealResult::ok) {
        error = "session " + std::to_string(i) + ": seal: " + std::string(record::to_string(s));
        return false;
      }
      frames.push_back(udp_frame(o, sessions[i].peer, sessions[i].peer_port, buffer.data(), length,
                                 static_cast<uint16_t>(frames.size())));
    }
  }
  return true;
}

std::string gateway_config(const PcapOptions& o, bool static_keys) {
  std::string s =
      "# dtlsgw configuration for the pktgen profiles (bench/pktgen/README.md),\n"
      "# written by make_pcaps. Generator port 0 is the outside next hop\n"
      "# (every peer is behind it), generator port 1 stands in for the backend.\n";
  if (static_keys) {
    s += "#\n"
         "# BENCHMARK BUILD ONLY (meson -Dstatic_keys=true): static keys and the\n"
         "# relaxed replay check below turn off security invariants so that a\n"
         "# generator can loop a pcap. Never use this file on a real network.\n";
  }
  s += "\n[dataplane]\n"
       "workers = [1]\n";
  if (static_keys) {
    s += "static_keys = \"static_keys.txt\"\n"
         "# BENCHMARK ONLY: a looped pcap repeats its record numbers, which the\n"
         "# anti-replay window (RFC 6347 §4.1.2.6) rightly drops after the first\n"
         "# loop. This relaxes that check; the dataplane logs a warning. Never\n"
         "# in production.\n"
         "relaxed_replay = true\n";
  }
  s += "\n[outside]\nport = 0\naddress = \"" + dataplane::to_string(o.gateway_address) +
       "\"\nprefix_length = 24\n";
  // The generator's port 0 as the next hop of every (off-link) peer: the
  // HelloVerifyRequests and any records back go to it.
  const uint32_t gateway = ntohl(o.gateway_address.be);
  const dataplane::Ipv4 next_hop = from_host((gateway & 0xffffff00u) | 254u);
  s += "gateway = \"" + dataplane::to_string(next_hop) + "\"\n";
  s += "\n[inside]\nport = 1\naddress = \"10.0.0.1\"\nprefix_length = 24\n"
       "\n[[listener]]\nport = " +
       std::to_string(o.listener_port) +
       "\nbackend = \"10.0.0.2:7000\"\n"
       "\n[[neighbor]]\naddress = \"" +
       dataplane::to_string(next_hop) + "\"\nmac = \"" + dataplane::to_string(o.generator_mac) +
       "\"\n"
       "\n[[neighbor]]\naddress = \"10.0.0.2\"\nmac = \"" +
       dataplane::to_string(o.backend_mac) +
       "\"\n"
       "\n[handshake]\n"
       "# Your credentials (the flood needs only the cookie exchange).\n"
       "psk_file = \"/etc/dtlsgw/psk.txt\"\n";
  return s;
}

bool write_all(const PcapOptions& o, const std::string& directory, std::string& error) {
  const std::string keys_text = static_keys_text(o);
  const auto keys = dataplane::StaticKeys::parse(keys_text, "static_keys.txt", error);
  if (!keys) {
    return false;
  }
  if (!tools::write_pcap(directory + "/clienthello_flood.pcap", client_hello_flood(o), error) ||
      !write_text(directory + "/static_keys.txt", keys_text, error) ||
      !write_text(directory + "/gateway.toml", gateway_config(o, false), error) ||
      !write_text(directory + "/gateway_static_keys.toml", gateway_config(o, true), error)) {
    return false;
  }
  for (const size_t size : kDataSizes) {
    std::vector<Frame> frames;
    if (!static_keys_data(o, *keys, size, frames, error) ||
        !tools::write_pcap(directory + "/static_keys_data_" + std::to_string(size) + ".pcap",
                           frames, error)) {
      return false;
    }
  }
  return true;
}

}  // namespace dtlsgw::pktgen
