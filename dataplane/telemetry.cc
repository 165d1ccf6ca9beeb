// DPDK telemetry endpoints (`dpdk-telemetry.py`, primary process only):
//
//   /dtlsgw/stats             every counter, summed over workers
//   /dtlsgw/stats,<worker>    one worker's counters
//   /dtlsgw/counters          each counter's description
//   /dtlsgw/sessions[,<from>] up to 64 sessions from index <from>: peer,
//                             listener, identity, suite, worker, age, idle
//                             time, records in and out. Never key material.
//   /dtlsgw/close,<address>:<port>[:<listener port>]
//                             closes that session (close_notify sent),
//                             through its owner's keys ring.
#include <rte_rcu_qsbr.h>
#include <rte_ring_elem.h>
#include <rte_telemetry.h>

#include <atomic>
#include <cstdlib>
#include <optional>
#include <string>

#include "dataplane/dataplane.h"
#include "handshake/handover.h"

namespace dtlsgw::dataplane {

namespace {

std::atomic<Dataplane*> g_dataplane{nullptr};
constexpr unsigned kSessionsPerReply = 64;

int stats(const char*, const char* params, rte_tel_data* d) {
  Dataplane* dp = g_dataplane.load();
  if (dp == nullptr) {
    return -1;
  }
  rte_tel_data_start_dict(d);
  const bool one = params != nullptr && *params != '\0';
  const unsigned worker = one ? static_cast<unsigned>(std::strtoul(params, nullptr, 10)) : 0;
  if (one && worker >= dp->worker_count()) {
    return -1;
  }
  for (size_t c = 0; c < kCounterCount; ++c) {
    const Counter counter = static_cast<Counter>(c);
    const uint64_t v = one ? dp->context().counters[worker].get(counter) : dp->total(counter);
    rte_tel_data_add_dict_u64(d, std::string(counter_info(counter).name).c_str(), v);
  }
  if (!one) {
    rte_tel_data_add_dict_u64(d, "sessions", dp->sessions().size());
    rte_tel_data_add_dict_u64(d, "session_capacity", dp->sessions().capacity());
  }
  return 0;
}

int counters(const char*, const char*, rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  for (size_t c = 0; c < kCounterCount; ++c) {
    const CounterInfo& info = counter_info(static_cast<Counter>(c));
    rte_tel_data_add_dict_string(d, std::string(info.name).c_str(),
                                 std::string(info.description).c_str());
  }
  return 0;
}

int sessions(const char*, const char* params, rte_tel_data* d) {
  Dataplane* dp = g_dataplane.load();
  if (dp == nullptr) {
    return -1;
  }
  const unsigned from = params != nullptr && *params != '\0'
                            ? static_cast<unsigned>(std::strtoul(params, nullptr, 10))
                            : 0;
  // The telemetry thread is one more RCU reader: online while it reads
  // session slots, so none is recycled under it.
  SessionTable& table = dp->sessions();
  const unsigned reader = dp->worker_count();
  static bool registered = false;
  if (!registered) {
    rte_rcu_qsbr_thread_register(table.qsbr(), reader);
    registered = true;
  }
  rte_rcu_qsbr_thread_online(table.qsbr(), reader);
  rte_tel_data_start_dict(d);
  const uint64_t hz = dp->context().tsc_hz;
  const uint32_t now_s = static_cast<uint32_t>(rte_get_tsc_cycles() / hz);
  unsigned index = 0;
  unsigned listed = 0;
  table.for_each([&](const Session& s) {
    if (index++ < from || listed >= kSessionsPerReply) {
      return;
    }
    rte_tel_data* item = rte_tel_data_alloc();
    if (item == nullptr) {
      return;
    }
    rte_tel_data_start_dict(item);
    // "192.0.2.7:5684" or "[2001:db8::7]:5684" (RFC 3986 §3.2.2).
    const std::string address = to_string(s.flow.peer_address);
    const std::string peer = (s.flow.is_v4() ? address : "[" + address + "]") + ":" +
                             std::to_string(s.flow.peer_port);
    rte_tel_data_add_dict_string(item, "peer", peer.c_str());
    rte_tel_data_add_dict_u64(item, "listener", s.flow.listener_port);
    const std::string_view kind =
        handshake::to_string(static_cast<handshake::PeerIdentity::Kind>(s.identity.kind));
    rte_tel_data_add_dict_string(item, "identity_kind", std::string(kind).c_str());
    std::string name(s.identity.prefix, s.identity.prefix_length);
    for (char& c : name) {
      if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
        c = '?';  // telemetry strings are JSON: keep them printable
      }
    }
    if (s.identity.length > s.identity.prefix_length) {
      name += "...";
    }
    rte_tel_data_add_dict_string(item, "identity", name.c_str());
    rte_tel_data_add_dict_u64(item, "suite", s.suite);
    rte_tel_data_add_dict_u64(item, "epoch", 1);
    rte_tel_data_add_dict_u64(item, "worker", s.worker);
    const auto& sources = dp->context().inside_sources;
    if (s.inside.local_address < sources.size()) {
      rte_tel_data_add_dict_string(item, "inside_address",
                                   to_string(sources[s.inside.local_address]).c_str());
    }
    rte_tel_data_add_dict_u64(item, "inside_port", s.inside.local_port);
    rte_tel_data_add_dict_u64(item, "age_s", now_s - s.installed_s);
    rte_tel_data_add_dict_u64(item, "idle_s", now_s - s.last_active_s);
    rte_tel_data_add_dict_u64(item, "records_in", s.read.records_opened());
    rte_tel_data_add_dict_u64(item, "records_out", s.write.records_sealed());
    rte_tel_data_add_dict_container(d, std::to_string(index - 1).c_str(), item, 0);
    ++listed;
  });
  rte_tel_data_add_dict_u64(d, "total", table.size());
  rte_rcu_qsbr_thread_offline(table.qsbr(), reader);
  return 0;
}

int close_session(const char*, const char* params, rte_tel_data* d) {
  Dataplane* dp = g_dataplane.load();
  if (dp == nullptr || params == nullptr) {
    return -1;
  }
  // <address>:<port>[:<listener port>], an IPv6 address in brackets
  // ("[2001:db8::7]:5684"), as /dtlsgw/sessions lists peers.
  const std::string p(params);
  std::optional<IpAddress> address;
  size_t colon = std::string::npos;
  if (!p.empty() && p.front() == '[') {
    const size_t close = p.find(']');
    if (close == std::string::npos || close + 1 >= p.size() || p[close + 1] != ':') {
      return -1;
    }
    if (const auto a6 = parse_ipv6(p.substr(1, close - 1)); a6) {
      address = IpAddress::from(*a6);
    }
    colon = close + 1;
  } else {
    colon = p.find(':');
    if (colon == std::string::npos) {
      return -1;
    }
    if (const auto a4 = parse_ipv4(p.substr(0, colon)); a4) {
      address = IpAddress::from(*a4);
    }
  }
  const size_t second = p.find(':', colon + 1);
  const unsigned long port = std::strtoul(p.c_str() + colon + 1, nullptr, 10);
  const DataplaneContext& ctx = dp->context();
  unsigned long listener = ctx.listeners.empty() ? 0 : ctx.listeners.front().port;
  if (second != std::string::npos) {
    listener = std::strtoul(p.c_str() + second + 1, nullptr, 10);
  }
  if (!address || port == 0 || port > 65535 || listener == 0 || listener > 65535) {
    return -1;
  }
  contract::KeysSlot slot;
  slot.close = contract::CloseMessage();
  slot.close.reason = static_cast<uint16_t>(contract::CloseReason::administrative);
  slot.close.flow = {*address, static_cast<uint16_t>(port), static_cast<uint16_t>(listener)};
  rte_tel_data_start_dict(d);
  const bool known = dp->sessions().find(slot.close.flow) != nullptr;
  const bool queued =
      known &&
      rte_ring_enqueue_elem(ctx.keys[ctx.owner_of(slot.close.flow)], &slot, sizeof(slot)) == 0;
  rte_tel_data_add_dict_u64(d, "found", known);
  rte_tel_data_add_dict_u64(d, "queued", queued);
  return 0;
}

}  // namespace

void register_telemetry(Dataplane* dataplane) {
  const bool first = g_dataplane.exchange(dataplane) == nullptr;
  if (first && dataplane != nullptr) {
    rte_telemetry_register_cmd("/dtlsgw/stats", stats,
                               "dtlsgw counters summed over workers. Parameter: a worker index");
    rte_telemetry_register_cmd("/dtlsgw/counters", counters, "What each dtlsgw counter counts");
    rte_telemetry_register_cmd("/dtlsgw/sessions", sessions,
                               "dtlsgw sessions (64 per reply). Parameter: first index");
    rte_telemetry_register_cmd("/dtlsgw/close", close_session,
                               "Close a dtlsgw session. Parameter: address:port[:listener]");
  }
}

}  // namespace dtlsgw::dataplane
