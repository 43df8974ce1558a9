"""ipv8fast.compat: py-ipv8 module paths served from ipv8fast; unmodified py-ipv8-style programs run under
``python -m ipv8fast.compat`` against a local tracker chosen through configuration (IPV8FAST_BOOTSTRAP)."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _loop import LoopHarness

from ipv8fast import compat

PROGRAMS = Path(__file__).parent / "compat_programs"
ROOT = Path(__file__).parent.parent


@pytest.fixture
def alias():
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


#: py-ipv8 endpoint module path -> (names py-ipv8 defines there, the ipv8fast module that holds them)
ENDPOINT_PATHS = {
    "ipv8.messaging.interfaces.endpoint": (["Endpoint", "EndpointListener", "EndpointClosedException",
                                            "DataTooBigException", "IllegalDestination",
                                            "IllegalEndpointListenerError"], "ipv8fast.endpoint"),
    "ipv8.messaging.interfaces.udp.endpoint": (["UDPEndpoint", "UDPv6Endpoint"], "ipv8fast.udp_endpoint"),
    "ipv8.messaging.interfaces.dispatcher.endpoint": (["DispatcherEndpoint", "INTERFACES", "PREFERENCE_ORDER",
                                                       "FAST_ADDR_TO_INTERFACE", "guess_interface"],
                                                      "ipv8fast.endpoint_interfaces"),
    "ipv8.messaging.interfaces.statistics_endpoint": (["StatisticsEndpoint"], "ipv8fast.statistics_endpoint"),
    "ipv8.messaging.interfaces.network_stats": (["NetworkStat"], "ipv8fast.statistics_endpoint"),
}


def test_endpoint_paths_serve_the_module_that_holds_the_names(alias: None) -> None:
    import importlib

    for path, (names, source) in ENDPOINT_PATHS.items():
        module, holder = importlib.import_module(path), importlib.import_module(source)
        assert compat.ALIASES[path][0] == source
        for name in names:
            assert getattr(module, name) is getattr(holder, name), (path, name)
            assert name in module.__all__, (path, name)
    udp = importlib.import_module("ipv8.messaging.interfaces.udp.endpoint")
    assert udp.UDPv4Address is importlib.import_module("ipv8fast.addresses").UDPv4Address


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
