"""Endpoints: where datagrams enter and leave (py-ipv8's ``ipv8.messaging.interfaces.endpoint``).

* :class:`Endpoint` / :class:`EndpointListener`: listener registry with 22-byte prefix demultiplexing, and
  the endpoint exceptions.
* The endpoints themselves live in their own modules and are importable from here too:
  :mod:`ipv8fast.udp_endpoint` (:class:`UDPEndpoint`, :class:`UDPv6Endpoint`, batched socket I/O),
  :mod:`ipv8fast.endpoint_interfaces` (:class:`DispatcherEndpoint`, "UDPIPv4" / "UDPIPv6") and
  :mod:`ipv8fast.statistics_endpoint` (:class:`StatisticsEndpoint`, :class:`NetworkStat`).

Delivery is synchronous inside the datagram callback. A listener that raises never takes the endpoint down:
the exception is counted in ``listener_errors`` and logged at debug level.
"""
from __future__ import annotations

import abc
import importlib
import ipaddress
import logging
import socket
import struct
import threading
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING, Any

from ._core import receive as _receive
from ._core.wire import PREFIX_LENGTH
from .addresses import DomainAddress, UDPv4Address, UDPv4LANAddress, UDPv6Address
from .lan_addresses import get_lan_addresses

if TYPE_CHECKING:
    from .endpoint_interfaces import (
        FAST_ADDR_TO_INTERFACE,
        INTERFACES,
        PREFERENCE_ORDER,
        DispatcherEndpoint,
        guess_interface,
    )
    from .statistics_endpoint import NetworkStat, StatisticsEndpoint
    from .udp_endpoint import SocketOption, UDPEndpoint, UDPv6Endpoint, new_event_loop

__all__ = ["FAST_ADDR_TO_INTERFACE", "INTERFACES", "PREFERENCE_ORDER", "Address", "DataTooBigException",
           "DispatcherEndpoint", "DomainAddress", "Endpoint", "EndpointClosedException", "EndpointListener",
           "EndpointOpenError",
           "IllegalDestination", "IllegalEndpointListenerError", "NetworkStat", "SocketOption",
           "StatisticsEndpoint", "UDPEndpoint", "UDPv4Address", "UDPv4LANAddress", "UDPv6Address",
           "UDPv6Endpoint", "guess_interface", "new_event_loop"]

Address = UDPv4Address | UDPv4LANAddress | UDPv6Address | DomainAddress | tuple

#: names defined in the endpoint modules and importable from here (``from ipv8fast.endpoint import UDPEndpoint``)
_ELSEWHERE: dict[str, str] = {
    **dict.fromkeys(("SocketOption", "UDPEndpoint", "UDPv6Endpoint", "new_event_loop"), "udp_endpoint"),
    **dict.fromkeys(("FAST_ADDR_TO_INTERFACE", "INTERFACES", "PREFERENCE_ORDER", "DispatcherEndpoint",
                     "guess_interface"), "endpoint_interfaces"),
    **dict.fromkeys(("NetworkStat", "StatisticsEndpoint"), "statistics_endpoint"),
}


def __getattr__(name: str) -> Any:
    """The endpoint classes of the other endpoint modules, imported on first use (they subclass Endpoint)."""
    module = _ELSEWHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__package__}.{module}"), name)
    globals()[name] = value
    return value


class IllegalEndpointListenerError(RuntimeError):
    """Something that is not an EndpointListener was registered as one."""

    def __init__(self, other: object) -> None:
        super().__init__(f"{type(other)} is not an instance of EndpointListener")


class EndpointClosedException(Exception):
    """The endpoint was used before it was opened."""

    def __init__(self, endpoint: object) -> None:
        super().__init__(f"{type(endpoint)} is unexpectedly closed")


class EndpointOpenError(OSError):
    """An endpoint could not be opened: the message names the interface, the address and port, and why."""

    def __str__(self) -> str:
        return str(self.strerror)


class DataTooBigException(Exception):
    """A datagram exceeds the endpoint's size limit."""

    def __init__(self, size: int, max_size: int) -> None:
        super().__init__(f"Tried to send packet of size {size} > MAX_SIZE({max_size})")


class IllegalDestination(Exception):
    """A datagram was addressed to 0.0.0.0:0."""

    def __init__(self) -> None:
        super().__init__("Attempted to send a message to 0.0.0.0:0.")


