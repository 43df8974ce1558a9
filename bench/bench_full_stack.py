"""py-ipv8's whole default stack, real py-ipv8 against ipv8fast under the hybrid alias: CPU per node.

    python bench/bench_full_stack.py [--nodes 3] [--seconds 20] [--repeat 3] [--json]

Each round starts a local tracker (``python -m ipv8fast tracker``, its own process) and, at the same time, two
processes of ``default_overlay_nodes.py`` with ``--nodes`` IPv8 services each (py-ipv8's default overlays:
DiscoveryCommunity, HiddenTunnelCommunity, DHTDiscoveryCommunity, all on 127.0.0.1): one on the real py-ipv8,
one under ``python -m ipv8fast.compat``. Both sets join the same network for ``--seconds``; each process reports
its CPU time while its nodes ran. Prints the median CPU per node (ms per second of running) of each and the
ratio. py-ipv8's test-suite timings are ``python tests/pyipv8_suite.py --repeat N DHT tunnels``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

# Run as a script, the checkout's own ipv8fast comes first (not another one installed).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ipv8fast.testing.implementations import SCRIPT_RUNNER
from ipv8fast.testing.loopback import PACKAGE_PARENT, start_tracker

NODES_SCRIPT = str(Path(__file__).with_name("default_overlay_nodes.py"))


async def one_round(nodes: int, seconds: float) -> dict[str, dict[str, Any]]:
    """Both implementations' nodes in one network around a fresh tracker; the report of each process."""
    tracker, port = await start_tracker()
    arguments = [NODES_SCRIPT, str(port), str(nodes), str(seconds)]
    commands = {"py-ipv8": [sys.executable, "-c", SCRIPT_RUNNER, *arguments],
                "ipv8fast": [sys.executable, "-m", "ipv8fast.compat", *arguments]}
    env = {**os.environ, "PYTHONPATH": PACKAGE_PARENT}
    try:
        processes = {name: await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                                stderr=asyncio.subprocess.DEVNULL, env=env)
                     for name, command in commands.items()}
        outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in processes.values())),
                                         seconds + 120)
        return {name: json.loads(out.decode().strip().splitlines()[-1])
                for name, (out, _) in zip(processes, outputs, strict=True)}
    finally:
        tracker.terminate()
        await tracker.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the rounds as JSON too")
    options = parser.parse_args(argv)
    rounds = [asyncio.run(one_round(options.nodes, options.seconds)) for _ in range(options.repeat)]
    per_node = {name: statistics.median(1000 * r[name]["cpu"] / (options.nodes * r[name]["wall"]) for r in rounds)
                for name in ("py-ipv8", "ipv8fast")}
    for name, value in per_node.items():
        peers = [r[name]["peers"] for r in rounds]
        print(f"{name:<9} {value:7.2f} ms CPU per node per second   peers per overlay at the end: {peers[-1]}")
    print(f"ratio py-ipv8 / ipv8fast: {per_node['py-ipv8'] / per_node['ipv8fast']:.2f}x "
          f"({options.nodes} + {options.nodes} nodes, {options.seconds:g} s, median of {options.repeat})")
    if any(r[name]["dropped"] for r in rounds for name in r):
        print("datagrams dropped off loopback:", [r[name]["dropped"] for r in rounds for name in r])
    if options.json:
        print(json.dumps(rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
