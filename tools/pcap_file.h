// Classic pcap files (the libpcap format, not pcapng): frames
// written here are read by DPDK's net_pcap driver and tshark, and the
// frames net_pcap writes are read back here.
//
// Format (libpcap "File Format", draft-ietf-opsawg-pcap): a 24-byte file
// header (magic, version 2.4, thiszone, sigfigs, snaplen, linktype) and per
// frame a 16-byte record header (ts_sec, ts_usec, caplen, len) and caplen
// bytes. The magic gives the byte order and the timestamp unit:
// 0xa1b2c3d4 microseconds, 0xa1b23c4d nanoseconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dtlsgw::tools {

// Frames up to this size are written and read (tcpdump's maximum snaplen).
inline constexpr size_t kPcapMaxFrame = 262144;
// A file holding more frames is refused: tests stay small.
inline constexpr size_t kPcapMaxFrames = 1'000'000;

// Writes `frames` as an Ethernet (linktype 1), microsecond, little-endian
// pcap file: frame i gets timestamp i microseconds. False and `error` set
// if a frame is larger than kPcapMaxFrame or the file cannot be written.
[[nodiscard]] bool write_pcap(const std::string& path,
                              const std::vector<std::vector<uint8_t>>& frames, std::string& error);

// The frames of an Ethernet pcap file in either byte order and timestamp
// unit. nullopt and `error` ("<path>: <problem>") if the file is not
// classic pcap, has another linktype, a truncated header or frame, a frame
// captured shorter than it was (caplen < len) or beyond the bounds above.
[[nodiscard]] std::optional<std::vector<std::vector<uint8_t>>> read_pcap(const std::string& path,
                                                                         std::string& error);

}  // namespace dtlsgw::tools
