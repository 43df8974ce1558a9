"""RequestCache and the NumberCache family (spec api.md §5), on both twins of the timer wheel and the
identifier pool. ``IPV8FAST_TEST_REFERENCE=1`` runs the behaviour tests against py-ipv8 instead."""
from __future__ import annotations

import asyncio
import gc
import importlib
import importlib.util
import random
import sys
import time
from collections.abc import Iterator
from itertools import pairwise
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipv8fast._core import twins
from ipv8fast.testing.fuzz import rss_is_meaningful

from _loop import REFERENCE, LoopHarness, harness, impl  # noqa: F401 - harness is a fixture

deviation = pytest.mark.skipif(REFERENCE, reason="deliberate deviation from py-ipv8 / ipv8fast only")

pytestmark = pytest.mark.twin_of("timerwheel")


_COPIES: dict[str, ModuleType] = {}


def requestcache_on(twin: ModuleType) -> ModuleType:
    """A copy of ``ipv8fast.requestcache`` built on one twin of ``_core.timerwheel`` (its store and compiled
    cache bases are that twin's), made once per twin."""
    copy = _COPIES.get(twin.__name__)
    if copy is None:
        import ipv8fast.requestcache as original

        saved = sys.modules["ipv8fast._core.timerwheel"]
        sys.modules["ipv8fast._core.timerwheel"] = twin
        try:
            spec = importlib.util.spec_from_file_location("ipv8fast.requestcache", original.__file__)
            assert spec is not None and spec.loader is not None
            copy = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(copy)
        finally:
            sys.modules["ipv8fast._core.timerwheel"] = saved
        _COPIES[twin.__name__] = copy
    return copy


@pytest.fixture
def rcm(twin: ModuleType) -> Iterator[ModuleType]:
    """The requestcache module on one twin of the timer wheel / cache store (or, with
    IPV8FAST_TEST_REFERENCE=1, py-ipv8's requestcache, once)."""
    if REFERENCE:
        if twin.__name__.endswith("_c"):
            pytest.skip("py-ipv8 reference: run once")
        yield impl("requestcache")
    else:
        yield requestcache_on(twin)


def make_classes(rcm: ModuleType) -> Any:
    class Classes:
        class Plain(rcm.NumberCache):
            pass

        class Timed(rcm.NumberCache):
            delay = 0.05

            def __init__(self, rc: Any, prefix: str, number: int) -> None:
                super().__init__(rc, prefix, number)
                self.events: list[Any] = []
                self.rc = rc

            @property
            def timeout_delay(self) -> float:
                return self.delay

            def on_timeout(self) -> None:
                self.events.append(("timeout", self.rc.has(self.prefix, self.number)))

        class Named(rcm.NumberCacheWithName):
            name = "named"

            def __init__(self, rc: Any, number: int) -> None:
                super().__init__(rc, self.name, number)

        class RandomNamed(rcm.RandomNumberCacheWithName):
            name = "random-named"

            def __init__(self, rc: Any) -> None:
                super().__init__(rc, self.name)

    return Classes


def test_constructor_needs_only_a_current_loop(rcm: ModuleType, harness: LoopHarness) -> None:
    rc = rcm.RequestCache()
    cache = rc.add(make_classes(rcm).Plain(rc, "p", 1))
    assert cache is not None and rc.has("p", 1)
    harness.run(rc.shutdown())


def test_number_cache_basics(rcm: ModuleType, harness: LoopHarness) -> None:
    rc = rcm.RequestCache()
    classes = make_classes(rcm)
    cache = classes.Plain(rc, "pre", 7)
    assert (cache.prefix, cache.number, cache.timeout_delay) == ("pre", 7, 10.0)
    assert str(cache) == "<Plain pre-7>"
    assert cache.managed_futures == []
    future = asyncio.Future()
    cache.register_future(future)
    cache.register_future(future, on_timeout=False)
    assert cache.managed_futures == [(future, None), (future, False)]
    cache.managed_futures.clear()
    assert cache.managed_futures == []
    cache.on_timeout()  # not abstract in practice
    assert classes.Plain(rc, "", 0).prefix == ""
    rc.add(cache)
    with pytest.raises(RuntimeError, match="This number is already in use '7'"):
        classes.Plain(rc, "pre", 7)
    harness.run(rc.shutdown())


def test_add_asserts(rcm: ModuleType, harness: LoopHarness) -> None:
    rc = rcm.RequestCache()
    classes = make_classes(rcm)

    class Zero(classes.Plain):
        timeout_delay = 0

    with pytest.raises(AssertionError):
        rc.add("not a cache")
    with pytest.raises(AssertionError):
        rc.add(classes.Plain(rc, "p", 1.5))
    bad_prefix = classes.Plain(rc, "p", 1)
    bad_prefix._prefix = 3
    with pytest.raises(AssertionError):
        rc.add(bad_prefix)
    with pytest.raises(AssertionError):
        rc.add(Zero(rc, "p", 1))
    harness.run(rc.shutdown())


