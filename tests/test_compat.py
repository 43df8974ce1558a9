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

from _hybrid import pop_real_pyipv8
from _loop import LoopHarness

PROGRAMS = Path(__file__).parent / "compat_programs"
ROOT = Path(__file__).parent.parent


@pytest.fixture
def alias(hybrid: None) -> None:
    """The alias with py-ipv8 installed (conftest's ``hybrid``)."""


@pytest.fixture
def alias_without_pyipv8(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The alias as on a machine without py-ipv8: the finder cannot see the real package."""
    monkeypatch.setattr(compat, "_locate_real_pyipv8", lambda: None)
    saved = pop_real_pyipv8()
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


def test_out_of_scope_paths_raise_clearly(alias_without_pyipv8: None) -> None:
    assert not compat.hybrid()
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


def test_hybrid_serves_the_rest_of_pyipv8_from_its_files(alias: None) -> None:
    import importlib

    import ipv8
    import ipv8.messaging
    from ipv8.dht import DHTError
    from ipv8.dht.discovery import DHTDiscoveryCommunity
    from ipv8.messaging.anonymization.endpoint import TunnelEndpoint
    from ipv8.messaging.interfaces.lan_addresses import importshield

    import ipv8fast.community
    import ipv8fast.endpoint

    real = compat.real_pyipv8_path()
    assert compat.hybrid() and real is not None
    assert ipv8.__path__ == [real] and ipv8.messaging.__path__ == [os.path.join(real, "messaging")]
    assert DHTDiscoveryCommunity.__module__ == "ipv8.dht.discovery" and issubclass(DHTError, Exception)
    assert issubclass(DHTDiscoveryCommunity, ipv8fast.community.Community)
    assert issubclass(TunnelEndpoint, ipv8fast.endpoint.Endpoint)
    assert importshield.__file__.startswith(real)
    assert importlib.import_module("ipv8.community").Community is ipv8fast.community.Community  # alias still wins
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("ipv8.no_such_module")


def test_install_refuses_after_a_real_pyipv8_import() -> None:
    saved = pop_real_pyipv8()
    try:
        import ipv8.peer  # noqa: F401 - the real one, before the alias

        with pytest.raises(RuntimeError, match="must run before any py-ipv8 import, but ipv8, "):
            compat.install()
        assert not compat.hybrid()
    finally:
        pop_real_pyipv8()
        sys.modules.update(saved)


def test_other_pyipv8_version_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compat, "_pyipv8_version", lambda directory: "3.3.0")
    saved = pop_real_pyipv8()
    try:
        with pytest.warns(compat.PyIPv8VersionWarning, match="py-ipv8 3.3.0 is installed"):
            compat.install()
    finally:
        compat.uninstall()
        sys.modules.update(saved)


def test_supported_pyipv8_is_found_without_warning(alias: None) -> None:
    real = compat.real_pyipv8_path()
    assert real is not None and compat._pyipv8_version(real).startswith(compat.SUPPORTED_PYIPV8)


def test_default_configuration_and_registry_match_pyipv8_under_hybrid() -> None:
    import ipv8_service as real_service
    from ipv8.configuration import get_default_configuration as real_default

    expected = [(block["class"], [walker["strategy"] for walker in block["walkers"]], block["initialize"],
                 [tuple(entry) for entry in block["on_start"]]) for block in real_default()["overlays"]]
    expected_registry = set(real_service._COMMUNITIES)
    saved = pop_real_pyipv8()
    compat.install()
    try:
        from ipv8.configuration import get_default_configuration
        from ipv8_service import _COMMUNITIES

        got = [(block["class"], [walker["strategy"] for walker in block["walkers"]], block["initialize"],
                [tuple(entry) for entry in block["on_start"]]) for block in get_default_configuration()["overlays"]]
        assert got == expected
        assert set(_COMMUNITIES) == expected_registry
        assert _COMMUNITIES["HiddenTunnelCommunity"].__module__ == "ipv8.messaging.anonymization.hidden_services"
    finally:
        compat.uninstall()
        sys.modules.update(saved)
    from ipv8fast.configuration import get_default_configuration as plain_default
    from ipv8fast.service import _COMMUNITIES as PLAIN_REGISTRY

    assert [block["class"] for block in plain_default()["overlays"]] == ["DiscoveryCommunity"]
    assert set(PLAIN_REGISTRY) == {"DiscoveryCommunity"}


def test_upper_layer_hooks_refused_without_pyipv8(alias_without_pyipv8: None) -> None:
    from ipv8.community import Community as AliasCommunity

    from ipv8fast.configuration import ConfigurationError, get_default_configuration, validate_configuration
    from ipv8fast.testing.ipv8 import MockIPv8

    class Some(AliasCommunity):
        community_id = b"compat-refusals-0001"

    with pytest.raises(NotImplementedError, match="DHT is outside"):
        MockIPv8("curve25519", Some, create_dht=True)
    config = get_default_configuration()
    config["overlays"][0]["class"] = "HiddenTunnelCommunity"
    with pytest.raises(ConfigurationError, match="outside ipv8fast's scope"):
        validate_configuration(config)


def test_mock_ipv8_with_dht_and_tunnel_endpoint_under_hybrid(alias: None) -> None:
    from ipv8.community import Community as AliasCommunity
    from ipv8.dht.discovery import DHTDiscoveryCommunity
    from ipv8.test.mocking.ipv8 import MockIPv8, MockTunnelEndpoint

    class Some(AliasCommunity):
        community_id = b"compat-mock-dht-0001"

    harness = LoopHarness()

    async def scenario() -> None:
        node = MockIPv8("curve25519", Some, create_dht=True)
        assert isinstance(node.dht, DHTDiscoveryCommunity) and node.dht.endpoint is node.endpoint
        assert node.get_overlay(DHTDiscoveryCommunity) is node.dht
        endpoint = await node.produce_anonymized_endpoint()
        assert isinstance(endpoint, MockTunnelEndpoint) and endpoint.is_open()
        endpoint.set_tunnel_community(None, hops=2)
        endpoint.close()
        await node.stop()

    try:
        harness.run(scenario())
    finally:
        harness.close()


def test_anonymized_service_endpoints_under_hybrid(alias: None) -> None:
    from ipv8.community import Community as AliasCommunity
    from ipv8.configuration import ConfigBuilder
    from ipv8.messaging.anonymization.endpoint import TunnelEndpoint
    from ipv8_service import IPv8

    class Hidden(AliasCommunity):
        community_id = b"compat-anonymized-01"

    config = (ConfigBuilder().clear_keys().clear_overlays().set_address("127.0.0.1").set_port(0)
              .add_ephemeral_key("me").add_overlay("Hidden", "me", [], [], {"anonymize": True}, []).finalize())
    harness = LoopHarness()

    async def scenario() -> None:
        node = IPv8(config, extra_communities={"Hidden": Hidden})
        assert isinstance(node.endpoint, TunnelEndpoint)
        overlay = node.get_overlay(Hidden)
        assert node.endpoint.settings == {overlay.get_prefix(): True}  # set_anonymity, as py-ipv8 does
        await node.start()
        extra = await node.produce_anonymized_endpoint()
        assert isinstance(extra, TunnelEndpoint) and extra.get_address()[0] == "127.0.0.1"
        extra.close()
        await node.stop()

    try:
        harness.run(scenario())
    finally:
        harness.close()


def test_vendored_copy_on_sys_path_is_used_and_warned_about(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy of the ipv8 package on sys.path (e.g. a git submodule) without version metadata."""
    import importlib.machinery

    installed = importlib.machinery.PathFinder.find_spec("ipv8").submodule_search_locations[0]
    (tmp_path / "ipv8").symlink_to(installed, target_is_directory=True)
    monkeypatch.syspath_prepend(str(tmp_path))
    saved = pop_real_pyipv8()
    try:
        with pytest.warns(compat.PyIPv8VersionWarning, match="no installed version metadata"):
            compat.install()
        import ipv8.dht.routing

        assert compat.real_pyipv8_path() == str(tmp_path / "ipv8")
        assert ipv8.dht.routing.__file__ == str(tmp_path / "ipv8" / "dht" / "routing.py")
    finally:
        compat.uninstall()
        sys.modules.update(saved)


def test_rest_service_script_with_the_default_configuration(tmp_path: Path) -> None:
    """An unmodified py-ipv8 service script under ``python -m ipv8fast.compat``: py-ipv8's default overlays on
    ipv8fast's core around a local tracker, its REST API answering on 127.0.0.1, stopped through its stdin."""
    import socket

    # the pinned REST stack (aiohttp-apispec 2 / webargs 5) imports distutils, which Python 3.12 removed
    pytest.importorskip("aiohttp_apispec", reason="py-ipv8's pinned REST dependencies do not import on this Python")

    aiohttp = pytest.importorskip("aiohttp")
    from ipv8fast.endpoint import UDPEndpoint
    from ipv8fast.tracker import Tracker

    with socket.socket() as probe:  # a free TCP port on loopback for the REST API
        probe.bind(("127.0.0.1", 0))
        rest_port = probe.getsockname()[1]
    harness = LoopHarness()

    async def scenario() -> tuple[dict, int, bytes]:
        endpoint = UDPEndpoint(0, "127.0.0.1")
        await endpoint.open()
        tracker = Tracker(endpoint)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "IPV8FAST_BOOTSTRAP": f"127.0.0.1:{endpoint.get_address()[1]}",
               "IPV8FAST_INTERFACE_IP": "127.0.0.1"}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ipv8fast.compat", str(PROGRAMS / "rest_program.py"), str(rest_port), cwd=tmp_path,
            env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        assert process.stdin is not None and process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert line.startswith(b"REST on"), line + (await process.stderr.read() if process.stderr else b"")
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{rest_port}/overlays") as response:
                    overlays = await response.json()
            process.stdin.close()
            await asyncio.wait_for(process.wait(), 30)
            return overlays, process.returncode, await process.stdout.read()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await tracker.stop()
            endpoint.close()

    try:
        overlays, code, rest = harness.run(scenario(), timeout=70)
    finally:
        harness.close()
    assert [entry["overlay_name"] for entry in overlays["overlays"]] == \
        ["DiscoveryCommunity", "HiddenTunnelCommunity", "DHTDiscoveryCommunity"]
    assert all(entry["my_estimated_lan"]["ip"] == "127.0.0.1" for entry in overlays["overlays"])
    assert any(entry["statistics"] for entry in overlays["overlays"])  # ipv8fast's StatisticsEndpoint counted
    assert code == 0 and rest.strip() == b"stopped"
