"""Core internals that py-ipv8's upper layers (tunnels, DHT, attestation) reach into, pinned so that a later
compiled shortcut cannot silently break them: private endpoint attributes, Community hooks, the
serializer's extension points, key exchange and error types. Each test names the upper-layer use."""
from __future__ import annotations

import inspect
import struct
from collections.abc import Iterator
from typing import Any

import pytest

from ipv8fast.community import Community, CommunitySettings
from ipv8fast.endpoint import DispatcherEndpoint, Endpoint, EndpointListener
from ipv8fast.keys import default_eccrypto
from ipv8fast.lazy import lazy_wrapper
from ipv8fast.network import Network
from ipv8fast.payload import VariablePayload, vp_compile
from ipv8fast.peer import Peer
from ipv8fast.serialization import ListOf, PackError, Packer, Serializer, default_serializer
from ipv8fast.testing.endpoint import AutoMockEndpoint

from _loop import LoopHarness


class _Endpoint(Endpoint):
    """The smallest concrete Endpoint: always open, sends nowhere."""

    def assert_open(self) -> None:
        pass

    def is_open(self) -> bool:
        return True

    def get_address(self) -> Any:
        return ("127.0.0.1", 1)

    def send(self, socket_address: Any, packet: bytes) -> None:
        pass

    async def open(self) -> bool:
        return True

    def close(self) -> None:
        pass

    def reset_byte_counters(self) -> None:
        pass


class _Listener(EndpointListener):
    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint)
        self.received: list[tuple[Any, bytes]] = []

    def on_packet(self, packet: tuple[Any, bytes]) -> None:
        self.received.append(packet)


@pytest.fixture
def loop() -> Iterator[LoopHarness]:
    harness = LoopHarness()
    yield harness
    harness.close()


# --- serializer ------------------------------------------------------------------------------------------------

def test_pack_error_is_a_struct_error_and_a_runtime_error() -> None:
    """py-ipv8 users catch ``struct.error`` from the bare packers (py-ipv8's own serializer tests do)."""
    assert issubclass(PackError, struct.error) and issubclass(PackError, RuntimeError)
    with pytest.raises(struct.error):
        default_serializer.get_packer_for("B").pack(256)
    with pytest.raises(struct.error):
        default_serializer.unpack("H", b"\x01")


class _Flags(Packer):
    """A Python packer as the TunnelCommunity adds one (``unpack`` returns the new offset)."""

    def pack(self, data: list[int]) -> bytes:
        return struct.pack(">H", sum(data))

    def unpack(self, data: bytes, offset: int, unpack_list: list, *args: Any) -> int:
        number, = struct.unpack_from(">H", data, offset)
        unpack_list.append([bit for bit in (1, 2, 4, 8, 16) if number & bit])
        return offset + 2


def test_python_packer_via_add_packer_alone_and_in_list_of() -> None:
    """TunnelCommunity: ``add_packer("flags", Flags())``; DHT: ``add_packer("node-list", ListOf(NodePacker))``."""
    serializer = Serializer()
    serializer.add_packer("flags", _Flags())
    serializer.add_packer("flags-list", ListOf(_Flags()))

    @vp_compile
    class Both(VariablePayload):
        msg_id = 1
        format_list = ["flags", "flags-list", "H"]
        names = ["flags", "many", "tail"]

    data = serializer.pack_serializable(Both([1, 4], [[2], [8, 16]], 7))
    assert data == bytes.fromhex("0005") + bytes.fromhex("02" "0002" "0018") + bytes.fromhex("0007")
    unpacked, offset = serializer.unpack_serializable(Both, data)
    assert (unpacked.flags, unpacked.many, unpacked.tail, offset) == ([1, 4], [[2], [8, 16]], 7, len(data))


# --- endpoint --------------------------------------------------------------------------------------------------

def test_endpoint_listener_tables_and_deliver_later() -> None:
    """TunnelEndpoint iterates ``endpoint._listeners`` and hands packets to ``endpoint._deliver_later``."""
    endpoint = _Endpoint()
    general, prefixed = _Listener(endpoint), _Listener(endpoint)
    endpoint.add_listener(general)
    endpoint.add_prefix_listener(prefixed, b"p" * 22)
    assert endpoint._listeners == [general]
    assert endpoint._prefix_map == {b"p" * 22: [prefixed, general]}

    endpoint._deliver_later(general, (("127.0.0.1", 2), b"x" * 23))
    assert general.received == [(("127.0.0.1", 2), b"x" * 23)]
    endpoint._deliver_later(prefixed, (("127.0.0.1", 2), b"q" * 23))  # unknown prefix, not general: dropped
    assert prefixed.received == []

    endpoint.notify_listeners((("127.0.0.1", 3), b"p" * 23))
    assert prefixed.received == [(("127.0.0.1", 3), b"p" * 23)] and len(general.received) == 2
    endpoint.remove_listener(prefixed)
    assert endpoint._prefix_map == {} and endpoint._listeners == [general]