def test_has_get_pop(rcm: ModuleType, harness: LoopHarness) -> None:
    rc = rcm.RequestCache()
    classes = make_classes(rcm)
    cache = rc.add(classes.Named(rc, 3))
    assert rc.has("named", 3) and rc.has(classes.Named, 3) and not rc.has("named", 4)
    assert rc.get(classes.Named, 3) is cache and rc.get("named", 4) is None and rc.get("other", 3) is None
    with pytest.raises(KeyError, match="named:4"):
        rc.pop("named", 4)
    with pytest.raises(KeyError, match="nothing:1"):
        rc.pop("nothing", 1)
    assert rc.pop(classes.Named, 3) is cache
    assert not rc.has("named", 3)
    harness.run(rc.shutdown())


def test_pop_cancels_the_timeout(rcm: ModuleType, harness: LoopHarness) -> None:
    async def main() -> None:
        rc = rcm.RequestCache()
        cache = rc.add(make_classes(rcm).Timed(rc, "t", 1))
        assert rc.is_pending_task_active(cache)
        rc.pop("t", 1)
        assert not rc.is_pending_task_active(cache)
        await asyncio.sleep(0.15)
        assert cache.events == []
        await rc.shutdown()

    harness.run(main())


def test_duplicate_add_returns_none_without_side_effects(rcm: ModuleType, harness: LoopHarness) -> None:
    async def main() -> None:
        rc = rcm.RequestCache()
        classes = make_classes(rcm)
        first, second = classes.Timed(rc, "d", 1), classes.Timed(rc, "d", 1)
        future = asyncio.Future()
        second.register_future(future)
        assert rc.add(first) is first
        assert rc.add(second) is None
        assert rc.get("d", 1) is first and not future.done()
        await rc.shutdown()

    harness.run(main())


def test_timeout_order_and_managed_futures(rcm: ModuleType, harness: LoopHarness) -> None:
    async def main() -> None:
        rc = rcm.RequestCache()
        cache = make_classes(rcm).Timed(rc, "t", 1)
        default, instance, klass, done = (asyncio.Future() for _ in range(4))
        done.set_result("untouched")
        error = ValueError("timed out")
        cache.register_future(default)
        cache.register_future(instance, on_timeout=error)
        cache.register_future(klass, on_timeout=ValueError)
        cache.register_future(done, on_timeout=1)
        loop = asyncio.get_running_loop()
        start = loop.time()
        rc.add(cache)
        assert await default is None
        assert loop.time() - start >= cache.delay
        assert cache.events == [("timeout", False)]  # removed before on_timeout ran
        with pytest.raises(ValueError) as caught:
            await instance
        assert caught.value is error
        assert await klass is ValueError
        assert done.result() == "untouched"
        assert not rc.has("t", 1)
        await rc.shutdown()

    harness.run(main())
    assert harness.errors == []


def test_managed_futures_set_directly_after_add(rcm: ModuleType, harness: LoopHarness) -> None:
    """``_managed_futures`` as a plain attribute (py-ipv8 keeps it in the instance dict), set while pending."""
    async def main() -> None:
        rc = rcm.RequestCache()
        classes = make_classes(rcm)
        cache, dropped = classes.Timed(rc, "m", 1), classes.Timed(rc, "m", 2)
        assert cache._managed_futures is None and cache.managed_futures == []
        rc.add(cache)
        rc.add(dropped)
        first, second = asyncio.Future(), asyncio.Future()
        cache._managed_futures = [(first, 1)]
        cache.register_future(second, on_timeout=2)
        dropped.register_future(asyncio.Future())
        dropped._managed_futures = None  # forgotten: nothing to resolve
        assert cache._managed_futures == cache.managed_futures == [(first, 1), (second, 2)]
        assert await first == 1 and await second == 2
        assert dropped.managed_futures == [] and not rc.has("m", 2)
        await rc.shutdown()

    harness.run(main())
    assert harness.errors == []


def test_on_timeout_raising(rcm: ModuleType, harness: LoopHarness) -> None:
    classes = make_classes(rcm)

    class Raising(classes.Timed):
        def on_timeout(self) -> None:
            raise RuntimeError("on_timeout failed")

    async def main() -> asyncio.Future:
        rc = rcm.RequestCache()
        cache = Raising(rc, "r", 1)
        future = asyncio.Future()
        cache.register_future(future)
        rc.add(cache)
        await asyncio.sleep(0.15)
        assert not rc.has("r", 1)
        assert not future.done()
        await rc.shutdown()
        return future

    harness.run(main())
    assert len(harness.errors) == 1
    assert isinstance(harness.errors[0]["exception"], RuntimeError)


