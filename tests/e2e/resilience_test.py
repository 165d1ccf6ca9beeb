#!/usr/bin/env python3
"""End to end under attack and failure, each class on a gateway of its own:
a spoofed ClientHello flood, the control process killed and restarted during
traffic, 20% seeded loss with reordering, and a 576-byte path MTU.
"""
import random
import re
import signal
import socket
import threading
import time
import unittest

from e2e_common import BUILD_DIR, E2ETestCase, main, require_root, testbed

GW = testbed.GATEWAY_OUTSIDE


def setUpModule():
    require_root()


class CookieFlood(E2ETestCase):
    """100,000 spoofed ClientHellos from 150 source addresses (raw IPv4
    socket in the client namespace): HelloVerifyRequests only, nothing punted,
    no handshake or session state; a legitimate client connects meanwhile."""
    time_limit = 90
    hellos = 100_000

    def setUp(self):
        super().setUp()
        self.tb = testbed.Testbed(BUILD_DIR).up()
        self.addCleanup(self.tb.down)

    def flood(self, count, stop_when):
        rng = random.Random(7)
        raw = self.tb.client_socket(socket.SOCK_RAW, socket.IPPROTO_RAW)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        sent = 0
        try:
            # Linux fills the IPv4 checksum, total length and id of an
            # IP_HDRINCL packet; the dataplane does not verify UDP checksums
            # on receipt, so 0 ("none", RFC 768) is fine and cheap.
            for i in range(count):
                src = f"192.0.2.{100 + i % 150}"
                sport = 1024 + (i * 7919) % 60000
                hello = testbed.client_hello(rng.randbytes(32), record_seq=i)
                udp = (sport.to_bytes(2, "big") + (4433).to_bytes(2, "big") +
                       (8 + len(hello)).to_bytes(2, "big") + b"\0\0" + hello)
                ip = (b"\x45\x00\0\0\0\0\x40\x00\x40\x11\0\0" + socket.inet_aton(src) +
                      socket.inet_aton(GW))
                while True:
                    try:
                        raw.sendto(ip + udp, (GW, 0))
                        break
                    except (BlockingIOError, OSError):
                        time.sleep(0.001)  # qdisc full: wait, do not lose the count
                sent += 1
                if i % 2000 == 1999:
                    time.sleep(0.005)  # let the af_packet ring drain (2 cores)
                if stop_when():
                    break
        finally:
            raw.close()
        return sent

    def test_spoofed_client_hellos_get_hello_verify_requests_only(self):
        gw = self.tb.gateway
        before = gw.stats()
        legit_done = threading.Event()
        errors = []

        def legitimate():
            try:
                time.sleep(0.5)  # well into the flood
                c = self.tb.openssl_client("PSK-AES128-GCM-SHA256", psk=True)
                c.send("legitimate during the flood\n")
                c.wait_output("legitimate during the flood", 30)
                c.close_stdin()
                c.wait(10)
            except Exception as e:
                errors.append(e)
            finally:
                legit_done.set()

        t = threading.Thread(target=legitimate)
        t.start()
        t0 = time.monotonic()
        sent = self.flood(self.hellos, lambda: False)
        flood_s = time.monotonic() - t0
        t.join(45)
        self.assertFalse(errors, errors)
        self.assertTrue(legit_done.is_set())
        time.sleep(0.5)
        after = gw.stats()
        d = {k: after[k] - before.get(k, 0) for k in after}
        print(f"  sent {sent} spoofed ClientHellos in {flood_s:.1f} s; "
              f"received {d['rx_packets']}, HelloVerifyRequests {d['hello_verify_requests']}, "
              f"punted {d['punted']}, bad hellos {d['drop_bad_client_hello']}; "
              f"control: {gw.control_status()}")
        self.assertEqual(sent, self.hellos)
        self.assertEqual(d["drop_bad_client_hello"], 0)
        # Every spoofed hello that reached the dataplane got a
        # HelloVerifyRequest (plus the legitimate client's first hello).
        self.assertGreaterEqual(d["hello_verify_requests"], int(0.95 * self.hellos))
        self.assertLessEqual(d["hello_verify_requests"], self.hellos + 5)
        # Nothing of the flood was punted: only the legitimate handshake
        # (its cookie ClientHello and its second flight).
        self.assertLessEqual(d["punted"], 6)
        self.assertEqual(d["sessions_installed"], 1)
        self.assertEqual(after["sessions"], 0)  # the legitimate client closed
        # The control process holds no handshake state.
        deadline = time.monotonic() + 5
        while not re.search(r"handshakes in progress 0, completed 1\b", gw.control_status()):
            self.assertLess(time.monotonic(), deadline, gw.control_status())
            time.sleep(0.2)


