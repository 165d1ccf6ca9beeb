// libFuzzer harness: the handshake engine fed arbitrary datagrams, alone or
// through the handshake table (two peers, timers through its timer wheel),
// interleaved with timer ticks. The server is real: OpenSSL 3.0 DTLS 1.2
// with the PSK suites, cookies under a fixed secret; the seeds are real
// client flights that complete (handshake_fuzz.h explains the input format
// and why OpenSSL's randomness and clock are made deterministic; this
// program links fake_clock.cc).
//
// Properties:
//  - no crash, no leak, no sanitizer finding;
//  - no datagram the server sends is larger than the configured path MTU;
//  - an engine's state only moves forward: in_progress, then complete or
//    failed, never back, and a failure reason appears exactly when failed;
//  - after an engine reports complete it never sends an epoch-1 record of
//    its own again: whatever it sends is a byte-for-byte copy of its cached
//    final flight, and the handover's last epoch-1 sequence number is the
//    highest one the engine ever sent (DESIGN.md: the dataplane numbers
//    above it, so a new one would reuse a nonce);
//  - the table holds only running engines, each with exactly one armed
//    timer, never more than its limits, and next_wakeup() is never later
//    than the earliest engine deadline (rounded up to the 1 ms tick);
//  - a table Result carries a handover or a failure, not both, and the
//    peer's engine is gone after either; a peer whose handshake completed
//    gets no epoch-1 record until a new handshake starts for it.
//
// First finding: an empty datagram made the datagram BIO memcpy from a null
// pointer (UBSan; datagram_bio.cc now skips the copy).
//
// A campaign (seeds are ~400 bytes: let inputs grow past them; without
// halt_on_error a UBSan finding only scrolls by):
//   mkdir -p /tmp/hs && UBSAN_OPTIONS=halt_on_error=1 \
//     build-san/tests/fuzz/handshake_engine_fuzz -max_len=4096 -max_total_time=3600 \
//     /tmp/hs tests/fuzz/corpus/handshake_engine_fuzz
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "dtls_record/record_walker.h"
#include "handshake/handshake_engine.h"
#include "handshake/handshake_table.h"
#include "tests/fuzz/fuzz_keys.h"
#include "tests/fuzz/handshake_fuzz.h"

namespace dtlsgw::handshake::fuzz {
namespace {

// The epoch-1 sequence numbers of a datagram's records.
void epoch1_sequences(const Datagram& d, std::vector<uint64_t>& out) {
  Datagram copy = d;
  record::RecordWalker walker(copy);
  record::RecordView r;
  while (walker.next(r)) {
    if (r.header.number.epoch() == record::Epoch{1}) {
      out.push_back(r.header.number.sequence());
    }
  }
}

class Checker {
 public:
  explicit Checker(Driver& driver) : driver_(driver) {}

  void sent(const std::vector<Driver::Sent>& out) {
    for (const Driver::Sent& s : out) {
      FUZZ_CHECK(static_cast<long>(s.datagram.size()) <= driver_.selector().mtu);
    }
    if (!driver_.selector().engine_mode) {
      table(out);
    } else if (driver_.engine() != nullptr) {
      engine(out);
    } else {
      FUZZ_CHECK(out.empty());  // nothing started yet
    }
  }

  void finish() {
    HandshakeEngine* e = driver_.engine();
    if (e != nullptr && e->has_handover()) {
      const Handover h = e->take_handover();
      FUZZ_CHECK(highest_epoch1_.has_value() && h.server_last_sequence == *highest_epoch1_);
    }
  }

