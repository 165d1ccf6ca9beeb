#!/usr/bin/env python3
"""End to end over IPv6 and 802.1Q VLANs (issue 6), with real peers through a
running gateway (dataplane + control on net_af_packet over veths):

- Ipv6: an IPv6 peer on outside.address6 to an IPv4 backend and to an IPv6
  backend ([2001:db8:2::2]:7, reached by neighbour discovery both ways), and
  IPv4 and IPv6 peers at once on one listener, each echoed only its own lines.
- Vlan: outside vlan = 100, inside vlan = 200: IPv4 and IPv6 peers through
  tagged ports, and frames on another VLAN (or untagged) neither answered nor
  passed on, but counted in drop_wrong_vlan.
- TopologySelfCheck: no gateway; the test bed's IPv6 addresses and VLAN
  tagging (what the other classes rely on) seen from the root-side veth,
  where net_af_packet reads.

The namespaces' VLAN "sub-interfaces" are tc programs on the veth ends
(dtlsgw_vlan.VlanTagger): this kernel has no 802.1Q module.
"""
import json
import os
import re
import select
import socket
import struct
import time

from e2e_common import BUILD_DIR, E2ETestCase, main, require_root, testbed

GW4 = testbed.GATEWAY_OUTSIDE
GW6 = testbed.GATEWAY_OUTSIDE6
PORT_TO_IPV4 = 4433   # listener → 10.0.0.2:7
PORT_TO_IPV6 = 4434   # listener → [2001:db8:2::2]:7
LISTENERS = ((PORT_TO_IPV4, f"{testbed.BACKEND_ADDRESS}:7"),
             (PORT_TO_IPV6, f"[{testbed.BACKEND_ADDRESS6}]:7"))
OUTSIDE_VLAN = 100
INSIDE_VLAN = 200
CERT_SUITE = "ECDHE-ECDSA-AES128-GCM-SHA256"
PSK_SUITE = "PSK-AES128-GCM-SHA256"


def setUpModule():
    require_root()


def stat(tb, name):
    stats = tb.gateway.stats()
    if name not in stats:
        raise AssertionError(f"the dataplane has no counter {name!r}: "
                             f"{sorted(stats)}")
    return stats[name]


def say(test, tb, client, line, echo, times=1):
    """Sends `line` through `client` and waits for its echo: the backend saw
    it `times` times in all (each line is unique to its test)."""
    client.send(line + "\n")
    client.wait_output(re.escape(line), 15)
    test.assertEqual(echo.count((line + "\n").encode()), times)


def finish(tb, client):
    client.close_stdin()  # s_client sends close_notify and exits
    status = client.wait(10)
    tb.reap(client)
    return status


def hello_verify_request(datagram):
    """Whether a datagram is a DTLS HelloVerifyRequest (RFC 6347 §4.2.1):
    a handshake record whose first message is of type 3."""
    return len(datagram) > 13 and datagram[0] == 22 and datagram[13] == 3


class WrongVlanProbe:
    """ClientHellos in raw frames from the client namespace to a listener,
    with a tag of our choosing (or none), past the namespace's tagger; a UDP
    socket on the spoofed source port catches whatever the gateway answers.
    The frame with the right tag is the control: it must be answered with a
    HelloVerifyRequest, or a silence proves nothing."""

    def __init__(self, tb, family):
        self.tb = tb
        topo = tb.topo
        self.src = testbed.CLIENT_ADDRESS6 if family == socket.AF_INET6 else \
            testbed.CLIENT_ADDRESS
        self.dst = GW6 if family == socket.AF_INET6 else GW4
        self.sock = tb.client_socket(family=family)
        self.sock.bind((self.src, 0))
        self.sport = self.sock.getsockname()[1]
        self.gw_mac = topo.gateway_mac("outside")
        self.ns_mac = topo.namespace_mac("outside")
        self.sent = 0

    def close(self):
        self.sock.close()

    def send(self, vlan, dport=PORT_TO_IPV4):
        self.sent += 1
        hello = testbed.client_hello(os.urandom(32), record_seq=self.sent)
        ethertype, packet = testbed.ip_udp(self.src, self.sport, self.dst, dport, hello)
        self.tb.topo.send_frame(testbed.ethernet(self.gw_mac, self.ns_mac, packet, ethertype,
                                                 vlan=vlan))

    def replies(self, wait):
        got = []
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return got
            r, _, _ = select.select([self.sock], [], [], left)
            if r:
                got.append(self.sock.recv(65535))


# ------------------------------------------------------------------- IPv6

