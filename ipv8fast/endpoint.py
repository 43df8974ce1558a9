"""Endpoints: where datagrams enter and leave (py-ipv8's ``ipv8.messaging.interfaces.*`` endpoint modules).

* :class:`Endpoint` / :class:`EndpointListener`: listener registry with 22-byte prefix demultiplexing.
* :class:`UDPEndpoint` (IPv4) and :class:`UDPv6Endpoint` on the running asyncio loop (uvloop when the
  application runs one; :func:`new_event_loop` picks it when installed), reading and writing in batches
  where the loop can watch the socket.
* :class:`DispatcherEndpoint` ("UDPIPv4" / "UDPIPv6") and :class:`StatisticsEndpoint` with :class:`NetworkStat`.

Delivery is synchronous inside the datagram callback. A listener that raises never takes the endpoint down:
the exception is counted in ``listener_errors`` and logged at debug level.
"""
from __future__ import annotations

import abc
import asyncio
import ipaddress
import logging
import os
import socket
import struct
import threading
import time
from typing import Any, Awaitable, Iterable, Union

from ._core import receive as _receive
from ._core import udpio as _udpio
from ._core.environment import flag
from ._core.udpio_py import sendable
from ._core.wire import MESSAGE_ID_OFFSET, PREFIX_LENGTH
from .addresses import DomainAddress, UDPv4Address, UDPv4LANAddress, UDPv6Address
from .lan_addresses import get_lan_addresses

__all__ = ["FAST_ADDR_TO_INTERFACE", "INTERFACES", "PREFERENCE_ORDER", "Address", "DataTooBigException",
           "DispatcherEndpoint", "DomainAddress", "Endpoint", "EndpointClosedException", "EndpointListener",
           "IllegalDestination", "IllegalEndpointListenerError", "NetworkStat", "SocketOption",
           "StatisticsEndpoint", "UDPEndpoint", "UDPv4Address", "UDPv4LANAddress", "UDPv6Address",
           "UDPv6Endpoint", "guess_interface", "new_event_loop"]

Address = Union[UDPv4Address, UDPv4LANAddress, UDPv6Address, DomainAddress, tuple]
SocketOption = tuple[int, int, int]

_new_v4 = tuple.__new__

#: Read and write in batches where the loop can watch the socket (``IPV8FAST_UDP_BATCHING=0``: never).
BATCHED_IO: bool = _udpio.AVAILABLE and flag("IPV8FAST_UDP_BATCHING", default=True)
#: datagrams read per readable event before other callbacks get their turn
RECEIVE_BUDGET = 1024
#: queued datagrams that trigger an immediate flush
FLUSH_AT = 512
#: queued datagrams beyond which sends are dropped while the socket is full
SEND_QUEUE_LIMIT = 65536


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvloop loop when uvloop is installed, else a stock asyncio loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class IllegalEndpointListenerError(RuntimeError):
    """Something that is not an EndpointListener was registered as one."""

    def __init__(self, other: object) -> None:
        super().__init__(f"{type(other)} is not an instance of EndpointListener")


class EndpointClosedException(Exception):
    """The endpoint was used before it was opened."""

    def __init__(self, endpoint: object) -> None:
        super().__init__(f"{type(endpoint)} is unexpectedly closed")


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


