"""A test bed for dtlsgw: network namespaces, veth pairs and the two gateway
processes, built and torn down robustly. Python standard library only.

    client namespace            root namespace                   backend namespace
    <id>c: 192.0.2.10/24 ── veth ── dg<id>o0 ┐              ┌ dg<id>i0 ── veth ── <id>b: 10.0.0.2/24
                                             dtlsgw-dataplane
                                   (net_af_packet0 = outside, net_af_packet1 = inside)
                                             dtlsgw-control (DPDK secondary)

The gateway is 192.0.2.1 on the outside and 10.0.0.1 on the inside.

Options (Topology, Testbed, gateway_config; all off by default):
- ipv6: the client also has 2001:db8:1::2/64 and the backend 2001:db8:2::2/64
  (documentation prefixes, RFC 3849), the gateway 2001:db8:1::1 and
  2001:db8:2::1; each namespace routes by default via the gateway's address.
- outside_vlan / inside_vlan: the namespace's end of that veth sends every
  frame 802.1Q-tagged with that id and takes only frames so tagged, as a VLAN
  sub-interface would; the root-side end stays untagged, so the dataplane
  sees the tags. (This kernel has no 802.1Q module, CONFIG_VLAN_8021Q is
  unset, so `ip link add ... type vlan` fails: two tc programs,
  `dtlsgw_vlan.VlanTagger`, push and pop the tag on the veth instead; on the
  wire it is the same.)

Robustness rules kept here:
- every name (namespaces, interfaces, DPDK --file-prefix) carries the owner's
  pid and a letter, so concurrent runs never collide, and a run that was
  killed (SIGKILL, a crash) is recognised and cleaned up by the next one
  (`cleanup_leftovers`, called by `Topology.up`);
- every child process gets PR_SET_PDEATHSIG, lives in its own process group
  and is stopped by its own id: SIGTERM, a deadline, then SIGKILL;
- every wait has a deadline; a failure names what was awaited and shows the
  tail of the relevant log;
- `install_signal_handlers` turns SIGTERM/SIGHUP into KeyboardInterrupt, and
  everything still up is torn down at interpreter exit (atexit), so Ctrl-C,
  SIGTERM, an exception or a failed assertion all leave nothing behind.
"""
import atexit
import ctypes
import itertools
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import dtlsgw_telemetry
from dtlsgw_vlan import VLAN_BYPASS_MARK, VlanError, VlanTagger

NAME_TAG = "dtgw"  # namespaces dtgw<pid><letter>{c,b}, DPDK prefixes dtgw<pid><letter>
LINK_TAG = "dg"    # interfaces dg<pid><letter>{o,i}{0,1} (IFNAMSIZ is 16)

GATEWAY_OUTSIDE = "192.0.2.1"
CLIENT_ADDRESS = "192.0.2.10"
GATEWAY_INSIDE = "10.0.0.1"
BACKEND_ADDRESS = "10.0.0.2"
# With ipv6=True (documentation prefixes, RFC 3849).
PREFIX_LENGTH6 = 64
GATEWAY_OUTSIDE6 = "2001:db8:1::1"
CLIENT_ADDRESS6 = "2001:db8:1::2"
GATEWAY_INSIDE6 = "2001:db8:2::1"
BACKEND_ADDRESS6 = "2001:db8:2::2"

CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)
_letters = itertools.cycle("abcdefghijklmnopqrstuvwxyz")
_live = []  # objects with .down(), torn down at exit in reverse order
_live_lock = threading.Lock()


class TestbedError(RuntimeError):
    pass


def log(msg):
    if os.environ.get("DTLSGW_TESTBED_VERBOSE"):
        print(f"testbed: {msg}", flush=True)


# ---------------------------------------------------------------- processes

def _pdeathsig(sig):
    def preexec():
        _libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    return preexec


