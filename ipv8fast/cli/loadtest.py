"""``python -m ipv8fast loadtest``: pending caches, signed request/response traffic and timeouts on 127.0.0.1.

    python -m ipv8fast loadtest --caches 1000000 --peers 50 --duration 60 --compare --csv /tmp/l.csv --plot /tmp/l.png
    python -m ipv8fast loadtest --scenario my_package.my_module:MyScenario --processes 2 --compare

Each implementation runs in fresh child processes (clean RSS; the py-ipv8 children never import ipv8fast):

- the load is a scenario (:mod:`ipv8fast.testing.scenario`; default: the built-in ping,
  ``ipv8fast/testing/ping_scenario.py``): ``--peers`` of its communities, each on its own UDP endpoint, keep
  ``--window`` requests in flight to their neighbours (the scenario sends them; its responses call
  ``load.answered()``, its timeouts ``load.lost()``);
- ``--caches`` NumberCaches are added to the scenario's request caches first (the fill, timed and reported
  apart; no traffic yet), planned to time out evenly between 10 % and 90 % of the ``--duration`` s run that
  follows; ``max_late_ms`` is how long after its due time the latest cache of each second fired, ``gc_ms``
  the time spent in cyclic garbage collection during that second;
- ``--processes N`` spreads the peers (and the caches) over N children: each reports its peers' keys and
  ports, the parent hands every child the whole list and a common start time, and merges the per-second
  figures (rates, pending caches and RSS summed; lateness and GC the worst of any process; the RSS of each
  process in ``rss_mb_by_process``).

The scenario is checked first, in a fresh child per implementation (it must import, have the methods, build
one community): bad input fails before any run, naming what is wrong. The parent shows progress (``tqdm`` if
installed, else plain lines), writes a CSV of per-second figures and, when matplotlib is installed, a PNG of
pending caches, timeouts/s, round trips/s and RSS over time. Memory guard: a run's caches are capped so that
their estimated size (about 0.4 KB each on ipv8fast, 4 KB on py-ipv8) stays within ``--max-memory-mb``
(default: half the available memory); a capped run says so.
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
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

IMPLS = {"ipv8fast": "ipv8fast", "pyipv8": "py-ipv8"}
COLUMNS = ["impl", "second", "pending_caches", "timeouts_per_s", "roundtrips_per_s", "rss_mb",
           "caches_added", "lost_per_s", "max_late_ms", "gc_ms", "cpu_ms", "scenario", "processes", "rss_mb_by_process"]
#: Estimated bytes per pending cache, for the memory guard (measured RSS: ~290 B and ~3.3 KB once py-ipv8's
#: per-cache timeout task has started).
EST_BYTES = {"ipv8fast": 400, "pyipv8": 4000}
#: The top-level package of each implementation.
PACKAGES = {"ipv8fast": "ipv8fast", "pyipv8": "ipv8"}
FILL_BATCH = 1000
FILL_SLICE = 0.02
#: Seconds the fill may take at most; a longer one stops there with a notice.
FILL_BUDGET = 90.0
#: Neighbours each peer sends requests to.
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


def load_sibling(name: str) -> ModuleType:
    """``ipv8fast/testing/<name>.py`` loaded by file path: this file runs as a script in the child, and the
    py-ipv8 child must never import the ipv8fast package."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testing", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"ipv8fast_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


implementations = load_sibling("implementations")  # the module paths of both libraries
scenario_api = load_sibling("scenario")


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


