"""The tutorial programs: ``docs/tutorials/*.py`` (ipv8fast imports) run directly, ``docs/pyipv8/*.py``
(py-ipv8 imports) run under ``python -m ipv8fast.compat`` *and* under the real py-ipv8 (through
tests/pyipv8_loopback.py), each in a subprocess with a loopback tracker chosen through IPV8FAST_BOOTSTRAP.
Every run must print the documented output, and ipv8fast's output must equal py-ipv8's."""
from __future__ import annotations

import ast
import os
import selectors
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PYIPV8_DIR = ROOT / "docs" / "pyipv8"
TUTORIAL_DIR = ROOT / "docs" / "tutorials"
PYIPV8_PROGRAMS = sorted(p.stem for p in PYIPV8_DIR.glob("*.py"))
TUTORIALS = sorted(p.stem for p in TUTORIAL_DIR.glob("*.py"))
RUN_TIMEOUT = 40.0

#: What each program must print (substrings of stdout; unittest summaries are on stderr).
EXPECTED_STDOUT: dict[str, list[str]] = {
    "requestcache_tutorial_1": ["Found my-state number 0 with state 42"],
    "requestcache_tutorial_2": ["Timed out: my-state number 0 with state 42", "Still there: False"],
    "requestcache_tutorial_3": [f"node {i}: 2 pongs received, handled: ['ping 7 answered with 42']" for i in (0, 1)],
    "discoverystrategy_tutorial_1": ["peers [1, 1]", "strategies stepped True"],
    "discoverystrategy_tutorial_2": ["strategies ['MyDiscoveryStrategy', 'RandomWalk']", "peers [1, 1]"],
    "tasks_tutorial_3": ["[2]"],
    "tasks_tutorial_4": [str(list(range(20))), "concurrent: True"],
    "tasks_tutorial_5": [str([1, 1, 1, 1, 2] + [1] * 15)],
    "tasks_tutorial_7": ["True\nFalse\ncancelled=True"],
    "serialization_1": [f"{name} 0000000100000002 1 2" for name in
                        ("ByHand", "ByHandPayload", "Declared", "Compiled", "AsDataclass")]
    + ["Compiled\n| first: 1\n| second: 2"],
    "serialization_2": ["received ['Ping1 + Ping2']"],
    "serialization_3": ["received ['hello', 42]"],
    "serialization_4": ["identical: True", "{'a': 1, 'b': [2, 3]}"],
}
EXPECTED_UNITTEST: dict[str, int] = {"testbase_tutorial_1": 6, "testbase_tutorial_2": 4, "tasks_tutorial_6": 2}


def start_tracker() -> tuple[subprocess.Popen, int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    tracker = subprocess.Popen([sys.executable, "-m", "ipv8fast", "tracker", "--port", "0", "--ip", "127.0.0.1"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    with selectors.DefaultSelector() as selector:
        selector.register(tracker.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=20):
            tracker.kill()
            raise RuntimeError("the tracker did not start")
    line = tracker.stdout.readline()
    return tracker, int(line.rsplit(":", 1)[1])


def run(command: list[str]) -> subprocess.CompletedProcess:
    """Run one program with a tracker of its own: concurrent runs of the same program share a community
    id and must not be introduced to each other."""
    tracker, port = start_tracker()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IPV8FAST_BOOTSTRAP": f"127.0.0.1:{port}",
           "IPV8FAST_INTERFACE_IP": "127.0.0.1", "TUTORIAL_TIMEOUT": "20", "PYTHONWARNINGS": "ignore"}
    try:
        with tempfile.TemporaryDirectory() as cwd:  # key files land here
            return subprocess.run([sys.executable, *command], cwd=cwd, env=env, capture_output=True, text=True,
                                  timeout=RUN_TIMEOUT)
    finally:
        tracker.terminate()
        tracker.wait(timeout=10)


@pytest.fixture(scope="module")
def results() -> Iterator[dict[tuple[str, str], Future]]:
    """Every run, started at once on a small pool (the programs mostly sleep)."""
    commands = {("tutorial", name): [str(TUTORIAL_DIR / f"{name}.py")] for name in TUTORIALS}
    commands.update({("compat", name): ["-m", "ipv8fast.compat", str(PYIPV8_DIR / f"{name}.py")]
                     for name in PYIPV8_PROGRAMS})
    commands.update({("py-ipv8", name): [str(Path(__file__).parent / "pyipv8_loopback.py"),
                                         str(PYIPV8_DIR / f"{name}.py")] for name in PYIPV8_PROGRAMS})
    pool = ThreadPoolExecutor(max_workers=4)
    try:
        yield {key: pool.submit(run, command) for key, command in commands.items()}
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def check(result: subprocess.CompletedProcess, name: str) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    for expected in EXPECTED_STDOUT.get(name, []):
        assert expected in result.stdout, result.stdout + result.stderr
    if name in EXPECTED_UNITTEST:
        assert f"Ran {EXPECTED_UNITTEST[name]} tests" in result.stderr and "\nOK" in result.stderr, result.stderr


def test_every_program_has_an_expectation() -> None:
    for name in PYIPV8_PROGRAMS + TUTORIALS:
        assert name in EXPECTED_STDOUT or name in EXPECTED_UNITTEST, name
    assert set(TUTORIALS) <= set(PYIPV8_PROGRAMS)


@pytest.mark.parametrize("directory,prefixes", [(PYIPV8_DIR, ("ipv8.", "ipv8_service")), (TUTORIAL_DIR, ("ipv8fast",))])
def test_programs_import_only_their_library(directory: Path, prefixes: tuple[str, ...]) -> None:
    foreign = ("ipv8fast", "ipv8.", "ipv8_service")
    for path in directory.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                if name.startswith(foreign):
                    assert name.startswith(prefixes), f"{path.name} imports {name}"


@pytest.mark.parametrize("name", TUTORIALS)
def test_tutorial(results: dict, name: str) -> None:
    check(results[("tutorial", name)].result(timeout=300), name)


@pytest.mark.parametrize("name", PYIPV8_PROGRAMS)
def test_pyipv8_program_under_compat(results: dict, name: str) -> None:
    check(results[("compat", name)].result(timeout=300), name)


@pytest.mark.parametrize("name", PYIPV8_PROGRAMS)
def test_pyipv8_program_under_pyipv8(results: dict, name: str) -> None:
    """The reference run: the program is a faithful py-ipv8 program and ipv8fast prints exactly the same."""
    reference = results[("py-ipv8", name)].result(timeout=300)
    check(reference, name)
    assert results[("compat", name)].result(timeout=300).stdout == reference.stdout
    if name in TUTORIALS:
        assert results[("tutorial", name)].result(timeout=300).stdout == reference.stdout
