#include "tests/oracle/datagram_bio.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace dtlsgw::oracle {
namespace {

struct Link {
  DatagramQueue* in;
  DatagramQueue* out;
};

Link* link_of(BIO* bio) { return static_cast<Link*>(BIO_get_data(bio)); }

int datagram_write(BIO* bio, const char* data, int length) {
  BIO_clear_retry_flags(bio);
  if (length < 0) {
    return -1;
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(data);
  Datagram d(bytes, bytes + length);
  Link* link = link_of(bio);
  link->out->sent.push_back(d);
  link->out->in_flight.push_back(std::move(d));
  return length;
}

int datagram_read(BIO* bio, char* data, int length) {
  BIO_clear_retry_flags(bio);
  auto& queue = link_of(bio)->in->in_flight;
  if (queue.empty()) {
    BIO_set_retry_read(bio);
    return -1;
  }
  const Datagram& d = queue.front();
  const size_t n = std::min(d.size(), static_cast<size_t>(std::max(length, 0)));
  std::memcpy(data, d.data(), n);
  queue.pop_front();
  return static_cast<int>(n);
}

long datagram_ctrl(BIO* bio, int cmd, long /*num*/, void* ptr) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_PENDING: {
      const auto& queue = link_of(bio)->in->in_flight;
      return queue.empty() ? 0 : static_cast<long>(queue.front().size());
    }
    case BIO_CTRL_WPENDING:
      return 0;
    case BIO_CTRL_DGRAM_QUERY_MTU:
      return kDatagramBioMtu;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
      return kDatagramBioOverhead;
    case BIO_CTRL_DGRAM_GET_PEER: {
      // A fixed peer, 192.0.2.1:5684 (RFC 5737 documentation address).
      in_addr addr{};
      addr.s_addr = htonl(0xc0000201);
      if (ptr == nullptr || !BIO_ADDR_rawmake(static_cast<BIO_ADDR*>(ptr), AF_INET, &addr,
                                              sizeof(addr), htons(5684))) {
        return 0;
      }
      return static_cast<long>(sizeof(sockaddr_in));
    }
    default:
      return 0;
  }
}

int datagram_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

int datagram_destroy(BIO* bio) {
  delete link_of(bio);
  BIO_set_data(bio, nullptr);
  return 1;
}

struct MethodFree {
  void operator()(BIO_METHOD* m) const { BIO_meth_free(m); }
};

const BIO_METHOD* datagram_method() {
  static const std::unique_ptr<BIO_METHOD, MethodFree> method = [] {
    BIO_METHOD* m =
        BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "dtlsgw datagram queue");
    if (m == nullptr || !BIO_meth_set_write(m, datagram_write) ||
        !BIO_meth_set_read(m, datagram_read) || !BIO_meth_set_ctrl(m, datagram_ctrl) ||
        !BIO_meth_set_create(m, datagram_create) || !BIO_meth_set_destroy(m, datagram_destroy)) {
      BIO_meth_free(m);
      return std::unique_ptr<BIO_METHOD, MethodFree>();
    }
    return std::unique_ptr<BIO_METHOD, MethodFree>(m);
  }();
  return method.get();
}

}  // namespace

BIO* new_datagram_bio(DatagramQueue& in, DatagramQueue& out) {
  const BIO_METHOD* method = datagram_method();
  if (method == nullptr) {
    return nullptr;
  }
  BIO* bio = BIO_new(method);
  if (bio == nullptr) {
    return nullptr;
  }
  BIO_set_data(bio, new Link{&in, &out});
  return bio;
}

}  // namespace dtlsgw::oracle
