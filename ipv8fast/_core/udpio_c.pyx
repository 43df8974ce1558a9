# cython: language_level=3
"""Batched datagram I/O on a non-blocking UDP socket (compiled twin of ``udpio_py``).

``Receiver(sock, address_class).drain(deliver, budget)`` reads what is waiting (recvmmsg on Linux, with
UDP_GRO runs split back into datagrams) and calls ``deliver((address, data))`` per datagram.
``Sender(sock).send(queue, start)`` writes ``queue[start:]`` of ``(address, data)`` entries (sendmmsg on
Linux, equal-sized runs to one destination as one segmentation-offload send) until the socket would block.
Only numeric addresses of the socket's family are sent to; nothing is ever resolved by name.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdlib cimport free, malloc
from libc.string cimport memcmp, memcpy

import errno as _errno
import socket as _socket

__all__ = ["AVAILABLE", "Receiver", "Sender"]

cdef extern from "udpio.h":
    enum:
        UDPIO_RECV_BATCH
        UDPIO_SEND_BATCH
        UDPIO_SLOT_SIZE

    ctypedef struct udpio_addr:
        unsigned char raw[128]
        unsigned int length

    ctypedef struct udpio_datagram:
        const char *data
        size_t length
        size_t segment
        int truncated
        udpio_addr source

    ctypedef struct udpio_outgoing:
        const char *data
        size_t length
        const udpio_addr *destination

    int udpio_available()
    int udpio_enable_gro(int fd)
    int udpio_probe_gso(int fd)
    int udpio_parse_address(int family, const char *host, int port, udpio_addr *out)
    int udpio_format_address(const udpio_addr *address, char *host, size_t host_size, int *port)
    int udpio_recv(int fd, char *buffer, udpio_datagram *out, int max_count)
    int udpio_send(int fd, const udpio_outgoing *datagrams, int count, int *use_gso, int *error)

#: This platform's sockets can be driven by this module.
AVAILABLE = bool(udpio_available())

cdef int _WOULD_BLOCK_A = _errno.EAGAIN
cdef int _WOULD_BLOCK_B = _errno.EWOULDBLOCK
cdef Py_ssize_t _ADDRESS_CACHE_SIZE = 4096

# One receive buffer for the process: every call holds the GIL from recvmmsg until the datagrams are copied
# out; a call that finds it in use (another thread, finalizer re-entry) takes a buffer of its own.
cdef char *_shared_buffer = NULL
cdef bint _shared_busy = False


cdef char *_acquire_buffer() except NULL:
    global _shared_buffer, _shared_busy
    cdef char *buffer
    if not _shared_busy:
        if _shared_buffer == NULL:
            _shared_buffer = <char *>malloc(UDPIO_RECV_BATCH * UDPIO_SLOT_SIZE)
            if _shared_buffer == NULL:
                raise MemoryError()
        _shared_busy = True
        return _shared_buffer
    buffer = <char *>malloc(UDPIO_RECV_BATCH * UDPIO_SLOT_SIZE)
    if buffer == NULL:
        raise MemoryError()
    return buffer


cdef void _release_buffer(char *buffer) noexcept:
    global _shared_busy
    if buffer == _shared_buffer:
        _shared_busy = False
    else:
        free(buffer)


cdef class Receiver:
    """Reads datagrams from one non-blocking UDP socket in batches."""

    cdef object _sock
    cdef int _fd
    cdef object _address_class
    cdef dict _addresses
    #: The kernel coalesces runs of datagrams for this socket (UDP_GRO).
    cdef readonly bint coalescing

    def __init__(self, sock: object, address_class: type) -> None:
        self._sock = sock
        self._fd = sock.fileno()
        self._address_class = address_class
        self._addresses = {}
        self.coalescing = udpio_enable_gro(self._fd) == 1

    cdef object _address(self, udpio_addr *source):
        cdef object key
        cdef char host[128]
        cdef int port = 0
        cdef int length
        if source.length == 16:  # sockaddr_in: port and IPv4 address at bytes 2..8 on every platform
            key = (<unsigned long long>source.raw[2] << 40 | <unsigned long long>source.raw[3] << 32
                   | <unsigned long long>source.raw[4] << 24 | <unsigned long long>source.raw[5] << 16
                   | <unsigned long long>source.raw[6] << 8 | <unsigned long long>source.raw[7])
        else:
            key = PyBytes_FromStringAndSize(<char *>source.raw, source.length)
        address = self._addresses.get(key)
        if address is not None:
            return address
        length = udpio_format_address(source, host, sizeof(host), &port)
        if length < 0:
            return None
        address = tuple.__new__(self._address_class, (host[:length].decode("utf-8", "replace"), port))
        if len(self._addresses) >= _ADDRESS_CACHE_SIZE:
            self._addresses.clear()
        self._addresses[key] = address
        return address

    def drain(self, deliver: object, Py_ssize_t budget) -> tuple:
        """Deliver ``(address, data)`` for each waiting datagram, until none is left or ``budget`` were
        delivered. Returns ``(datagrams, bytes, errno)``; errno is 0 unless the socket reported an error."""
        cdef udpio_datagram slots[UDPIO_RECV_BATCH]
        cdef char *buffer
        cdef int received, i
        cdef size_t offset, piece
        cdef Py_ssize_t count = 0, total_bytes = 0
        cdef int error = 0
        cdef list packets
        while count < budget:
            packets = []
            buffer = _acquire_buffer()
            try:
                received = udpio_recv(self._fd, buffer, slots, UDPIO_RECV_BATCH)
                if received < 0:
                    error = -received
                for i in range(received):
                    if slots[i].truncated:
                        continue
                    address = self._address(&slots[i].source)
                    if address is None:
                        continue
                    if slots[i].segment == 0 or slots[i].segment >= slots[i].length:
                        packets.append((address, PyBytes_FromStringAndSize(slots[i].data, slots[i].length)))
                        continue
                    offset = 0
                    while offset < slots[i].length:
                        piece = min(slots[i].segment, slots[i].length - offset)
                        packets.append((address, PyBytes_FromStringAndSize(slots[i].data + offset, piece)))
                        offset += piece
            finally:
                _release_buffer(buffer)
            for packet in packets:
                total_bytes += PyBytes_GET_SIZE(packet[1])
                count += 1
                deliver(packet)
            if received < UDPIO_RECV_BATCH:
                break  # drained (or failed): readiness will call again when more arrives
        return count, total_bytes, error


cdef class Sender:
    """Writes queued ``(address, data)`` datagrams to one non-blocking UDP socket in batches."""

    cdef object _sock
    cdef int _fd
    cdef int _family
    cdef int _use_gso
    cdef udpio_outgoing *_outgoing
    cdef udpio_addr *_destinations
    cdef Py_ssize_t *_indices
    cdef object _last_address
    cdef udpio_addr _last_parsed

    def __cinit__(self) -> None:
        self._outgoing = <udpio_outgoing *>malloc(UDPIO_SEND_BATCH * sizeof(udpio_outgoing))
        self._destinations = <udpio_addr *>malloc(UDPIO_SEND_BATCH * sizeof(udpio_addr))
        self._indices = <Py_ssize_t *>malloc(UDPIO_SEND_BATCH * sizeof(Py_ssize_t))
        if self._outgoing == NULL or self._destinations == NULL or self._indices == NULL:
            raise MemoryError()

    def __dealloc__(self) -> None:
        free(self._outgoing)
        free(self._destinations)
        free(self._indices)

    def __init__(self, sock: object) -> None:
        self._sock = sock
        self._fd = sock.fileno()
        self._family = sock.family
        self._use_gso = udpio_probe_gso(self._fd)
        self._last_address = None

    @property
    def segmentation(self) -> bool:
        """Runs of equal-sized datagrams to one destination leave as one segmentation-offload send."""
        return self._use_gso == 1

    cdef bint _parse(self, object address):
        """Parse into ``_last_parsed`` (cached for a repeated address); False if not sendable."""
        if address is self._last_address:
            return True
        try:
            host, port = address
            if not isinstance(port, int) or not isinstance(host, str):
                return False
            encoded = (<str>host).encode("utf-8")
        except (TypeError, ValueError, UnicodeError):
            return False
        if udpio_parse_address(self._family, encoded, port, &self._last_parsed) != 0:
            self._last_address = None
            return False
        self._last_address = address if isinstance(address, tuple) else None
        return True

    def send(self, list queue, Py_ssize_t start) -> tuple:
        """Send ``queue[start:]`` in order. Returns ``(next index, errno, bytes sent, failures)``: next index
        is ``len(queue)`` unless the socket would block (errno EAGAIN) at that entry; failures lists
        ``(index, errno)`` of dropped entries (errno 0: not an address of this socket's family)."""
        cdef Py_ssize_t size = len(queue), index = start, count, j
        cdef int distinct, sent, error = 0
        cdef Py_ssize_t sent_bytes = 0
        cdef list failures = [], unsendable
        cdef object entry, data
        while index < size:
            count = 0
            distinct = 0
            unsendable = []
            j = index
            while j < size and count < UDPIO_SEND_BATCH:
                entry = queue[j]
                if type(entry) is not tuple or len(<tuple>entry) != 2:
                    unsendable.append((j, 0))
                    j += 1
                    continue
                data = (<tuple>entry)[1]
                if type(data) is not bytes or not self._parse((<tuple>entry)[0]):
                    unsendable.append((j, 0))
                    j += 1
                    continue
                if distinct == 0 or memcmp(&self._destinations[distinct - 1], &self._last_parsed,
                                           sizeof(udpio_addr)) != 0:
                    memcpy(&self._destinations[distinct], &self._last_parsed, sizeof(udpio_addr))
                    distinct += 1
                self._outgoing[count].data = PyBytes_AS_STRING(data)
                self._outgoing[count].length = <size_t>PyBytes_GET_SIZE(data)
                self._outgoing[count].destination = &self._destinations[distinct - 1]
                self._indices[count] = j
                count += 1
                j += 1
            if count == 0:
                failures.extend(unsendable)
                index = j
                continue
            sent = udpio_send(self._fd, self._outgoing, <int>count, &self._use_gso, &error)
            for i in range(sent):
                sent_bytes += <Py_ssize_t>self._outgoing[i].length
            if sent < count:
                cut = self._indices[sent]
                failures.extend([failure for failure in unsendable if failure[0] < cut])
                if error == _WOULD_BLOCK_A or error == _WOULD_BLOCK_B:
                    return cut, error, sent_bytes, failures
                failures.append((cut, error))
                index = cut + 1
                continue
            failures.extend(unsendable)
            index = j
        return size, 0, sent_bytes, failures
