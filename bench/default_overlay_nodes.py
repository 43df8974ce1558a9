"""N IPv8 services with py-ipv8's default overlays (discovery, hidden tunnels, DHT) on 127.0.0.1, for a while.

    python default_overlay_nodes.py TRACKER_PORT NODES SECONDS                          # real py-ipv8
    python -m ipv8fast.compat default_overlay_nodes.py TRACKER_PORT NODES SECONDS       # on ipv8fast's core

Written against py-ipv8's API only (the real run never imports ipv8fast). Every bootstrapper points at the local
tracker, LAN address discovery is off and datagrams aimed off 127.0.0.0/8 are dropped. Prints one JSON line:
the CPU seconds of this process while the nodes ran (``cpu``, after they started), the wall time, the peers
each node had in each overlay at the end, and the dropped datagrams.
"""
from __future__ import annotations

import asyncio
import ipaddress
import json
import sys
import time
from typing import Any


def _guard() -> list[Any]:
    from ipv8.messaging.interfaces.lan_addresses.interfaces import get_providers
    from ipv8.messaging.interfaces.udp import endpoint

    get_providers().clear()
    dropped: list[Any] = []
    original = endpoint.UDPEndpoint.send

    def send(self: Any, address: Any, packet: bytes) -> None:
        try:
            loopback = ipaddress.ip_address(str(address[0])).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            original(self, address, packet)
        else:
            dropped.append(list(address)[:2])

    endpoint.UDPEndpoint.send = send  # type: ignore[method-assign]
    return dropped


def configuration(tracker_port: int) -> dict[str, Any]:
    """py-ipv8's default configuration on 127.0.0.1 with an ephemeral key and only the local tracker."""
    from ipv8.configuration import ConfigBuilder, get_default_configuration

    config = get_default_configuration()
    config["interfaces"] = [{"interface": "UDPIPv4", "ip": "127.0.0.1", "port": 0}]
    config["keys"] = ConfigBuilder().clear_keys().add_ephemeral_key("anonymous id").finalize()["keys"]
    for block in config["overlays"]:
        block["bootstrappers"] = [{"class": "DispersyBootstrapper",
                                   "init": {"ip_addresses": [("127.0.0.1", tracker_port)], "dns_addresses": []}}]
    return config


async def run(tracker_port: int, count: int, seconds: float) -> dict[str, Any]:
    from ipv8_service import IPv8

    dropped = _guard()
    nodes = [IPv8(configuration(tracker_port)) for _ in range(count)]
    for node in nodes:
        await node.start()
    cpu, wall = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    peers = [[len(overlay.get_peers()) for overlay in node.overlays] for node in nodes]
    for node in nodes:
        await node.stop()
    return {"cpu": cpu, "wall": wall, "peers": peers, "dropped": dropped[:10]}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])))), flush=True)
