"""The community loader (api.md §20): decorators, dependency order, cycles, building into IPv8."""
from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from ipv8fast.bootstrapping import DispersyBootstrapper
from ipv8fast.community import Community
from ipv8fast.discovery import EdgeWalk, RandomWalk
from ipv8fast.loader import (
    CommunityLauncher,
    CommunityLoader,
    IPv8CommunityLoader,
    after,
    bootstrapper,
    kwargs,
    name,
    overlay,
    precondition,
    set_in_session,
    walk_strategy,
)
from ipv8fast.network import Network

from _loop import LoopHarness


class LoaderCommunity(Community):
    community_id = b"L" * 20


module = types.ModuleType("loader_test_module")
module.LoaderCommunity = LoaderCommunity  # type: ignore[attr-defined]
module.RandomWalk = RandomWalk  # type: ignore[attr-defined]
sys.modules["loader_test_module"] = module


class Session:
    def __init__(self, **flags: Any) -> None:
        self.__dict__.update(flags)


class Recording(CommunityLoader):
    def __init__(self) -> None:
        super().__init__()
        self.launched: list[str] = []

    def _launch(self, launcher: CommunityLauncher, ipv8: Any, session: Any) -> None:
        self.launched.append(launcher.get_name())


def launcher(launcher_name: str, *deps: str, condition: str | None = None) -> CommunityLauncher:
    cls: type = type(launcher_name, (CommunityLauncher,), {})
    if deps:
        cls = after(*deps)(cls)
    if condition:
        cls = precondition(condition)(cls)
    return cls()


def test_defaults() -> None:
    class Plain(CommunityLauncher):
        pass

    plain = Plain()
    assert plain.get_name() == "Plain" and plain.not_before() == [] and plain.should_launch(None)
    assert plain.get_kwargs(None) == {} and plain.get_walk_strategies() == [] and plain.get_bootstrappers(None) == []
    assert plain.community_args == [] and plain.community_kwargs == {}
    assert len(plain.get_my_peer(None, None).mid) == 20


def test_decorators_stack_bottom_first() -> None:
    @set_in_session("community")
    @kwargs(max_peers="session.limit", label="'fixed'")
    @bootstrapper(DispersyBootstrapper, kw_args={"ip_addresses": [], "dns_addresses": []})
    @walk_strategy(EdgeWalk, target_peers=-1)
    @walk_strategy("loader_test_module", "RandomWalk", kw_args={"timeout": 1.0})
    @overlay("loader_test_module", "LoaderCommunity")
    @precondition("session.enabled")
    @after("Other")
    @name("Named")
    class Launcher(CommunityLauncher):
        pass

    item = Launcher()
    assert item.get_name() == "Named" and item.not_before() == ["Other"]
    assert item.should_launch(Session(enabled=True)) and not item.should_launch(Session(enabled=False))
    assert item.get_overlay_class() is LoaderCommunity
    assert item.get_walk_strategies() == [(RandomWalk, {"timeout": 1.0}, 20), (EdgeWalk, {}, -1)]
    assert item.get_bootstrappers(None) == [(DispersyBootstrapper, {"ip_addresses": [], "dns_addresses": []})]
    assert item.get_kwargs(Session(limit=3)) == {"max_peers": 3, "label": "fixed"}
    assert Launcher.hiddenimports == {"loader_test_module"}
    assert CommunityLauncher.hiddenimports == set()
    session = Session()
    item.finalize(None, session, "the community")
    assert session.community == "the community"
    launcher = overlay(lambda: LoaderCommunity)(type("F", (CommunityLauncher,), {}))()
    assert launcher.get_overlay_class() is LoaderCommunity


def test_load_order_preconditions_and_cycles() -> None:
    loader = Recording()
    for item in (launcher("C", "B"), launcher("B", "A"), launcher("A"), launcher("D", "Missing"),
                 launcher("E", condition="session.e"), launcher("F", "E")):
        loader.set_launcher(item)
    loader.load(None, Session(e=False))
    assert loader.launched == ["A", "D", "F", "B", "C"]
    assert loader.has_launched("C") and not loader.has_launched("E")
    loader.set_launcher(launcher("A"))  # already launched: refused
    assert loader.has_launched("A")
    loader.del_launcher(loader.get_launcher("F"))
    assert "F" not in loader.community_launchers

    cyclic = Recording()
    cyclic.set_launcher(launcher("X", "Y"))
    cyclic.set_launcher(launcher("Y", "X"))
    with pytest.raises(RuntimeError, match="Cycle detected"):
        cyclic.load(None, Session())


def test_ipv8_community_loader_builds_into_provider() -> None:
    harness = LoopHarness()
    from test_community import MemoryEndpoint

    @set_in_session("built")
    @kwargs(max_peers="7")
    @bootstrapper(DispersyBootstrapper, kw_args={"ip_addresses": [("127.0.0.1", 9)], "dns_addresses": []})
    @walk_strategy(RandomWalk, target_peers=5)
    @overlay(LoaderCommunity)
    class Launcher(CommunityLauncher):
        pass

    provider = types.SimpleNamespace(endpoint=MemoryEndpoint(("127.0.0.1", 1)), network=Network(), overlays=[],
                                     strategies=[])
    session = Session()
    loader = IPv8CommunityLoader()
    loader.set_launcher(Launcher())
    try:
        loader.load(provider, session)
        (community,) = provider.overlays
        assert session.built is community and community.max_peers == 7
        ((strategy, target),) = provider.strategies
        assert isinstance(strategy, RandomWalk) and strategy.overlay is community and target == 5
        assert [type(b) for b in community.bootstrappers] == [DispersyBootstrapper]
        harness.run(community.unload())
    finally:
        harness.close()