def test_subclass_without_on_timeout(rcm: ModuleType, harness: LoopHarness) -> None:
    class Quick(rcm.NumberCache):
        timeout_delay = 0.01

    async def main() -> None:
        rc = rcm.RequestCache()
        rc.add(Quick(rc, "q", 1))
        await asyncio.sleep(0.1)
        assert not rc.has("q", 1)
        await rc.shutdown()

    harness.run(main())
    assert harness.errors == []


def test_wait_for(rcm: ModuleType, harness: LoopHarness) -> None:
    async def main() -> None:
        rc = rcm.RequestCache()
        classes = make_classes(rcm)
        present = rc.add(classes.Plain(rc, "w", 1))
        ready = rc.wait_for("w", 1)
        assert ready.done() and ready.result() is present
        assert ready not in rc.get_tasks()

        waiter = rc.wait_for("w", 2)
        assert not waiter.done() and waiter in rc.get_tasks()
        added = rc.add(classes.Plain(rc, "w", 2))
        assert waiter.done() and waiter.result() is added  # resolved synchronously by add()

        by_class = rc.wait_for(classes.Named, 5)
        named = rc.add(classes.Named(rc, 5))
        assert await by_class is named

        first = rc.wait_for("w", 3)
        second = rc.wait_for("w", 3)
        third_cache = rc.add(classes.Plain(rc, "w", 3))
        assert await second is third_cache
        assert not first.done()  # replaced: never resolved by add
        await rc.shutdown()
        assert first.cancelled()

    harness.run(main())


def test_wait_for_timeouts(rcm: ModuleType, harness: LoopHarness) -> None:
    async def main() -> None:
        rc = rcm.RequestCache()
        zero = rc.wait_for("w", 1, timeout=0.0)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert zero.cancelled()
        loop = asyncio.get_running_loop()
        start = loop.time()
        timed = rc.wait_for("w", 2, timeout=0.05)
        with pytest.raises(asyncio.CancelledError):
            await timed
        assert loop.time() - start >= 0.05
        early = rc.wait_for("w", 3, timeout=5)
        cache = rc.add(make_classes(rcm).Plain(rc, "w", 3))
        assert await early is cache
        await rc.shutdown()

    harness.run(main())


@deviation
def test_wait_for_class_form_honours_timeout(rcm: ModuleType, harness: LoopHarness) -> None:
    async def main() -> None:
        rc = rcm.RequestCache()
        waiter = rc.wait_for(make_classes(rcm).Named, 9, timeout=0.02)
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(waiter, 1)
        await rc.shutdown()

    harness.run(main())


def test_passthrough(rcm: ModuleType, harness: LoopHarness) -> None:
    async def main() -> None:
        rc = rcm.RequestCache()
        classes = make_classes(rcm)

        class Other(classes.Timed):
            pass

        classes.Timed.delay = 10.0
        try:
            with rc.passthrough():
                everything = rc.add(classes.Timed(rc, "p", 1))
            await asyncio.sleep(0)
            assert everything.events == [("timeout", False)]  # timeout 0: on the next loop iteration

            with rc.passthrough(Other, timeout=0.0):
                other = rc.add(Other(rc, "p", 2))
                plain = rc.add(classes.Timed(rc, "p", 3))
            outside = rc.add(Other(rc, "p", 4))
            await asyncio.sleep(0.05)
            assert other.events and not plain.events and not outside.events

            with pytest.raises(ZeroDivisionError):
                with rc.passthrough(timeout=0.01):
                    _ = 1 / 0
            after = rc.add(Other(rc, "p", 5))
            await asyncio.sleep(0.05)
            assert not after.events

            with rc.passthrough(timeout=0.5):
                with rc.passthrough(timeout=0.0):
                    pass
                inner_reset = rc.add(classes.Timed(rc, "p", 6))  # exit resets to "no override"
            await asyncio.sleep(0.6)
            assert not inner_reset.events
        finally:
            classes.Timed.delay = 0.05
        await rc.shutdown()

    harness.run(main())


