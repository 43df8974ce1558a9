"""The peer graph of an IPv8 instance (py-ipv8's ``ipv8.peerdiscovery.network``), indexed.

Known addresses, verified peers, introductions and services are kept in indexes (address -> peers,
introducer -> addresses, service -> peers, key -> peer) so that the per-packet and per-walk-step questions
(who is at this address, which peers serve this community, where can I walk) cost O(1) or O(size of the
answer). Introduced addresses are bounded in total and per introducer, so a flood of introductions cannot
grow memory without limit: the oldest unverified addresses are forgotten first.

py-ipv8's LRU caches ``reverse_ip_lookup`` / ``reverse_intro_lookup`` / ``reverse_service_lookup`` keep their
names, sizes and key order (tests inspect them), but answers always come from the indexes, so they are never
stale. Deliberate deviation: ``remove_by_address`` also forgets the removed peers' keys, so such a peer can be
verified again later.
"""
from __future__ import annotations

import abc
import logging
from collections import OrderedDict
from collections.abc import Iterable
from itertools import islice
from random import choice
from threading import RLock
from typing import TYPE_CHECKING, Any, NamedTuple

from .addresses import UDPv4Address
from .serialization import default_serializer

if TYPE_CHECKING:
    from .peer import Peer

__all__ = ["MID", "Network", "PeerObserver", "PublicKeyMat", "Service", "ServiceSet", "WalkableAddress"]

logger = logging.getLogger(__name__)

MID = bytes
PublicKeyMat = bytes
Service = bytes
ServiceSet = set

class WalkableAddress(NamedTuple):
    """What we know about an address: who introduced it, through which service, and its protocol style."""

    introduced_by: bytes
    services: bytes | None
    new_style: bool


_NO_WALKABLE = WalkableAddress(b"", None, False)


class PeerObserver(metaclass=abc.ABCMeta):
    """Told when a peer becomes verified or is removed from a Network."""

    @abc.abstractmethod
    def on_peer_added(self, peer: Peer) -> None:
        """``peer`` became verified."""

    @abc.abstractmethod
    def on_peer_removed(self, peer: Peer) -> None:
        """``peer`` was removed."""


def _lru_put(cache: OrderedDict, key: Any, value: Any, size: int) -> None:
    cache[key] = value
    while len(cache) > size > -1:
        cache.popitem(last=False)


