// Address types (dataplane/net_types.h): IPv6 text in both directions
// against RFC 4291 §2.2 and RFC 5952's examples, with glibc's inet_pton /
// inet_ntop as a second implementation; IpAddress holding both families;
// the neighbour discovery multicast mappings.
#include "dataplane/net_types.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

namespace dtlsgw::dataplane {
namespace {

Ipv6 v6(std::string_view text) {
  const std::optional<Ipv6> a = parse_ipv6(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(Ipv6{});
}

Ipv6 from_words(std::initializer_list<uint16_t> words) {
  Ipv6 a;
  size_t i = 0;
  for (uint16_t w : words) {
    a.bytes[i++] = static_cast<uint8_t>(w >> 8);
    a.bytes[i++] = static_cast<uint8_t>(w);
  }
  return a;
}

// glibc's reading, or nullopt where it refuses.
std::optional<Ipv6> glibc_parse(const std::string& text) {
  Ipv6 a;
  if (inet_pton(AF_INET6, text.c_str(), a.bytes) != 1) {
    return std::nullopt;
  }
  return a;
}

std::string glibc_text(const Ipv6& a) {
  char text[INET6_ADDRSTRLEN];
  EXPECT_NE(inet_ntop(AF_INET6, a.bytes, text, sizeof text), nullptr);
  return text;
}

// RFC 4291 §2.2 form 1: "x:x:x:x:x:x:x:x ... one to four hexadecimal
// digits"; "it is not necessary to write the leading zeros".
TEST(ParseIpv6, Rfc4291FullForm) {
  EXPECT_EQ(v6("ABCD:EF01:2345:6789:ABCD:EF01:2345:6789"),
            from_words({0xabcd, 0xef01, 0x2345, 0x6789, 0xabcd, 0xef01, 0x2345, 0x6789}));
  EXPECT_EQ(v6("2001:DB8:0:0:8:800:200C:417A"),
            from_words({0x2001, 0xdb8, 0, 0, 8, 0x800, 0x200c, 0x417a}));
  EXPECT_EQ(v6("2001:0db8:0000:0000:0008:0800:200c:417a"), v6("2001:DB8:0:0:8:800:200C:417A"));
}

// §2.2 form 2: "::" indicates one or more groups of 16 bits of zeros, and
// the RFC's own pairs of equivalent spellings.
TEST(ParseIpv6, Rfc4291CompressedForm) {
  EXPECT_EQ(v6("2001:DB8::8:800:200C:417A"), v6("2001:DB8:0:0:8:800:200C:417A"));
  EXPECT_EQ(v6("FF01::101"), v6("FF01:0:0:0:0:0:0:101"));
  EXPECT_EQ(v6("::1"), from_words({0, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(v6("::"), Ipv6{});
  EXPECT_EQ(v6("1::"), from_words({1, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(v6("1:2:3:4:5:6:7::"), from_words({1, 2, 3, 4, 5, 6, 7, 0}));
  EXPECT_EQ(v6("::2:3:4:5:6:7:8"), from_words({0, 2, 3, 4, 5, 6, 7, 8}));
}

// §2.2 form 3: "x:x:x:x:x:x:d.d.d.d", e.g. "0:0:0:0:0:FFFF:129.144.52.38"
// and its compressed "::FFFF:129.144.52.38".
TEST(ParseIpv6, Rfc4291EmbeddedIpv4) {
  const Ipv6 mapped = from_words({0, 0, 0, 0, 0, 0xffff, 0x8190, 0x3426});
  EXPECT_EQ(v6("0:0:0:0:0:FFFF:129.144.52.38"), mapped);
  EXPECT_EQ(v6("::FFFF:129.144.52.38"), mapped);
  EXPECT_EQ(v6("::13.1.68.3"), from_words({0, 0, 0, 0, 0, 0, 0x0d01, 0x4403}));
  EXPECT_EQ(v6("64:ff9b::192.0.2.33"), from_words({0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0221}));
}

TEST(ParseIpv6, RefusesMalformedText) {
  for (const char* bad : {"",
                          ":",
                          ":::",
                          "1",
                          "1:2:3:4:5:6:7",
                          "1:2:3:4:5:6:7:8:9",
                          "1::2::3",
                          "12345::",
                          ":1:2:3:4:5:6:7",
                          "1:2:3:4:5:6:7:",
                          "::1:",
                          "g::",
                          "1:2:3:4:5:6:7:8::",
                          "::1:2:3:4:5:6:7:8",
                          "1:2:3:4:5:6:1.2.3.4:8",
                          "1.2.3.4",
                          "::1.2.3",
                          "::1.2.3.4.5",
                          "::256.1.1.1",
                          "::01.2.3.4",
                          "1:2:3:4:5:6:7:1.2.3.4",
                          "fe80::1%eth0",
                          "[::1]",
                          "::1/128",
                          " ::1",
                          "::1 ",
                          "1:2:3:4:5:6:7:8:",
                          "::ffff:1.2.3.4:5",
                          "0x1::"}) {
    EXPECT_FALSE(parse_ipv6(bad).has_value()) << bad;
    EXPECT_FALSE(glibc_parse(bad).has_value()) << "glibc accepts " << bad;
  }
}

// RFC 5952 §4: the canonical text. Each line is the RFC's example.
TEST(Ipv6ToString, Rfc5952CanonicalForm) {
  // §4.1: leading zeros suppressed ("2001:0db8::0001" -> "2001:db8::1").
  EXPECT_EQ(to_string(v6("2001:0db8::0001")), "2001:db8::1");
  // §4.2.1: "::" shortens as much as possible.
  EXPECT_EQ(to_string(v6("2001:db8:0:0:0:0:2:1")), "2001:db8::2:1");
  // §4.2.2: not for one 16-bit 0 field.
  EXPECT_EQ(to_string(v6("2001:db8:0:1:1:1:1:1")), "2001:db8:0:1:1:1:1:1");
  // §4.2.3: the longest run; the first of equal runs.
  EXPECT_EQ(to_string(v6("2001:0:0:1:0:0:0:1")), "2001:0:0:1::1");
  EXPECT_EQ(to_string(v6("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1");
  // §4.3: lower case.
  EXPECT_EQ(to_string(v6("2001:DB8::AB:CD")), "2001:db8::ab:cd");
  // §5: IPv4-mapped in mixed notation.
  EXPECT_EQ(to_string(v6("::FFFF:C000:0280")), "::ffff:192.0.2.128");
  EXPECT_EQ(to_string(Ipv6{}), "::");
  EXPECT_EQ(to_string(v6("::1")), "::1");
  EXPECT_EQ(to_string(v6("1::")), "1::");
  EXPECT_EQ(to_string(v6("ff02::1:ff00:1")), "ff02::1:ff00:1");
}

// A second implementation: glibc agrees on what parses to what, and its
// inet_ntop (which follows RFC 5952 except that it also writes the
// deprecated IPv4-compatible ::a.b.c.d) on the text.
TEST(ParseIpv6, AgreesWithGlibcOnRandomAddresses) {
  std::mt19937_64 rng(0x647431736777);
  for (int i = 0; i < 20000; ++i) {
    Ipv6 a;
    // Mostly zero groups, so "::" runs of every length and place occur.
    for (size_t g = 0; g < 8; ++g) {
      const uint64_t r = rng();
      const uint16_t w = r % 3 == 0 ? static_cast<uint16_t>(r >> 16) : (r % 7 == 0 ? 1 : 0);
      a.bytes[2 * g] = static_cast<uint8_t>(w >> 8);
      a.bytes[2 * g + 1] = static_cast<uint8_t>(w);
    }
    const std::string mine = to_string(a);
    ASSERT_EQ(parse_ipv6(mine), a) << mine;
    ASSERT_EQ(glibc_parse(mine), a) << mine;
    const std::string theirs = glibc_text(a);
    ASSERT_EQ(parse_ipv6(theirs), a) << theirs;
    const bool ipv4_compatible =
        theirs.find('.') != std::string::npos && !theirs.starts_with("::ffff:");
    if (!ipv4_compatible) {
      ASSERT_EQ(mine, theirs);
    }
  }
}

// Random text from the IPv6 alphabet: we accept exactly what glibc
// accepts, and read it the same way (glibc also refuses leading zeros in
// an embedded dotted quad).
TEST(ParseIpv6, AcceptsWhatGlibcAcceptsOnRandomText) {
  std::mt19937_64 rng(7);
  const std::string alphabet = "0123456789abcdefABCDEF:::::....";
  int accepted = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string text(rng() % 20, ' ');
    for (char& c : text) {
      c = alphabet[rng() % alphabet.size()];
    }
    // Seed some structure: half start from a valid address and mutate it.
    if (i % 2 == 0) {
      text = to_string(
          from_words({static_cast<uint16_t>(rng()), 0, 0, 1, static_cast<uint16_t>(rng() % 2), 0, 0,
                      static_cast<uint16_t>(rng())}));
      text[rng() % text.size()] = alphabet[rng() % alphabet.size()];
    }
    const std::optional<Ipv6> mine = parse_ipv6(text);
    ASSERT_EQ(mine, glibc_parse(text)) << '"' << text << '"';
    accepted += mine.has_value();
  }
  EXPECT_GT(accepted, 1000);
}

// RFC 4291 §2.5.5.2: "::ffff:<IPv4-address>" holds an IPv4 address.
TEST(IpAddress, HoldsIpv4Mapped) {
  const Ipv4 v4 = parse_ipv4("192.0.2.1").value();
  const IpAddress a = IpAddress::from(v4);
  EXPECT_TRUE(a.is_v4());
  EXPECT_EQ(a.v4(), v4);
  EXPECT_EQ(a.v6(), v6("::ffff:192.0.2.1"));
  EXPECT_EQ(to_string(a), "192.0.2.1");
  EXPECT_EQ(parse_ip_address("192.0.2.1"), a);
  EXPECT_EQ(parse_ip_address("::ffff:192.0.2.1"), a);
  EXPECT_EQ(parse_ip_address("::ffff:c000:201"), a);
  EXPECT_NE(IpAddress::from(v4), IpAddress::from(parse_ipv4("192.0.2.2").value()));
  EXPECT_FALSE(IpAddress{}.is_v4());  // :: is IPv6
  EXPECT_EQ(to_string(IpAddress{}), "::");
}

TEST(IpAddress, HoldsIpv6) {
  const Ipv6 x = v6("2001:db8::1");
  const IpAddress a = IpAddress::from(x);
  EXPECT_FALSE(a.is_v4());
  EXPECT_EQ(a.v6(), x);
  EXPECT_EQ(to_string(a), "2001:db8::1");
  EXPECT_EQ(parse_ip_address("2001:DB8::1"), a);
  // An IPv4-compatible address (::192.0.2.1, deprecated) is not IPv4.
  EXPECT_FALSE(parse_ip_address("::192.0.2.1")->is_v4());
  EXPECT_NE(parse_ip_address("::192.0.2.1"), parse_ip_address("192.0.2.1"));
  for (const char* bad : {"", "192.0.2", "192.0.2.1.", "2001:db8::g", "::1%lo", "localhost"}) {
    EXPECT_FALSE(parse_ip_address(bad).has_value()) << bad;
  }
}

// RFC 4291 §2.7.1: "Solicited-Node Address: FF02:0:0:0:0:1:FFXX:XXXX ...
// formed by taking the low-order 24 bits of an address".
TEST(SolicitedNode, Rfc4291Section2_7_1) {
  EXPECT_EQ(solicited_node_multicast(v6("4037::01:800:200E:8C6C")), v6("FF02::1:FF0E:8C6C"));
  EXPECT_EQ(solicited_node_multicast(v6("fe80::2:ffff:fe12:3456")), v6("ff02::1:ff12:3456"));
  EXPECT_TRUE(is_multicast(v6("ff02::1")));
  EXPECT_FALSE(is_multicast(v6("fe80::1")));
  EXPECT_TRUE(is_unspecified(Ipv6{}));
  EXPECT_FALSE(is_unspecified(v6("::1")));
}

// RFC 2464 §7: "An IPv6 packet with a multicast destination address DST,
// consisting of the sixteen octets DST[1] through DST[16], is transmitted
// to the Ethernet multicast address whose first two octets are the value
// 3333 hexadecimal and whose last four octets are the last four octets of
// DST."
TEST(MulticastMac, Rfc2464Section7) {
  EXPECT_EQ(multicast_mac(v6("ff02::1")), (MacAddress{{0x33, 0x33, 0, 0, 0, 1}}));
  EXPECT_EQ(multicast_mac(v6("ff02::1:ff0e:8c6c")),
            (MacAddress{{0x33, 0x33, 0xff, 0x0e, 0x8c, 0x6c}}));
}

}  // namespace
}  // namespace dtlsgw::dataplane
