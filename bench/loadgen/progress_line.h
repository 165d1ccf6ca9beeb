// The live one-line progress report every mode prints each second on
// stderr: rates over the last interval, cumulative loss and failures, and
// latency percentiles when the mode measures them. On a terminal the line
// is rewritten in place; otherwise (a log file, a pipe) one line a second.
#pragma once

#include <cstdint>
#include <string>

#include "bench/loadgen/latency_histogram.h"

namespace dtlsgw::loadgen {

struct ProgressTotals {
  uint64_t sent = 0;
  uint64_t received = 0;
  uint64_t failures = 0;
  uint64_t payload_bytes = 0;  // received
  uint64_t wire_bytes = 0;     // received frames plus 24 B of Ethernet overhead each
};

class ProgressLine {
 public:
  // `label` starts every line, e.g. "open 1400 B".
  explicit ProgressLine(std::string label);
  ~ProgressLine();

  // Prints when at least a second has passed since the last line (or
  // always with `force`). `latency` may be null.
  void update(double now_seconds, const ProgressTotals& totals, const LatencyHistogram* latency,
              bool force = false);
  // The closing line: averages over the whole `seconds` measured.
  void summary(double seconds, const ProgressTotals& totals, const LatencyHistogram* latency);
  // Ends an in-place line with a newline.
  void finish();

 private:
  std::string label_;
  bool tty_ = false;
  bool open_line_ = false;
  void print(double seconds, const ProgressTotals& delta, const ProgressTotals& totals,
             const LatencyHistogram* latency);

  double last_time_ = -1;
  ProgressTotals last_;
};

// "1.23 Mpps" style helpers shared by the reports.
std::string format_rate(double per_second, const char* unit);

}  // namespace dtlsgw::loadgen
