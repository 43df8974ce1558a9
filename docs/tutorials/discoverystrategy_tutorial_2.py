"""A custom DiscoveryStrategy named in a raw configuration dictionary: the community maps the name to the
class in ``get_available_strategies``. The peers bootstrap from a tracker this program runs on 127.0.0.1
(the default tracker entry, with its addresses replaced); ``TUTORIAL_TIMEOUT`` bounds the run."""
import asyncio
import os

from ipv8fast import (
    Community,
    DiscoveryStrategy,
    IPv8,
    UDPEndpoint,
    get_default_configuration,
)
from ipv8fast.configuration import DISPERSY_BOOTSTRAPPER
from ipv8fast.tracker import Tracker

TIMEOUT = float(os.environ.get("TUTORIAL_TIMEOUT", "10"))


class MyDiscoveryStrategy(DiscoveryStrategy):
    def take_step(self) -> None:
        with self.walk_lock:
            for peer in self.overlay.get_peers():
                self.overlay.send_introduction_request(peer)


class MyCommunity(Community):
    community_id = b"discovery-tutorial-2"

    def get_available_strategies(self) -> dict:
        return {"MyDiscoveryStrategy": MyDiscoveryStrategy}


def make_config(index: int, tracker_port: int) -> dict:
    config = get_default_configuration()
    config["interfaces"] = [{"interface": "UDPIPv4", "ip": "127.0.0.1", "port": 0}]
    config["keys"] = [{"alias": "anonymous id", "generation": "curve25519", "file": f"key{index}.pem"}]
    bootstrapper = DISPERSY_BOOTSTRAPPER.copy()
    bootstrapper["init"] = {**bootstrapper["init"], "ip_addresses": [("127.0.0.1", tracker_port)],
                            "dns_addresses": []}
    config["overlays"] = [{
        "class": "MyCommunity",
        "key": "anonymous id",
        "walkers": [{"strategy": "RandomWalk", "peers": 10, "init": {"timeout": 3.0}},
                    {"strategy": "MyDiscoveryStrategy", "peers": -1, "init": {}}],
        "bootstrappers": [bootstrapper],
        "initialize": {},
        "on_start": [],
    }]
    return config


async def main() -> None:
    tracker_endpoint = UDPEndpoint(0, "127.0.0.1")
    await tracker_endpoint.open()
    tracker = Tracker(tracker_endpoint)
    tracker.start()
    port = tracker_endpoint.get_address()[1]
    nodes = [IPv8(make_config(i, port), extra_communities={"MyCommunity": MyCommunity}) for i in range(2)]
    for node in nodes:
        await node.start()
    overlays = [node.get_overlay(MyCommunity) for node in nodes]
    walkers = [sorted(type(s).__name__ for s, _ in node.strategies) for node in nodes]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while loop.time() < deadline and not all(overlay.get_peers() for overlay in overlays):
        await asyncio.sleep(0.05)
    print("strategies", walkers[0])
    print("peers", [len(overlay.get_peers()) for overlay in overlays])
    for node in nodes:
        await node.stop()
    await tracker.stop()
    tracker_endpoint.close()


asyncio.run(main())
