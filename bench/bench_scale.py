"""Scale: N IPv8 instances (DiscoveryCommunity, default walkers) in one process on 127.0.0.1 with a local
tracker; reports the time until every node has >= TARGET peers and the CPU time per dispatcher tick
(the scenario is ``ipv8fast.testing.loopback.converge``).

    python bench/bench_scale.py [N=100] [TARGET=10] [TIMEOUT=120]
"""
from __future__ import annotations

import asyncio
import os
import sys

# Run as a script, the checkout's own ipv8fast comes first (not another one installed).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ipv8fast.testing.loopback import converge


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 100
    target = int(argv[1]) if len(argv) > 1 else 10
    timeout = float(argv[2]) if len(argv) > 2 else 120.0
    result = asyncio.run(converge(count, target, timeout))
    print(f"{result['nodes']} nodes, target {result['target']} peers: "
          f"{'converged' if result['converged'] else 'NOT converged'} in {result['seconds']:.1f} s "
          f"(min {result['min_peers']}, mean {result['mean_peers']:.1f} peers); "
          f"CPU {result['cpu_seconds']:.2f} s = {result['cpu_ms_per_node_tick']:.3f} ms per node per tick; "
          f"drops {result['drops']}")
    return 0 if result["converged"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
