#!/usr/bin/env python3
"""Runs the MemorySanitizer constant-time check (constant_time_msan.cc).

Passes when the real compare runs clean and the early-exit control is
reported by MSan (the second run shows the check would catch a
variable-time compare), and when the code that verifies tags and cookies
(the record layer, the cookie check) calls no memcmp of any kind: every
compare there goes through equal_in_constant_time."""
import os
import pathlib
import re
import subprocess
import sys

VERIFIERS = ["dtls_record/*.cc", "dtls_record/*.h", "handshake/cookie.cc"]
VARIABLE_TIME = re.compile(r"\b(CRYPTO_memcmp|memcmp|__builtin_memcmp|bcmp)\s*\(")


def variable_time_compares(root):
    found = []
    for pattern in VERIFIERS:
        for path in sorted(root.glob(pattern)):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if VARIABLE_TIME.search(line.split("//")[0]):
                    found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def run(exe, *args):
    env = dict(os.environ, MSAN_OPTIONS="halt_on_error=1:exitcode=86")
    return subprocess.run([exe, *args], capture_output=True, text=True, env=env, timeout=60)


def main():
    exe = sys.argv[1]
    root = pathlib.Path(sys.argv[2])
    found = variable_time_compares(root)
    if found:
        print("FAIL: a memcmp where tags and cookies are verified:\n  " + "\n  ".join(found))
        return 1
    real = run(exe)
    sys.stdout.write(real.stdout)
    if real.returncode != 0:
        sys.stdout.write(real.stderr)
        print("FAIL: equal_in_constant_time branched on, indexed by, or misjudged secret bytes")
        return 1
    control = run(exe, "--control")
    if control.returncode == 0 or "use-of-uninitialized-value" not in control.stderr:
        sys.stdout.write(control.stdout + control.stderr)
        print("FAIL: MSan did not report the early-exit control compare: the check is blind")
        return 1
    print("control: MSan reported the early-exit compare, as it must")
    return 0


if __name__ == "__main__":
    sys.exit(main())
