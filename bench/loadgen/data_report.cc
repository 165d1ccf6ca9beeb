#include "bench/loadgen/data_report.h"

#include <cstdio>

namespace dtlsgw::loadgen {

namespace {

constexpr double kEthernetOverhead = 24;

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

const char* to_string(VerifyFailure f) {
  switch (f) {
    case VerifyFailure::bad_stamp:
      return "bad_stamp";
    case VerifyFailure::wrong_length:
      return "wrong_length";
    case VerifyFailure::wrong_addresses:
      return "wrong_addresses";
    case VerifyFailure::unknown_flow:
      return "unknown_flow";
    case VerifyFailure::unreadable_record:
      return "unreadable_record";
    case VerifyFailure::full_check:
      return "full_check";
  }
  return "?";
}

uint64_t SizeResult::failure_total() const {
  uint64_t n = 0;
  for (const uint64_t f : failures) {
    n += f;
  }
  return n;
}

double SizeResult::payload_gbps() const {
  return seconds > 0 ? static_cast<double>(received) * size * 8 / seconds / 1e9 : 0;
}

double SizeResult::wire_gbps() const {
  return seconds > 0
             ? static_cast<double>(received) * (frame_bytes + kEthernetOverhead) * 8 / seconds / 1e9
             : 0;
}

bool DataReport::any_failure() const {
  for (const SizeResult& s : sizes) {
    if (s.failure_total() != 0) {
      return true;
    }
  }
  return false;
}

void print_table(const DataReport& r) {
  std::printf("dtlsgw-loadgen data: %s, %s, %llu sessions, %s, %.1f s per size (%.1f s warm-up)\n",
              r.direction.c_str(), r.suite.c_str(), static_cast<unsigned long long>(r.sessions),
              r.rate == 0 ? "maximum rate" : (std::to_string(r.rate) + " pps").c_str(), r.duration,
              r.warmup);
  std::printf("%6s %9s %10s %10s %9s %10s %10s %10s %9s\n", "size", "Mpps", "payload", "wire",
              "loss", "p50 us", "p99 us", "p99.9 us", "failures");
  for (const SizeResult& s : r.sizes) {
    const double loss =
        s.sent == 0 ? 0 : 100.0 * static_cast<double>(s.lost()) / static_cast<double>(s.sent);
    std::printf("%6u %9.3f %8.2f Gb %8.2f Gb %8.3f%% %10.1f %10.1f %10.1f %9llu\n", s.size,
                s.mpps(), s.payload_gbps(), s.wire_gbps(), loss,
                static_cast<double>(s.latency.percentile(0.5)) / 1e3,
                static_cast<double>(s.latency.percentile(0.99)) / 1e3,
                static_cast<double>(s.latency.percentile(0.999)) / 1e3,
                static_cast<unsigned long long>(s.failure_total()));
  }
  std::fflush(stdout);
}

std::string to_json(const DataReport& r) {
  std::string out = "{\n";
  char buf[512];
  out += "  \"mode\": \"data\",\n  \"direction\": " + json_string(r.direction) +
         ",\n  \"suite\": " + json_string(r.suite) + ",\n";
  std::snprintf(buf, sizeof buf,
                "  \"sessions\": %llu,\n  \"rate\": %llu,\n  \"duration_s\": %.3f,\n"
                "  \"warmup_s\": %.3f,\n  \"check_every\": %u,\n",
                static_cast<unsigned long long>(r.sessions),
                static_cast<unsigned long long>(r.rate), r.duration, r.warmup, r.check_every);
  out += buf;
  out += "  \"outside_port\": " + json_string(r.outside_port) +
         ",\n  \"inside_port\": " + json_string(r.inside_port) +
         ",\n  \"gateway_macs\": " + json_string(r.gateway_macs) +
         ",\n  \"next_first_sequence\": " + std::to_string(r.next_first_sequence) +
         ",\n  \"results\": [";
  for (size_t i = 0; i < r.sizes.size(); ++i) {
    const SizeResult& s = r.sizes[i];
    std::snprintf(
        buf, sizeof buf,
        "%s\n    {\"size\": %u, \"frame_bytes\": %u, \"seconds\": %.6f, \"sent\": %llu, "
        "\"tx_refused\": %llu, \"received\": %llu, \"lost\": %llu, \"loss_ratio\": %.6g, "
        "\"duplicates\": %llu, \"late\": %llu, \"other\": %llu, \"full_checks\": %llu, ",
        i == 0 ? "" : ",", s.size, s.frame_bytes, s.seconds,
        static_cast<unsigned long long>(s.sent), static_cast<unsigned long long>(s.tx_refused),
        static_cast<unsigned long long>(s.received), static_cast<unsigned long long>(s.lost()),
        s.sent == 0 ? 0.0 : static_cast<double>(s.lost()) / static_cast<double>(s.sent),
        static_cast<unsigned long long>(s.duplicates), static_cast<unsigned long long>(s.late),
        static_cast<unsigned long long>(s.other), static_cast<unsigned long long>(s.full_checks));
    out += buf;
    std::snprintf(buf, sizeof buf,
                  "\"mpps\": %.6f, \"payload_gbps\": %.6f, \"wire_gbps\": %.6f, "
                  "\"latency_ns\": {\"p50\": %llu, \"p99\": %llu, \"p999\": %llu, \"max\": %llu, "
                  "\"mean\": %.1f, \"count\": %llu}, \"failures\": {",
                  s.mpps(), s.payload_gbps(), s.wire_gbps(),
                  static_cast<unsigned long long>(s.latency.percentile(0.5)),
                  static_cast<unsigned long long>(s.latency.percentile(0.99)),
                  static_cast<unsigned long long>(s.latency.percentile(0.999)),
                  static_cast<unsigned long long>(s.latency.max()), s.latency.mean(),
                  static_cast<unsigned long long>(s.latency.count()));
    out += buf;
    for (size_t f = 0; f < kVerifyFailureCount; ++f) {
      std::snprintf(buf, sizeof buf, "%s\"%s\": %llu", f == 0 ? "" : ", ",
                    to_string(static_cast<VerifyFailure>(f)),
                    static_cast<unsigned long long>(s.failures[f]));
      out += buf;
    }
    out += "}}";
  }
  out += "\n  ]\n}\n";
  return out;
}

}  // namespace dtlsgw::loadgen
