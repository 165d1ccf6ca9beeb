// The data mode's results: one row per payload size, printed as a table
// and written as JSON (bench/memif_scenario.py reads it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/loadgen/latency_histogram.h"

namespace dtlsgw::loadgen {

// Why a received packet failed verification (any one sets exit status 1).
enum class VerifyFailure : uint8_t {
  bad_stamp,          // not a stamp this program wrote, or corrupted
  wrong_length,       // the payload is not the size sent
  wrong_addresses,    // not the addresses and ports the session's packets carry
  unknown_flow,       // seal direction: a record to no session's peer
  unreadable_record,  // seal direction: not a DTLS 1.2 application_data record
  full_check,         // the plaintext past the stamp, or the record's tag, is wrong
};
inline constexpr size_t kVerifyFailureCount = 6;
const char* to_string(VerifyFailure f);

struct SizeResult {
  uint32_t size = 0;         // plaintext bytes per record
  uint32_t frame_bytes = 0;  // the outside frame (record side), no FCS
  double seconds = 0;        // measured
  uint64_t sent = 0;
  uint64_t tx_refused = 0;  // built, not taken by the port (ring full)
  uint64_t received = 0;    // verified packets of this measurement
  uint64_t duplicates = 0;  // a session's sequence seen again (or out of order)
  uint64_t late = 0;        // packets of an earlier phase (warm-up) received now
  uint64_t other = 0;       // frames that are none of ours (not UDP or ARP)
  uint64_t full_checks = 0;
  uint64_t failures[kVerifyFailureCount] = {};
  LatencyHistogram latency;

  uint64_t failure_total() const;
  uint64_t lost() const { return sent > received ? sent - received : 0; }
  double mpps() const { return seconds > 0 ? static_cast<double>(received) / seconds / 1e6 : 0; }
  double payload_gbps() const;
  // The record-side frames plus 24 B per frame on a wire (preamble, start
  // delimiter, inter-frame gap: 20; FCS: 4).
  double wire_gbps() const;
};

struct DataReport {
  std::string direction;
  std::string suite;
  uint64_t sessions = 0;
  uint64_t rate = 0;  // 0: maximum
  double duration = 0;
  double warmup = 0;
  uint32_t check_every = 1;
  std::string outside_port;
  std::string inside_port;
  std::string gateway_macs;  // how the gateway's MACs were found
  // Above every sequence number this run sent: the --first-sequence of a
  // next run against the same dataplane, whose replay windows remember.
  uint64_t next_first_sequence = 0;
  std::vector<SizeResult> sizes;

  bool any_failure() const;
};

void print_table(const DataReport& r);
std::string to_json(const DataReport& r);

}  // namespace dtlsgw::loadgen
