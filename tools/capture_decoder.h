// Decodes a pcap of one DTLS flow with its NSS key log: DTLS 1.2 (with or
// without RFC 9146 CIDs) and DTLS 1.3, record by record, through the
// dtls_record layer. Used by dtlsgw-decode and by the vector tests
// (tests/dtls_record/capture_vectors_test.cc), which check its output
// against ../shared/vectors/README.md.
//
// What it needs from the handshake, read from the plaintext records: the
// client random (to pick the key-log line), the cipher suite and server
// random (ServerHello), and the CIDs (connection_id extension, 54: the
// client's in ClientHello; the server's in ServerHello for DTLS 1.2 and in
// the encrypted EncryptedExtensions for DTLS 1.3, which is opened first).
// Handshake messages are assumed unfragmented.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dtlsgw::tools {

enum class RecordFormat : uint8_t { dtls12, dtls12_cid, dtls13_plaintext, dtls13 };
const char* to_string(RecordFormat f);

struct DecodedRecord {
  size_t frame = 0;  // 1-based, as tshark and the README count
  bool client_to_server = true;
  RecordFormat format = RecordFormat::dtls12;
  std::vector<uint8_t> cid;
  uint64_t epoch = 0;
  uint64_t sequence = 0;
  uint8_t content_type = 0;  // the inner type when protected
  bool protected_record = false;
  std::string result;  // "ok", "plaintext", or why it failed
  std::vector<uint8_t> plaintext;
  std::vector<uint8_t> wire;  // the record as captured
};

struct DecodeOutput {
  std::vector<DecodedRecord> records;
  std::vector<std::string> messages;  // per frame or file problems
  bool dtls13 = false;
  uint16_t cipher_suite = 0;
  uint16_t server_port = 0;
};

// `server_port` 0: the destination port of the first datagram.
bool decode_capture(const std::string& pcap_path, const std::string& keylog_path,
                    uint16_t server_port, DecodeOutput& out, std::string& error);

}  // namespace dtlsgw::tools
