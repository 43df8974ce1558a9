"""RequestCache benchmark: ipv8fast (compiled and pure twins) side by side with py-ipv8, ratios printed.

    python bench/bench_requestcache.py            # full run (about a minute on 2 cores)
    python bench/bench_requestcache.py --quick    # smaller N

Every measurement runs in a fresh subprocess (clean RSS). Cases: ``add`` (pre-built caches),
``pop``, ``random_add`` (RandomNumberCache built + added, 50k under one 16-bit prefix), ``timeout``
(N caches all time out: worst lateness after the due time), ``memory`` (RSS per pending cache) and
``million`` (1,000,000 pending caches: seconds to add them, to build and add them, and total RSS).
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
    class Cache(rc_module.NumberCache):
        @property
        def timeout_delay(self) -> float:
            return timeout

    class Random(rc_module.RandomNumberCache):
        @property
        def timeout_delay(self) -> float:
            return timeout

    return Cache, Random


def case_add(impl: str, n: int) -> dict[str, float]:
    module = _module(impl)
    Cache, _ = _classes(module)  # noqa: N806 - classes

    async def main() -> float:
        rc = module.RequestCache()
        caches = [Cache(rc, "bench", i) for i in range(n)]
        add = rc.add
        start = time.perf_counter()
        for cache in caches:
            add(cache)
        elapsed = time.perf_counter() - start
        rc.clear()
        return elapsed

    return {"ops_per_s": n / asyncio.run(main())}


def case_pop(impl: str, n: int) -> dict[str, float]:
    module = _module(impl)
    Cache, _ = _classes(module)  # noqa: N806 - classes

    async def main() -> float:
        rc = module.RequestCache()
        for i in range(n):
            rc.add(Cache(rc, "bench", i))
        pop = rc.pop
        start = time.perf_counter()
        for i in range(n):
            pop("bench", i)
        elapsed = time.perf_counter() - start
        await asyncio.sleep(0)
        await rc.shutdown()
        return elapsed

    return {"ops_per_s": n / asyncio.run(main())}


def case_random_add(impl: str, n: int) -> dict[str, float]:
    module = _module(impl)
    _, Random = _classes(module)  # noqa: N806 - classes

    async def main() -> float:
        rc = module.RequestCache()
        add = rc.add
        start = time.perf_counter()
        for _ in range(n):
            add(Random(rc, "bench"))
        elapsed = time.perf_counter() - start
        rc.clear()
        return elapsed

    return {"ops_per_s": n / asyncio.run(main())}


def case_timeout(impl: str, n: int) -> dict[str, float]:
    module = _module(impl)
    delay = 1.0
    fired = [0]
    worst = [0.0]

    class Timed(module.NumberCache):
        __slots__ = ("due",) if impl != "ref" else ()

        @property
        def timeout_delay(self) -> float:
            return delay

        def on_timeout(self) -> None:
            fired[0] += 1
            late = loop_time() - self.due
            if late > worst[0]:
                worst[0] = late

    loop_time: Callable[[], float]

    async def main() -> dict[str, float]:
        nonlocal loop_time
        loop_time = asyncio.get_running_loop().time
        rc = module.RequestCache()
        start = time.perf_counter()
        for i in range(n):
            cache = Timed(rc, "bench", i)
            cache.due = loop_time() + delay
            rc.add(cache)
        add_time = time.perf_counter() - start
        while fired[0] < n:
            await asyncio.sleep(0.01)
        await rc.shutdown()
        return {"add_s": add_time, "worst_late_s": worst[0]}

    return asyncio.run(main())


def case_memory(impl: str, n: int) -> dict[str, float]:
    module = _module(impl)
    Cache, _ = _classes(module)  # noqa: N806 - classes

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


CASES: dict[str, Callable[[str, int], dict[str, float]]] = {
    "add": case_add, "pop": case_pop, "random_add": case_random_add, "timeout": case_timeout,
    "memory": case_memory, "million": case_memory,
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
    plan = [  # case, metric, {impl: n}, higher is better
        ("add", "ops_per_s", {"fast": 500_000, "fast-py": 200_000, "ref": 50_000}, True),
        ("pop", "ops_per_s", {"fast": 500_000, "fast-py": 200_000, "ref": 50_000}, True),
        ("random_add", "ops_per_s", {"fast": 50_000, "fast-py": 50_000, "ref": 50_000}, True),
        ("timeout", "worst_late_s", {"fast": 100_000, "fast-py": 100_000, "ref": 100_000}, False),
        ("timeout", "add_s", {"fast": 100_000, "fast-py": 100_000, "ref": 100_000}, False),
        ("memory", "bytes_per_cache", {"fast": 200_000, "fast-py": 200_000, "ref": 200_000}, False),
        ("million", "add_s", {"fast": 1_000_000, "fast-py": 1_000_000}, False),
        ("million", "build_add_s", {"fast": 1_000_000, "fast-py": 1_000_000}, False),
        ("million", "total_rss_mb", {"fast": 1_000_000, "fast-py": 1_000_000}, False),
    ]
    cache: dict[tuple[str, str, int], dict[str, float]] = {}
    header = f"{'case':<12} {'metric':<16} " + " ".join(f"{IMPLS[i]:>20}" for i in IMPLS) + \
        f" {'compiled/ref':>13} {'pure/ref':>9}"
    print(header)
    print("-" * len(header))
    for case, metric, sizes, higher in plan:
        values: dict[str, float] = {}
        for impl, n in sizes.items():
            n = max(1000, n // scale)
            key = (impl, case, n)
            if key not in cache:
                cache[key] = run_child(impl, case, n)
            values[impl] = cache[key][metric]
        cells = " ".join(f"{values[i]:>20,.4g}" if i in values else f"{'-':>20}" for i in IMPLS)
        ratios = []
        for impl in ("fast", "fast-py"):
            if impl in values and "ref" in values and values[impl] and values["ref"]:
                ratio = values[impl] / values["ref"] if higher else values["ref"] / values[impl]
                ratios.append(f"{ratio:.1f}x")
            else:
                ratios.append("-")
        label = f"{case} (n={max(1000, max(sizes.values()) // scale):,})"
        print(f"{label:<12} {metric:<16} {cells} {ratios[0]:>13} {ratios[1]:>9}", flush=True)
    print("\nratios: >1 means ipv8fast is better (faster, less late, smaller).")


if __name__ == "__main__":
    main()
