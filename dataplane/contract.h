// The contract between the dataplane (DPDK primary) and the control process
// (DPDK secondary): ring and memzone names, and the fixed-size messages they
// carry (DESIGN.md, "The contract"). Both processes include this header and
// nothing else of each other.
//
// Rules:
// - Every message is plain data, copied by value into ring slots
//   (rte_ring_*_elem), starts with a MessageHeader and is checked on receipt
//   (version, type, every count against its array). A message that fails a
//   check is dropped and counted, never trusted.
// - Mbufs cross in messages only from the pools named here (punt, ctl-tx);
//   the receiver frees them. Both processes map hugepages at the same
//   addresses (DPDK multi-process), so the pointers are valid in both.
// - A full ring drops and counts; nobody ever blocks on a ring.
// - Key bytes in a slot are wiped by the receiver after use.
// - The ready memzone is reserved last by the dataplane: once a secondary
//   finds it, every ring and pool it names exists.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "dataplane/net_types.h"
#include "handshake/cookie.h"

struct rte_mbuf;

namespace dtlsgw::contract {

// Bumped on any change of a message layout or of the memzone.
inline constexpr uint16_t kVersion = 2;  // 2: IPv6 flows

inline constexpr const char* kReadyZoneName = "dtlsgw_ready";
inline constexpr const char* kPuntRingName = "dtlsgw_punt";
inline constexpr const char* kCtlTxRingName = "dtlsgw_ctl_tx";
inline constexpr const char* kEventRingName = "dtlsgw_events";
inline constexpr const char* kPuntPoolName = "dtlsgw_punt_pool";
inline constexpr const char* kCtlTxPoolName = "dtlsgw_ctl_pool";
// One keys ring per worker: "dtlsgw_keys_<worker index>".
inline constexpr const char* kKeysRingPrefix = "dtlsgw_keys_";

inline constexpr unsigned kMaxWorkers = 64;

enum class MessageType : uint16_t {
  punt = 1,          // dataplane → control: a datagram for the handshake engine
  ctl_tx = 2,        // control → dataplane: a datagram to send to a peer
  install = 3,       // control → owning worker: the handover
  close = 4,         // control → owning worker: close the session
  event = 5,         // dataplane → control
};

struct MessageHeader {
  uint16_t version = kVersion;
  MessageType type = MessageType::punt;
};

// A session is named by its outside flow: the peer's address and port and
// the listener's port (the gateway has one outside address per family, so
// the peer's family names the listener's address too). An IPv4 peer is
// held as its IPv4-mapped address (net_types.h, IpAddress), so one key
// serves both families and a v4 peer never equals a v6 one.
struct FlowKey {
  dataplane::IpAddress peer_address;  // network byte order
  uint16_t peer_port = 0;             // host order
  uint16_t listener_port = 0;         // host order
  friend bool operator==(const FlowKey&, const FlowKey&) = default;

  static FlowKey v4(uint32_t be_address, uint16_t peer_port, uint16_t listener_port) {
    return FlowKey{dataplane::IpAddress::from(dataplane::Ipv4{be_address}), peer_port,
                   listener_port};
  }
  bool is_v4() const { return peer_address.is_v4(); }
  // The peer as the handshake library names it (the cookie's input).
  handshake::PeerAddress peer() const {
    return is_v4() ? handshake::PeerAddress::v4(peer_address.bytes + 12, peer_port)
                   : handshake::PeerAddress::v6(peer_address.bytes, peer_port);
  }
};
static_assert(sizeof(FlowKey) == 20);

// ---- punt ring (dataplane → control) ----------------------------------

struct PuntMessage {
  MessageHeader header{kVersion, MessageType::punt};
  uint16_t worker = 0;      // the flow's owning worker
  uint16_t flags = 0;       // kPuntCookieVerified, kPuntEstablished
  FlowKey flow;
  uint8_t peer_mac[6] = {};  // the frame's source MAC: where replies go
  uint16_t reserved = 0;
  rte_mbuf* datagram = nullptr;  // UDP payload only, from the punt pool
};
// The ClientHello carried a cookie that verified in the dataplane.
inline constexpr uint16_t kPuntCookieVerified = 1;
// The flow has an established session (RFC 6347 §4.2.8: a rebooted peer).
inline constexpr uint16_t kPuntEstablished = 2;

// ---- ctl-tx ring (control → dataplane) --------------------------------

struct CtlTxMessage {
  MessageHeader header{kVersion, MessageType::ctl_tx};
  uint16_t reserved = 0;
  uint16_t reserved2 = 0;
  FlowKey flow;
  uint8_t peer_mac[6] = {};  // echoed from the PuntMessage
  uint16_t reserved3 = 0;
  rte_mbuf* datagram = nullptr;  // UDP payload only, from the ctl-tx pool
};

// ---- keys rings (control, or the dataplane's telemetry → owning worker) -

// Who the peer authenticated as (PSK identity or certificate subject), as
// the dataplane keeps it per session: for the operator view, and to close
// every session of a revoked identity. Full identities can be long, so a
// prefix is kept for display and a hash of the whole for matching.
struct Identity {
  uint8_t kind = 0;         // handshake::PeerIdentity::Kind
  uint8_t prefix_length = 0;
  uint16_t length = 0;      // of the whole identity (capped at 65535)
  char prefix[20] = {};
  uint64_t hash = 0;        // identity_hash() of the whole identity
};
static_assert(sizeof(Identity) == 32);

// FNV-1a, 64 bits: stable across processes and builds (unlike std::hash).
inline uint64_t identity_hash(const char* data, size_t length) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < length; ++i) {
    h = (h ^ static_cast<uint8_t>(data[i])) * 0x100000001b3ull;
  }
  return h;
}