class Network:
    """Verified peers, walkable addresses, services and introductions of one IPv8 instance."""

    #: At most this many known addresses (verified peers' addresses never count as evictable).
    max_addresses: int = 20_000
    #: At most this many addresses remembered per introducer.
    max_introductions_per_peer: int = 256

    def __init__(self) -> None:
        self._all_addresses: dict[Any, WalkableAddress] = {}
        self.verified_peers: set[Peer] = set()
        self.verified_by_public_key_bin: dict[bytes, Peer] = {}
        self.graph_lock = RLock()
        self.blacklist: list[Any] = []
        self.blacklist_mids: list[bytes] = []
        self.services_per_peer: dict[bytes, set[bytes]] = {}
        self.service_overlays: dict[bytes, Any] = {}
        self.peer_observers: set[PeerObserver] = set()
        self.reverse_ip_cache_size = 500
        self.reverse_ip_lookup: OrderedDict[Any, Peer] = OrderedDict()
        self.reverse_intro_cache_size = 500
        self.reverse_intro_lookup: OrderedDict[Peer, list] = OrderedDict()
        self.reverse_service_cache_size = 500
        self.reverse_service_lookup: OrderedDict[bytes, list[Peer]] = OrderedDict()
        # address -> verified peers having it (insertion ordered; the last one answers)
        self._by_address: dict[Any, dict[Peer, None]] = {}
        # verified peer -> the addresses it is indexed under
        self._indexed: dict[Peer, tuple] = {}
        # introducer key bin -> addresses it introduced (ordered, oldest first)
        self._by_introducer: dict[bytes, dict[Any, None]] = {}
        # service recorded at discovery -> addresses
        self._by_discovery_service: dict[bytes, dict[Any, None]] = {}
        # service -> key bins advertising it
        self._by_service: dict[bytes, dict[bytes, None]] = {}

    # --- address bookkeeping ---

    def _record_address(self, address: Any, walkable: WalkableAddress) -> None:
        old = self._all_addresses.get(address)
        if old is not None:
            self._unlink(address, old)
        else:
            self._evict_if_full()
        self._all_addresses[address] = walkable
        if walkable.introduced_by:
            introduced = self._by_introducer.setdefault(walkable.introduced_by, {})
            introduced[address] = None
            if len(introduced) > self.max_introductions_per_peer:
                self._evict_from(introduced)
        if walkable.services is not None:
            self._by_discovery_service.setdefault(walkable.services, {})[address] = None

    def _unlink(self, address: Any, walkable: WalkableAddress) -> None:
        introduced = self._by_introducer.get(walkable.introduced_by)
        if introduced is not None:
            introduced.pop(address, None)
            if not introduced:
                del self._by_introducer[walkable.introduced_by]
        if walkable.services is not None:
            by_service = self._by_discovery_service.get(walkable.services)
            if by_service is not None:
                by_service.pop(address, None)
                if not by_service:
                    del self._by_discovery_service[walkable.services]

    def _forget_address(self, address: Any) -> None:
        walkable = self._all_addresses.pop(address, None)
        if walkable is not None:
            self._unlink(address, walkable)

    def _evict_from(self, addresses: dict) -> None:
        """Forget the oldest address of ``addresses`` that no verified peer uses."""
        for candidate in list(islice(addresses, 64)):
            if candidate not in self._by_address:
                self._forget_address(candidate)
                return

    def _evict_if_full(self) -> None:
        if len(self._all_addresses) < self.max_addresses:
            return
        for candidate in list(islice(self._all_addresses, 64)):
            if candidate not in self._by_address:
                self._forget_address(candidate)
                return
            # a verified peer's address: keep it but move it to the young end
            self._all_addresses[candidate] = self._all_addresses.pop(candidate)

    # --- verified-peer index ---

    def _index_peer(self, peer: Peer) -> None:
        old = self._indexed.get(peer, ())
        new = tuple(peer.addresses.values())
        if old == new:
            return
        for address in old:
            holders = self._by_address.get(address)
            if holders is not None:
                holders.pop(peer, None)
                if not holders:
                    del self._by_address[address]
        for address in new:
            self._by_address.setdefault(address, {})[peer] = None
        self._indexed[peer] = new

    def _on_addresses_changed(self, peer: Peer) -> None:
        if peer in self._indexed:
            self._index_peer(peer)

    def _verify(self, peer: Peer) -> None:
        self.verified_peers.add(peer)
        self.verified_by_public_key_bin[peer._key_bin] = peer
        self._index_peer(peer)
        peer._watch(self._on_addresses_changed)
        for observer in list(self.peer_observers):
            observer.on_peer_added(peer)

    def _unindex_peer(self, peer: Peer) -> None:
        peer._unwatch(self._on_addresses_changed)
        for address in self._indexed.pop(peer, ()):
            holders = self._by_address.get(address)
            if holders is not None:
                holders.pop(peer, None)
                if not holders:
                    del self._by_address[address]

    # --- py-ipv8 API ---

    def is_new_style(self, address: Any) -> bool:
        """True iff the address is known and known to speak the new-style introduction protocol."""
        return self._all_addresses.get(address, _NO_WALKABLE).new_style

    def discover_address(self, peer: Peer, address: Any, service: bytes | None = None,
                         new_style: bool = False) -> None:
        """``peer`` introduced ``address`` (through ``service``); ``peer`` itself is (re)verified."""
        if address in self.blacklist:
            self.add_verified_peer(peer)
            return
        with self.graph_lock:
            known = self._all_addresses.get(address)
            if known is None or known.introduced_by not in self.verified_by_public_key_bin:
                self._record_address(address, WalkableAddress(peer._key_bin, service, new_style))
                if peer not in self.reverse_intro_lookup:
                    _lru_put(self.reverse_intro_lookup, peer, [], self.reverse_intro_cache_size)
            self.add_verified_peer(peer)

    def discover_services(self, peer: Peer, services: Iterable[bytes]) -> None:
        """``peer`` advertises ``services`` (works for unverified peers too)."""
        services = list(services)
        with self.graph_lock:
            key_bin = peer._key_bin
            known = self.services_per_peer.get(key_bin)
            if known is None:
                self.services_per_peer[key_bin] = set(services)
            else:
                known.update(services)
            for service in services:
                self._by_service.setdefault(service, {})[key_bin] = None

    def add_verified_peer(self, peer: Peer) -> None:
        """Verify ``peer``; for a key we already verified, only merge the addresses into the known Peer."""
        if peer.mid in self.blacklist_mids:
            return
        with self.graph_lock:
            known = self.verified_by_public_key_bin.get(peer._key_bin)
            if known is not None:
                if known is not peer:
                    known.addresses.update(peer.addresses)
                return
            addresses = list(peer.addresses.values())
            if any(address in self._all_addresses for address in addresses):
                if peer not in self.verified_peers:
                    self._verify(peer)
            elif all(address not in self.blacklist for address in addresses):
                for address in addresses:
                    if address not in self._all_addresses:
                        self._record_address(address, _NO_WALKABLE)
                if peer not in self.verified_peers:
                    self._verify(peer)

    def register_service_provider(self, service_id: bytes, overlay: Any) -> None:
        with self.graph_lock:
            self.service_overlays[service_id] = overlay

    def get_peers_for_service(self, service_id: bytes) -> list[Peer]:
        """Verified peers advertising ``service_id``: O(number of peers that ever advertised it)."""
        out = []
        keys = self._by_service.get(service_id)
        if keys:
            verified = self.verified_by_public_key_bin
            services = self.services_per_peer
            stale = []
            for key_bin in keys:
                peer = verified.get(key_bin)
                advertised = services.get(key_bin)
                if advertised is None:
                    stale.append(key_bin)
                elif peer is not None and service_id in advertised and peer in self.verified_peers:
                    out.append(peer)
            for key_bin in stale:
                keys.pop(key_bin, None)
        cache = self.reverse_service_lookup
        cache.pop(service_id, None)
        _lru_put(cache, service_id, out, self.reverse_service_cache_size)
        return out

    def random_peer_for_service(self, service_id: bytes, exclude: Peer | None = None, ipv4_only: bool = False,
                                tries: int = 8) -> Peer | None:
        """A uniformly random peer of :meth:`get_peers_for_service` other than ``exclude`` (with an IPv4
        address when ``ipv4_only``), or None. Draws among the service's keys and rejects ineligible ones: no
        Python-level pass over all peers (a tracker answers every introduction request with one of these);
        after ``tries`` misses it takes the full list and chooses among what qualifies."""
        keys = self._by_service.get(service_id)
        if not keys:
            return None
        candidates = list(keys)  # a copy at C speed, not a Python loop per peer
        verified = self.verified_by_public_key_bin
        services = self.services_per_peer
        for _ in range(tries):
            key_bin = choice(candidates)
            peer = verified.get(key_bin)
            if peer is None or peer not in self.verified_peers:
                continue
            advertised = services.get(key_bin)
            if advertised is None or service_id not in advertised or peer == exclude:
                continue
            if ipv4_only and not isinstance(peer.address, UDPv4Address):
                continue
            return peer
        available = [peer for peer in self.get_peers_for_service(service_id)
                     if peer != exclude and (not ipv4_only or isinstance(peer.address, UDPv4Address))]
        return choice(available) if available else None

    def get_services_for_peer(self, peer: Peer) -> set[bytes]:
        """The live set of services of ``peer`` (a new empty set if none are known)."""
        with self.graph_lock:
            return self.services_per_peer.get(peer._key_bin, set())

    def get_walkable_addresses(self, service_id: bytes | None = None, old_style: bool = False) -> list[Any]:
        """Known addresses that no (service) peer is verified at, filtered to ``service_id`` when given."""
        with self.graph_lock:
            if not service_id:
                return [address for address in self._all_addresses if address not in self._by_address]
            candidates: dict[Any, None] = {}
            for key_bin in self._by_service.get(service_id, ()):
                if service_id in self.services_per_peer.get(key_bin, ()):
                    candidates.update(self._by_introducer.get(key_bin, {}))
            for address in self._by_discovery_service.get(service_id, ()):
                introducer = self._all_addresses[address].introduced_by
                services = self.services_per_peer.get(introducer)
                if services is not None and service_id not in services:
                    services.add(service_id)  # py-ipv8 records the discovery service on the introducer
                    self._by_service.setdefault(service_id, {})[introducer] = None
                candidates[address] = None
            out = []
            for address in candidates:
                walkable = self._all_addresses.get(address)
                if walkable is None or (old_style and walkable.new_style):
                    continue
                holders = self._by_address.get(address)
                if holders and any(service_id in self.services_per_peer.get(p._key_bin, ()) for p in holders):
                    continue
                out.append(address)
            return out

    def get_verified_by_address(self, address: Any) -> Peer | None:
        """A verified peer at ``address`` (the most recently indexed one if several share it), or None."""
        holders = self._by_address.get(address)
        cache = self.reverse_ip_lookup
        if not holders:
            if cache:
                cache.pop(address, None)
            return None
        peer = next(reversed(holders))
        if cache.get(address) is peer:
            cache.move_to_end(address)  # the hot path: a known peer sends again
        else:
            cache.pop(address, None)
            _lru_put(cache, address, peer, self.reverse_ip_cache_size)
        return peer

    def get_verified_by_public_key_bin(self, public_key_bin: bytes) -> Peer | None:
        return self.verified_by_public_key_bin.get(public_key_bin)

    def get_introductions_from(self, peer: Peer) -> list[Any]:
        """The addresses ``peer`` introduced that we still know."""
        out = list(self._by_introducer.get(peer._key_bin, ()))
        if peer not in self.reverse_intro_lookup:
            _lru_put(self.reverse_intro_lookup, peer, out, self.reverse_intro_cache_size)
        return out

    def _remove_verified(self, peer: Peer) -> None:
        self.verified_by_public_key_bin.pop(peer._key_bin, None)
        self.services_per_peer.pop(peer._key_bin, None)
        self._unindex_peer(peer)

    def remove_by_address(self, address: Any) -> None:
        """Forget ``address`` and every verified peer using it (their keys and services too)."""
        with self.graph_lock:
            self._forget_address(address)
            holders = list(self._by_address.get(address, ()))
            removed = [peer for peer in holders if peer in self.verified_peers]
            if not holders:
                return
            self.verified_peers = self.verified_peers.difference(holders)
            for peer in holders:
                self._remove_verified(peer)
            for peer in removed:
                for observer in list(self.peer_observers):
                    observer.on_peer_removed(peer)

    def remove_peer(self, peer: Peer) -> None:
        """Forget ``peer``: its addresses, verification, key and services."""
        with self.graph_lock:
            known = self.verified_by_public_key_bin.get(peer._key_bin, peer)
            for address in set(peer.addresses.values()) | set(known.addresses.values()):
                self._forget_address(address)
            if peer in self.verified_peers:
                self.verified_peers.remove(peer)
                for observer in list(self.peer_observers):
                    observer.on_peer_removed(peer)
            self._remove_verified(known)
            if known is not peer:
                self._unindex_peer(peer)

    def snapshot(self) -> bytes:
        """The packed ``address`` of every verified peer with a known address."""
        with self.graph_lock:
            return b"".join(default_serializer.pack("address", peer.address) for peer in self.verified_peers
                            if peer.address and peer.address != ("0.0.0.0", 0))

    def load_snapshot(self, snapshot: bytes) -> None:
        """Add the addresses of a :meth:`snapshot` as walkable; stops quietly at the first undecodable entry."""
        offset = 0
        with self.graph_lock:
            while offset < len(snapshot):
                try:
                    address, offset = default_serializer.unpack("address", snapshot, offset)
                except Exception:  # noqa: BLE001 - garbage ends the snapshot
                    break
                self._record_address(address, _NO_WALKABLE)

    def add_peer_observer(self, observer: PeerObserver) -> None:
        self.peer_observers.add(observer)

    def remove_peer_observer(self, observer: PeerObserver) -> None:
        self.peer_observers.discard(observer)
