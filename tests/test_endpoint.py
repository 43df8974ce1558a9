"""Endpoints on 127.0.0.1 (ephemeral ports), on the stock loop and on uvloop (spec/api.md §10)."""
from __future__ import annotations

import asyncio
import errno
import inspect
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from ipv8fast import udp_endpoint
from ipv8fast.addresses import UDPv4Address, UDPv6Address
from ipv8fast.endpoint import (
    DispatcherEndpoint,
    EndpointClosedException,
    EndpointListener,
    IllegalEndpointListenerError,
    StatisticsEndpoint,
    UDPEndpoint,
    UDPv6Endpoint,
    guess_interface,
)

from _loop import LoopHarness

PREFIX_A = b"\x00\x02" + b"A" * 20
PREFIX_B = b"\x00\x02" + b"B" * 20


class Recorder(EndpointListener):
    def __init__(self, endpoint: Any, fail: bool = False) -> None:
        super().__init__(endpoint)
        self.packets: list[tuple[Any, bytes]] = []
        self.fail = fail

    def on_packet(self, packet: tuple[Any, bytes]) -> None:
        self.packets.append(packet)
        if self.fail:
            raise KeyError("listener bug")


@pytest.fixture(params=["asyncio", "uvloop", "asyncio-transport", "uvloop-transport"])
def harness(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopHarness]:
    """A loop, with the endpoints reading and writing in batches or (``-transport``) through asyncio's
    datagram transport."""
    monkeypatch.setattr(udp_endpoint, "BATCHED_IO", udp_endpoint.BATCHED_IO
                        and not request.param.endswith("-transport"))
    h = LoopHarness(uvloop=request.param.startswith("uvloop"))
    yield h
    h.close()


