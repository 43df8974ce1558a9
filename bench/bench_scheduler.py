"""Strategy-scheduler overhead per tick, ipv8fast (compiled and pure twins) next to py-ipv8 in one run.

    python bench/bench_scheduler.py            # 1,000 strategies, about 20 s
    python bench/bench_scheduler.py --quick    # fewer rounds

One tick = one pass over N registered strategies whose ``take_step`` does nothing. py-ipv8's pass is its
real ``IPv8.on_tick()`` (endpoint reported open, walker_interval 0, so no smoothing pauses), driven by
hand as a coroutine; ours is the same coroutine shape around ``StrategyScheduler.advance()``:
``await sleep(scheduler.advance())``, which is what ``StrategyTicker`` runs. Both see the very same
strategy objects (py-ipv8 DiscoveryStrategy subclasses) and overlays.

Cases: ``noop`` strategies (take_step / get_peer_count are a C builtin, so the tick time is the
dispatcher's own overhead plus N near-free calls; the headline figure) and ``py`` strategies
(``def take_step(self): pass``, DiscoveryStrategy's get_peer_count); ``always`` = target_peers -1,
``gated`` = target_peers 20 with 0 peers (count, then step). Rounds interleave the implementations;
medians are reported. Target: compiled overhead (``noop always``, tick minus the bare calls) <= 1/10 of
py-ipv8's. The whole-tick ratios are printed too: a tick also pays for looking up and calling each
``take_step``, which neither implementation can avoid.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any

try:
    from operator import call
except ImportError:  # Python 3.10: a Python-level stand-in (the bare-call reference is then a little slower)
    def call(function: Callable[[], Any], /) -> Any:
        return function()

# Run as a script, the checkout's own ipv8fast comes first (not another one installed).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class FakeOverlay:
    def get_peers(self) -> list:
        return []


class FakeEndpoint:
    def is_open(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


def make_strategies(n: int, kind: str) -> list[Any]:
    """``python``: ``def take_step(self): pass`` with DiscoveryStrategy's own get_peer_count;
    ``noop``: take_step and get_peer_count are no-argument C builtins, so a pass costs the scheduler
    itself plus N near-free calls."""
    from ipv8.peerdiscovery.discovery import DiscoveryStrategy

    class Trivial(DiscoveryStrategy):
        def take_step(self) -> None:
            pass

    class Noop(DiscoveryStrategy):
        take_step = staticmethod(gc.isenabled)  # METH_NOARGS builtins: about the cheapest call there is
        get_peer_count = staticmethod(sys.is_finalizing)  # False, i.e. 0 peers

    cls = Trivial if kind == "python" else Noop
    overlays = [FakeOverlay() for _ in range(10)]
    return [cls(overlays[i % 10]) for i in range(n)]


def drive(coroutine_factory: Callable[[], Any]) -> Callable[[], None]:
    """Run one tick coroutine to completion without an event loop (``sleep(0)`` yields once)."""
    def run() -> None:
        coroutine = coroutine_factory()
        try:
            while True:
                coroutine.send(None)
        except StopIteration:
            pass
    return run


def py_ipv8_tick(strategies: list[Any], target: int) -> Callable[[], None]:
    from ipv8_service import IPv8

    ipv8 = IPv8({"logger": {"level": "WARNING"}, "keys": [], "overlays": [], "walker_interval": 0.0},
                endpoint_override=FakeEndpoint())
    for strategy in strategies:
        ipv8.add_strategy(strategy.overlay, strategy, target)
    ipv8.state_machine_task = asyncio.get_event_loop().create_future()  # "running"
    return drive(ipv8.on_tick)


def ipv8fast_tick(module: Any, strategies: list[Any], target: int) -> Callable[[], None]:
    scheduler = module.StrategyScheduler(0.0)
    for strategy in strategies:
        scheduler.add(strategy.overlay, strategy, target)
    advance = scheduler.advance
    sleep = asyncio.sleep

    async def on_tick() -> None:
        await sleep(advance())
    return drive(on_tick)


def floor_tick(strategies: list[Any], target: int) -> Callable[[], None]:
    take_steps = [strategy.take_step for strategy in strategies]
    counts = [strategy.get_peer_count for strategy in strategies]
    if target == -1:
        return lambda: deque(map(call, take_steps), 0)

    def run() -> None:
        deque(map(call, counts), 0)
        deque(map(call, take_steps), 0)
    return run


def per_tick(fn: Callable[[], None], ticks: int) -> float:
    start = time.perf_counter()
    for _ in range(ticks):
        fn()
    return (time.perf_counter() - start) / ticks


#: (case, strategy kind, target_peers); the first two measure the scheduler's own overhead.
CASES = (("noop always", "noop", -1), ("noop gated", "noop", 20),
         ("py always", "python", -1), ("py gated", "python", 20))


def bench(n: int, rounds: int, ticks: int) -> dict[str, dict[str, float]]:
    from ipv8fast._core import scheduler_py, twins

    impls: dict[str, Callable[[list[Any], int], Callable[[], None]]] = {
        "py-ipv8": py_ipv8_tick,
        "ipv8fast (pure)": lambda s, t: ipv8fast_tick(scheduler_py, s, t),
        "floor": floor_tick,
    }
    compiled = [m for m in twins.both("scheduler") if m is not scheduler_py]
    if compiled:
        impls["ipv8fast (compiled)"] = lambda s, t: ipv8fast_tick(compiled[0], s, t)
    results: dict[str, dict[str, float]] = {}
    for case, kind, target in CASES:
        strategies = make_strategies(n, kind)
        runners = {name: factory(strategies, target) for name, factory in impls.items()}
        samples: dict[str, list[float]] = {name: [] for name in runners}
        for runner in runners.values():
            per_tick(runner, max(ticks // 5, 1))  # warm up
        for _ in range(rounds):
            for name, runner in runners.items():
                samples[name].append(per_tick(runner, ticks))
        results[case] = {name: statistics.median(values) for name, values in samples.items()}
    return results


def report(results: dict[str, dict[str, float]], n: int) -> None:
    print(f"strategy scheduler: one pass over {n} strategies, median µs per tick (ratio = py-ipv8 / ours)")
    present = next(iter(results.values()))
    names = [name for name in ("py-ipv8", "ipv8fast (pure)", "ipv8fast (compiled)") if name in present]
    print(f"{'case':12s} {'bare calls':>10s} " + " ".join(f"{name:>20s}" for name in names)
          + " " + " ".join(f"{'ratio ' + name.split('(')[-1].rstrip(')'):>14s}" for name in names[1:]))
    for case, row in results.items():
        base = row["py-ipv8"]
        cells = " ".join(f"{row[name] * 1e6:20.1f}" for name in names)
        ratios = " ".join(f"{base / row[name]:13.1f}x" for name in names[1:])
        print(f"{case:12s} {row['floor'] * 1e6:10.1f} {cells} {ratios}")
    print("(bare calls: the same methods called from map(operator.call, ...) with no scheduler; a reference,"
          " not a lower bound)")
    if "ipv8fast (compiled)" in names:
        row = results["noop always"]
        ours, theirs, bare = row["ipv8fast (compiled)"], row["py-ipv8"], row["floor"]
        print(f"noop always, per tick: py-ipv8 {theirs * 1e6:.1f} µs, ipv8fast {ours * 1e6:.1f} µs "
              f"({ours / n * 1e9:.0f} ns/strategy): whole tick {theirs / ours:.1f}x")
        if ours > bare:
            ratio = (theirs - bare) / (ours - bare)
            print(f"scheduler overhead beyond the bare calls: py-ipv8 {(theirs - bare) * 1e6:.1f} µs, ipv8fast "
                  f"{(ours - bare) * 1e6:.1f} µs -> {ratio:.1f}x; target >= 10x: {'met' if ratio >= 10 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", type=int, default=1000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    import logging
    logging.disable(logging.WARNING)
    asyncio.set_event_loop(asyncio.new_event_loop())
    rounds, ticks = (5, 50) if args.quick else (21, 100)
    report(bench(args.strategies, rounds, ticks), args.strategies)


if __name__ == "__main__":
    main()
