"""The IPv8 service (api.md §19): construction from configuration, keys, strategies, lifecycle, on 127.0.0.1."""
from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ipv8fast import service
from ipv8fast.bootstrapping import DispersyBootstrapper
from ipv8fast.community import Community, CommunitySettings
from ipv8fast.configuration import (
    Bootstrapper,
    BootstrapperDefinition,
    ConfigBuilder,
    ConfigurationError,
    Strategy,
    WalkerDefinition,
    get_default_configuration,
)
from ipv8fast.discovery import DiscoveryStrategy, RandomWalk
from ipv8fast.discovery_community import DiscoveryCommunity, PeriodicSimilarity
from ipv8fast.endpoint import StatisticsEndpoint
from ipv8fast.keys import default_eccrypto
from ipv8fast.service import IPv8

from _loop import LoopHarness


@pytest.fixture
def loop() -> Iterator[LoopHarness]:
    harness = LoopHarness()
    yield harness
    harness.close()
    assert harness.errors == []


class MyCommunity(Community):
    community_id = bytes(range(20))

    def __init__(self, settings: CommunitySettings) -> None:
        super().__init__(settings)
        self.started: list[tuple] = []
        self.extra = getattr(settings, "extra", None)

    def started_sync(self, *args: Any) -> None:
        self.started.append(("sync", *args))

    async def started_async(self, *args: Any) -> None:
        await asyncio.sleep(0)
        self.started.append(("async", *args))


class Recorder(DiscoveryStrategy):
    def __init__(self, overlay: Any, steps: list | None = None) -> None:
        super().__init__(overlay)
        self.steps: list[float] = []

    def take_step(self) -> None:
        with self.walk_lock:
            self.steps.append(asyncio.get_running_loop().time())


def config(walker_defs: list | None = None, /, **overlay: Any) -> dict:
    builder = ConfigBuilder().clear_keys().clear_overlays().set_address("127.0.0.1").set_port(0)
    builder.add_ephemeral_key("me").set_walker_interval(0.05)
    builder.add_overlay("DiscoveryCommunity", "me", walker_defs if walker_defs is not None else [
        WalkerDefinition(Strategy.RandomWalk, 20, {"timeout": 3.0}),
        WalkerDefinition(Strategy.RandomChurn, -1, {}),
        WalkerDefinition(Strategy.PeriodicSimilarity, -1, {})], [], {}, [])
    builder.config["overlays"][0].update(overlay)
    return builder.finalize()


def test_construction_from_configuration(loop: LoopHarness) -> None:
    ipv8 = IPv8(config())
    overlay = ipv8.get_overlay(DiscoveryCommunity)
    assert isinstance(overlay, DiscoveryCommunity) and ipv8.overlays == [overlay]
    assert overlay.my_peer is ipv8.keys["me"] and overlay.network is ipv8.network
    assert [(type(s).__name__, t) for s, t in ipv8.strategies] == [
        ("RandomWalk", 20), ("RandomChurn", -1), ("PeriodicSimilarity", -1)]
    assert all(s.overlay is overlay for s, _ in ipv8.strategies)
    overlays = ipv8.get_overlays(Community)
    assert not isinstance(overlays, list) and list(overlays) == [overlay]
    assert ipv8.get_overlay(MyCommunity) is None
    assert not ipv8.endpoint.is_open() and ipv8.walk_interval == 0.05
    loop.run(ipv8.stop())