def test_clear(rcm: ModuleType, harness: LoopHarness) -> None:
    async def main() -> None:
        rc = rcm.RequestCache()
        classes = make_classes(rcm)
        cache = classes.Timed(rc, "c", 1)
        future = asyncio.Future()
        cache.register_future(future)
        rc.add(cache)
        waiter = rc.wait_for("c", 2)
        tasks = rc.clear()
        assert rc._checker in tasks and waiter in tasks
        assert not rc.has("c", 1)
        await asyncio.sleep(0.1)
        assert cache.events == [] and not future.done() and waiter.cancelled()
        again = rc.add(classes.Timed(rc, "c", 1))  # still usable
        await asyncio.sleep(0.1)
        assert again.events == [("timeout", False)]
        await rc.shutdown()

    harness.run(main())


def test_shutdown(rcm: ModuleType, harness: LoopHarness) -> None:
    async def main() -> None:
        rc = rcm.RequestCache()
        classes = make_classes(rcm)
        cache = classes.Timed(rc, "s", 1)
        future = asyncio.Future()
        cache.register_future(future)
        rc.add(cache)
        waiter = rc.wait_for("s", 2)
        await rc.shutdown()
        assert future.cancelled() and waiter.cancelled() and not rc.has("s", 1)
        late = classes.Timed(rc, "s", 3)
        late_future = asyncio.Future()
        late.register_future(late_future)
        assert rc.add(late) is None and late_future.cancelled()
        await asyncio.sleep(0.1)
        assert cache.events == []

    harness.run(main())


@deviation
def test_shutdown_then_shutdown_task_manager_runs_callbacks(rcm: ModuleType, harness: LoopHarness) -> None:
    async def main() -> list[int]:
        rc = rcm.RequestCache()
        ran: list[int] = []
        rc.register_shutdown_task(ran.append, 1)
        await rc.shutdown()
        await rc.shutdown_task_manager()
        await rc.shutdown_task_manager()
        return ran

    assert harness.run(main()) == [1]


def test_random_number_cache(rcm: ModuleType, harness: LoopHarness) -> None:
    rc = rcm.RequestCache()
    classes = make_classes(rcm)
    random.seed(42)
    first = [classes.RandomNamed(rc).number for _ in range(5)]
    random.seed(42)
    assert [classes.RandomNamed(rc).number for _ in range(5)] == first
    random.seed(42)
    assert first == [int(random.random() * 65536) for _ in range(5)]  # py-ipv8's draws
    cache = rc.add(classes.RandomNamed(rc))
    assert 0 <= cache.number < 65536 and rc.has(classes.RandomNamed, cache.number)
    assert isinstance(cache, rcm.RandomNumberCache)
    assert rcm.RandomNumberCache.find_unclaimed_identifier(rc, "x") in range(65536)
    harness.run(rc.shutdown())


@pytest.mark.parametrize("size", [1, 7, 65536, 2 ** 32, 2 ** 53, 2 ** 53 + 1, 2 ** 64 + 3, 10 ** 30])
def test_random_draws_are_py_ipv8s_for_every_range(rcm: ModuleType, harness: LoopHarness, size: int) -> None:
    """Also where the compiled store draws in C arithmetic (ranges up to 2**53) and beyond, in Python."""
    class Sized(rcm.RandomNumberCache):
        identifier_range = size

    rc = rcm.RequestCache()
    random.seed(7)
    drawn = [rc.add(Sized(rc, f"sized{i}")).number for i in range(20)]  # empty prefixes: one draw each
    random.seed(7)
    assert drawn == [int(random.random() * size) for _ in range(20)]
    harness.run(rc.shutdown())


def test_a_prefix_emptied_and_refilled_behaves_as_new(rcm: ModuleType, harness: LoopHarness) -> None:
    """Many prefixes emptied and refilled in turn (the store keeps a few empty buckets for reuse)."""
    class Plain(rcm.NumberCache):
        pass

    rc = rcm.RequestCache()
    for _ in range(3):
        for prefix in range(20):
            twin_of_first = Plain(rc, f"p{prefix}", 0)
            for number in range(3):
                assert rc.add(Plain(rc, f"p{prefix}", number)) is not None
            assert rc.add(twin_of_first) is None  # a duplicate is still refused
        assert len(rc) == 60
        for prefix in range(20):
            for number in range(3):
                assert rc.pop(f"p{prefix}", number).number == number
            assert not rc.has(f"p{prefix}", 0) and rc.get(f"p{prefix}", 1) is None
            with pytest.raises(KeyError):
                rc.pop(f"p{prefix}", 2)
        assert len(rc) == 0
    harness.run(rc.shutdown())


def test_random_number_cache_exhausted(rcm: ModuleType, harness: LoopHarness) -> None:
    class Plain(rcm.NumberCache):
        pass

    class Rand(rcm.RandomNumberCache):
        pass

    rc = rcm.RequestCache()
    for number in range(65536):
        rc.add(Plain(rc, "full", number))
    with pytest.raises(RuntimeError, match="Could not find a number that isn't in use"):
        Rand(rc, "full")
    harness.run(rc.shutdown())


