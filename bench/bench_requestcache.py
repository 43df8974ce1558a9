"""RequestCache benchmark: ipv8fast (compiled and pure twins) side by side with py-ipv8, ratios printed.

    python bench/bench_requestcache.py            # full run (a few minutes on 2 cores)
    python bench/bench_requestcache.py --quick    # smaller N

Every measurement runs in a fresh subprocess (clean RSS). The cases time what users write, one line per
request: ``rc.add(MyCache(rc, ...))`` with the cache built inside the timed loop.

- ``create_add``: a bare NumberCache subclass; ``create_add_init``: one with its own ``__init__`` that calls
  ``super().__init__`` and sets an attribute;
- ``random_create_add`` / ``random_named_create_add``: RandomNumberCache (bare) and RandomNumberCacheWithName
  (own ``__init__``), 50k under one 16-bit prefix;
- ``lifecycle``: create, add, pop; ``pop``; ``add``: add alone, caches built before the clock starts;
- ``timeout``: 100k caches all due at one moment after the last add: how late the last one fires;
- ``memory``: RSS per pending cache; ``million``: 1,000,000 pending caches (build + add time, total RSS);
- ``floor``: what CPython itself costs (an empty subclass instance made from C / with a Python ``__init__``,
  a dict insert / pop, a random draw, a method call); each row shows its floor and how far the compiled
  twin is from it.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

IMPLS = {"fast": "ipv8fast (compiled)", "fast-py": "ipv8fast (pure)", "ref": "py-ipv8 3.2.1"}


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def _module(impl: str) -> Any:
    if impl == "ref":
        import ipv8.requestcache as module
    else:
        import ipv8fast.requestcache as module
    return module


def _classes(rc_module: Any, timeout: float = 10.0) -> tuple[type, type]:
    """Subclasses with a ``timeout_delay`` property (a Python frame per add, as many users write them)."""
    class Cache(rc_module.NumberCache):
        @property
        def timeout_delay(self) -> float:
            return timeout

    class Random(rc_module.RandomNumberCache):
        @property
        def timeout_delay(self) -> float:
            return timeout

    return Cache, Random


def _user_classes(rc_module: Any) -> dict[str, type]:
    """The caches as users write them: a bare subclass, one with its own ``__init__``, the random kinds."""
    class Bare(rc_module.NumberCache):
        pass

    class WithInit(rc_module.NumberCache):
        def __init__(self, request_cache: Any, number: int, peer: Any) -> None:
            super().__init__(request_cache, "bench", number)
            self.peer = peer

    class Random(rc_module.RandomNumberCache):
        pass

    class RandomNamed(rc_module.RandomNumberCacheWithName):
        name = "bench"

        def __init__(self, request_cache: Any, peer: Any) -> None:
            super().__init__(request_cache, self.name)
            self.peer = peer

    return {"bare": Bare, "init": WithInit, "random": Random, "random_named": RandomNamed}


#: rounds per case in its process (each with a fresh RequestCache); the best one is reported
ROUNDS = 3
#: most loop passes a drain waits for the loop to have nothing ready
MAX_DRAIN_PASSES = 10


async def _drain() -> None:
    """Let the loop run what the timed calls left it (py-ipv8 starts each cache's timeout task on the next
    pass and runs a popped cache's task cancellation and done-callbacks on the passes after), until nothing
    is ready (asyncio's loop; a fixed three passes on loops that do not say)."""
    loop = asyncio.get_running_loop()
    ready = getattr(loop, "_ready", None)
    for passes in range(MAX_DRAIN_PASSES):
        await asyncio.sleep(0)
        if (ready is None and passes >= 2) or (ready is not None and not ready):
            return


def _rates(n: int, rounds: list[tuple[float, float]]) -> dict[str, float]:
    """``ops_per_s``: calls plus the loop work they left (best round); ``calls_ops_per_s``: the calls alone."""
    return {"ops_per_s": n / min(total for _, total in rounds), "calls_ops_per_s": n / min(c for c, _ in rounds),
            "first_ops_per_s": n / rounds[0][1]}


Body = Callable[[Any, Any, dict[str, type]], float]


def _timed_loop(impl: str, n: int, body: Body, prepare: Body | None = None) -> dict[str, float]:
    """``ROUNDS`` rounds, each on a fresh RequestCache: ``prepare`` (untimed, drained), then ``body``, which
    returns its start time; a round's time is the calls', and the calls' plus the drain after them."""
    module = _module(impl)
    classes = _user_classes(module)

    async def one_round() -> tuple[float, float]:
        rc = module.RequestCache()
        if prepare is not None:
            prepare(module, rc, classes)
            await _drain()
        start = body(module, rc, classes)
        calls = time.perf_counter()
        await _drain()
        drained = time.perf_counter()
        rc.clear()
        await rc.shutdown()
        await _drain()
        return calls - start, drained - start

    async def main() -> list[tuple[float, float]]:
        return [await one_round() for _ in range(ROUNDS)]

    return _rates(n, asyncio.run(main()))


def case_create_add(impl: str, n: int) -> dict[str, float]:
    """``rc.add(Bare(rc, "bench", i))``: the subclass has no code of its own."""
    def body(module: Any, rc: Any, classes: dict[str, type]) -> float:
        cls, add = classes["bare"], rc.add
        start = time.perf_counter()
        for i in range(n):
            add(cls(rc, "bench", i))
        return start
    return _timed_loop(impl, n, body)


def case_create_add_init(impl: str, n: int) -> dict[str, float]:
    """``rc.add(WithInit(rc, i, peer))``: its ``__init__`` calls ``super().__init__`` and sets an attribute."""
    def body(module: Any, rc: Any, classes: dict[str, type]) -> float:
        cls, add, peer = classes["init"], rc.add, object()
        start = time.perf_counter()
        for i in range(n):
            add(cls(rc, i, peer))
        return start
    return _timed_loop(impl, n, body)


def case_random_create_add(impl: str, n: int) -> dict[str, float]:
    """``rc.add(Random(rc, "bench"))``, n of them under one 16-bit prefix."""
    def body(module: Any, rc: Any, classes: dict[str, type]) -> float:
        cls, add = classes["random"], rc.add
        start = time.perf_counter()
        for _ in range(n):
            add(cls(rc, "bench"))
        return start
    return _timed_loop(impl, n, body)


def case_random_named_create_add(impl: str, n: int) -> dict[str, float]:
    """``rc.add(RandomNamed(rc, peer))``: a RandomNumberCacheWithName with its own ``__init__``."""
    def body(module: Any, rc: Any, classes: dict[str, type]) -> float:
        cls, add, peer = classes["random_named"], rc.add, object()
        start = time.perf_counter()
        for _ in range(n):
            add(cls(rc, peer))
        return start
    return _timed_loop(impl, n, body)


def case_lifecycle(impl: str, n: int) -> dict[str, float]:
    """Create, add, pop (the answered request), through the subclass with its own ``__init__``."""
    def body(module: Any, rc: Any, classes: dict[str, type]) -> float:
        cls, add, pop, peer = classes["init"], rc.add, rc.pop, object()
        start = time.perf_counter()
        for i in range(n):
            add(cls(rc, i, peer))
            pop("bench", i)
        return start
    return _timed_loop(impl, n, body)


def case_add(impl: str, n: int) -> dict[str, float]:
    """``add`` alone: caches built before the clock starts (through a ``timeout_delay`` property)."""
    caches: list[Any] = []

    def prepare(module: Any, rc: Any, classes: dict[str, type]) -> float:
        cache_class, _ = _classes(module)
        caches[:] = [cache_class(rc, "bench", i) for i in range(n)]
        return 0.0

    def body(module: Any, rc: Any, classes: dict[str, type]) -> float:
        add = rc.add
        start = time.perf_counter()
        for cache in caches:
            add(cache)
        return start
    return _timed_loop(impl, n, body, prepare)


def case_pop(impl: str, n: int) -> dict[str, float]:
    """``rc.pop(prefix, i)`` of n pending caches (added before the clock starts)."""
    def prepare(module: Any, rc: Any, classes: dict[str, type]) -> float:
        cls, add = classes["bare"], rc.add
        for i in range(n):
            add(cls(rc, "bench", i))
        return 0.0

    def body(module: Any, rc: Any, classes: dict[str, type]) -> float:
        pop = rc.pop
        start = time.perf_counter()
        for i in range(n):
            pop("bench", i)
        return start
    return _timed_loop(impl, n, body, prepare)


def case_timeout(impl: str, n: int) -> dict[str, float]:
    """n caches due at one moment (after all are added): how long until the last one has timed out."""
    module = _module(impl)
    fired = [0]
    worst = [0.0]
    due = [0.0]

    class Timed(module.NumberCache):
        @property
        def timeout_delay(self) -> float:
            return due[0] - loop_time()

        def on_timeout(self) -> None:
            fired[0] += 1
            late = loop_time() - due[0]
            if late > worst[0]:
                worst[0] = late

    loop_time: Callable[[], float]

    async def main() -> dict[str, float]:
        nonlocal loop_time
        loop_time = asyncio.get_running_loop().time
        rc = module.RequestCache()
        # all due together, comfortably after the last add (py-ipv8 adds about 25k/s here)
        due[0] = loop_time() + 0.5 + n * (80e-6 if impl == "ref" else 10e-6)
        start = time.perf_counter()
        for i in range(n):
            rc.add(Timed(rc, "bench", i))
        add_time = time.perf_counter() - start
        margin = due[0] - loop_time()
        while fired[0] < n:
            await asyncio.sleep(0.001)
        await rc.shutdown()
        return {"add_s": add_time, "worst_late_s": worst[0], "margin_s": margin}

    return asyncio.run(main())


def case_memory(impl: str, n: int) -> dict[str, float]:
    module = _module(impl)
    Cache = _user_classes(module)["bare"]  # noqa: N806 - a class

    async def main() -> dict[str, float]:
        rc = module.RequestCache()
        base = _rss_mb()
        start = time.perf_counter()
        caches = [Cache(rc, "bench", i) for i in range(n)]
        built = time.perf_counter()
        add = rc.add
        for cache in caches:
            add(cache)
        added = time.perf_counter()
        del caches
        per_cache = (_rss_mb() - base) * 2 ** 20 / n
        total = _rss_mb()
        rc.clear()
        return {"bytes_per_cache": per_cache, "total_rss_mb": total, "build_s": built - start,
                "add_s": added - built, "build_add_s": added - start}

    return asyncio.run(main())


def case_floor(impl: str, n: int) -> dict[str, float]:
    """What CPython itself costs per operation (ns), the floor under every figure above.

    ``c_init``: an instance of an empty Python subclass made by C code (``object``'s ``__init__``);
    ``py_init``: one whose ``__init__`` is a Python frame calling ``super().__init__()`` and setting an
    attribute; ``*_kept``: the same instances kept in a dict (as pending caches are kept), which adds the
    cyclic GC's passes over the growing heap; ``dict_insert`` / ``dict_pop``: one entry into / out of a dict;
    ``loop``: the empty loop.
    """
    class Base:
        pass

    class Empty(Base):
        pass

    class WithInit(Base):
        def __init__(self, request_cache: Any, number: int, peer: Any) -> None:
            super().__init__()
            self.peer = peer

    def timed(fn: Callable[[], None]) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
        return best * 1e9 / n

    def loop() -> None:
        for _ in range(n):
            pass

    def c_init() -> None:
        cls = Empty
        for _ in range(n):
            cls()

    def py_init() -> None:
        cls, peer = WithInit, None
        for i in range(n):
            cls(None, i, peer)

    store: dict[int, Any] = {}

    def dict_insert() -> None:
        store.clear()
        value = store
        for i in range(n):
            store[i] = value

    def dict_pop() -> None:
        pop = store.pop
        for i in range(n):
            pop(i)

    def c_init_kept() -> None:  # made and kept (what a pending cache is): the GC's share included
        store.clear()
        cls = Empty
        for i in range(n):
            store[i] = cls()

    def py_init_kept() -> None:
        store.clear()
        cls, peer = WithInit, None
        for i in range(n):
            store[i] = cls(None, i, peer)

    def insert_then_pop() -> float:
        dict_insert()
        start = time.perf_counter()
        dict_pop()
        return (time.perf_counter() - start) * 1e9 / n

    draw = __import__("random").random

    def random_draw() -> None:
        for _ in range(n):
            int(draw() * 65536)

    holder = WithInit(None, 0, None)
    method = type("M", (), {"on_timeout": lambda self: None})().on_timeout

    def py_call() -> None:
        for _ in range(n):
            method()

    dict_insert()
    entry_bytes = sys.getsizeof(store) / n
    base = timed(loop)
    return {"instance_bytes": sys.getsizeof(Empty()), "with_dict_bytes": sys.getsizeof(holder),
            "dict_entry_bytes": entry_bytes, "random_ns": timed(random_draw) - base,
            "py_call_ns": timed(py_call) - base, "loop_ns": base, "c_init_ns": timed(c_init) - base,
            "py_init_ns": timed(py_init) - base,
            "dict_insert_ns": timed(dict_insert) - base,
            "c_init_kept_ns": timed(c_init_kept) - base, "py_init_kept_ns": timed(py_init_kept) - base,
            "dict_pop_ns": min(insert_then_pop() for _ in range(3)) - base}


CASES: dict[str, Callable[[str, int], dict[str, float]]] = {
    "create_add": case_create_add, "create_add_init": case_create_add_init,
    "random_create_add": case_random_create_add, "random_named_create_add": case_random_named_create_add,
    "lifecycle": case_lifecycle, "add": case_add, "pop": case_pop, "timeout": case_timeout,
    "memory": case_memory, "million": case_memory, "floor": case_floor,
}

#: the CPython floor under each case, per operation: a sum of ``case_floor`` figures
FLOORS: dict[str, tuple[str, ...]] = {
    "create_add": ("c_init_kept_ns",),
    "create_add_init": ("py_init_kept_ns",),
    "random_create_add": ("c_init_kept_ns", "random_ns"),
    "random_named_create_add": ("py_init_kept_ns", "random_ns"),
    "lifecycle": ("py_init_ns", "dict_insert_ns", "dict_pop_ns"),
    "add": ("dict_insert_ns",),
    "pop": ("dict_pop_ns",),
}


def run_child(impl: str, case: str, n: int) -> dict[str, float]:
    env = dict(os.environ)
    if impl == "fast-py":
        env["IPV8FAST_NO_EXTENSIONS"] = "1"
    else:
        env.pop("IPV8FAST_NO_EXTENSIONS", None)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, __file__, "--child", impl, case, str(n)], env=env,
                         capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller N for a fast look")
    parser.add_argument("--child", nargs=3, metavar=("IMPL", "CASE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        impl, case, n = args.child
        print(json.dumps(CASES[case](impl, int(n))))
        return

    scale = 5 if args.quick else 1
    big = {"fast": 500_000, "fast-py": 200_000, "ref": 50_000}
    fifty = {"fast": 50_000, "fast-py": 50_000, "ref": 50_000}
    plan = [  # case, metric, {impl: n}, higher is better
        *((case, metric, sizes, True) for case, sizes in (
            ("create_add", big), ("create_add_init", big), ("random_create_add", fifty),
            ("random_named_create_add", fifty), ("lifecycle", big), ("pop", big), ("add", big))
          for metric in ("ops_per_s", "calls_ops_per_s")),
        ("timeout", "worst_late_s", {"fast": 100_000, "fast-py": 100_000, "ref": 100_000}, False),
        ("timeout", "add_s", {"fast": 100_000, "fast-py": 100_000, "ref": 100_000}, False),
        ("memory", "bytes_per_cache", {"fast": 200_000, "fast-py": 200_000, "ref": 200_000}, False),
        ("million", "build_add_s", {"fast": 1_000_000, "fast-py": 1_000_000}, False),
        ("million", "total_rss_mb", {"fast": 1_000_000, "fast-py": 1_000_000}, False),
    ]
    floor = run_child("fast", "floor", 1_000_000 // scale)
    results: dict[tuple[str, str, int], dict[str, float]] = {}
    header = f"{'case':<30} {'metric':<16} " + " ".join(f"{IMPLS[i]:>20}" for i in IMPLS) + \
        f" {'compiled/ref':>13} {'pure/ref':>9} {'floor':>9} {'x floor':>8}"
    print(header)
    print("-" * len(header))
    for case, metric, sizes, higher in plan:
        values: dict[str, float] = {}
        for impl, n in sizes.items():
            n = max(1000, n // scale)
            key = (impl, case, n)
            if key not in results:
                results[key] = run_child(impl, case, n)
            values[impl] = results[key][metric]
        cells = " ".join(f"{values[i]:>20,.4g}" if i in values else f"{'-':>20}" for i in IMPLS)
        ratios = []
        for impl in ("fast", "fast-py"):
            if impl in values and "ref" in values and values[impl] and values["ref"]:
                ratio = values[impl] / values["ref"] if higher else values["ref"] / values[impl]
                ratios.append(f"{ratio:.1f}x")
            else:
                ratios.append("-")
        floor_cell = distance = "-"
        if metric in ("ops_per_s", "calls_ops_per_s") and case in FLOORS:
            floor_ns = sum(floor[name] for name in FLOORS[case])
            floor_cell = f"{floor_ns:.0f} ns"
            distance = f"{1e9 / values['fast'] / floor_ns:.2f}"
        elif metric == "bytes_per_cache":
            floor_bytes = floor["instance_bytes"] + floor["dict_entry_bytes"]
            floor_cell = f"{floor_bytes:.0f} B"
            distance = f"{values['fast'] / floor_bytes:.2f}"
        elif case == "timeout" and metric == "worst_late_s":
            floor_s = sizes["fast"] // scale * (floor["py_call_ns"] + floor["dict_pop_ns"]) * 1e-9
            floor_cell = f"{floor_s * 1e3:.0f} ms"
            distance = f"{values['fast'] / floor_s:.2f}"
        label = f"{case} (n={max(1000, max(sizes.values()) // scale):,})"
        print(f"{label:<30} {metric:<16} {cells} {ratios[0]:>13} {ratios[1]:>9} {floor_cell:>9} {distance:>8}",
              flush=True)
    print("\nratios: >1 means ipv8fast is better (faster, less late, smaller). floor: what CPython itself costs per "
          "operation (case_floor); x floor: the compiled twin's time (or size) over that floor.")
    print(f"ops_per_s: the calls plus the loop work they leave behind (drained before the clock stops); "
          f"calls_ops_per_s: the calls alone. Best of {ROUNDS} rounds per process, each on a fresh RequestCache.")
    print("floor figures (ns, bytes): " + ", ".join(f"{k}={v:.1f}" for k, v in floor.items()))


if __name__ == "__main__":
    main()
