"""The strategy dispatcher, both twins: order, target gating, errors, registry edits mid-pass, smoothing
(checked against py-ipv8's IPv8.on_tick on a virtual clock), and the asyncio driver on a real loop."""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from ipv8fast import strategy_scheduler

from _loop import LoopHarness, harness  # noqa: F401 - harness is a fixture

pytestmark = pytest.mark.twin_of("scheduler")




class Overlay:
    def __init__(self, peers: int = 0) -> None:
        self.peers = list(range(peers))

    def get_peers(self) -> list[int]:
        return self.peers


class Strategy:
    """Minimal strategy (has a get_peer_count, like DiscoveryStrategy) that records its steps."""

    def __init__(self, overlay: Overlay | None, name: str, log: list[str],
                 action: Callable[[], Any] | None = None) -> None:
        self.overlay = overlay
        self.name = name
        self.log = log
        self.action = action
        self.walk_lock = threading.Lock()

    def get_peer_count(self) -> int:
        return len(self.overlay.get_peers()) if self.overlay else 0

    def take_step(self) -> None:
        with self.walk_lock:
            self.log.append(self.name)
            if self.action is not None:
                self.action()


class Bare:
    """Only take_step: the peer count then comes from the registered overlay."""

    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name

    def take_step(self) -> None:
        self.log.append(self.name)


def make(twin: ModuleType, specs: list[tuple[int, int]], **kwargs: Any) -> tuple[Any, list[str], list[Strategy]]:
    """A dispatcher with one strategy per (peers on its overlay, target_peers), named s0, s1, ..."""
    log: list[str] = []
    d = twin.StrategyScheduler(**kwargs)
    strategies = []
    for i, (peers, target) in enumerate(specs):
        overlay = Overlay(peers)
        strategy = Strategy(overlay, f"s{i}", log)
        d.add(overlay, strategy, target)
        strategies.append(strategy)
    return d, log, strategies


def test_order_and_counts(twin: ModuleType) -> None:
    d, log, _ = make(twin, [(0, -1)] * 5)
    assert len(d) == 5
    assert d.tick() == 5
    assert d.tick() == 5
    assert log == [f"s{i}" for i in range(5)] * 2


def test_target_gating(twin: ModuleType) -> None:
    # peers on the overlay, target: -1 always; below target steps; at/above target or target 0 never
    d, log, _ = make(twin, [(50, -1), (3, 4), (4, 4), (5, 4), (0, 0), (0, 1), (0, -2)])
    assert d.tick() == 3
    assert log == ["s0", "s1", "s5"]


def test_gate_uses_strategy_peer_count_then_overlay(twin: ModuleType) -> None:
    log: list[str] = []
    d = twin.StrategyScheduler()

    class Lying(Strategy):
        def get_peer_count(self) -> int:
            return 100

    d.add(Overlay(0), Lying(Overlay(0), "lying", log), 10)  # its own get_peer_count wins (as in py-ipv8)
    d.add(Overlay(0), Bare(log, "bare-low"), 10)
    d.add(Overlay(10), Bare(log, "bare-full"), 10)
    d.tick()
    assert log == ["bare-low"]


def test_registration_shape(twin: ModuleType) -> None:
    d = twin.StrategyScheduler()
    overlay, log = Overlay(), []
    strategy = Strategy(overlay, "s", log)
    entry = d.add(overlay, strategy, 20)
    assert entry == (strategy, 20) and entry.overlay is overlay
    strat, target = entry
    assert (strat, target) == (strategy, 20) and entry.strategy is strategy and entry.target_peers == 20
    assert d.strategies == [(strategy, 20)]
    # py-ipv8 style direct edits of the list (IPv8CommunityLoader appends plain pairs)
    d.strategies.append((Strategy(overlay, "plain", log), -1))
    d.tick()
    assert log == ["s", "plain"]
    with pytest.raises(TypeError, match="target_peers: expected int, got 'ten'"):
        d.add(overlay, strategy, "ten")
    with pytest.raises(TypeError, match="take_step"):
        d.add(overlay, object(), 1)