@deviation
def test_random_number_cache_99_percent_full_is_fast(rcm: ModuleType, harness: LoopHarness) -> None:
    class Rand(rcm.RandomNumberCache):
        pass

    rc = rcm.RequestCache()
    numbers = set()
    start = time.perf_counter()
    for _ in range(65536 - 600):
        numbers.add(rc.add(Rand(rc, "crowded")).number)
    fill_time = time.perf_counter() - start
    assert len(numbers) == 65536 - 600
    start = time.perf_counter()
    for _ in range(500):  # from 99.1% to 99.9% full
        numbers.add(rc.add(Rand(rc, "crowded")).number)
    assert time.perf_counter() - start < 0.25
    assert len(numbers) == 65436 and fill_time < 10
    popped = rc.pop("crowded", next(iter(numbers)))
    assert rc.add(Rand(rc, "crowded")).number not in numbers - {popped.number}
    for _ in range(100):
        rc.add(Rand(rc, "crowded"))
    with pytest.raises(RuntimeError, match="Could not find a number that isn't in use"):
        Rand(rc, "crowded")
    harness.run(rc.shutdown())


@deviation
def test_random_number_cache_wider_range(rcm: ModuleType, harness: LoopHarness) -> None:
    class Wide(rcm.RandomNumberCache):
        identifier_range = 2 ** 32

    class Tiny(rcm.RandomNumberCache):
        identifier_range = 4

    rc = rcm.RequestCache()
    numbers = {rc.add(Wide(rc, "wide")).number for _ in range(70000)}
    assert len(numbers) == 70000 and max(numbers) > 65535
    assert {rc.add(Tiny(rc, "tiny")).number for _ in range(4)} == {0, 1, 2, 3}
    with pytest.raises(RuntimeError):
        Tiny(rc, "tiny")
    harness.run(rc.shutdown())


def test_named_variants_take_prefix_from_subclass(rcm: ModuleType, harness: LoopHarness) -> None:
    rc = rcm.RequestCache()
    classes = make_classes(rcm)
    assert issubclass(classes.Named, rcm.NumberCache) and issubclass(classes.RandomNamed, rcm.RandomNumberCache)
    assert classes.Named(rc, 1).prefix == "named"

    class Unnamed(rcm.NumberCacheWithName):
        name = "ignored"

    assert Unnamed(rc, "explicit", 1).prefix == "explicit"  # the constructor does not read name
    harness.run(rc.shutdown())


def test_register_anonymous_task_on_request_cache(rcm: ModuleType, harness: LoopHarness) -> None:
    async def main() -> None:
        rc = rcm.RequestCache()
        ran: list[Any] = []

        loop = asyncio.get_running_loop()

        async def later(arg: Any) -> None:
            ran.append((arg, loop.time()))

        registered = loop.time()
        rc.register_anonymous_task("Add later", later, rc, delay=0.01)
        for _ in range(500):  # a loaded machine may take a while; the delay is what is checked
            if ran:
                break
            await asyncio.sleep(0.01)
        assert [arg for arg, _ in ran] == [rc]
        assert ran[0][1] - registered >= 0.01
        await rc.shutdown()

    harness.run(main())


def test_tutorial_1_wait_for_a_cache_added_later(rcm: ModuleType, harness: LoopHarness) -> None:
    """Seed tutorial 1: a task adds a named cache after 1.23 s while main awaits ``wait_for``."""
    class MyState(rcm.NumberCacheWithName):
        name = "my-state"

        def __init__(self, request_cache: Any, identifier: int, state: int) -> None:
            super().__init__(request_cache, self.name, identifier)
            self.state = state

    printed: list[str] = []

    async def foo(request_cache: Any) -> None:
        request_cache.add(MyState(request_cache, 0, 42))

    async def main() -> None:
        rq = rcm.RequestCache()
        rq.register_anonymous_task("Add later", foo, rq, delay=0.123)
        cache = await rq.wait_for(MyState, 0)
        printed.append(f"I found a cache with the state: {cache.state}")
        await rq.shutdown()

    harness.run(main())
    assert printed == ["I found a cache with the state: 42"]


