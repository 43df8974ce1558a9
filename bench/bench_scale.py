"""Scale: N IPv8 instances (DiscoveryCommunity, default walkers) in one process on 127.0.0.1 with a local
tracker; reports the time until every node has >= TARGET peers and the CPU time per dispatcher tick.

    python bench/bench_scale.py [N=100] [TARGET=10] [TIMEOUT=120]
"""
from __future__ import annotations

import asyncio
import sys
import time

from ipv8fast.configuration import Bootstrapper, BootstrapperDefinition, ConfigBuilder, Strategy, WalkerDefinition
from ipv8fast.discovery_community import DiscoveryCommunity
from ipv8fast.endpoint import UDPEndpoint
from ipv8fast.service import IPv8
from ipv8fast.tracker import Tracker


def node_configuration(tracker_port: int, walker_interval: float = 0.5, log_level: str | None = "ERROR") -> dict:
    """One node: DiscoveryCommunity with the default walkers, bootstrapping from the tracker on 127.0.0.1."""
    builder = ConfigBuilder().clear_keys().clear_overlays().set_address("127.0.0.1").set_port(0)
    builder.add_ephemeral_key("me").set_walker_interval(walker_interval)
    if log_level is not None:
        builder.set_log_level(log_level)
    builder.add_overlay("DiscoveryCommunity", "me",
                        [WalkerDefinition(Strategy.RandomWalk, 20, {"timeout": 3.0}),
                         WalkerDefinition(Strategy.RandomChurn, -1, {}),
                         WalkerDefinition(Strategy.PeriodicSimilarity, -1, {})],
                        [BootstrapperDefinition(Bootstrapper.DispersyBootstrapper,
                                                {"ip_addresses": [("127.0.0.1", tracker_port)],
                                                 "dns_addresses": [], "bootstrap_timeout": 5.0})], {}, [])
    return builder.finalize()


async def converge(count: int, target: int, timeout: float) -> dict:
    """Start ``count`` nodes and a tracker; wait until each has ``target`` peers; return the figures."""
    endpoint = UDPEndpoint(0, "127.0.0.1")
    await endpoint.open()
    tracker = Tracker(endpoint)
    tracker.start()
    nodes = [IPv8(node_configuration(endpoint.get_address()[1])) for _ in range(count)]
    overlays = [node.get_overlay(DiscoveryCommunity) for node in nodes]
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
        ticks = max(elapsed / 0.5, 1) * count
        return {"nodes": count, "target": target, "converged": min(counts) >= target, "seconds": elapsed,
                "min_peers": min(counts), "mean_peers": sum(counts) / count, "cpu_seconds": cpu,
                "cpu_ms_per_node_tick": 1000 * cpu / ticks,
                "drops": sum(sum(o.drops.values()) for o in overlays)}
    finally:
        for node in nodes:
            await node.stop()
        await tracker.stop()
        endpoint.close()


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
