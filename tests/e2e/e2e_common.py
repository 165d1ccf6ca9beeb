"""Shared by the end-to-end tests: where the build is, the root check, a
per-test time limit, and a runner that writes a GoogleTest-style JUnit file
so scripts/count-tests counts each test case (the tests are registered with
meson's 'gtest' protocol for that reason: meson passes
--gtest_output=xml:FILE and reads FILE back)."""
import os
import signal
import sys
import time
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(TOP, "scripts", "lib"))

import dtlsgw_testbed as testbed  # noqa: E402

BUILD_DIR = os.environ.get("DTLSGW_BUILD_DIR", os.path.join(TOP, "build"))


def require_root():
    if os.geteuid() != 0:
        raise unittest.SkipTest("end-to-end tests need root (network namespaces, veth pairs, "
                                "hugepages); run them as root, e.g. sudo scripts/test")


class TimeLimit(Exception):
    pass


class E2ETestCase(unittest.TestCase):
    """A test case whose every test fails after `time_limit` seconds."""
    time_limit = 60

    def setUp(self):
        def expired(signum, frame):
            raise TimeLimit(f"{self.id()} exceeded its {self.time_limit} s limit")
        signal.signal(signal.SIGALRM, expired)
        signal.alarm(self.time_limit)
        self.addCleanup(signal.alarm, 0)


class _JUnitResult(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.cases = []  # (suite, name, status, text, seconds)
        self._t0 = {}

    def startTest(self, test):
        self._t0[test.id()] = time.monotonic()
        super().startTest(test)

    def _add(self, test, status, text=""):
        elapsed = time.monotonic() - self._t0.get(test.id(), time.monotonic())
        parts = test.id().split(".")
        suite, name = (parts[-2], parts[-1]) if len(parts) >= 2 else ("setup", test.id())
        self.cases.append((suite, name, status, text, elapsed))

    def addSuccess(self, test):
        super().addSuccess(test)
        self._add(test, "ok")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._add(test, "failure", self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._add(test, "error", self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        if isinstance(test, unittest.TestCase):
            self._add(test, "skipped", reason)
        else:  # a skipped setUpModule/setUpClass: skip every test it covered
            self._pending_skip = reason


def _write_junit(path, cases):
    root = ET.Element("testsuites")
    suites = {}
    for suite, name, status, text, seconds in cases:
        s = suites.get(suite)
        if s is None:
            s = suites[suite] = ET.SubElement(root, "testsuite", name=suite)
        c = ET.SubElement(s, "testcase", name=name, classname=suite, time=f"{seconds:.3f}")
        if status in ("failure", "error"):
            ET.SubElement(c, status, message=text.splitlines()[-1] if text else status).text = text
        elif status == "skipped":
            ET.SubElement(c, "skipped", message=text)
    for s in suites.values():
        cs = list(s)
        s.set("tests", str(len(cs)))
        s.set("failures", str(sum(1 for c in cs if c.find("failure") is not None)))
        s.set("errors", str(sum(1 for c in cs if c.find("error") is not None)))
        s.set("skipped", str(sum(1 for c in cs if c.find("skipped") is not None)))
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _all_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _all_tests(t)
        else:
            yield t


def main(module_name):
    """Runs the module's tests; exit 0 (all passed), 1 (a failure) or 77
    (all skipped: meson's SKIP)."""
    junit = None
    args = []
    for a in sys.argv[1:]:
        if a.startswith("--gtest_output=xml:"):
            junit = a.split(":", 1)[1]
        else:
            args.append(a)
    testbed.install_signal_handlers()
    loader = unittest.TestLoader()
    module = sys.modules[module_name]
    suite = loader.loadTestsFromNames(args, module) if args else loader.loadTestsFromModule(module)
    tests = list(_all_tests(suite))
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=_JUnitResult)
    t0 = time.monotonic()
    try:
        result = runner.run(suite)
    finally:
        testbed.teardown_all()
    cases = list(result.cases)
    reported = {(c[0], c[1]) for c in cases}
    # Tests that never reported (their module or class set-up failed or was
    # skipped) are written as skipped or failed, so none goes uncounted.
    setup_failed = [e for e in result.errors if not isinstance(e[0], unittest.TestCase)]
    skip_reason = getattr(result, "_pending_skip", None)
    for t in tests:
        parts = t.id().split(".")
        key = (parts[-2], parts[-1])
        if key in reported:
            continue
        if setup_failed:
            cases.append((key[0], key[1], "error", setup_failed[0][1], 0.0))
        else:
            cases.append((key[0], key[1], "skipped", skip_reason or "not run", 0.0))
    if junit:
        _write_junit(junit, cases)
    print(f"{module_name}: {len(cases)} cases in {time.monotonic() - t0:.1f} s")
    if any(c[2] in ("failure", "error") for c in cases) or not result.wasSuccessful():
        sys.exit(1)
    if cases and all(c[2] == "skipped" for c in cases):
        print(f"{module_name}: all skipped: {cases[0][3]}")
        sys.exit(77)
    sys.exit(0)