class Ipv6(E2ETestCase):
    """One gateway with outside.address6 and inside.address6, untagged."""
    time_limit = 40
    tb = None

    @classmethod
    def setUpClass(cls):
        cls.tb = testbed.Testbed(BUILD_DIR, ipv6=True, listeners=LISTENERS).up()

    @classmethod
    def tearDownClass(cls):
        if cls.tb is not None:
            cls.tb.down()

    def test_ipv6_peer_to_ipv4_backend(self):
        """(a) openssl s_client -6 to [2001:db8:1::1]:4433 → 10.0.0.2:7: the
        backend gets the lines from the gateway's inside IPv4 address and
        they come back to the IPv6 peer."""
        tb = self.tb
        c = tb.openssl_client(CERT_SUITE, host=GW6, port=PORT_TO_IPV4)
        for i in range(3):
            say(self, tb, c, f"ipv6 peer to ipv4 backend {i}", tb.echo)
        err = c.wait_output(r"Ciphersuite: ", 5, stream="stderr")
        self.assertIn(f"Ciphersuite: {CERT_SUITE}", err)
        peers = tb.echo.peers_of(b"ipv6 peer to ipv4 backend 0\n")
        self.assertEqual([p[0] for p in peers], [testbed.GATEWAY_INSIDE])
        self.assertEqual(finish(tb, c), 0, c.stderr)

    def test_ipv6_peer_to_ipv6_backend(self):
        """(b) openssl s_client -6 to [2001:db8:1::1]:4434 → [2001:db8:2::2]:7:
        the backend's kernel resolved the gateway's inside IPv6 address by
        neighbour discovery (its neighbour entry holds the gateway's MAC), the
        gateway resolved the backend's, and the lines went both ways."""
        tb = self.tb
        c = tb.openssl_client(PSK_SUITE, psk=True, host=GW6, port=PORT_TO_IPV6)
        for i in range(3):
            say(self, tb, c, f"ipv6 peer to ipv6 backend {i}", tb.echo6)
        peers = tb.echo6.peers_of(b"ipv6 peer to ipv6 backend 0\n")
        self.assertEqual([p[0] for p in peers], [testbed.GATEWAY_INSIDE6])
        self.assertEqual(tb.echo.count(b"ipv6 peer to ipv6 backend 0\n"), 0)
        neigh = json.loads(testbed.run(tb.topo.backend_cmd(
            ["ip", "-j", "-6", "neigh", "show", testbed.GATEWAY_INSIDE6])).stdout)
        self.assertEqual([n.get("lladdr") for n in neigh], [tb.topo.gateway_mac("inside")],
                         neigh)
        self.assertGreaterEqual(stat(tb, "nd_advertisements_sent"), 1)
        self.assertGreaterEqual(stat(tb, "nd_learned"), 1)
        self.assertEqual(finish(tb, c), 0, c.stderr)

    def test_ipv4_peer_to_ipv6_backend(self):
        """An IPv4 peer to the IPv6 backend: the families of the two sides are
        independent."""
        tb = self.tb
        c = tb.openssl_client(PSK_SUITE, psk=True, host=GW4, port=PORT_TO_IPV6)
        say(self, tb, c, "ipv4 peer to ipv6 backend", tb.echo6)
        self.assertEqual(finish(tb, c), 0, c.stderr)

    def test_gnutls_ipv6_peer_to_ipv6_backend(self):
        """gnutls-cli over IPv6, verifying the certificate (its subjectAltName
        holds 2001:db8:1::1)."""
        tb = self.tb
        c = tb.spawn_client("gnutls-cli", [
            "gnutls-cli", "--udp", "-p", str(PORT_TO_IPV6), "--x509cafile", tb.cert,
            "--priority", "NORMAL:-VERS-ALL:+VERS-DTLS1.2", GW6])
        out = c.wait_output(r"Handshake was completed", 15)
        self.assertIn("The certificate is trusted", out)
        line = "gnutls over ipv6 to an ipv6 backend"
        say(self, tb, c, line, tb.echo6)
        c.close_stdin()
        c.wait(10)
        tb.reap(c)

    def test_ipv4_and_ipv6_peers_on_one_listener(self):
        """(c) An IPv4 and an IPv6 peer at once on each listener, lines
        interleaved: each peer gets its own echoes and never the other's;
        each session has its own inside flow (source port)."""
        tb = self.tb
        for port, echo in ((PORT_TO_IPV4, tb.echo), (PORT_TO_IPV6, tb.echo6)):
            before = tb.gateway.stats()["sessions_installed"]
            v4 = tb.openssl_client(PSK_SUITE, psk=True, host=GW4, port=port)
            v6 = tb.openssl_client(PSK_SUITE, psk=True, host=GW6, port=port)
            for i in range(5):
                say(self, tb, v4, f"from v4 to {port} #{i}", echo)
                say(self, tb, v6, f"from v6 to {port} #{i}", echo)
            self.assertNotIn("from v6", v4.stdout)
            self.assertNotIn("from v4", v6.stdout)
            for i in range(5):
                self.assertEqual(v4.stdout.count(f"from v4 to {port} #{i}"), 1)
                self.assertEqual(v6.stdout.count(f"from v6 to {port} #{i}"), 1)
            flows = {p[:2] for i in range(5) for who in ("v4", "v6")
                     for p in echo.peers_of(f"from {who} to {port} #{i}\n".encode())}
            self.assertEqual(len(flows), 2, flows)
            self.assertGreaterEqual(tb.gateway.stats()["sessions_installed"] - before, 2)
            self.assertEqual(finish(tb, v4), 0, v4.stderr)
            self.assertEqual(finish(tb, v6), 0, v6.stderr)

    def test_tagged_frame_on_untagged_port_not_answered(self):
        """A ClientHello tagged VLAN 100 reaches an untagged (vlan = 0)
        outside port: not answered, counted in drop_wrong_vlan; the same
        frame untagged is answered. The counters are the proof: a reply
        tagged 100 would not reach the client's socket anyway. (The
        dataplane before VLAN support mirrored the tag back and answered.)"""
        tb = self.tb
        probe = WrongVlanProbe(tb, socket.AF_INET)
        self.addCleanup(probe.close)
        hvr = stat(tb, "hello_verify_requests")
        probe.send(vlan=None)
        self.assertTrue(any(hello_verify_request(d) for d in probe.replies(3)),
                        "the untagged control frame was not answered")
        tb.gateway.wait_stats(lambda s: s["hello_verify_requests"] == hvr + 1, 5,
                              "hello_verify_requests +1")
        before = tb.gateway.stats()
        probe.send(vlan=OUTSIDE_VLAN)
        self.assertEqual(probe.replies(1), [])
        after = tb.gateway.stats()
        self.assertEqual(after["hello_verify_requests"], hvr + 1)
        self.assertEqual(after["drop_wrong_vlan"] - before["drop_wrong_vlan"], 1,
                         testbed.nonzero({k: after[k] - before.get(k, 0) for k in after}))


