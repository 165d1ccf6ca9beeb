// One established DTLS 1.2 session in the dataplane: its epoch-1 keys, its
// two flows, and the little state the data path needs. Owned by exactly
// one worker, which alone writes it (DESIGN.md, "Session table").
//
// Memory budget (issue: ≤ 256 bytes per session without key schedules):
// the struct is pinned below (with IPv6 flows the last bytes are spoken
// for: the final flight's resend time lives in its cache slot, the
// backend pool is inside.backend); the replay window's words (32 bytes for the
// default 128-bit window) and the two key schedules live outside it and
// are reported separately (SessionTable::bytes_per_session). Both come
// from the session table: the key schedules from its arena, the replay
// words from its array indexed by slot (SessionTable::Options).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/contract.h"
#include "dataplane/net_types.h"
#include "dtls_record/record_protection.h"

namespace dtlsgw::dataplane {

// The inside flow: the backend (an index: DataplaneContext::backend_of
// maps a datagram's source address and port to it) and the gateway's inside
// source address and port allocated for this session. Indices keep the key
// at 8 bytes with an address pool (config.h, inside.source_addresses).
struct InsideKey {
  uint16_t backend = 0;        // DataplaneContext::backend_list index
  uint16_t local_port = 0;     // host order
  uint8_t local_address = 0;   // DataplaneContext::inside_sources index
  uint8_t reserved[3] = {};
  friend bool operator==(const InsideKey&, const InsideKey&) = default;
};
static_assert(sizeof(InsideKey) == 8);

inline constexpr uint32_t kNoFinalFlight = UINT32_MAX;

struct alignas(64) Session {
  // `schedules`: where both key schedules go (SessionTable's arena);
  // `replay_words`: the read epoch's replay window (the table's array).
  Session(uint32_t replay_window_bits, const record::ScheduleMemory* schedules,
          std::span<uint64_t> replay_words)
      : read(replay_window_bits, replay_words) {
    read.set_schedule_memory(schedules);
    write.set_schedule_memory(schedules);
  }

  // The data path asks for the lines a direction reads, for a whole burst
  // right after the bulk lookup, so the misses overlap. At many sessions
  // a record's time is mostly its state's cache misses, and the core keeps
  // only a score or so in flight: every line not asked for is time saved.
  // The fields are laid out for it (pinned below): an opened record reads
  // lines 0-1, a sealed one lines 1-3.
  void prefetch_for_open() const { prefetch_lines(0, 2); }
  void prefetch_for_seal() const { prefetch_lines(1, 3); }

  // ---- lines 0-1: the open path ----
  record::ReadEpoch read;    // client → server, epoch 1
  // ---- line 1: both directions ----
  InsideKey inside;
  MacAddress peer_mac;       // the source MAC of the peer's latest frame
  uint16_t listener = 0;     // index into the configuration's listeners
  uint32_t last_active_s = 0;  // last authenticated record or backend datagram
  // CCM-8 past its forgery alarm: records are not even tried before this
  // (worker clock, ms), one forgery per kForgeryHoldMs at most.
  uint32_t forgery_hold_until_ms = 0;
  // The final flight's cache slot until the peer shows it has it
  // (kNoFinalFlight: none); every opened record looks.
  uint32_t final_flight = kNoFinalFlight;
  // ---- fragments and path MTU (icmp.h) ----
  // The path MTU toward the peer in bytes of IP packet, lowered by an ICMP
  // frag-needed / packet-too-big for this flow (RFC 1191, RFC 8201); 0:
  // never lowered (the outside port's). Records that would not fit are
  // refused (worker_path_mtu.cc).
  uint16_t path_mtu = 0;
  bool usage_alarm_reported = false;
  // ---- lines 2-3: the seal path, and the rest ----
  record::WriteEpoch write;  // server → client, epoch 1
  contract::FlowKey flow;
  uint16_t worker = 0;       // the owner
  uint16_t suite = 0;        // IANA number (operator view)
  // When path_mtu was last lowered (worker clock, seconds): the idle sweep
  // restores the port's MTU config.path_mtu_timeout later (RFC 1191 §6.3).
  uint32_t path_mtu_lowered_s = 0;
  uint32_t installed_s = 0;         // worker clock, seconds
  contract::Identity identity;  // who the peer authenticated as

 private:
  void prefetch_lines(size_t first, size_t count) const {
    const auto* p = reinterpret_cast<const char*>(this) + 64 * first;
    for (size_t line = 0; line < count; ++line) {
      __builtin_prefetch(p + 64 * line);
    }
  }
};

static_assert(sizeof(Session) <= 256, "Session grew past the 256-byte budget");
// The lines each direction prefetches (Session::prefetch_for_open and
// prefetch_for_seal) hold what it reads.
static_assert(offsetof(Session, usage_alarm_reported) < 128 && offsetof(Session, final_flight) < 128,
              "open-path fields left lines 0-1");
static_assert(offsetof(Session, inside) >= 64 && offsetof(Session, write) >= 128,
              "seal-path fields left lines 1-3");

}  // namespace dtlsgw::dataplane