def run(argv, timeout=15, check=True, capture=True):
    """Runs a short command with a deadline; returns CompletedProcess."""
    try:
        cp = subprocess.run(argv, timeout=timeout, text=True,
                            stdout=subprocess.PIPE if capture else None,
                            stderr=subprocess.PIPE if capture else None,
                            stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise TestbedError(f"timed out after {timeout}s: {' '.join(argv)}")
    if check and cp.returncode != 0:
        raise TestbedError(f"failed ({cp.returncode}): {' '.join(argv)}\n{cp.stderr or ''}")
    return cp


class Proc:
    """A child process in its own process group, with PDEATHSIG, output to a
    log file or captured by reader threads, stopped by its own id."""

    def __init__(self, name, argv, log_path=None, stdin=False, capture=False,
                 pdeathsig=signal.SIGKILL, env=None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._out = []
        self._err = []
        self._cond = threading.Condition()
        self._log = open(log_path, "ab") if log_path else None
        if capture:
            out = err = subprocess.PIPE
        elif self._log:
            out, err = self._log, subprocess.STDOUT
        else:
            out = err = subprocess.DEVNULL
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                  stdout=out, stderr=err, start_new_session=True,
                                  preexec_fn=_pdeathsig(pdeathsig), env=env)
        self.pid = self.p.pid
        self._readers = []
        if capture:
            for stream, buf in ((self.p.stdout, self._out), (self.p.stderr, self._err)):
                t = threading.Thread(target=self._read, args=(stream, buf), daemon=True)
                t.start()
                self._readers.append(t)
        log(f"started {name} pid {self.pid}: {' '.join(argv)}")

    def _read(self, stream, buf):
        while True:
            chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(4096)
            if not chunk:
                break
            with self._cond:
                buf.append(chunk)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def stdout(self):
        with self._cond:
            return b"".join(self._out).decode(errors="replace")

    @property
    def stderr(self):
        with self._cond:
            return b"".join(self._err).decode(errors="replace")

    def log_text(self):
        if self.log_path and os.path.exists(self.log_path):
            with open(self.log_path, errors="replace") as f:
                return f.read()
        return self.stdout + self.stderr

    def alive(self):
        return self.p.poll() is None

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def close_stdin(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass

    def wait_output(self, pattern, timeout, stream="stdout", count=1):
        """Waits until `pattern` (a regex) matches `count` times in the output."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                text = b"".join(self._out if stream == "stdout" else self._err).decode(
                    errors="replace")
                if len(rx.findall(text)) >= count:
                    return text
                left = deadline - time.monotonic()
                if left <= 0 or (self.p.poll() is not None and
                                 not any(t.is_alive() for t in self._readers)):
                    raise TestbedError(
                        f"{self.name}: no {pattern!r} x{count} in its {stream} within {timeout}s "
                        f"(exit status {self.p.poll()})\nstdout: {self.stdout[-1500:]}\n"
                        f"stderr: {self.stderr[-1500:]}")
                self._cond.wait(min(left, 0.2))

    def wait_log(self, pattern, timeout):
        """Waits until `pattern` appears in the log file; fails early if the
        process exits first."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_text()
            if rx.search(text):
                return text
            if self.p.poll() is not None:
                raise TestbedError(f"{self.name} exited ({self.p.returncode}) before "
                                   f"{pattern!r}:\n{text[-3000:]}")
            if time.monotonic() >= deadline:
                raise TestbedError(f"{self.name}: no {pattern!r} within {timeout}s:\n"
                                   f"{text[-3000:]}")
            time.sleep(0.05)

    def wait(self, timeout):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TestbedError(f"{self.name} still running after {timeout}s:\n"
                               f"{self.log_text()[-2000:]}")

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """Stops the process group this process leads: `sig`, then SIGKILL."""
        if self.p.poll() is None:
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.name} ignored {signal.Signals(sig).name}; SIGKILL")
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.p.wait(5)
        for t in self._readers:
            t.join(2)
        for s in (self.p.stdin, self.p.stdout, self.p.stderr):
            if s:
                try:
                    s.close()
                except OSError:
                    pass
        if self._log:
            self._log.close()
            self._log = None
        return self.p.returncode


# ---------------------------------------------------------- network namespaces

def in_netns(ns, fn):
    """Runs fn() on a fresh thread that has joined network namespace `ns`
    (setns affects only the calling thread). Sockets made there stay in that
    namespace and can be used from any thread afterwards."""
    result = {}

    def target():
        try:
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    e = ctypes.get_errno()
                    raise OSError(e, f"setns({ns}): {os.strerror(e)}")
            finally:
                os.close(fd)
            result["value"] = fn()
        except BaseException as e:  # handed to the caller
            result["error"] = e

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def netns_socket(ns, family=socket.AF_INET, kind=socket.SOCK_DGRAM, proto=0):
    return in_netns(ns, lambda: socket.socket(family, kind, proto))


def family_of(address):
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def host_port(address, port):
    """'192.0.2.1:4433' or '[2001:db8:1::1]:4433'."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


# ------------------------------------------------------------- 802.1Q tags

def _vlan_tagger(ns, ifname, vid):
    """A dtlsgw_vlan.VlanTagger on `ifname` in namespace `ns`."""
    try:
        tagger = in_netns(ns, lambda: VlanTagger(ifname, vid))
    except VlanError as e:
        raise TestbedError(str(e)) from e
    log(f"{ns}/{ifname}: 802.1Q VLAN {vid} (tc push/pop)")
    return tagger


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def cleanup_leftovers():
    """Removes what runs that died without tearing down left behind: their
    processes (found by their unique --file-prefix or namespace), namespaces,
    veths, DPDK runtime directories and hugepage files. Only names whose owner
    pid is no longer alive are touched."""
    ns_rx = re.compile(rf"^{NAME_TAG}(\d+)[a-z][cb]$")
    link_rx = re.compile(rf"^{LINK_TAG}(\d+)[a-z][oi]0$")
    prefix_rx = re.compile(rf"--file-prefix[= ]{NAME_TAG}(\d+)[a-z]\b")
    # gateway processes of dead runs, by pid
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        m = prefix_rx.search(cmd)
        if m and not _pid_alive(int(m.group(1))):
            _kill_pid(int(entry))
    names = run(["ip", "netns", "list"], check=False).stdout.split("\n")
    for line in names:
        name = line.split(" ")[0]
        m = ns_rx.match(name)
        if m and not _pid_alive(int(m.group(1))):
            _delete_netns(name)
    links = run(["ip", "-o", "link", "show"], check=False).stdout.split("\n")
    for line in links:
        parts = line.split(": ")
        if len(parts) < 2:
            continue
        name = parts[1].split("@")[0]
        m = link_rx.match(name)
        if m and not _pid_alive(int(m.group(1))):
            run(["ip", "link", "del", name], check=False)
    _cleanup_dpdk_files(lambda prefix: not _pid_alive(int(re.match(
        rf"{NAME_TAG}(\d+)", prefix).group(1))))


def _kill_pid(pid, timeout=3.0):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid) or _is_zombie(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def _delete_netns(name):
    pids = run(["ip", "netns", "pids", name], check=False).stdout.split()
    for pid in pids:
        if pid.isdigit():
            _kill_pid(int(pid))
    run(["ip", "netns", "del", name], check=False)


def _cleanup_dpdk_files(is_dead):
    rx = re.compile(rf"^({NAME_TAG}\d+[a-z])")
    for d, kind in (("/var/run/dpdk", "dir"), ("/dev/hugepages", "file")):
        if not os.path.isdir(d):
            continue
        for entry in os.listdir(d):
            m = rx.match(entry)
            if not m or not is_dead(m.group(1)):
                continue
            path = os.path.join(d, entry)
            if kind == "dir":
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass


def _register(obj):
    with _live_lock:
        _live.append(obj)


def _unregister(obj):
    with _live_lock:
        if obj in _live:
            _live.remove(obj)


@atexit.register
def teardown_all():
    """Tears down everything still up (reverse order of creation)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut teardown short
        except ValueError:
            pass  # not the main thread
    while True:
        with _live_lock:
            if not _live:
                return
            obj = _live[-1]
        try:
            obj.down()
        except Exception as e:  # keep tearing down the rest
            print(f"testbed: teardown of {obj!r} failed: {e}", flush=True)
        _unregister(obj)


def install_signal_handlers():
    """SIGTERM and SIGHUP raise KeyboardInterrupt like SIGINT, so `finally`
    blocks and the atexit teardown run."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


class Topology:
    """Two namespaces and two veth pairs; the root-side ends are for the
    dataplane's net_af_packet devices."""

    def __init__(self, outside_mtu=None, ipv6=False, outside_vlan=0, inside_vlan=0):
        self.id = f"{os.getpid()}{next(_letters)}"
        self.client_ns = f"{NAME_TAG}{self.id}c"
        self.backend_ns = f"{NAME_TAG}{self.id}b"
        self.outside_if = f"{LINK_TAG}{self.id}o0"
        self.inside_if = f"{LINK_TAG}{self.id}i0"
        # the namespace-side ends
        self.client_if = f"{LINK_TAG}{self.id}o1"
        self.backend_if = f"{LINK_TAG}{self.id}i1"
        self.dpdk_prefix = f"{NAME_TAG}{self.id}"
        self.outside_mtu = outside_mtu
        self.ipv6 = ipv6
        self.outside_vlan = outside_vlan
        self.inside_vlan = inside_vlan
        self._taggers = []
        self.is_up = False

    def __repr__(self):
        return f"Topology({self.id})"

    def up(self):
        cleanup_leftovers()
        _register(self)
        self.is_up = True
        c, b = self.client_ns, self.backend_ns
        o0, o1 = self.outside_if, self.client_if
        i0, i1 = self.inside_if, self.backend_if
        cmds = [
            ["ip", "netns", "add", c],
            ["ip", "netns", "add", b],
            ["ip", "link", "add", o0, "type", "veth", "peer", "name", o1],
            ["ip", "link", "add", i0, "type", "veth", "peer", "name", i1],
            ["ip", "link", "set", o1, "netns", c],
            ["ip", "link", "set", i1, "netns", b],
        ]
        # The root-side ends carry only the dataplane's frames: no IPv6
        # chatter from the root namespace's kernel.
        for ifname in (o0, i0):
            cmds.append(["sysctl", "-qw", f"net.ipv6.conf.{ifname}.disable_ipv6=1"])
        if self.outside_mtu:
            cmds += [["ip", "link", "set", o0, "mtu", str(self.outside_mtu)],
                     ["ip", "-n", c, "link", "set", o1, "mtu", str(self.outside_mtu)]]
        if self.ipv6:
            # Addresses usable at once (no duplicate address detection, for
            # the link-local ones either), and no router solicitations: the
            # namespaces' kernels route via the gateway, set below.
            for ns, ifname in ((c, o1), (b, i1)):
                for key in ("accept_dad=0", "dad_transmits=0", "accept_ra=0",
                            "router_solicitations=0"):
                    cmds.append(["ip", "netns", "exec", ns, "sysctl", "-qw",
                                 f"net.ipv6.conf.{ifname}.{key}"])
        cmds += [
            ["ip", "link", "set", o0, "up"],
            ["ip", "link", "set", i0, "up"],
            ["ip", "-n", c, "addr", "add", f"{CLIENT_ADDRESS}/24", "dev", o1],
            ["ip", "-n", c, "link", "set", o1, "up"],
            ["ip", "-n", c, "link", "set", "lo", "up"],
            ["ip", "-n", b, "addr", "add", f"{BACKEND_ADDRESS}/24", "dev", i1],
            ["ip", "-n", b, "link", "set", i1, "up"],
            ["ip", "-n", b, "link", "set", "lo", "up"],
            # veth hands frames over with the UDP checksum still to be filled
            # (CHECKSUM_PARTIAL); net_af_packet would pass them on unfilled
            # and the kernel would drop what the dataplane sends back. (IPv4
            # and IPv6: veth offers the generic checksum, which this clears.)
            ["ip", "netns", "exec", c, "ethtool", "-K", o1, "tx", "off"],
            ["ip", "netns", "exec", b, "ethtool", "-K", i1, "tx", "off"],
        ]
        if self.ipv6:
            cmds += [
                ["ip", "-n", c, "-6", "addr", "add", f"{CLIENT_ADDRESS6}/{PREFIX_LENGTH6}",
                 "dev", o1, "nodad"],
                ["ip", "-n", c, "-6", "route", "add", "default", "via", GATEWAY_OUTSIDE6,
                 "dev", o1],
                ["ip", "-n", b, "-6", "addr", "add", f"{BACKEND_ADDRESS6}/{PREFIX_LENGTH6}",
                 "dev", i1, "nodad"],
                ["ip", "-n", b, "-6", "route", "add", "default", "via", GATEWAY_INSIDE6,
                 "dev", i1],
            ]
        else:
            for ns in (c, b):
                cmds.append(["ip", "netns", "exec", ns, "sysctl", "-qw",
                             "net.ipv6.conf.all.disable_ipv6=1"])
        for cmd in cmds:
            run(cmd)
        if self.outside_vlan:
            self._taggers.append(_vlan_tagger(c, o1, self.outside_vlan))
        if self.inside_vlan:
            self._taggers.append(_vlan_tagger(b, i1, self.inside_vlan))
        log(f"namespaces {c} and {b} up")
        return self

    def down(self):
        if not self.is_up:
            return
        self.is_up = False
        for t in self._taggers:
            t.down()
        self._taggers = []
        for ns in (self.client_ns, self.backend_ns):
            _delete_netns(ns)
        for ifname in (self.outside_if, self.inside_if):
            if os.path.exists(f"/sys/class/net/{ifname}"):
                run(["ip", "link", "del", ifname], check=False)
        _unregister(self)
        log(f"namespaces {self.client_ns} and {self.backend_ns} down")

    def client_cmd(self, argv):
        return ["ip", "netns", "exec", self.client_ns] + list(argv)

    def backend_cmd(self, argv):
        return ["ip", "netns", "exec", self.backend_ns] + list(argv)

    def gateway_mac(self, side="outside"):
        """The dataplane's MAC on that side: net_af_packet uses the root-side
        veth's."""
        ifname = self.outside_if if side == "outside" else self.inside_if
        with open(f"/sys/class/net/{ifname}/address") as f:
            return f.read().strip()

    def namespace_mac(self, side="outside"):
        ns, ifname = ((self.client_ns, self.client_if) if side == "outside"
                      else (self.backend_ns, self.backend_if))
        # (not /sys/class/net: sysfs shows the namespace it was mounted in)
        return json.loads(run(["ip", "-n", ns, "-j", "link", "show", "dev", ifname]).stdout)[0][
            "address"]

    def send_frame(self, frame, side="outside"):
        """Sends a raw Ethernet frame (802.1Q tag in it, or none) from the
        client (or backend) namespace's veth end, past its VLAN tagger."""
        ns, ifname = ((self.client_ns, self.client_if) if side == "outside"
                      else (self.backend_ns, self.backend_if))
        s = netns_socket(ns, socket.AF_PACKET, socket.SOCK_RAW, 0)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, VLAN_BYPASS_MARK)
            s.bind((ifname, 0))
            s.send(frame)
        finally:
            s.close()