# ------------------------------------------------------------------- VLANs

class Vlan(E2ETestCase):
    """One gateway with outside vlan = 100 and inside vlan = 200 (and IPv6 on
    both ports): the namespaces send and take only frames so tagged, so any
    exchange that completes was tagged right by the gateway both ways."""
    time_limit = 40
    tb = None

    @classmethod
    def setUpClass(cls):
        cls.tb = testbed.Testbed(BUILD_DIR, ipv6=True, outside_vlan=OUTSIDE_VLAN,
                                 inside_vlan=INSIDE_VLAN, listeners=LISTENERS).up()

    @classmethod
    def tearDownClass(cls):
        if cls.tb is not None:
            cls.tb.down()

    def test_ipv4_peer_over_vlans(self):
        """(d) openssl s_client (IPv4) through VLAN 100 outside and 200 inside
        to 10.0.0.2:7, both ways."""
        tb = self.tb
        wrong = stat(tb, "drop_wrong_vlan")
        c = tb.openssl_client(CERT_SUITE)
        for i in range(3):
            say(self, tb, c, f"ipv4 over vlans {i}", tb.echo)
        self.assertEqual(finish(tb, c), 0, c.stderr)
        self.assertEqual(stat(tb, "drop_wrong_vlan"), wrong)

    def test_wrong_vlan_not_answered_and_counted(self):
        """(d) A ClientHello on VLAN 100 is answered (the control); the same on
        VLAN 101, and untagged, is not, and each moves drop_wrong_vlan."""
        self.wrong_vlan(socket.AF_INET)

    def test_ipv6_wrong_vlan_not_answered_and_counted(self):
        """(e) As above over IPv6."""
        self.wrong_vlan(socket.AF_INET6)

    def wrong_vlan(self, family):
        # A reply on the wrong VLAN would be dropped by the namespace's
        # tagger before the probe's socket: hello_verify_requests is what
        # shows that none was sent.
        tb = self.tb
        probe = WrongVlanProbe(tb, family)
        self.addCleanup(probe.close)
        hvr = stat(tb, "hello_verify_requests")
        probe.send(vlan=OUTSIDE_VLAN)
        self.assertTrue(any(hello_verify_request(d) for d in probe.replies(3)),
                        "the control frame (right tag) was not answered")
        tb.gateway.wait_stats(lambda s: s["hello_verify_requests"] == hvr + 1, 5,
                              "hello_verify_requests +1")
        for vlan in (OUTSIDE_VLAN + 1, INSIDE_VLAN, None):
            wrong = stat(tb, "drop_wrong_vlan")
            probe.send(vlan=vlan)
            tb.gateway.wait_stats(lambda s: s.get("drop_wrong_vlan") == wrong + 1, 5,
                                  f"drop_wrong_vlan +1 for a frame on VLAN {vlan}")
            self.assertEqual(probe.replies(0.5), [], f"a frame on VLAN {vlan} was answered")
        self.assertEqual(stat(tb, "hello_verify_requests"), hvr + 1)

    def test_wrong_vlan_on_inside_port_counted(self):
        """A datagram from the backend namespace to the gateway's inside
        address on the outside's VLAN (100, not 200) is dropped and counted."""
        tb = self.tb
        topo = tb.topo
        wrong = stat(tb, "drop_wrong_vlan")
        ethertype, packet = testbed.ip_udp(testbed.BACKEND_ADDRESS, 7, testbed.GATEWAY_INSIDE,
                                           20000, b"not on this VLAN")
        topo.send_frame(testbed.ethernet(topo.gateway_mac("inside"),
                                         topo.namespace_mac("inside"), packet, ethertype,
                                         vlan=OUTSIDE_VLAN), side="inside")
        tb.gateway.wait_stats(lambda s: s.get("drop_wrong_vlan") == wrong + 1, 5,
                              "drop_wrong_vlan +1 on the inside port")

    def test_ipv6_peer_over_vlans_to_ipv6_backend(self):
        """(e) openssl s_client -6 through VLAN 100 to [2001:db8:2::2]:7 on
        VLAN 200 (neighbour discovery on both, tagged), both ways."""
        tb = self.tb
        c = tb.openssl_client(PSK_SUITE, psk=True, host=GW6, port=PORT_TO_IPV6)
        for i in range(3):
            say(self, tb, c, f"ipv6 over vlans {i}", tb.echo6)
        self.assertEqual(finish(tb, c), 0, c.stderr)

    def test_ipv4_and_ipv6_peers_over_vlans(self):
        """(e) An IPv4 and an IPv6 peer at once over the VLANs, to the IPv6
        backend; each gets only its own lines."""
        tb = self.tb
        v4 = tb.openssl_client(PSK_SUITE, psk=True, host=GW4, port=PORT_TO_IPV6)
        v6 = tb.openssl_client(CERT_SUITE, host=GW6, port=PORT_TO_IPV6)
        for i in range(3):
            say(self, tb, v4, f"v4 over vlans #{i}", tb.echo6)
            say(self, tb, v6, f"v6 over vlans #{i}", tb.echo6)
        self.assertNotIn("v6 over", v4.stdout)
        self.assertNotIn("v4 over", v6.stdout)
        self.assertEqual(finish(tb, v4), 0, v4.stderr)
        self.assertEqual(finish(tb, v6), 0, v6.stderr)