def build_expiring(cache_module: ModuleType, counters: Counters, clock: Callable[[], float]) -> Any:
    """The fill's cache class, a NumberCache of the library measured (``cache_module``: its requestcache)."""
    number_cache: Any = cache_module.NumberCache

    class Expiring(number_cache):
        timeout_delay = 1.0  # set per fill batch: a class attribute costs no per-cache memory

        def on_timeout(self) -> None:
            counters.timed_out += 1
            late = clock() - counters.batch_due[self.number // FILL_BATCH]
            if late > counters.max_late:
                counters.max_late = late

    return Expiring


class Lane:
    """One community's share of the load (the scenario API's ``Load``): ``window`` requests kept in flight,
    to its targets in turn."""

    __slots__ = ("community", "counters", "send", "sequence", "targets")

    def __init__(self, community: Any, targets: list[Any], send: Callable[[Any, Any, Any], None],
                 counters: Counters) -> None:
        self.community, self.targets, self.send, self.counters = community, targets, send, counters
        self.sequence = 0

    def next(self) -> None:
        """Send one request to the next target (none once the run stops)."""
        counters = self.counters
        if counters.stopping or not self.targets:
            return
        self.sequence += 1
        counters.in_flight += 1
        self.send(self.community, self.targets[self.sequence % len(self.targets)], self)

    def answered(self) -> None:
        self.counters.roundtrips += 1
        self.counters.in_flight -= 1
        self.next()

    def lost(self) -> None:
        self.counters.lost += 1
        self.counters.in_flight -= 1
        self.next()


def request_cache_of(user: Any, community: Any) -> Any:
    """The RequestCache the fill goes to: ``user.request_cache(community)``, else ``community.request_cache``."""
    getter = getattr(user, "request_cache", None)
    cache = getter(community) if getter is not None else getattr(community, "request_cache", None)
    if cache is None or not callable(getattr(cache, "add", None)):
        where = f"{type(user).__name__}.request_cache(community)" if getter is not None else \
            f"{type(community).__name__}.request_cache"
        raise scenario_api.ScenarioError(f"{where} is {cache!r}, not a RequestCache: give the community a "
                                         "request_cache attribute or the scenario a request_cache(community) method")
    return cache


async def make_community(user: Any, m: dict[str, ModuleType], crypto_threads: int = 0) -> tuple[Any, Any]:
    """One peer of the scenario on 127.0.0.1 and its request cache; ``crypto_threads`` > 0 (ipv8fast only)
    verifies its received signatures on that many worker threads."""
    options = {"crypto_threads": crypto_threads} if crypto_threads > 0 else {}
    settings = await implementations.loopback_settings(m, **options)
    try:
        community = user.create_community(settings)
    except Exception:
        settings.endpoint.close()
        raise
    community.cancel_pending_task("discover_lan_addresses")
    try:
        return community, request_cache_of(user, community)
    except scenario_api.ScenarioError:
        await stop_community(community, None)
        raise


async def stop_community(community: Any, request_cache: Any) -> None:
    try:
        if request_cache is not None:
            await asyncio.wait_for(request_cache.shutdown(), 30)
        await asyncio.wait_for(community.unload(), 30)
    finally:
        community.endpoint.close()


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


@dataclass
class ChildConfig:
    """What one load process runs: its share (``process`` of ``processes``) of one implementation's run."""

    impl: str
    scenario: str
    caches: int
    peers: int
    duration: int
    window: int
    process: int = 0
    processes: int = 1
    #: ipv8fast's signature-verification threads per endpoint (py-ipv8 has none)
    crypto_threads: int = 0

    def local_peers(self) -> range:
        """Global indices of this process's peers (interleaved, so neighbours live in other processes)."""
        return range(self.process, self.peers, self.processes)


def targets_of(index: int, peers: int) -> list[int]:
    """The global indices peer ``index`` sends to: its next ``FANOUT`` neighbours on the ring."""
    return [(index + step) % peers for step in range(1, min(FANOUT, peers - 1) + 1)]


async def read_plan(timeout: float) -> dict:
    """The parent's one line on stdin: every peer's (key, port) and the wall-clock start of the run."""
    line = await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline), timeout)
    if not line:
        raise RuntimeError("the parent closed the plan pipe")
    return json.loads(line)