# --------------------------------------------------------------- credentials

DEMO_PSK_IDENTITY = "demo"
DEMO_PSK_KEY = "00112233445566778899aabbccddeeff"
# libcoap's -k takes the key as text: a second identity whose key is ASCII.
COAP_PSK_IDENTITY = "coap"
COAP_PSK_KEY_TEXT = "dtlsgw-coap-key!"


def make_credentials(directory):
    """A self-signed ECDSA P-256 certificate (for 192.0.2.1, 2001:db8:1::1 and
    dtlsgw.test) and a PSK file, made once in `directory`. Returns their
    paths."""
    os.makedirs(directory, exist_ok=True)
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    psk = os.path.join(directory, "psk.txt")
    if not (os.path.exists(cert) and os.path.exists(key)):
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", key, "-out", cert, "-days", "3650", "-subj",
             "/CN=dtlsgw.test", "-addext",
             f"subjectAltName=IP:{GATEWAY_OUTSIDE},IP:{GATEWAY_OUTSIDE6},DNS:dtlsgw.test"])
        os.chmod(key, 0o600)
    if not os.path.exists(psk):
        with open(psk, "w") as f:
            f.write(f"{DEMO_PSK_IDENTITY}:{DEMO_PSK_KEY}\n")
            f.write(f"{COAP_PSK_IDENTITY}:{COAP_PSK_KEY_TEXT.encode().hex()}\n")
        os.chmod(psk, 0o600)
    return cert, key, psk


