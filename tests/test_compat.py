"""ipv8fast.compat: py-ipv8 module paths served from ipv8fast; unmodified py-ipv8-style programs run under
``python -m ipv8fast.compat`` against a local tracker chosen through configuration (IPV8FAST_BOOTSTRAP)."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipv8fast import compat

from _loop import LoopHarness

PROGRAMS = Path(__file__).parent / "compat_programs"
ROOT = Path(__file__).parent.parent


@pytest.fixture
def alias() -> Iterator[None]:
    saved = {name: module for name, module in sys.modules.items()
             if name == "ipv8_service" or name == "ipv8" or name.startswith("ipv8.")}
    compat.install()
    yield
    compat.uninstall()
    sys.modules.update(saved)


def test_every_alias_path_imports(alias: None) -> None:
    import importlib

    for path in compat.ALIASES:
        module = importlib.import_module(path)
        assert module.__name__ == path
    from ipv8.community import Community
    from ipv8.peerdiscovery.churn import RandomChurn
    from ipv8_service import _COMMUNITIES, IPv8

    import ipv8fast.community
    import ipv8fast.discovery
    import ipv8fast.service

    assert Community is ipv8fast.community.Community and RandomChurn is ipv8fast.discovery.RandomChurn
    assert IPv8 is ipv8fast.service.IPv8 and _COMMUNITIES is ipv8fast.service._COMMUNITIES


def test_out_of_scope_paths_raise_clearly(alias: None) -> None:
    with pytest.raises(ImportError, match="outside ipv8fast's scope"):
        __import__("ipv8.messaging.anonymization.community")
    with pytest.raises(ImportError, match="DHT is outside"):
        __import__("ipv8.dht.discovery")
    with pytest.raises(ImportError, match="not provided by ipv8fast"):
        __import__("ipv8.no_such_module")


def run_program(name: str, env_extra: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env_extra}
    return subprocess.run([sys.executable, "-m", "ipv8fast.compat", str(PROGRAMS / name)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_discovery_program_against_local_tracker(tmp_path: Path) -> None:
    from ipv8fast.endpoint import UDPEndpoint
    from ipv8fast.tracker import Tracker

    harness = LoopHarness()

    async def scenario() -> subprocess.CompletedProcess:
        endpoint = UDPEndpoint(0, "127.0.0.1")
        await endpoint.open()
        tracker = Tracker(endpoint)
        try:
            port = endpoint.get_address()[1]
            return await asyncio.get_running_loop().run_in_executor(None, lambda: run_program(
                "discovery_program.py", {"IPV8FAST_BOOTSTRAP": f"127.0.0.1:{port}",
                                         "IPV8FAST_INTERFACE_IP": "127.0.0.1"}, tmp_path))
        finally:
            await tracker.stop()
            endpoint.close()

    try:
        result = harness.run(scenario(), timeout=70)
    finally:
        harness.close()
    assert result.returncode == 0, result.stderr
    assert "peers [1, 1]" in result.stdout, result.stdout + result.stderr
    assert "service module ipv8fast.service" in result.stdout
    assert "key files ['ec0.pem', 'ec1.pem']" in result.stdout


def test_testbase_program(tmp_path: Path) -> None:
    result = run_program("testbase_program.py", {}, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Ran 2 tests" in result.stderr and "OK" in result.stderr
