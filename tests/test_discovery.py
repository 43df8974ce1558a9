"""Discovery strategies and DiscoveryCommunity: packets.json "discovery" byte-exact, strategy semantics
(api.md §15) with scripted overlays, and a live DiscoveryCommunity pair on 127.0.0.1."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ipv8fast.community import CommunitySettings
from ipv8fast.discovery import DiscoveryStrategy, EdgeWalk, RandomChurn, RandomWalk
from ipv8fast.discovery_community import DiscoveryCommunity, PeriodicSimilarity, PingRequestCache
from ipv8fast.endpoint import UDPEndpoint
from ipv8fast.keys import default_eccrypto
from ipv8fast.network import Network
from ipv8fast.peer import Peer

from _loop import LoopHarness
from conftest import load_vectors
from test_community import ADDR, KEYS, MemoryEndpoint, VectorCommunity, at_time
from vector_values import decode

V = load_vectors("packets")["discovery"]
PACKETS = {p["name"]: p for p in V["packets"]}


@pytest.fixture
def loop() -> Iterator[LoopHarness]:
    harness = LoopHarness()
    yield harness
    harness.close()


def discovery_node(name: str, network: Network | None = None, my_peer: Peer | None = None) -> DiscoveryCommunity:
    settings = CommunitySettings(my_peer=my_peer or Peer(KEYS[name]), endpoint=MemoryEndpoint(ADDR[name]["wan"]),
                                 network=network or Network())
    node = DiscoveryCommunity(settings)
    node.my_estimated_lan = ADDR[name]["lan"]
    node.my_estimated_wan = ADDR[name]["wan"]
    node.cancel_all_pending_tasks()
    return node


def with_vector_community(node: DiscoveryCommunity) -> VectorCommunity:
    other = VectorCommunity(CommunitySettings(my_peer=node.my_peer, endpoint=node.endpoint, network=node.network))
    other.cancel_all_pending_tasks()
    return other


# --- packets.json "discovery" -----------------------------------------------------------------------------

def test_prefix_and_id() -> None:
    assert DiscoveryCommunity.community_id.hex() == V["community_id"]
    assert (b"\x00" + DiscoveryCommunity.version + DiscoveryCommunity.community_id).hex() == V["prefix"]


def test_similarity_request_vector(loop: LoopHarness) -> None:
    a = discovery_node("A")
    with_vector_community(a)
    at_time(a, 100)
    assert a.create_similarity_request(a.my_peer).hex() == PACKETS["similarity-request"]["hex"]


def test_similarity_response_vector(loop: LoopHarness) -> None:
    a = discovery_node("A")
    with_vector_community(a)
    at_time(a, 70001)
    assert a.create_similarity_response(1234, a.my_peer).hex() == PACKETS["similarity-response"]["hex"]


def test_ping_and_pong_vectors(loop: LoopHarness) -> None:
    a = discovery_node("A")
    b = Peer(KEYS["B"].pub(), ADDR["B"]["wan"])
    at_time(a, 102)
    a.send_ping(b)
    (to, data), = a.endpoint.sent
    assert to == decode(PACKETS["ping"]["sent_to"])
    assert data.hex() == PACKETS["ping"]["hex"]
    assert a.request_cache.has(PingRequestCache.name, 102)
    at_time(a, 103)
    assert a.create_pong(102).hex() == PACKETS["pong"]["hex"]


@pytest.mark.parametrize("case", V["legacy_246_handling"]["cases"], ids=lambda c: c["name"])
def test_legacy_246_handling(loop: LoopHarness, case: dict) -> None:
    b = discovery_node("B")
    at_time(b, case["response"]["decoded"]["global_time"])
    b.on_packet((ADDR["A"]["wan"], bytes.fromhex(case["request_hex"])))
    (to, data), = b.endpoint.sent
    assert to == decode(case["response"]["sent_to"])
    assert data.hex() == case["response"]["hex"]
    assert [p.public_key.key_to_bin() for p in b.get_peers()] == [KEYS["A"].pub().key_to_bin()]
    assert sum(b.drops.values()) == 0


def test_similarity_roundtrip_records_services(loop: LoopHarness) -> None:
    a, b = discovery_node("A"), discovery_node("B")
    vector = with_vector_community(a)
    a.send_similarity_request(ADDR["B"]["wan"])
    (to, request), = a.endpoint.sent
    b.on_packet((ADDR["A"]["wan"], request))
    (to, response), = b.endpoint.sent
    assert to == ADDR["A"]["wan"]
    a_key = KEYS["A"].pub().key_to_bin()
    assert b.network.services_per_peer[a_key] == {DiscoveryCommunity.community_id, vector.community_id}
    a.on_packet((ADDR["B"]["wan"], response))
    assert [p.address for p in a.get_peers()] == [ADDR["B"]["wan"]]


def test_one_similarity_request_per_identity(loop: LoopHarness) -> None:
    a = discovery_node("A")
    other = VectorCommunity(CommunitySettings(my_peer=Peer(KEYS["C"]), endpoint=a.endpoint, network=a.network))
    other.cancel_all_pending_tasks()
    a.send_similarity_request(ADDR["B"]["wan"])
    assert len(a.endpoint.sent) == 2
    signers = {data[25:25 + 74] for _, data in a.endpoint.sent}
    assert signers == {KEYS["A"].pub().key_to_bin(), KEYS["C"].pub().key_to_bin()}


def test_similarity_response_respects_max_peers(loop: LoopHarness) -> None:
    a, b = discovery_node("A"), discovery_node("B")
    a.max_peers = 0
    a.network.add_verified_peer(Peer(KEYS["C"].pub(), ADDR["C"]["wan"]))
    a.network.discover_services(a.network.get_verified_by_address(ADDR["C"]["wan"]), [a.community_id])
    b.on_packet((ADDR["A"]["wan"], a.create_similarity_request(a.my_peer)))
    (_, response), = b.endpoint.sent
    a.on_packet((ADDR["B"]["wan"], response))
    assert a.drops["max_peers"] == 1
    assert a.network.get_verified_by_address(ADDR["B"]["wan"]) is None


def test_ping_pong_records_rtt_and_quirk_above_65535(loop: LoopHarness) -> None:
    a, b = discovery_node("A"), discovery_node("B")
    peer_b = Peer(KEYS["B"].pub(), ADDR["B"]["wan"])
    for start in (10, 70000):
        at_time(a, start)
        a.endpoint.sent.clear()
        b.endpoint.sent.clear()
        a.send_ping(peer_b)
        (_, ping), = a.endpoint.sent
        b.on_packet((ADDR["A"]["wan"], ping))
        (to, pong), = b.endpoint.sent
        assert to == ADDR["A"]["wan"]
        a.on_packet((ADDR["B"]["wan"], pong))
    assert len(peer_b.pings) == 1  # the pong to the ping at global time 70000 matched nothing
    assert a.request_cache.has(PingRequestCache.name, 70000)
    loop.run(a.unload())
    loop.run(b.unload())


def test_available_strategies() -> None:
    assert DiscoveryCommunity.get_available_strategies(None) == {  # type: ignore[arg-type]
        "PeriodicSimilarity": PeriodicSimilarity, "RandomChurn": RandomChurn}


# --- strategies with a scripted overlay -------------------------------------------------------------------

class FakeNetwork:
    def __init__(self) -> None:
        self.verified: dict[Any, Peer] = {}
        self.removed: list[Any] = []
        self.removed_peers: list[Peer] = []
        self.introductions: dict[Peer, list[Any]] = {}

    @property
    def verified_peers(self) -> set[Peer]:
        return set(self.verified.values())

    def get_verified_by_address(self, address: Any) -> Peer | None:
        return self.verified.get(address)

    def remove_by_address(self, address: Any) -> None:
        self.removed.append(address)

    def remove_peer(self, peer: Peer) -> None:
        self.removed_peers.append(peer)
        self.verified.pop(peer.address, None)

    def get_introductions_from(self, peer: Peer) -> list[Any]:
        return self.introductions.get(peer, [])


class FakeOverlay:
    def __init__(self) -> None:
        self.network = FakeNetwork()
        self.walkable: list[Any] = []
        self.calls: list[tuple] = []

    def get_peers(self) -> list[Peer]:
        return list(self.network.verified.values())

    def get_walkable_addresses(self) -> list[Any]:
        return list(self.walkable)

    def walk_to(self, address: Any) -> None:
        self.calls.append(("walk_to", address))

    def get_new_introduction(self, from_peer: Peer | None = None) -> None:
        self.calls.append(("new_introduction", from_peer))

    def bootstrap(self) -> None:
        self.calls.append(("bootstrap",))

    def send_ping(self, peer: Peer) -> None:
        self.calls.append(("ping", peer))

    def send_similarity_request(self, address: Any) -> None:
        self.calls.append(("similarity", address))


def fake_peer(port: int) -> Peer:
    return Peer(default_eccrypto.generate_key("curve25519").pub(), ("127.0.0.1", port))


def test_strategy_base() -> None:
    class Nothing(DiscoveryStrategy):
        def take_step(self) -> None:
            with self.walk_lock:
                pass

    assert Nothing(None).get_peer_count() == 0
    overlay = FakeOverlay()
    overlay.network.verified[("127.0.0.1", 1)] = fake_peer(1)
    strategy = Nothing(overlay)
    strategy.take_step()
    assert strategy.get_peer_count() == 1
    with pytest.raises(TypeError):
        DiscoveryStrategy(None)  # type: ignore[abstract]


def test_random_walk_window_timeout_and_reset() -> None:
    overlay = FakeOverlay()
    overlay.walkable = [("127.0.0.1", p) for p in range(1, 8)]
    walk = RandomWalk(overlay, timeout=3.0, window_size=5, reset_chance=0)
    for _ in range(7):
        walk.take_step()
    walked = [c[1] for c in overlay.calls if c[0] == "walk_to"]
    assert len(walked) == 5 and len(set(walked)) == 5  # window full after five distinct walks
    # time out the outstanding walks: unverified addresses are forgotten, verified ones kept
    kept = walked[0]
    overlay.network.verified[kept] = fake_peer(kept[1])
    for address in walk.intro_timeouts:
        walk.intro_timeouts[address] -= 10
    walk.take_step()
    assert sorted(overlay.network.removed) == sorted(walked[1:])
    # reset_chance 256 always asks for a new introduction
    overlay.calls.clear()
    walk.reset_chance = 256
    walk.intro_timeouts.clear()
    walk.take_step()
    assert overlay.calls == [("new_introduction", None)]


def test_random_walk_target_interval() -> None:
    overlay = FakeOverlay()
    walk = RandomWalk(overlay, target_interval=60)
    walk.take_step()
    walk.take_step()
    assert overlay.calls == [("new_introduction", None)]


def test_edge_walk_builds_edges() -> None:
    overlay = FakeOverlay()
    peers = [fake_peer(p) for p in range(1, 4)]
    for p in peers:
        overlay.network.verified[p.address] = p
    walk = EdgeWalk(overlay, edge_length=2, neighborhood_size=1, edge_timeout=3.0)
    overlay.walkable = [("127.0.0.1", 99)]
    walk.take_step()  # neighbourhood discovery
    assert ("bootstrap",) in overlay.calls and ("walk_to", ("127.0.0.1", 99)) in overlay.calls
    assert len(walk._neighborhood) == 1
    root = walk._neighborhood[0]
    walk.take_step()  # start an edge at the root
    assert walk.under_construction == {root: [root]}
    assert overlay.calls[-1] == ("new_introduction", root)
    other = next(p for p in peers if p is not root)
    overlay.network.introductions[root] = [other.address, ("127.0.0.1", 50)]
    walk.take_step()  # grow: a verified introduction completes the 2-long edge, the unverified one is walked
    assert walk.complete_edges == [[root, other]]
    assert ("walk_to", ("127.0.0.1", 50)) in overlay.calls
    assert walk.under_construction == {}
    assert walk.get_available_root() is root


def test_edge_walk_timeout_drops_short_edges() -> None:
    overlay = FakeOverlay()
    p = fake_peer(1)
    overlay.network.verified[p.address] = p
    walk = EdgeWalk(overlay, neighborhood_size=1, edge_timeout=0.0)
    walk.take_step()
    walk.take_step()
    walk.last_edge_responses[p] -= 1
    walk.take_step()
    assert walk.complete_edges == [] and walk.under_construction == {}


def test_random_churn() -> None:
    overlay = FakeOverlay()
    quiet, fresh, fine = fake_peer(1), fake_peer(2), fake_peer(3)
    for p in (quiet, fresh, fine):
        overlay.network.verified[p.address] = p
    fine.pings.extend([0.1] * 5)
    fine.last_response = time.time()
    quiet.last_response = time.time() - 100
    churn = RandomChurn(overlay, sample_size=8)
    churn.take_step()
    pinged = {c[1] for c in overlay.calls if c[0] == "ping"}
    assert pinged == {quiet, fresh}
    overlay.calls.clear()
    churn.take_step()  # pinged less than ping_interval ago: quiet is dropped, fresh is left alone
    assert overlay.network.removed_peers == [quiet] and overlay.calls == []
    assert RandomChurn(overlay, sample_size=0).take_step() is None
    churn.ping_interval = -1
    churn.take_step()
    assert [c[0] for c in overlay.calls] == ["ping"]


def test_periodic_similarity() -> None:
    overlay = FakeOverlay()
    strategy = PeriodicSimilarity(overlay)  # type: ignore[arg-type]
    strategy.take_step()
    assert overlay.calls == []
    p = fake_peer(1)
    overlay.network.verified[p.address] = p
    strategy.take_step()
    strategy.take_step()  # within a second: nothing
    assert overlay.calls == [("similarity", p.address)]


# --- live pair over UDP on 127.0.0.1 ----------------------------------------------------------------------

def test_live_pair_discovers_and_pings() -> None:
    harness = LoopHarness()

    async def scenario() -> None:
        nodes = []
        for _ in range(2):
            endpoint = UDPEndpoint(0, "127.0.0.1")
            await endpoint.open()
            settings = CommunitySettings(my_peer=Peer(default_eccrypto.generate_key("curve25519")),
                                         endpoint=endpoint, network=Network())
            nodes.append(DiscoveryCommunity(settings))
        a, b = nodes
        try:
            a.walk_to(("127.0.0.1", b.endpoint.get_address()[1]))
            for _ in range(200):
                if a.get_peers() and b.get_peers():
                    break
                await asyncio.sleep(0.01)
            assert len(a.get_peers()) == 1 and len(b.get_peers()) == 1
            peer = a.get_peers()[0]
            a.send_ping(peer)
            for _ in range(200):
                if peer.pings:
                    break
                await asyncio.sleep(0.01)
            assert len(peer.pings) == 1
            assert b.community_id in b.network.services_per_peer[a.my_peer.public_key.key_to_bin()]
        finally:
            for node in nodes:
                await node.unload()
                node.endpoint.close()

    try:
        harness.run(scenario(), timeout=20)
    finally:
        harness.close()
    assert harness.errors == []
