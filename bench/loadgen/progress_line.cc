#include "bench/loadgen/progress_line.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace dtlsgw::loadgen {

std::string format_rate(double per_second, const char* unit) {
  char buf[64];
  if (per_second >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.2f G%s", per_second / 1e9, unit);
  } else if (per_second >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.3f M%s", per_second / 1e6, unit);
  } else if (per_second >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.1f k%s", per_second / 1e3, unit);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f %s", per_second, unit);
  }
  return buf;
}

ProgressLine::ProgressLine(std::string label)
    : label_(std::move(label)), tty_(isatty(STDERR_FILENO) != 0) {}

ProgressLine::~ProgressLine() { finish(); }

void ProgressLine::update(double now, const ProgressTotals& t, const LatencyHistogram* latency,
                          bool force) {
  if (last_time_ < 0) {
    last_time_ = 0;
  }
  const double dt = now - last_time_;
  if (!force && dt < 1.0) {
    return;
  }
  const ProgressTotals delta{t.sent - last_.sent, t.received - last_.received,
                             t.failures - last_.failures, t.payload_bytes - last_.payload_bytes,
                             t.wire_bytes - last_.wire_bytes};
  print(dt, delta, t, latency);
  last_time_ = now;
  last_ = t;
}

void ProgressLine::summary(double seconds, const ProgressTotals& t,
                           const LatencyHistogram* latency) {
  label_ += " (all)";
  print(seconds, t, t, latency);
  finish();
}

void ProgressLine::print(double seconds, const ProgressTotals& delta, const ProgressTotals& t,
                         const LatencyHistogram* latency) {
  const double per = seconds > 0 ? 1.0 / seconds : 0;
  const double pps = static_cast<double>(delta.received) * per;
  const double bps = static_cast<double>(delta.payload_bytes) * 8 * per;
  const double loss = t.sent == 0
                          ? 0
                          : 100.0 * static_cast<double>(t.sent - std::min(t.sent, t.received)) /
                                static_cast<double>(t.sent);
  char lat[96] = "";
  if (latency != nullptr && latency->count() > 0) {
    std::snprintf(lat, sizeof lat, ", latency p50 %.1f us p99 %.1f us",
                  static_cast<double>(latency->percentile(0.5)) / 1e3,
                  static_cast<double>(latency->percentile(0.99)) / 1e3);
  }
  std::fprintf(stderr,
               "%s%s: %s, %s payload, sent %llu, lost or in flight %.2f%%%s, failures %llu%s",
               tty_ ? "\r\033[K" : "", label_.c_str(), format_rate(pps, "pps").c_str(),
               format_rate(bps, "b/s").c_str(), static_cast<unsigned long long>(t.sent), loss, lat,
               static_cast<unsigned long long>(t.failures), tty_ ? "" : "\n");
  std::fflush(stderr);
  open_line_ = tty_;
}

void ProgressLine::finish() {
  if (open_line_) {
    std::fputc('\n', stderr);
    open_line_ = false;
  }
}

}  // namespace dtlsgw::loadgen