async def run_load(config: ChildConfig, emit: Callable[[dict], None],
                   plan_source: Callable[[float], Awaitable[dict]] = read_plan) -> None:
    """Drive this process's share of the load for ``config.duration`` seconds, calling ``emit`` with ready,
    fill, sample and done events; ``plan_source`` gives the parent's plan after "ready"."""
    loop = asyncio.get_running_loop()
    clock = time.monotonic  # live, unlike uvloop's loop.time() (cached per loop iteration)
    package = PACKAGES[config.impl]
    scenario_api.prepare(package)
    user = scenario_api.load(config.scenario)
    m = implementations.import_modules(package)
    counters = Counters()
    expiring = build_expiring(m["cache"], counters, clock)
    nodes: list[tuple[Any, Any]] = []
    try:
        for _ in config.local_peers():
            nodes.append(await make_community(user, m, config.crypto_threads if config.impl == "ipv8fast" else 0))
        caches, peers = config.caches, len(nodes)
        caches_of = [cache for _, cache in nodes]
        base_rss = rss_mb()
        rate = await add_rate(expiring, caches_of[0], max(min(caches, 20_000), 1000))
        emit({"event": "ready", "base_rss_mb": base_rss, "caches": caches,
              "fill_estimate": min(2 * caches / rate + 1, FILL_BUDGET),  # adding slows down as the heap grows
              "peers": [[community.my_peer.public_key.key_to_bin().hex(), community.endpoint.get_address()[1]]
                        for community, _ in nodes]})
        plan = await plan_source(FILL_BUDGET + 60)
        fill_start = clock()
        run_start = fill_start + plan["start"] - time.time()
        everyone = [m["peer"].Peer(bytes.fromhex(key), ("127.0.0.1", port)) for key, port in plan["peers"]]
        lanes = []
        for (community, _), index in zip(nodes, config.local_peers(), strict=True):
            targets = [everyone[other] for other in targets_of(index, config.peers)]
            for target in targets:
                community.network.add_verified_peer(target)
            lanes.append(Lane(community, targets, user.send_request, counters))

        def due(k: int) -> float:
            return run_start + config.duration * (0.1 + 0.8 * k / max(caches, 1))

        first = 0
        while first < caches:  # the fill: slices of FILL_SLICE s, so the loop (and the fill events) keep going
            now = clock()
            if now > fill_start + FILL_BUDGET:
                emit({"event": "notice", "text": f"the fill took over {FILL_BUDGET:.0f} s: stopped at "
                                                 f"{counters.added:,} of {caches:,} caches"})
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
            emit({"event": "notice", "text": f"the fill overran its plan by {filled - run_start:.1f} s: the "
                                             "first caches time out late"})
        await asyncio.sleep(max(run_start - clock(), 0))

        for lane in lanes:
            for _ in range(config.window):
                lane.next()
        start = loop.time()
        gc.callbacks.append(counters.on_gc)
        previous = (counters.timed_out, 0, 0)
        peak_rss = base_rss
        cpu_start = cpu_previous = time.process_time()  # every thread of this process (crypto workers too)
        for second in range(1, config.duration + 1):
            await asyncio.sleep(max(start + second - loop.time(), 0))
            now_counts = (counters.timed_out, counters.roundtrips, counters.lost)
            rss = rss_mb()
            peak_rss = max(peak_rss, rss)
            cpu_now = time.process_time()
            emit({"event": "sample", "second": second,
                  "pending_caches": counters.added - counters.timed_out + counters.in_flight,
                  "timeouts_per_s": now_counts[0] - previous[0], "roundtrips_per_s": now_counts[1] - previous[1],
                  "rss_mb": round(rss, 1), "caches_added": counters.added,
                  "lost_per_s": now_counts[2] - previous[2], "max_late_ms": round(counters.max_late * 1000, 1),
                  "gc_ms": round(counters.gc_seconds * 1000, 1), "cpu_ms": round((cpu_now - cpu_previous) * 1000, 1)})
            previous, cpu_previous = now_counts, cpu_now
            counters.max_late = counters.gc_seconds = 0.0
        counters.stopping = True
        gc.callbacks.remove(counters.on_gc)
        emit({"event": "done", "added": counters.added, "timed_out": counters.timed_out,
              "roundtrips": counters.roundtrips, "lost": counters.lost, "peak_rss_mb": round(peak_rss, 1),
              "base_rss_mb": round(base_rss, 1), "seconds": loop.time() - start,
              "cpu_seconds": time.process_time() - cpu_start})
    finally:
        for community, request_cache in nodes:
            await stop_community(community, request_cache)


async def check_scenario_here(impl: str, spec: str) -> str:
    """In a fresh child: load ``spec`` for ``impl``, build one community on 127.0.0.1 and stop it; its name."""
    package = PACKAGES[impl]
    scenario_api.prepare(package)
    user = scenario_api.load(spec)
    community, request_cache = await make_community(user, implementations.import_modules(package))
    await stop_community(community, request_cache)
    return scenario_api.label(user)


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


