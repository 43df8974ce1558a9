"""A py-ipv8-style program (written for ipv8fast's tests from the tutorial description, api.md §26):
a custom DiscoveryStrategy in a raw-dict overlay definition on the default configuration, two nodes."""
import asyncio
import os
import sys

from ipv8.community import Community
from ipv8.configuration import DISPERSY_BOOTSTRAPPER, get_default_configuration
from ipv8.peerdiscovery.discovery import DiscoveryStrategy
from ipv8_service import IPv8


class MyDiscoveryStrategy(DiscoveryStrategy):
    def take_step(self):
        with self.walk_lock:
            for peer in self.overlay.get_peers():
                self.overlay.send_introduction_request(peer)


class MyCommunity(Community):
    community_id = b"compat-program-00001"

    def get_available_strategies(self):
        return {"MyDiscoveryStrategy": MyDiscoveryStrategy}


async def start_communities():
    nodes = []
    for i in range(2):
        config = get_default_configuration()
        config["keys"] = [{"alias": "my peer", "generation": "curve25519", "file": f"ec{i}.pem"}]
        config["overlays"] = [{
            "class": "MyCommunity",
            "key": "my peer",
            "walkers": [{"strategy": "RandomWalk", "peers": 10, "init": {"timeout": 3.0}},
                        {"strategy": "MyDiscoveryStrategy", "peers": -1, "init": {}}],
            "bootstrappers": [DISPERSY_BOOTSTRAPPER.copy()],
            "initialize": {},
            "on_start": [],
        }]
        ipv8 = IPv8(config, extra_communities={"MyCommunity": MyCommunity})
        await ipv8.start()
        nodes.append(ipv8)
    overlays = [node.get_overlay(MyCommunity) for node in nodes]
    for _ in range(200):
        if all(len(overlay.get_peers()) == 1 for overlay in overlays):
            break
        await asyncio.sleep(0.05)
    print("peers", [len(overlay.get_peers()) for overlay in overlays], flush=True)
    print("service module", sys.modules[IPv8.__module__].__name__ if IPv8.__module__ in sys.modules else "?")
    print("key files", sorted(f for f in os.listdir(".") if f.endswith(".pem")))
    for node in nodes:
        await node.stop()


asyncio.run(start_communities())
