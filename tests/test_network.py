"""Network: py-ipv8's semantics (spec/api.md §14) on indexes, plus the bounds and the remove_by_address fix."""
from __future__ import annotations

import time

from ipv8fast.addresses import UDPv4Address, UDPv6Address
from ipv8fast.keys import default_eccrypto
from ipv8fast.network import Network, PeerObserver
from ipv8fast.peer import Peer

SERVICE = bytes(range(20))
OTHER_SERVICE = bytes(range(20, 40))


def make_peer(i: int) -> Peer:
    return Peer(default_eccrypto.generate_key("curve25519"), UDPv4Address(f"1.2.3.{i}", 1000 + i))


class Recorder(PeerObserver):
    def __init__(self) -> None:
        self.added: list[Peer] = []
        self.removed: list[Peer] = []

    def on_peer_added(self, peer: Peer) -> None:
        self.added.append(peer)

    def on_peer_removed(self, peer: Peer) -> None:
        self.removed.append(peer)


def test_add_verified_and_lookups() -> None:
    network, observer = Network(), Recorder()
    network.add_peer_observer(observer)
    a = make_peer(1)
    network.add_verified_peer(a)
    assert a in network.verified_peers and observer.added == [a]
    assert network.get_verified_by_address(("1.2.3.1", 1001)) is a
    assert network.get_verified_by_public_key_bin(a.public_key.key_to_bin()) is a
    assert network.get_walkable_addresses() == []
    # a second object with the same key only merges addresses into the first
    twin = Peer(a.key.pub(), UDPv6Address("::1", 7))
    network.add_verified_peer(twin)
    assert len(network.verified_peers) == 1 and observer.added == [a]
    assert a.address == UDPv6Address("::1", 7)
    assert network.get_verified_by_address(UDPv6Address("::1", 7)) is a


def test_address_index_follows_peer_changes() -> None:
    network = Network()
    a = make_peer(1)
    network.add_verified_peer(a)
    a.add_address(UDPv4Address("9.9.9.9", 9))
    assert network.get_verified_by_address(("9.9.9.9", 9)) is a
    assert network.get_verified_by_address(("1.2.3.1", 1001)) is None
    a.addresses.update({UDPv6Address: UDPv6Address("::2", 2)})
    assert network.get_verified_by_address(("::2", 2)) is a


def test_blacklist_and_own_mid() -> None:
    network = Network()
    a, b = make_peer(1), make_peer(2)
    network.blacklist.append(a.address)
    network.add_verified_peer(a)
    assert not network.verified_peers
    network.blacklist_mids.append(b.mid)
    network.add_verified_peer(b)
    assert not network.verified_peers
    c = make_peer(3)
    network.discover_address(c, a.address)
    assert network.verified_peers == {c}
    assert network.get_walkable_addresses() == []


def test_discover_and_walkable_by_service() -> None:
    network = Network()
    a, b = make_peer(1), make_peer(2)
    network.discover_services(a, [SERVICE])
    network.discover_address(a, b.address, SERVICE)
    network.discover_address(a, ("5.5.5.5", 5), SERVICE, new_style=True)
    assert set(network.get_walkable_addresses()) == {b.address, ("5.5.5.5", 5)}
    assert set(network.get_walkable_addresses(SERVICE)) == {b.address, ("5.5.5.5", 5)}
    assert network.get_walkable_addresses(SERVICE, old_style=True) == [b.address]
    assert network.get_walkable_addresses(OTHER_SERVICE) == []
    assert network.is_new_style(("5.5.5.5", 5)) and not network.is_new_style(b.address)
    assert network.get_introductions_from(a) == [b.address, ("5.5.5.5", 5)]
    assert network.get_peers_for_service(SERVICE) == [a]
    network.add_verified_peer(b)
    network.discover_services(b, [SERVICE])
    assert network.get_walkable_addresses(SERVICE) == [("5.5.5.5", 5)]
    assert set(network.get_peers_for_service(SERVICE)) == {a, b}


def test_original_introducer_kept_while_alive() -> None:
    network = Network()
    a, b = make_peer(1), make_peer(2)
    network.discover_address(a, ("5.5.5.5", 5))
    network.discover_address(b, ("5.5.5.5", 5))
    assert network.get_introductions_from(b) == []
    network.remove_peer(a)
    network.discover_address(b, ("5.5.5.5", 5))
    assert network.get_introductions_from(b) == [("5.5.5.5", 5)]


