"""The base of every overlay (py-ipv8's ``ipv8.overlay``): Settings and Overlay."""
from __future__ import annotations

import abc
import asyncio
import logging
import types
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._core import cryptopool as _cryptopool
from .endpoint import Endpoint, EndpointListener
from .keys import default_eccrypto
from .lan_addresses import get_providers
from .serialization import Serializer
from .taskmanager import TaskManager

if TYPE_CHECKING:
    from .network import Network
    from .peer import Peer

__all__ = ["Overlay", "Settings", "SettingsClass"]


class Settings(types.SimpleNamespace):
    """Keyword settings of an overlay; extra keywords become attributes, class annotations act as defaults."""

    community_id: bytes
    my_peer: Peer
    endpoint: Endpoint
    network: Network


SettingsClass = TypeVar("SettingsClass", bound=Settings)


class Overlay(EndpointListener, TaskManager, Generic[SettingsClass], metaclass=abc.ABCMeta):
    """An endpoint listener with a peer identity, a network view, a serializer and its own tasks."""

    settings_class: type[Settings] = Settings

    def __init__(self, settings: SettingsClass) -> None:
        EndpointListener.__init__(self, settings.endpoint)
        TaskManager.__init__(self)
        self.serializer = self.get_serializer()
        self.crypto = default_eccrypto
        self.community_id = settings.community_id
        self.my_peer = settings.my_peer
        self.endpoint.add_listener(self)
        self.logger = logging.getLogger(type(self).__name__)
        self.network = settings.network
        self.register_task("discover_lan_addresses", self.discover_lan_addresses, interval=10, delay=0)

    async def discover_lan_addresses(self) -> None:
        """Refresh every LAN address provider (in the default executor)."""
        loop = asyncio.get_running_loop()
        for provider in get_providers():
            await loop.run_in_executor(None, provider.discover_addresses)

    async def unload(self) -> None:
        _cryptopool.settle_all()  # packets queued for verification reach their handlers first, as inline
        self.endpoint.remove_listener(self)
        await self.shutdown_task_manager()

    def get_serializer(self) -> Serializer:
        """A new Serializer; override (calling super) to add packers."""
        return Serializer()

    @abc.abstractmethod
    def on_packet(self, packet: tuple[Any, bytes]) -> None:
        """One datagram ``(source address, data)``."""

    @property
    def global_time(self) -> int:
        """The Lamport clock, kept on ``my_peer``."""
        return self.my_peer.get_lamport_timestamp()

    def claim_global_time(self) -> int:
        """Advance the clock by one and return it."""
        self.update_global_time(self.global_time + 1)
        return self.global_time

    def update_global_time(self, global_time: int) -> None:
        if global_time > self.global_time:
            self.my_peer.update_clock(global_time)

    def get_available_strategies(self) -> dict[str, type]:
        return {}

    def bootstrap(self) -> None:
        """Find peers to start from (nothing by default)."""

    @abc.abstractmethod
    def walk_to(self, address: Any) -> None:
        """Contact ``address``."""

    @abc.abstractmethod
    def get_new_introduction(self, from_peer: Peer | None = None) -> None:
        """Ask for an introduction to a new peer."""

    @abc.abstractmethod
    def get_peers(self) -> list[Peer]:
        """Our verified peers in this overlay."""

    @abc.abstractmethod
    def get_walkable_addresses(self) -> list[Any]:
        """Addresses we could walk to."""

    def get_peer_for_introduction(self, exclude: Peer | None = None) -> Peer | None:
        return None
