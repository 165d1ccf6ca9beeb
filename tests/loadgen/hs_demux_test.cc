// The handshake mode's demultiplexing (bench/loadgen/hs_demux.h): every
// handshake its own source address:port, and a frame the gateway sends to
// one is handed back to that client's slot.
#include "bench/loadgen/hs_demux.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "bench/loadgen/frames.h"
#include "bench/loadgen/hs_client.h"

namespace dtlsgw::loadgen {
namespace {

TEST(HsDemux, EndpointsAreDistinctAndInTheBenchmarkingRange) {
  std::set<uint64_t> seen;
  // Across the wrap from the last address of 198.18.0.0/15 to the next port.
  for (uint64_t n = 0; n < 300000; ++n) {
    const ClientEndpoint e = client_endpoint(n);
    const uint32_t host = __builtin_bswap32(e.address.be);
    ASSERT_EQ(host & 0xfffe0000u, 0xc6120000u) << n;  // RFC 2544: 198.18.0.0/15
    ASSERT_GE(e.port, 1024);
    ASSERT_TRUE(seen.insert(endpoint_key(e.address, e.port)).second) << n;
  }
}

TEST(HsDemux, AnswersGoToTheSlotOfTheirDestination) {
  ClientDemux demux;
  for (uint32_t slot = 0; slot < 100; ++slot) {
    ASSERT_TRUE(demux.add(client_endpoint(slot * 7), slot));
  }
  EXPECT_FALSE(demux.add(client_endpoint(7), 99));  // taken
  EXPECT_EQ(demux.size(), 100u);

  // A frame from the gateway to client 21 (slot 3), built and parsed with
  // the dataplane's packet.h as the port would carry it.
  const ClientEndpoint client = client_endpoint(21);
  packet::UdpEndpoints e;
  e.source = *dataplane::parse_ipv4("192.0.2.1");
  e.source_port = 4433;
  e.destination = client.address;
  e.destination_port = client.port;
  const uint8_t payload[] = {22, 0xfe, 0xfd, 0, 0};
  uint8_t frame_bytes[128];
  const size_t length = write_udp_frame(frame_bytes, e, payload, 1);
  ASSERT_GT(length, 0u);
  packet::Frame frame;
  ASSERT_EQ(packet::parse_frame({frame_bytes, length}, frame), packet::FrameResult::udp);
  const auto slot = demux.find(frame.destination, frame.destination_port);
  ASSERT_TRUE(slot.has_value());
  EXPECT_EQ(*slot, 3u);
  EXPECT_EQ(frame.payload_length, sizeof payload);

  // Another port of the same address, or another address, is nobody's.
  EXPECT_FALSE(demux.find(client.address, static_cast<uint16_t>(client.port + 1)).has_value());
  EXPECT_FALSE(demux.find(client_endpoint(22).address, client.port).has_value());
  demux.remove(client);
  EXPECT_FALSE(demux.find(client.address, client.port).has_value());
  EXPECT_TRUE(demux.add(client, 3));
}

TEST(HsDemux, EchoReplySwapsEndpoints) {
  packet::UdpEndpoints e;
  e.source_mac = *dataplane::parse_mac("02:00:00:00:00:01");
  e.destination_mac = *dataplane::parse_mac("02:00:00:00:00:02");
  e.source = *dataplane::parse_ipv4("10.0.0.1");
  e.destination = *dataplane::parse_ipv4("10.0.0.2");
  e.source_port = 20001;
  e.destination_port = 7;
  const uint8_t payload[] = {'h', 'i'};
  uint8_t bytes[128];
  const size_t length = write_udp_frame(bytes, e, payload, 9);
  packet::Frame frame;
  ASSERT_EQ(packet::parse_frame({bytes, length}, frame), packet::FrameResult::udp);
  const MacAddress ours = *dataplane::parse_mac("02:00:00:00:00:02");
  const packet::UdpEndpoints r = reply_endpoints(frame, ours);
  EXPECT_EQ(r.source, e.destination);
  EXPECT_EQ(r.destination, e.source);
  EXPECT_EQ(r.source_port, 7);
  EXPECT_EQ(r.destination_port, 20001);
  EXPECT_EQ(r.destination_mac, e.source_mac);
  EXPECT_EQ(r.source_mac, ours);
  // Too small a buffer is refused, not overrun.
  EXPECT_EQ(write_udp_frame({bytes, length - 1}, e, payload, 9), 0u);
}

TEST(HsDemux, PskKeysParseAsTheControlProcessFileWritesThem) {
  std::vector<uint8_t> key;
  ASSERT_TRUE(parse_hex("00112233445566778899aabbccddeeFF", key));
  ASSERT_EQ(key.size(), 16u);
  EXPECT_EQ(key[0], 0x00);
  EXPECT_EQ(key[15], 0xff);
  EXPECT_FALSE(parse_hex("abc", key));
  EXPECT_FALSE(parse_hex("zz", key));
}

}  // namespace
}  // namespace dtlsgw::loadgen