def gateway_config(cert, key, psk, listeners=((4433, f"{BACKEND_ADDRESS}:7"),),
                   worker_lcores=(1,), max_sessions=4096, mbufs=4096, summary_interval="1s",
                   handshake_extra=None, dataplane_extra=None, ipv6=False, outside_vlan=0,
                   inside_vlan=0, outside_extra=None, inside_extra=None):
    """The gateway's TOML configuration for this topology. A listener's
    backend is "10.0.0.2:7" or "[2001:db8:2::2]:7". ipv6 gives each port its
    IPv6 address (address6, prefix_length6), outside_vlan/inside_vlan its
    802.1Q id (vlan); keys left at their defaults are not written, so the
    text is what it always was without these options."""
    lines = ["[dataplane]",
             f"workers = [{', '.join(str(w) for w in worker_lcores)}]",
             f"max_sessions = {max_sessions}",
             f"mbufs = {mbufs}",
             f'summary_interval = "{summary_interval}"']
    for k, v in (dataplane_extra or {}).items():
        lines.append(f"{k} = {_toml(v)}")
    for name, port, address, address6, vlan, extra in (
            ("outside", 0, GATEWAY_OUTSIDE, GATEWAY_OUTSIDE6, outside_vlan, outside_extra),
            ("inside", 1, GATEWAY_INSIDE, GATEWAY_INSIDE6, inside_vlan, inside_extra)):
        lines += ["", f"[{name}]", f"port = {port}", f'address = "{address}"']
        if ipv6:
            lines += [f'address6 = "{address6}"', f"prefix_length6 = {PREFIX_LENGTH6}"]
        if vlan:
            lines.append(f"vlan = {vlan}")
        for k, v in (extra or {}).items():
            lines.append(f"{k} = {_toml(v)}")
    for port, backend in listeners:
        lines += ["", "[[listener]]", f"port = {port}", f'backend = "{backend}"']
    lines += ["", "[handshake]",
              f'certificates = [{{ chain = "{cert}", key = "{key}" }}]',
              f'psk_file = "{psk}"']
    for k, v in (handshake_extra or {}).items():
        lines.append(f"{k} = {_toml(v)}")
    return "\n".join(lines) + "\n"


