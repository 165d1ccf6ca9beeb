#!/usr/bin/env python3
"""Runs one libFuzzer harness briefly over its checked-in seed corpus.

usage: smoke.py FUZZER CORPUS_DIR ARTIFACT_DIR [LIBFUZZER_FLAG...]

libFuzzer writes every new interesting input into the first corpus
directory it is given; that is a fresh temporary directory here, so the
checked-in corpus is only read and every run starts from the same seeds.

A crash input is kept in ARTIFACT_DIR (<harness>-crash-<sha1>); rerun it
with `FUZZER ARTIFACT`.

Exit status: 0 when the run finished clean, 1 otherwise. libFuzzer's own
exit code for a crash is 77, which meson reads as "skipped"; so it is never
passed through as is.
"""
import os
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    fuzzer, corpus, artifacts, *flags = sys.argv[1:]
    name = os.path.basename(fuzzer)
    os.makedirs(artifacts, exist_ok=True)
    env = dict(os.environ)
    # A UBSan finding must fail the run, not scroll by: halt on the first
    # one unless the caller decided otherwise.
    ubsan = env.get("UBSAN_OPTIONS", "")
    if "halt_on_error" not in ubsan:
        env["UBSAN_OPTIONS"] = ":".join(
            o for o in (ubsan, "halt_on_error=1", "print_stacktrace=1") if o)
    with tempfile.TemporaryDirectory(prefix=name + "-") as scratch:
        cmd = [fuzzer, *flags,
               "-artifact_prefix=" + os.path.join(artifacts, name + "-"),
               scratch, corpus]
        print(" ".join(cmd), flush=True)
        rc = subprocess.call(cmd, env=env)
    if rc != 0:
        print(f"{name}: libFuzzer exited with {rc}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