def emit_line(event: dict) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def child(argv: list[str]) -> int:
    """``--child CONFIG`` runs one load process, ``--check IMPL SPEC`` checks a scenario; JSON lines on stdout.
    A scenario problem is an "error" event (exit 3)."""
    logging.basicConfig(level=logging.ERROR)
    loop = new_loop()
    asyncio.set_event_loop(loop)
    try:
        if argv[0] == "--check":
            emit_line({"event": "ok", "name": loop.run_until_complete(check_scenario_here(argv[1], argv[2]))})
        else:
            loop.run_until_complete(run_load(ChildConfig(**json.loads(argv[1])), emit_line))
    except scenario_api.ScenarioError as error:
        emit_line({"event": "error", "text": str(error)})
        return 3
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
        self.fill_printed = self.fill_printed_added = 0
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
            if (finished and added != self.fill_printed_added) or added // step > self.fill_printed:
                self.fill_printed, self.fill_printed_added = added // step, added
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
    scenario: str = "ping"
    processes: int = 1
    rows: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    fill: dict = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)


def child_command(argv: list[str]) -> list[str]:
    """Run this file as a script, so a py-ipv8 child never imports the ipv8fast package."""
    return implementations.script_command(os.path.abspath(__file__), *argv)


def child_env() -> dict[str, str]:
    """The environment of a child: this checkout's ipv8fast first on PYTHONPATH."""
    env = dict(os.environ)
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = package_parent + os.pathsep + env.get("PYTHONPATH", "")
    return env


def check_scenario(impls: list[str], spec: str, timeout: float = 120.0) -> str:
    """Load ``spec`` in a fresh child per implementation (in parallel) and build one community with it;
    its name, or ScenarioError with the first child's message."""
    processes = [subprocess.Popen(child_command(["--check", impl, spec]), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=child_env()) for impl in impls]
    results = []
    for impl, process in zip(impls, processes, strict=True):
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise scenario_api.ScenarioError(f"--scenario {spec}: checking it on {IMPLS[impl]} took over "
                                             f"{timeout:.0f} s") from None
        events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        if events and events[-1]["event"] == "error":
            raise scenario_api.ScenarioError(events[-1]["text"] + ("" if len(impls) == 1 else
                                                                  f" (on {IMPLS[impl]})"))
        if process.returncode != 0 or not events:
            raise scenario_api.ScenarioError(f"--scenario {spec}: checking it on {IMPLS[impl]} failed "
                                             f"(exit {process.returncode}):\n{err[-2000:]}")
        results.append(events[-1]["name"])
    return results[0]


def split_caches(caches: int, processes: int) -> list[int]:
    """The fill's caches of each process (they differ by one at most)."""
    return [len(range(p, caches, processes)) for p in range(processes)]


def merge_samples(samples: list[dict]) -> dict:
    """One second of the whole run from each process's sample: rates, caches and RSS summed, worst lateness
    and GC pause of any process, and the RSS of each."""
    row = {key: sum(sample[key] for sample in samples)
           for key in ("pending_caches", "timeouts_per_s", "roundtrips_per_s", "caches_added", "lost_per_s")}
    row["cpu_ms"] = round(sum(sample.get("cpu_ms", 0.0) for sample in samples), 1)
    row.update(second=samples[0]["second"], rss_mb=round(sum(sample["rss_mb"] for sample in samples), 1),
               max_late_ms=max(sample["max_late_ms"] for sample in samples),
               gc_ms=max(sample["gc_ms"] for sample in samples), processes=len(samples),
               rss_mb_by_process=";".join(f"{sample['rss_mb']:.1f}" for sample in samples))
    return row


def merge_done(dones: list[dict], rows: list[dict]) -> dict:
    """The run's summary from each process's "done" event (peak RSS: the peak of the summed RSS)."""
    done = {key: sum(d[key] for d in dones) for key in ("added", "timed_out", "roundtrips", "lost", "base_rss_mb")}
    done["cpu_seconds"] = sum(d.get("cpu_seconds", 0.0) for d in dones)
    done["peak_rss_mb"] = max([row["rss_mb"] for row in rows] + [done["base_rss_mb"]])
    done["seconds"] = max(d["seconds"] for d in dones)
    return done


