// dtlsgw-decode --pcap FILE --keylog FILE [--port N]
//
// Prints every DTLS record of a capture, per record: frame, direction,
// format (1.2, 1.2-cid, 1.3), CID, epoch, sequence number, content type,
// whether it authenticated, and the plaintext (hex and printable). For
// interop debugging: tshark 4.0 cannot decode DTLS 1.3 records.
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tools/capture_decoder.h"

namespace {

int usage() {
  std::fprintf(stderr, "usage: dtlsgw-decode --pcap FILE --keylog FILE [--port N]\n");
  return 2;
}

const char* type_name(uint8_t t) {
  switch (t) {
    case 20: return "change_cipher_spec";
    case 21: return "alert";
    case 22: return "handshake";
    case 23: return "application_data";
    case 25: return "tls12_cid";
    case 26: return "ack";
    default: return "unknown";
  }
}

void dump(const std::vector<uint8_t>& b) {
  for (size_t i = 0; i < b.size(); i += 16) {
    std::printf("    %04zx ", i);
    for (size_t j = i; j < i + 16; ++j) {
      if (j < b.size()) std::printf(" %02x", b[j]); else std::printf("   ");
    }
    std::printf("  ");
    for (size_t j = i; j < i + 16 && j < b.size(); ++j) {
      std::putchar(std::isprint(b[j]) ? b[j] : '.');
    }
    std::putchar('\n');
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string pcap, keylog;
  long port = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) return usage();
    if (a == "--pcap") pcap = argv[++i];
    else if (a == "--keylog") keylog = argv[++i];
    else if (a == "--port") {
      char* end = nullptr;
      port = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || port <= 0 || port > 65535) return usage();
    } else return usage();
  }
  if (pcap.empty() || keylog.empty()) return usage();
  dtlsgw::tools::DecodeOutput out;
  std::string error;
  if (!dtlsgw::tools::decode_capture(pcap, keylog, static_cast<uint16_t>(port), out, error)) {
    std::fprintf(stderr, "dtlsgw-decode: %s\n", error.c_str());
    return 1;
  }
  std::printf("server port %u, %s, cipher suite 0x%04x\n", out.server_port,
              out.dtls13 ? "DTLS 1.3" : "DTLS 1.2", out.cipher_suite);
  for (const auto& r : out.records) {
    std::printf("frame %zu %s %s", r.frame, r.client_to_server ? "c2s" : "s2c",
                dtlsgw::tools::to_string(r.format));
    if (!r.cid.empty()) {
      std::printf(" cid=");
      for (uint8_t b : r.cid) std::printf("%02x", b);
    }
    std::printf(" epoch=%llu", static_cast<unsigned long long>(r.epoch));
    if (!r.protected_record || r.result == "ok") {
      std::printf(" seq=%llu type=%s(%u)", static_cast<unsigned long long>(r.sequence),
                  type_name(r.content_type), r.content_type);
    }
    std::printf(" %s%s len=%zu\n", r.protected_record ? "auth=" : "",
                r.result.c_str(), r.plaintext.size());
    dump(r.plaintext);
  }
  for (const auto& m : out.messages) std::printf("note: %s\n", m.c_str());
  return 0;
}