def test_exception_isolation(twin: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    log: list[str] = []
    d = twin.StrategyScheduler()
    overlay = Overlay()

    class BadCount(Strategy):
        def get_peer_count(self) -> int:
            raise KeyError("count")

    d.add(overlay, Strategy(overlay, "a", log, action=lambda: 1 / 0), -1)
    d.add(overlay, BadCount(overlay, "b", log), 5)
    d.add(overlay, Strategy(overlay, "c", log), -1)
    d.strategies.append("not a pair")
    d.add(overlay, Strategy(overlay, "d", log), -1)
    with caplog.at_level(logging.ERROR, logger="ipv8fast.strategy_scheduler"):
        assert d.tick() == 3  # a (raised, but stepped), c, d
    assert log == ["a", "c", "d"]
    assert d.errors == 3
    assert sum("ZeroDivisionError" in (r.exc_text or "") for r in caplog.records) == 1


def test_base_exceptions_propagate(twin: ModuleType) -> None:
    d = twin.StrategyScheduler()

    def cancel() -> None:
        raise asyncio.CancelledError

    d.add(None, Strategy(None, "a", [], action=cancel), -1)
    with pytest.raises(asyncio.CancelledError):
        d.tick()
    assert not d.in_pass  # and the dispatcher is usable again
    d.strategies.clear()
    assert d.tick() == 0


def test_add_during_pass_waits_for_next_pass(twin: ModuleType) -> None:
    d, log, strategies = make(twin, [(0, -1)] * 3)
    late = Strategy(None, "late", log)
    strategies[0].action = lambda: d.add(None, late, -1) if "late" not in [e[0].name for e in d.strategies] else None
    d.tick()
    assert log == ["s0", "s1", "s2"]
    d.tick()
    assert log[3:] == ["s0", "s1", "s2", "late"]


def test_remove_during_pass(twin: ModuleType) -> None:
    d, log, strategies = make(twin, [(0, -1)] * 4)
    strategies[1].action = lambda: d.remove(strategies[2])
    assert d.tick() == 3
    assert log == ["s0", "s1", "s3"]
    assert [e[0] for e in d.strategies] == [strategies[0], strategies[1], strategies[3]]
    strategies[1].action = lambda: d.remove(strategies[1])  # removing itself
    d.tick()
    d.tick()
    assert log[3:] == ["s0", "s1", "s3", "s0", "s3"]


def test_remove_overlay(twin: ModuleType) -> None:
    log: list[str] = []
    d = twin.StrategyScheduler()
    a, b = Overlay(), Overlay()
    d.add(a, Strategy(a, "a1", log), -1)
    d.add(b, Strategy(b, "b1", log), -1)
    d.strategies.append((Strategy(a, "a2", log), -1))  # plain pair: found through strategy.overlay
    d.add(a, Bare(log, "a3"), -1)  # no .overlay: found through the registration
    d.add(b, Strategy(b, "b2", log, action=lambda: d.remove_overlay(a)), -1)
    d.add(a, Strategy(a, "a4", log), -1)
    d.tick()
    assert log == ["a1", "b1", "a2", "a3", "b2"]  # a4 was removed mid-pass
    assert [e[0].name for e in d.strategies] == ["b1", "b2"]
    assert d.remove_overlay(a) == 0
    d.clear()
    assert d.tick() == 0


def test_rebinding_strategies_mid_pass(twin: ModuleType) -> None:
    d, log, strategies = make(twin, [(0, -1)] * 3)
    strategies[0].action = lambda: setattr(d, "strategies", [d.strategies[0]])  # like py-ipv8's unload_overlay
    d.tick()
    assert log == ["s0"]
    with pytest.raises(TypeError):
        d.strategies = (1, 2)


def test_reentrancy_refused(twin: ModuleType) -> None:
    d, log, strategies = make(twin, [(0, -1)] * 2)
    strategies[0].action = d.tick
    assert d.tick() == 2
    assert d.errors == 1


def test_walk_interval_validation(twin: ModuleType) -> None:
    d = twin.StrategyScheduler(2)
    assert d.walk_interval == 2.0
    for bad, exc in (("x", TypeError), (True, TypeError), (-0.1, ValueError), (float("nan"), ValueError),
                     (float("inf"), ValueError)):
        with pytest.raises(exc, match="walk_interval"):
            d.walk_interval = bad
    with pytest.raises(ValueError):
        twin.StrategyScheduler(-1)


# -- smoothing: advance() on a virtual clock ------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run_virtual(d: Any, clock: Clock, log: list[tuple[float, str]], until: float) -> None:
    while clock.now < until:
        pause = d.advance()  # (the steps move the clock too)
        clock.now += pause


def timed(twin: ModuleType, interval: float, n: int, cost: float = 0.0, targets: list[int] | None = None
          ) -> tuple[list[tuple[float, str]], Clock]:
    clock = Clock()
    log: list[tuple[float, str]] = []
    d = twin.StrategyScheduler(interval, clock=clock)
    for i in range(n):
        def step(i: int = i) -> None:
            log.append((round(clock.now, 6), f"s{i}"))
            clock.now += cost
        strategy = Strategy(Overlay(), f"s{i}", [], action=step)
        d.add(None, strategy, -1 if targets is None else targets[i])
    run_virtual(d, clock, log, 10.0)
    return log, clock


def test_smoothing_two_strategies(twin: ModuleType) -> None:
    log, _ = timed(twin, 2.0, 2)
    assert log[:4] == [(0.0, "s0"), (1.0, "s1"), (3.0, "s0"), (4.0, "s1")]  # period 2 + 1 (spec §19 [V])


def test_floor_division_means_no_smoothing(twin: ModuleType) -> None:
    log, _ = timed(twin, 0.5, 3)
    assert log[:6] == [(0.0, "s0"), (0.0, "s1"), (0.0, "s2"), (0.5, "s0"), (0.5, "s1"), (0.5, "s2")]


def test_smoothing_subtracts_step_time_and_skips_tiny_pauses(twin: ModuleType) -> None:
    log, _ = timed(twin, 3.0, 3, cost=0.25)  # smooth 1.0: pause 0.75 after each step but the last
    assert log[:4] == [(0.0, "s0"), (1.0, "s1"), (2.0, "s2"), (5.25, "s0")]
    log, _ = timed(twin, 3.0, 3, cost=0.995)  # leftover 0.005 <= 0.01: no pause
    assert [t for t, _ in log[:3]] == [0.0, 0.995, 1.99]


def test_gated_strategies_still_pace(twin: ModuleType) -> None:
    log, _ = timed(twin, 2.0, 2, targets=[0, -1])  # s0 never steps, but the pass still pauses after it
    assert log[:2] == [(1.0, "s1"), (4.0, "s1")]


def test_advance_empty_and_in_pass(twin: ModuleType) -> None:
    clock = Clock()
    d = twin.StrategyScheduler(2.0, clock=clock)
    assert d.advance() == 2.0 and not d.in_pass
    log: list[str] = []
    d.add(None, Bare(log, "a"), -1)
    d.add(None, Bare(log, "b"), -1)
    assert d.advance() == pytest.approx(1.0) and d.in_pass and log == ["a"]
    d.reset()
    assert not d.in_pass
    assert d.advance() == pytest.approx(1.0) and log == ["a", "a"]
    assert d.tick() == 1 and log == ["a", "a", "b"]  # tick() finishes the pass in progress
    assert not d.in_pass


def test_removed_tail_ends_pass_without_pause(twin: ModuleType) -> None:
    clock = Clock()
    d = twin.StrategyScheduler(2.0, clock=clock)
    log: list[str] = []
    b = Bare(log, "b")
    a = Strategy(None, "a", log, action=lambda: d.remove(b))
    d.add(None, a, -1)
    d.add(None, b, -1)
    assert d.advance() == 2.0 and log == ["a"] and not d.in_pass


class _FakeEndpoint:
    def is_open(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


@pytest.mark.parametrize(("interval", "n", "cost", "targets"), [
    (2.0, 2, 0.0, None), (0.5, 3, 0.0, None), (3.0, 3, 0.25, None), (5.0, 3, 0.0, [0, 20, -1]), (7.0, 4, 1.5, None)])
def test_matches_py_ipv8_on_tick(twin: ModuleType, interval: float, n: int, cost: float,
                                 targets: list[int] | None) -> None:
    """Drive py-ipv8's real IPv8.on_tick with the same strategies and a patched clock/sleep; same schedule."""
    ipv8_service = pytest.importorskip("ipv8_service")
    from ipv8.peerdiscovery.discovery import DiscoveryStrategy

    clock = Clock()
    ref_log: list[tuple[float, str]] = []

    class Ref(DiscoveryStrategy):
        def __init__(self, overlay: Overlay, name: str) -> None:
            super().__init__(overlay)
            self.name = name

        def take_step(self) -> None:
            ref_log.append((round(clock.now, 6), self.name))
            clock.now += cost

    async def fake_sleep(delay: float) -> None:
        clock.now += max(delay, 0.0)

    async def drive() -> None:
        ipv8 = ipv8_service.IPv8({"logger": {"level": "WARNING"}, "keys": [], "overlays": [],
                                  "walker_interval": interval}, endpoint_override=_FakeEndpoint())
        for i in range(n):
            ipv8.add_strategy(Overlay(), Ref(Overlay(), f"s{i}"), -1 if targets is None else targets[i])
        ipv8.state_machine_task = asyncio.get_running_loop().create_future()
        while clock.now < 10.0:
            await ipv8.on_tick()

    saved = (ipv8_service.time.time, ipv8_service.sleep)
    ipv8_service.time.time, ipv8_service.sleep = clock, fake_sleep
    try:
        asyncio.run(drive())
    finally:
        ipv8_service.time.time, ipv8_service.sleep = saved

    ours, _ = timed(twin, interval, n, cost, targets)
    assert ours[:len(ref_log) - 1] == ref_log[:-1][:len(ours)]
    assert len(ref_log) > 3 and abs(len(ours) - len(ref_log)) <= 1, (ours, ref_log)


# -- the asyncio driver on a real loop -----------------------------------------------------------------

def test_ticker_real_loop_no_smoothing(harness: LoopHarness) -> None:
    harness.run(_test_ticker_real_loop_no_smoothing())
    assert harness.errors == []


async def _test_ticker_real_loop_no_smoothing() -> None:
    log: list[str] = []
    d = strategy_scheduler.StrategyScheduler(0.05)
    for name in "abc":
        d.add(None, Bare(log, name), -1)
    ticker = strategy_scheduler.StrategyTicker(d)
    started = time.monotonic()
    ticker.start()
    assert ticker.running
    await asyncio.sleep(0.3)
    await ticker.stop()
    assert not ticker.running and not d.in_pass
    passes = len(log) // 3
    assert 3 <= passes <= 7, log
    assert log[:6] == list("abcabc")
    assert time.monotonic() - started < 1.0
    count = len(log)
    await asyncio.sleep(0.1)
    assert len(log) == count  # stopped means stopped


def test_ticker_real_loop_smoothing_and_stop_mid_pass(harness: LoopHarness) -> None:
    harness.run(_test_ticker_real_loop_smoothing_and_stop_mid_pass())
    assert harness.errors == []


async def _test_ticker_real_loop_smoothing_and_stop_mid_pass() -> None:
    stamps: list[tuple[str, float]] = []
    d = strategy_scheduler.StrategyScheduler(2.0)  # two strategies: s1 runs 1.0 s after s0

    class Stamp:
        def __init__(self, name: str) -> None:
            self.name = name

        def take_step(self) -> None:
            stamps.append((self.name, time.monotonic()))

    d.add(None, Stamp("s0"), -1)
    d.add(None, Stamp("s1"), -1)
    ticker = strategy_scheduler.StrategyTicker(d)
    ticker.start()
    await asyncio.sleep(0.3)
    assert [name for name, _ in stamps] == ["s0"] and d.in_pass
    while len(stamps) < 2:
        await asyncio.sleep(0.02)
    gap = stamps[1][1] - stamps[0][1]
    assert 0.95 <= gap <= 1.3, gap
    await ticker.stop()
    ticker.start()  # restart: a fresh pass
    await asyncio.sleep(0.1)
    assert [name for name, _ in stamps] == ["s0", "s1", "s0"]
    await ticker.shutdown_task_manager()
    assert not d.in_pass


def test_ticker_waits_until_ready(harness: LoopHarness) -> None:
    harness.run(_test_ticker_waits_until_ready())
    assert harness.errors == []


async def _test_ticker_waits_until_ready() -> None:
    log: list[str] = []
    d = strategy_scheduler.StrategyScheduler(0.0)
    d.add(None, Bare(log, "a"), -1)
    is_open = False
    ticker = strategy_scheduler.StrategyTicker(d, ready=lambda: is_open)
    ticker.start()
    await asyncio.sleep(0.12)
    assert log == []
    is_open = True
    await asyncio.sleep(0.12)
    assert len(log) > 5  # walk_interval 0: a pass every loop iteration
    await ticker.stop()


def test_ticker_isolates_errors_on_loop(harness: LoopHarness, caplog: pytest.LogCaptureFixture) -> None:
    harness.run(_test_ticker_isolates_errors_on_loop(caplog))
    assert harness.errors == []


async def _test_ticker_isolates_errors_on_loop(caplog: pytest.LogCaptureFixture) -> None:
    log: list[str] = []
    d = strategy_scheduler.StrategyScheduler(0.02)
    d.add(None, Strategy(None, "bad", log, action=lambda: 1 / 0), -1)
    d.add(None, Bare(log, "good"), -1)
    ticker = strategy_scheduler.StrategyTicker(d)
    with caplog.at_level(logging.CRITICAL, logger="ipv8fast.strategy_scheduler"):
        ticker.start()
        await asyncio.sleep(0.15)
        await ticker.stop()
    assert log.count("good") >= 3 and log.count("bad") == log.count("good")
    assert d.errors == log.count("bad")


def test_public_module_exports_the_active_twin() -> None:
    from ipv8fast._core import scheduler

    assert strategy_scheduler.StrategyScheduler is scheduler.StrategyScheduler
    assert set(strategy_scheduler.__all__) >= {"StrategyScheduler", "StrategyTicker", "Registration"}