def _toml(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return json.dumps(str(v))


# ------------------------------------------------------------------- gateway

def find_binaries(build_dir):
    dp = os.path.join(build_dir, "dataplane", "dtlsgw-dataplane")
    ctl = os.path.join(build_dir, "control", "dtlsgw-control")
    for b in (dp, ctl):
        if not os.access(b, os.X_OK):
            raise TestbedError(f"{b} is not built (meson setup {build_dir} && ninja -C {build_dir})")
    return dp, ctl


class Gateway:
    """dtlsgw-dataplane (primary) and dtlsgw-control (secondary) on a Topology."""

    def __init__(self, topo, config_text, run_dir, dataplane_bin, control_bin,
                 lcores="0,1", control_lcore="2@0"):
        self.topo = topo
        self.run_dir = run_dir
        self.dataplane_bin = dataplane_bin
        self.control_bin = control_bin
        self.lcores = lcores
        self.control_lcore = control_lcore
        self.config_path = os.path.join(run_dir, "gateway.toml")
        with open(self.config_path, "w") as f:
            f.write(config_text)
        self.dataplane = None
        self.control = None
        self._control_runs = 0

    def __repr__(self):
        return f"Gateway({self.topo.dpdk_prefix})"

    def start(self, timeout=30):
        _register(self)
        prefix = self.topo.dpdk_prefix
        argv = [self.dataplane_bin, "-l", self.lcores, "--no-pci", "--file-prefix", prefix,
                "--log-level", "lib.eal:error",
                "--vdev", f"net_af_packet0,iface={self.topo.outside_if}",
                "--vdev", f"net_af_packet1,iface={self.topo.inside_if}",
                "--", "--config", self.config_path]
        self.dataplane = Proc("dtlsgw-dataplane", argv,
                              log_path=os.path.join(self.run_dir, "dataplane.log"),
                              pdeathsig=signal.SIGTERM)
        self.dataplane.wait_log(r"dtlsgw-dataplane: running", timeout)
        self.start_control(timeout)
        return self

    def start_control(self, timeout=30):
        self._control_runs += 1
        argv = [self.control_bin, "--lcores", self.control_lcore, "--proc-type=secondary",
                "--file-prefix", self.topo.dpdk_prefix, "--no-pci",
                "--log-level", "lib.eal:error",
                "--", "--config", self.config_path, "--wait", str(int(timeout))]
        self.control = Proc("dtlsgw-control", argv,
                            log_path=os.path.join(self.run_dir,
                                                  f"control.{self._control_runs}.log"),
                            pdeathsig=signal.SIGTERM)
        self.control.wait_log(r"attached to the dataplane", timeout)
        return self.control

    def kill_control(self, sig=signal.SIGKILL):
        if self.control:
            self.control.stop(sig)

    def telemetry(self, command, timeout=5.0):
        """One DPDK telemetry command (the socket dpdk-telemetry.py uses)."""
        try:
            value = dtlsgw_telemetry.query(self.topo.dpdk_prefix, command, timeout)
        except dtlsgw_telemetry.TelemetryError as e:
            raise TestbedError(f"telemetry {command}: {e}")
        if value is None:
            raise TestbedError(f"telemetry {command} failed")
        return value

    def stats(self):
        return self.telemetry("/dtlsgw/stats")

    def sessions(self):
        return self.telemetry("/dtlsgw/sessions")

    def wait_stats(self, predicate, timeout, what):
        """Polls /dtlsgw/stats until predicate(stats) holds."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.stats()
            if predicate(s):
                return s
            if time.monotonic() >= deadline:
                raise TestbedError(f"counters: {what} not reached within {timeout}s: "
                                   f"{nonzero(s)}")
            time.sleep(0.1)

    def control_status(self):
        """The control process's last status line (handshakes in progress,
        completed, failed, ...), or '' before its first."""
        text = self.control.log_text() if self.control else ""
        lines = [l for l in text.splitlines() if "handshakes in progress" in l]
        return lines[-1] if lines else ""

    def down(self):
        if self.control:
            self.control.stop(signal.SIGTERM)
        if self.dataplane:
            self.dataplane.stop(signal.SIGTERM, timeout=10)
        prefix = self.topo.dpdk_prefix
        _cleanup_dpdk_files(lambda p: p == prefix)
        _unregister(self)


def nonzero(stats):
    return {k: v for k, v in stats.items() if v}


# ------------------------------------------------------------ echo backend

class UdpEcho:
    """A plaintext UDP echo server in a namespace, on a thread; remembers
    every datagram it received (and from where). IPv6 if `address` is:
    an AF_INET6 socket bound to that address alone (IPV6_V6ONLY), so an IPv4
    echo on the same port can run beside it."""

    def __init__(self, ns, address=BACKEND_ADDRESS, port=7):
        family = family_of(address)
        self.address = address
        self.port = port
        self.sock = netns_socket(ns, family)
        if family == socket.AF_INET6:
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        self.sock.bind((address, port))
        self.received = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        _register(self)

    def _loop(self):
        while not self._stop.is_set():
            r, _, _ = select.select([self.sock], [], [], 0.1)
            if not r:
                continue
            try:
                data, peer = self.sock.recvfrom(65535)
            except OSError:
                return
            with self._lock:
                self.received.append((data, peer))
            try:
                self.sock.sendto(data, peer)
            except OSError:
                pass

    def count(self, payload):
        with self._lock:
            return sum(1 for d, _ in self.received if d == payload)

    def peers_of(self, payload):
        """The (address, port, ...) each copy of `payload` came from."""
        with self._lock:
            return [p for d, p in self.received if d == payload]

    def down(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
        _unregister(self)


# --------------------------------------------------------------- the bed

class Testbed:
    """Topology + credentials + echo backend + gateway, as a context manager.

        with Testbed(build_dir) as tb:
            tb.openssl_client(...)
    """

    def __init__(self, build_dir, run_dir=None, credentials_dir=None, outside_mtu=None,
                 echo=True, ipv6=False, outside_vlan=0, inside_vlan=0, **config):
        """ipv6, outside_vlan and inside_vlan go to both the Topology and
        gateway_config; with ipv6 a second echo server, `echo6`, answers on
        [2001:db8:2::2]:7 beside `echo` on 10.0.0.2:7."""
        self.build_dir = build_dir
        self.topo = Topology(outside_mtu=outside_mtu, ipv6=ipv6, outside_vlan=outside_vlan,
                             inside_vlan=inside_vlan)
        config.update(ipv6=ipv6, outside_vlan=outside_vlan, inside_vlan=inside_vlan)
        self._own_run_dir = run_dir is None
        self.run_dir = run_dir or tempfile.mkdtemp(prefix=f"{NAME_TAG}{self.topo.id}-")
        self.cert, self.key, self.psk = make_credentials(credentials_dir or self.run_dir)
        self.config = config
        self.echo_enabled = echo
        self.echo = None
        self.echo6 = None
        self.gateway = None
        self._procs = []

    def __repr__(self):
        return f"Testbed({self.topo.id})"

    def up(self, timeout=30):
        _register(self)
        try:
            dp, ctl = find_binaries(self.build_dir)
            self.topo.up()
            if self.echo_enabled:
                self.echo = UdpEcho(self.topo.backend_ns)
                if self.topo.ipv6:
                    self.echo6 = UdpEcho(self.topo.backend_ns, BACKEND_ADDRESS6)
            text = gateway_config(self.cert, self.key, self.psk, **self.config)
            self.gateway = Gateway(self.topo, text, self.run_dir, dp, ctl).start(timeout)
        except BaseException:
            self.down()
            raise
        return self

    def __enter__(self):
        return self.up()

    def __exit__(self, *exc):
        self.down()

    def down(self):
        for p in self._procs:
            p.stop(signal.SIGKILL)
        self._procs = []
        for obj in (self.gateway, self.echo6, self.echo, self.topo):
            if obj is not None:
                obj.down()
        if self._own_run_dir and not os.environ.get("DTLSGW_TESTBED_KEEP"):
            shutil.rmtree(self.run_dir, ignore_errors=True)
        _unregister(self)

    # -- peers, all in the client namespace

    def spawn_client(self, name, argv, stdin=True):
        p = Proc(name, self.topo.client_cmd(argv), stdin=stdin, capture=True)
        self._procs.append(p)
        return p

    def reap(self, p):
        p.stop(signal.SIGKILL)
        if p in self._procs:
            self._procs.remove(p)

    def openssl_argv(self, cipher, psk=False, port=4433, host=GATEWAY_OUTSIDE, extra=()):
        argv = ["openssl", "s_client", "-dtls1_2", "-connect", host_port(host, port),
                "-cipher", cipher, "-brief"]
        if ":" in host:
            argv.append("-6")
        if psk:
            argv += ["-psk_identity", DEMO_PSK_IDENTITY, "-psk", DEMO_PSK_KEY]
        else:
            argv += ["-CAfile", self.cert, "-verify_return_error"]
        return argv + list(extra)

    def openssl_client(self, cipher, psk=False, **kw):
        return self.spawn_client("openssl s_client", self.openssl_argv(cipher, psk, **kw))

    def client_socket(self, kind=socket.SOCK_DGRAM, proto=0, family=socket.AF_INET):
        return netns_socket(self.topo.client_ns, family, kind, proto)


# --------------------------------------------------------------- UDP relay

class UdpRelay:
    """A UDP relay in the client namespace between one DTLS client and the
    gateway: it can capture, inject, tamper, and drop or reorder datagrams
    with a seeded pattern (the kernel here has no netem)."""

    def __init__(self, ns, upstream=(GATEWAY_OUTSIDE, 4433), listen=(CLIENT_ADDRESS, 0),
                 loss=0.0, reorder=0.0, seed=1, max_datagram=None):
        import random
        self.down_sock = netns_socket(ns)   # facing the client
        self.down_sock.bind(listen)
        self.address = self.down_sock.getsockname()
        self.up_sock = netns_socket(ns)     # facing the gateway
        self.up_sock.connect(upstream)
        self.client = None
        self.from_client = []
        self.from_server = []
        self.dropped = 0
        self.reordered = 0
        self.tamper_next = None  # predicate(datagram) -> True: flip a byte of it
        self.tampered = []
        self._rng = {"up": random.Random(seed), "down": random.Random(seed + 1)}
        self.loss = loss
        self.reorder = reorder
        self.max_datagram = max_datagram
        self._held = {"up": None, "down": None}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        _register(self)

    def _impair(self, direction, data, send):
        rng = self._rng[direction]
        if self.max_datagram is not None and len(data) > self.max_datagram:
            self.dropped += 1  # larger than the path MTU
            return
        if self.loss and rng.random() < self.loss:
            self.dropped += 1
            return
        held = self._held[direction]
        if held is not None:
            self._held[direction] = None
            send(data)
            send(held)  # the held datagram overtaken by this one
            return
        if self.reorder and rng.random() < self.reorder:
            self._held[direction] = data
            self.reordered += 1
            return
        send(data)

    def _flush_held(self):
        for direction, send in (("up", self.up_sock.send),
                                ("down", lambda d: self.down_sock.sendto(d, self.client))):
            held = self._held[direction]
            if held is not None and self.client is not None:
                self._held[direction] = None
                send(held)

    def _loop(self):
        idle = 0
        while not self._stop.is_set():
            r, _, _ = select.select([self.down_sock, self.up_sock], [], [], 0.05)
            if not r:
                idle += 1
                if idle >= 4:   # a datagram is never held for more than ~200 ms
                    self._flush_held()
                continue
            idle = 0
            for s in r:
                try:
                    if s is self.down_sock:
                        data, peer = s.recvfrom(65535)
                        self.client = peer
                        with self._lock:
                            if self.tamper_next and self.tamper_next(data):
                                self.tamper_next = None
                                data = bytearray(data)
                                data[-1] ^= 0x01  # last byte: the AEAD tag
                                data = bytes(data)
                                self.tampered.append(data)
                            self.from_client.append(data)
                        self._impair("up", data, self.up_sock.send)
                    else:
                        data = s.recv(65535)
                        with self._lock:
                            self.from_server.append(data)
                        if self.client is not None:
                            self._impair("down", data,
                                         lambda d: self.down_sock.sendto(d, self.client))
                except OSError:
                    pass

    def inject(self, data):
        """Sends a datagram to the gateway as if from the client."""
        self.up_sock.send(data)

    def application_data(self):
        """Client→gateway datagrams that start with an epoch-1 application_data record."""
        with self._lock:
            return [d for d in self.from_client if len(d) > 13 and d[0] == 23 and d[3:5] == b"\0\1"]

    def down(self):
        self._stop.set()
        self._thread.join(2)
        self.down_sock.close()
        self.up_sock.close()
        _unregister(self)


# ---------------------------------------------------- spoofed ClientHellos

def client_hello(random_bytes, session_id=b"", cookie=b"", record_seq=0):
    """A DTLS 1.2 ClientHello record (RFC 6347 §4.2.1; RFC 5246 §7.4.1.2)
    offering ECDHE-ECDSA-AES128-GCM-SHA256 and PSK-AES128-CCM8."""
    suites = bytes.fromhex("c02bc0a8")
    ext = b""
    ext += bytes.fromhex("000a0004" "0002" "0017")        # supported_groups: secp256r1
    ext += bytes.fromhex("000b0002" "01" "00")            # ec_point_formats: uncompressed
    ext += bytes.fromhex("000d0004" "0002" "0403")        # signature_algorithms
    ext += bytes.fromhex("00170000")                      # extended_master_secret
    body = (b"\xfe\xfd" + random_bytes + bytes([len(session_id)]) + session_id +
            bytes([len(cookie)]) + cookie + len(suites).to_bytes(2, "big") + suites +
            b"\x01\x00" + len(ext).to_bytes(2, "big") + ext)
    hs = (b"\x01" + len(body).to_bytes(3, "big") + b"\x00\x00" + b"\x00\x00\x00" +
          len(body).to_bytes(3, "big") + body)
    return (b"\x16\xfe\xff" + b"\x00\x00" + record_seq.to_bytes(6, "big") +
            len(hs).to_bytes(2, "big") + hs)


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def ipv4_udp(src, sport, dst, dport, payload, ident=0):
    """An IPv4 header + UDP datagram (checksums filled) for an IP_HDRINCL socket."""
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    udp_len = 8 + len(payload)
    pseudo = s + d + b"\0\x11" + udp_len.to_bytes(2, "big")
    udp = sport.to_bytes(2, "big") + dport.to_bytes(2, "big") + udp_len.to_bytes(2, "big")
    csum = _checksum(pseudo + udp + b"\0\0" + payload) or 0xffff
    udp += csum.to_bytes(2, "big") + payload
    total = 20 + len(udp)
    ip = (b"\x45\x00" + total.to_bytes(2, "big") + (ident & 0xffff).to_bytes(2, "big") +
          b"\x40\x00" + b"\x40\x11" + b"\0\0" + s + d)
    ip = ip[:10] + _checksum(ip).to_bytes(2, "big") + ip[12:]
    return ip + udp


def ipv6_udp(src, sport, dst, dport, payload, hop_limit=64):
    """An IPv6 header + UDP datagram (checksum filled: mandatory in IPv6,
    RFC 8200 §8.1)."""
    s, d = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
    udp_len = 8 + len(payload)
    pseudo = s + d + udp_len.to_bytes(4, "big") + b"\0\0\0\x11"
    udp = sport.to_bytes(2, "big") + dport.to_bytes(2, "big") + udp_len.to_bytes(2, "big")
    csum = _checksum(pseudo + udp + b"\0\0" + payload) or 0xffff
    udp += csum.to_bytes(2, "big") + payload
    return (b"\x60\0\0\0" + len(udp).to_bytes(2, "big") + b"\x11" + bytes([hop_limit]) +
            s + d + udp)


def ethernet(dst_mac, src_mac, payload, ethertype=0x0800, vlan=None):
    """An Ethernet II frame; with `vlan`, an 802.1Q tag (TPID 0x8100, PCP 0)
    carrying that id before the EtherType."""
    mac = lambda m: bytes.fromhex(m.replace(":", ""))  # noqa: E731
    tag = b"" if vlan is None else b"\x81\x00" + (vlan & 0xfff).to_bytes(2, "big")
    return mac(dst_mac) + mac(src_mac) + tag + ethertype.to_bytes(2, "big") + payload


def ip_udp(src, sport, dst, dport, payload):
    """ipv4_udp or ipv6_udp by the addresses' family; returns (EtherType,
    packet)."""
    if ":" in src:
        return 0x86DD, ipv6_udp(src, sport, dst, dport, payload)
    return 0x0800, ipv4_udp(src, sport, dst, dport, payload)
