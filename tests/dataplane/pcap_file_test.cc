// tests/dataplane/pcap_file: classic pcap written, read back, read by
// tshark, and refused when it is not what DPDK's net_pcap would exchange.
#include "tools/pcap_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace dtlsgw::test {
using tools::read_pcap;
using tools::write_pcap;
namespace {

using Frames = std::vector<std::vector<uint8_t>>;

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "pcap_file_test_" + std::to_string(::getpid()) + "_" + name;
}

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void append32(std::vector<uint8_t>& out, uint32_t v, bool big_endian) {
  for (int i = 0; i < 4; ++i) {
    const int shift = big_endian ? 24 - 8 * i : 8 * i;
    out.push_back(static_cast<uint8_t>(v >> shift));
  }
}

void append16(std::vector<uint8_t>& out, uint16_t v, bool big_endian) {
  out.push_back(static_cast<uint8_t>(big_endian ? v >> 8 : v));
  out.push_back(static_cast<uint8_t>(big_endian ? v : v >> 8));
}

// A pcap file built by hand, independently of write_pcap.
std::vector<uint8_t> handmade(bool big_endian, uint32_t magic, uint32_t linktype,
                              const Frames& frames) {
  std::vector<uint8_t> out;
  append32(out, magic, big_endian);
  append16(out, 2, big_endian);
  append16(out, 4, big_endian);
  append32(out, 0, big_endian);
  append32(out, 0, big_endian);
  append32(out, 65535, big_endian);
  append32(out, linktype, big_endian);
  uint32_t ts = 1700000000;
  for (const auto& frame : frames) {
    append32(out, ts++, big_endian);
    append32(out, 999999, big_endian);
    append32(out, static_cast<uint32_t>(frame.size()), big_endian);
    append32(out, static_cast<uint32_t>(frame.size()), big_endian);
    out.insert(out.end(), frame.begin(), frame.end());
  }
  return out;
}

// Ethernet ‖ IPv4 ‖ UDP with `payload` bytes, from 198.18.0.<host>:<port>
// to 192.0.2.1:4433.
std::vector<uint8_t> udp_frame(uint8_t host, uint16_t port, size_t payload) {
  const uint16_t ip_length = static_cast<uint16_t>(20 + 8 + payload);
  const uint16_t udp_length = static_cast<uint16_t>(8 + payload);
  std::vector<uint8_t> f(14 + ip_length);
  const uint8_t headers[14 + 28] = {
      0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // destination MAC
      0x02, 0x00, 0x00, 0x00, 0x00, 0x02,  // source MAC
      0x08, 0x00,                          // IPv4
      0x45, 0, static_cast<uint8_t>(ip_length >> 8), static_cast<uint8_t>(ip_length), 0, 0, 0x40, 0,
      64, 17, 0, 0,  // checksum below
      198, 18, 0, host, 192, 0, 2, 1,
      // UDP to 4433, no checksum
      static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port), 0x11, 0x51,
      static_cast<uint8_t>(udp_length >> 8), static_cast<uint8_t>(udp_length), 0, 0};
  std::copy(std::begin(headers), std::end(headers), f.begin());
  uint32_t sum = 0;
  for (size_t i = 14; i < 34; i += 2) {
    sum += static_cast<uint32_t>(f[i] << 8 | f[i + 1]);
  }
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  f[24] = static_cast<uint8_t>(~sum >> 8);
  f[25] = static_cast<uint8_t>(~sum);
  for (size_t i = 0; i < payload; ++i) {
    f[42 + i] = static_cast<uint8_t>(i);
  }
  return f;
}

TEST(PcapFile, RoundTrip) {
  std::mt19937 rng(7);
  Frames frames;
  for (size_t size : {0u, 1u, 14u, 60u, 1514u, 9018u, 65535u, 262144u}) {
    std::vector<uint8_t> frame(size);
    for (auto& b : frame) {
      b = static_cast<uint8_t>(rng());
    }
    frames.push_back(std::move(frame));
  }
  const std::string path = temp_path("round_trip.pcap");
  std::string error;
  ASSERT_TRUE(write_pcap(path, frames, error)) << error;
  const auto read = read_pcap(path, error);
  ASSERT_TRUE(read) << error;
  EXPECT_EQ(*read, frames);

  // Little-endian microsecond magic, version 2.4, Ethernet.
  const std::vector<uint8_t> bytes = file_bytes(path);
  ASSERT_GE(bytes.size(), 24u);
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 8),
            (std::vector<uint8_t>{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0}));
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin() + 20, bytes.begin() + 24),
            (std::vector<uint8_t>{1, 0, 0, 0}));
  std::remove(path.c_str());
}