async def wait_until(predicate: Any, timeout: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def recorded_pair() -> tuple[UDPEndpoint, UDPEndpoint, Recorder]:
    """An open receiver with a general Recorder, and an open sender, on 127.0.0.1."""
    receiver, sender = UDPEndpoint(0, "127.0.0.1"), UDPEndpoint(0, "127.0.0.1")
    await receiver.open()
    await sender.open()
    recorder = Recorder(receiver)
    receiver.add_listener(recorder)
    return receiver, sender, recorder


def test_send_receive_and_prefixes(harness: LoopHarness) -> None:
    async def scenario() -> None:
        receiver, sender = UDPEndpoint(0, "127.0.0.1"), UDPEndpoint(0, "127.0.0.1")
        assert await receiver.open() and await sender.open()
        general, only_a, broken = Recorder(receiver), Recorder(receiver), Recorder(receiver, fail=True)
        receiver.add_listener(general)
        receiver.add_prefix_listener(only_a, PREFIX_A)
        receiver.add_prefix_listener(broken, PREFIX_A)
        target = receiver.get_address()
        assert target[0] == "127.0.0.1" and target[1] > 0
        assert receiver.batched == sender.batched == udp_endpoint.BATCHED_IO
        sender.send(target, PREFIX_A + b"\x01hello")
        sender.send(target, PREFIX_B + b"\x01other")
        await wait_until(lambda: len(general.packets) == 2)
        assert [data for _, data in only_a.packets] == [PREFIX_A + b"\x01hello"]
        source, _ = only_a.packets[0]
        assert type(source) is UDPv4Address and source == sender.get_address()
        assert receiver.listener_errors == 1
        assert receiver.bytes_down == sender.bytes_up == 2 * 28
        receiver.remove_listener(only_a)
        sender.send(target, PREFIX_A + b"\x01again")
        await wait_until(lambda: len(general.packets) == 3)
        assert len(only_a.packets) == 1
        receiver.close()
        receiver.close()
        sender.close()
        sender.send(target, b"after close is silent")

    harness.run(scenario())
    assert harness.errors == []


def test_listener_checks_and_closed_send(harness: LoopHarness) -> None:
    endpoint = UDPEndpoint(0, "127.0.0.1")
    with pytest.raises(IllegalEndpointListenerError):
        endpoint.add_listener(object())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        endpoint.add_prefix_listener(Recorder(endpoint), b"short")
    with pytest.raises(EndpointClosedException):
        endpoint.send(("127.0.0.1", 9), b"x")
    listener = Recorder(endpoint)
    assert listener.my_estimated_lan == ("0.0.0.0", 0)
    assert listener.my_estimated_wan == ("0.0.0.0", 0)


def test_port_collision_moves_on(harness: LoopHarness) -> None:
    async def scenario() -> None:
        first = UDPEndpoint(0, "127.0.0.1")
        await first.open()
        taken = first.get_address()[1]
        second = UDPEndpoint(taken, "127.0.0.1")
        await second.open()
        assert second.get_address()[1] != taken
        first.close()
        second.close()

    harness.run(scenario())


def test_ipv6_endpoint(harness: LoopHarness) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")

    async def scenario() -> None:
        receiver, sender = UDPv6Endpoint(0, "::1"), UDPv6Endpoint(0, "::1")
        try:
            await receiver.open()
            await sender.open()
            receiver.get_address()
        except (OSError, EndpointClosedException, AttributeError):
            pytest.skip("::1 is not usable here")
        recorder = Recorder(receiver)
        receiver.add_listener(recorder)
        assert recorder.is_ipv6_listener
        sender.send(receiver.get_address()[:2], PREFIX_A + b"\x01v6")
        await wait_until(lambda: recorder.packets)
        assert type(recorder.packets[0][0]) is UDPv6Address
        receiver.close()
        sender.close()

    harness.run(scenario())


def test_dispatcher(harness: LoopHarness) -> None:
    async def scenario() -> None:
        assert inspect.iscoroutinefunction(DispatcherEndpoint.close)
        empty = DispatcherEndpoint([])
        empty.send(("127.0.0.1", 1), b"dropped")
        assert empty.get_address() == ("0.0.0.0", 0)
        a = DispatcherEndpoint(["UDPIPv4"], UDPIPv4={"port": 0, "ip": "127.0.0.1"})
        b = DispatcherEndpoint(["UDPIPv4"], UDPIPv4={"port": 0, "ip": "127.0.0.1"})
        assert await a.open() and await b.open()
        recorder = Recorder(b)
        b.add_listener(recorder)
        a.send(UDPv4Address(*b.get_address()), PREFIX_A + b"\x01x")
        a.send(b.get_address(), PREFIX_A + b"\x01y")
        a.send(UDPv6Address("::1", 5), b"no v6 interface: dropped")
        await wait_until(lambda: len(recorder.packets) == 2)
        assert a.bytes_up == 2 * 24 and b.bytes_down == 2 * 24
        with pytest.raises(AssertionError):
            empty.assert_open()
        await a.close()
        await b.close()
        assert not a.is_open()

    harness.run(scenario())


def test_guess_interface() -> None:
    assert guess_interface(("1.2.3.4", 5)) == "UDPIPv4"
    assert guess_interface(("::1", 5)) == "UDPIPv6"
    assert guess_interface(("::ffff:1.2.3.4", 5)) == "UDPIPv6"
    assert guess_interface(("example.org", 5)) is None
    assert guess_interface(("1.2.3.4", 5, 6)) is None


def test_statistics_endpoint(harness: LoopHarness) -> None:
    async def scenario() -> None:
        inner, peer = UDPEndpoint(0, "127.0.0.1"), UDPEndpoint(0, "127.0.0.1")
        stats = StatisticsEndpoint(inner)
        await stats.open()
        await peer.open()
        stats.enable_community_statistics(PREFIX_A, True)
        listener = Recorder(stats)
        stats.add_prefix_listener(listener, PREFIX_A)
        stats.send(peer.get_address(), PREFIX_A + b"\x05body")
        stats.send(peer.get_address(), PREFIX_A + bytes([246]) + b"intro")
        peer.send(stats.get_address(), PREFIX_A + b"\x07in")
        await wait_until(lambda: listener.packets)
        assert stats.get_message_sent(PREFIX_A) == 1
        assert stats.get_message_sent(PREFIX_A, include_introduction=True) == 2
        assert stats.get_message_received(PREFIX_A) == 1
        assert stats.get_bytes_received(PREFIX_A) == 25
        aggregate = stats.get_aggregate_statistics(PREFIX_A)
        assert aggregate["num_up"] == 2 and aggregate["num_down"] == 1
        assert stats.get_statistics(PREFIX_B) == {}
        assert stats.bytes_up == inner.bytes_up  # forwarded attribute
        stats.remove_listener(listener)
        assert listener not in inner._prefix_map.get(PREFIX_A, [])
        stats.close()
        peer.close()

    harness.run(scenario())


def test_unsendable_destinations_are_dropped_and_counted(harness: LoopHarness,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        receiver, sender, recorder = await recorded_pair()
        sender.send(("127.0.0.1", "not a port"), PREFIX_A + b"\x01bad")
        sender.send(receiver.get_address(), PREFIX_A + b"\x01good")
        await wait_until(lambda: recorder.packets)
        assert [data for _, data in recorder.packets] == [PREFIX_A + b"\x01good"]
        assert "Dropping packet due to message formatting error" in caplog.text
        assert sender.send_failures == 1
        receiver.close()
        sender.close()

    harness.run(scenario())


def test_a_full_socket_waits_until_writable(harness: LoopHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the socket would block, the rest of the queue waits (in order) for it to become writable."""
    if not udp_endpoint.BATCHED_IO:
        pytest.skip("batched I/O is not used here")

    async def scenario() -> None:
        receiver, sender, recorder = await recorded_pair()
        real = sender._sender
        calls = []

        class BlockOnce:
            def send(self, queue: list, start: int) -> tuple:
                calls.append(len(queue) - start)
                if len(calls) == 1:  # the kernel took the first 3, then the socket was full
                    done, _, sent_bytes, failures = real.send(queue[:start + 3], start)
                    return done, errno.EAGAIN, sent_bytes, failures
                return real.send(queue, start)

        monkeypatch.setattr(sender, "_sender", BlockOnce())
        payloads = [PREFIX_A + bytes([i]) for i in range(10)]
        for data in payloads:
            sender.send(receiver.get_address(), data)
        assert sender._send_queue and not calls  # queued until the end of this loop iteration
        await wait_until(lambda: len(recorder.packets) == 10)
        assert [data for _, data in recorder.packets] == payloads
        assert calls == [10, 7]
        assert sender.bytes_up == 10 * 23 and not sender._send_queue
        receiver.close()
        sender.close()

    harness.run(scenario())


def test_flush_at_threshold_and_on_close(harness: LoopHarness) -> None:
    if not udp_endpoint.BATCHED_IO:
        pytest.skip("batched I/O is not used here")

    async def scenario() -> None:
        receiver, sender, recorder = await recorded_pair()
        for i in range(udp_endpoint.FLUSH_AT):
            sender.send(receiver.get_address(), PREFIX_A + i.to_bytes(2, "big"))
        assert not sender._send_queue  # written at once when FLUSH_AT were waiting
        sender.send(receiver.get_address(), PREFIX_B + b"\x01last")
        sender.close()  # still queued: written by close
        await wait_until(lambda: len(recorder.packets) == udp_endpoint.FLUSH_AT + 1)
        assert recorder.packets[-1][1] == PREFIX_B + b"\x01last"
        receiver.close()

    harness.run(scenario())


def test_endpoint_module_still_exports_every_endpoint_name() -> None:
    """``ipv8fast.endpoint`` keeps its old exports; each is the very object of the module that defines it."""
    from ipv8fast import endpoint, endpoint_interfaces, statistics_endpoint

    namespace: dict[str, Any] = {}
    exec("from ipv8fast.endpoint import *", namespace)  # noqa: S102
    assert set(endpoint.__all__) <= set(namespace)
    for module in (udp_endpoint, endpoint_interfaces, statistics_endpoint):
        for name in set(module.__all__) & set(endpoint.__all__):
            assert getattr(endpoint, name) is getattr(module, name) is namespace[name], name
    assert not hasattr(endpoint, "BATCHED_IO")  # read (and patched) in udp_endpoint only
