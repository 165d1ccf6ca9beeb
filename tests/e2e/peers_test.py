#!/usr/bin/env python3
"""End to end with real, unmodified DTLS peers through one running gateway
(dataplane + control on net_af_packet over veths): OpenSSL s_client, GnuTLS
gnutls-cli, libcoap's coap-client against coap-server-notls, 100 concurrent
clients, replay and tamper. The peers run in the client namespace; a UDP echo
server (and coap-server-notls) in the backend namespace.
"""
import os
import re
import signal
import time
import unittest

from e2e_common import BUILD_DIR, E2ETestCase, main, require_root, testbed

GW = testbed.GATEWAY_OUTSIDE
COAP_PORT = 5684
tb = None


def setUpModule():
    global tb
    require_root()
    tb = testbed.Testbed(BUILD_DIR, listeners=((4433, f"{testbed.BACKEND_ADDRESS}:7"),
                                               (COAP_PORT, f"{testbed.BACKEND_ADDRESS}:5683")))
    tb.up()


def tearDownModule():
    if tb is not None:
        tb.down()


def stat(name):
    return tb.gateway.stats()[name]


class OpenSSLClient(E2ETestCase):
    """openssl s_client -dtls1_2, each suite on its own session: the line sent
    comes back from the echo backend, which saw it exactly once."""
    time_limit = 30

    def exchange(self, cipher, psk=False):
        c = tb.openssl_client(cipher, psk=psk)
        line = f"through dtlsgw with {cipher}"
        c.send(line + "\n")
        c.wait_output(re.escape(line), 15)
        err = c.wait_output(r"Ciphersuite: ", 5, stream="stderr")
        self.assertIn(f"Ciphersuite: {cipher}", err)
        self.assertIn("Protocol version: DTLSv1.2", err)
        self.assertEqual(tb.echo.count((line + "\n").encode()), 1)
        c.close_stdin()  # s_client sends close_notify and exits
        self.assertEqual(c.wait(10), 0, c.stderr)
        tb.reap(c)

    def test_ecdhe_ecdsa_aes128_gcm(self):
        self.exchange("ECDHE-ECDSA-AES128-GCM-SHA256")

    def test_ecdhe_ecdsa_aes256_gcm(self):
        self.exchange("ECDHE-ECDSA-AES256-GCM-SHA384")

    def test_ecdhe_ecdsa_chacha20_poly1305(self):
        self.exchange("ECDHE-ECDSA-CHACHA20-POLY1305")

    def test_ecdhe_ecdsa_aes128_ccm8(self):
        self.exchange("ECDHE-ECDSA-AES128-CCM8")

    def test_psk_aes128_ccm8(self):
        self.exchange("PSK-AES128-CCM8", psk=True)

    def test_psk_aes128_gcm(self):
        self.exchange("PSK-AES128-GCM-SHA256", psk=True)


class GnuTLSClient(E2ETestCase):
    """gnutls-cli --udp, verifying the gateway's certificate, and with a PSK."""
    time_limit = 30

    def exchange(self, extra, expect_kx):
        c = tb.spawn_client("gnutls-cli", ["gnutls-cli", "--udp", "-p", "4433"] + extra + [GW])
        line = f"through dtlsgw with gnutls {expect_kx}"
        c.wait_output(r"Handshake was completed", 15)
        c.send(line + "\n")
        out = c.wait_output(re.escape(line), 15)
        self.assertIn("(DTLS1.2-", out)
        self.assertIn(expect_kx, out)
        if "--x509cafile" in extra:
            self.assertIn("The certificate is trusted", out)
        self.assertEqual(tb.echo.count((line + "\n").encode()), 1)
        c.close_stdin()
        c.wait(10)
        tb.reap(c)

    def test_certificate(self):
        self.exchange(["--x509cafile", tb.cert,
                       "--priority", "NORMAL:-VERS-ALL:+VERS-DTLS1.2"], "-(ECDHE-")
        # (the certificate was verified against the CA file, name included)

    def test_psk(self):
        self.exchange(["--pskusername", testbed.DEMO_PSK_IDENTITY,
                       "--pskkey", testbed.DEMO_PSK_KEY,
                       "--priority", "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK"], "(PSK)")


class CoapClient(E2ETestCase):
    """libcoap: a CoAP GET over DTLS-PSK through the gateway to a plain
    coap-server-notls returns the server's resource."""
    time_limit = 40
    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = testbed.Proc("coap-server-notls", tb.topo.backend_cmd(
            ["coap-server-notls", "-A", testbed.BACKEND_ADDRESS, "-p", "5683"]), capture=True)
        # coap-server binds at once; give it a moment, bounded.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            ss = testbed.run(tb.topo.backend_cmd(["ss", "-lunH"]), check=False).stdout
            if ":5683" in ss:
                break
            time.sleep(0.05)
        else:
            raise testbed.TestbedError("coap-server-notls did not bind 10.0.0.2:5683")

    @classmethod
    def tearDownClass(cls):
        if cls.server:
            cls.server.stop()

    def get(self, program):
        c = tb.spawn_client(program, [program, "-m", "get", "-B", "10",
                                      "-u", testbed.COAP_PSK_IDENTITY,
                                      "-k", testbed.COAP_PSK_KEY_TEXT,
                                      f"coaps://{GW}:{COAP_PORT}/"], stdin=False)
        c.wait(15)
        out = c.stdout
        self.assertIn("This is a test server made with libcoap", out, c.stderr)
        self.assertEqual(c.p.returncode, 0, c.stderr)
        tb.reap(c)

    def test_coap_client_openssl(self):
        self.get("coap-client-openssl")

    def test_coap_client_gnutls(self):
        self.get("coap-client-gnutls")


