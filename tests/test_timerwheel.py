"""The hierarchical timer wheel, both twins: due order, never early, cancel, errors, far horizons."""
from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipv8fast._core import twins

pytestmark = pytest.mark.twin_of("timerwheel")




class FakeHandle:
    def __init__(self, when: float, callback: Callable[[], Any]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeLoop:
    """Just what the wheel uses of a loop, on a virtual clock that jumps from timer to timer."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.timers: list[tuple[float, int, FakeHandle]] = []
        self.ready: list[FakeHandle] = []
        self.errors: list[dict[str, Any]] = []
        self.seq = itertools.count()

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], Any]) -> FakeHandle:
        handle = FakeHandle(when, callback)
        heapq.heappush(self.timers, (when, next(self.seq), handle))
        return handle

    def call_soon(self, callback: Callable[[], Any]) -> FakeHandle:
        handle = FakeHandle(self.now, callback)
        self.ready.append(handle)
        return handle

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        self.errors.append(context)

    def run_ready(self) -> None:
        ready, self.ready = self.ready, []
        for handle in ready:
            if not handle.cancelled:
                handle.callback()

    def advance_to(self, target: float) -> None:
        self.run_ready()
        while self.timers and self.timers[0][0] <= target:
            when, _, handle = heapq.heappop(self.timers)
            if handle.cancelled:
                continue
            self.now = max(self.now, when)
            handle.callback()
            self.run_ready()
        self.now = max(self.now, target)


def test_default_tick_is_fine_grained() -> None:
    from ipv8fast._core.limits import DEFAULT_TICK

    assert DEFAULT_TICK <= 0.01


def test_rejects_bad_tick_and_nan(twin: ModuleType) -> None:
    loop = FakeLoop()
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError):
            twin.TimerWheel(loop, bad)
    wheel = twin.TimerWheel(loop)
    with pytest.raises(ValueError):
        wheel.call_at(float("nan"), print, None)


def test_due_order_never_early_virtual(twin: ModuleType) -> None:
    loop = FakeLoop()
    wheel = twin.TimerWheel(loop, 0.01)
    fired: list[tuple[float, float, int]] = []
    rng = random.Random(5)
    for i in range(3000):
        when = loop.now + rng.choice([rng.random() * 2, rng.random() * 300, rng.random() * 90000])
        wheel.call_at(when, lambda arg: fired.append((loop.now, *arg)), (when, i))
    assert len(wheel) == 3000
    loop.advance_to(loop.now + 100000)
    assert len(fired) == 3000 and len(wheel) == 0
    assert all(at >= due for at, due, _ in fired), "fired early"
    assert all(at - due <= 0.01 + 1e-6 for at, due, _ in fired), "more than a tick late"
    dues = [due for _, due, _ in fired]
    assert dues == sorted(dues)


def test_same_due_fires_in_insertion_order(twin: ModuleType) -> None:
    loop = FakeLoop()
    wheel = twin.TimerWheel(loop)
    fired: list[int] = []
    for i in range(100):
        wheel.call_later(1.0, fired.append, i)
    loop.advance_to(loop.now + 2)
    assert fired == list(range(100))


def test_far_future_beyond_horizon(twin: ModuleType) -> None:
    loop = FakeLoop()
    wheel = twin.TimerWheel(loop, 0.5)
    fired: list[float] = []
    years = 3 * 10 ** 12 * 0.5  # far past 64**7 ticks
    wheel.call_later(years, lambda _: fired.append(loop.now))
    wheel.call_later(10, lambda _: fired.append(loop.now))
    start = loop.now
    loop.advance_to(start + years - 1)
    assert len(fired) == 1 and len(wheel) == 1
    loop.advance_to(start + years + 1)
    assert len(fired) == 2 and fired[1] >= start + years


def test_cancel(twin: ModuleType) -> None:
    loop = FakeLoop()
    wheel = twin.TimerWheel(loop)
    fired: list[int] = []
    handles = [wheel.call_later(0.5 + i * 0.001, fired.append, i) for i in range(10)]
    assert handles[3] in wheel
    assert wheel.cancel(handles[3]) is True
    assert wheel.cancel(handles[3]) is False
    assert handles[3] not in wheel
    assert wheel.cancel(-1) is False and wheel.cancel("x") is False and wheel.cancel(2 ** 70) is False
    assert len(wheel) == 9
    loop.advance_to(loop.now + 1)
    assert fired == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert wheel.cancel(handles[0]) is False
    # a reused node does not answer to an old handle
    new = wheel.call_later(1, fired.append, 99)
    assert new not in handles and all(wheel.cancel(h) is False for h in handles)
    assert wheel.cancel(new)


def test_callback_cancels_later_entry_of_same_tick(twin: ModuleType) -> None:
    loop = FakeLoop()
    wheel = twin.TimerWheel(loop)
    fired: list[str] = []
    later: list[int] = []

    def first(_: Any) -> None:
        fired.append("first")
        assert wheel.cancel(later[0])

    wheel.call_later(1.0, first)
    later.append(wheel.call_later(1.0, fired.append, "second"))
    loop.advance_to(loop.now + 2)
    assert fired == ["first"]


def test_callback_schedules_more(twin: ModuleType) -> None:
    loop = FakeLoop()
    wheel = twin.TimerWheel(loop)
    fired: list[float] = []

    def chain(n: int) -> None:
        fired.append(loop.now)
        if n:
            wheel.call_later(0.1, chain, n - 1)
            wheel.call_later(0, lambda _: fired.append(-1.0))

    wheel.call_later(0.1, chain, 3)
    loop.advance_to(loop.now + 5)
    assert fired.count(-1.0) == 3
    times = [t for t in fired if t >= 0]
    assert len(times) == 4 and all(b - a >= 0.1 for a, b in itertools.pairwise(times))


def test_exception_is_reported_and_wheel_goes_on(twin: ModuleType) -> None:
    loop = FakeLoop()
    wheel = twin.TimerWheel(loop)
    fired: list[int] = []

    def boom(_: Any) -> None:
        raise ValueError("boom")

    wheel.call_later(0.5, fired.append, 1)
    wheel.call_later(0.5, boom)
    wheel.call_later(0.5, fired.append, 2)
    wheel.call_later(0.8, fired.append, 3)
    wheel.call_later(0, boom)
    loop.advance_to(loop.now + 1)
    assert fired == [1, 2, 3]
    assert len(loop.errors) == 2 and all(isinstance(e["exception"], ValueError) for e in loop.errors)


def test_keyboard_interrupt_propagates_rest_runs_later(twin: ModuleType) -> None:
    loop = FakeLoop()
    wheel = twin.TimerWheel(loop)
    fired: list[int] = []

    def interrupt(_: Any) -> None:
        raise KeyboardInterrupt

    wheel.call_later(0.5, fired.append, 1)
    wheel.call_later(0.5, interrupt)
    wheel.call_later(0.5, fired.append, 2)
    with pytest.raises(KeyboardInterrupt):
        loop.advance_to(loop.now + 1)
    assert fired == [1] and len(wheel) == 1
    loop.advance_to(loop.now + 1)
    assert fired == [1, 2] and len(wheel) == 0


def test_clear(twin: ModuleType) -> None:
    loop = FakeLoop()
    wheel = twin.TimerWheel(loop)
    fired: list[int] = []
    handles = [wheel.call_later(i / 10, fired.append, i) for i in range(50)]
    assert wheel.clear() == 50
    assert len(wheel) == 0 and all(wheel.cancel(h) is False for h in handles)
    loop.advance_to(loop.now + 10)
    assert fired == []
    wheel.call_later(1, fired.append, 7)
    loop.advance_to(loop.now + 2)
    assert fired == [7]


def test_idle_wheel_jumps_ahead(twin: ModuleType) -> None:
    loop = FakeLoop()
    wheel = twin.TimerWheel(loop)
    fired: list[float] = []
    loop.advance_to(loop.now + 10 ** 7)  # idle for months
    due = loop.now + 0.25
    wheel.call_at(due, lambda _: fired.append(loop.now))
    loop.advance_to(loop.now + 1)
    assert len(fired) == 1 and due <= fired[0] <= due + wheel.tick + 1e-6


@settings(max_examples=60, deadline=None)
@given(ops=st.lists(st.tuples(st.sampled_from(["add", "add", "add", "cancel", "run"]),
                              st.floats(min_value=0, max_value=50), st.integers(0, 10 ** 6)), max_size=80))
def test_model_property(ops: list[tuple[str, float, int]]) -> None:
    for twin in twins.both("timerwheel"):
        loop = FakeLoop()
        wheel = twin.TimerWheel(loop, 0.01)
        live: dict[int, float] = {}
        fired: list[tuple[float, float, int]] = []
        handles: list[int] = []
        for op, value, pick in ops:
            if op == "add":
                when = loop.now + value
                handle = wheel.call_at(when, lambda arg, fired=fired, loop=loop: fired.append((loop.now, *arg)),
                                        (when, len(handles)))
                handles.append(handle)
                live[handle] = when
            elif op == "cancel" and handles:
                handle = handles[pick % len(handles)]
                assert wheel.cancel(handle) == (handle in live)
                live.pop(handle, None)
            elif op == "run":
                before = len(fired)
                loop.advance_to(loop.now + value)
                for at, due, index in fired[before:]:
                    live.pop(handles[index])
                    assert due <= at <= due + 0.01 + 1e-6
                assert sorted(x[1] for x in fired[before:]) == [x[1] for x in fired[before:]]
            assert len(wheel) == len(live)
        loop.advance_to(loop.now + 100)
        assert len(wheel) == 0
        assert len(fired) + sum(1 for h in handles if h not in live) >= len(fired)


@pytest.mark.parametrize("use_uvloop", [False, True], ids=["asyncio", "uvloop"])
def test_real_loop_never_early(twin: ModuleType, use_uvloop: bool) -> None:
    from _loop import LoopHarness

    harness = LoopHarness(uvloop=use_uvloop)
    try:
        async def main() -> list[tuple[float, float]]:
            loop = asyncio.get_running_loop()
            wheel = twin.TimerWheel()
            fired: list[tuple[float, float]] = []
            rng = random.Random(1)
            for _ in range(500):
                due = loop.time() + rng.random() * 0.3
                wheel.call_at(due, lambda d: fired.append((loop.time(), d)), due)
            immediate: list[float] = []
            wheel.call_later(0, immediate.append, 1.0)
            await asyncio.sleep(0)
            assert immediate == [1.0]
            await asyncio.sleep(0.4)
            assert len(wheel) == 0
            return fired

        fired = harness.run(main())
    finally:
        harness.close()
    assert len(fired) == 500
    assert all(at >= due for at, due in fired)
    assert [d for _, d in fired] == sorted(d for _, d in fired)
    assert max(at - due for at, due in fired) < 0.1
    assert harness.errors == []
