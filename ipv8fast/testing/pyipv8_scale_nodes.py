"""COUNT py-ipv8 IPv8 nodes (DiscoveryCommunity, the scale benchmark's walkers) in one process, for
:func:`ipv8fast.testing.loopback.run_population`: a script, never imported, and it never imports the
ipv8fast package (fair CPU figures): run it with ``implementations.script_command(path, TRACKER_PORT, COUNT
[, MAX_SECONDS])`` (a plain ``python pyipv8_scale_nodes.py`` would put this folder on sys.path, where
``ipv8.py`` hides py-ipv8).

Builds the nodes, prints ``{"ready": true}``, waits for a ``go`` line on stdin, starts them, then prints one
JSON line every 0.25 s: ``{"peers": [count per node], "cpu": process CPU seconds since go}``. Exits when
stdin closes or after MAX_SECONDS (default 300). Written against py-ipv8's public API.
"""
from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import sys
import time
from pathlib import Path
from types import ModuleType

from ipv8.messaging.interfaces.lan_addresses.interfaces import get_providers
from ipv8.peerdiscovery.community import DiscoveryCommunity
from ipv8_service import IPv8


def load_implementations() -> ModuleType:
    """implementations.py next to this file, loaded by path: this process never imports the ipv8fast package."""
    spec = importlib.util.spec_from_file_location("ipv8fast_implementations", Path(__file__).with_name(
        "implementations.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def main(tracker_port: int, count: int, max_seconds: float) -> None:
    logging.disable(logging.CRITICAL)
    get_providers().clear()  # bound to loopback: do not advertise the host's LAN address (as TestBase does)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    configuration = load_implementations().node_configuration
    nodes = [IPv8(configuration("ipv8", tracker_port)) for _ in range(count)]
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