def test_tutorial_2_timeout_during_sleep(rcm: ModuleType, harness: LoopHarness) -> None:
    """Seed tutorial 2: a cache with a 0.3 s timeout_delay times out during a 0.4 s sleep."""
    printed: list[str] = []

    class MyCache(rcm.NumberCache):
        def __init__(self, request_cache: Any, number: int) -> None:
            super().__init__(request_cache, "my-cache", number)

        def on_timeout(self) -> None:
            printed.append("Oh no! I timed out!")

        @property
        def timeout_delay(self) -> float:
            return 0.3

    async def main() -> None:
        rq = rcm.RequestCache()
        rq.add(MyCache(rq, 0))
        await asyncio.sleep(0.2)
        assert printed == []
        await asyncio.sleep(0.2)
        printed.append("I'm awake")
        await rq.shutdown()

    harness.run(main())
    assert printed == ["Oh no! I timed out!", "I'm awake"]


@deviation  # py-ipv8's per-cache tasks do not keep due order
def test_timeouts_in_due_order_never_early(rcm: ModuleType, harness: LoopHarness) -> None:
    fired: list[tuple[float, float, float]] = []

    class Due(rcm.NumberCache):
        def __init__(self, rc: Any, number: int, delay: float, loop: asyncio.AbstractEventLoop) -> None:
            super().__init__(rc, "due", number)
            self.delay = delay
            self.loop = loop
            # the cache is due between its construction and the return of add() (bounds, not a guess)
            self.earliest = self.latest = loop.time() + delay

        @property
        def timeout_delay(self) -> float:
            return self.delay

        def on_timeout(self) -> None:
            fired.append((self.loop.time(), self.earliest, self.latest))

    async def main() -> None:
        rc = rcm.RequestCache()
        loop = asyncio.get_running_loop()
        rng = random.Random(3)
        for number in range(1000):
            cache = Due(rc, number, 0.01 + rng.random() * 0.4, loop)
            rc.add(cache)
            cache.latest = loop.time() + cache.delay
        await asyncio.sleep(0.5)
        await rc.shutdown()

    harness.run(main())
    assert len(fired) == 1000
    assert all(at >= earliest for at, earliest, _ in fired), "a timeout fired early"
    assert all(earlier[1] <= later[2] for earlier, later in pairwise(fired)), "fired out of due order"


@deviation
def test_shutdown_with_100k_pending(rcm: ModuleType, harness: LoopHarness) -> None:
    class Held(rcm.NumberCache):
        pass

    async def main() -> None:
        rc = rcm.RequestCache()
        futures, waiters = [], []
        for number in range(100_000):
            cache = Held(rc, "held", number)
            future = asyncio.Future()
            cache.register_future(future)
            futures.append(future)
            rc.add(cache)
        for number in range(100_000, 110_000):
            waiters.append(rc.wait_for("held", number, timeout=None if number % 2 else 60))
        start = time.perf_counter()
        await rc.shutdown()
        elapsed = time.perf_counter() - start
        assert all(f.cancelled() for f in futures)
        assert all(w.cancelled() for w in waiters)
        assert not rc.has("held", 5) and len(rc._wheel) == 0
        assert elapsed < 5

    harness.run(main(), timeout=60)


def _rss_mb() -> float:
    try:  # hand glibc's free heap back first: we measure what is still in use, not allocator caching
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 2 ** 20


@deviation
@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_million_caches_no_leak(rcm: ModuleType, harness: LoopHarness) -> None:
    n = 1_000_000

    class Bulk(rcm.NumberCache):
        __slots__ = ()

        @property
        def timeout_delay(self) -> float:
            return 0.2

    async def main() -> None:
        rc = rcm.RequestCache()
        gc.collect()
        blocks0, rss0 = sys.getallocatedblocks(), _rss_mb()

        for number in range(n):  # added, then all popped
            rc.add(Bulk(rc, "bulk", number))
        peak = _rss_mb() - rss0
        for number in range(n):
            rc.pop("bulk", number)
        assert len(rc._wheel) == 0 and not rc.has("bulk", 1)

        for number in range(n):  # added, then all timed out
            rc.add(Bulk(rc, "bulk", number))
        deadline = time.monotonic() + 30
        while rc.has("bulk", n - 1) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not rc.has("bulk", 0) and not rc.has("bulk", n - 1) and len(rc._wheel) == 0

        gc.collect()
        blocks1, rss1 = sys.getallocatedblocks(), _rss_mb()
        print(f"1M caches: RSS {rss0:.0f} MB -> peak +{peak:.0f} MB -> {rss1:.0f} MB; blocks {blocks1 - blocks0:+d}")
        assert blocks1 - blocks0 < 5_000, f"{blocks1 - blocks0} blocks still allocated"
        assert rss1 - rss0 < 24.0 or not rss_is_meaningful(), f"RSS {rss0:.0f} -> {rss1:.0f} MB (peak +{peak:.0f})"
        await rc.shutdown()

    harness.run(main(), timeout=120)


# --- the compiled store and cache bases (issue 12) ------------------------------------------------------------