def pump(process: int, stream: Any, events: queue.Queue) -> None:
    """Forward a child's JSON lines to ``events`` as ``(process, event)``; ``(process, None)`` at its end."""
    try:
        for line in stream:
            if line.startswith("{"):
                events.put((process, json.loads(line)))
    finally:
        events.put((process, None))


class LoadProcesses:
    """The ``--processes`` children of one implementation's run and the merge of what they report."""

    def __init__(self, run: Run, progress: Progress, config: ChildConfig) -> None:
        self.run, self.progress, self.count = run, progress, config.processes
        self.events: queue.Queue = queue.Queue()
        self.errors = [tempfile.TemporaryFile("w+") for _ in range(self.count)]
        self.children: list[subprocess.Popen] = []
        env = child_env()
        for process, caches in enumerate(split_caches(config.caches, self.count)):
            share = json.dumps({**config.__dict__, "process": process, "caches": caches})
            child_process = subprocess.Popen(child_command(["--child", share]), stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, stderr=self.errors[process], text=True, env=env)
            self.children.append(child_process)
            threading.Thread(target=pump, args=(process, child_process.stdout, self.events), daemon=True).start()
        self.ready: dict[int, dict] = {}
        self.added = [0] * self.count
        self.fills: dict[int, dict] = {}
        self.samples: dict[int, dict[int, dict]] = {}
        self.dones: dict[int, dict] = {}

    def failure(self, process: int, text: str | None = None) -> RuntimeError:
        label = IMPLS[self.run.impl] + ("" if self.count == 1 else f" (process {process + 1} of {self.count})")
        if text is None:
            self.errors[process].seek(0)
            text = f"exit {self.children[process].poll()}:\n{self.errors[process].read()[-2000:]}"
        return RuntimeError(f"the {label} load run failed: {text}")

    def send_plan(self) -> None:
        """Every peer's address in global order (peer ``g`` is peer ``g // count`` of process ``g % count``)
        and a common wall-clock start once the slowest fill is planned to be done."""
        peers: list[Any] = [None] * sum(len(ready["peers"]) for ready in self.ready.values())
        for process, ready in self.ready.items():
            peers[process::self.count] = ready["peers"]
        start = time.time() + max(ready["fill_estimate"] for ready in self.ready.values()) + 0.2
        line = json.dumps({"peers": peers, "start": start}) + "\n"
        for child_process in self.children:
            assert child_process.stdin is not None
            child_process.stdin.write(line)
            child_process.stdin.flush()

    def handle(self, process: int, event: dict) -> None:
        kind = event.pop("event")
        if kind == "ready":
            self.ready[process] = event
            if len(self.ready) == self.count:
                self.send_plan()
        elif kind == "fill":
            self.added[process] = event["added"]
            if "seconds" in event:
                self.fills[process] = event
            finished = len(self.fills) == self.count
            self.progress.fill(sum(self.added), finished)
            if finished:
                fills = list(self.fills.values())
                self.run.fill = {"added": sum(self.added), "seconds": max(f["seconds"] for f in fills),
                                 "rss_mb": sum(f["rss_mb"] for f in fills), "pending": sum(f["pending"] for f in fills)}
        elif kind == "sample":
            second = self.samples.setdefault(event["second"], {})
            second[process] = event
            if len(second) == self.count:
                row = {"impl": IMPLS[self.run.impl], "scenario": self.run.scenario,
                       **merge_samples([second[p] for p in range(self.count)])}
                self.run.rows.append(row)
                self.progress.sample(row)
        elif kind == "notice":
            text = event["text"] if self.count == 1 else f"process {process + 1}: {event['text']}"
            self.progress.notice(text)
            self.run.notices.append(text)
        elif kind == "done":
            self.dones[process] = event
        elif kind == "error":
            raise self.failure(process, event["text"])

    def wait(self, deadline: float) -> None:
        """Handle the children's events until all have ended; RuntimeError if one fails or time runs out."""
        ended = 0
        while ended < self.count:
            try:
                process, event = self.events.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise RuntimeError(f"the {IMPLS[self.run.impl]} load run did not end in time") from None
            if event is not None:
                self.handle(process, event)
                continue
            ended += 1
            if self.children[process].wait(30) != 0 or process not in self.dones:
                raise self.failure(process)
        self.run.summary = merge_done([self.dones[p] for p in range(self.count)], self.run.rows)

    def close(self) -> None:
        for child_process in self.children:
            if child_process.poll() is None:
                child_process.kill()
            child_process.wait(30)
            for stream in (child_process.stdin, child_process.stdout):
                if stream is not None:
                    stream.close()
        for errors in self.errors:
            errors.close()


