"""MockIPv8 (py-ipv8's ``ipv8.test.mocking.ipv8``; spec api.md §22.2)."""
from __future__ import annotations

import asyncio
import importlib
from collections.abc import Iterator
from typing import Any

from ..community import Community, CommunitySettings
from ..keys import default_eccrypto
from ..network import Network
from ..peer import Peer
from ..statistics_endpoint import StatisticsEndpoint
from ..util import maybe_coroutine
from .discovery import MockWalk
from .endpoint import AutoMockEndpoint

__all__ = ["MockIPv8", "MockTunnelEndpoint"]


class MockTunnelEndpoint(AutoMockEndpoint):
    """An AutoMockEndpoint with the TunnelEndpoint API, doing nothing with it."""

    def set_tunnel_community(self, tunnel_community: Any, hops: int = 1) -> None:
        """Pretend to adopt ``tunnel_community`` (a TunnelCommunity, or None)."""


def _dht_class() -> type:
    """py-ipv8's DHTDiscoveryCommunity (hybrid alias only)."""
    from ..configuration import upper_layers_available

    if not upper_layers_available():
        raise NotImplementedError("create_dht: the DHT is outside ipv8fast's scope; install py-ipv8 3.2.x and use "
                                  "the hybrid alias (ipv8fast.compat) for it")
    return importlib.import_module("ipv8.dht.discovery").DHTDiscoveryCommunity


class MockIPv8:
    """One test node: an opened AutoMockEndpoint, a Network, a key and one overlay.

    ``endpoint_class`` (a class attribute) lets a test suite swap in e.g. a LossyEndpoint factory.
    """

    endpoint_class: Any = AutoMockEndpoint

    def __init__(self, crypto_curve_or_peer: str | Peer, overlay_class: type[Community],
                 settings: CommunitySettings | None = None,
                 create_dht: bool = False, enable_statistics: bool = False) -> None:
        dht_class = _dht_class() if create_dht else None
        self.endpoint: Any = self.endpoint_class()
        self.endpoint.open()
        if enable_statistics:
            self.endpoint = StatisticsEndpoint(self.endpoint)
        self.network = Network()
        wan_address = self.endpoint.wan_address
        if isinstance(crypto_curve_or_peer, Peer):
            self.my_peer = crypto_curve_or_peer
            self.my_peer.address = wan_address
        else:
            self.my_peer = Peer(default_eccrypto.generate_key(crypto_curve_or_peer), wan_address)
        fields = {"my_peer": self.my_peer, "endpoint": self.endpoint, "network": self.network}
        if settings is None:
            settings = overlay_class.settings_class(**fields)
        else:
            settings.__dict__.update(fields)
        self.dht = None
        if dht_class is not None:
            self.dht = dht_class(CommunitySettings(my_peer=self.my_peer, endpoint=self.endpoint, network=self.network))
            settings.dht = self.dht
        self.overlay = overlay_class(settings)
        self.discovery = MockWalk(self.overlay)
        self.overlay.my_estimated_wan = wan_address
        self.overlay.my_estimated_lan = self.endpoint.lan_address
        self.overlays: list[Any] = []
        self.strategies: list[tuple[Any, int]] = []
        if enable_statistics:
            self.endpoint.enable_community_statistics(self.overlay.get_prefix(), True)

    def add_strategy(self, overlay: Any, strategy: Any, target_peers: int) -> None:
        self.overlays.append(overlay)
        self.strategies.append((strategy, target_peers))

    def get_overlay(self, overlay_cls: type) -> Any:
        return next(self.get_overlays(overlay_cls), None)

    def get_overlays(self, overlay_cls: type) -> Iterator[Any]:
        return (o for o in (self.dht, self.overlay) if isinstance(o, overlay_cls))

    def unload_overlay(self, instance: Any) -> Any:
        self.overlays = [overlay for overlay in self.overlays if overlay is not instance]
        self.strategies = [(s, t) for s, t in self.strategies if s.overlay is not instance]
        return maybe_coroutine(instance.unload)

    async def stop(self) -> None:
        """Close the endpoint first, then unload the overlay."""
        self.endpoint.close()
        await self.overlay.unload()
        if self.dht:
            await self.dht.unload()

    async def produce_anonymized_endpoint(self) -> MockTunnelEndpoint:
        """A fresh, opened MockTunnelEndpoint."""
        endpoint = MockTunnelEndpoint()
        endpoint.open()
        await asyncio.sleep(0)
        return endpoint
