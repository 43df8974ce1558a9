"""Loopback scale scenarios: many IPv8 nodes (DiscoveryCommunity, the default walkers) on 127.0.0.1,
bootstrapping from a local tracker, for your own tests and benchmarks (ipv8fast's ``tests/test_scale*.py``
and ``bench/bench_scale*.py`` run these)::

    from ipv8fast.testing.loopback import converge, node_configuration, run_population

    result = asyncio.run(converge(30, target=10, timeout=40.0))        # 30 ipv8fast nodes in this process
    assert result["converged"] and result["drops"] == 0
    mixed = asyncio.run(run_population(10, 10, target=5, timeout=55.0, per_process=10, steady=0.0))

- :func:`node_configuration` one node's configuration (give it to ``IPv8(...)``);
- :func:`converge` ``count`` ipv8fast nodes and an in-process :class:`~ipv8fast.tracker.Tracker`: the time
  until every node has ``target`` peers, the CPU per node per walker tick, the messages dropped;
- :func:`run_population` ``fast`` ipv8fast nodes in this process next to ``slow`` py-ipv8 nodes in
  subprocesses (``pyipv8_scale_nodes.py``, ``per_process`` nodes each; needs ``pyipv8``) and a
  ``python -m ipv8fast tracker`` process: the same figures per library, and a steady window after
  convergence.

Every socket is bound to 127.0.0.1 and the only bootstrap address is the local tracker: nothing leaves
the machine. Figures are plain dicts (see each function).
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from ..discovery_community import DiscoveryCommunity
from ..service import IPv8
from ..tracker import Tracker
from ..udp_endpoint import UDPEndpoint
from . import implementations

__all__ = ["WALKER_INTERVAL", "converge", "discovery_overlay", "node_configuration", "run_population"]

#: Seconds between walker ticks, as in py-ipv8's default configuration; the CPU figures are per tick.
WALKER_INTERVAL = 0.5
NODE_SCRIPT = Path(__file__).with_name("pyipv8_scale_nodes.py")
#: ``python -m ipv8fast`` in a subprocess finds this ipv8fast (a checkout or the installed one).
PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])


def node_configuration(tracker_port: int, walker_interval: float = WALKER_INTERVAL,
                       log_level: str | None = "ERROR") -> dict[str, Any]:
    """One ipv8fast node: an ephemeral key, DiscoveryCommunity with RandomWalk (20 peers), RandomChurn and
    PeriodicSimilarity, bootstrapping only from the tracker on ``127.0.0.1:tracker_port``; the py-ipv8 nodes
    of :func:`run_population` get the very same configuration. ``log_level`` None leaves logging alone."""
    return implementations.node_configuration("ipv8fast", tracker_port, walker_interval, log_level)


def per_tick_ms(cpu: float, nodes: int, seconds: float) -> float | None:
    """CPU milliseconds per node per walker tick, None without nodes or time."""
    return 1000 * cpu / (nodes * seconds / WALKER_INTERVAL) if nodes and seconds > 0 else None


def discovery_overlay(node: IPv8) -> DiscoveryCommunity:
    """The node's DiscoveryCommunity (every node of :func:`node_configuration` has one)."""
    overlay = node.get_overlay(DiscoveryCommunity)
    if overlay is None:
        raise LookupError("this IPv8 node runs no DiscoveryCommunity")
    return overlay


async def converge(count: int, target: int, timeout: float) -> dict[str, Any]:
    """Start ``count`` ipv8fast nodes and a tracker in this process; wait (at most ``timeout`` s) until each
    node has ``target`` peers. Returns ``nodes``, ``target``, ``converged``, ``seconds``, ``min_peers``,
    ``mean_peers``, ``cpu_seconds``, ``cpu_ms_per_node_tick`` and ``drops`` (messages the nodes dropped)."""
    endpoint = UDPEndpoint(0, "127.0.0.1")
    await endpoint.open()
    tracker = Tracker(endpoint)
    tracker.start()
    nodes = [IPv8(node_configuration(endpoint.get_address()[1])) for _ in range(count)]
    overlays = [discovery_overlay(node) for node in nodes]
    started = time.monotonic()
    cpu_start = time.process_time()
    try:
        for node in nodes:
            await node.start()
        counts = [0] * count
        while time.monotonic() - started < timeout:
            counts = [len(overlay.get_peers()) for overlay in overlays]
            if min(counts) >= target:
                break
            await asyncio.sleep(0.1)
        elapsed = time.monotonic() - started
        cpu = time.process_time() - cpu_start
        ticks = max(elapsed / WALKER_INTERVAL, 1) * count
        return {"nodes": count, "target": target, "converged": min(counts) >= target, "seconds": elapsed,
                "min_peers": min(counts), "mean_peers": sum(counts) / count, "cpu_seconds": cpu,
                "cpu_ms_per_node_tick": 1000 * cpu / ticks,
                "drops": sum(sum(o.drops.values()) for o in overlays)}
    finally:
        for node in nodes:
            await node.stop()
        await tracker.stop()
        endpoint.close()


