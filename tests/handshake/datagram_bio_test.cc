// The datagram BIO: boundaries kept both ways, and the datagram controls
// OpenSSL 3.0 asks (DESIGN.md, "OpenSSL 3.0 facts behind the handover").
#include "handshake/datagram_bio.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>

namespace dtlsgw::handshake {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

TEST(DatagramBio, WritesAreDatagramsAndReadsTakeOneEach) {
  DatagramLink link;
  Bio bio(new_datagram_bio(link));
  ASSERT_NE(bio, nullptr);
  EXPECT_EQ(datagram_link(bio.get()), &link);
  EXPECT_EQ(BIO_write(bio.get(), "abc", 3), 3);
  EXPECT_EQ(BIO_write(bio.get(), "de", 2), 2);
  ASSERT_EQ(link.outbound.size(), 2u);
  EXPECT_EQ(link.outbound[0], (Datagram{'a', 'b', 'c'}));
  EXPECT_EQ(link.outbound[1], (Datagram{'d', 'e'}));
  EXPECT_EQ(BIO_flush(bio.get()), 1);

  char buf[8];
  EXPECT_EQ(BIO_read(bio.get(), buf, sizeof(buf)), -1);
  EXPECT_TRUE(BIO_should_retry(bio.get())) << "empty: retry, as a non-blocking socket";
  link.inbound.push_back({1, 2, 3, 4, 5});
  link.inbound.push_back({6});
  EXPECT_EQ(BIO_ctrl_pending(bio.get()), 5u);
  // Truncated to the buffer, as recv() on UDP; the rest of it is gone.
  EXPECT_EQ(BIO_read(bio.get(), buf, 3), 3);
  EXPECT_EQ(std::memcmp(buf, "\1\2\3", 3), 0);
  EXPECT_EQ(BIO_read(bio.get(), buf, sizeof(buf)), 1);
  EXPECT_EQ(buf[0], 6);
  EXPECT_TRUE(link.inbound.empty());
}

TEST(DatagramBio, AnswersPeerMtuAndOverhead) {
  DatagramLink link;
  const uint8_t v4[4] = {192, 0, 2, 33};
  link.peer = PeerAddress::v4(v4, 5684);
  link.mtu = 1000;
  Bio bio(new_datagram_bio(link));
  BIO_ADDR* addr = BIO_ADDR_new();
  EXPECT_GT(BIO_dgram_get_peer(bio.get(), addr), 0);
  EXPECT_EQ(BIO_ADDR_family(addr), AF_INET);
  EXPECT_EQ(ntohs(BIO_ADDR_rawport(addr)), 5684);
  uint8_t raw[16];
  size_t raw_length = sizeof(raw);
  ASSERT_EQ(BIO_ADDR_rawaddress(addr, raw, &raw_length), 1);
  ASSERT_EQ(raw_length, 4u);
  EXPECT_EQ(std::memcmp(raw, v4, 4), 0);
  EXPECT_EQ(BIO_ctrl(bio.get(), BIO_CTRL_DGRAM_QUERY_MTU, 0, nullptr), 1000);
  EXPECT_EQ(BIO_ctrl(bio.get(), BIO_CTRL_DGRAM_GET_MTU_OVERHEAD, 0, nullptr), 28);

  uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};
  v6[15] = 7;
  link.peer = PeerAddress::v6(v6, 443);
  EXPECT_GT(BIO_dgram_get_peer(bio.get(), addr), 0);
  EXPECT_EQ(BIO_ADDR_family(addr), AF_INET6);
  EXPECT_EQ(ntohs(BIO_ADDR_rawport(addr)), 443);
  raw_length = sizeof(raw);
  ASSERT_EQ(BIO_ADDR_rawaddress(addr, raw, &raw_length), 1);
  ASSERT_EQ(raw_length, 16u);
  EXPECT_EQ(std::memcmp(raw, v6, 16), 0);
  EXPECT_EQ(BIO_ctrl(bio.get(), BIO_CTRL_DGRAM_GET_MTU_OVERHEAD, 0, nullptr), 48);
  BIO_ADDR_free(addr);
  EXPECT_TRUE(link.unanswered_controls.empty());
  EXPECT_EQ(BIO_ctrl(bio.get(), BIO_CTRL_DGRAM_SCTP_MSG_WAITING, 0, nullptr), 0);
  EXPECT_EQ(link.unanswered_controls, std::vector<int>{BIO_CTRL_DGRAM_SCTP_MSG_WAITING});
}

TEST(DatagramBio, ForeignBioHasNoLink) {
  Bio mem(BIO_new(BIO_s_mem()));
  EXPECT_EQ(datagram_link(mem.get()), nullptr);
  EXPECT_EQ(datagram_link(nullptr), nullptr);
}

}  // namespace
}  // namespace dtlsgw::handshake
