"""The dataplane's DPDK telemetry socket (dpdk_telemetry.v2): one client for
scripts/dtlsgwctl, scripts/dtlsgw-prometheus, the e2e testbed and the
benchmark scenarios. Standard library only."""
import json
import os
import socket


class TelemetryError(Exception):
    pass


def socket_path(prefix):
    """Where a dataplane with EAL --file-prefix `prefix` serves telemetry."""
    runtime = "/var/run/dpdk" if os.geteuid() == 0 else os.path.join(
        os.environ.get("XDG_RUNTIME_DIR", "/tmp"), "dpdk")
    return os.path.join(runtime, prefix, "dpdk_telemetry.v2")


class Telemetry:
    """One connection to dpdk_telemetry.v2 (SOCK_SEQPACKET, JSON replies)."""

    def __init__(self, prefix, timeout=5.0):
        self.path = socket_path(prefix)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(self.path)
            self.max_length = json.loads(self.sock.recv(1024).decode())["max_output_len"]
        except (OSError, ValueError, KeyError) as e:
            self.sock.close()
            raise TelemetryError("no dataplane at %s (%s)" % (self.path, e))

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __call__(self, command):
        """The reply's value, or None when the dataplane refused the command."""
        try:
            self.sock.send(command.encode())
            reply = json.loads(self.sock.recv(self.max_length).decode())
        except (OSError, ValueError) as e:
            raise TelemetryError("%s: %s" % (command, e))
        return reply.get(command.split(",")[0])


def query(prefix, command, timeout=5.0):
    """One command on a connection of its own."""
    with Telemetry(prefix, timeout) as t:
        return t(command)
