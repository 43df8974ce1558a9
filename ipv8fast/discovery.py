"""Discovery strategies (py-ipv8's ``ipv8.peerdiscovery.discovery`` and ``.churn``; spec api.md §15).

A strategy is stepped by the IPv8 service's dispatcher (every ``walker_interval``, 0.5 s by default) while
its overlay has fewer peers than the strategy's target (or always, for target -1). Each ``take_step`` does
a little work and returns at once; state lives on the strategy.
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from random import choice, randint, sample
from time import time
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from .overlay import Overlay
    from .peer import Peer

__all__ = ["DiscoveryStrategy", "EdgeWalk", "RandomChurn", "RandomWalk"]

OverlayT = TypeVar("OverlayT")


class DiscoveryStrategy(Generic[OverlayT], ABC):
    """Base of all strategies: ``overlay`` (may be None) and a ``walk_lock`` for ``take_step`` bodies."""

    def __init__(self, overlay: OverlayT) -> None:
        self.overlay = overlay
        self.walk_lock = threading.Lock()

    @abstractmethod
    def take_step(self) -> None:
        """Do one step of work; called by the IPv8 service on each tick its peer-count gate allows."""

    def get_peer_count(self) -> int:
        """How many peers the overlay has (0 without an overlay)."""
        return 0 if self.overlay is None else len(self.overlay.get_peers())  # type: ignore[attr-defined]


class RandomWalk(DiscoveryStrategy["Overlay"]):
    """Walk to random walkable addresses; at most ``window_size`` unanswered walks, each forgotten after
    ``timeout`` seconds; with chance ``reset_chance``/256 ask for a fresh introduction instead."""

    def __init__(self, overlay: Overlay, timeout: float = 3.0, window_size: int = 5, reset_chance: int = 50,
                 target_interval: float = 0) -> None:
        super().__init__(overlay)
        self.intro_timeouts: dict[Any, float] = {}
        self.node_timeout = timeout
        self.window_size = window_size
        self.reset_chance = reset_chance
        self.target_interval = target_interval
        self.last_step: float = 0

    def take_step(self) -> None:
        with self.walk_lock:
            overlay = self.overlay
            now = time()
            if self.intro_timeouts:
                expired = [address for address, sent in self.intro_timeouts.items() if sent + self.node_timeout < now]
                network = overlay.network
                for address in expired:
                    del self.intro_timeouts[address]
                    if not network.get_verified_by_address(address):
                        network.remove_by_address(address)
            if self.target_interval > 0 and self.last_step + self.target_interval >= now:
                return
            if self.window_size and 0 < self.window_size <= len(self.intro_timeouts):
                return
            outstanding = self.intro_timeouts
            available = [address for address in dict.fromkeys(overlay.get_walkable_addresses())
                         if address not in outstanding]
            if available and randint(0, 255) >= self.reset_chance:
                address = choice(available)
                overlay.walk_to(address)
                outstanding[address] = time()
            else:
                overlay.get_new_introduction()
            self.last_step = time()


class EdgeWalk(DiscoveryStrategy["Overlay"]):
    """Depth-first walks ("edges") of up to ``edge_length`` peers, each rooted in one of
    ``neighborhood_size`` direct neighbours; an edge that stops growing for ``edge_timeout`` s ends."""

    def __init__(self, overlay: Overlay, edge_length: int = 4, neighborhood_size: int = 6,
                 edge_timeout: float = 3.0) -> None:
        super().__init__(overlay)
        self._neighborhood: list[Peer] = []
        self.complete_edges: list[list[Peer]] = []
        self.under_construction: dict[Peer, list[Peer]] = {}
        self.last_edge_responses: dict[Peer, float] = {}
        self.edge_length = edge_length
        self.neighborhood_size = neighborhood_size
        self.edge_timeout = edge_timeout

    def get_available_root(self) -> Peer | None:
        """A random neighbour that is not growing an edge now, or None."""
        free = [peer for peer in self._neighborhood if peer not in self.under_construction]
        return choice(free) if free else None

    def take_step(self) -> None:
        with self.walk_lock:
            overlay = self.overlay
            if len(self._neighborhood) < self.neighborhood_size or not self._neighborhood:
                self._neighborhood = overlay.get_peers()[:self.neighborhood_size]
                overlay.bootstrap()
                for address in overlay.get_walkable_addresses()[:self.neighborhood_size]:
                    overlay.walk_to(address)
                return
            root = self.get_available_root()
            if root is not None:
                self.under_construction[root] = [root]
                self.last_edge_responses[root] = time()
                overlay.get_new_introduction(root)
                return
            self._grow_edges()

    def _grow_edges(self) -> None:
        overlay = self.overlay
        network = overlay.network
        finished = []
        for root, edge in self.under_construction.items():
            verified = []
            for address in network.get_introductions_from(edge[-1]):
                peer = network.get_verified_by_address(address)
                if peer:
                    verified.append(peer)
                else:
                    overlay.walk_to(address)
            if verified:
                self.last_edge_responses[root] = time()
                following = choice(verified)
                edge.append(following)
                if len(edge) == self.edge_length:
                    self.complete_edges.append(edge)
                    finished.append(root)
                else:
                    overlay.walk_to(following.address)
            elif self.last_edge_responses[root] + self.edge_timeout < time():
                if len(edge) > 1:
                    self.complete_edges.append(edge)
                finished.append(root)
        for root in finished:
            del self.under_construction[root]


class RandomChurn(DiscoveryStrategy["Overlay"]):
    """Ping a sample of verified peers that are quiet (or have few RTT samples); drop pinged peers that
    stayed silent for ``drop_time`` seconds. Needs an overlay with ``send_ping`` (DiscoveryCommunity)."""

    def __init__(self, overlay: Overlay, sample_size: int = 8, ping_interval: float = 10.0,
                 inactive_time: float = 27.5, drop_time: float = 57.5) -> None:
        super().__init__(overlay)
        self._pinged: dict[Any, float] = {}
        self.sample_size = sample_size
        self.ping_interval = ping_interval
        self.inactive_time = inactive_time
        self.drop_time = drop_time

    def should_drop(self, peer: Peer) -> bool:
        return peer.last_response != 0 and time() > peer.last_response + self.drop_time

    def is_inactive(self, peer: Peer) -> bool:
        return peer.last_response != 0 and time() > peer.last_response + self.inactive_time

    def take_step(self) -> None:
        with self.walk_lock:
            network = self.overlay.network
            size = min(len(network.verified_peers), self.sample_size)
            if size <= 0:
                return
            pinged = self._pinged
            for peer in sample(list(network.verified_peers), size):
                address = peer.address
                if self.should_drop(peer) and address in pinged:
                    network.remove_peer(peer)
                    del pinged[address]
                elif self.is_inactive(peer) or len(peer.pings) < (peer.pings.maxlen or 0):
                    if address in pinged and time() > pinged[address] + self.ping_interval:
                        del pinged[address]
                    if address not in pinged:
                        pinged[address] = time()
                        self.overlay.send_ping(peer)  # type: ignore[attr-defined]
