// The dataplane's counters, declared once with a description each (the VPP
// way): per worker, plain uint64 written only by their worker, read by
// telemetry and the summary line without locks (a torn read of a counter
// being incremented is impossible for an aligned 64-bit word on x86-64).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dtlsgw::dataplane {

// X(name, description)
#define DTLSGW_COUNTERS(X)                                                                        \
  X(rx_packets, "frames received on the outside port")                                           \
  X(rx_inside_packets, "frames received on the inside port")                                     \
  X(tx_packets, "frames sent on the outside port")                                               \
  X(tx_inside_packets, "frames sent on the inside port")                                         \
  X(tx_dropped, "frames the device did not take (tx queue full)")                                \
  X(arp_replies_sent, "ARP requests for the gateway's own addresses answered")                   \
  X(arp_learned, "next-hop MAC addresses learned from ARP")                                      \
  X(arp_requests_sent, "ARP requests sent to resolve next hops")                                 \
  X(drop_not_ipv4, "frames of another EtherType")                                                \
  X(drop_malformed_frame, "truncated frames, bad IPv4 headers or UDP lengths")                   \
  X(drop_bad_checksum, "frames the device found a bad IP header or UDP checksum in (rx offload)")   \
  X(drop_ip_fragment, "IP fragments not reassembled (inside port, or no fragment table)")        \
  X(drop_not_udp, "IP packets of another protocol")                                            \
  X(drop_not_for_us, "UDP datagrams not addressed to a listener or inside flow")                 \
  X(drop_bad_record_header, "datagrams whose DTLS records could not be framed")                  \
  X(drop_unknown_session, "records of flows with no session and no handshake")                   \
  X(drop_epoch0_established, "epoch-0 records of established sessions (not a ClientHello)")      \
  X(drop_wrong_epoch, "records of an epoch the session does not read")                           \
  X(drop_replay, "records whose number was already received")                                    \
  X(drop_too_old, "records left of the replay window")                                           \
  X(drop_auth_failed, "records whose AEAD tag did not verify")                                   \
  X(drop_forgery_hold, "records of a CCM-8 session under forgery alarm, held back (rate limit)")  \
  X(drop_record_malformed, "records too short for nonce and tag, or too long")                   \
  X(drop_crypto_engine, "records the crypto engine refused")                                     \
  X(drop_bad_client_hello, "ClientHellos that failed strict parsing")                            \
  X(drop_bad_cookie, "ClientHellos with a cookie that did not verify")                           \
  X(drop_no_cookie_secret, "ClientHellos received before any cookie secret existed")             \
  X(drop_unexpected_content, "authenticated records of a type not carried (e.g. renegotiation)") \
  X(hello_verify_requests, "HelloVerifyRequests sent")                                           \
  X(punted, "datagrams punted to the control process")                                           \
  X(punt_rate_limited, "datagrams not punted: token bucket empty")                               \
  X(punt_ring_full, "datagrams not punted: punt ring full")                                      \
  X(punt_pool_empty, "datagrams not punted: punt mbuf pool empty")                               \
  X(records_decrypted, "records opened and authenticated")                                       \
  X(records_encrypted, "records sealed")                                                         \
  X(plaintext_forwarded, "plaintext datagrams sent to backends")                                 \
  X(drop_no_next_hop, "datagrams dropped: next-hop MAC not resolved yet")                        \
  X(drop_seal_failed, "plaintext datagrams that could not be sealed (limit, too long)")          \
  X(drop_mbuf_alloc, "frames not built: mbuf pool empty")                                        \
  X(handoff_sent, "packets handed to the owning worker")                                         \
  X(handoff_received, "packets received from another worker")                                   \
  X(handoff_ring_full, "packets dropped: the owner's hand-off ring was full")                    \
  X(alerts_received, "authenticated alerts passed to control")                                   \
  X(final_flight_resent, "final flights resent for a retransmitted client Finished")             \
  X(final_flight_rate_limited, "retransmitted client Finisheds not answered (rate limit)")       \
  X(ctl_tx_sent, "handshake datagrams from control sent to peers")                               \
  X(ctl_tx_bad_message, "ctl-tx messages that failed their checks")                              \
  X(keys_bad_message, "keys-ring messages that failed their checks")                             \
  X(sessions_installed, "sessions installed by handover")                                        \
  X(sessions_closed, "sessions closed (idle, alert, limit, administrative)")                     \
  X(session_table_full, "handovers refused: session table full")                                 \
  X(source_pool_exhausted, "handovers refused: no free inside source address:port for the backend") \
  X(events_sent, "events sent to control")                                                       \
  X(event_ring_full, "events dropped: events ring full")                                         \
  X(event_ring_reserved, "events dropped: the ring's last slots are kept for confirmations")     \
  X(usage_limit_closes, "sessions closed at the AEAD confidentiality limit")                     \
  X(ccm8_forgery_alarms, "CCM-8 sessions past the forgery alarm threshold")                     \
  /* ---- backend identity, source pools, rate limits ---- */                                   \
  X(proxy_headers_sent, "datagrams sent to backends behind a PROXY v2 header")                   \
  X(proxy_header_copies, "PROXY v2 datagrams built by copy (no headroom, or several records)")   \
  X(drop_proxy_header, "datagrams to backends dropped: PROXY v2 header not encodable")           \
  X(drop_session_rate, "datagrams to backends dropped: over the session's rate limit")           \
  X(drop_listener_rate, "datagrams to backends dropped: over the listener's rate (worker share)") \
  /* ---- fragments and path MTU (fragments.h, icmp.h) ---- */                                  \
  X(fragments_received, "IP fragments addressed to the gateway, handed to reassembly")           \
  X(datagrams_reassembled, "datagrams reassembled from fragments")                               \
  X(drop_fragment_duplicate, "fragments dropped: an exact duplicate of one seen (network copy)") \
  X(drop_fragment_invalid, "fragments dropped: empty, not a multiple of 8, too long, bad header") \
  X(drop_fragment_no_buffer, "fragments dropped: the reassembly buffers are all held (flood)")   \
  X(drop_fragment_datagram, "fragments dropped with a datagram given up (overlap, repeats, > 8; table full)") \
  X(drop_fragment_too_big, "reassembled datagrams dropped: over the size limit or no buffer")     \
  X(fragments_expired, "fragments freed because their datagram did not complete in time")        \
  X(icmp_path_mtu_lowered, "ICMP frag-needed / packet-too-big that lowered a flow's path MTU")   \
  X(drop_icmp_not_ours, "path MTU reports for a flow without session or handshake, or no lower") \
  X(drop_icmp_invalid, "ICMP messages malformed, with a bad checksum or a bad quote")            \
  X(drop_icmp_other, "ICMP messages of other types (ignored)")                                   \
  X(drop_over_path_mtu, "backend datagrams whose record exceeds the peer's path MTU")            \
  X(icmp_frag_needed_sent, "ICMP(v6) errors sent to backends whose records exceed the path MTU") \
  /* IPv6 and VLANs (issue 6) */                                                                 \
  X(nd_advertisements_sent, "neighbour solicitations for the gateway's IPv6 addresses answered") \
  X(nd_learned, "next-hop MAC addresses learned from neighbour advertisements")                  \
  X(nd_solicitations_sent, "neighbour solicitations sent to resolve IPv6 next hops")             \
  X(drop_bad_neighbor_discovery, "neighbour discovery messages failing RFC 4861 section 7.1")    \
  X(drop_wrong_vlan, "frames without the port's 802.1Q VLAN id (or tagged on an untagged port)") \
  X(path_mtu_raised, "path MTUs lowered by ICMP restored after dataplane.path_mtu_timeout")

enum class Counter : uint16_t {
#define DTLSGW_COUNTER_ENUM(name, description) name,
  DTLSGW_COUNTERS(DTLSGW_COUNTER_ENUM)
#undef DTLSGW_COUNTER_ENUM
};

inline constexpr size_t kCounterCount = 0
#define DTLSGW_COUNTER_ONE(name, description) +1
    DTLSGW_COUNTERS(DTLSGW_COUNTER_ONE)
#undef DTLSGW_COUNTER_ONE
    ;

struct CounterInfo {
  std::string_view name;
  std::string_view description;
};
const CounterInfo& counter_info(Counter c);

struct alignas(64) WorkerCounters {
  std::array<uint64_t, kCounterCount> values{};

  void add(Counter c, uint64_t n = 1) { values[static_cast<size_t>(c)] += n; }
  uint64_t get(Counter c) const {
    return __atomic_load_n(&values[static_cast<size_t>(c)], __ATOMIC_RELAXED);
  }
};

}  // namespace dtlsgw::dataplane
