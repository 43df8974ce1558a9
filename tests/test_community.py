"""Community against packets.json: every packet rebuilt and parsed, the exchange replayed, the rejections
dropped (and counted) or accepted as py-ipv8 did; on both twins of the receive path."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from ipv8fast.addresses import UDPv4Address, UDPv4LANAddress, UDPv6Address
from ipv8fast.community import Community, CommunitySettings
from ipv8fast.keys import default_eccrypto
from ipv8fast.lazy import lazy_wrapper, lazy_wrapper_unsigned, lazy_wrapper_unsigned_wd, lazy_wrapper_wd
from ipv8fast.messages import (
    GlobalTimeDistributionPayload,
    IntroductionRequestPayload,
    IntroductionResponsePayload,
    NewIntroductionRequestPayload,
    NewIntroductionResponsePayload,
    NewPuncturePayload,
    NewPunctureRequestPayload,
    PuncturePayload,
    PunctureRequestPayload,
)
from ipv8fast.network import Network
from ipv8fast.peer import Peer

from _endpoints import MemoryEndpoint
from _loop import LoopHarness
from conftest import load_vectors
from payload_classes import CLASSES as USER_CLASSES
from payload_classes import Inner, Simple, make_payload
from vector_values import assert_matches, decode

V = load_vectors("packets")
COMMUNITY_ID = bytes.fromhex(V["community_id"])
KEYS = {name: default_eccrypto.key_from_private_bin(bytes.fromhex(k["private_bin"])) for name, k in V["keys"].items()}
ADDR = {name: {kind: decode(a) for kind, a in v.items()} for name, v in V["node_addresses"].items()}
CLASSES = {cls.__name__: cls for cls in (IntroductionRequestPayload, IntroductionResponsePayload,
                                         NewIntroductionRequestPayload, NewIntroductionResponsePayload,
                                         PunctureRequestPayload, PuncturePayload, NewPunctureRequestPayload,
                                         NewPuncturePayload)}


class VectorCommunity(Community):
    community_id = COMMUNITY_ID

    def address_is_lan(self, address: str) -> bool:
        return address in getattr(self, "lan_override", ())


@pytest.fixture
def loop() -> Iterator[LoopHarness]:
    harness = LoopHarness()
    yield harness
    harness.close()


def make_node(name: str, max_peers: int = 30) -> VectorCommunity:
    endpoint = MemoryEndpoint(ADDR[name]["wan"])
    settings = CommunitySettings(my_peer=Peer(KEYS[name]), endpoint=endpoint, network=Network(),
                                 max_peers=max_peers)
    node = VectorCommunity(settings)
    node.my_estimated_lan = ADDR[name]["lan"]
    node.my_estimated_wan = ADDR[name]["wan"]
    node.cancel_all_pending_tasks()
    return node


def at_time(node: Community, global_time: int) -> None:
    """The next claim returns ``global_time``."""
    node.my_peer._lamport_timestamp = global_time - 1


def know_c(node: Community) -> Peer:
    c = Peer(KEYS["C"].pub(), ADDR["C"]["wan"])
    c.add_address(UDPv4LANAddress(*ADDR["C"]["lan"]))
    node.network.add_verified_peer(c)
    node.network.discover_services(c, [COMMUNITY_ID])
    return c


def build(index: int) -> bytes:
    """Rebuild vector packet ``index`` the way its ``how`` says."""
    packet = V["packets"][index]
    a, b, c = make_node("A"), make_node("B"), make_node("C")
    b_wan, a_wan = ADDR["B"]["wan"], ADDR["A"]["wan"]
    if index <= 6:
        def payload(p: dict) -> Any:
            return make_payload(p["class"], {k: decode(v, make_payload) for k, v in p["fields"].items()})
        payloads = [payload(p) for p in packet["decoded"]["payloads"]]
        if "global_time" in packet["decoded"]:
            payloads.insert(0, GlobalTimeDistributionPayload(packet["decoded"]["global_time"]))
        return a.ezr_pack(packet["decoded"]["msg_id"], *payloads, sig=packet["signed"])
    gt = packet["decoded"]["global_time"]
    if 7 <= index <= 12:
        at_time(a, 70000 if index == 9 else gt)
        if index == 11:
            return a.create_introduction_request(UDPv6Address("2001:db8::2", 8091))
        if index == 12:
            return a.create_introduction_request(b_wan, prefix=bytes.fromhex(packet["decoded"]["prefix"]))
        return a.create_introduction_request(b_wan, extra_bytes=b"piggyback" if index == 8 else b"",
                                             new_style=index == 10)
    if 13 <= index <= 20:
        if index >= 15:
            know_c(b)
        if index == 20:
            b.max_peers = 1
        if index == 17:
            b.lan_override = ("198.51.100.3",)
        creator = index - 1 if index in (16, 19) else index
        at_time(b, V["packets"][creator]["decoded"]["global_time"])
        response = b.create_introduction_response(b_wan, a_wan, {13: 1, 14: 1, 15: 2, 17: 3, 18: 4, 20: 5}[creator],
                                                  new_style=creator in (14, 18))
        if index in (16, 19):
            (to, side_effect), = b.endpoint.sent
            assert to == decode(packet["sent_to"])
            return side_effect
        return response
    if index in (21, 22):
        at_time(b, gt)
        wan = UDPv6Address("2001:db8::1", 8090) if index == 22 else ADDR["A"]["wan"]
        return b.create_puncture_request(ADDR["A"]["lan"], wan, 77 if index == 21 else 78)
    at_time(c, gt)
    return c.create_puncture(ADDR["C"]["lan"], a_wan, 2 if index == 23 else 4, new_style=index == 24)


@pytest.mark.parametrize("index", range(len(V["packets"])), ids=[p["name"] for p in V["packets"]])
def test_rebuild_packet(loop: LoopHarness, index: int) -> None:
    assert build(index).hex() == V["packets"][index]["hex"]


@pytest.mark.parametrize("index", range(len(V["packets"])), ids=[p["name"] for p in V["packets"]])
def test_parse_packet(loop: LoopHarness, receive_twin: Any, index: int) -> None:
    packet = V["packets"][index]
    decoded = packet["decoded"]
    data = bytes.fromhex(packet["hex"])
    classes = []
    if "global_time" in decoded:
        classes.append(GlobalTimeDistributionPayload)
    for p in decoded["payloads"]:
        classes.append(CLASSES.get(p["class"]) or USER_CLASSES[p["class"]])
    node = make_node("B")
    if packet["signed"]:
        key_bin, unpacked = receive_twin.open_signed(node.serializer, classes, data)
        assert key_bin.hex() == decoded["public_key_bin"]
    else:
        unpacked = receive_twin.open_unsigned(node.serializer, classes, data)
    if "global_time" in decoded:
        assert unpacked.pop(0).global_time == decoded["global_time"]
    for obj, expected in zip(unpacked, decoded["payloads"], strict=True):
        assert type(obj).__name__ == expected["class"]
        for name, value in expected["fields"].items():
            assert_matches(getattr(obj, name), value, name)


def test_exchange_replay(loop: LoopHarness, receive_twin: Any) -> None:
    nodes = {name: make_node(name) for name in "ABC"}
    by_wan = {ADDR[name]["wan"]: name for name in "ABC"}
    sent: list[tuple[str, Any, bytes]] = []

    def deliver() -> None:
        for _ in range(100):
            pending = [(name, to, data) for name, node in nodes.items() for to, data in node.endpoint.sent]
            if not pending:
                return
            for node in nodes.values():
                node.endpoint.sent.clear()
            for name, to, data in pending:
                sent.append((name, to, data))
                nodes[by_wan[to]].on_packet((ADDR[name]["wan"], data))

    nodes["C"].walk_to(ADDR["B"]["wan"])
    deliver()
    nodes["A"].walk_to(ADDR["B"]["wan"])
    deliver()
    nodes["A"].walk_to(ADDR["C"]["wan"])
    deliver()
    nodes["A"].send_introduction_request(nodes["A"].network.get_verified_by_address(ADDR["B"]["wan"]))
    deliver()
    steps = V["exchange"]["steps"]
    assert len(sent) == len(steps)
    for (sender, to, data), step in zip(sent, steps, strict=True):
        assert sender == step["from"], step["step"]
        assert to == decode(step["to_address"]), step["step"]
        assert data.hex() == step["hex"], f"step {step['step']}: {step['message']}"
    final = V["exchange"]["final_state"]

    def show(addresses: Any) -> list[str]:
        return sorted(f"{ip}:{port}" for ip, port in addresses)

    for name in "ABC":
        assert show(p.address for p in nodes[name].get_peers()) == final[f"{name}_verified_peers"]
        assert sum(nodes[name].drops.values()) == 0
    assert show(nodes["A"].get_walkable_addresses()) == final["A_walkable_addresses"]
    assert nodes["A"].my_estimated_wan == decode(final["A_my_estimated_wan_after"])


REASONS = {"PacketDecodingError": "bad_signature", "PackError": "malformed",
           "not dispatched (prefix mismatch)": "wrong_prefix", "logged as unknown message, dropped": "unknown_message"}


@pytest.mark.parametrize("case", V["rejections"], ids=[r["name"] for r in V["rejections"]])
def test_rejections(loop: LoopHarness, receive_twin: Any, case: dict) -> None:
    b = make_node("B")
    b.on_packet((ADDR["A"]["wan"], bytes.fromhex(case["hex"])))
    if case["unpack_result"] == "accepted":
        assert not b.drops
        if case.get("response_sent"):
            assert [to for to, _ in b.endpoint.sent] == [ADDR["A"]["wan"]]
        else:
            assert len(b.endpoint.sent) == 1  # the puncture
    else:
        assert b.drops == {REASONS[case["unpack_result"]]: 1}
        assert b.endpoint.sent == []
        assert b.get_peers() == []


class UserCommunity(VectorCommunity):
    def __init__(self, settings: CommunitySettings) -> None:
        super().__init__(settings)
        self.seen: list[tuple] = []
        self.add_message_handler(Simple, self.on_simple)
        self.add_message_handler(7, self.on_two)
        self.add_message_handler(8, self.on_unsigned)
        self.add_message_handler(9, self.on_unsigned_wd)
        self.add_message_handler(10, self.on_async)

    @lazy_wrapper(Simple)
    def on_simple(self, peer: Peer, payload: Simple) -> None:
        self.seen.append(("simple", peer, payload.a))

    @lazy_wrapper_wd(Inner, Simple)
    def on_two(self, peer: Peer, inner: Inner, simple: Simple, data: bytes) -> None:
        self.seen.append(("two", inner.s, len(data)))

    @lazy_wrapper_unsigned(Simple)
    def on_unsigned(self, address: Any, payload: Simple) -> None:
        self.seen.append(("unsigned", address, payload.b))

    @lazy_wrapper_unsigned_wd(Simple)
    def on_unsigned_wd(self, address: Any, payload: Simple, data: bytes = b"") -> None:
        self.seen.append(("unsigned_wd", len(data)))

    @lazy_wrapper_unsigned(Simple)
    async def on_async(self, address: Any, payload: Simple) -> None:
        await asyncio.sleep(0)
        self.seen.append(("async", payload.a))


def test_user_handlers_and_api_errors(loop: LoopHarness, receive_twin: Any) -> None:
    a, b = make_node("A"), make_node("B")
    settings = CommunitySettings(my_peer=Peer(KEYS["B"]), endpoint=MemoryEndpoint(ADDR["B"]["wan"]),
                                 network=Network())
    user = UserCommunity(settings)
    src = ADDR["A"]["wan"]
    user.on_packet((src, a.ezr_pack(1, Simple(5, 6, b""))))
    user.on_packet((src, a.ezr_pack(7, Inner(3, "multi"), Simple(9, 8, b""))))
    user.on_packet((src, a.ezr_pack(8, Simple(1, 2, b""), sig=False)))
    user.on_packet((src, a.ezr_pack(9, Simple(1, 2, b""), sig=False)))
    user.on_packet((src, a.ezr_pack(10, Simple(4, 2, b""), sig=False)))
    loop.run(asyncio.sleep(0.01))
    kinds = [entry[0] for entry in user.seen]
    assert kinds == ["simple", "two", "unsigned", "unsigned_wd", "async"]
    assert user.seen[0][1] == Peer(KEYS["A"].pub()) and user.seen[0][2] == 5
    assert user.seen[2][1] == src
    # a known peer object is handed out again, with the new address added
    known = Peer(KEYS["A"].pub(), src)
    user.network.add_verified_peer(known)
    user.on_packet((UDPv4Address("5.6.7.8", 9), a.ezr_pack(1, Simple(7, 6, b""))))
    assert user.seen[-1][1] is known and known.address == ("5.6.7.8", 9)
    with pytest.raises(RuntimeError):
        user.add_message_handler(1, user.on_simple)
    with pytest.raises(RuntimeError):
        user.add_message_handler(256, user.on_simple)
    with pytest.raises(RuntimeError):
        user.add_message_handler(Inner, user.on_simple)
    # deprecated ids are dropped, handler bugs never escape
    user.on_packet((src, COMMUNITY_ID and user.get_prefix() + bytes([255]) + b"x"))
    user.decode_map[11] = lambda address, data: 1 / 0
    user.on_packet((src, user.get_prefix() + bytes([11])))
    user.on_packet((src, user.get_prefix()))
    assert user.drops == {"deprecated": 1, "handler_error": 1, "no_message_id": 1}
    assert b.global_time == 0 and b.claim_global_time() == 1


def test_community_id_required(loop: LoopHarness) -> None:
    class NoId(Community):
        pass

    class NotBytes(Community):
        community_id = "x" * 20  # type: ignore[assignment]

    settings = CommunitySettings(my_peer=Peer(KEYS["A"]), endpoint=MemoryEndpoint(("1.1.1.1", 1)), network=Network())
    for cls in (NoId, NotBytes):
        with pytest.raises(RuntimeError):
            cls(settings)
