"""The emulated multi-host testbed, full forms (``ipv8fast.testing.netns``; needs root and ``ip``): HOSTS
network namespaces x PEERS nodes, ipv8fast and py-ipv8 hosts alternating, a tracker in host 0.

(a) clean network: time until every node has >= TARGET peers, CPU per node per walker tick, the peer IPs
    learned (the hosts' 10.213.0.x); (b) the same with DELAY s one way (+ JITTER) and LOSS on every
datagram; (c) on (b), signed request/response through a RequestCache (timeout, retries): share completed;
(d) on (b), one node per implementation restarted on another port: seconds until TARGET nodes know the new
address and until none knows the old one (RandomChurn; ``--churn fast`` pings after 2 s, drops after 4 s,
``--churn default`` is py-ipv8's 27.5 s / 57.5 s); "droppable gone" is until none knows it but as a peer heard
from once only (``last_response`` 0), which RandomChurn never drops ("left once-heard": how many such).

    python bench/bench_testbed.py [--hosts 8] [--peers 25] [--target 10] [--loss 0.1] [--delay 0.05]
                                  [--jitter 0.01] [--requests 50] [--churn fast] [--json]
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

from ipv8fast.testing.netns import Scenario, Testbed, run_scenario, unavailable

CHURN = {"fast": {"ping_interval": 1.0, "inactive_time": 2.0, "drop_time": 4.0}, "default": {}}
NAMES = {"ipv8fast": "ipv8fast", "ipv8": "py-ipv8"}


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def report(runs: dict[str, dict[str, Any]]) -> str:
    lines = [f"{'run':<10}{'impl':<10}{'nodes':>6}{'converged s':>13}{'min/mean peers':>16}{'ms/node/tick':>14}"
             f"{'requests done':>15}{'attempts':>10}{'median ms':>11}{'rediscovered s':>16}{'churned s':>11}"
             f"{'droppable gone s':>18}{'left once-heard':>17}"]
    for label, result in runs.items():
        for impl, r in sorted(result["by_impl"].items(), key=lambda item: item[0] != "ipv8fast"):
            rpc, moved = r.get("rpc") or {}, r.get("restart") or {}
            done = f"{rpc['completed']}/{rpc['requests']}" if rpc else "-"
            lines.append(f"{label:<10}{NAMES[impl]:<10}{r['nodes']:>6}{fmt(r['seconds']):>13}"
                         f"{r['min_peers']:>9}/{r['mean_peers']:<6.1f}{fmt(r['ms_per_node_tick'], '.2f'):>14}"
                         f"{done:>15}{rpc.get('attempts', '-')!s:>10}{fmt(rpc.get('median_ms'), '.0f'):>11}"
                         f"{fmt(moved.get('rediscovered_s')):>16}{fmt(moved.get('churned_s')):>11}"
                         f"{fmt(moved.get('droppable_gone_s')):>18}{moved.get('old_known_silent_by', '-')!s:>17}")
        stats = result["impairment"]
        lines.append(f"{'':<10}peer IPs learned: {', '.join(result['ips'])}; datagrams sent {stats.get('sent', 0)}, "
                     f"dropped {stats.get('dropped', 0)}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--peers", type=int, default=25, help="nodes per host")
    parser.add_argument("--target", type=int, default=10, help="peers every node must reach")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to converge, per run")
    parser.add_argument("--loss", type=float, default=0.1)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds one way")
    parser.add_argument("--jitter", type=float, default=0.01, help="seconds, uniform, added to the delay")
    parser.add_argument("--requests", type=int, default=50, help="signed requests per node")
    parser.add_argument("--churn", choices=sorted(CHURN), default="fast")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    reason = unavailable()
    if reason is not None:
        print(f"cannot run the testbed: {reason}", file=sys.stderr)
        return 2
    impls = [("ipv8fast", "ipv8")[i % 2] for i in range(args.hosts)]
    churn = CHURN[args.churn]
    hostile = {"loss": args.loss, "delay": args.delay, "jitter": args.jitter}
    scenarios = {
        "a clean": Scenario(impls, args.peers, args.target, args.timeout, churn=churn, max_seconds=600),
        "b-d lossy": Scenario(impls, args.peers, args.target, args.timeout, impairment=hostile, churn=churn,
                              rpc={"count": args.requests, "timeout": 1.0, "retries": 4, "window": 4},
                              restart=True, churn_timeout=30.0 if args.churn == "fast" else 120.0,
                              max_seconds=600)}
    runs = {}
    for label, scenario in scenarios.items():
        with Testbed(args.hosts) as bed:
            runs[label] = asyncio.run(run_scenario(bed, scenario))
        print(f"({label}) {'converged' if runs[label]['converged'] else 'NOT converged'} in "
              f"{runs[label]['seconds']:.1f} s", file=sys.stderr, flush=True)
    print(json.dumps(runs, indent=1) if args.json else report(runs))
    return 0 if all(r["converged"] for r in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