class Endpoint(metaclass=abc.ABCMeta):
    """Sends datagrams and hands received ones to listeners, by 22-byte prefix when one is registered."""

    #: the signature-verification worker pool whose queue packets of this endpoint go through (None: inline)
    _crypto_pool: Any = None

    def __init__(self, prefixlen: int = PREFIX_LENGTH) -> None:
        self._logger = logging.getLogger(type(self).__name__)
        self._listeners: list[EndpointListener] = []
        self._prefix_map: dict[bytes, list[EndpointListener]] = {}
        self.prefixlen = prefixlen
        self.listener_update_lock = threading.RLock()
        self.listener_errors = 0

    def add_listener(self, listener: EndpointListener) -> None:
        """Deliver every datagram to ``listener`` (also those of registered prefixes)."""
        if not isinstance(listener, EndpointListener):
            raise IllegalEndpointListenerError(listener)
        with self.listener_update_lock:
            self._listeners = [*self._listeners, listener]
            self._prefix_map = {prefix: [*listeners, listener] for prefix, listeners in self._prefix_map.items()}

    def add_prefix_listener(self, listener: EndpointListener, prefix: bytes) -> None:
        """Deliver datagrams starting with ``prefix`` to ``listener`` (and to the general listeners)."""
        if not isinstance(listener, EndpointListener):
            raise IllegalEndpointListenerError(listener)
        if len(prefix) != self.prefixlen:
            raise RuntimeError(f"Tried to register a prefix of length {len(prefix)}, "
                               f"required to be of length {self.prefixlen}!")
        with self.listener_update_lock:
            current = [entry for entry in self._prefix_map.get(prefix, []) if entry not in self._listeners]
            if listener not in current:
                current.append(listener)
            self._prefix_map = {**self._prefix_map, prefix: [*current, *self._listeners]}

    def remove_listener(self, listener: EndpointListener) -> None:
        """Stop delivering to ``listener``; prefix entries that became plain general lists are dropped."""
        with self.listener_update_lock:
            self._listeners = [entry for entry in self._listeners if entry != listener]
            general = set(self._listeners)
            new_map = {}
            for prefix, listeners in self._prefix_map.items():
                kept = [entry for entry in listeners if entry != listener]
                if set(kept) != general:
                    new_map[prefix] = kept
            self._prefix_map = new_map

    def _deliver_later(self, listener: EndpointListener, packet: tuple[Any, bytes]) -> None:
        if self.is_open() and (packet[1][:self.prefixlen] in self._prefix_map or listener in self._listeners):
            listener.on_packet(packet)

    #: ``notify_listeners(packet)``: hand ``(address, data)`` to the listeners of its prefix, or to the general
    #: ones; a listener that raises is counted in ``listener_errors`` (compiled in ``_receive_c``).
    notify_listeners = _receive.notify_listeners

    @abc.abstractmethod
    def assert_open(self) -> None:
        """Raise if the endpoint is not open."""

    @abc.abstractmethod
    def is_open(self) -> bool:
        """Whether the endpoint is open."""

    @abc.abstractmethod
    def get_address(self) -> Any:
        """The address the endpoint listens at."""

    @abc.abstractmethod
    def send(self, socket_address: Any, packet: bytes) -> None:
        """Send one datagram."""

    @abc.abstractmethod
    async def open(self) -> bool:
        """Open the endpoint."""

    @abc.abstractmethod
    def close(self) -> None | Awaitable:
        """Close the endpoint."""

    @abc.abstractmethod
    def reset_byte_counters(self) -> None:
        """Zero the byte counters."""


def _is_ipv6_address(address: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(address), ipaddress.IPv6Address)
    except ValueError:
        return False


class EndpointListener(metaclass=abc.ABCMeta):
    """Receives datagrams from an endpoint and keeps its estimate of our LAN and WAN address."""

    def __init__(self, endpoint: Endpoint, main_thread: bool = True) -> None:
        self._use_main_thread = main_thread
        self.endpoint = endpoint
        self._my_estimated_lan: Any = None
        self.my_estimated_wan = self.my_estimated_lan

    @property
    def my_estimated_lan(self) -> Any:
        """Our LAN address: ``("0.0.0.0", 0)`` (``("::1", 0)`` for IPv6) while the endpoint is closed."""
        if not self.endpoint.is_open():
            return ("::1", 0) if self.is_ipv6_listener else ("0.0.0.0", 0)
        if self._my_estimated_lan is None:
            self._my_estimated_lan = (self._get_lan_address(True)[0], self.endpoint.get_address()[1])
        return self._my_estimated_lan

    @my_estimated_lan.setter
    def my_estimated_lan(self, value: Any) -> None:
        self._my_estimated_lan = value

    @property
    def use_main_thread(self) -> bool:
        return self._use_main_thread

    @abc.abstractmethod
    def on_packet(self, packet: tuple[Any, bytes]) -> None:
        """One received datagram ``(source address, data)``."""

    def _is_ipv6_address(self, address: str) -> bool:
        return _is_ipv6_address(address)

    @property
    def is_ipv6_listener(self) -> bool:
        if self.endpoint.is_open():
            return _is_ipv6_address(self.endpoint.get_address()[0])
        return getattr(self.endpoint, "SOCKET_FAMILY", socket.AF_INET) == socket.AF_INET6

    def _address_in_subnet(self, address: str, subnet: tuple[str, int]) -> bool:
        value = struct.unpack(">L", socket.inet_aton(address))[0]
        network, bits = subnet
        base = struct.unpack(">L", socket.inet_aton(network))[0]
        return value >> (32 - bits) == base >> (32 - bits)

    def address_in_lan_subnets(self, address: str) -> bool:
        """Whether ``address`` is in 192.168/16, 172.16/12 or 10/8."""
        return any(self._address_in_subnet(address, subnet)
                   for subnet in (("192.168.0.0", 16), ("172.16.0.0", 12), ("10.0.0.0", 8)))

    def address_is_lan(self, address: str) -> bool:
        """Whether ``address`` is one of this machine's own LAN addresses."""
        return address in get_lan_addresses()

    def get_ipv6_address(self) -> Any:
        return self.endpoint.get_address()

    def _get_lan_address(self, bootstrap: bool = False) -> tuple[str, int]:
        return self._guess_lan_address(get_lan_addresses()), (0 if bootstrap else self.endpoint.get_address()[1])

    def _guess_lan_address(self, addresses: Iterable[str]) -> str:
        ipv6 = self.is_ipv6_listener
        for address in addresses:
            if ipv6 == _is_ipv6_address(address):
                return address
        return "127.0.0.1"
