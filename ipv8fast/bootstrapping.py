"""Bootstrappers: where a Community without peers finds its first ones (spec api.md §17, wire.md §7).

* :class:`DispersyBootstrapper` walks to a fixed list of tracker addresses (plus DNS names resolved once);
  trackers answer with ordinary introduction responses. The addresses are blacklisted: never peers.
* :class:`UDPBroadcastBootstrapper` announces the community prefix on a broadcast socket; nodes that run
  the same community walk to the announcer. ``broadcast_address`` / ``ports`` / ``bind_ip`` exist so tests
  can aim it at one loopback socket instead of broadcasting (py-ipv8 has no such knobs).
"""
from __future__ import annotations

import asyncio
import logging
import socket
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from random import choice
from time import time
from typing import TYPE_CHECKING, Any

from .addresses import UDPv4Address

if TYPE_CHECKING:
    from .community import Community

__all__ = ["HDR_ANNOUNCE", "MAGIC", "PROTOCOL_VERSION", "BroadcastBootstrapEndpoint", "Bootstrapper",
           "DispersyBootstrapper", "UDPBroadcastBootstrapper"]

PROTOCOL_VERSION = b"\x00\x00"
MAGIC = b"IPv8"
HDR_ANNOUNCE = PROTOCOL_VERSION + MAGIC + b"\x00"

logger = logging.getLogger(__name__)


class Bootstrapper(ABC):
    """A source of first contacts for an overlay; no network I/O before :meth:`initialize`."""

    def __init__(self) -> None:
        self.initialized = False

    @abstractmethod
    def initialize(self, overlay: Any) -> Awaitable[bool] | Coroutine[Any, Any, bool]:
        """Prepare for ``overlay`` (open sockets, resolve names); resolves to success."""

    @abstractmethod
    async def get_addresses(self, overlay: Any, timeout: float) -> Iterable[Any]:
        """Addresses to walk to (may also contact them itself and return none)."""

    @abstractmethod
    def keep_alive(self, overlay: Any) -> None:
        """Remind the bootstrap service that we exist."""

    @abstractmethod
    def blacklist(self) -> Iterable[Any]:
        """Addresses that must never become peers."""

    @abstractmethod
    def unload(self) -> None:
        """Release resources."""


class DispersyBootstrapper(Bootstrapper):
    """Introduction requests to tracker addresses, every ``bootstrap_timeout`` seconds at most."""

    #: Resolves a host name to an IPv4 address string (blocking; run in the executor). Swappable for tests.
    resolve: Callable[[str], str] = staticmethod(socket.gethostbyname)

    def __init__(self, ip_addresses: Iterable[Any], dns_addresses: Iterable[Any],
                 bootstrap_timeout: float = 30.0) -> None:
        super().__init__()
        self.ip_addresses: list[Any] = [UDPv4Address(*address) for address in ip_addresses]
        self.dns_addresses = list(dns_addresses)
        self.bootstrap_timeout = bootstrap_timeout
        self.last_bootstrap: float = 0

    async def initialize(self, overlay: Community) -> bool:
        if self.initialized:
            return True
        self.initialized = True
        overlay.network.blacklist.extend(self.ip_addresses)
        await self.resolve_dns_bootstrap_addresses()
        return True

    async def resolve_dns_bootstrap_addresses(self) -> None:
        """Resolve every DNS name once, adding new (ip, port) results; failures are logged at info."""
        loop = asyncio.get_running_loop()
        for host, port in self.dns_addresses:
            try:
                ip = await loop.run_in_executor(None, self.resolve, host)
            except OSError as exc:
                logger.info("Unable to resolve bootstrap DNS address (%s, %d): %s", host, port, exc)
                continue
            address = UDPv4Address(ip, port)
            if address not in self.ip_addresses:
                self.ip_addresses.append(address)

    async def get_addresses(self, overlay: Community, timeout: float) -> Iterable[Any]:
        now = time()
        if now - self.last_bootstrap < self.bootstrap_timeout:
            return []
        self.last_bootstrap = now
        for address in self.ip_addresses:
            overlay.ensure_blacklisted(address)
            overlay.walk_to(address)
        return []

    def keep_alive(self, overlay: Community) -> None:
        if self.ip_addresses:
            address = choice(self.ip_addresses)
            overlay.ensure_blacklisted(address)
            overlay.walk_to(address)

    def blacklist(self) -> Iterable[Any]:
        return self.ip_addresses

    def unload(self) -> None:
        pass


