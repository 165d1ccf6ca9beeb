// libFuzzer harness: ICMP path MTU reports (dataplane/icmp.h), parsed from
// whatever a router (or an attacker) sends the outside port.
//
// The first input byte picks the parser (even: ICMPv4 from an IPv4 header,
// odd: ICMPv6 from an IPv6 header); the rest is the packet.
//
// Properties:
//  - it reads only inside the input (ASan: libFuzzer hands us a heap
//    buffer of exactly `size` bytes) and never writes to it;
//  - a report's MTU is at least the family's minimum (68, 1280), below the
//    quoted packet's length, and its ports and addresses are the quote's
//    bytes; the quoted payload lies inside the input;
//  - an accepted ICMPv4 report is a checksum-correct message (RFC 1071 sum
//    over the message folds to all ones);
//  - the frag-needed (ICMPv4) or packet too big (ICMPv6) the gateway
//    writes for the quoted packet with the same MTU parses back to the
//    same report; the packet too big is refused only for a quote from ::
//    or a multicast source (RFC 4443 §2.4(e.6)).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "dataplane/icmp.h"
#include "tests/fuzz/fuzz_keys.h"

namespace dtlsgw::dataplane::icmp::fuzz {
namespace {

unsigned be16(const uint8_t* p) { return (unsigned{p[0]} << 8) | p[1]; }

unsigned slow_sum(const uint8_t* p, size_t n) {
  unsigned long s = 0;
  for (size_t i = 0; i < n; ++i) {
    s += (i % 2 == 0) ? unsigned{p[i]} << 8 : p[i];
  }
  while (s > 0xffff) {
    s = (s & 0xffff) + (s >> 16);
  }
  return static_cast<unsigned>(s);
}

bool inside(std::span<const uint8_t> part, const uint8_t* data, size_t size) {
  return part.empty() || (part.data() >= data && part.data() + part.size() <= data + size);
}

void check_v4(const uint8_t* data, size_t size) {
  Report r;
  const Result res = parse_icmpv4({data, size}, r);
  FUZZ_CHECK(static_cast<size_t>(res) < kResultCount);
  FUZZ_CHECK(to_string(res) != "invalid");
  if (res != Result::path_mtu) {
    return;
  }
  FUZZ_CHECK(!r.ipv6);
  FUZZ_CHECK(size >= 20 + 8 + 20 + 8);
  const size_t ihl = (data[0] & 15u) * 4u;
  const size_t total = be16(data + 2);
  FUZZ_CHECK(total <= size && data[9] == kIpProtocolIcmp);
  FUZZ_CHECK(slow_sum(data + ihl, total - ihl) == 0xffff);
  FUZZ_CHECK(data[ihl] == 3 && data[ihl + 1] == 4);
  FUZZ_CHECK(r.mtu >= kIpv4MinimumMtu && r.mtu < r.quoted_length);
  const uint8_t* q = data + ihl + 8;
  const size_t q_ihl = (q[0] & 15u) * 4u;
  FUZZ_CHECK(std::memcmp(r.source.data(), q + 12, 4) == 0);
  FUZZ_CHECK(std::memcmp(r.destination.data(), q + 16, 4) == 0);
  FUZZ_CHECK(r.source_port == be16(q + q_ihl) && r.destination_port == be16(q + q_ihl + 2));
  FUZZ_CHECK(r.quoted_length == be16(q + 2));
  FUZZ_CHECK(inside(r.quoted_payload, data, size));

  // What the gateway writes for that packet parses back to the same.
  const size_t q_size = total - ihl - 8;
  std::vector<uint8_t> out(kMaxIcmpv4ErrorLength);
  const uint32_t source = 0x0100000a;
  const size_t n =
      write_fragmentation_needed(out, {q, q_size}, source, static_cast<uint16_t>(r.mtu), 7);
  FUZZ_CHECK(n != 0 && n <= kMaxIcmpv4ErrorLength);
  FUZZ_CHECK(slow_sum(out.data(), 20) == 0xffff);
  Report back;
  FUZZ_CHECK(parse_icmpv4({out.data(), n}, back) == Result::path_mtu);
  FUZZ_CHECK(back.mtu == r.mtu && back.quoted_length == r.quoted_length);
  FUZZ_CHECK(back.source == r.source && back.destination == r.destination);
  FUZZ_CHECK(back.source_port == r.source_port && back.destination_port == r.destination_port);
}

void check_v6(const uint8_t* data, size_t size) {
  Report r;
  const Result res = parse_icmpv6({data, size}, r);
  FUZZ_CHECK(static_cast<size_t>(res) < kResultCount);
  FUZZ_CHECK(to_string(res) != "invalid");
  if (res != Result::path_mtu) {
    return;
  }
  FUZZ_CHECK(r.ipv6);
  FUZZ_CHECK(size >= 40 + 8 + 40 + 8);
  FUZZ_CHECK(data[6] == kIpProtocolIcmpv6 && data[40] == 2);
  FUZZ_CHECK(r.mtu >= kIpv6MinimumMtu && r.mtu < r.quoted_length);
  const uint8_t* q = data + 48;
  FUZZ_CHECK(std::memcmp(r.source.data(), q + 8, 16) == 0);
  FUZZ_CHECK(std::memcmp(r.destination.data(), q + 24, 16) == 0);
  FUZZ_CHECK(r.quoted_length == 40 + be16(q + 4));
  FUZZ_CHECK(inside(r.quoted_payload, data, size));

  // What the gateway writes for that packet parses back to the same.
  const size_t q_size = be16(data + 4) - 8;
  std::vector<uint8_t> out(kMaxIcmpv6ErrorLength);
  Ipv6 source;
  source.bytes[0] = 0xfd;
  source.bytes[15] = 1;
  const size_t n = write_packet_too_big(out, {q, q_size}, source, r.mtu);
  const std::array<uint8_t, 16> unspecified{};
  if (r.source[0] == 0xff || r.source == unspecified) {
    FUZZ_CHECK(n == 0);
    return;
  }
  FUZZ_CHECK(n == std::min<size_t>(48 + q_size, kMaxIcmpv6ErrorLength));
  Report back;
  FUZZ_CHECK(parse_icmpv6({out.data(), n}, back) == Result::path_mtu);
  FUZZ_CHECK(back.mtu == r.mtu && back.quoted_length == r.quoted_length);
  FUZZ_CHECK(back.source == r.source && back.destination == r.destination);
  FUZZ_CHECK(back.source_port == r.source_port && back.destination_port == r.destination_port);
}

}  // namespace
}  // namespace dtlsgw::dataplane::icmp::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  // An exact-size heap copy, so ASan sees a read one past the packet.
  std::vector<uint8_t> packet(data + 1, data + size);
  if (data[0] % 2 == 0) {
    dtlsgw::dataplane::icmp::fuzz::check_v4(packet.data(), packet.size());
  } else {
    dtlsgw::dataplane::icmp::fuzz::check_v6(packet.data(), packet.size());
  }
  return 0;
}
