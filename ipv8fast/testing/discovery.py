"""MockWalk (py-ipv8's ``ipv8.test.mocking.discovery``)."""
from __future__ import annotations

from ..discovery import DiscoveryStrategy

__all__ = ["MockWalk"]


class MockWalk(DiscoveryStrategy):
    """Walks to every verified peer's address on each step."""

    def take_step(self) -> None:
        for peer in list(self.overlay.network.verified_peers):
            self.overlay.walk_to(peer.address)
