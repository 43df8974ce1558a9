"""RequestCache in a community: two peers ping each other; a pong is matched to its ping through
``retrieve_cache`` and a replayed pong (the cache is already gone) is silently ignored.

Bootstraps from the default trackers; ``TUTORIAL_TIMEOUT`` (seconds, default 10) bounds the run.
"""
import asyncio
import os

from ipv8.community import Community
from ipv8.configuration import (
    ConfigBuilder,
    Strategy,
    WalkerDefinition,
    default_bootstrap_defs,
)
from ipv8.lazy_community import lazy_wrapper, retrieve_cache
from ipv8.messaging.lazy_payload import VariablePayload, vp_compile
from ipv8.requestcache import RandomNumberCacheWithName, RequestCache
from ipv8_service import IPv8

TIMEOUT = float(os.environ.get("TUTORIAL_TIMEOUT", "10"))


@vp_compile
class Ping(VariablePayload):
    msg_id = 1
    format_list = ["H", "I"]
    names = ["identifier", "value"]


@vp_compile
class Pong(VariablePayload):
    msg_id = 2
    format_list = ["H", "I"]
    names = ["identifier", "value"]


class PingCache(RandomNumberCacheWithName):
    name = "ping"

    def __init__(self, request_cache: RequestCache, value: int) -> None:
        super().__init__(request_cache, self.name)
        self.value = value


class PingCommunity(Community):
    community_id = b"rc-tutorial-3-pings!"

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.request_cache = RequestCache()
        self.pongs_received = 0
        self.answers: list[str] = []
        self.add_message_handler(1, self.on_ping)
        self.add_message_handler(2, self.on_pong_packet)

    def started(self) -> None:
        self.register_task("send", self.send)

    async def send(self) -> None:
        while not self.get_peers():
            await asyncio.sleep(0.05)
        cache = self.request_cache.add(PingCache(self.request_cache, 7))
        if cache is not None:
            self.ez_send(self.get_peers()[0], Ping(cache.number, cache.value))

    @lazy_wrapper(Ping)
    def on_ping(self, peer, payload: Ping) -> None:
        answer = Pong(payload.identifier, payload.value * 6)
        self.ez_send(peer, answer)
        self.ez_send(peer, answer)  # a replay: the second copy finds no cache

    def on_pong_packet(self, source_address, data: bytes) -> None:
        self.pongs_received += 1
        self.on_pong(source_address, data)

    @lazy_wrapper(Pong)
    @retrieve_cache(PingCache)
    def on_pong(self, peer, payload: Pong, cache: PingCache) -> None:
        self.answers.append(f"ping {cache.value} answered with {payload.value}")

    async def unload(self) -> None:
        await self.request_cache.shutdown()
        await super().unload()


def make_config(index: int) -> dict:
    builder = ConfigBuilder().clear_keys().clear_overlays()
    builder.add_key("my peer", "medium", f"ec{index}.pem")
    builder.add_overlay("PingCommunity", "my peer", [WalkerDefinition(Strategy.RandomWalk, 10, {"timeout": 3.0})],
                        default_bootstrap_defs, {}, [("started",)])
    return builder.finalize()


async def main() -> None:
    nodes = [IPv8(make_config(i), extra_communities={"PingCommunity": PingCommunity}) for i in range(2)]
    for node in nodes:
        await node.start()
    overlays = [node.get_overlay(PingCommunity) for node in nodes]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while loop.time() < deadline and not all(overlay.pongs_received == 2 for overlay in overlays):
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # room for any further (wrong) answer
    for index, overlay in enumerate(overlays):
        print(f"node {index}: {overlay.pongs_received} pongs received, handled: {overlay.answers}")
    for node in nodes:
        await node.stop()


asyncio.run(main())
