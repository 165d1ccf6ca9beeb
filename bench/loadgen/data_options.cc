#include "bench/loadgen/data_options.h"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "bench/loadgen/record_gcm.h"

namespace dtlsgw::loadgen {

namespace {

bool parse_uint(std::string_view text, uint64_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool parse_seconds(std::string_view text, double& out) {
  if (text.ends_with('s')) {
    text.remove_suffix(1);
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out >= 0;
}

}  // namespace

const char* to_string(DataDirection d) {
  switch (d) {
    case DataDirection::open:
      return "open";
    case DataDirection::seal:
      return "seal";
    case DataDirection::plain:
      return "plain";
  }
  return "?";
}

void print_data_usage(const char* argv0) {
  std::fprintf(
      stderr,
      "usage: %s data [EAL arguments] -- --config FILE [options]\n"
      "  --config FILE          the gateway's TOML (addresses, listeners, backends, ports)\n"
      "  --static-keys FILE     the sessions (default: the configuration's static_keys)\n"
      "  --outside-port P       DPDK port name or id playing the peers (default: config)\n"
      "  --inside-port P        DPDK port name or id playing the backends (default: config)\n"
      "  --direction D          open (records in, plaintext out; default), seal\n"
      "                         (plaintext in, records out) or plain (no crypto: measures\n"
      "                         a forwarder such as testpmd's io mode)\n"
      "  --size LIST            plaintext bytes per record, comma separated, %zu..%zu\n"
      "                         (default 64,256,1024,1400)\n"
      "  --sessions N           the first N sessions of the file (default all)\n"
      "  --rate PPS             packets per second (default: as fast as the ports take)\n"
      "  --duration S           measured seconds per size (default 5)\n"
      "  --warmup S             unmeasured seconds per size before it (default 1)\n"
      "  --check-every N        fully verify every Nth received packet (default 64;\n"
      "                         1: all); every packet's stamp is always checked\n"
      "  --first-sequence N     the first DTLS sequence number per session (default 1;\n"
      "                         above the last run's against the same dataplane)\n"
      "  --burst N              packets per tx burst (default 32)\n"
      "  --mbufs N              mbuf pool size (default 16383)\n"
      "  --link-timeout S       wait for both links up (default 10)\n"
      "  --json FILE            write the results as JSON\n"
      "  --raw-aead             measure raw IPsec-MB AES-128-GCM per record on the sizes\n"
      "                         (t_crypto) and exit; needs no ports\n",
      argv0, kStampLength, kMaxPlaintext);
}

std::optional<DataOptions> parse_data_options(int argc, char** argv, int first,
                                              std::string& error) {
  DataOptions o;
  for (int i = first; i < argc; ++i) {
    const std::string_view a = argv[i];
    const bool has_value = i + 1 < argc;
    const std::string_view v = has_value ? std::string_view(argv[i + 1]) : std::string_view();
    uint64_t n = 0;
    auto need = [&](bool ok) {
      if (!has_value || !ok) {
        error = std::string(a) + ": " +
                (has_value ? "bad value '" + std::string(v) + "'" : std::string("missing value"));
        return false;
      }
      ++i;
      return true;
    };
    if (a == "-h" || a == "--help") {
      o.help = true;
    } else if (a == "--raw-aead") {
      o.raw_aead = true;
    } else if (a == "--config") {
      if (!need(true)) {
        return std::nullopt;
      }
      o.config_path = v;
    } else if (a == "--static-keys") {
      if (!need(true)) {
        return std::nullopt;
      }
      o.static_keys_path = v;
    } else if (a == "--outside-port") {
      if (!need(true)) {
        return std::nullopt;
      }
      o.outside_port = v;
    } else if (a == "--inside-port") {
      if (!need(true)) {
        return std::nullopt;
      }
      o.inside_port = v;
    } else if (a == "--json") {
      if (!need(true)) {
        return std::nullopt;
      }
      o.json_path = v;
    } else if (a == "--direction") {
      const bool ok = v == "open" || v == "seal" || v == "plain";
      if (!need(ok)) {
        return std::nullopt;
      }
      o.direction = v == "open"   ? DataDirection::open
                    : v == "seal" ? DataDirection::seal
                                  : DataDirection::plain;
    } else if (a == "--size") {
      std::vector<uint32_t> sizes;
      std::string_view rest = v;
      bool ok = has_value && !rest.empty();
      while (ok && !rest.empty()) {
        const size_t comma = rest.find(',');
        ok = parse_uint(rest.substr(0, comma), n) && n >= kStampLength && n <= kMaxPlaintext;
        sizes.push_back(static_cast<uint32_t>(n));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      }
      if (!need(ok)) {
        return std::nullopt;
      }
      o.sizes = sizes;
    } else if (a == "--sessions") {
      if (!need(parse_uint(v, n) && n > 0)) {
        return std::nullopt;
      }
      o.sessions = n;
    } else if (a == "--rate") {
      if (!need(parse_uint(v, n))) {
        return std::nullopt;
      }
      o.rate = n;
    } else if (a == "--duration") {
      if (!need(parse_seconds(v, o.duration) && o.duration > 0)) {
        return std::nullopt;
      }
    } else if (a == "--warmup") {
      if (!need(parse_seconds(v, o.warmup))) {
        return std::nullopt;
      }
    } else if (a == "--link-timeout") {
      if (!need(parse_seconds(v, o.link_timeout))) {
        return std::nullopt;
      }
    } else if (a == "--check-every") {
      if (!need(parse_uint(v, n) && n > 0 && n <= UINT32_MAX)) {
        return std::nullopt;
      }
      o.check_every = static_cast<uint32_t>(n);
    } else if (a == "--first-sequence") {
      if (!need(parse_uint(v, n) && n < (uint64_t{1} << 47))) {
        return std::nullopt;
      }
      o.first_sequence = n;
    } else if (a == "--burst") {
      if (!need(parse_uint(v, n) && n > 0 && n <= 256)) {
        return std::nullopt;
      }
      o.burst = static_cast<uint32_t>(n);
    } else if (a == "--mbufs") {
      if (!need(parse_uint(v, n) && n >= 1024 && n <= (1u << 24))) {
        return std::nullopt;
      }
      o.mbufs = static_cast<uint32_t>(n);
    } else {
      error = "unknown option '" + std::string(a) + "'";
      return std::nullopt;
    }
  }
  if (!o.help && !o.raw_aead && o.config_path.empty()) {
    error = "--config FILE is required";
    return std::nullopt;
  }
  return o;
}

}  // namespace dtlsgw::loadgen