def test_endpoint_logger_and_prefix_keys_for_a_subclass() -> None:
    """ipv8-rust-tunnels' Endpoint logs through ``self._logger`` and hands ``list(self._prefix_map)`` (the prefixes
    to deliver) to its Rust socket after every listener change."""
    import logging

    endpoint = _Endpoint()
    assert isinstance(endpoint._logger, logging.Logger)
    endpoint.add_prefix_listener(_Listener(endpoint), b"r" * 22)
    assert list(endpoint._prefix_map.keys()) == [b"r" * 22]


def test_notify_listeners_overridable_with_extra_arguments() -> None:
    """TunnelEndpoint overrides ``notify_listeners(packet, from_tunnel=False)`` on an Endpoint subclass."""
    calls: list[tuple] = []

    class Tunnelled(_Endpoint):
        def notify_listeners(self, packet: tuple[Any, bytes], from_tunnel: bool = False) -> None:
            calls.append((packet, from_tunnel))

    Tunnelled().notify_listeners((("127.0.0.1", 1), b"d"), from_tunnel=True)
    assert calls == [((("127.0.0.1", 1), b"d"), True)]


def test_dispatcher_endpoint_interfaces() -> None:
    """Community and the tunnels read ``interfaces``, ``interface_order`` and ``_preferred_interface``."""
    endpoint = DispatcherEndpoint(["UDPIPv4"], UDPIPv4={"port": 0, "ip": "127.0.0.1"})
    assert list(endpoint.interfaces) == ["UDPIPv4"]
    assert endpoint.interface_order == ["UDPIPv4"]
    assert endpoint._preferred_interface is endpoint.interfaces["UDPIPv4"]


# --- community -------------------------------------------------------------------------------------------------

def _settings(endpoint: Endpoint | None = None) -> CommunitySettings:
    endpoint = endpoint or AutoMockEndpoint()
    endpoint.open()
    return CommunitySettings(my_peer=Peer(default_eccrypto.generate_key("curve25519")), endpoint=endpoint,
                             network=Network())


class _Plain(Community):
    community_id = b"frozen-internals-000"


def test_prefix_and_community_id_set_before_super_init(loop: LoopHarness) -> None:
    """PexCommunity derives ``community_id`` and sets ``_prefix`` itself before calling ``super().__init__``."""

    class Derived(Community):
        def __init__(self, settings: CommunitySettings) -> None:
            self.community_id = (int.from_bytes(b"\x01" * 20, "big") + 1).to_bytes(20, "big")
            self._prefix = b"\x00" + self.version + self.community_id
            super().__init__(settings)

    settings = _settings()
    overlay = Derived(settings)
    assert overlay.get_prefix() == b"\x00\x02" + b"\x01" * 19 + b"\x02"
    assert settings.endpoint._prefix_map[overlay.get_prefix()][0] is overlay
    loop.run(overlay.unload())


def test_ez_pack_with_an_empty_prefix(loop: LoopHarness) -> None:
    """Tunnel cells are packed with ``_ez_pack(b"", msg_id, [payload], False)``: no prefix, no signature."""

    @vp_compile
    class Cell(VariablePayload):
        msg_id = 3
        format_list = ["I", "varlenH"]
        names = ["circuit_id", "data"]

    overlay = _Plain(_settings())
    assert overlay._ez_pack(b"", 7, [Cell(5, b"abc")], False) == b"\x07" + struct.pack(">I", 5) + b"\x00\x03abc"
    signed = overlay._ez_pack(b"", 7, [Cell(5, b"abc")])
    assert len(signed) == 1 + 9 + overlay.my_peer.key.get_signature_length()
    loop.run(overlay.unload())


def test_raw_int_message_handler_and_decode_map_names(loop: LoopHarness) -> None:
    """``add_message_handler(int, handler)`` gets ``(source_address, data)``; tests read ``decode_map[i].__name__``."""
    received: list[tuple[Any, bytes]] = []

    class Raw(_Plain):
        def on_raw(self, source_address: Any, data: bytes) -> None:
            received.append((source_address, data))

    overlay = Raw(_settings())
    overlay.add_message_handler(42, overlay.on_raw)
    assert overlay.decode_map[42].__name__ == "on_raw"
    packet = overlay.get_prefix() + b"\x2a" + b"body"
    overlay.on_packet((("127.0.0.1", 5), packet))
    assert received == [(("127.0.0.1", 5), packet)]
    loop.run(overlay.unload())