def run_child(impl: str, caches: int, requested: int, args: argparse.Namespace, scenario_name: str = "ping") -> Run:
    """One implementation's run over ``args.processes`` children, merged second by second."""
    run = Run(impl, requested, caches, scenario_name, args.processes)
    label = IMPLS[impl] + ("" if args.processes == 1 else f" x{args.processes}")
    progress = Progress(label, caches, int(args.duration), args.no_progress)
    if caches < requested:
        progress.notice(f"--caches capped from {requested:,} to {caches:,}: at about {EST_BYTES[impl]:,} B per "
                        f"pending cache more would exceed --max-memory-mb {args.max_memory_mb:,.0f}")
        run.notices.append(f"capped from {requested:,} to {caches:,} caches (memory guard)")
    config = ChildConfig(impl, args.scenario, caches, args.peers, int(args.duration), args.window,
                         processes=args.processes, crypto_threads=args.crypto_threads)
    children = LoadProcesses(run, progress, config)
    try:
        children.wait(time.monotonic() + 2 * FILL_BUDGET + args.duration + 120)
    finally:
        children.close()
        progress.close()
    return run


def write_csv(path: str, runs: list[Run]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for run in runs:
            writer.writerows(run.rows)


def run_label(run: Run) -> str:
    spread = "" if run.processes == 1 else f", {run.processes} processes"
    return f"{IMPLS[run.impl]} ({run.caches:,} caches{spread})"


def write_plot(path: str, runs: list[Run], title: str) -> bool:
    """Four panels, every run drawn in each (with several processes, the RSS of each one dotted); False when
    matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    panels = [("pending_caches", "pending caches"), ("timeouts_per_s", "timeouts / s"),
              ("roundtrips_per_s", "round trips / s"), ("rss_mb", "RSS (MiB, all processes)")]
    figure, axes = plt.subplots(2, 2, figsize=(12, 7.5), sharex=True)
    for axis, (column, label) in zip(axes.flat, panels, strict=True):
        for run in runs:
            seconds = [row["second"] for row in run.rows]
            line, = axis.plot(seconds, [row[column] for row in run.rows], label=run_label(run))
            if column == "rss_mb" and run.processes > 1:
                for p in range(run.processes):
                    axis.plot(seconds, [float(row["rss_mb_by_process"].split(";")[p]) for row in run.rows],
                              linestyle=":", color=line.get_color(), linewidth=1)
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
    return {"impl": IMPLS[run.impl], "scenario": run.scenario, "processes": run.processes,
            "caches added": done["added"], "caches timed out": done["timed_out"],
            "fill seconds": run.fill.get("seconds"),
            "peak pending": max((r["pending_caches"] for r in rows), default=0),
            "peak timeouts/s": max((r["timeouts_per_s"] for r in rows), default=0),
            "mean round trips/s": sum(busy) / len(busy) if busy else 0.0,
            "min round trips/s": min(busy, default=0), "requests lost": done["lost"],
            "worst lateness ms": max((r["max_late_ms"] for r in rows), default=0.0),
            "worst GC ms in a second": max((r["gc_ms"] for r in rows), default=0.0),
            "peak RSS MiB": done["peak_rss_mb"], "RSS per pending cache B": per_cache,
            "CPU s (load processes)": done.get("cpu_seconds"),
            "CPU us per round trip": (1e6 * done["cpu_seconds"] / done["roundtrips"]
                                      if done.get("cpu_seconds") and done["roundtrips"] else None)}


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
    parser.add_argument("--scenario", default="ping", metavar="MODULE:CLASS",
                        help="the load: package.module:Class or path/to/file.py:Class (see "
                             "ipv8fast.testing.scenario); default: the built-in ping")
    parser.add_argument("--caches", type=int, default=100_000, help="pending caches timing out over the run")
    parser.add_argument("--peers", type=int, default=10, help="communities exchanging signed requests (>= 2)")
    parser.add_argument("--processes", type=int, default=1,
                        help="spread the peers over this many processes (1 to --peers; default 1)")
    parser.add_argument("--duration", type=int, default=20, help="seconds of load per implementation")
    parser.add_argument("--window", type=int, default=4, help="signed requests in flight per peer")
    parser.add_argument("--crypto-threads", type=int, default=None, metavar="N",
                        help="ipv8fast: signature-verification threads per endpoint (default: as IPv8, one per "
                             "core beyond the first; 0 verifies on the loop thread)")
    parser.add_argument("--impl", choices=sorted(IMPLS), default="ipv8fast")
    parser.add_argument("--compare", action="store_true", help="run py-ipv8 then ipv8fast, both on one plot")
    parser.add_argument("--csv", default="loadtest.csv", help="per-second figures (default: loadtest.csv)")
    parser.add_argument("--plot", default="loadtest.png", help="PNG of the four series (needs matplotlib)")
    parser.add_argument("--max-memory-mb", type=float, default=None,
                        help="cap the caches of a run to this estimated size (default: half the available memory)")
    parser.add_argument("--no-progress", action="store_true", help="plain progress lines instead of bars")


def check_arguments(args: argparse.Namespace, parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Refuse nonsense numbers (naming each) before anything starts."""
    problems = [text for bad, text in [
        (args.peers < 2, f"--peers {args.peers}: need at least 2"),
        (args.caches < 0, f"--caches {args.caches}: cannot be negative"),
        (not 1 <= args.duration <= 3600, f"--duration {args.duration}: need 1 to 3600 seconds"),
        (args.window < 1, f"--window {args.window}: need at least 1 request in flight"),
        (args.crypto_threads is not None and not 0 <= args.crypto_threads <= 64,
         f"--crypto-threads {args.crypto_threads}: need 0 to 64"),
        (args.processes < 1, f"--processes {args.processes}: need at least 1"),
        (args.processes > max(args.peers, 1), f"--processes {args.processes}: more processes than --peers "
                                              f"{args.peers} (each process needs a peer)"),
        (args.max_memory_mb is not None and args.max_memory_mb <= 0,
         f"--max-memory-mb {args.max_memory_mb}: must be positive")] if bad]
    if problems:
        parser.error("; ".join(problems))
    if args.max_memory_mb is None:
        args.max_memory_mb = (available_mb() or 8192) / 2
    if args.crypto_threads is None:
        from ipv8fast.configuration import default_crypto_threads  # the parent side runs inside ipv8fast

        args.crypto_threads = default_crypto_threads()
    return args


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ipv8fast loadtest", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return parser


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = make_parser()
    return check_arguments(parser.parse_args(argv), parser)


def main(argv: list[str] | None = None) -> int:
    """Entry point of this file run as a script (the loadtest children run it so)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["--child"], ["--check"]):
        return child(argv)
    parser = make_parser()
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
    try:
        name = check_scenario(impls, args.scenario)
    except scenario_api.ScenarioError as error:
        parser.error(str(error))
    runs = []
    for impl in impls:
        capped = min(args.caches, int(args.max_memory_mb * 2 ** 20 / EST_BYTES[impl]))
        spread = "" if args.processes == 1 else f" in {args.processes} processes"
        threads = f", crypto_threads {args.crypto_threads}" if impl == "ipv8fast" else ""
        print(f"{IMPLS[impl]}: scenario {name}, {capped:,} caches, {args.peers} peers{spread} x {args.window} "
              f"requests in flight, {args.duration} s on 127.0.0.1{threads}", flush=True)
        try:
            runs.append(run_child(impl, capped, args.caches, args, name))
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    write_csv(args.csv, runs)
    print_summary(runs)
    print(f"\nper-second figures: {args.csv}")
    title = (f"ipv8fast loadtest ({name}): {args.peers} peers, {args.window} in flight each, "
             + " vs ".join(f"{IMPLS[r.impl]} {r.caches:,} caches" for r in runs))
    if args.plot:
        if write_plot(args.plot, runs, title):
            print(f"plot: {args.plot}")
        else:
            print("plot skipped: matplotlib is not installed (pip install 'ipv8fast[plot]')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
