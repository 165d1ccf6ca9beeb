#include "handshake/datagram_bio.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace dtlsgw::handshake {
namespace {

DatagramLink* link_of(BIO* bio) { return static_cast<DatagramLink*>(BIO_get_data(bio)); }

int datagram_write(BIO* bio, const char* data, int length) {
  BIO_clear_retry_flags(bio);
  DatagramLink* link = link_of(bio);
  if (link == nullptr || length < 0) {
    return -1;
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(data);
  link->outbound.emplace_back(bytes, bytes + length);
  return length;
}

int datagram_read(BIO* bio, char* data, int length) {
  BIO_clear_retry_flags(bio);
  DatagramLink* link = link_of(bio);
  if (link == nullptr || length < 0) {
    return -1;
  }
  if (link->inbound.empty()) {
    // As a non-blocking socket with nothing queued.
    BIO_set_retry_read(bio);
    return -1;
  }
  // As recv() on a UDP socket: the datagram is consumed whole, truncated to
  // the buffer (OpenSSL reads into a buffer larger than any record).
  const Datagram& d = link->inbound.front();
  const size_t n = std::min(d.size(), static_cast<size_t>(length));
  if (n != 0) {  // an empty datagram's data() may be null: no memcpy from it
    std::memcpy(data, d.data(), n);
  }
  link->inbound.pop_front();
  return static_cast<int>(n);
}

long fill_peer(const PeerAddress& peer, BIO_ADDR* out) {
  if (out == nullptr) {
    return 0;
  }
  const unsigned short port = htons(peer.port);
  if (peer.family == PeerAddress::Family::ipv4) {
    return BIO_ADDR_rawmake(out, AF_INET, peer.address, 4, port) ? sizeof(sockaddr_in) : 0;
  }
  return BIO_ADDR_rawmake(out, AF_INET6, peer.address, 16, port) ? sizeof(sockaddr_in6) : 0;
}

long datagram_ctrl(BIO* bio, int cmd, long num, void* ptr) {
  DatagramLink* link = link_of(bio);
  if (link == nullptr) {
    return 0;
  }
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      // Every write is already a whole datagram handed over.
      return 1;
    case BIO_CTRL_PENDING:
      return link->inbound.empty() ? 0 : static_cast<long>(link->inbound.front().size());
    case BIO_CTRL_WPENDING:
      return 0;
    case BIO_CTRL_DGRAM_GET_PEER:
      return fill_peer(link->peer, static_cast<BIO_ADDR*>(ptr));
    case BIO_CTRL_DGRAM_SET_PEER:
    case BIO_CTRL_DGRAM_SET_CONNECTED:
      // The link has one peer; DTLSv1_listen sets it to the one it read.
      return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
      return link->mtu;
    case BIO_CTRL_DGRAM_SET_MTU:
      // OpenSSL raises a too-small MTU to its minimum and tells the BIO.
      return num;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
      return udp_overhead(link->peer.family);
    case BIO_CTRL_DGRAM_MTU_EXCEEDED:
      // Writes never fail for size here.
      return 0;
    case BIO_CTRL_PUSH:
    case BIO_CTRL_POP:
      // OpenSSL chains its write buffer BIO in front of this one.
      return 0;
    case BIO_CTRL_GET_KTLS_SEND:
    case BIO_CTRL_GET_KTLS_RECV:
      // No kernel TLS offload under a memory link.
      return 0;
    case BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT:
      // OpenSSL tells a socket BIO its next DTLS deadline so a blocking
      // recv can time out; the engine asks DTLSv1_get_timeout instead.
      return 0;
    default:
      if (std::find(link->unanswered_controls.begin(), link->unanswered_controls.end(), cmd) ==
          link->unanswered_controls.end()) {
        link->unanswered_controls.push_back(cmd);
      }
      return 0;
  }
}

int datagram_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

int datagram_destroy(BIO* bio) {
  BIO_set_data(bio, nullptr);
  return 1;
}

// The method, made once per process and kept until exit.
struct Method {
  Method() {
    const int index = BIO_get_new_index();
    if (index == -1) {
      return;
    }
    type = index | BIO_TYPE_SOURCE_SINK;
    BIO_METHOD* m = BIO_meth_new(type, "dtlsgw datagram");
    if (m == nullptr || !BIO_meth_set_write(m, datagram_write) ||
        !BIO_meth_set_read(m, datagram_read) || !BIO_meth_set_ctrl(m, datagram_ctrl) ||
        !BIO_meth_set_create(m, datagram_create) || !BIO_meth_set_destroy(m, datagram_destroy)) {
      BIO_meth_free(m);
      return;
    }
    method = m;
  }
  ~Method() { BIO_meth_free(method); }
  Method(const Method&) = delete;
  Method& operator=(const Method&) = delete;

  BIO_METHOD* method = nullptr;
  int type = 0;
};

const Method& datagram_method() {
  static const Method m;
  return m;
}

}  // namespace

BIO* new_datagram_bio(DatagramLink& link) {
  const Method& m = datagram_method();
  if (m.method == nullptr) {
    return nullptr;
  }
  BIO* bio = BIO_new(m.method);
  if (bio != nullptr) {
    BIO_set_data(bio, &link);
  }
  return bio;
}

DatagramLink* datagram_link(BIO* bio) {
  const Method& m = datagram_method();
  if (bio == nullptr || m.method == nullptr || BIO_method_type(bio) != m.type) {
    return nullptr;
  }
  return link_of(bio);
}

}  // namespace dtlsgw::handshake
