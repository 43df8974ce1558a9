"""``python -m ipv8fast bench``: run the ``bench/`` suite of a source checkout and print one table.

    python -m ipv8fast bench [--quick] [--only serializer,requestcache,community,scheduler] [--bench-dir DIR]

Each group runs in its own child process, which imports the bench modules' functions (``bench_requestcache``,
``bench_community``, ``bench_scheduler``) and times the ``bench_serializer`` payloads, then hands back rows as
JSON. Columns: metric, py-ipv8, ipv8fast, ratio (the py-ipv8 column only when ``ipv8`` is importable). The
ratio is how many times better ipv8fast is: faster, smaller or less late.
"""
from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, TypedDict

GROUPS = ("serializer", "requestcache", "community", "scheduler")
#: groups that cannot run without py-ipv8, and why
NEEDS_PYIPV8 = {"scheduler": "its strategies come from py-ipv8",
                "community": "it runs both libraries side by side in one process"}
BENCH_FILES = ("bench_requestcache.py", "bench_community.py", "bench_scheduler.py", "bench_serializer.py")
MISSING = ("no bench/ suite found (looked in: {places}).\n`python -m ipv8fast bench` runs the benchmarks of a source "
           "checkout: clone the ipv8fast repository, `pip install -e '.[bench]'`, and run it from the checkout "
           "(or pass --bench-dir DIR). An installed wheel does not ship bench/.")


class Row(TypedDict):
    metric: str
    ref: float | None
    fast: float | None
    higher: bool


def row(metric: str, ref: float | None, fast: float | None, higher: bool = True) -> Row:
    return {"metric": metric, "ref": ref, "fast": fast, "higher": higher}


def find_bench_dir(explicit: str | None = None, cwd: Path | None = None) -> tuple[Path | None, list[Path]]:
    """The bench/ folder to use and the places looked at: ``explicit``, next to the package, then the CWD's."""
    places = [Path(explicit)] if explicit else [Path(__file__).resolve().parents[2] / "bench",
                                                (cwd or Path.cwd()) / "bench"]
    for place in places:
        if all((place / name).is_file() for name in BENCH_FILES):
            return place.resolve(), places
    return None, places


def pyipv8_installed() -> bool:
    return importlib.util.find_spec("ipv8") is not None


# ------------------------------------------------------------------------------------- adapters (child side)

