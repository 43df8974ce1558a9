"""``python -m ipv8fast loadtest``: pending caches, signed request/response traffic and timeouts on 127.0.0.1.

    python -m ipv8fast loadtest --caches 1000000 --peers 50 --duration 60 --compare --csv /tmp/l.csv --plot /tmp/l.png

Each implementation runs in a fresh child process (clean RSS; the py-ipv8 child never imports ipv8fast):

- ``--peers`` communities, each on its own UDP endpoint, keep ``--window`` signed requests in flight to their
  neighbours; every request is a RandomNumberCache, matched on response with ``retrieve_cache``; a lost one
  times out after 5 s and is replaced;
- ``--caches`` NumberCaches are added first (the fill, timed and reported apart; no traffic yet), planned to
  time out evenly between 10 % and 90 % of the ``--duration`` s run that follows; ``max_late_ms`` is how long
  after its due time the latest cache of each second fired, ``gc_ms`` the time spent in cyclic garbage
  collection during that second.

The parent shows progress (``tqdm`` if installed, else plain lines), writes a CSV of per-second figures and,
when matplotlib is installed, a PNG of pending caches, timeouts/s, round trips/s and RSS over time.
Memory guard: a run's caches are capped so that their estimated size (about 0.4 KB each on ipv8fast, 4 KB on
py-ipv8) stays within ``--max-memory-mb`` (default: half the available memory); a capped run says so.
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import importlib.util
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

IMPLS = {"ipv8fast": "ipv8fast", "pyipv8": "py-ipv8"}
COLUMNS = ["impl", "second", "pending_caches", "timeouts_per_s", "roundtrips_per_s", "rss_mb",
           "caches_added", "lost_per_s", "max_late_ms", "gc_ms"]
#: Estimated bytes per pending cache, for the memory guard (measured RSS: ~290 B and ~3.3 KB once py-ipv8's
#: per-cache timeout task has started).
EST_BYTES = {"ipv8fast": 400, "pyipv8": 4000}
#: The top-level package of each implementation.
PACKAGES = {"ipv8fast": "ipv8fast", "pyipv8": "ipv8"}
FILL_BATCH = 1000
FILL_SLICE = 0.02
#: Seconds the fill may take at most; a longer one stops there with a notice.
FILL_BUDGET = 90.0
REQUEST_TIMEOUT = 5.0
FANOUT = 8


def rss_mb() -> float:
    """Current resident set size in MiB (peak RSS where /proc is missing)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    except OSError:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2 ** 20 if sys.platform == "darwin" else peak / 2 ** 10