@deviation
def test_a_cycle_through_a_pending_cache_is_collected(rcm: ModuleType) -> None:
    """The store's references to pending caches are ones the GC sees (its buckets; the wheel entries of
    caches are borrowed), so a cycle rc -> store -> cache -> rc is freed once its loop is gone."""
    import weakref

    class Cyclic(rcm.NumberCache):
        pass

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        rc = rcm.RequestCache()
        cache = Cyclic(rc, "gc", 1)
        cache.rc = rc
        cache.itself = cache
        rc.add(cache)
        rc.wait_for("gc", 2, timeout=30)  # an owned wheel entry too
        refs = [weakref.ref(cache), weakref.ref(rc)]
        rc.cancel_pending_task("_check_tasks")  # the TaskManager's own task: not what is tested
        loop.run_until_complete(asyncio.sleep(0))
        assert rc.has("gc", 1) and len(rc._wheel) == 2
        del cache, rc
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    del loop
    gc.collect()
    assert [ref() is None for ref in refs] == [True, True]


@deviation
def test_construct_and_add_run_no_python_frame(rcm: ModuleType, twin: ModuleType, harness: LoopHarness) -> None:
    if not twin.__name__.endswith("_c"):
        pytest.skip("the pure twin is Python frames")

    class Bare(rcm.NumberCache):
        pass

    class Rand(rcm.RandomNumberCache):
        pass

    rc = rcm.RequestCache()
    rc.add(Bare(rc, "armed", 1))  # the first add arms the loop's timer (asyncio's own Python code)
    calls: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            calls.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        rc.add(Bare(rc, "frames", 1))
        rc.add(Rand(rc, "frames"))
        rc.has("frames", 1)
        rc.get("frames", 1)
        rc.pop("frames", 1)
    finally:
        sys.setprofile(None)
    assert calls == []
    harness.run(rc.shutdown())


def test_random_number_cache_overrides(rcm: ModuleType, harness: LoopHarness) -> None:
    """An overridden ``find_unclaimed_identifier``, and an ``__init__`` between RandomNumberCache's and
    NumberCache's in the MRO, are both honoured."""
    class Fixed(rcm.RandomNumberCache):
        @classmethod
        def find_unclaimed_identifier(cls, request_cache: Any, prefix: str) -> int:
            return 4242

    class Tagged(rcm.NumberCache):
        def __init__(self, rc: Any, prefix: str, number: int) -> None:
            super().__init__(rc, prefix, number)
            self.tag = (prefix, number)

    class Both(rcm.RandomNumberCache, Tagged):
        pass

    rc = rcm.RequestCache()
    assert rc.add(Fixed(rc, "o")).number == 4242
    both = rc.add(Both(rc, "o"))
    assert both.tag == ("o", both.number) and rc.get("o", both.number) is both
    assert str(both) == f"<Both o-{both.number}>"
    harness.run(rc.shutdown())


def test_subclass_attributes_slots_and_async_timeout(rcm: ModuleType, harness: LoopHarness) -> None:
    ran: list[Any] = []

    class Slotted(rcm.NumberCache):
        __slots__ = ("due",)
        timeout_delay = 0.01

        async def on_timeout(self) -> None:
            await asyncio.sleep(0)
            ran.append((self.due, self.extra))

    async def main() -> None:
        rc = rcm.RequestCache()
        cache = Slotted(rc, "s", 1)
        cache.due, cache.extra = 1, "x"
        assert rc.add(cache) is cache and len(rc) == 1
        await asyncio.sleep(0.1)
        assert ran == [(1, "x")] and len(rc) == 0
        await rc.shutdown()

    harness.run(main())


def test_request_cache_subclass_overriding_add(rcm: ModuleType, harness: LoopHarness) -> None:
    seen: list[Any] = []

    class Counting(rcm.RequestCache):
        def add(self, cache: Any) -> Any:
            seen.append(cache)
            return super().add(cache)

    class Plain(rcm.NumberCache):
        pass

    rc = Counting()
    cache = rc.add(Plain(rc, "c", 1))
    assert seen == [cache] and rc.pop("c", 1) is cache
    harness.run(rc.shutdown())


_OPS = st.lists(st.one_of(
    st.tuples(st.just("add"), st.integers(0, 5), st.sampled_from(["quick", "slow"])),
    st.tuples(st.just("pop"), st.integers(0, 5)),
    st.tuples(st.just("wait")),
    st.tuples(st.just("shutdown")),
), max_size=12)