def test_remove_by_address_forgets_key_so_peer_can_return() -> None:
    network, observer = Network(), Recorder()
    network.add_peer_observer(observer)
    a = make_peer(1)
    network.add_verified_peer(a)
    network.discover_services(a, [SERVICE])
    before = network.verified_peers
    network.remove_by_address(a.address)
    assert network.verified_peers is not before
    assert not network.verified_peers and observer.removed == [a]
    assert network.get_verified_by_public_key_bin(a.public_key.key_to_bin()) is None
    assert network.get_services_for_peer(a) == set()
    network.add_verified_peer(a)
    assert a in network.verified_peers and observer.added == [a, a]


def test_remove_peer() -> None:
    network = Network()
    a = make_peer(1)
    network.add_verified_peer(a)
    network.discover_services(a, [SERVICE])
    network.remove_peer(a)
    assert not network.verified_peers
    assert network.get_peers_for_service(SERVICE) == []
    assert network.get_verified_by_address(a.address) is None
    assert network.get_walkable_addresses() == []


def test_snapshot_round_trip() -> None:
    network = Network()
    network.add_verified_peer(Peer(default_eccrypto.generate_key("curve25519"), UDPv4Address("1.2.3.4", 0x0506)))
    snapshot = network.snapshot()
    assert snapshot == bytes.fromhex("01010203040506")
    other = Network()
    other.load_snapshot(snapshot + snapshot[:3])
    assert other.get_walkable_addresses() == [("1.2.3.4", 0x0506)]


def test_flood_of_introductions_is_bounded_and_fast() -> None:
    network = Network()
    network.max_addresses = 2_000
    introducers = [make_peer(i) for i in range(1, 21)]
    for peer in introducers:
        network.add_verified_peer(peer)
        network.discover_services(peer, [SERVICE])
    start = time.perf_counter()
    for i in range(60_000):
        network.discover_address(introducers[i % 20], (f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", 1), SERVICE)
    elapsed = time.perf_counter() - start
    assert len(network._all_addresses) <= network.max_addresses
    assert all(len(v) <= network.max_introductions_per_peer for v in network._by_introducer.values())
    # verified peers are never evicted
    assert all(network.get_verified_by_address(p.address) is p for p in introducers)
    assert len(network.verified_peers) == 20
    assert elapsed < 10.0
    walkable = network.get_walkable_addresses(SERVICE)
    assert 0 < len(walkable) <= network.max_addresses


def test_lookups_do_not_scan() -> None:
    """Per-packet lookups cost the same with 20 or 5 000 verified peers."""
    network = Network()
    peers = [Peer(default_eccrypto.generate_key("curve25519"), UDPv4Address(f"2.{i >> 8}.{i & 255}.1", 1))
             for i in range(5_000)]
    for peer in peers:
        network.add_verified_peer(peer)
    start = time.perf_counter()
    for _ in range(20_000):
        network.get_verified_by_address(("9.9.9.9", 9))
        network.get_verified_by_address(peers[17].address)
    assert time.perf_counter() - start < 2.0


def test_random_peer_for_service_is_a_uniform_choice_among_the_eligible() -> None:
    network = Network()
    service, other = b"s" * 20, b"o" * 20
    peers = [Peer(default_eccrypto.generate_key("curve25519").pub(), UDPv4Address("1.2.3.4", 1000 + i))
             for i in range(6)]
    v6 = Peer(default_eccrypto.generate_key("curve25519").pub(), UDPv6Address("::1", 5))
    stranger = Peer(default_eccrypto.generate_key("curve25519").pub(), UDPv4Address("1.2.3.5", 9))
    for peer in [*peers, v6]:
        network.add_verified_peer(peer)
        network.discover_services(peer, [service])
    network.add_verified_peer(stranger)
    network.discover_services(stranger, [other])
    network.remove_peer(peers[5])
    assert network.random_peer_for_service(b"x" * 20) is None
    counts: dict[Peer, int] = {}
    for _ in range(4000):
        chosen = network.random_peer_for_service(service, exclude=peers[0], ipv4_only=True)
        assert chosen is not None
        counts[chosen] = counts.get(chosen, 0) + 1
    assert set(counts) == set(peers[1:5])  # not excluded, not removed, not IPv6, not of another service
    assert all(700 < count < 1300 for count in counts.values())
    assert {network.random_peer_for_service(service) for _ in range(500)} == {*peers[:5], v6}
    assert network.random_peer_for_service(service, exclude=v6, ipv4_only=True) in peers[:5]
    only = Network()
    only.add_verified_peer(peers[0])
    only.discover_services(peers[0], [service])
    assert only.random_peer_for_service(service, exclude=peers[0]) is None  # the fallback finds none either
