"""Several payloads in one message: ``ezr_pack`` with two (empty) payloads and a handler that
unpacks both with ``@lazy_wrapper(P1, P2)``. Two nodes on 127.0.0.1, no tracker."""
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
class Ping1(VariablePayload):
    format_list = []
    names = []


@vp_compile
class Ping2(VariablePayload):
    format_list = []
    names = []


class MyCommunity(Community):
    community_id = b"serialization-2-demo"

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.received: list[str] = []
        self.add_message_handler(1, self.on_message)

    def send_pings(self, peer) -> None:
        packet = self.ezr_pack(1, Ping1(), Ping2())
        self.endpoint.send(peer.address, packet)

    @lazy_wrapper(Ping1, Ping2)
    def on_message(self, peer, payload1: Ping1, payload2: Ping2) -> None:
        self.received.append(f"{type(payload1).__name__} + {type(payload2).__name__}")


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
    second.send_pings(second.get_peers()[0])
    for _ in range(100):
        if first.received:
            break
        await asyncio.sleep(0.05)
    print("received", first.received)
    for node in nodes:
        await node.stop()


asyncio.run(main())
