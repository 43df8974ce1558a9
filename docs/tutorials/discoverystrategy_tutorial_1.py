"""A custom DiscoveryStrategy registered with ``IPv8.add_strategy``: every step it sends an introduction
request to each known peer, which keeps the peers alive. Two nodes on 127.0.0.1, no tracker: the second
node is shown the first one's address once."""
import asyncio

from ipv8fast import Community, ConfigBuilder, DiscoveryStrategy, IPv8


class MyDiscoveryStrategy(DiscoveryStrategy):
    def __init__(self, overlay) -> None:
        super().__init__(overlay)
        self.steps = 0

    def take_step(self) -> None:
        with self.walk_lock:
            self.steps += 1
            for peer in self.overlay.get_peers():
                self.overlay.send_introduction_request(peer)


class MyCommunity(Community):
    community_id = b"discovery-tutorial-1"


def make_config() -> dict:
    builder = ConfigBuilder().clear_keys().clear_overlays().set_address("127.0.0.1").set_port(0)
    builder.add_ephemeral_key("anonymous id")
    builder.add_overlay("MyCommunity", "anonymous id", [], [], {}, [])
    return builder.finalize()


async def main() -> None:
    nodes = [IPv8(make_config(), extra_communities={"MyCommunity": MyCommunity}) for _ in range(2)]
    strategies = []
    for node in nodes:
        await node.start()
        overlay = node.get_overlay(MyCommunity)
        strategy = MyDiscoveryStrategy(overlay)
        node.add_strategy(overlay, strategy, -1)
        strategies.append(strategy)
    overlays = [node.get_overlay(MyCommunity) for node in nodes]
    overlays[1].walk_to(overlays[0].endpoint.get_address())
    for _ in range(100):
        if all(len(overlay.get_peers()) == 1 for overlay in overlays) and all(s.steps > 2 for s in strategies):
            break
        await asyncio.sleep(0.1)
    print("peers", [len(overlay.get_peers()) for overlay in overlays])
    print("strategies stepped", all(strategy.steps > 2 for strategy in strategies))
    for node in nodes:
        await node.stop()


asyncio.run(main())
