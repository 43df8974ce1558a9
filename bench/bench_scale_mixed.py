"""Scale, side by side: N nodes on 127.0.0.1 bootstrapping from a local tracker (its own process), as
(a) N ipv8fast IPv8 instances in this process, (b) N py-ipv8 instances in subprocesses (several nodes per
subprocess), (c) half and half. Reports the time until every node has >= TARGET peers and the CPU per node
per walker tick (0.5 s) during convergence and in a steady window after it, with py-ipv8 / ipv8fast ratios.

    python bench/bench_scale_mixed.py [--nodes 100] [--target 10] [--timeout 120] [--per-process 25]
                                      [--steady 5] [--populations abc] [--json]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from ipv8fast.discovery_community import DiscoveryCommunity
from ipv8fast.service import IPv8

from bench_scale import node_configuration

HERE = Path(__file__).parent
WALKER_INTERVAL = 0.5
ENV = {"PYTHONPATH": str(HERE.parent)}


async def start_tracker() -> tuple[asyncio.subprocess.Process, int]:
    """``python -m ipv8fast tracker`` on a free loopback port, in its own process."""
    import os

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ipv8fast", "tracker", "--port", "0", "--ip", "127.0.0.1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env={**os.environ, **ENV})
    line = await asyncio.wait_for(process.stdout.readline(), 30)
    return process, int(line.decode().rsplit(":", 1)[1])


class PyIPv8Group:
    """One subprocess running ``count`` py-ipv8 nodes (bench/pyipv8_scale_nodes.py)."""

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
            sys.executable, str(HERE / "pyipv8_scale_nodes.py"), str(tracker_port), str(count),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        return cls(process, count)

    async def _read(self) -> None:
        while line := await self.process.stdout.readline():
            state = json.loads(line)
            if state.get("ready"):
                self.ready.set()
            else:
                self.peers, self.cpu, self.reported = state["peers"], state["cpu"], True

    def go(self) -> None:
        self.process.stdin.write(b"go\n")

    async def close(self) -> None:
        if self.process.returncode is None:
            self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()
        self.reader.cancel()


def split(total: int, per_process: int) -> list[int]:
    groups = -(-total // per_process) if total else 0
    return [total // groups + (1 if i < total % groups else 0) for i in range(groups)]


def per_tick_ms(cpu: float, nodes: int, seconds: float) -> float | None:
    return 1000 * cpu / (nodes * seconds / WALKER_INTERVAL) if nodes and seconds > 0 else None


async def run_population(fast: int, slow: int, target: int, timeout: float, per_process: int = 25,
                         steady: float = 5.0) -> dict[str, Any]:
    """``fast`` ipv8fast nodes here and ``slow`` py-ipv8 nodes in subprocesses; the figures as a dict."""
    tracker, port = await start_tracker()
    groups: list[PyIPv8Group] = []
    nodes: list[IPv8] = []
    try:
        groups = [await PyIPv8Group.spawn(port, count) for count in split(slow, per_process)]
        await asyncio.wait_for(asyncio.gather(*(group.ready.wait() for group in groups)), 120)
        nodes = [IPv8(node_configuration(port, WALKER_INTERVAL)) for _ in range(fast)]
        overlays = [node.get_overlay(DiscoveryCommunity) for node in nodes]

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


POPULATIONS = {"a": ("all ipv8fast", 1.0), "b": ("all py-ipv8", 0.0), "c": ("mixed", 0.5)}


def fmt(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:.3f}{unit}"


def report(results: dict[str, dict[str, Any]]) -> str:
    lines = [f"{'population':<14}{'fast/py':>9}{'converged':>11}{'seconds':>9}{'min/mean peers':>16}"
             f"{'ms/node/tick fast':>19}{'py':>8}{'steady fast':>13}{'py':>8}"]
    for key, r in results.items():
        lines.append(f"{POPULATIONS[key][0]:<14}{r['ipv8fast_nodes']:>4}/{r['pyipv8_nodes']:<4}"
                     f"{r['converged']!s:>11}{r['seconds']:>9.1f}{r['min_peers']:>9}/{r['mean_peers']:<6.1f}"
                     f"{fmt(r['ipv8fast_ms_per_node_tick']):>19}{fmt(r['pyipv8_ms_per_node_tick']):>8}"
                     f"{fmt(r['steady_ipv8fast_ms_per_node_tick']):>13}{fmt(r['steady_pyipv8_ms_per_node_tick']):>8}")
    a, b = results.get("a"), results.get("b")
    if a and b:
        lines.append(f"py-ipv8 / ipv8fast: time to converge {ratio_text(b['seconds'], a['seconds'])}, CPU per node per "
                     f"tick {ratio_text(b['pyipv8_ms_per_node_tick'], a['ipv8fast_ms_per_node_tick'])} (convergence), "
                     f"{ratio_text(b['steady_pyipv8_ms_per_node_tick'], a['steady_ipv8fast_ms_per_node_tick'])} "
                     "(steady)")
    c = results.get("c")
    if c:
        lines.append("mixed: py-ipv8 nodes cost "
                     f"{ratio_text(c['pyipv8_ms_per_node_tick'], c['ipv8fast_ms_per_node_tick'])}"
                     f" the CPU of the ipv8fast nodes next to them (steady "
                     f"{ratio_text(c['steady_pyipv8_ms_per_node_tick'], c['steady_ipv8fast_ms_per_node_tick'])})")
    return "\n".join(lines)


def ratio_text(x: float | None, y: float | None) -> str:
    return f"{x / y:.1f}x" if x and y else "-"


async def run_all(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    results = {}
    for key in args.populations:
        fast = round(args.nodes * POPULATIONS[key][1])
        results[key] = await run_population(fast, args.nodes - fast, args.target, args.timeout, args.per_process,
                                            args.steady)
        print(f"({key}) {POPULATIONS[key][0]}: {'converged' if results[key]['converged'] else 'NOT converged'} in "
              f"{results[key]['seconds']:.1f} s", file=sys.stderr, flush=True)
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--target", type=int, default=10, help="peers every node must reach")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per population")
    parser.add_argument("--per-process", type=int, default=25, help="py-ipv8 nodes per subprocess")
    parser.add_argument("--steady", type=float, default=5.0, help="seconds measured after convergence")
    parser.add_argument("--populations", default="abc", help="any of a (ipv8fast), b (py-ipv8), c (mixed)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = asyncio.run(run_all(args))
    print(json.dumps(results, indent=1) if args.json else report(results))
    return 0 if all(r["converged"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