def available_mb() -> float | None:
    """MemAvailable in MiB, or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def load_implementations() -> ModuleType:
    """ipv8fast/testing/implementations.py (the module paths of both libraries), loaded by file path: this
    file runs as a script in the child, and the py-ipv8 child must never import the ipv8fast package."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testing", "implementations.py")
    spec = importlib.util.spec_from_file_location("ipv8fast_implementations", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


implementations = load_implementations()


def is_installed(impl: str) -> bool:
    return importlib.util.find_spec(PACKAGES[impl]) is not None


# ---------------------------------------------------------------------------------------------- child side

@dataclass
class Counters:
    added: int = 0
    timed_out: int = 0
    roundtrips: int = 0
    lost: int = 0
    in_flight: int = 0
    max_late: float = 0.0
    stopping: bool = False
    batch_due: dict[int, float] = field(default_factory=dict)
    gc_seconds: float = 0.0
    gc_started: float = 0.0

    def on_gc(self, phase: str, info: dict) -> None:
        """A ``gc.callbacks`` hook: adds up the time spent in cyclic garbage collection."""
        if phase == "start":
            self.gc_started = time.perf_counter()
        else:
            self.gc_seconds += time.perf_counter() - self.gc_started


def build(impl: str, counters: Counters, clock: Callable[[], float]) -> tuple[Callable, Any]:
    """``(make_node, Expiring)`` for ``impl``: an async node factory and the expiring cache class."""
    m = implementations.import_modules(PACKAGES[impl])
    lazy, cache_module = m["lazy"], m["cache"]
    # the base classes come from whichever library is measured
    variable_payload: Any = m["payload"].VariablePayload
    number_cache: Any = cache_module.NumberCache
    random_number_cache: Any = cache_module.RandomNumberCacheWithName
    community_base: Any = m["community"].Community

    @m["payload"].vp_compile
    class Request(variable_payload):
        msg_id = 1
        format_list = ["I", "I"]
        names = ["identifier", "sequence"]

    @m["payload"].vp_compile
    class Response(variable_payload):
        msg_id = 2
        format_list = ["I", "I"]
        names = ["identifier", "sequence"]

    class Expiring(number_cache):
        timeout_delay = 1.0  # set per fill batch: a class attribute costs no per-cache memory

        def on_timeout(self) -> None:
            counters.timed_out += 1
            late = clock() - counters.batch_due[self.number // FILL_BATCH]
            if late > counters.max_late:
                counters.max_late = late

    class Pending(random_number_cache):
        name = "loadtest-request"
        timeout_delay = REQUEST_TIMEOUT

        def __init__(self, community: Any) -> None:
            super().__init__(community.request_cache, self.name)
            self.community = community

        def on_timeout(self) -> None:
            counters.lost += 1
            counters.in_flight -= 1
            self.community.send_request()

    class LoadCommunity(community_base):
        community_id = b"ipv8fast-loadtest-v1"

        def __init__(self, settings: Any) -> None:
            super().__init__(settings)
            self.request_cache = cache_module.RequestCache()
            self.targets: list[Any] = []
            self.sequence = 0
            self.add_message_handler(Request, self.on_request)
            self.add_message_handler(Response, self.on_response)

        def send_request(self) -> None:
            if counters.stopping or not self.targets:
                return
            self.sequence += 1
            cache = self.request_cache.add(Pending(self))
            counters.in_flight += 1
            self.ez_send(self.targets[self.sequence % len(self.targets)], Request(cache.number, self.sequence))

        @lazy.lazy_wrapper(Request)
        def on_request(self, peer: Any, payload: Any) -> None:
            self.ez_send(peer, Response(payload.identifier, payload.sequence))

        @lazy.lazy_wrapper(Response)
        @lazy.retrieve_cache(Pending)
        def on_response(self, peer: Any, payload: Any, cache: Any) -> None:
            counters.roundtrips += 1
            counters.in_flight -= 1
            self.send_request()

    async def make_node() -> Any:
        node = LoadCommunity(await implementations.loopback_settings(m))
        node.cancel_pending_task("discover_lan_addresses")
        node.peer_class = m["peer"].Peer
        return node

    return make_node, Expiring


async def add_rate(expiring: Any, request_cache: Any, count: int) -> float:
    """Caches built and added per second (with the loop turns that py-ipv8's timeout tasks need to start),
    timed on a scratch set that is dropped again."""
    expiring.timeout_delay = 3600.0
    start = time.perf_counter()
    for k in range(count):
        request_cache.add(expiring(request_cache, "loadtest-calibration", k))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    rate = count / (time.perf_counter() - start)
    for k in range(count):
        request_cache.pop("loadtest-calibration", k)
    await asyncio.sleep(0)
    return rate


async def run_load(impl: str, caches: int, peers: int, duration: float, window: int,
                   emit: Callable[[dict], None]) -> None:
    """Drive the load for ``duration`` seconds, calling ``emit`` with fill, sample and done events."""
    loop = asyncio.get_running_loop()
    clock = time.monotonic  # live, unlike uvloop's loop.time() (cached per loop iteration)
    counters = Counters()
    make_node, expiring = build(impl, counters, clock)
    nodes = [await make_node() for _ in range(peers)]
    for index, node in enumerate(nodes):
        for step in range(1, min(FANOUT, peers - 1) + 1):
            other = nodes[(index + step) % peers]
            target = node.peer_class(other.my_peer.public_key.key_to_bin(),
                                     ("127.0.0.1", other.endpoint.get_address()[1]))
            node.network.add_verified_peer(target)
            node.targets.append(target)
    caches_of = [node.request_cache for node in nodes]
    base_rss = rss_mb()
    emit({"event": "start", "base_rss_mb": base_rss, "caches": caches})
    fill_start = clock()
    rate = await add_rate(expiring, caches_of[0], max(min(caches, 20_000), 1000))
    run_start = fill_start + min(2 * caches / rate + 1, FILL_BUDGET)  # adding slows down as the heap grows

    def due(k: int) -> float:
        return run_start + duration * (0.1 + 0.8 * k / max(caches, 1))

    first = 0
    while first < caches:  # the fill: slices of FILL_SLICE s, so the loop (and the fill events) keep going
        now = clock()
        if now > fill_start + FILL_BUDGET:
            emit({"event": "notice", "text": f"the fill took over {FILL_BUDGET:.0f} s: stopped at {counters.added:,} "
                                             f"of {caches:,} caches"})
            break
        slice_end = now + FILL_SLICE
        while first < caches and now < slice_end:
            last = min(first + FILL_BATCH, caches)
            delay = max(due(last - 1) - now, 0.01)
            expiring.timeout_delay = delay
            counters.batch_due[first // FILL_BATCH] = now + delay
            for k in range(first, last):
                request_cache = caches_of[k % peers]
                request_cache.add(expiring(request_cache, "loadtest", k))
            counters.added = first = last
            now = clock()
        emit({"event": "fill", "added": counters.added})
        await asyncio.sleep(0)
    filled = clock()
    emit({"event": "fill", "added": counters.added, "seconds": filled - fill_start, "rss_mb": rss_mb(),
          "pending": counters.added - counters.timed_out})
    if filled > run_start:
        emit({"event": "notice", "text": f"the fill overran its plan by {filled - run_start:.1f} s: the first "
                                         "caches time out late"})
    await asyncio.sleep(max(run_start - filled, 0))

    for node in nodes:
        for _ in range(window):
            node.send_request()
    start = loop.time()
    gc.callbacks.append(counters.on_gc)
    previous = (counters.timed_out, 0, 0)
    peak_rss = base_rss
    for second in range(1, int(duration) + 1):
        await asyncio.sleep(max(start + second - loop.time(), 0))
        now_counts = (counters.timed_out, counters.roundtrips, counters.lost)
        rss = rss_mb()
        peak_rss = max(peak_rss, rss)
        emit({"event": "sample", "second": second,
              "pending_caches": counters.added - counters.timed_out + counters.in_flight,
              "timeouts_per_s": now_counts[0] - previous[0], "roundtrips_per_s": now_counts[1] - previous[1],
              "rss_mb": round(rss, 1), "caches_added": counters.added, "lost_per_s": now_counts[2] - previous[2],
              "max_late_ms": round(counters.max_late * 1000, 1), "gc_ms": round(counters.gc_seconds * 1000, 1)})
        previous = now_counts
        counters.max_late = counters.gc_seconds = 0.0
    counters.stopping = True
    gc.callbacks.remove(counters.on_gc)
    emit({"event": "done", "added": counters.added, "timed_out": counters.timed_out,
          "roundtrips": counters.roundtrips, "lost": counters.lost, "peak_rss_mb": round(peak_rss, 1),
          "base_rss_mb": round(base_rss, 1), "seconds": loop.time() - start})
    for node in nodes:
        try:
            await asyncio.wait_for(node.request_cache.shutdown(), 30)
            await node.unload()
        finally:
            node.endpoint.close()


def child(argv: list[str]) -> int:
    """Run one implementation and print JSON lines on stdout."""
    impl, caches, peers, duration, window = argv[0], int(argv[1]), int(argv[2]), float(argv[3]), int(argv[4])
    logging.basicConfig(level=logging.ERROR)
    loop: asyncio.AbstractEventLoop
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def emit(event: dict) -> None:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()

    try:
        loop.run_until_complete(run_load(impl, caches, peers, duration, window, emit))
    finally:
        loop.close()
    return 0


# --------------------------------------------------------------------------------------------- parent side

class Progress:
    """Two bars per run (fill, time) with tqdm, or a plain line every few seconds without it."""

    def __init__(self, label: str, caches: int, duration: int, plain: bool) -> None:
        self.label, self.caches, self.duration = label, caches, duration
        self.tqdm: Any = None
        self.fill_done = False
        self.fill_printed = 0
        if not plain:
            try:
                from tqdm import tqdm

                self.tqdm = tqdm
            except ImportError:
                pass
        if self.tqdm:
            self.fill_bar = self.tqdm(total=caches, desc=f"{label} fill", unit=" caches", unit_scale=True,
                                      leave=True, dynamic_ncols=True)
        self.run_bar: Any = None

    def fill(self, added: int, finished: bool = False) -> None:
        if self.tqdm and not self.fill_done:
            self.fill_bar.update(added - self.fill_bar.n)
            if finished:
                self.fill_bar.close()
        elif not self.tqdm and not self.fill_done:
            step = max(self.caches // 5, 1)
            if finished or added // step > self.fill_printed:
                self.fill_printed = added // step
                print(f"[{self.label}] {added:,} of {self.caches:,} caches added", flush=True)
        self.fill_done = self.fill_done or finished

    def sample(self, row: dict) -> None:
        text = (f"pending {row['pending_caches']:,} timeouts/s {row['timeouts_per_s']:,} "
                f"rt/s {row['roundtrips_per_s']:,} RSS {row['rss_mb']:.0f} MB")
        if self.tqdm:
            if self.run_bar is None:
                self.fill(row["caches_added"], True)
                self.run_bar = self.tqdm(total=self.duration, desc=f"{self.label} run ", unit="s", leave=True,
                                         dynamic_ncols=True)
            self.run_bar.set_postfix_str(text, refresh=False)
            self.run_bar.update(1)
        elif row["second"] % 5 == 0 or row["second"] == self.duration:
            print(f"[{self.label}] {row['second']:>4}/{self.duration} s  {text}", flush=True)

    def notice(self, text: str) -> None:
        (self.tqdm.write if self.tqdm else print)(f"[{self.label}] {text}")

    def close(self) -> None:
        if self.tqdm:
            if not self.fill_done:
                self.fill_bar.close()
            if self.run_bar is not None:
                self.run_bar.close()


@dataclass
class Run:
    impl: str
    requested: int
    caches: int
    rows: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    fill: dict = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)


def child_command(argv: list[str]) -> list[str]:
    """Run this file as a script, so a py-ipv8 child never imports the ipv8fast package."""
    return implementations.script_command(os.path.abspath(__file__), "--child", *argv)


def run_child(impl: str, caches: int, requested: int, args: argparse.Namespace) -> Run:
    run = Run(impl, requested, caches)
    label = IMPLS[impl]
    progress = Progress(label, caches, int(args.duration), args.no_progress)
    if caches < requested:
        progress.notice(f"--caches capped from {requested:,} to {caches:,}: at about {EST_BYTES[impl]:,} B per "
                        f"pending cache more would exceed --max-memory-mb {args.max_memory_mb:,.0f}")
        run.notices.append(f"capped from {requested:,} to {caches:,} caches (memory guard)")
    env = dict(os.environ)
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = package_parent + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(child_command([impl, str(caches), str(args.peers), str(args.duration),
                                                  str(args.window)]),
                                   stdout=subprocess.PIPE, stderr=errors, text=True, env=env)
        watchdog = threading.Timer(FILL_BUDGET + args.duration + 120, process.kill)
        watchdog.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                event = json.loads(line)
                kind = event.pop("event")
                if kind == "sample":
                    row = {"impl": label, **event}
                    run.rows.append(row)
                    progress.sample(row)
                elif kind == "fill":
                    progress.fill(event["added"], "seconds" in event)
                    if "seconds" in event:
                        run.fill = event
                elif kind == "notice":
                    progress.notice(event["text"])
                    run.notices.append(event["text"])
                elif kind == "done":
                    run.summary = event
            process.wait()
        finally:
            watchdog.cancel()
            progress.close()
        if process.returncode != 0 or not run.summary:
            errors.seek(0)
            tail = errors.read()[-2000:]
            raise RuntimeError(f"the {label} load run failed (exit {process.returncode}):\n{tail}")
    return run


def write_csv(path: str, runs: list[Run]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for run in runs:
            writer.writerows(run.rows)


def write_plot(path: str, runs: list[Run], title: str) -> bool:
    """Four panels, every run drawn in each; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    panels = [("pending_caches", "pending caches"), ("timeouts_per_s", "timeouts / s"),
              ("roundtrips_per_s", "signed round trips / s"), ("rss_mb", "RSS (MiB)")]
    figure, axes = plt.subplots(2, 2, figsize=(12, 7.5), sharex=True)
    for axis, (column, label) in zip(axes.flat, panels, strict=True):
        for run in runs:
            axis.plot([row["second"] for row in run.rows], [row[column] for row in run.rows],
                      label=f"{IMPLS[run.impl]} ({run.caches:,} caches)")
        axis.set_title(label)
        axis.grid(alpha=0.3)
        axis.ticklabel_format(axis="y", style="plain", useOffset=False)
    for axis in axes[1]:
        axis.set_xlabel("seconds")
    axes[0][0].legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


def summarize(run: Run) -> dict[str, Any]:
    """Headline figures of one run."""
    rows, done = run.rows, run.summary
    busy = [row["roundtrips_per_s"] for row in rows]
    fill_rss = run.fill.get("rss_mb")
    per_cache = ((fill_rss - done["base_rss_mb"]) * 2 ** 20 / run.fill["pending"]
                 if fill_rss and run.fill.get("pending") else None)
    return {"impl": IMPLS[run.impl], "caches added": done["added"], "caches timed out": done["timed_out"],
            "fill seconds": run.fill.get("seconds"),
            "peak pending": max((r["pending_caches"] for r in rows), default=0),
            "peak timeouts/s": max((r["timeouts_per_s"] for r in rows), default=0),
            "mean round trips/s": sum(busy) / len(busy) if busy else 0.0,
            "min round trips/s": min(busy, default=0), "requests lost": done["lost"],
            "worst lateness ms": max((r["max_late_ms"] for r in rows), default=0.0),
            "worst GC ms in a second": max((r["gc_ms"] for r in rows), default=0.0),
            "peak RSS MiB": done["peak_rss_mb"], "RSS per pending cache B": per_cache}


def print_summary(runs: list[Run]) -> None:
    summaries = [summarize(run) for run in runs]
    print()
    for key in summaries[0]:
        cells = []
        for summary in summaries:
            value = summary[key]
            text = "-" if value is None else f"{value:,.1f}" if isinstance(value, float) else \
                f"{value:,}" if isinstance(value, int) else str(value)
            cells.append(f"{text:>20}")
        print(f"{key:<30}" + "".join(cells))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--caches", type=int, default=100_000, help="pending caches timing out over the run")
    parser.add_argument("--peers", type=int, default=10, help="communities exchanging signed requests (>= 2)")
    parser.add_argument("--duration", type=int, default=20, help="seconds of load per implementation")
    parser.add_argument("--window", type=int, default=4, help="signed requests in flight per peer")
    parser.add_argument("--impl", choices=sorted(IMPLS), default="ipv8fast")
    parser.add_argument("--compare", action="store_true", help="run py-ipv8 then ipv8fast, both on one plot")
    parser.add_argument("--csv", default="loadtest.csv", help="per-second figures (default: loadtest.csv)")
    parser.add_argument("--plot", default="loadtest.png", help="PNG of the four series (needs matplotlib)")
    parser.add_argument("--max-memory-mb", type=float, default=None,
                        help="cap the caches of a run to this estimated size (default: half the available memory)")
    parser.add_argument("--no-progress", action="store_true", help="plain progress lines instead of bars")


def check_arguments(args: argparse.Namespace, parser: argparse.ArgumentParser) -> argparse.Namespace:
    if args.peers < 2 or args.caches < 0 or not 1 <= args.duration <= 3600 or args.window < 1:
        parser.error("need --peers >= 2, --caches >= 0, 1 <= --duration <= 3600 and --window >= 1")
    if args.max_memory_mb is None:
        args.max_memory_mb = (available_mb() or 8192) / 2
    return args


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ipv8fast loadtest", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return check_arguments(parser.parse_args(argv), parser)


def main(argv: list[str] | None = None) -> int:
    """Entry point of this file run as a script (the loadtest children run it so)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m ipv8fast loadtest", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run_command(parser.parse_args(argv), parser)


def run_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    args = check_arguments(args, parser)
    from ipv8fast.cli import implementation_line  # here: the children run this file without ipv8fast

    print(implementation_line(), flush=True)
    impls = ["pyipv8", "ipv8fast"] if args.compare else [args.impl]
    for impl in list(impls):
        if not is_installed(impl):
            if not args.compare:
                print(f"error: {IMPLS[impl]} is not installed (pip install pyipv8)", file=sys.stderr)
                return 2
            print("py-ipv8 is not installed: --compare runs ipv8fast only (pip install pyipv8)")
            impls.remove(impl)
    runs = []
    for impl in impls:
        capped = min(args.caches, int(args.max_memory_mb * 2 ** 20 / EST_BYTES[impl]))
        print(f"{IMPLS[impl]}: {capped:,} caches, {args.peers} peers x {args.window} signed requests in flight, "
              f"{args.duration} s on 127.0.0.1", flush=True)
        try:
            runs.append(run_child(impl, capped, args.caches, args))
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    write_csv(args.csv, runs)
    print_summary(runs)
    print(f"\nper-second figures: {args.csv}")
    title = (f"ipv8fast loadtest: {args.peers} peers, {args.window} in flight each, "
             + " vs ".join(f"{IMPLS[r.impl]} {r.caches:,} caches" for r in runs))
    if args.plot:
        if write_plot(args.plot, runs, title):
            print(f"plot: {args.plot}")
        else:
            print("plot skipped: matplotlib is not installed (pip install 'ipv8fast[plot]')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