def _observe(module: ModuleType, ops: list[tuple[Any, ...]]) -> list[Any]:
    """Run ``ops`` on ``module``'s RequestCache; what a user can see of it, step by step."""
    trace: list[Any] = []

    class Cache(module.NumberCache):
        def __init__(self, rc: Any, number: int, kind: str) -> None:
            super().__init__(rc, "prop", number)
            self.kind = kind

        @property
        def timeout_delay(self) -> float:
            return 0.02 if self.kind == "quick" else 30.0

        def on_timeout(self) -> None:
            trace.append(("timeout", self.number))

    async def main() -> None:
        rc = module.RequestCache()
        for op in ops:
            if op[0] == "add":
                try:
                    added = rc.add(Cache(rc, op[1], op[2]))
                    trace.append(("add", op[1], None if added is None else added.number))
                except RuntimeError as exc:
                    trace.append(("add", op[1], str(exc)))
            elif op[0] == "pop":
                try:
                    trace.append(("pop", op[1], rc.pop("prop", op[1]).number))
                except KeyError as exc:
                    trace.append(("pop", op[1], str(exc)))
            elif op[0] == "wait":
                await asyncio.sleep(0.08)
                trace.append(("wait",))
            else:
                await rc.shutdown()
                trace.append(("shutdown",))
            trace.append(sorted(n for n in range(6) if rc.has("prop", n)))
        await rc.shutdown()

    harness = LoopHarness()
    try:
        harness.run(main())
    finally:
        harness.close()
    return trace


@deviation
@settings(max_examples=25, deadline=None)
@given(ops=_OPS)
def test_random_sequences_match_on_both_twins_and_pyipv8(ops: list[tuple[Any, ...]]) -> None:
    """add / pop / timeouts / shutdown: the same observable results on both twins and on py-ipv8."""
    traces = [_observe(requestcache_on(module), ops) for module in twins.both("timerwheel")]
    try:
        import ipv8.requestcache as reference
    except ImportError:
        reference = None
    if reference is not None:
        traces.append(_observe(reference, ops))
    assert all(trace == traces[0] for trace in traces), traces


@deviation
def test_million_lifecycles_allocate_nothing_for_good(rcm: ModuleType, harness: LoopHarness) -> None:
    """1,000,000 create / add / pop lifecycles (plus some timeouts): allocated blocks stay flat."""
    class Life(rcm.NumberCache):
        def __init__(self, rc: Any, number: int) -> None:
            super().__init__(rc, "life", number)
            self.peer = number

    class Quick(rcm.NumberCache):
        timeout_delay = 0.001

    n = 1_000_000 if twin_is_compiled(rcm) else 200_000

    async def main() -> None:
        rc = rcm.RequestCache()
        add, pop = rc.add, rc.pop

        def cycle(count: int) -> None:
            for number in range(count):
                add(Life(rc, number))
                pop("life", number)
            for number in range(1000):
                add(Quick(rc, "quick", number))

        cycle(10_000)
        await asyncio.sleep(0.05)
        gc.collect()
        before = sys.getallocatedblocks()
        start = time.perf_counter()
        cycle(n)
        elapsed = time.perf_counter() - start
        await asyncio.sleep(0.05)
        gc.collect()
        grown = sys.getallocatedblocks() - before
        assert len(rc) == 0 and len(rc._wheel) == 0
        assert grown < 1000, f"{grown} blocks more after {n:,} lifecycles ({elapsed:.1f} s)"
        await rc.shutdown()

    harness.run(main(), timeout=60)


def twin_is_compiled(module: ModuleType) -> bool:
    return module.NumberCache.__mro__[1].__module__.endswith("_c")


@deviation
def test_pending_caches_are_untracked_by_the_gc_until_they_leave(rcm: ModuleType, twin: ModuleType,
                                                                 harness: LoopHarness) -> None:
    """The compiled store untracks a pending cache (full collections still see it); every way out tracks it."""
    compiled = twin.__name__.endswith("_c")

    class Kept(rcm.NumberCache):
        pass

    class Quick(rcm.NumberCache):
        timeout_delay = 0.01

    async def main() -> None:
        rc = rcm.RequestCache()
        popped, timed, cleared = Kept(rc, "gc", 1), Quick(rc, "gc", 2), Kept(rc, "gc", 3)
        popped.peer = object()
        for cache in (popped, timed, cleared):
            rc.add(cache)
            assert gc.is_tracked(cache) is not compiled
        gc.collect()  # tracked for the full collection, untracked again after it
        assert rc.get("gc", 1) is popped and gc.is_tracked(popped) is not compiled
        assert rc.pop("gc", 1) is popped and gc.is_tracked(popped)
        await asyncio.sleep(0.1)
        assert not rc.has("gc", 2) and gc.is_tracked(timed)
        rc.clear()
        assert gc.is_tracked(cleared)
        await rc.shutdown()

    harness.run(main(), timeout=10)