 private:
  void engine(const std::vector<Driver::Sent>& out) {
    HandshakeEngine& e = *driver_.engine();
    const HandshakeState now = e.state();
    FUZZ_CHECK((now == HandshakeState::failed) == (e.failure() != FailureReason::none));
    if (previous_.has_value() && *previous_ != HandshakeState::in_progress) {
      FUZZ_CHECK(now == *previous_);
    }
    if (previous_ == HandshakeState::complete) {
      // After completion: only copies of the cached final flight.
      for (const Driver::Sent& s : out) {
        const auto& cached = e.final_flight();
        FUZZ_CHECK(std::find(cached.begin(), cached.end(), s.datagram) != cached.end());
      }
    } else {
      std::vector<uint64_t> sequences;
      for (const Driver::Sent& s : out) {
        epoch1_sequences(s.datagram, sequences);
      }
      for (uint64_t q : sequences) {
        highest_epoch1_ = std::max(highest_epoch1_.value_or(0), q);
      }
    }
    if (now == HandshakeState::complete) {
      FUZZ_CHECK(e.next_deadline() == TimePoint::max());
    }
    previous_ = now;
  }

  void table(const std::vector<Driver::Sent>& out) {
    HandshakeTable& t = *driver_.table();
    using D = HandshakeTable::Disposition;
    // The completing call sends the final flight (epoch 1); the check is on
    // the calls after it.
    const bool completed_before[2] = {completed_[0], completed_[1]};
    auto settled = [&](unsigned peer, const HandshakeTable::Result& r) {
      FUZZ_CHECK(!(r.handover.has_value() && r.failure.has_value()));
      if (r.handover.has_value()) {
        FUZZ_CHECK(r.handover->peer == fuzz_peer(peer));
        completed_[peer] = true;
      }
      if ((r.handover.has_value() || r.failure.has_value()) && r.disposition != D::start_failed) {
        FUZZ_CHECK(t.find(fuzz_peer(peer)) == nullptr);
      }
      if (r.disposition == D::started || r.disposition == D::restarted) {
        completed_[peer] = false;
      }
    };
    if (const auto& r = driver_.last_result(); r.has_value()) {
      settled(driver_.last_peer(), *r);
    }
    for (const HandshakeTable::TimerOutcome& o : driver_.last_tick()) {
      FUZZ_CHECK(o.result.disposition == D::timer);
      FUZZ_CHECK(o.result.failure.has_value() || !o.result.to_send.empty());
      settled(o.peer == fuzz_peer(0) ? 0 : 1, o.result);
    }
    for (const Driver::Sent& s : out) {
      if (completed_before[s.peer] && completed_[s.peer]) {
        std::vector<uint64_t> sequences;
        epoch1_sequences(s.datagram, sequences);
        FUZZ_CHECK(sequences.empty());
      }
    }
    // The table's own invariants.
    FUZZ_CHECK(t.size() <= 2 && t.timers_armed() == t.size());
    TimePoint earliest = TimePoint::max();
    for (unsigned p = 0; p < 2; ++p) {
      if (const HandshakeEngine* e = t.find(fuzz_peer(p)); e != nullptr) {
        FUZZ_CHECK(e->state() == HandshakeState::in_progress);
        FUZZ_CHECK(e->next_deadline() != TimePoint::max());
        earliest = std::min(earliest, e->next_deadline());
      }
    }
    const std::optional<TimePoint> wake = t.next_wakeup();
    FUZZ_CHECK(wake.has_value() == (t.size() > 0));
    if (wake.has_value()) {
      FUZZ_CHECK(*wake < earliest + 1ms);
    }
  }

  Driver& driver_;
  std::optional<HandshakeState> previous_;
  std::optional<uint64_t> highest_epoch1_;
  bool completed_[2] = {false, false};
};

FuzzServer& server() {
  static FuzzServer s;
  return s;
}

}  // namespace
}  // namespace dtlsgw::handshake::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dtlsgw::handshake::fuzz;
  if (size == 0) {
    return 0;
  }
  FuzzServer& s = server();
  Driver driver(s, decode_selector(data[0]));
  Checker check(driver);
  for (const Operation& op : parse_operations({data + 1, size - 1})) {
    check.sent(op.tick ? driver.tick(op.step) : driver.datagram(op.peer, op.datagram));
  }
  check.sent(driver.tick(kFinalTick));
  check.finish();
  return 0;
}
