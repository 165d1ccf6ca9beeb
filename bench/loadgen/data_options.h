// The data mode's command line (after EAL's arguments and `--`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dtlsgw::loadgen {

enum class DataDirection : uint8_t {
  open,   // records to the outside port, plaintext back on the inside port
  seal,   // plaintext to the inside port, records back on the outside port
  plain,  // plain datagrams outside → inside, no crypto: a forwarder's I/O
};
const char* to_string(DataDirection d);

struct DataOptions {
  std::string config_path;
  std::string static_keys_path;  // empty: the configuration's dataplane.static_keys
  std::string outside_port;      // DPDK name or id; empty: the configuration's
  std::string inside_port;
  DataDirection direction = DataDirection::open;
  std::vector<uint32_t> sizes = {64, 256, 1024, 1400};
  uint64_t sessions = 0;      // 0: every session of the file
  uint64_t rate = 0;          // packets per second; 0: as fast as the ports take them
  double duration = 5;        // seconds per size
  double warmup = 1;          // seconds per size, before the measurement
  uint32_t check_every = 64;  // a full check of every Nth received packet
  uint32_t burst = 32;
  uint32_t mbufs = 16383;
  uint64_t first_sequence = 1;
  double link_timeout = 10;
  std::string json_path;
  bool raw_aead = false;  // measure raw IPsec-MB AES-GCM on the sizes; no ports
  bool help = false;
};

// Parses argv[first..argc). nullopt and a one-line `error` on a bad option.
std::optional<DataOptions> parse_data_options(int argc, char** argv, int first, std::string& error);
void print_data_usage(const char* argv0);

}  // namespace dtlsgw::loadgen
