#include "tools/pcap_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace dtlsgw::tools {

namespace {

constexpr uint32_t kMagicMicroseconds = 0xa1b2c3d4;
constexpr uint32_t kMagicNanoseconds = 0xa1b23c4d;
constexpr uint32_t kLinktypeEthernet = 1;
constexpr size_t kFileHeaderLength = 24;
constexpr size_t kRecordHeaderLength = 16;

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

void put_le32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

void put_le16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

uint32_t get32(const uint8_t* p, bool big_endian) {
  if (big_endian) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
  }
  return uint32_t{p[3]} << 24 | uint32_t{p[2]} << 16 | uint32_t{p[1]} << 8 | p[0];
}

uint16_t get16(const uint8_t* p, bool big_endian) {
  return static_cast<uint16_t>(big_endian ? (p[0] << 8 | p[1]) : (p[1] << 8 | p[0]));
}

}  // namespace

bool write_pcap(const std::string& path, const std::vector<std::vector<uint8_t>>& frames,
                std::string& error) {
  for (size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].size() > kPcapMaxFrame) {
      error = path + ": frame " + std::to_string(i) + " is " + std::to_string(frames[i].size()) +
              " bytes, more than " + std::to_string(kPcapMaxFrame);
      return false;
    }
  }
  File file(std::fopen(path.c_str(), "wb"));
  if (!file) {
    error = path + ": cannot create: " + std::strerror(errno);
    return false;
  }
  uint8_t header[kFileHeaderLength] = {};
  put_le32(header, kMagicMicroseconds);
  put_le16(header + 4, 2);  // version 2.4
  put_le16(header + 6, 4);
  // thiszone and sigfigs stay 0.
  put_le32(header + 16, kPcapMaxFrame);  // snaplen
  put_le32(header + 20, kLinktypeEthernet);
  bool ok = std::fwrite(header, sizeof header, 1, file.get()) == 1;
  for (size_t i = 0; i < frames.size() && ok; ++i) {
    uint8_t record[kRecordHeaderLength];
    put_le32(record, static_cast<uint32_t>(i / 1'000'000));
    put_le32(record + 4, static_cast<uint32_t>(i % 1'000'000));
    put_le32(record + 8, static_cast<uint32_t>(frames[i].size()));
    put_le32(record + 12, static_cast<uint32_t>(frames[i].size()));
    ok = std::fwrite(record, sizeof record, 1, file.get()) == 1 &&
         (frames[i].empty() || std::fwrite(frames[i].data(), frames[i].size(), 1, file.get()) == 1);
  }
  const int saved_errno = errno;
  if (std::fclose(file.release()) != 0 || !ok) {
    error = path + ": cannot write: " + std::strerror(ok ? errno : saved_errno);
    return false;
  }
  return true;
}

std::optional<std::vector<std::vector<uint8_t>>> read_pcap(const std::string& path,
                                                           std::string& error) {
  auto fail = [&](const std::string& problem) {
    error = path + ": " + problem;
    return std::nullopt;
  };
  File file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    return fail(std::string("cannot open: ") + std::strerror(errno));
  }
  uint8_t header[kFileHeaderLength];
  if (std::fread(header, sizeof header, 1, file.get()) != 1) {
    return fail("shorter than a pcap file header");
  }
  bool big_endian = false;
  const uint32_t magic = get32(header, false);
  if (magic == kMagicMicroseconds || magic == kMagicNanoseconds) {
    big_endian = false;
  } else if (get32(header, true) == kMagicMicroseconds ||
             get32(header, true) == kMagicNanoseconds) {
    big_endian = true;
  } else {
    return fail("not a classic pcap file (pcapng is not read here)");
  }
  if (get16(header + 4, big_endian) != 2) {
    return fail("pcap version " + std::to_string(get16(header + 4, big_endian)) + "." +
                std::to_string(get16(header + 6, big_endian)) + ", expected 2.x");
  }
  const uint32_t linktype = get32(header + 20, big_endian);
  if (linktype != kLinktypeEthernet) {
    return fail("linktype " + std::to_string(linktype) + ", expected 1 (Ethernet)");
  }

  std::vector<std::vector<uint8_t>> frames;
  for (;;) {
    uint8_t record[kRecordHeaderLength];
    const size_t got = std::fread(record, 1, sizeof record, file.get());
    if (got == 0 && !std::ferror(file.get())) {
      break;  // end of file between frames
    }
    if (std::ferror(file.get())) {
      return fail(std::string("read error: ") + std::strerror(errno));
    }
    const std::string which = "frame " + std::to_string(frames.size());
    if (got != sizeof record) {
      return fail(which + ": truncated record header");
    }
    if (frames.size() == kPcapMaxFrames) {
      return fail("more than " + std::to_string(kPcapMaxFrames) + " frames");
    }
    const uint32_t caplen = get32(record + 8, big_endian);
    const uint32_t len = get32(record + 12, big_endian);
    if (caplen > kPcapMaxFrame) {
      return fail(which + ": " + std::to_string(caplen) + " bytes, more than " +
                  std::to_string(kPcapMaxFrame));
    }
    if (caplen != len) {
      return fail(which + ": captured " + std::to_string(caplen) + " of " + std::to_string(len) +
                  " bytes");
    }
    std::vector<uint8_t> frame(caplen);
    if (caplen > 0 && std::fread(frame.data(), caplen, 1, file.get()) != 1) {
      return fail(which + ": truncated data");
    }
    frames.push_back(std::move(frame));
  }
  return frames;
}

}  // namespace dtlsgw::tools
