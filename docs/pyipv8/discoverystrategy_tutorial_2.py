"""A custom DiscoveryStrategy named in a raw configuration dictionary: the community maps the name to the
class in ``get_available_strategies``. Bootstraps from the default trackers."""
import asyncio
import os

from ipv8.community import Community
from ipv8.configuration import DISPERSY_BOOTSTRAPPER, get_default_configuration
from ipv8.peerdiscovery.discovery import DiscoveryStrategy
from ipv8_service import IPv8

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


def make_config(index: int) -> dict:
    config = get_default_configuration()
    config["keys"] = [{"alias": "anonymous id", "generation": "curve25519", "file": f"key{index}.pem"}]
    config["overlays"] = [{
        "class": "MyCommunity",
        "key": "anonymous id",
        "walkers": [{"strategy": "RandomWalk", "peers": 10, "init": {"timeout": 3.0}},
                    {"strategy": "MyDiscoveryStrategy", "peers": -1, "init": {}}],
        "bootstrappers": [DISPERSY_BOOTSTRAPPER.copy()],
        "initialize": {},
        "on_start": [],
    }]
    return config


async def main() -> None:
    nodes = [IPv8(make_config(i), extra_communities={"MyCommunity": MyCommunity}) for i in range(2)]
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


asyncio.run(main())
