"""COUNT py-ipv8 IPv8 nodes (DiscoveryCommunity, the scale benchmark's walkers) in one process, for
bench_scale_mixed.py: ``python pyipv8_scale_nodes.py TRACKER_PORT COUNT [MAX_SECONDS]``.

Builds the nodes, prints ``{"ready": true}``, waits for a ``go`` line on stdin, starts them, then prints one
JSON line every 0.25 s: ``{"peers": [count per node], "cpu": process CPU seconds since go}``. Exits when
stdin closes or after MAX_SECONDS (default 300). Written against py-ipv8's public API.
"""
from __future__ import annotations

import asyncio
import json
import logging
import sys
import time

from ipv8.configuration import (
    Bootstrapper,
    BootstrapperDefinition,
    ConfigBuilder,
    Strategy,
    WalkerDefinition,
)
from ipv8.messaging.interfaces.lan_addresses.interfaces import get_providers
from ipv8.peerdiscovery.community import DiscoveryCommunity
from ipv8_service import IPv8


def configuration(tracker_port: int) -> dict:
    builder = ConfigBuilder().clear_keys().clear_overlays().set_address("127.0.0.1").set_port(0)
    builder.add_ephemeral_key("me").set_walker_interval(0.5).set_log_level("ERROR")
    builder.add_overlay("DiscoveryCommunity", "me",
                        [WalkerDefinition(Strategy.RandomWalk, 20, {"timeout": 3.0}),
                         WalkerDefinition(Strategy.RandomChurn, -1, {}),
                         WalkerDefinition(Strategy.PeriodicSimilarity, -1, {})],
                        [BootstrapperDefinition(Bootstrapper.DispersyBootstrapper,
                                                {"ip_addresses": [("127.0.0.1", tracker_port)],
                                                 "dns_addresses": [], "bootstrap_timeout": 5.0})], {}, [])
    return builder.finalize()


async def main(tracker_port: int, count: int, max_seconds: float) -> None:
    logging.disable(logging.CRITICAL)
    get_providers().clear()  # bound to loopback: do not advertise the host's LAN address (as TestBase does)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    nodes = [IPv8(configuration(tracker_port)) for _ in range(count)]
    print(json.dumps({"ready": True}), flush=True)
    if (await asyncio.wait_for(reader.readline(), max_seconds)).strip() != b"go":
        return
    cpu_start = time.process_time()
    for node in nodes:
        await node.start()
    overlays = [node.get_overlay(DiscoveryCommunity) for node in nodes]
    stdin_closed = asyncio.ensure_future(reader.read())
    deadline = loop.time() + max_seconds
    while not stdin_closed.done() and loop.time() < deadline:
        print(json.dumps({"peers": [len(o.get_peers()) for o in overlays], "cpu": time.process_time() - cpu_start}),
              flush=True)
        await asyncio.wait([stdin_closed], timeout=0.25)
    for node in nodes:
        await node.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 300.0))