# ------------------------------------------------- the test bed, no gateway

SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 0x10


class RootSideCapture:
    """An AF_PACKET socket on a root-side veth with PACKET_AUXDATA: what
    net_af_packet's ring reads (the kernel moves a received 802.1Q tag out of
    the frame into tp_vlan_tci, TP_STATUS_VLAN_VALID)."""

    def __init__(self, ifname):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        self.sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        self.sock.bind((ifname, 0))

    def frames(self, wait, match):
        """(frame, vlan id or None) for each frame received for which
        match(frame) holds."""
        got = []
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return got
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            data, anc, _, _ = self.sock.recvmsg(65535, socket.CMSG_SPACE(32))
            vlan = None
            for level, kind, value in anc:
                if level == SOL_PACKET and kind == PACKET_AUXDATA:
                    status, _, _, _, _, tci = struct.unpack_from("=IIIHHH", value)
                    if status & TP_STATUS_VLAN_VALID:
                        vlan = tci & 0xFFF
            if match(data):
                got.append((data, vlan))

    def send(self, frame):
        self.sock.send(frame)

    def close(self):
        self.sock.close()


class TopologySelfCheck(E2ETestCase):
    """The test bed alone: IPv6 addresses usable at once, frames from the
    namespaces tagged as configured when they reach the root-side veth,
    and only frames with the right tag taken in."""
    time_limit = 30

    def setUp(self):
        super().setUp()
        self.topo = testbed.Topology(ipv6=True, outside_vlan=OUTSIDE_VLAN,
                                     inside_vlan=INSIDE_VLAN).up()
        self.addCleanup(self.topo.down)

    def test_ipv6_addresses_without_dad(self):
        for ns, ifname, address in (
                (self.topo.client_ns, self.topo.client_if, testbed.CLIENT_ADDRESS6),
                (self.topo.backend_ns, self.topo.backend_if, testbed.BACKEND_ADDRESS6)):
            info = json.loads(testbed.run(["ip", "-n", ns, "-j", "-6", "addr", "show",
                                           "dev", ifname]).stdout)[0]["addr_info"]
            mine = [a for a in info if a["local"] == address]
            self.assertEqual(len(mine), 1, info)
            self.assertEqual(mine[0]["prefixlen"], testbed.PREFIX_LENGTH6)
            self.assertFalse(mine[0].get("tentative"), mine[0])
            routes = testbed.run(["ip", "-n", ns, "-6", "route", "show", "default"]).stdout
            self.assertIn("via 2001:db8:", routes)
        for ifname in (self.topo.outside_if, self.topo.inside_if):
            with open(f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6") as f:
                self.assertEqual(f.read().strip(), "1", ifname)

    def test_namespace_frames_arrive_tagged(self):
        """A UDP datagram from each namespace (IPv4 and IPv6) reaches the
        root-side veth with its side's VLAN id."""
        for side, ns, ifname, src, dst, src6, dst6, vid in (
                ("outside", self.topo.client_ns, self.topo.outside_if,
                 testbed.CLIENT_ADDRESS, testbed.GATEWAY_OUTSIDE,
                 testbed.CLIENT_ADDRESS6, testbed.GATEWAY_OUTSIDE6, OUTSIDE_VLAN),
                ("inside", self.topo.backend_ns, self.topo.inside_if,
                 testbed.BACKEND_ADDRESS, testbed.GATEWAY_INSIDE,
                 testbed.BACKEND_ADDRESS6, testbed.GATEWAY_INSIDE6, INSIDE_VLAN)):
            cap = RootSideCapture(ifname)
            self.addCleanup(cap.close)
            # Nothing answers ARP or neighbour solicitations here: the
            # datagrams stay queued and the solicitations are what we see.
            for family, s_addr, d_addr in ((socket.AF_INET, src, dst),
                                           (socket.AF_INET6, src6, dst6)):
                s = testbed.netns_socket(ns, family)
                s.sendto(b"tagged?", (d_addr, 9))
                s.close()
            frames = cap.frames(2, lambda f: True)
            self.assertTrue(frames, f"{side}: nothing reached {ifname}")
            self.assertEqual({v for _, v in frames}, {vid}, f"{side}: {frames}")
            ethertypes = {f[12:14].hex() for f, _ in frames}
            self.assertIn("0806", ethertypes, f"{side}: no ARP request")  # tag out of the data
            self.assertIn("86dd", ethertypes, f"{side}: no neighbour solicitation")

    def test_only_frames_with_the_right_tag_taken_in(self):
        """Frames written on the root-side veth (as net_af_packet does, the
        tag in the data): the namespace takes the one tagged with its VLAN,
        not one on another VLAN or untagged; IPv4 and IPv6."""
        topo = self.topo
        cap = RootSideCapture(topo.outside_if)
        self.addCleanup(cap.close)
        gw_mac, ns_mac = topo.gateway_mac("outside"), topo.namespace_mac("outside")
        for family, src, dst in ((socket.AF_INET, testbed.GATEWAY_OUTSIDE,
                                  testbed.CLIENT_ADDRESS),
                                 (socket.AF_INET6, testbed.GATEWAY_OUTSIDE6,
                                  testbed.CLIENT_ADDRESS6)):
            s = testbed.netns_socket(topo.client_ns, family)
            self.addCleanup(s.close)
            s.bind((dst, 0))
            port = s.getsockname()[1]
            for vlan, taken in ((OUTSIDE_VLAN + 1, False), (None, False),
                                (OUTSIDE_VLAN, True)):
                payload = f"vlan {vlan}".encode()
                ethertype, packet = testbed.ip_udp(src, 4433, dst, port, payload)
                cap.send(testbed.ethernet(ns_mac, gw_mac, packet, ethertype, vlan=vlan))
                r, _, _ = select.select([s], [], [], 1.0 if taken else 0.3)
                got = s.recv(100) if r else None
                self.assertEqual(got, payload if taken else None, (family, vlan))


if __name__ == "__main__":
    main(__name__)