class ControlRestart(E2ETestCase):
    """The control process is SIGKILLed during traffic and restarted: the
    established session keeps flowing throughout; new handshakes work again
    after the restart."""
    time_limit = 90

    def setUp(self):
        super().setUp()
        self.tb = testbed.Testbed(BUILD_DIR).up()
        self.addCleanup(self.tb.down)

    def test_established_session_survives_control_restart(self):
        tb = self.tb
        c = tb.openssl_client("ECDHE-ECDSA-CHACHA20-POLY1305")
        n = 0

        def say(tag):
            nonlocal n
            n += 1
            line = f"{tag} {n:03d}"
            c.send(line + "\n")
            c.wait_output(re.escape(line), 5)

        say("before the kill")
        tb.gateway.kill_control(signal.SIGKILL)
        # Traffic over the next 4 s (past the dataplane's heartbeat timeout)
        end = time.monotonic() + 4
        while time.monotonic() < end:
            say("control dead")
            time.sleep(0.2)
        tb.gateway.start_control(timeout=20)
        say("control restarted")
        self.assertEqual(tb.gateway.stats()["sessions"], 1)
        # A new handshake through the new control process.
        c2 = tb.openssl_client("ECDHE-ECDSA-AES128-GCM-SHA256")
        c2.send("new session after the restart\n")
        c2.wait_output("new session after the restart", 15)
        say("old session still")
        for p in (c, c2):
            p.close_stdin()
            self.assertEqual(p.wait(10), 0, p.stderr)


class Loss(E2ETestCase):
    """A relay in the client namespace drops 20% of the datagrams in each
    direction and holds back 10% behind the next one (seeded): handshakes
    complete and data flows within 60 s."""
    time_limit = 150

    def setUp(self):
        super().setUp()
        self.tb = testbed.Testbed(BUILD_DIR, handshake_extra={"initial_timeout": "250ms"}).up()
        self.addCleanup(self.tb.down)

    def through_lossy_relay(self, cipher, psk, seed):
        relay = testbed.UdpRelay(self.tb.topo.client_ns, loss=0.2, reorder=0.1, seed=seed)
        self.addCleanup(relay.down)
        host, port = relay.address
        c = self.tb.openssl_client(cipher, psk=psk, host=host, port=port)
        self.addCleanup(self.tb.reap, c)
        t0 = time.monotonic()
        c.wait_output(r"CONNECTION ESTABLISHED", 60, stream="stderr")
        handshake_s = time.monotonic() - t0
        # Datagrams stay unreliable after the handshake: send a line every
        # 200 ms until 5 have come back.
        deadline = time.monotonic() + 30
        echoed = 0
        i = 0
        while echoed < 5:
            self.assertLess(time.monotonic(), deadline, f"only {echoed} lines echoed")
            c.send(f"lossy line {i:03d}\n")
            i += 1
            time.sleep(0.2)
            echoed = len(re.findall(r"lossy line \d{3}", c.stdout))
        print(f"  {cipher}: handshake {handshake_s:.1f} s, {echoed}/{i} lines echoed, "
              f"relay dropped {relay.dropped}, reordered {relay.reordered}")
        self.assertGreater(relay.dropped, 0)

    def test_certificate_handshake_and_data_at_20_percent_loss(self):
        self.through_lossy_relay("ECDHE-ECDSA-AES128-GCM-SHA256", False, seed=20)

    def test_psk_handshake_and_data_at_20_percent_loss(self):
        self.through_lossy_relay("PSK-AES128-CCM8", True, seed=21)


class PathMtu576(E2ETestCase):
    """Outside veths at MTU 576 and handshake.mtu = 548 (576 - IPv4 - UDP):
    the certificate flight arrives in fragments no datagram of which exceeds
    the path, and the handshake completes."""
    time_limit = 40

    def setUp(self):
        super().setUp()
        self.tb = testbed.Testbed(BUILD_DIR, outside_mtu=576,
                                  handshake_extra={"mtu": 548}).up()
        self.addCleanup(self.tb.down)

    def test_certificate_flight_fragmented(self):
        relay = testbed.UdpRelay(self.tb.topo.client_ns, max_datagram=548)
        self.addCleanup(relay.down)
        host, port = relay.address
        c = self.tb.openssl_client("ECDHE-ECDSA-AES128-GCM-SHA256", host=host, port=port)
        self.addCleanup(self.tb.reap, c)
        c.send("small path\n")
        c.wait_output("small path", 20)
        self.assertEqual(relay.dropped, 0)
        sizes = [len(d) for d in relay.from_server]
        self.assertLessEqual(max(sizes), 548)
        # Walk the server's handshake records: the Certificate message
        # (type 11) must arrive as more than one fragment.
        fragments = {}
        for d in relay.from_server:
            off = 0
            while off + 13 <= len(d):
                ctype, epoch = d[off], int.from_bytes(d[off + 3:off + 5], "big")
                length = int.from_bytes(d[off + 11:off + 13], "big")
                body = d[off + 13:off + 13 + length]
                if ctype == 22 and epoch == 0 and len(body) >= 12:
                    msg_type = body[0]
                    msg_len = int.from_bytes(body[1:4], "big")
                    frag_off = int.from_bytes(body[6:9], "big")
                    frag_len = int.from_bytes(body[9:12], "big")
                    fragments.setdefault(msg_type, set()).add((frag_off, frag_len, msg_len))
                off += 13 + length
        self.assertIn(11, fragments, fragments)
        cert = fragments[11]
        self.assertGreater(len(cert), 1, f"Certificate not fragmented: {cert}")
        print(f"  server datagrams {sizes}; Certificate fragments {sorted(cert)}")


if __name__ == "__main__":
    main(__name__)
