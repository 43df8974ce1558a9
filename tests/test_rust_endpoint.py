"""ipv8-rust-tunnels' Endpoint (Rust UDP socket and tunnel data path, a py-ipv8 dependency) as the endpoint of
ipv8fast's IPv8 under the hybrid alias: it subclasses the core Endpoint (``_prefix_map``, ``_logger``,
``notify_listeners``) and TaskManager, opens its socket in Rust on 127.0.0.1 and hands datagrams over from its
worker threads. As py-ipv8 users run it: next to a TunnelCommunity, whose setup hands the Rust socket the
prefixes to deliver when it opens (without one, it delivers nothing, on py-ipv8 too). A second community on it
finds a peer on a plain ipv8fast UDPEndpoint and they exchange signed messages both ways."""
from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from _loop import LoopHarness

pytest.importorskip("ipv8_rust_tunnels", reason="ipv8-rust-tunnels comes with py-ipv8 (the test extra)")

pytestmark = pytest.mark.slow

COMMUNITY_ID = b"RustEndpoint-on-ipv8"  # any 20 bytes


@pytest.fixture
def rust_endpoint_module(hybrid: None) -> Iterator[Any]:
    """``ipv8_rust_tunnels.endpoint`` imported under the alias (its ``ipv8.*`` imports resolve to ipv8fast)."""
    saved = sys.modules.pop("ipv8_rust_tunnels.endpoint", None)
    import ipv8_rust_tunnels.endpoint as module

    yield module
    sys.modules.pop("ipv8_rust_tunnels.endpoint", None)
    if saved is not None:
        sys.modules["ipv8_rust_tunnels.endpoint"] = saved


def test_rust_endpoint_under_ipv8fast_ipv8(rust_endpoint_module: Any) -> None:
    from ipv8.community import Community, CommunitySettings
    from ipv8.configuration import ConfigBuilder
    from ipv8.keyvault.crypto import default_eccrypto
    from ipv8.lazy_community import lazy_wrapper
    from ipv8.messaging.anonymization.community import TunnelCommunity
    from ipv8.messaging.interfaces.endpoint import Endpoint
    from ipv8.messaging.interfaces.udp.endpoint import UDPEndpoint
    from ipv8.messaging.payload_dataclass import DataClassPayload
    from ipv8.peer import Peer
    from ipv8.peerdiscovery.network import Network
    from ipv8_service import IPv8

    import ipv8fast.endpoint
    import ipv8fast.service

    @dataclass
    class Greeting(DataClassPayload[1]):
        text: str

    class Greeter(Community):
        community_id = COMMUNITY_ID

        def __init__(self, settings: CommunitySettings) -> None:
            super().__init__(settings)
            self.greetings: list[str] = []
            self.add_message_handler(Greeting, self.on_greeting)

        @lazy_wrapper(Greeting)
        def on_greeting(self, peer: Peer, payload: Greeting) -> None:
            self.greetings.append(payload.text)

    harness = LoopHarness()

    async def scenario() -> tuple[list[str], list[str], Any, tuple[str, int], dict[str, int]]:
        rust = rust_endpoint_module.Endpoint(0, "127.0.0.1", worker_threads=1)
        assert isinstance(rust, ipv8fast.endpoint.Endpoint) and IPv8 is ipv8fast.service.IPv8
        builder = ConfigBuilder().clear_keys().clear_overlays()
        builder.add_ephemeral_key("me").add_overlay("TunnelCommunity", "me", [], [], {"min_circuits": 0}, [])
        builder.add_overlay("Greeter", "me", [], [], {}, [])
        node = IPv8(builder.finalize(), endpoint_override=rust, extra_communities={"Greeter": Greeter})
        plain_endpoint = UDPEndpoint(0, "127.0.0.1")
        await plain_endpoint.open()
        plain = Greeter(CommunitySettings(my_peer=Peer(default_eccrypto.generate_key("curve25519")),
                                          endpoint=plain_endpoint, network=Network()))
        try:
            await node.start()
            ours = node.get_overlay(Greeter)
            assert node.get_overlay(TunnelCommunity).crypto_endpoint is rust  # the Rust data path is in use
            address = rust.get_address()
            plain.walk_to(("127.0.0.1", address[1]))
            for _ in range(200):
                if ours.get_peers() and plain.get_peers():
                    break
                await asyncio.sleep(0.02)
            assert ours.get_peers() and plain.get_peers(), "no introduction over the Rust endpoint"
            ours.ez_send(ours.get_peers()[0], Greeting("from the Rust endpoint"))
            plain.ez_send(plain.get_peers()[0], Greeting("from a plain UDPEndpoint"))
            for _ in range(200):
                if ours.greetings and plain.greetings:
                    break
                await asyncio.sleep(0.02)
            return ours.greetings, plain.greetings, plain.get_peers()[0].address, address, dict(ours.drops)
        finally:
            await plain.unload()
            plain_endpoint.close()
            await node.stop(stop_loop=False)
            assert not rust.is_open()
            assert isinstance(rust, Endpoint)

    try:
        received, sent, seen_address, rust_address, drops = harness.run(scenario(), timeout=30)
    finally:
        harness.close()
    assert harness.errors == []
    assert received == ["from a plain UDPEndpoint"] and sent == ["from the Rust endpoint"]
    assert seen_address == ("127.0.0.1", rust_address[1]) and rust_address[0] == "127.0.0.1"
    assert sum(drops.values()) == 0, drops