inline Identity make_identity(uint8_t kind, const char* data, size_t length) {
  Identity id;
  id.kind = kind;
  id.length = static_cast<uint16_t>(length > 65535 ? 65535 : length);
  id.hash = identity_hash(data, length);
  id.prefix_length = static_cast<uint8_t>(length < sizeof(id.prefix) ? length : sizeof(id.prefix));
  for (size_t i = 0; i < id.prefix_length; ++i) {
    id.prefix[i] = data[i];
  }
  return id;
}

inline bool same_identity(const Identity& a, const Identity& b) {
  return a.kind == b.kind && a.length == b.length && a.hash == b.hash &&
         a.prefix_length == b.prefix_length &&
         __builtin_memcmp(a.prefix, b.prefix, a.prefix_length) == 0;
}

inline constexpr size_t kMaxKeyLength = 32;
inline constexpr size_t kMaxIvLength = 12;
inline constexpr size_t kMaxForeignNonces = 8;
inline constexpr size_t kMaxClientSequences = 8;
inline constexpr size_t kMaxFinalFlightDatagrams = 4;
inline constexpr size_t kMaxPendingRecords = 4;

struct InstallMessage {
  MessageHeader header{kVersion, MessageType::install};
  uint8_t aead = 0;  // record::Aead
  uint8_t reserved = 0;
  FlowKey flow;
  uint8_t peer_mac[6] = {};  // echoed from the PuntMessage
  uint16_t suite = 0;  // IANA number, for the operator view
  Identity identity;
  uint8_t key_length = 0;
  uint8_t iv_length = 0;
  uint8_t client_write_key[kMaxKeyLength] = {};
  uint8_t server_write_key[kMaxKeyLength] = {};
  uint8_t client_write_iv[kMaxIvLength] = {};
  uint8_t server_write_iv[kMaxIvLength] = {};
  // Epoch 1, server → client: the first number the dataplane may use
  // (above OpenSSL's last), and OpenSSL's GCM explicit nonces (handover.h).
  uint64_t server_first_sequence = 0;
  uint32_t foreign_nonce_count = 0;
  uint32_t client_sequence_count = 0;
  uint64_t foreign_nonces[kMaxForeignNonces] = {};
  // Epoch 1, client → server: record numbers the handshake consumed; they
  // seed the replay window.
  uint64_t client_sequences[kMaxClientSequences] = {};
  // The final flight (payloads, from the ctl-tx pool): sent once the keys
  // are installed, then kept to answer a retransmitted client Finished.
  uint32_t final_flight_count = 0;
  uint32_t pending_record_count = 0;
  rte_mbuf* final_flight[kMaxFinalFlightDatagrams] = {};
  // Epoch-1 client records received before completion, opened as if they
  // had just arrived (ctl-tx pool).
  rte_mbuf* pending_records[kMaxPendingRecords] = {};
};

struct CloseMessage {
  MessageHeader header{kVersion, MessageType::close};
  uint16_t reason = 0;  // CloseReason
  uint16_t flags = 0;   // kCloseByIdentity
  FlowKey flow;
  Identity identity;    // with kCloseByIdentity: every session of it
};
// Close every session of this worker whose identity is `identity` (the
// flow is ignored): a PSK identity removed on reload.
inline constexpr uint16_t kCloseByIdentity = 1;

