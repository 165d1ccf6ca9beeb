#include "control/install_message.h"

#include <openssl/crypto.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace dtlsgw::control {

std::string_view to_string(InstallError e) {
  switch (e) {
    case InstallError::ok:
      return "ok";
    case InstallError::no_keys:
      return "no_keys";
    case InstallError::key_too_long:
      return "key_too_long";
    case InstallError::iv_too_long:
      return "iv_too_long";
    case InstallError::peer_mismatch:
      return "peer_mismatch";
    case InstallError::too_many_final_flight_datagrams:
      return "too_many_final_flight_datagrams";
    case InstallError::too_many_pending_records:
      return "too_many_pending_records";
    case InstallError::too_many_client_sequences:
      return "too_many_client_sequences";
    case InstallError::too_many_foreign_nonces:
      return "too_many_foreign_nonces";
    case InstallError::datagram_too_large:
      return "datagram_too_large";
    case InstallError::mbuf_alloc:
      return "mbuf_alloc";
  }
  return "unknown";
}

rte_mbuf* datagram_mbuf(rte_mempool* pool, std::span<const uint8_t> bytes) {
  if (pool == nullptr || bytes.size() > UINT16_MAX) {
    return nullptr;
  }
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) {
    return nullptr;
  }
  char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(bytes.size()));
  if (p == nullptr) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  std::memcpy(p, bytes.data(), bytes.size());
  return m;
}

void wipe_install_message(contract::InstallMessage& msg) {
  const uint32_t flights =
      std::min<uint32_t>(msg.final_flight_count, contract::kMaxFinalFlightDatagrams);
  for (uint32_t i = 0; i < flights; ++i) {
    rte_pktmbuf_free(msg.final_flight[i]);
  }
  const uint32_t pending =
      std::min<uint32_t>(msg.pending_record_count, contract::kMaxPendingRecords);
  for (uint32_t i = 0; i < pending; ++i) {
    rte_pktmbuf_free(msg.pending_records[i]);
  }
  OPENSSL_cleanse(&msg, sizeof(msg));
  msg = contract::InstallMessage();
}

namespace {

// Copies `datagrams` into mbufs at `out`; on failure frees what it made.
InstallError copy_datagrams(rte_mempool* pool, const std::vector<handshake::Datagram>& datagrams,
                            rte_mbuf** out) {
  for (size_t i = 0; i < datagrams.size(); ++i) {
    rte_mbuf* m = datagram_mbuf(pool, datagrams[i]);
    if (m == nullptr) {
      for (size_t j = 0; j < i; ++j) {
        rte_pktmbuf_free(out[j]);
        out[j] = nullptr;
      }
      // An mbuf holds its data room less the headroom.
      const bool fits = pool != nullptr &&
                        datagrams[i].size() + RTE_PKTMBUF_HEADROOM <=
                            rte_pktmbuf_data_room_size(pool);
      return fits ? InstallError::mbuf_alloc : InstallError::datagram_too_large;
    }
    out[i] = m;
  }
  return InstallError::ok;
}

InstallError check(const handshake::Handover& h, const contract::FlowKey& flow) {
  const handshake::RecordKeys& keys = h.keys;
  if (!keys.valid()) {
    return InstallError::no_keys;
  }
  if (keys.client_write_key().size() > contract::kMaxKeyLength) {
    return InstallError::key_too_long;
  }
  if (keys.client_write_iv().size() > contract::kMaxIvLength) {
    return InstallError::iv_too_long;
  }
  // The handshake's peer is the flow's (an IPv4 flow holds its address
  // mapped, net_types.h).
  const bool same_address =
      h.peer.family == handshake::PeerAddress::Family::ipv4
          ? flow.is_v4() && std::memcmp(h.peer.address, flow.peer_address.bytes + 12, 4) == 0
          : !flow.is_v4() && std::memcmp(h.peer.address, flow.peer_address.bytes, 16) == 0;
  if (!same_address || h.peer.port != flow.peer_port) {
    return InstallError::peer_mismatch;
  }
  if (h.final_flight.size() > contract::kMaxFinalFlightDatagrams) {
    return InstallError::too_many_final_flight_datagrams;
  }
  if (h.client_pending_records.size() > contract::kMaxPendingRecords) {
    return InstallError::too_many_pending_records;
  }
  if (h.client_sequences.size() > contract::kMaxClientSequences) {
    return InstallError::too_many_client_sequences;
  }
  if (h.server_explicit_nonces.size() > contract::kMaxForeignNonces) {
    return InstallError::too_many_foreign_nonces;
  }
  return InstallError::ok;
}

}  // namespace

InstallError make_install_message(const handshake::Handover& h, const contract::FlowKey& flow,
                                  const uint8_t peer_mac[6], rte_mempool* pool,
                                  contract::InstallMessage& out) {
  wipe_install_message(out);
  if (const InstallError e = check(h, flow); e != InstallError::ok) {
    return e;
  }
  const handshake::RecordKeys& keys = h.keys;
  out.aead = static_cast<uint8_t>(keys.aead());
  out.flow = flow;
  std::memcpy(out.peer_mac, peer_mac, sizeof(out.peer_mac));
  out.suite = h.suite;
  out.identity = contract::make_identity(static_cast<uint8_t>(h.identity.kind),
                                         h.identity.name.data(), h.identity.name.size());
  out.key_length = static_cast<uint8_t>(keys.client_write_key().size());
  out.iv_length = static_cast<uint8_t>(keys.client_write_iv().size());
  std::memcpy(out.client_write_key, keys.client_write_key().data(), out.key_length);
  std::memcpy(out.server_write_key, keys.server_write_key().data(), out.key_length);
  std::memcpy(out.client_write_iv, keys.client_write_iv().data(), out.iv_length);
  std::memcpy(out.server_write_iv, keys.server_write_iv().data(), out.iv_length);
  out.server_first_sequence = h.server_first_free_sequence();
  out.foreign_nonce_count = static_cast<uint32_t>(h.server_explicit_nonces.size());
  std::copy(h.server_explicit_nonces.begin(), h.server_explicit_nonces.end(), out.foreign_nonces);
  out.client_sequence_count = static_cast<uint32_t>(h.client_sequences.size());
  std::copy(h.client_sequences.begin(), h.client_sequences.end(), out.client_sequences);

  InstallError e = copy_datagrams(pool, h.final_flight, out.final_flight);
  if (e != InstallError::ok) {
    wipe_install_message(out);
    return e;
  }
  out.final_flight_count = static_cast<uint32_t>(h.final_flight.size());
  e = copy_datagrams(pool, h.client_pending_records, out.pending_records);
  if (e != InstallError::ok) {
    wipe_install_message(out);
    return e;
  }
  out.pending_record_count = static_cast<uint32_t>(h.client_pending_records.size());
  return InstallError::ok;
}

bool enqueue_install(rte_ring* keys_ring, contract::InstallMessage& msg) {
  contract::KeysSlot slot;
  slot.install = msg;
  const bool sent = rte_ring_enqueue_elem(keys_ring, &slot, sizeof(slot)) == 0;
  // The ring's copy now owns the mbufs; ours only lose the key bytes.
  OPENSSL_cleanse(&slot, sizeof(slot));
  if (sent) {
    OPENSSL_cleanse(&msg, sizeof(msg));
    msg = contract::InstallMessage();
  } else {
    wipe_install_message(msg);
  }
  return sent;
}

}  // namespace dtlsgw::control
