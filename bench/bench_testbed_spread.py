"""Convergence spread on the emulated testbed (``ipv8fast.testing.netns``; needs root and ``ip``): the short
hostile form of tests/test_testbed.py (HOSTS hosts x PEERS nodes, 50 ms one way + 10 ms jitter, 10 % loss,
fast RandomChurn) run once per seed, with every node's own times: seconds until its first peer and until
TARGET peers, per implementation. "Every node has TARGET peers" is the maximum over the nodes, and its
spread over seeds is wide; the per-node figures show whether one library is slower or one node was unlucky.

    python bench/bench_testbed_spread.py [--seeds 1-6] [--impls ipv8fast,ipv8,ipv8fast,ipv8] [--json]

One scenario at a time (about 15 s each on an idle 2-core machine). Seeds drive the impairment only: keys,
ports and the walks' random choices differ between runs of the same seed.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ipv8fast.testing.netns import Scenario, Testbed, run_scenario, unavailable

FAST_CHURN = {"ping_interval": 1.0, "inactive_time": 2.0, "drop_time": 4.0}
NAMES = {"ipv8fast": "ipv8fast", "ipv8": "py-ipv8"}


def seeds(text: str) -> list[int]:
    if "-" in text:
        first, last = text.split("-")
        return list(range(int(first), int(last) + 1))
    return [int(seed) for seed in text.split(",")]


def run_one(seed: int, args: argparse.Namespace) -> dict[str, Any]:
    impls = args.impls.split(",")
    with Testbed(len(impls)) as bed:
        result = asyncio.run(run_scenario(bed, Scenario(
            impls, peers=args.peers, target=args.target, timeout=args.timeout,
            impairment={"loss": args.loss, "delay": args.delay, "jitter": args.jitter}, churn=FAST_CHURN,
            seed=seed, max_seconds=args.timeout + 30)))
    return {"seed": seed, "by_impl": {impl: {"seconds": r["seconds"], "first_peer": r["first_peer_s"],
                                             "target": r["node_seconds"]} for impl, r in result["by_impl"].items()}}


def summary(runs: list[dict[str, Any]]) -> str:
    def fmt(values: list[float | None]) -> str:
        done = sorted(v for v in values if v is not None)
        if not done:
            return "-"
        p90 = done[min(len(done) - 1, int(0.9 * len(done)))]
        missing = f", {len(values) - len(done)} never" if len(done) < len(values) else ""
        return f"median {statistics.median(done):.1f}, p90 {p90:.1f}, max {done[-1]:.1f}{missing}"

    lines = []
    for impl in sorted({impl for run in runs for impl in run["by_impl"]}, key=lambda impl: impl != "ipv8fast"):
        mine = [run["by_impl"][impl] for run in runs if impl in run["by_impl"]]
        seconds = [r["seconds"] for r in mine]
        per_run = " ".join("-" if s is None else f"{s:.1f}" for s in seconds)
        lines.append(f"{NAMES[impl]:<9} all nodes at target (s), per seed: {per_run}")
        lines.append(f"{'':<9} nodes: first peer {fmt([t for r in mine for t in r['first_peer']])}; "
                     f"target {fmt([t for r in mine for t in r['target']])}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="1-6", help="a range 1-6 or a list 1,5,9")
    parser.add_argument("--impls", default="ipv8fast,ipv8,ipv8fast,ipv8", help="one per host")
    parser.add_argument("--peers", type=int, default=5, help="nodes per host")
    parser.add_argument("--target", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=40.0)
    parser.add_argument("--loss", type=float, default=0.1)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--jitter", type=float, default=0.01)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    reason = unavailable()
    if reason is not None:
        print(f"cannot run the testbed: {reason}", file=sys.stderr)
        return 2
    runs = []
    for seed in seeds(args.seeds):
        runs.append(run_one(seed, args))
        print(f"seed {seed}: " + ", ".join(f"{NAMES[impl]} {fmt_s(r['seconds'])}"
                                           for impl, r in sorted(runs[-1]["by_impl"].items())),
              file=sys.stderr, flush=True)
    print(json.dumps(runs, indent=1) if args.json else summary(runs))
    return 0


def fmt_s(value: float | None) -> str:
    return "not converged" if value is None else f"{value:.1f} s"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
