"""Message ids on the payloads: handlers registered by class, packets built with ``ezr_pack(Cls.msg_id, ...)``
or sent with ``ez_send``. Two nodes on 127.0.0.1, no tracker."""
import asyncio

from ipv8fast import (
    Community,
    ConfigBuilder,
    IPv8,
    VariablePayload,
    lazy_wrapper,
    vp_compile,
)


@vp_compile
class Greeting(VariablePayload):
    msg_id = 1
    format_list = ["varlenHutf8"]
    names = ["text"]


@vp_compile
class Count(VariablePayload):
    msg_id = 2
    format_list = ["I"]
    names = ["value"]


class MyCommunity(Community):
    community_id = b"serialization-3-demo"

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.received: list = []
        self.add_message_handler(Greeting, self.on_greeting)
        self.add_message_handler(Count, self.on_count)

    @lazy_wrapper(Greeting)
    def on_greeting(self, peer, payload: Greeting) -> None:
        self.received.append(payload.text)

    @lazy_wrapper(Count)
    def on_count(self, peer, payload: Count) -> None:
        self.received.append(payload.value)


def make_config() -> dict:
    builder = ConfigBuilder().clear_keys().clear_overlays().set_address("127.0.0.1").set_port(0)
    builder.add_ephemeral_key("anonymous id")
    builder.add_overlay("MyCommunity", "anonymous id", [], [], {}, [])
    return builder.finalize()


async def main() -> None:
    nodes = [IPv8(make_config(), extra_communities={"MyCommunity": MyCommunity}) for _ in range(2)]
    for node in nodes:
        await node.start()
    first, second = (node.get_overlay(MyCommunity) for node in nodes)
    second.walk_to(first.endpoint.get_address())
    for _ in range(100):
        if second.get_peers():
            break
        await asyncio.sleep(0.05)
    peer = second.get_peers()[0]
    second.endpoint.send(peer.address, second.ezr_pack(Greeting.msg_id, Greeting("hello")))
    await asyncio.sleep(0.1)
    second.ez_send(peer, Count(42))
    for _ in range(100):
        if len(first.received) == 2:
            break
        await asyncio.sleep(0.05)
    print("received", first.received)
    for node in nodes:
        await node.stop()


asyncio.run(main())
