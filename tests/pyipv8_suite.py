"""Run py-ipv8's own test suite (``ipv8/test`` of the installed ``pyipv8`` wheel) on ipv8fast and on py-ipv8.

``python tests/pyipv8_suite.py [--mode alias|real|both] [--json FILE] [-k EXPR] [AREA_OR_PATH ...]``

Each mode runs in a child process: ``alias`` installs ``ipv8fast.compat`` (the hybrid alias) before the first
``ipv8`` import, so py-ipv8's tests and upper layers run on ipv8fast's core; ``real`` runs them on py-ipv8
itself. The test files are taken from the installed py-ipv8 at run time (never copied into this project).
Datagrams to addresses off 127.0.0.0/8 (or ::1) are dropped and reported as leaks, and where ``unshare -n``
works (root on Linux) the child runs in a network namespace with only a loopback interface.
Prints pass/fail counts per area (core, DHT, tunnels, attestation, REST, database).
"""
from __future__ import annotations

import argparse
import importlib.machinery
import ipaddress
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

AREAS = ("core", "DHT", "tunnels", "attestation", "REST", "database")
_AREA_DIRS = {"dht": "DHT", "REST": "REST", "attestation": "attestation", "messaging/anonymization": "tunnels"}


def pyipv8_test_dir() -> Path:
    """``ipv8/test`` of the installed py-ipv8 (found on sys.path, without importing it)."""
    spec = importlib.machinery.PathFinder.find_spec("ipv8")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("py-ipv8 (pyipv8) is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "test"


def area_of(nodeid_or_path: str) -> str:
    """The area of a test, from its path relative to ``ipv8/test``."""
    path = nodeid_or_path.split("::")[0].replace(os.sep, "/")
    relative = path.split("ipv8/test/", 1)[-1]
    if relative.startswith("test_database"):
        return "database"
    for prefix, area in _AREA_DIRS.items():
        if relative.startswith(prefix + "/"):
            return area
    return "core"


# --- the child: one pytest run in this process ------------------------------------------------------------------

class _Recorder:
    """pytest plugin: the outcome of every test (a failing setup or teardown counts as a failure)."""

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self.current = ""

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self.current = nodeid

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when == "call" or report.outcome != "passed":
            previous = self.outcomes.get(report.nodeid)
            if previous in (None, "passed"):
                self.outcomes[report.nodeid] = report.outcome
            if report.outcome == "failed":
                self.errors.setdefault(report.nodeid, str(report.longrepr)[-1500:])

    def pytest_collectreport(self, report: Any) -> None:
        if report.outcome == "failed":
            self.outcomes[report.nodeid] = "failed"
            self.errors[report.nodeid] = str(report.longrepr)[-1500:]


def _is_loopback(address: Any) -> bool:
    try:
        return ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
    except (ValueError, TypeError, IndexError):
        return False


def _guard_loopback(leaks: list[Any], recorder: _Recorder) -> None:
    """Drop and record every datagram a UDP endpoint (ipv8fast's, or py-ipv8's in real mode) sends off loopback."""
    from ipv8.messaging.interfaces.udp import endpoint

    for cls in {endpoint.UDPEndpoint, getattr(endpoint, "UDPv6Endpoint", endpoint.UDPEndpoint)}:
        original = cls.send

        def guarded(self: Any, socket_address: Any, packet: bytes, _original: Any = original) -> None:
            if not _is_loopback(socket_address):
                leaks.append([recorder.current.split("ipv8/test/")[-1], *list(socket_address)[:2]])
                return
            _original(self, socket_address, packet)

        cls.send = guarded


def run_child(mode: str, targets: list[str], keyword: str | None, output: str) -> int:
    """Run py-ipv8's tests in this process (``mode`` alias or real) and write the outcomes to ``output``."""
    if mode == "alias":
        from ipv8fast import compat

        compat.install()
    import pytest

    leaks: list[Any] = []
    recorder = _Recorder()
    _guard_loopback(leaks, recorder)
    args = [*targets, "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-W", "ignore::DeprecationWarning",
            "-o", "console_output_style=classic"]
    if keyword:
        args += ["-k", keyword]
    code = pytest.main(args, plugins=[recorder])
    with open(output, "w", encoding="utf-8") as handle:
        json.dump({"mode": mode, "exit": int(code), "outcomes": recorder.outcomes, "errors": recorder.errors,
                   "leaks": leaks}, handle)
    return 0


# --- the parent: one child per mode, then the table -------------------------------------------------------------

def _netns_prefix() -> list[str]:
    """``unshare -n`` with loopback up, if this machine allows it (else no namespace: the guard still holds)."""
    unshare, ip = shutil.which("unshare"), shutil.which("ip")
    if not unshare or not ip or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return []
    probe = subprocess.run([unshare, "-n", ip, "link", "set", "lo", "up"], capture_output=True, timeout=30)
    return [unshare, "-n", "sh", "-c", f'{ip} link set lo up && exec "$@"', "sh"] if probe.returncode == 0 else []


_AREA_PATHS = {"DHT": "dht", "REST": "REST", "attestation": "attestation", "tunnels": "messaging/anonymization",
               "database": "test_database.py"}


def _resolve_targets(test_dir: Path, targets: list[str]) -> list[str]:
    """pytest arguments for areas (``core`` is everything outside the other areas) or paths under ipv8/test."""
    if not targets:
        return [str(test_dir)]
    if "core" in targets:
        return [str(test_dir)] + [f"--ignore={test_dir / path}" for area, path in _AREA_PATHS.items()
                                  if area not in targets]
    return [str(test_dir / _AREA_PATHS.get(target, target)) for target in targets]


def run_mode(mode: str, targets: list[str] | None = None, keyword: str | None = None,
             timeout: float = 900) -> dict[str, Any]:
    """Run py-ipv8's suite in a child process in ``mode``; returns outcomes, errors and leaks."""
    test_dir = pyipv8_test_dir()
    with tempfile.TemporaryDirectory(prefix=f"pyipv8-suite-{mode}-") as workdir:
        output = os.path.join(workdir, "result.json")
        command = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--json", output,
                   *(["-k", keyword] if keyword else []), "--", *_resolve_targets(test_dir, targets or [])]
        before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
        run = subprocess.run(_netns_prefix() + command, cwd=workdir, capture_output=True, text=True, timeout=timeout)
        wall, after = time.monotonic() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
        if not os.path.exists(output):
            raise RuntimeError(f"the {mode} run produced no result (exit {run.returncode}):\n"
                               f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
        with open(output, encoding="utf-8") as handle:
            result = json.load(handle)
    result["stdout"] = run.stdout
    result["wall"] = wall  # the child's run time and CPU time (user + system), interpreter start included
    result["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def counts(result: dict[str, Any]) -> dict[str, dict[str, int]]:
    """area -> {"passed", "failed", "skipped"} counts of one run."""
    table = {area: {"passed": 0, "failed": 0, "skipped": 0} for area in AREAS}
    for nodeid, outcome in result["outcomes"].items():
        table[area_of(nodeid)][outcome] = table[area_of(nodeid)].get(outcome, 0) + 1
    return table


def format_table(results: dict[str, dict[str, Any]]) -> str:
    modes = list(results)
    lines = ["area         " + "".join(f"{mode + ' pass/fail/skip':>26}" for mode in modes)]
    tables = {mode: counts(result) for mode, result in results.items()}
    for area in AREAS:
        cells = "".join(f"{'/'.join(str(t[area][key]) for key in ('passed', 'failed', 'skipped')):>26}"
                        for t in tables.values())
        lines.append(f"{area:<13}{cells}")
    return "\n".join(lines)


def print_timings(modes: tuple[str, ...], targets: list[str], keyword: str | None, repeat: int) -> int:
    """Run each mode ``repeat`` times (alternating) and print the median run and CPU times of its child."""
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    for _ in range(repeat):
        for mode in modes:
            runs[mode].append(run_mode(mode, targets, keyword))
    print(f"{' '.join(targets) or 'all areas'}: median of {repeat} runs per mode")
    for mode, results in runs.items():
        passed = [sum(c["passed"] for c in counts(r).values()) for r in results]
        print(f"{mode:<6} run {statistics.median(r['wall'] for r in results):6.2f} s   "
              f"CPU {statistics.median(r['cpu'] for r in results):6.2f} s   passed {passed}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("alias", "real", "both"), default="both")
    parser.add_argument("--child", choices=("alias", "real"), help=argparse.SUPPRESS)
    parser.add_argument("--json", help="write the outcomes of every run to this file")
    parser.add_argument("-k", dest="keyword", help="pytest -k expression")
    parser.add_argument("--failures", action="store_true", help="list the failing tests of each run")
    parser.add_argument("--repeat", type=int, default=0,
                        help="time N runs per mode (alternating) and print the median run and CPU times")
    parser.add_argument("targets", nargs="*", help="areas (core, DHT, tunnels, ...) or paths under ipv8/test")
    options = parser.parse_args(argv)
    if options.child:
        return run_child(options.child, options.targets, options.keyword, options.json)
    modes = ("real", "alias") if options.mode == "both" else (options.mode,)
    if options.repeat:
        return print_timings(modes, options.targets, options.keyword, options.repeat)
    results = {mode: run_mode(mode, options.targets, options.keyword) for mode in modes}
    print(format_table(results))
    for mode, result in results.items():
        if result["leaks"]:
            print(f"{mode}: datagrams dropped off loopback: {result['leaks'][:10]}")
        if options.failures:
            for nodeid, outcome in sorted(result["outcomes"].items()):
                if outcome == "failed":
                    print(f"{mode} FAILED {nodeid.split('ipv8/test/')[-1]}")
    if options.json:
        with open(options.json, "w", encoding="utf-8") as handle:
            json.dump({mode: {k: v for k, v in r.items() if k != "stdout"} for mode, r in results.items()}, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
