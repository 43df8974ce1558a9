"""Several endpoints behind one (py-ipv8's ``ipv8.messaging.interfaces.dispatcher.endpoint``):
:class:`DispatcherEndpoint` over the interfaces named in :data:`INTERFACES` ("UDPIPv4" / "UDPIPv6"), each send
going to the interface of its address.
"""
from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

from .addresses import UDPv4Address, UDPv6Address
from .endpoint import Endpoint, EndpointListener
from .udp_endpoint import UDPEndpoint, UDPv6Endpoint

__all__ = ["FAST_ADDR_TO_INTERFACE", "INTERFACES", "PREFERENCE_ORDER", "DispatcherEndpoint", "guess_interface"]

INTERFACES: dict[str, type[Endpoint]] = {"UDPIPv4": UDPEndpoint, "UDPIPv6": UDPv6Endpoint}
PREFERENCE_ORDER: list[str] = ["UDPIPv4", "UDPIPv6"]
FAST_ADDR_TO_INTERFACE: dict[type, str] = {UDPv4Address: "UDPIPv4", UDPv6Address: "UDPIPv6"}


def guess_interface(socket_address: Any) -> str | None:
    """"UDPIPv4" for an IPv4 ``(ip, port)``, "UDPIPv6" for any other IP, None for anything else."""
    try:
        if len(socket_address) == 2 and isinstance(socket_address[0], str) and isinstance(socket_address[1], int):
            if isinstance(ipaddress.ip_address(socket_address[0]), ipaddress.IPv4Address):
                return "UDPIPv4"
            return "UDPIPv6"
    except (ValueError, TypeError):
        pass
    return None


class DispatcherEndpoint(Endpoint):
    """Several endpoints (by interface name) behind one: sends go to the interface of the address."""

    def __init__(self, interfaces: list[str], **kwargs: Any) -> None:
        super().__init__()
        unknown = [name for name in interfaces if name not in INTERFACES]
        if unknown:
            raise ValueError(f"unknown interface {unknown[0]!r}: expected one of {', '.join(INTERFACES)}")
        self.interfaces: dict[str, Endpoint] = {name: INTERFACES[name](**kwargs.get(name, {}))
                                                for name in interfaces}
        self.interface_order = [name for name in PREFERENCE_ORDER if name in self.interfaces]
        self._preferred_interface = self.interfaces[self.interface_order[0]] if self.interface_order else None

    @property
    def bytes_up(self) -> int:
        return sum(getattr(endpoint, "bytes_up", 0) for endpoint in self.interfaces.values())

    @property
    def bytes_down(self) -> int:
        return sum(getattr(endpoint, "bytes_down", 0) for endpoint in self.interfaces.values())

    def add_listener(self, listener: EndpointListener) -> None:
        for endpoint in self.interfaces.values():
            endpoint.add_listener(listener)

    def add_prefix_listener(self, listener: EndpointListener, prefix: bytes) -> None:
        for endpoint in self.interfaces.values():
            endpoint.add_prefix_listener(listener, prefix)

    def remove_listener(self, listener: EndpointListener) -> None:
        for endpoint in self.interfaces.values():
            endpoint.remove_listener(listener)

    def notify_listeners(self, packet: tuple[Any, bytes]) -> None:
        for endpoint in self.interfaces.values():
            endpoint.notify_listeners(packet)

    def assert_open(self) -> None:
        assert self.is_open()

    def is_open(self) -> bool:
        return any(endpoint.is_open() for endpoint in self.interfaces.values())

    def get_address(self, interface: str | None = None) -> Any:
        if interface is not None:
            return self.interfaces[interface].get_address()
        if self._preferred_interface is None:
            return ("0.0.0.0", 0)
        return self._preferred_interface.get_address()

    def send(self, socket_address: Any, packet: bytes, interface: str | None = None) -> None:
        """Send through ``interface``, or the one matching the address; silently dropped if none does."""
        if interface is None:
            interface = FAST_ADDR_TO_INTERFACE.get(type(socket_address)) or guess_interface(socket_address)
        endpoint = self.interfaces.get(interface) if interface is not None else None
        if endpoint is not None:
            endpoint.send(socket_address, packet)

    async def open(self) -> bool:
        """Open every interface; if one fails, close those already open and raise its error."""
        results = []
        for endpoint in self.interfaces.values():
            try:
                results.append(await endpoint.open())
            except BaseException:
                await self.close()
                raise
        return any(results)

    async def close(self) -> None:
        for endpoint in self.interfaces.values():
            result = endpoint.close()
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                await result

    def reset_byte_counters(self) -> None:
        for endpoint in self.interfaces.values():
            endpoint.reset_byte_counters()
