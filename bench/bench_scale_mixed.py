"""Scale, side by side: N nodes on 127.0.0.1 bootstrapping from a local tracker (its own process), as
(a) N ipv8fast IPv8 instances in this process, (b) N py-ipv8 instances in subprocesses (several nodes per
subprocess), (c) half and half. Reports the time until every node has >= TARGET peers and the CPU per node
per walker tick (0.5 s) during convergence and in a steady window after it, with py-ipv8 / ipv8fast ratios
(the scenario is ``ipv8fast.testing.loopback.run_population``).

    python bench/bench_scale_mixed.py [--nodes 100] [--target 10] [--timeout 120] [--per-process 25]
                                      [--steady 5] [--populations abc] [--json]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

# Run as a script, the checkout's own ipv8fast comes first (not another one installed).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ipv8fast.testing.loopback import run_population

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
