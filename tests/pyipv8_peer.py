"""A py-ipv8 IPv8 node (DiscoveryCommunity only) that bootstraps from a tracker on 127.0.0.1.

``python pyipv8_peer.py TRACKER_PORT [COUNT] [SECONDS]`` runs COUNT IPv8 instances in one process and
prints one JSON line per 0.25 s: ``{"ports": [...], "peers": [[port, ...], ...]}``; it exits after SECONDS
or when stdin closes. Written against py-ipv8's public API (the loopback configuration comes from
``ipv8fast.testing.implementations``, the same as the scale scenarios'); run as the reference peer in tests.
"""
from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading

from ipv8.peerdiscovery.community import DiscoveryCommunity
from ipv8_service import IPv8

from ipv8fast.testing.implementations import node_configuration


async def main(tracker_port: int, count: int, seconds: float) -> None:
    logging.disable(logging.CRITICAL)
    from ipv8.messaging.interfaces.lan_addresses.interfaces import get_providers

    get_providers().clear()  # bound to loopback: never advertise the host's LAN address (as TestBase does)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()

    def watch_stdin() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(done.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    nodes = [IPv8(node_configuration("ipv8", tracker_port)) for _ in range(count)]
    for node in nodes:
        await node.start()
    overlays = [node.get_overlay(DiscoveryCommunity) for node in nodes]
    ports = [overlay.endpoint.get_address()[1] for overlay in overlays]
    deadline = loop.time() + seconds
    while not done.is_set() and loop.time() < deadline:
        peers = [sorted(p.address[1] for p in overlay.get_peers()) for overlay in overlays]
        print(json.dumps({"ports": ports, "peers": peers}), flush=True)
        try:
            await asyncio.wait_for(done.wait(), 0.25)
        except asyncio.TimeoutError:
            pass
    for node in nodes:
        await node.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1,
                     float(sys.argv[3]) if len(sys.argv) > 3 else 60.0))