class UDPEndpoint(Endpoint, asyncio.DatagramProtocol):
    """A UDP socket over IPv4 on the running asyncio loop.

    On loops that can watch a socket (uvloop, the selector loops) datagrams are read and written in batches
    (:mod:`ipv8fast._udpio_c`: recvmmsg / sendmmsg and UDP segmentation offload on Linux): ``send`` queues
    the datagram and the queue is flushed at the end of the loop iteration, or at once when
    :data:`FLUSH_AT` are waiting. Elsewhere (Windows' proactor loop, ``IPV8FAST_UDP_BATCHING=0``) the asyncio
    datagram transport is used. Outgoing datagrams that cannot be sent (not a numeric address of this
    socket's family, refused by the OS, or more than :data:`SEND_QUEUE_LIMIT` waiting for a full socket)
    are dropped, logged and counted in ``send_failures``.
    """

    SOCKET_FAMILY = socket.AF_INET
    _ADDRESS_CLASS: type = UDPv4Address

    def __init__(self, port: int = 0, ip: str = "0.0.0.0", sockopts: list[SocketOption] | None = None) -> None:
        Endpoint.__init__(self)
        self._port = port
        self._ip = ip
        self._sockopts = sockopts if sockopts is not None else [(socket.SOL_SOCKET, socket.SO_RCVBUF, 870400)]
        self._running = False
        self._closed = False
        self._transport: asyncio.DatagramTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sock: socket.socket | None = None
        self._receiver: Any = None
        self._sender: Any = None
        self._send_queue: list[tuple[Any, bytes]] = []
        self._flush_scheduled = False
        self._writer_armed = False
        self._draining = False
        self._address_when_closed: Any = (ip, port)
        self.bytes_up = 0
        self.bytes_down = 0
        #: outgoing datagrams dropped: unsendable address, refused by the OS, or send queue full
        self.send_failures = 0

    @property
    def batched(self) -> bool:
        """True when this endpoint reads and writes in batches (else it uses the asyncio transport)."""
        return self._sender is not None

    # --- asyncio protocol (transport mode) ---

    def datagram_received(self, datagram: bytes, addr: tuple) -> None:
        if self._running:
            self.bytes_down += len(datagram)
            self.notify_listeners((_new_v4(UDPv4Address, addr), datagram))

    def error_received(self, exc: Exception) -> None:
        self._logger.debug("socket error: %s", exc)

    # --- Endpoint ---

    async def open(self) -> bool:
        """Bind (trying the next port, up to 10 000 times, when one is taken) and start receiving."""
        if self._running:
            return True
        loop = asyncio.get_running_loop()
        self._receiver = self._sender = None
        for _ in range(10_000):
            sock = None
            try:
                sock = socket.socket(self.SOCKET_FAMILY, socket.SOCK_DGRAM)
                for level, option, value in self._sockopts:
                    sock.setsockopt(level, option, value)
                sock.bind((self._ip, self._port))
                sock.setblocking(False)
                self._port = sock.getsockname()[1]
                if not self._start_batched(loop, sock):
                    self._transport, _ = await loop.create_datagram_endpoint(lambda: self, sock=sock)
                break
            except (OSError, ValueError):
                if sock is not None:
                    sock.close()
                self._port += 1
        self._running = True
        self._closed = False
        return True

    def _start_batched(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> bool:
        if not BATCHED_IO:
            return False
        try:
            loop.add_reader(sock.fileno(), self._on_readable)
        except (NotImplementedError, RuntimeError, ValueError):
            return False
        self._loop, self._sock = loop, sock
        self._receiver = _udpio.Receiver(sock, self._ADDRESS_CLASS)
        self._sender = _udpio.Sender(sock)
        return True

    def _on_readable(self) -> None:
        self._draining = True
        try:
            _, received_bytes, error = self._receiver.drain(self.notify_listeners, RECEIVE_BUDGET)
        finally:
            self._draining = False
        self.bytes_down += received_bytes
        if error:
            self._logger.debug("socket error: %s", os.strerror(error))
        if not self._running:
            self._release_socket()

    def send(self, socket_address: Any, packet: bytes) -> None:
        """Send ``packet``; formatting errors of the destination are logged and the packet dropped."""
        self.assert_open()
        if self._sender is None:
            if not sendable(self.SOCKET_FAMILY, socket_address):  # asyncio would close the transport
                self._report_send_failure(socket_address, 0)
                return
            try:
                self._transport.sendto(packet, socket_address)  # type: ignore[union-attr]
                self.bytes_up += len(packet)
            except (TypeError, ValueError, AttributeError) as exc:
                self._logger.warning("Dropping packet due to message formatting error: %s", exc)
            return
        if not self._running:
            return  # closed: silently dropped, as by a closing transport
        queue = self._send_queue
        if len(queue) >= SEND_QUEUE_LIMIT:
            self.send_failures += 1
            return
        queue.append((socket_address, packet if type(packet) is bytes else bytes(packet)))
        if self._writer_armed:
            return
        if len(queue) >= FLUSH_AT:
            self._flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)  # type: ignore[union-attr]

    def _flush(self) -> None:
        """Write the send queue until it is empty or the socket is full (then wait until it is writable)."""
        self._flush_scheduled = False
        queue = self._send_queue
        if not queue or self._sender is None or self._writer_armed:
            return
        done, _, sent_bytes, failures = self._sender.send(queue, 0)
        self.bytes_up += sent_bytes
        for index, error in failures:
            self._report_send_failure(queue[index][0], error)
        if done < len(queue):
            del queue[:done]
            if self._running:
                self._writer_armed = True
                self._loop.add_writer(self._sock.fileno(), self._on_writable)  # type: ignore[union-attr]
        else:
            queue.clear()

    def _on_writable(self) -> None:
        self._writer_armed = False
        self._loop.remove_writer(self._sock.fileno())  # type: ignore[union-attr]
        self._flush()

    def _report_send_failure(self, address: Any, error: int) -> None:
        self.send_failures += 1
        if error == 0:
            self._logger.warning("Dropping packet due to message formatting error: %r is not a numeric %s "
                                 "address", address, "IPv6" if self.SOCKET_FAMILY == socket.AF_INET6 else "IPv4")
        else:
            self._logger.debug("socket error sending to %r: %s", address, os.strerror(error))

    def log_error(self, message: str, level: int = logging.WARNING) -> None:
        self._logger.log(level, message)

    def assert_open(self) -> None:
        if not self._running and not self._closed:
            raise EndpointClosedException(self)

    def close(self) -> None:
        """Stop receiving; datagrams still queued are written if the socket takes them at once."""
        if not self._running:
            return
        self._running = False
        self._closed = True
        if self._sender is not None:
            self._flush()
            self._send_queue.clear()
            if not self._draining:
                self._release_socket()
        elif self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    def _release_socket(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None or sock.fileno() < 0:
            return
        try:
            self._loop.remove_reader(sock.fileno())  # type: ignore[union-attr]
            if self._writer_armed:
                self._writer_armed = False
                self._loop.remove_writer(sock.fileno())  # type: ignore[union-attr]
        except (RuntimeError, ValueError):  # the loop is already closed
            pass
        self._address_when_closed = sock.getsockname()
        sock.close()

    def get_address(self) -> Any:
        self.assert_open()
        if self._sender is not None:
            return self._sock.getsockname() if self._sock is not None else self._address_when_closed
        return self._transport.get_extra_info("socket").getsockname()  # type: ignore[union-attr]

    def is_open(self) -> bool:
        return self._running

    def reset_byte_counters(self) -> None:
        self.bytes_up = 0
        self.bytes_down = 0


class UDPv6Endpoint(UDPEndpoint):
    """A UDP socket over IPv6 only (IPV6_V6ONLY)."""

    SOCKET_FAMILY = socket.AF_INET6
    _ADDRESS_CLASS = UDPv6Address

    def __init__(self, port: int = 0, ip: str = "::") -> None:
        super().__init__(port, ip, [(socket.SOL_SOCKET, socket.SO_RCVBUF, 870400),
                                    (socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)])

    def datagram_received(self, datagram: bytes, addr: tuple) -> None:
        if self._running:
            self.bytes_down += len(datagram)
            self.notify_listeners((_new_v4(UDPv6Address, addr[:2]), datagram))


# --- dispatcher ---

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
        results = [await endpoint.open() for endpoint in self.interfaces.values()]
        return any(results)

    async def close(self) -> None:
        for endpoint in self.interfaces.values():
            result = endpoint.close()
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                await result

    def reset_byte_counters(self) -> None:
        for endpoint in self.interfaces.values():
            endpoint.reset_byte_counters()


# --- statistics ---

class NetworkStat:
    """Counters for one message id of one community."""

    def __init__(self, identifier: int) -> None:
        self.identifier = identifier
        self.num_up = 0
        self.num_down = 0
        self.bytes_up = 0
        self.bytes_down = 0
        self.first_measured_up = 0.0
        self.first_measured_down = 0.0
        self.last_measured_up = 0.0
        self.last_measured_down = 0.0

    def add_sent_stat(self, timestamp: float, num_bytes: int) -> None:
        self.num_up += 1
        self.bytes_up += num_bytes
        self.last_measured_up = timestamp
        if not self.first_measured_up:
            self.first_measured_up = timestamp

    def add_received_stat(self, timestamp: float, num_bytes: int) -> None:
        self.num_down += 1
        self.bytes_down += num_bytes
        self.last_measured_down = timestamp
        if not self.first_measured_down:
            self.first_measured_down = timestamp

    def to_dict(self) -> dict[str, Any]:
        return {"identifier": self.identifier, "num_up": self.num_up, "num_down": self.num_down,
                "bytes_up": self.bytes_up, "bytes_down": self.bytes_down,
                "first_measured_up": self.first_measured_up, "first_measured_down": self.first_measured_down,
                "last_measured_up": self.last_measured_up, "last_measured_down": self.last_measured_down}

    def __str__(self) -> str:
        return (f"NetworkStat{{num_up:{self.num_up}, num_down:{self.num_down}, bytes_up:{self.bytes_up}, "
                f"bytes_down:{self.bytes_down}, ...}}")


class StatisticsEndpoint(Endpoint, EndpointListener):
    """Wraps an endpoint and counts, per community prefix and message id, what goes up and down."""

    IDS_INTRODUCTION = [245, 246]
    IDS_PUNCTURE = [249, 250]
    IDS_DEPRECATED = [235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 247, 248, 251, 252, 253, 254, 255]

    def __init__(self, endpoint: Endpoint) -> None:
        Endpoint.__init__(self)
        EndpointListener.__init__(self, endpoint)
        self.endpoint = endpoint
        self.endpoint.add_listener(self)
        self.statistics: dict[bytes, dict[int, NetworkStat]] = {}

    def __getattr__(self, item: str) -> Any:
        if item == "endpoint":
            raise AttributeError(item)
        return getattr(self.endpoint, item)

    # listeners live on the wrapped endpoint
    def add_listener(self, listener: EndpointListener) -> None:
        self.endpoint.add_listener(listener)

    def add_prefix_listener(self, listener: EndpointListener, prefix: bytes) -> None:
        self.endpoint.add_prefix_listener(listener, prefix)

    def remove_listener(self, listener: EndpointListener) -> None:
        self.endpoint.remove_listener(listener)

    def notify_listeners(self, packet: tuple[Any, bytes]) -> None:
        self.endpoint.notify_listeners(packet)

    def send(self, socket_address: Any, packet: bytes) -> None:
        self.endpoint.send(socket_address, packet)
        prefix = packet[:PREFIX_LENGTH]
        if prefix in self.statistics and len(packet) > MESSAGE_ID_OFFSET:
            self.add_sent_stat(prefix, packet[MESSAGE_ID_OFFSET], len(packet))

    def on_packet(self, packet: tuple[Any, bytes]) -> None:
        data = packet[1]
        prefix = data[:PREFIX_LENGTH]
        if prefix in self.statistics and len(data) > MESSAGE_ID_OFFSET:
            self.add_received_stat(prefix, data[MESSAGE_ID_OFFSET], len(data))

    def enable_community_statistics(self, community_prefix: bytes, enabled: bool) -> None:
        if enabled:
            self.statistics.setdefault(community_prefix, {})
        else:
            self.statistics.pop(community_prefix, None)

    def _stat(self, prefix: bytes, identifier: int) -> NetworkStat:
        per_id = self.statistics.setdefault(prefix, {})
        stat = per_id.get(identifier)
        if stat is None:
            stat = per_id[identifier] = NetworkStat(identifier)
        return stat

    def add_sent_stat(self, prefix: bytes, identifier: int, num_bytes: int, timestamp: float | None = None) -> None:
        self._stat(prefix, identifier).add_sent_stat(timestamp or time.time(), num_bytes)

    def add_received_stat(self, prefix: bytes, identifier: int, num_bytes: int,
                          timestamp: float | None = None) -> None:
        self._stat(prefix, identifier).add_received_stat(timestamp or time.time(), num_bytes)

    def get_statistics(self, prefix: bytes) -> dict[int, NetworkStat]:
        return self.statistics.get(prefix, {})

    def get_aggregate_statistics(self, prefix: bytes) -> dict[str, Any]:
        stats = self.get_statistics(prefix).values()
        first = min([s.first_measured_up for s in stats if s.first_measured_up]
                    + [s.first_measured_down for s in stats if s.first_measured_down] or [0])
        last = max([s.last_measured_up for s in stats] + [s.last_measured_down for s in stats] or [0])
        return {"num_up": sum(s.num_up for s in stats), "num_down": sum(s.num_down for s in stats),
                "bytes_up": sum(s.bytes_up for s in stats), "bytes_down": sum(s.bytes_down for s in stats),
                "diff_time": last - first}

    def is_excluded(self, identifier: int, include_introduction: bool, include_puncture: bool,
                    include_deprecated: bool) -> bool:
        return ((not include_introduction and identifier in self.IDS_INTRODUCTION)
                or (not include_puncture and identifier in self.IDS_PUNCTURE)
                or (not include_deprecated and identifier in self.IDS_DEPRECATED))

    def _sum(self, prefix: bytes, field: str, inc_intro: bool, inc_punct: bool, inc_depr: bool) -> int:
        return sum(getattr(stat, field) for identifier, stat in self.get_statistics(prefix).items()
                   if not self.is_excluded(identifier, inc_intro, inc_punct, inc_depr))

    def get_message_sent(self, prefix: bytes, include_introduction: bool = False, include_puncture: bool = False,
                         include_deprecated: bool = False) -> int:
        return self._sum(prefix, "num_up", include_introduction, include_puncture, include_deprecated)

    def get_message_received(self, prefix: bytes, include_introduction: bool = False,
                             include_puncture: bool = False, include_deprecated: bool = False) -> int:
        return self._sum(prefix, "num_down", include_introduction, include_puncture, include_deprecated)

    def get_bytes_sent(self, prefix: bytes, include_introduction: bool = False, include_puncture: bool = False,
                       include_deprecated: bool = False) -> int:
        return self._sum(prefix, "bytes_up", include_introduction, include_puncture, include_deprecated)

    def get_bytes_received(self, prefix: bytes, include_introduction: bool = False,
                           include_puncture: bool = False, include_deprecated: bool = False) -> int:
        return self._sum(prefix, "bytes_down", include_introduction, include_puncture, include_deprecated)

    def assert_open(self) -> None:
        self.endpoint.assert_open()

    def is_open(self) -> bool:
        return self.endpoint.is_open()

    def get_address(self) -> Any:
        return self.endpoint.get_address()

    async def open(self) -> bool:
        return await self.endpoint.open()

    def close(self) -> Any:
        return self.endpoint.close()

    def reset_byte_counters(self) -> None:
        self.endpoint.reset_byte_counters()