async def start_tracker() -> tuple[asyncio.subprocess.Process, int]:
    """``python -m ipv8fast tracker`` on a free loopback port, in its own process."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ipv8fast", "tracker", "--port", "0", "--ip", "127.0.0.1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": PACKAGE_PARENT})
    line = await asyncio.wait_for(process.stdout.readline(), 30)  # type: ignore[union-attr]
    return process, int(line.decode().rsplit(":", 1)[1])


class PyIPv8Group:
    """One subprocess running ``count`` py-ipv8 nodes (pyipv8_scale_nodes.py)."""

    def __init__(self, process: asyncio.subprocess.Process, count: int) -> None:
        self.process = process
        self.peers = [0] * count
        self.cpu = 0.0
        self.reported = False
        self.ready = asyncio.Event()
        self.reader = asyncio.ensure_future(self._read())

    @classmethod
    async def spawn(cls, tracker_port: int, count: int) -> PyIPv8Group:
        process = await asyncio.create_subprocess_exec(
            *implementations.script_command(str(NODE_SCRIPT), str(tracker_port), str(count)),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        return cls(process, count)

    async def _read(self) -> None:
        while line := await self.process.stdout.readline():  # type: ignore[union-attr]
            state = json.loads(line)
            if state.get("ready"):
                self.ready.set()
            else:
                self.peers, self.cpu, self.reported = state["peers"], state["cpu"], True

    def go(self) -> None:
        self.process.stdin.write(b"go\n")  # type: ignore[union-attr]

    async def close(self) -> None:
        if self.process.returncode is None:
            self.process.stdin.close()  # type: ignore[union-attr]
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()
        self.reader.cancel()


def split(total: int, per_process: int) -> list[int]:
    """``total`` nodes in groups of at most ``per_process``, as even as possible."""
    groups = -(-total // per_process) if total else 0
    return [total // groups + (1 if i < total % groups else 0) for i in range(groups)]


async def run_population(fast: int, slow: int, target: int, timeout: float, per_process: int = 25,
                         steady: float = 5.0) -> dict[str, Any]:
    """``fast`` ipv8fast nodes here and ``slow`` py-ipv8 nodes in subprocesses, one tracker process; wait (at
    most ``timeout`` s) until every node has ``target`` peers, then measure ``steady`` s more. Returns
    ``ipv8fast_nodes``, ``pyipv8_nodes``, ``target``, ``converged``, ``seconds``, ``min_peers``,
    ``mean_peers``, ``ipv8fast_ms_per_node_tick`` / ``pyipv8_ms_per_node_tick`` (during convergence),
    ``steady_seconds`` and ``steady_ipv8fast_ms_per_node_tick`` / ``steady_pyipv8_ms_per_node_tick``
    (None where a library has no nodes or there was no steady window)."""
    tracker, port = await start_tracker()
    groups: list[PyIPv8Group] = []
    nodes: list[IPv8] = []
    try:
        groups = [await PyIPv8Group.spawn(port, count) for count in split(slow, per_process)]
        await asyncio.wait_for(asyncio.gather(*(group.ready.wait() for group in groups)), 120)
        nodes = [IPv8(node_configuration(port, WALKER_INTERVAL)) for _ in range(fast)]
        overlays = [discovery_overlay(node) for node in nodes]

        def counts() -> list[int]:
            return [len(o.get_peers()) for o in overlays] + [n for group in groups for n in group.peers]

        started, cpu_start = time.monotonic(), time.process_time()
        for group in groups:
            group.go()
        for node in nodes:
            await node.start()
        converged = False
        while not converged and time.monotonic() - started < timeout:
            await asyncio.sleep(0.1)
            converged = all(group.reported for group in groups) and min(counts()) >= target
        seconds = time.monotonic() - started
        fast_cpu, slow_cpu = time.process_time() - cpu_start, sum(group.cpu for group in groups)
        final = counts()
        steady_start, steady_fast, steady_slow = time.monotonic(), time.process_time(), slow_cpu
        if converged and steady > 0:
            await asyncio.sleep(steady)
        window = time.monotonic() - steady_start
        return {"ipv8fast_nodes": fast, "pyipv8_nodes": slow, "target": target, "converged": converged,
                "seconds": seconds, "min_peers": min(final), "mean_peers": sum(final) / len(final),
                "ipv8fast_ms_per_node_tick": per_tick_ms(fast_cpu, fast, seconds),
                "pyipv8_ms_per_node_tick": per_tick_ms(slow_cpu, slow, seconds),
                "steady_seconds": window if converged else 0.0,
                "steady_ipv8fast_ms_per_node_tick":
                    per_tick_ms(time.process_time() - steady_fast, fast, window) if converged else None,
                "steady_pyipv8_ms_per_node_tick":
                    per_tick_ms(sum(g.cpu for g in groups) - steady_slow, slow, window) if converged else None}
    finally:
        for node in nodes:
            await node.stop()
        await asyncio.gather(*(group.close() for group in groups))
        tracker.terminate()
        await tracker.wait()
