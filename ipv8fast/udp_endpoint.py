"""UDP endpoints (py-ipv8's ``ipv8.messaging.interfaces.udp.endpoint``): :class:`UDPEndpoint` (IPv4) and
:class:`UDPv6Endpoint` on the running asyncio loop (uvloop when the application runs one; :func:`new_event_loop`
picks it when installed), reading and writing in batches where the loop can watch the socket.
"""
from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
from typing import Any

from ._core import cryptopool as _cryptopool
from ._core import udpio as _udpio
from ._core.environment import flag
from ._core.udpio_py import sendable
from .addresses import UDPv4Address, UDPv6Address
from .endpoint import Endpoint, EndpointClosedException, EndpointOpenError

__all__ = ["BATCHED_IO", "FLUSH_AT", "RECEIVE_BUDGET", "SEND_QUEUE_LIMIT", "SocketOption", "UDPEndpoint",
           "UDPv6Endpoint", "new_event_loop"]

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


class UDPEndpoint(Endpoint, asyncio.DatagramProtocol):
    """A UDP socket over IPv4 on the running asyncio loop.

    On loops that can watch a socket (uvloop, the selector loops) datagrams are read and written in batches
    (:mod:`ipv8fast._core.udpio`: recvmmsg / sendmmsg and UDP segmentation offload on Linux): ``send`` queues
    the datagram and the queue is flushed at the end of the loop iteration, or at once when
    :data:`FLUSH_AT` are waiting. Elsewhere (Windows' proactor loop, ``IPV8FAST_UDP_BATCHING=0``) the asyncio
    datagram transport is used. Outgoing datagrams that cannot be sent (not a numeric address of this
    socket's family, refused by the OS, or more than :data:`SEND_QUEUE_LIMIT` waiting for a full socket)
    are dropped, logged and counted in ``send_failures``.

    ``crypto_threads`` > 0 verifies the Ed25519 signatures of received packets on that many worker threads
    (compiled twin only; see :mod:`ipv8fast._core.cryptopool`), started by ``open`` and joined by ``close``.
    """

    SOCKET_FAMILY = socket.AF_INET
    _ADDRESS_CLASS: type = UDPv4Address

    def __init__(self, port: int = 0, ip: str = "0.0.0.0", sockopts: list[SocketOption] | None = None,
                 port_fallback: bool = True, crypto_threads: int = 0) -> None:
        Endpoint.__init__(self)
        #: signature-verification worker threads started at ``open`` (0: verify on the loop thread)
        self.crypto_threads = crypto_threads
        self._port = port
        self._ip = ip
        #: a taken port makes open() try the next ones (py-ipv8's behaviour); False: open() fails instead
        self.port_fallback = port_fallback
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
        self._pool_flush_scheduled = False
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
            if self._crypto_pool is not None:
                self._crypto_pool.flush()

    def error_received(self, exc: Exception) -> None:
        self._logger.debug("socket error: %s", exc)

    # --- Endpoint ---

    async def open(self) -> bool:
        """Bind and start receiving. A taken port makes it try the next ones (up to 10 000, while
        ``port_fallback``); an address not on this host, a name that does not resolve, a taken port without
        fallback or a bad socket option raise :class:`~ipv8fast.endpoint.EndpointOpenError` naming the value."""
        if self._running:
            return True
        loop = asyncio.get_running_loop()
        self._receiver = self._sender = None
        sock = self._bind()
        try:
            if not self._start_batched(loop, sock):
                self._transport, _ = await loop.create_datagram_endpoint(lambda: self, sock=sock)
        except BaseException:
            sock.close()
            raise
        self._start_crypto_pool(loop)
        self._running = True
        self._closed = False
        return True

    def _start_crypto_pool(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the verification workers asked for, where they can run (else signatures are checked inline)."""
        if self.crypto_threads > 0 and _cryptopool.AVAILABLE and self._crypto_pool is None:
            try:
                self._crypto_pool = _cryptopool.VerifyPool(self.crypto_threads, loop=loop)
            except (NotImplementedError, RuntimeError, OSError) as exc:  # no add_reader, no threads
                self._logger.warning("signatures are verified on the loop thread: %s", exc)

    def _open_error(self, port: int, reason: str, error: int) -> EndpointOpenError:
        return EndpointOpenError(error, f"{type(self).__name__} cannot bind to ip {self._ip!r} port {port}: "
                                        f"{reason}")

    def _bind(self) -> socket.socket:
        """A bound non-blocking socket on ``(self._ip, self._port)`` or a following free port."""
        first = port = self._port
        for _ in range(10_000):
            sock = socket.socket(self.SOCKET_FAMILY, socket.SOCK_DGRAM)
            try:
                for level, option, value in self._sockopts:
                    try:
                        sock.setsockopt(level, option, value)
                    except (OSError, ValueError, TypeError, OverflowError) as exc:
                        raise self._open_error(port, f"socket option {(level, option, value)!r} refused: "
                                                     f"{exc}", errno.EINVAL) from None
                try:
                    sock.bind((self._ip, port))
                except socket.gaierror as exc:
                    raise self._open_error(port, self._unresolvable(exc), errno.EADDRNOTAVAIL) from None
                except (OverflowError, TypeError, ValueError) as exc:
                    raise self._open_error(port, str(exc), errno.EINVAL) from None
                except OSError as exc:
                    retry = exc.errno in (errno.EADDRINUSE, errno.EACCES) and port != 0 and port < 65535
                    if not (retry and self.port_fallback):
                        reason = self._bind_failure(exc, first)
                        raise self._open_error(port, reason, exc.errno or errno.EINVAL) from None
                    port += 1
                    sock.close()
                    continue
                sock.setblocking(False)
                self._port = sock.getsockname()[1]
                return sock
            except BaseException:
                sock.close()
                raise
        raise self._open_error(first, f"ports {first}..{port} are all taken", errno.EADDRINUSE)

    def _bind_failure(self, exc: OSError, first: int) -> str:
        if exc.errno == errno.EADDRNOTAVAIL:
            return f"{self._ip!r} is not an address of this host (no interface has it)"
        if exc.errno == errno.EADDRINUSE:
            if not self.port_fallback:
                return "the port is in use and port_fallback is off"
            return f"ports {first}.. are taken up to the last port"
        if exc.errno == errno.EACCES:
            return "permission denied (a port below 1024 needs privileges)"
        return exc.strerror or str(exc)

    def _unresolvable(self, exc: socket.gaierror) -> str:
        family = "IPv6" if self.SOCKET_FAMILY == socket.AF_INET6 else "IPv4"
        host, _, scope = self._ip.partition("%")
        try:
            names = {name for _, name in socket.if_nameindex()}
        except OSError:
            names = set()
        if scope and scope not in names and not scope.isdigit():
            return f"no network interface is named {scope!r} (the scope of {self._ip!r})"
        if host in names:
            return (f"{host!r} is the name of a network interface, not an address: give one of its {family} "
                    "addresses")
        return (f"{self._ip!r} is not a numeric {family} address nor a host name that resolves to one "
                f"(and no network interface has that name): {exc.strerror or exc}")

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
        if self._crypto_pool is not None and not self._pool_flush_scheduled:
            # not now: the other sockets that are readable in this loop iteration are drained first, so the
            # workers have that long to claim the jobs queued here before the loop thread helps them
            self._pool_flush_scheduled = True
            self._loop.call_soon(self._flush_pool)  # type: ignore[union-attr]
        if error:
            self._logger.debug("socket error: %s", os.strerror(error))
        if not self._running:
            self._release_socket()

    def _flush_pool(self) -> None:
        self._pool_flush_scheduled = False
        if self._crypto_pool is not None:
            self._crypto_pool.flush()

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
        pool = self._crypto_pool
        if pool is not None:  # the packets still queued reach their handlers now (which may still send)
            try:
                pool.close()
            finally:
                self._crypto_pool = None
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

    def __init__(self, port: int = 0, ip: str = "::", port_fallback: bool = True, crypto_threads: int = 0) -> None:
        super().__init__(port, ip, [(socket.SOL_SOCKET, socket.SO_RCVBUF, 870400),
                                    (socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)], port_fallback, crypto_threads)

    def datagram_received(self, datagram: bytes, addr: tuple) -> None:
        if self._running:
            self.bytes_down += len(datagram)
            self.notify_listeners((_new_v4(UDPv6Address, addr[:2]), datagram))
            if self._crypto_pool is not None:
                self._crypto_pool.flush()
