"""Batched datagram I/O (``_udpio_c`` / ``_udpio_py``) on 127.0.0.1 and ::1: every datagram arrives whole,
in order and separate (also to a plain socket, as a py-ipv8 peer reads them), nothing is resolved by name."""
from __future__ import annotations

import errno
import os
import select
import socket
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from ipv8fast.addresses import UDPv4Address, UDPv6Address

pytestmark = pytest.mark.twin_of("udpio")




def bound(family: int = socket.AF_INET) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    sock.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
    sock.setblocking(False)
    return sock


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    made: list[socket.socket] = []
    yield made
    for sock in made:
        sock.close()


def drain_all(receiver: Any, expected: int, rounds: int = 200) -> list[tuple[Any, bytes]]:
    got: list[tuple[Any, bytes]] = []
    for _ in range(rounds):
        count, size, error = receiver.drain(got.append, 10_000)
        assert error == 0
        assert size == sum(len(data) for _, data in got[len(got) - count:])
        if len(got) >= expected:
            break
        select.select([], [], [], 0.005)
    return got


def send_all(sender: Any, queue: list[tuple[Any, bytes]]) -> tuple[int, list[tuple[int, int]]]:
    done, error, sent_bytes, failures = sender.send(queue, 0)
    assert (done, error) == (len(queue), 0)
    return sent_bytes, failures


def test_sizes_order_and_sources(twin: ModuleType, sockets: list[socket.socket]) -> None:
    a, b = bound(), bound()
    sockets += [a, b]
    sizes = [0, 1, 22, 23, 200, 1232, 1233, 1500, 9000, 65507]
    payloads = [bytes([index]) * size for index, size in enumerate(sizes)]
    target = b.getsockname()
    sent_bytes, failures = send_all(twin.Sender(a), [(target, data) for data in payloads])
    assert failures == [] and sent_bytes == sum(sizes)
    got = drain_all(twin.Receiver(b, UDPv4Address), len(payloads))
    assert [data for _, data in got] == payloads
    assert {type(address) for address, _ in got} == {UDPv4Address}
    assert {address for address, _ in got} == {a.getsockname()}


def test_runs_arrive_as_separate_datagrams(twin: ModuleType, sockets: list[socket.socket]) -> None:
    """Equal-sized runs (one segmentation-offload send each on Linux) reach a batched receiver and a plain
    socket as the same separate datagrams, in order; a run may end with a shorter datagram."""
    a, batched, plain = bound(), bound(), bound()
    sockets += [a, batched, plain]
    payloads = [i.to_bytes(4, "big") * 25 for i in range(300)] + [b"short", b"", b"x" * 100]
    queue = [(batched.getsockname(), data) for data in payloads] + [(plain.getsockname(), data) for data in payloads]
    sender, receiver = twin.Sender(a), twin.Receiver(batched, UDPv4Address)
    if twin.__name__.endswith("_c") and sys.platform == "linux" and int(os.uname().release.split(".")[0]) >= 5:
        assert sender.segmentation and receiver.coalescing  # the offload paths are what this test exercises
    send_all(sender, queue)
    assert [data for _, data in drain_all(receiver, len(payloads))] == payloads
    got = []
    for _ in range(len(payloads)):
        select.select([plain], [], [], 1.0)
        got.append(plain.recvfrom(65536)[0])
    assert got == payloads


def test_interleaved_destinations_keep_their_order(twin: ModuleType, sockets: list[socket.socket]) -> None:
    a, b, c = bound(), bound(), bound()
    sockets += [a, b, c]
    queue = [((b if i % 3 else c).getsockname(), i.to_bytes(2, "big") * 10) for i in range(500)]
    send_all(twin.Sender(a), queue)
    for sock in (b, c):
        expected = [data for address, data in queue if address == sock.getsockname()]
        assert [data for _, data in drain_all(twin.Receiver(sock, UDPv4Address), len(expected))] == expected


def test_unsendable_entries_are_reported_not_resolved(twin: ModuleType, sockets: list[socket.socket],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def no_resolving(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"name resolution attempted: {args}")

    monkeypatch.setattr(socket, "getaddrinfo", no_resolving)
    a, b = bound(), bound()
    sockets += [a, b]
    good = b.getsockname()
    queue: list[Any] = [(good, b"first"), (("localhost", good[1]), b"name"), (("::1", good[1]), b"v6 on v4"),
                        (("127.0.0.1", 70_000), b"port"), (("127.0.0.1",), b"short"), (good, bytearray(b"ba")),
                        ((b"127.0.0.1", good[1]), b"bytes host"), (("127.0.0.1", "80"), b"str port"),
                        [good, b"list entry"], (good, b"three", 3), (good, b"last")]
    done, error, sent_bytes, failures = twin.Sender(a).send(queue, 0)
    assert (done, error, sent_bytes) == (len(queue), 0, len(b"first") + len(b"last"))
    assert failures == [(index, 0) for index in range(1, 10)]
    assert [data for _, data in drain_all(twin.Receiver(b, UDPv4Address), 2)] == [b"first", b"last"]


def test_send_starts_at_the_given_index(twin: ModuleType, sockets: list[socket.socket]) -> None:
    a, b = bound(), bound()
    sockets += [a, b]
    queue = [(b.getsockname(), bytes([i])) for i in range(10)]
    assert twin.Sender(a).send(queue, 7)[:2] == (10, 0)
    assert [data for _, data in drain_all(twin.Receiver(b, UDPv4Address), 3)] == [b"\x07", b"\x08", b"\x09"]


def test_os_refusal_drops_only_that_datagram(twin: ModuleType, sockets: list[socket.socket]) -> None:
    a, b = bound(), bound()
    sockets += [a, b]
    queue = [(b.getsockname(), b"before"), (b.getsockname(), b"x" * 70_000), (b.getsockname(), b"after")]
    done, error, _, failures = twin.Sender(a).send(queue, 0)
    assert (done, error) == (3, 0)
    assert failures == [(1, errno.EMSGSIZE)]
    assert [data for _, data in drain_all(twin.Receiver(b, UDPv4Address), 2)] == [b"before", b"after"]


def test_budget_bounds_one_drain(twin: ModuleType, sockets: list[socket.socket]) -> None:
    a, b = bound(), bound()
    sockets += [a, b]
    payloads = [bytes([i]) * (i + 1) for i in range(200)]  # all sizes differ: no coalescing
    send_all(twin.Sender(a), [(b.getsockname(), data) for data in payloads])
    receiver = twin.Receiver(b, UDPv4Address)
    first: list[tuple[Any, bytes]] = []
    count = receiver.drain(first.append, 10)[0]
    assert 10 <= count == len(first) <= 10 + 32
    rest = drain_all(receiver, len(payloads) - count)
    assert [data for _, data in first + rest] == payloads


def test_ipv6(twin: ModuleType, sockets: list[socket.socket]) -> None:
    try:
        a, b = bound(socket.AF_INET6), bound(socket.AF_INET6)
    except OSError:
        pytest.skip("::1 is not usable here")
    sockets += [a, b]
    payloads = [b"v6"] * 5 + [b"six" * 100]
    send_all(twin.Sender(a), [(b.getsockname()[:2], data) for data in payloads])
    got = drain_all(twin.Receiver(b, UDPv6Address), len(payloads))
    assert [data for _, data in got] == payloads
    assert got[0][0] == a.getsockname()[:2] and type(got[0][0]) is UDPv6Address
    done, _, _, failures = twin.Sender(a).send([(("127.0.0.1", 9), b"v4 on v6")], 0)
    assert (done, failures) == (1, [(0, 0)])
