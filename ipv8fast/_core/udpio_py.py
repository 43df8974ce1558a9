"""Batched datagram I/O on a non-blocking UDP socket (pure twin of ``udpio_c``).

Same contract as the compiled twin, one system call per datagram: ``Receiver.drain`` reads until the socket
is empty or the budget is spent, ``Sender.send`` writes queued ``(address, data)`` entries until the socket
would block. Only numeric addresses of the socket's family are sent to; nothing is resolved by name.
"""
from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from typing import Any

__all__ = ["AVAILABLE", "Receiver", "Sender"]

#: This platform's sockets can be driven by this module.
AVAILABLE = True

_RECV_SIZE = 65536
_ADDRESS_CACHE_SIZE = 4096
_new_address = tuple.__new__


class Receiver:
    """Reads datagrams from one non-blocking UDP socket."""

    coalescing = False

    def __init__(self, sock: socket.socket, address_class: type) -> None:
        self._sock = sock
        self._address_class = address_class
        self._addresses: dict[Any, Any] = {}

    def drain(self, deliver: Callable[[tuple[Any, bytes]], Any], budget: int) -> tuple[int, int, int]:
        """Deliver ``(address, data)`` per waiting datagram until none is left or ``budget`` were delivered.
        Returns ``(datagrams, bytes, errno)``; errno is 0 unless the socket reported an error."""
        recvfrom = self._sock.recvfrom
        addresses = self._addresses
        count = total_bytes = 0
        while count < budget:
            try:
                data, source = recvfrom(_RECV_SIZE)
            except BlockingIOError:
                break
            except OSError as exc:
                return count, total_bytes, exc.errno or errno.EIO
            address = addresses.get(source)
            if address is None:
                if len(addresses) >= _ADDRESS_CACHE_SIZE:
                    addresses.clear()
                address = addresses[source] = _new_address(self._address_class, source[:2])
            total_bytes += len(data)
            count += 1
            deliver((address, data))
        return count, total_bytes, 0


def sendable(family: int, address: Any) -> bool:
    """Whether ``address`` is a ``(numeric host, port)`` of this socket family (checked without resolving)."""
    try:
        host, port = address
        if not isinstance(host, str) or not isinstance(port, int) or not 0 <= port <= 65535:
            return False
        socket.inet_pton(family, host.split("%", 1)[0] if family == socket.AF_INET6 else host)
    except (TypeError, ValueError, OSError):
        return False
    return True


class Sender:
    """Writes queued ``(address, data)`` datagrams to one non-blocking UDP socket."""

    segmentation = False

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._family = sock.family

    def send(self, queue: list[tuple[Any, bytes]], start: int) -> tuple[int, int, int, list[tuple[int, int]]]:
        """Send ``queue[start:]`` in order. Returns ``(next index, errno, bytes sent, failures)``: next index
        is ``len(queue)`` unless the socket would block (errno EAGAIN) at that entry; failures lists
        ``(index, errno)`` of dropped entries (errno 0: not an address of this socket's family)."""
        sendto = self._sock.sendto
        family = self._family
        failures: list[tuple[int, int]] = []
        sent_bytes = 0
        last_address: Any = None
        for index in range(start, len(queue)):
            entry = queue[index]
            if type(entry) is not tuple or len(entry) != 2:
                failures.append((index, 0))
                continue
            address, data = entry
            if type(data) is not bytes or (address is not last_address and not sendable(family, address)):
                failures.append((index, 0))
                continue
            last_address = address if isinstance(address, tuple) else None
            try:
                sendto(data, address)  # EINTR is retried by Python itself (PEP 475)
            except BlockingIOError:
                return index, errno.EAGAIN, sent_bytes, failures
            except OSError as exc:
                failures.append((index, exc.errno or errno.EIO))
                continue
            sent_bytes += len(data)
        return len(queue), 0, sent_bytes, failures