def test_builtin_decode_map_names_match_pyipv8(loop: LoopHarness) -> None:
    """Every built-in handler sits at py-ipv8's message id under py-ipv8's method name."""
    from ipv8.community import Community as PyCommunity
    from ipv8.community import CommunitySettings as PySettings
    from ipv8.keyvault.crypto import default_eccrypto as py_crypto
    from ipv8.peer import Peer as PyPeer
    from ipv8.peerdiscovery.network import Network as PyNetwork
    from ipv8.test.mocking.endpoint import AutoMockEndpoint as PyEndpoint

    class PyPlain(PyCommunity):
        community_id = _Plain.community_id

    py_endpoint = PyEndpoint()
    py_endpoint.open()
    theirs = PyPlain(PySettings(my_peer=PyPeer(py_crypto.generate_key("curve25519")), endpoint=py_endpoint,
                                network=PyNetwork()))
    ours = _Plain(_settings())
    names = [[None if handler is None else handler.__name__ for handler in overlay.decode_map]
             for overlay in (ours, theirs)]
    assert names[0] == names[1] and names[0].count(None) < 256
    loop.run(ours.unload())
    loop.run(theirs.unload())


def test_lazy_handler_name_is_kept(loop: LoopHarness) -> None:
    """Upper-layer tests look handlers up by name in ``decode_map``; ``lazy_wrapper`` keeps the name."""

    @vp_compile
    class Ping(VariablePayload):
        msg_id = 9
        format_list = ["H"]
        names = ["number"]

    class Lazy(_Plain):
        def __init__(self, settings: CommunitySettings) -> None:
            super().__init__(settings)
            self.add_message_handler(Ping, self.on_ping)

        @lazy_wrapper(Ping)
        def on_ping(self, peer: Peer, payload: Ping) -> None:
            pass

    overlay = Lazy(_settings())
    assert overlay.decode_map[9].__name__ == "on_ping"
    loop.run(overlay.unload())


_INTRO_METHODS = ("create_introduction_request", "create_introduction_response", "introduction_request_callback",
                  "introduction_response_callback")


@pytest.mark.parametrize("name", _INTRO_METHODS)
def test_introduction_method_signatures_match_pyipv8(name: str) -> None:
    """TunnelCommunity and PexCommunity override these and call ``super()`` positionally."""
    from ipv8.community import Community as PyCommunity

    ours = list(inspect.signature(getattr(Community, name)).parameters.items())
    theirs = list(inspect.signature(getattr(PyCommunity, name)).parameters.items())
    assert [(key, p.kind, p.default) for key, p in ours] == [(key, p.kind, p.default) for key, p in theirs]


def test_introduction_callbacks_are_called(loop: LoopHarness) -> None:
    """TunnelCommunity learns exit flags in ``introduction_request_callback`` / ``introduction_response_callback``."""
    calls: list[str] = []

    class Calling(_Plain):
        def introduction_request_callback(self, peer: Peer, dist: Any, payload: Any) -> None:
            calls.append(f"request {type(payload).__name__}")

        def introduction_response_callback(self, peer: Peer, dist: Any, payload: Any) -> None:
            calls.append(f"response {type(payload).__name__}")

    async def exchange() -> None:
        alice, bob = Calling(_settings()), Calling(_settings())
        alice.walk_to(bob.endpoint.wan_address)
        for _ in range(100):
            if len(calls) >= 2:
                break
            await __import__("asyncio").sleep(0.01)
        await alice.unload()
        await bob.unload()

    loop.run(exchange())
    assert calls == ["request IntroductionRequestPayload", "response IntroductionResponsePayload"]


def test_network_blacklist_is_a_plain_list() -> None:
    """DHTCommunity does ``network.blacklist.extend(...)``; blacklisted addresses are never walked to."""
    network = Network()
    assert network.blacklist == []
    network.blacklist.extend([("127.0.0.1", 9)])
    network.discover_address(Peer(default_eccrypto.generate_key("curve25519"), ("127.0.0.1", 8)), ("127.0.0.1", 9))
    assert ("127.0.0.1", 9) not in network.get_walkable_addresses()


# --- keys ------------------------------------------------------------------------------------------------------

def test_diffie_hellman_and_crypt_pk_agree() -> None:
    """Tunnel crypto: ``tmp_key.get_crypt_pk()`` is sent, both sides ``diffie_hellman`` to the same secret."""
    alice, bob = default_eccrypto.generate_key("curve25519"), default_eccrypto.generate_key("curve25519")
    assert len(alice.get_crypt_pk()) == 32 and alice.pub().get_crypt_pk() == alice.get_crypt_pk()
    assert alice.diffie_hellman(bob.get_crypt_pk()) == bob.diffie_hellman(alice.pub().get_crypt_pk())
    assert alice.diffie_hellman(bob.get_crypt_pk()) != alice.diffie_hellman(
        default_eccrypto.generate_key("curve25519").get_crypt_pk())
