"""Peer and DirtyDict: py-ipv8's semantics (spec/api.md §4)."""
from __future__ import annotations

import time
from base64 import b64encode

import pytest

from ipv8fast.addresses import DomainAddress, UDPv4Address, UDPv4LANAddress, UDPv6Address
from ipv8fast.keys import default_eccrypto
from ipv8fast.peer import DirtyDict, Peer

KEY = default_eccrypto.generate_key("curve25519")
OTHER = default_eccrypto.generate_key("curve25519")


def test_dirty_dict_flags() -> None:
    d = DirtyDict()
    assert d.dirty
    d.dirty = False
    d["a"] = 1
    assert d.dirty
    for action in (lambda: d.update({"b": 2}), lambda: d.pop("b"), lambda: d.popitem(), d.clear):
        d["x"] = 0
        d.dirty = False
        action()
        assert d.dirty
    d["k"] = 1
    d.dirty = False
    del d["k"]
    d.setdefault("z", 3)
    assert not d.dirty


def test_peer_from_key_and_bytes() -> None:
    peer = Peer(KEY)
    assert peer.key is KEY
    assert peer.public_key.key_to_bin() == KEY.pub().key_to_bin()
    assert peer.mid == KEY.key_to_hash()
    by_bin = Peer(KEY.pub().key_to_bin())
    assert by_bin == peer and hash(by_bin) == hash(peer)
    from ipv8.peer import Peer as ReferencePeer  # py-ipv8, a test dependency

    assert hash(peer) == hash(ReferencePeer(KEY.pub().key_to_bin()))


@pytest.mark.parametrize("bad", [KEY.key_to_bin(), b"-----BEGIN EC PRIVATE KEY-----xyz", b"garbage"])
def test_peer_refuses_private_or_bad_bytes(bad: bytes) -> None:
    with pytest.raises(ValueError):
        Peer(bad)


def test_last_response_and_clock() -> None:
    assert Peer(KEY).last_response == 0
    assert Peer(KEY, intro=False).last_response == pytest.approx(time.time(), abs=5)
    peer = Peer(KEY)
    assert peer.get_lamport_timestamp() == 0
    peer.update_clock(5)
    peer.update_clock(3)
    assert peer.get_lamport_timestamp() == 5
    assert peer.last_response > 0


def test_address_preference() -> None:
    peer = Peer(KEY)
    assert peer.address == UDPv4Address("0.0.0.0", 0)
    peer.address = ("1.2.3.4", 5)
    assert peer.address == ("1.2.3.4", 5) and type(peer.address) is tuple
    peer.add_address(UDPv4Address("1.1.1.1", 1))
    assert type(peer.address) is UDPv4Address
    peer.add_address(UDPv4LANAddress("10.0.0.1", 1))
    peer.add_address(DomainAddress("example.org", 1))
    assert peer.address == UDPv4Address("1.1.1.1", 1)
    peer.add_address(UDPv6Address("::1", 2))
    assert peer.address == UDPv6Address("::1", 2)
    peer.add_address(UDPv4Address("2.2.2.2", 2))
    assert peer.address == UDPv6Address("::1", 2)
    assert len(peer.addresses) == 5


def test_lan_only_constructor_address_stays_preferred() -> None:
    peer = Peer(KEY, UDPv4LANAddress("10.0.0.1", 1))
    assert peer.address == UDPv4LANAddress("10.0.0.1", 1)


def test_frozen_and_manual_update() -> None:
    peer = Peer(KEY, UDPv4Address("1.1.1.1", 1))
    peer.address_frozen = True
    peer.add_address(UDPv4Address("2.2.2.2", 2))
    assert peer.address == ("1.1.1.1", 1)
    peer.addresses.update({UDPv4Address: UDPv4Address("3.3.3.3", 3)})
    assert peer.address == ("3.3.3.3", 3)


def test_pings() -> None:
    peer = Peer(KEY)
    assert peer.get_median_ping() is None and peer.get_average_ping() is None
    for value in (1.0, 4.0, 2.0, 3.0):
        peer.pings.append(value)
    assert peer.get_median_ping() == 2.5
    assert peer.get_average_ping() == 2.5
    for value in (9.0, 9.0):
        peer.pings.append(value)
    assert len(peer.pings) == 5
    assert peer.get_median_ping() == 4.0


def test_equality_and_str() -> None:
    a, b, c = Peer(KEY, ("1.1.1.1", 1)), Peer(KEY, ("2.2.2.2", 2)), Peer(OTHER)
    assert a == b and not a != b
    assert a != c and not a == c
    assert (a == "x") is False and (a != "x") is True
    assert str(a) == f"Peer<1.1.1.1:1, {b64encode(a.mid).decode()}>"