TEST(PcapFile, EmptyFileRoundTrips) {
  const std::string path = temp_path("empty.pcap");
  std::string error;
  ASSERT_TRUE(write_pcap(path, {}, error)) << error;
  EXPECT_EQ(file_bytes(path).size(), 24u);
  const auto read = read_pcap(path, error);
  ASSERT_TRUE(read) << error;
  EXPECT_TRUE(read->empty());
  std::remove(path.c_str());
}

TEST(PcapFile, ReadsBothByteOrdersAndNanosecondFiles) {
  const Frames frames = {udp_frame(1, 40000, 10), {}, udp_frame(2, 40001, 100)};
  const std::string path = temp_path("orders.pcap");
  for (bool big_endian : {false, true}) {
    for (uint32_t magic : {0xa1b2c3d4u, 0xa1b23c4du}) {
      write_bytes(path, handmade(big_endian, magic, 1, frames));
      std::string error;
      const auto read = read_pcap(path, error);
      ASSERT_TRUE(read) << error << " big_endian=" << big_endian << " magic=" << magic;
      EXPECT_EQ(*read, frames);
    }
  }
  std::remove(path.c_str());
}

TEST(PcapFile, Refusals) {
  const std::string path = temp_path("bad.pcap");
  const Frames frames = {udp_frame(1, 40000, 10)};
  std::string error;
  auto refused = [&](const std::vector<uint8_t>& bytes, const std::string& problem) {
    write_bytes(path, bytes);
    EXPECT_FALSE(read_pcap(path, error));
    EXPECT_EQ(error.rfind(path + ": ", 0), 0u) << error;
    EXPECT_NE(error.find(problem), std::string::npos) << error;
  };
  const std::vector<uint8_t> good = handmade(false, 0xa1b2c3d4, 1, frames);

  refused(handmade(false, 0xa1b2c3d4, 101, frames), "linktype 101, expected 1 (Ethernet)");
  refused(handmade(true, 0xa1b2c3d4, 228, frames), "linktype 228");
  // pcapng section header block.
  refused({0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0,    0,    0,    0x4d, 0x3c, 0x2b, 0x1a, 1, 0,
           0,    0,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1c, 0,    0, 0},
          "not a classic pcap file");
  refused({}, "shorter than a pcap file header");
  refused(std::vector<uint8_t>(good.begin(), good.begin() + 23), "shorter than a pcap file header");
  std::vector<uint8_t> bad_version = good;
  bad_version[4] = 1;
  refused(bad_version, "pcap version 1.4, expected 2.x");
  refused(std::vector<uint8_t>(good.begin(), good.begin() + 24 + 10),
          "frame 0: truncated record header");
  refused(std::vector<uint8_t>(good.begin(), good.end() - 1), "frame 0: truncated data");
  // caplen 262145 (and len the same).
  std::vector<uint8_t> huge = good;
  huge[24 + 8] = huge[24 + 12] = 0x01;
  huge[24 + 10] = huge[24 + 14] = 0x04;
  refused(huge, "frame 0: 262145 bytes, more than 262144");
  // Captured with a snaplen shorter than the frame.
  std::vector<uint8_t> short_capture = good;
  short_capture[24 + 12] += 1;
  refused(short_capture, "frame 0: captured 52 of 53 bytes");

  ::unlink(path.c_str());
  EXPECT_FALSE(read_pcap(path, error));
  EXPECT_EQ(error.rfind(path + ": cannot open", 0), 0u) << error;

  EXPECT_FALSE(write_pcap(path, {std::vector<uint8_t>(262145)}, error));
  EXPECT_NE(error.find("frame 0 is 262145 bytes"), std::string::npos) << error;
  EXPECT_FALSE(write_pcap(::testing::TempDir() + "no/such/dir/x.pcap", frames, error));
  EXPECT_NE(error.find("cannot create"), std::string::npos) << error;
}

// A second reader is the oracle (STYLE.md rule 8): tshark decodes what
// write_pcap wrote.
TEST(PcapFile, TsharkReadsIt) {
  if (std::system("command -v tshark >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "tshark is not installed";
  }
  const Frames frames = {udp_frame(1, 40000, 10), udp_frame(2, 40001, 100),
                         udp_frame(3, 65535, 1472)};
  const std::string path = temp_path("tshark.pcap");
  std::string error;
  ASSERT_TRUE(write_pcap(path, frames, error)) << error;
  const std::string command = "tshark -n -r '" + path +
                              "' -T fields -E separator=, -e frame.len -e ip.src -e "
                              "udp.srcport -e udp.dstport 2>/dev/null";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[256];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) {
    output += buf;
  }
  ASSERT_EQ(::pclose(pipe), 0) << output;
  EXPECT_EQ(output,
            "52,198.18.0.1,40000,4433\n"
            "142,198.18.0.2,40001,4433\n"
            "1514,198.18.0.3,65535,4433\n");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace dtlsgw::test
