// The traffic pktgen replays at a gateway (bench/pktgen/README.md), built
// deterministically from a seed so that the committed pcaps are exactly
// what `make_pcaps` writes with the documented arguments:
//
//   clienthello_flood.pcap        cookieless DTLS 1.2 ClientHellos (RFC 6347
//                                 §4.2.1), OpenSSL 3.0's, each from its own
//                                 source address and port, to the listener
//   static_keys_data_<N>.pcap     DTLS 1.2 application-data records, N-byte
//                                 plaintexts, AES-128-GCM, epoch 1, sequence
//                                 numbers increasing per session, of the
//                                 sessions of static_keys.txt
//   static_keys.txt               those sessions (dataplane/static_keys.h)
//   gateway.toml                  a gateway configuration for the flood
//   gateway_static_keys.toml      the benchmark build's configuration for
//                                 the data pcaps (static keys, relaxed
//                                 replay: benchmark only, never production)
//
// Topology: generator port 0 ↔ gateway outside, generator port 1 ↔
// gateway inside (the backend's next hop is port 1's MAC, so the
// decrypted datagrams come back to the generator).
#pragma once

#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/net_types.h"
#include "dataplane/static_keys.h"

namespace dtlsgw::pktgen {

using Frame = std::vector<uint8_t>;

struct PcapOptions {
  // The gateway's outside port and the generator's two ports.
  dataplane::MacAddress gateway_mac = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
  dataplane::MacAddress generator_mac = {{0x02, 0x00, 0x00, 0x00, 0x01, 0x01}};
  dataplane::MacAddress backend_mac = {{0x02, 0x00, 0x00, 0x00, 0x01, 0x02}};
  dataplane::Ipv4 gateway_address{htonl(0xc0000201)};  // 192.0.2.1
  uint16_t listener_port = 4433;
  // Frames and sessions; the committed pcaps use these defaults.
  size_t flood_frames = 256;
  uint32_t sessions = 16;
  uint32_t records_per_session = 4;
  uint64_t seed = 1;
};

// Plaintext sizes of the data pcaps.
inline constexpr size_t kDataSizes[] = {64, 256, 1024, 1400};

// The ClientHello every flood frame carries, with its Random and record
// sequence number zero: OpenSSL 3.0.22's DTLS_client_method with DTLS 1.2
// only and its default cipher list and extensions (205 bytes), recorded
// once and kept as bytes so the pcaps do not change with the library.
std::vector<uint8_t> openssl_client_hello();

std::vector<Frame> client_hello_flood(const PcapOptions& o);

// The `sessions` line of static_keys.txt (its seed derived from o.seed).
std::string static_keys_text(const PcapOptions& o);

// Frames of `records_per_session` rounds over all sessions: round r holds
// record sequence r + 1 (0 was the client's Finished) of every session.
// False with `error` if the record layer cannot seal.
bool static_keys_data(const PcapOptions& o, const dataplane::StaticKeys& keys,
                      size_t plaintext_length, std::vector<Frame>& frames, std::string& error);

// The plaintext of one record: a pattern of (session, sequence), so the
// generator's port 1 can tell the datagrams apart.
std::vector<uint8_t> record_plaintext(uint32_t session, uint64_t sequence, size_t length);

// static_keys == true: the benchmark build's configuration.
std::string gateway_config(const PcapOptions& o, bool static_keys);

// Writes every file above into `directory`.
bool write_all(const PcapOptions& o, const std::string& directory, std::string& error);

// The peer addresses: sessions from 198.18.0.1:10000 (RFC 2544's benchmark
// range), flood sources in 198.19.0.0/16; the gateway reaches both through
// the generator's port 0 as its outside next hop (192.0.2.254).
inline constexpr uint32_t kFirstSessionPeer = 0xc6120001;  // 198.18.0.1, host order
inline constexpr uint16_t kFirstSessionPort = 10000;
inline constexpr uint32_t kPortsPerAddress = 4;
inline constexpr uint32_t kFloodSources = 0xc6130000;  // 198.19.0.0, host order

}  // namespace dtlsgw::pktgen