enum class CloseReason : uint16_t { administrative = 1, identity_revoked = 2, replaced = 3 };

// The keys ring's slot: one of the two, told apart by header.type.
union KeysSlot {
  MessageHeader header;
  InstallMessage install;
  CloseMessage close;
  KeysSlot() : install() {}
};

// ---- events ring (dataplane → control) --------------------------------

enum class EventKind : uint16_t {
  installed = 1,       // the session is established in the dataplane
  install_failed = 2,  // detail: InstallFailure
  closed = 3,          // detail: ClosedBy
  alert = 4,           // an authenticated alert: detail = level << 8 | description
  limit = 5,           // detail: 1 confidentiality limit (closing), 2 CCM-8 forgery alarm
  // An ICMP frag-needed / packet-too-big lowered the flow's path MTU (an
  // established session's, or a handshake's in progress): detail = the
  // new path MTU in bytes of IP packet (headers included). The control
  // process fits that peer's next handshake flights to it.
  path_mtu = 6,
};

enum class InstallFailure : uint16_t {
  bad_message = 1,
  table_full = 2,
  exists = 3,  // a session for the flow is already established (not replaced)
  bad_keys = 4,
  no_source_port = 5,
};

enum class ClosedBy : uint16_t {
  idle = 1,
  peer_close_notify = 2,
  peer_fatal_alert = 3,
  administrative = 4,
  usage_limit = 5,
  replaced = 6,
  identity_revoked = 7,
};

struct EventMessage {
  MessageHeader header{kVersion, MessageType::event};
  EventKind kind = EventKind::installed;
  uint16_t detail = 0;
  uint16_t worker = 0;
  FlowKey flow;
  uint64_t records_in = 0;
  uint64_t records_out = 0;
};

// ---- the ready memzone --------------------------------------------------

// Cookie secrets under a sequence lock: the control process rotates them
// (writer), every worker reads them (CookieMaker::set_secrets compares
// generations, so an unchanged secret costs one load per burst).
struct SharedCookieSecrets {
  std::atomic<uint32_t> sequence{0};  // odd while being written
  handshake::CookieSecrets secrets;
};

struct ReadyZone {
  uint32_t magic = 0;  // kReadyMagic once complete
  uint16_t version = kVersion;
  uint16_t workers = 0;  // number of worker (keys) rings
  uint32_t worker_lcores[kMaxWorkers] = {};
  // Bumped by the dataplane's main lcore about every 100 ms; a control
  // process that sees it stop exits (a primary cannot restart under it).
  std::atomic<uint64_t> dataplane_heartbeat{0};
  // Bumped by the control process on every loop; the dataplane reports a
  // stalled control process.
  std::atomic<uint64_t> control_heartbeat{0};
  std::atomic<uint32_t> control_pid{0};
  SharedCookieSecrets cookies;
  uint8_t outside_address[4] = {};
  uint16_t mtu = 0;
  uint8_t has_outside_address6 = 0;
  uint8_t outside_address6[16] = {};
};
inline constexpr uint32_t kReadyMagic = 0x64746c73;  // "dtls"

static_assert(std::is_trivially_copyable_v<PuntMessage>);
static_assert(std::is_trivially_copyable_v<CtlTxMessage>);
static_assert(std::is_trivially_copyable_v<InstallMessage>);
static_assert(std::is_trivially_copyable_v<CloseMessage>);
static_assert(std::is_trivially_copyable_v<EventMessage>);
// rte_ring_*_elem needs element sizes that are multiples of 4.
static_assert(sizeof(PuntMessage) % 4 == 0 && sizeof(CtlTxMessage) % 4 == 0 &&
              sizeof(KeysSlot) % 4 == 0 && sizeof(EventMessage) % 4 == 0);

// Seqlock read of the cookie secrets; false if a writer was active
// (try again on the next burst).
inline bool read_cookie_secrets(const SharedCookieSecrets& shared, handshake::CookieSecrets& out) {
  const uint32_t before = shared.sequence.load(std::memory_order_acquire);
  if (before & 1) {
    return false;
  }
  out = shared.secrets;
  std::atomic_thread_fence(std::memory_order_acquire);
  return shared.sequence.load(std::memory_order_relaxed) == before;
}

inline void write_cookie_secrets(SharedCookieSecrets& shared,
                                 const handshake::CookieSecrets& in) {
  const uint32_t s = shared.sequence.load(std::memory_order_relaxed);
  shared.sequence.store(s + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  shared.secrets = in;
  shared.sequence.store(s + 2, std::memory_order_release);
}

}  // namespace dtlsgw::contract