class ConcurrentClients(E2ETestCase):
    """100 openssl s_client processes at once, each with its own session and
    its own line echoed back."""
    time_limit = 120
    clients = 100

    def test_100_concurrent_clients(self):
        before = tb.gateway.stats()
        procs = []
        try:
            for i in range(self.clients):
                cipher = "PSK-AES128-GCM-SHA256" if i % 2 else "PSK-CHACHA20-POLY1305"
                c = tb.openssl_client(cipher, psk=True)
                c.send(f"concurrent client {i:03d}\n")
                procs.append(c)
            deadline = time.monotonic() + 60
            for i, c in enumerate(procs):
                c.wait_output(f"concurrent client {i:03d}", max(1.0, deadline - time.monotonic()))
            for i in range(self.clients):
                self.assertEqual(tb.echo.count(f"concurrent client {i:03d}\n".encode()), 1)
            after = tb.gateway.stats()
            self.assertGreaterEqual(after["sessions_installed"] - before["sessions_installed"],
                                    self.clients)
            self.assertGreaterEqual(after["sessions"], self.clients)
        finally:
            for c in procs:
                tb.reap(c)


class ReplayAndTamper(E2ETestCase):
    """A relay in the client namespace captures the client's records: one
    re-sent is dropped as a replay and reaches the backend once; one with a
    flipped tag byte fails authentication and reaches nobody."""
    time_limit = 40

    def setUp(self):
        super().setUp()
        self.relay = testbed.UdpRelay(tb.topo.client_ns)
        host, port = self.relay.address
        self.client = tb.openssl_client("ECDHE-ECDSA-AES128-GCM-SHA256",
                                        host=host, port=port)
        self.addCleanup(self.relay.down)
        self.addCleanup(tb.reap, self.client)

    def say(self, line):
        self.client.send(line + "\n")
        self.client.wait_output(re.escape(line), 15)

    def test_replayed_record_dropped_and_counted(self):
        self.say("replay me")
        records = self.relay.application_data()
        self.assertEqual(len(records), 1)
        replay_before = stat("drop_replay")
        forwarded_before = stat("plaintext_forwarded")
        self.relay.inject(records[0])
        tb.gateway.wait_stats(lambda s: s["drop_replay"] == replay_before + 1, 5, "drop_replay +1")
        time.sleep(0.3)  # anything forwarded would have reached the backend by now
        self.assertEqual(stat("plaintext_forwarded"), forwarded_before)
        self.assertEqual(tb.echo.count(b"replay me\n"), 1)
        self.assertEqual(self.client.stdout.count("replay me"), 1)
        self.say("still flowing after the replay")

    def test_tampered_record_dropped_and_counted(self):
        self.say("before tampering")
        auth_before = stat("drop_auth_failed")
        forwarded_before = stat("plaintext_forwarded")
        self.relay.tamper_next = lambda d: d[0] == 23
        self.client.send("tampered\n")
        tb.gateway.wait_stats(lambda s: s["drop_auth_failed"] == auth_before + 1, 5,
                              "drop_auth_failed +1")
        time.sleep(0.3)
        self.assertEqual(len(self.relay.tampered), 1)
        self.assertEqual(stat("plaintext_forwarded"), forwarded_before)
        self.assertEqual(tb.echo.count(b"tampered\n"), 0)
        self.assertNotIn("tampered", self.client.stdout)
        self.say("still flowing after the forgery")


class TsharkKeylog(E2ETestCase):
    """An independent check of what crossed the wire: tshark, given the
    client's key log, decrypts the captured exchange in both directions."""
    time_limit = 60

    def test_tshark_decrypts_captured_exchange(self):
        pcap = os.path.join(tb.run_dir, "keylog.pcapng")
        keys = os.path.join(tb.run_dir, "keylog.txt")
        client_if = f"{testbed.LINK_TAG}{tb.topo.id}o1"
        cap = testbed.Proc("tshark", tb.topo.client_cmd(
            ["tshark", "-q", "-i", client_if, "-f", "udp port 4433", "-w", pcap]),
            capture=True, pdeathsig=signal.SIGTERM)
        self.addCleanup(cap.stop)
        cap.wait_output(r"Capturing on", 20, stream="stderr")
        time.sleep(1)  # dumpcap says so slightly before its socket sees packets
        line = "decoded by tshark"
        c = tb.openssl_client("ECDHE-ECDSA-AES256-GCM-SHA384", extra=["-keylogfile", keys])
        c.send(line + "\n")
        c.wait_output(re.escape(line), 15)
        c.close_stdin()
        c.wait(10)
        tb.reap(c)
        time.sleep(0.3)
        cap.stop(signal.SIGINT)
        out = testbed.run(["tshark", "-r", pcap, "-o", f"tls.keylog_file:{keys}",
                           "-d", "udp.port==4433,dtls", "-T", "fields", "-e", "ip.src",
                           "-e", "dtls.record.content_type", "-e", "data.data"],
                          timeout=30).stdout
        plain = (line + "\n").encode().hex()
        rows = [r.split("\t") for r in out.splitlines()]
        self.assertIn([testbed.CLIENT_ADDRESS, "22"], [r[:2] for r in rows], out)  # ClientHello
        self.assertIn([testbed.CLIENT_ADDRESS, "23", plain], rows, out)  # to the gateway
        self.assertIn([GW, "23", plain], rows, out)                      # and echoed back


if __name__ == "__main__":
    main(__name__)