class BroadcastBootstrapEndpoint(asyncio.DatagramProtocol):
    """The broadcast socket of a :class:`UDPBroadcastBootstrapper`: beacons out, first contacts in."""

    def __init__(self, overlay: Community, bind_ip: str = "") -> None:
        super().__init__()
        self.overlay = overlay
        self.bind_ip = bind_ip
        self._socket: socket.socket | None = None
        self._transport: asyncio.DatagramTransport | None = None

    async def open(self) -> bool:
        """Bind an ephemeral port with SO_REUSEADDR and SO_BROADCAST; False if that fails."""
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            sock.bind((self.bind_ip, 0))
            self._transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(lambda: self, sock=sock)
            self._socket = sock
        except (OSError, ValueError):
            return False
        return True

    def get_address(self) -> Any:
        return None if self._socket is None else self._socket.getsockname()

    def send(self, socket_address: Any, data: bytes) -> None:
        """Send and ignore every error (some systems refuse some ports)."""
        try:
            if self._socket is not None:
                self._socket.sendto(data, socket_address)
        except (TypeError, ValueError, AttributeError, OSError):
            pass

    def datagram_received(self, data: bytes, addr: Any) -> None:
        prefix = self.overlay.get_prefix()
        address = UDPv4Address(*addr[:2])
        if data.startswith(HDR_ANNOUNCE):
            if data[len(HDR_ANNOUNCE):] == prefix:
                self.overlay.walk_to(address)
        elif data.startswith(prefix):
            self.overlay.on_packet((address, data))

    def close(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()


class UDPBroadcastBootstrapper(Bootstrapper):
    """Finds peers on the LAN by announcing the community prefix to every UDP port of the broadcast address."""

    def __init__(self, bootstrap_timeout: float = 30.0, *, broadcast_address: str = "255.255.255.255",
                 ports: Iterable[int] = range(65535), bind_ip: str = "") -> None:
        super().__init__()
        self.endpoint: BroadcastBootstrapEndpoint | None = None
        self.overlay: Community | None = None
        self.bootstrap_timeout = bootstrap_timeout
        self.last_bootstrap: float = 0
        self.broadcast_address = broadcast_address
        self.ports = ports
        self.bind_ip = bind_ip

    @staticmethod
    def beacon_packet(prefix: bytes) -> bytes:
        """The 29-byte announcement for a community prefix."""
        return HDR_ANNOUNCE + prefix

    async def initialize(self, overlay: Community) -> bool:
        if self.initialized:
            return True
        self.initialized = True
        self.overlay = overlay
        endpoint = BroadcastBootstrapEndpoint(overlay, self.bind_ip)
        if not await endpoint.open():
            return False
        self.endpoint = endpoint
        self.beacon(overlay.get_prefix())
        return True

    def beacon(self, service_prefix: bytes) -> None:
        """Announce ``service_prefix`` (fire and forget)."""
        if self.endpoint is not None:
            packet = self.beacon_packet(service_prefix)
            for port in self.ports:
                self.endpoint.send((self.broadcast_address, port), packet)

    async def get_addresses(self, overlay: Community, timeout: float) -> Iterable[Any]:
        now = time()
        if now - self.last_bootstrap < self.bootstrap_timeout:
            return []
        self.last_bootstrap = now
        self.beacon(overlay.get_prefix())
        return []

    def keep_alive(self, overlay: Community) -> None:
        self.beacon(overlay.get_prefix())

    def blacklist(self) -> Iterable[Any]:
        return []

    def unload(self) -> None:
        if self.endpoint is not None:
            self.endpoint.close()
