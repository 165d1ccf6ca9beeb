// The handover as the control process sends it (DESIGN.md, "Keys, epochs
// and the handover"): a completed engine's Handover turned into the
// contract's InstallMessage for the owning worker's keys ring.
//
// Every count is checked against its array before anything is copied
// (contract.h: the receiver checks too, but a message that cannot be
// represented is an error here, never silently truncated: dropping a
// client sequence number would let the dataplane accept a consumed record
// again, dropping a foreign nonce would let it reuse a GCM nonce). The
// final flight and the pending client records become mbufs from the ctl-tx
// pool; the keys ring's receiver frees them.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "dataplane/contract.h"
#include "handshake/handover.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

namespace dtlsgw::control {

enum class InstallError : uint8_t {
  ok,
  no_keys,                          // the Handover's keys are empty
  key_too_long,                     // longer than contract::kMaxKeyLength
  iv_too_long,                      // longer than contract::kMaxIvLength
  peer_mismatch,                    // the Handover's peer is not the flow's
  too_many_final_flight_datagrams,  // > contract::kMaxFinalFlightDatagrams
  too_many_pending_records,         // > contract::kMaxPendingRecords
  too_many_client_sequences,        // > contract::kMaxClientSequences
  too_many_foreign_nonces,          // > contract::kMaxForeignNonces
  datagram_too_large,               // does not fit one ctl-tx mbuf
  mbuf_alloc,                       // the ctl-tx pool is empty
};
std::string_view to_string(InstallError e);

// A single-segment mbuf from `pool` holding `bytes`, or nullptr (pool
// empty, or more bytes than one mbuf holds).
rte_mbuf* datagram_mbuf(rte_mempool* pool, std::span<const uint8_t> bytes);

// Fills `out` from `handover` for the session of `flow` (from the punt
// message that started the handshake; `peer_mac` likewise). On any error
// `out` is wiped and holds no mbuf. On success the caller owns the mbufs
// in `out` until it is enqueued (enqueue_install), and must wipe `out`
// (wipe_install_message) if it is not.
[[nodiscard]] InstallError make_install_message(const handshake::Handover& handover,
                                                const contract::FlowKey& flow,
                                                const uint8_t peer_mac[6], rte_mempool* pool,
                                                contract::InstallMessage& out);

// Frees the mbufs `msg` holds and wipes it (key bytes included).
void wipe_install_message(contract::InstallMessage& msg);

// Copies `msg` into a keys-ring slot and enqueues it (never blocks). Either
// way `msg` and the stack slot are wiped; if the ring is full the mbufs are
// freed and false is returned.
[[nodiscard]] bool enqueue_install(rte_ring* keys_ring, contract::InstallMessage& msg);

}  // namespace dtlsgw::control