def load_bench(bench_dir: Path, name: str) -> ModuleType:
    """Import ``bench_dir/name.py`` as a module (the helpers it shares with the tests come from ipv8fast.testing)."""
    spec = importlib.util.spec_from_file_location(name, bench_dir / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def best_rate(operation: Callable[[], Any], calls: int, repeats: int) -> float:
    """Operations per second: the best of ``repeats`` loops of ``calls`` calls."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            operation()
        best = min(best, time.perf_counter() - start)
    return calls / best


def group_serializer(bench_dir: Path, quick: bool, with_ref: bool) -> list[Row]:
    module = load_bench(bench_dir, "bench_serializer")
    from ipv8fast._core import twins

    ours = "ipv8fast" if twins.ACTIVE.get("serializer") else "ipv8fast-pure"
    impls = {"fast": ours, **({"ref": "py-ipv8"} if with_ref else {})}
    calls, repeats = (2_000, 5) if quick else (10_000, 15)
    rows = []
    for case, (format_list, names, values) in (("small", module.SMALL), ("mixed", module.MIXED)):
        rates: dict[str, dict[str, float]] = {"pack": {}, "unpack": {}}
        for key, impl in impls.items():
            base, compile_, serializer = module._implementation(impl)
            cls = compile_(type(f"{case.title()}Payload", (base,), {"format_list": format_list, "names": names}))
            obj = cls(*values)
            data = serializer.pack_serializable(obj)
            pack, unpack = serializer.pack_serializable, serializer.unpack_serializable
            rates["pack"][key] = best_rate(functools.partial(pack, obj), calls, repeats)
            rates["unpack"][key] = best_rate(functools.partial(unpack, cls, data), calls, repeats)
        for operation, by_impl in rates.items():
            rows.append(row(f"serializer {operation} {case} (ops/s)", by_impl.get("ref"), by_impl["fast"]))
    return rows


def group_requestcache(bench_dir: Path, quick: bool, with_ref: bool) -> list[Row]:
    module = load_bench(bench_dir, "bench_requestcache")
    scale = 10 if quick else 1
    plan = [  # case, metric, label, {impl: n}, higher is better
        ("create_add", "ops_per_s", "requestcache create+add (ops/s)", {"fast": 500_000, "ref": 50_000}, True),
        ("pop", "ops_per_s", "requestcache pop (ops/s)", {"fast": 500_000, "ref": 50_000}, True),
        ("random_create_add", "ops_per_s", "requestcache random create+add (ops/s)",
         {"fast": 50_000, "ref": 50_000}, True),
        ("timeout", "worst_late_s", "requestcache timeout worst late (s)", {"fast": 100_000, "ref": 100_000}, False),
        ("memory", "bytes_per_cache", "requestcache memory (B/cache)", {"fast": 200_000, "ref": 200_000}, False),
    ]
    if not quick:
        plan += [("million", "build_add_s", "requestcache 1M build+add (s)", {"fast": 1_000_000}, False),
                 ("million", "total_rss_mb", "requestcache 1M total RSS (MiB)", {"fast": 1_000_000}, False)]
    results: dict[tuple[str, str, int], dict[str, float]] = {}
    rows = []
    for case, metric, label, sizes, higher in plan:
        values: dict[str, float] = {}
        for impl, n in sizes.items():
            if impl == "ref" and not with_ref:
                continue
            key = (impl, case, max(1000, n // scale))
            if key not in results:
                results[key] = module.run_child(impl, case, key[2])
            values[impl] = results[key][metric]
        rows.append(row(label, values.get("ref"), values.get("fast"), higher))
    return rows


def group_community(bench_dir: Path, quick: bool, with_ref: bool) -> list[Row]:
    import asyncio
    import statistics

    module = load_bench(bench_dir, "bench_community")
    n, repeat = (3_000, 3) if quick else (20_000, 5)
    loop: asyncio.AbstractEventLoop
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        results, limits, _latencies = loop.run_until_complete(module.run_all(n, repeat))
    finally:
        loop.close()
    rows = [row(f"community {case} ({'round trips' if case == 'roundtrip' else 'messages'}/s)",
                results["ipv8"][case], results["ipv8fast"][case])
            for case in ("unsigned", "signed", "roundtrip")]
    threaded = next((impl for impl in results if impl.startswith("ipv8fast+")), None)
    if threaded is not None:
        rows += [row(f"community {case} with crypto_threads ({'round trips' if case == 'roundtrip' else 'messages'}/s)",
                     results["ipv8"][case], results[threaded][case]) for case in ("signed", "roundtrip")]
    rows.append(row("Ed25519 sign+verify limit (/s)", None, statistics.median(limits)))
    return rows


def group_scheduler(bench_dir: Path, quick: bool, with_ref: bool) -> list[Row]:
    if not with_ref:
        return []  # its strategies are py-ipv8 DiscoveryStrategy subclasses
    import asyncio
    import logging

    module = load_bench(bench_dir, "bench_scheduler")
    logging.disable(logging.WARNING)
    asyncio.set_event_loop(asyncio.new_event_loop())
    rounds, ticks = (5, 30) if quick else (21, 100)
    results = module.bench(1000, rounds, ticks)
    rows = []
    for case, by_impl in results.items():
        ours = by_impl.get("ipv8fast (compiled)", by_impl["ipv8fast (pure)"])
        rows.append(row(f"scheduler {case}, 1000 strategies (µs/tick)", by_impl["py-ipv8"] * 1e6, ours * 1e6,
                        higher=False))
    return rows


ADAPTERS: dict[str, Callable[[Path, bool, bool], list[Row]]] = {
    "serializer": group_serializer, "requestcache": group_requestcache, "community": group_community,
    "scheduler": group_scheduler,
}


def child(group: str, bench_dir: str, quick: bool) -> int:
    rows = ADAPTERS[group](Path(bench_dir), quick, pyipv8_installed())
    print(json.dumps(rows))
    return 0


# --------------------------------------------------------------------------------------------- parent side

def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3g}"


def ratio(item: Row) -> str:
    ref, fast = item["ref"], item["fast"]
    if not ref or not fast:
        return "-"
    return f"{(fast / ref if item['higher'] else ref / fast):.1f}x"


def format_table(rows: list[Row], with_ref: bool) -> str:
    """One table: metric, py-ipv8, ipv8fast, ratio; only metric and ipv8fast without py-ipv8."""
    width = max([len("metric")] + [len(item["metric"]) for item in rows])
    header = [f"{'metric':<{width}}"] + ([f"{'py-ipv8':>14}"] if with_ref else []) + [f"{'ipv8fast':>14}"] + \
        ([f"{'ratio':>8}"] if with_ref else [])
    lines = ["  ".join(header), "-" * len("  ".join(header))]
    for item in rows:
        cells = [f"{item['metric']:<{width}}"] + ([f"{fmt(item['ref']):>14}"] if with_ref else []) + \
            [f"{fmt(item['fast']):>14}"] + ([f"{ratio(item):>8}"] if with_ref else [])
        lines.append("  ".join(cells))
    if with_ref:
        lines.append("ratio: how many times better ipv8fast is (faster, smaller or less late); - where py-ipv8 has "
                     "no figure")
    return "\n".join(lines)


def run_group(group: str, bench_dir: Path, quick: bool, timeout: float) -> list[Row]:
    env = dict(os.environ)
    package_parent = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = package_parent + os.pathsep + env.get("PYTHONPATH", "")
    command = [sys.executable, "-m", "ipv8fast", "bench", "--child", group, "--bench-dir", str(bench_dir)]
    result = subprocess.run(command + (["--quick"] if quick else []), capture_output=True, text=True,
                            timeout=timeout, env=env, cwd=str(bench_dir.parent))
    if result.returncode != 0:
        raise RuntimeError(f"bench group {group} failed (exit {result.returncode}):\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="smaller sizes: about a minute in all")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated groups of {', '.join(GROUPS)}")
    parser.add_argument("--bench-dir", help="the bench/ folder (default: the checkout's, else ./bench)")
    parser.add_argument("--child", help=argparse.SUPPRESS)


def check_arguments(args: argparse.Namespace, parser: argparse.ArgumentParser) -> argparse.Namespace:
    args.groups = [group.strip() for group in args.only.split(",") if group.strip()]
    unknown = set(args.groups) - set(GROUPS)
    if unknown or not args.groups:
        parser.error(f"unknown group(s) {', '.join(sorted(unknown)) or '(none given)'}; "
                     f"choose from {', '.join(GROUPS)}")
    return args


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ipv8fast bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return check_arguments(parser.parse_args(argv), parser)


def main(argv: list[str] | None = None) -> int:
    from . import main as cli_main

    return cli_main(["bench", *(sys.argv[1:] if argv is None else argv)])


def run_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    args = check_arguments(args, parser)
    if args.child:
        return child(args.child, args.bench_dir, args.quick)
    from ipv8fast.cli import implementation_line  # here: the children run this file without ipv8fast

    print(implementation_line(), flush=True)
    bench_dir, places = find_bench_dir(args.bench_dir)
    if bench_dir is None:
        print(MISSING.format(places=", ".join(map(str, places))), file=sys.stderr)
        return 2
    with_ref = pyipv8_installed()
    if not with_ref:
        print("py-ipv8 is not installed: ipv8fast figures only, no ratios (pip install pyipv8 to compare)")
    rows: list[Row] = []
    for index, group in enumerate(args.groups, 1):
        if group in NEEDS_PYIPV8 and not with_ref:
            print(f"[{index}/{len(args.groups)}] {group} skipped: {NEEDS_PYIPV8[group]}")
            continue
        print(f"[{index}/{len(args.groups)}] {group} ...", end=" ", flush=True)
        start = time.perf_counter()
        try:
            rows += run_group(group, bench_dir, args.quick, 300 if args.quick else 1800)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            print(f"failed\n{error}", file=sys.stderr)
            return 1
        print(f"{time.perf_counter() - start:.1f} s", flush=True)
    print()
    print(format_table(rows, with_ref))
    return 0