def test_default_configuration_builds(loop: LoopHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the default key file is written to the working directory
    ipv8 = IPv8(get_default_configuration(), endpoint_override=_memory_endpoint())
    overlay = ipv8.get_overlay(DiscoveryCommunity)
    assert [type(b) for b in overlay.bootstrappers] == [DispersyBootstrapper]
    assert len(overlay.bootstrappers[0].ip_addresses) == 13
    loop.run(ipv8.stop())


def _memory_endpoint() -> Any:
    from test_community import MemoryEndpoint

    return MemoryEndpoint(("127.0.0.1", 1))


def test_out_of_scope_and_unknown_classes(loop: LoopHarness) -> None:
    cfg = config()
    cfg["overlays"][0]["class"] = "HiddenTunnelCommunity"
    with pytest.raises(ConfigurationError, match=r"overlays\[0\]\.class.*outside ipv8fast's scope"):
        IPv8(cfg)
    cfg["overlays"][0]["class"] = "NoSuchCommunity"
    with pytest.raises(RuntimeError, match="NoSuchCommunity.*no associated Community"):
        IPv8(cfg)
    with pytest.raises(RuntimeError, match="'Nope' is not a DiscoveryStrategy"):
        IPv8(config([], **{"walkers": [{"strategy": "Nope", "peers": 1, "init": {}}]}))
    cfg = config()
    del cfg["keys"][0]["file"]
    with pytest.raises(ConfigurationError, match=r"keys\[0\]"):
        IPv8(cfg)


def test_registries_extra_communities_and_initialize(loop: LoopHarness) -> None:
    cfg = config([], initialize={"max_peers": 7, "extra": "yes"},
                 on_start=[("started_sync", 1, 2), ("started_async", "x")])
    cfg["overlays"][0]["class"] = "MyCommunity"
    cfg["overlays"][0]["bootstrappers"] = [{"class": "NoSuchBootstrapper", "init": {}}]
    ipv8 = IPv8(cfg, extra_communities={"MyCommunity": MyCommunity})
    overlay = ipv8.get_overlay(MyCommunity)
    assert overlay.max_peers == 7 and overlay.extra == "yes" and overlay.bootstrappers == []
    loop.run(ipv8.start())
    assert sorted(overlay.started) == [("async", "x"), ("sync", 1, 2)]
    loop.run(ipv8.stop())
    service._COMMUNITIES["MyCommunity"] = MyCommunity
    try:
        loop.run(IPv8(cfg).stop())
    finally:
        del service._COMMUNITIES["MyCommunity"]
    with pytest.raises(RuntimeError, match="PeriodicSimilarity"):  # only DiscoveryCommunity offers it
        IPv8(dict(cfg, overlays=[dict(cfg["overlays"][0], walkers=[
            {"strategy": "PeriodicSimilarity", "peers": -1, "init": {}}])]),
             extra_communities={"MyCommunity": MyCommunity})


def test_keys_generated_saved_and_loaded(loop: LoopHarness, tmp_path: Path) -> None:
    key_file = tmp_path / "id.pem"
    builder = ConfigBuilder().clear_keys().clear_overlays().set_address("127.0.0.1").set_port(0)
    builder.add_key("me", "curve25519", str(key_file))
    private = default_eccrypto.generate_key("curve25519")
    builder.add_key_from_bin("fixed", base64.b64encode(private.key_to_bin()).decode())
    cfg = builder.finalize()
    first = IPv8(cfg)
    assert key_file.read_bytes() == first.keys["me"].key.key_to_bin()
    assert first.keys["fixed"].public_key.key_to_bin() == private.pub().key_to_bin()
    second = IPv8(cfg)
    assert second.keys["me"].mid == first.keys["me"].mid
    loop.run(first.stop())
    loop.run(second.stop())


def test_statistics_wrap(loop: LoopHarness) -> None:
    ipv8 = IPv8(config(), enable_statistics=True)
    assert isinstance(ipv8.endpoint, StatisticsEndpoint)
    loop.run(ipv8.stop())


def test_ticker_gates_and_unload(loop: LoopHarness) -> None:
    async def scenario() -> None:
        ipv8 = IPv8(config([]))
        overlay = ipv8.get_overlay(DiscoveryCommunity)
        always, never, gated = Recorder(overlay), Recorder(overlay), Recorder(overlay)
        ipv8.add_strategy(overlay, always, -1)
        ipv8.add_strategy(overlay, never, 0)
        ipv8.add_strategy(overlay, gated, 1)  # overlay has 0 peers < 1: steps
        await asyncio.sleep(0.2)
        assert always.steps == [] and ipv8.state_machine_task is None  # not started: nothing runs
        await ipv8.start()
        assert ipv8.endpoint.is_open()
        await asyncio.sleep(0.3)
        assert len(always.steps) >= 3 and never.steps == [] and len(gated.steps) == len(always.steps)
        await ipv8.on_tick()
        extra = MyCommunity(CommunitySettings(my_peer=ipv8.keys["me"], endpoint=ipv8.endpoint, network=ipv8.network))
        other = Recorder(extra)
        ipv8.add_strategy(extra, other, -1)
        assert ipv8.overlays == [overlay, extra]
        await asyncio.sleep(0.15)
        assert other.steps
        await ipv8.unload_overlay(extra)
        assert ipv8.overlays == [overlay] and all(s is not other for s, _ in ipv8.strategies)
        count = len(other.steps)
        await asyncio.sleep(0.15)
        assert len(other.steps) == count
        await ipv8.stop()
        assert ipv8.overlays == [] and not ipv8.endpoint.is_open()
        count = len(always.steps)
        await asyncio.sleep(0.15)
        assert len(always.steps) == count

    loop.run(scenario(), timeout=20)


def test_strategy_exception_is_isolated(loop: LoopHarness) -> None:
    class Broken(DiscoveryStrategy):
        def take_step(self) -> None:
            raise ValueError("boom")

    async def scenario() -> None:
        ipv8 = IPv8(config([]))
        overlay = ipv8.get_overlay(DiscoveryCommunity)
        after = Recorder(overlay)
        ipv8.add_strategy(overlay, Broken(overlay), -1)
        ipv8.add_strategy(overlay, after, -1)
        await ipv8.start()
        await asyncio.sleep(0.2)
        assert after.steps and ipv8.scheduler.errors >= 1
        await ipv8.stop()

    loop.run(scenario(), timeout=20)


def test_two_nodes_find_each_other(loop: LoopHarness) -> None:
    async def scenario() -> None:
        nodes = [IPv8(config()) for _ in range(2)]
        for node in nodes:
            await node.start()
        a, b = (node.get_overlay(DiscoveryCommunity) for node in nodes)
        a.walk_to(("127.0.0.1", b.endpoint.get_address()[1]))
        for _ in range(200):
            if a.get_peers() and b.get_peers():
                break
            await asyncio.sleep(0.02)
        assert len(a.get_peers()) == 1 and len(b.get_peers()) == 1
        assert isinstance(nodes[0].strategies[0][0], RandomWalk)
        assert isinstance(nodes[0].strategies[2][0], PeriodicSimilarity)
        for node in nodes:
            await node.stop()

    loop.run(scenario(), timeout=20)


def test_bootstrapper_definition_through_builder(loop: LoopHarness) -> None:
    cfg = config()
    cfg["overlays"][0]["bootstrappers"] = [
        {"class": BootstrapperDefinition(Bootstrapper.DispersyBootstrapper, {}).bootstrapper.value,
         "init": {"ip_addresses": [("127.0.0.1", 9)], "dns_addresses": []}}]
    ipv8 = IPv8(cfg)
    (bootstrapper,) = ipv8.get_overlay(DiscoveryCommunity).bootstrappers
    assert bootstrapper.ip_addresses == [("127.0.0.1", 9)]
    loop.run(ipv8.stop())
