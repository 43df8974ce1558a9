"""In-memory endpoints for tests (py-ipv8's ``ipv8.test.mocking.endpoint``; spec api.md §22.1).

Every :class:`MockEndpoint` registers in the module-global :data:`internet` under its LAN and WAN address;
a send is delivered on a later loop iteration (``call_soon``) with the sender's WAN address as source.
:class:`LossyEndpoint` adds seeded loss, delay, duplication and reordering for reliability tests.
"""
from __future__ import annotations

import asyncio
import random
from typing import Any

from ..addresses import UDPv4Address, UDPv6Address
from ..endpoint import Endpoint, EndpointListener

__all__ = ["AddressTester", "AutoMockEndpoint", "LossyEndpoint", "MockEndpoint", "MockEndpointListener",
           "crash_event_loop", "internet", "in_flight"]

#: Address -> MockEndpoint, for every mock endpoint of the test (cleared by TestBase).
internet: dict[Any, MockEndpoint] = {}

_in_flight = [0]


def in_flight() -> int:
    """How many mock datagrams are scheduled but not yet delivered."""
    return _in_flight[0]


async def crash_event_loop(exc: BaseException) -> None:
    """Raise ``exc`` inside a task, so the loop's exception handler sees it."""
    raise exc


#: crash tasks in flight (a task nobody references can be garbage-collected before it runs)
_PENDING_CRASHES: set = set()


class MockEndpoint(Endpoint):
    """An endpoint on the in-memory :data:`internet`; ``open``/``close`` are synchronous."""

    SEND_INET_EXCEPTION_TO_LOOP = True

    def __init__(self, lan_address: Any, wan_address: Any) -> None:
        super().__init__()
        internet[lan_address] = self
        internet[wan_address] = self
        self.lan_address = lan_address
        self.wan_address = wan_address
        self._port = self.lan_address[1]
        self._open = False

    def assert_open(self) -> None:
        assert self._open

    def is_open(self) -> bool:
        return self._open

    def get_address(self) -> Any:
        return self.wan_address

    def notify_listeners(self, packet: tuple[Any, bytes]) -> None:
        """Like Endpoint's, but a listener's exception propagates (to the loop's handler, in tests)."""
        if not self.is_open():
            return
        for listener in self._prefix_map.get(packet[1][:self.prefixlen], self._listeners):
            listener.on_packet(packet)

    def _deliver(self, destination: MockEndpoint, packet: tuple[Any, bytes]) -> None:
        _in_flight[0] -= 1
        destination.notify_listeners(packet)  # an exception here reaches the loop's exception handler

    def _schedule(self, destination: MockEndpoint, packet: bytes, delay: float = 0.0) -> None:
        loop = asyncio.get_event_loop()
        _in_flight[0] += 1
        if delay > 0:
            loop.call_later(delay, self._deliver, destination, (self.wan_address, packet))
        else:
            loop.call_soon(self._deliver, destination, (self.wan_address, packet))

    def send(self, socket_address: Any, packet: bytes) -> None:
        if not self.is_open():
            return
        destination = internet.get(socket_address)
        if destination is None:
            error = AssertionError(f"Attempted to send data to unregistered address {socket_address!r}")
            if self.SEND_INET_EXCEPTION_TO_LOOP:
                task = asyncio.ensure_future(crash_event_loop(error))
                _PENDING_CRASHES.add(task)
                task.add_done_callback(_PENDING_CRASHES.discard)
            raise error
        self._schedule(destination, packet)

    def open(self) -> bool:  # type: ignore[override]
        self._open = True
        return True

    def close(self, timeout: float = 0.0) -> None:
        self._open = False

    def reset_byte_counters(self) -> None:
        pass


class AddressTester(EndpointListener):
    """Tells whether an IP belongs to this machine's LAN (so mock addresses never shadow real ones)."""

    singleton: AddressTester | None = None

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint, main_thread=False)

    @classmethod
    def get_singleton(cls, endpoint: Endpoint) -> AddressTester:
        if cls.singleton is None:
            cls.singleton = cls(endpoint)
        return cls.singleton

    def on_packet(self, packet: tuple[Any, bytes]) -> None:
        pass

    def is_lan(self, address: str) -> bool:
        return self.address_is_lan(address)


class AutoMockEndpoint(MockEndpoint):
    """A MockEndpoint with fresh random, unique LAN and WAN addresses (IPv6 if ``IPV6_ADDRESSES``)."""

    IPV6_ADDRESSES = False

    def __init__(self) -> None:
        self._open = False
        super().__init__(self._generate_address(), self._generate_address())

    def _generate_address(self) -> Any:
        while True:
            if self.IPV6_ADDRESSES:
                import ipaddress
                ip = str(ipaddress.IPv6Address(random.getrandbits(128)))
                address: Any = UDPv6Address(ip, random.randint(0, 65535))
            else:
                ip = ".".join(str(random.randint(0, 255)) for _ in range(4))
                address = UDPv4Address(ip, random.randint(0, 65535))
            if address not in internet and not AddressTester.get_singleton(self).is_lan(address[0]):
                return address


class MockEndpointListener(EndpointListener):
    """Registers as a general listener and records every ``(address, data)`` in ``received_packets``."""

    def __init__(self, endpoint: Endpoint, main_thread: bool = False) -> None:
        super().__init__(endpoint, main_thread)
        self.received_packets: list[tuple[Any, bytes]] = []
        endpoint.add_listener(self)

    def on_packet(self, packet: tuple[Any, bytes]) -> None:
        self.received_packets.append(packet)


class LossyEndpoint(AutoMockEndpoint):
    """An AutoMockEndpoint whose sends are dropped, delayed, duplicated or reordered, reproducibly.

    ``drop``, ``duplicate`` and ``reorder`` are probabilities per datagram; ``delay`` is extra latency in
    seconds for every datagram. A reordered datagram is held back until the next datagram to the same
    destination has gone out (or ``reorder_window`` seconds passed), so it arrives after it. ``seed``
    makes every decision repeatable; ``stats`` counts them.
    """

    def __init__(self, drop: float = 0.0, delay: float = 0.0, duplicate: float = 0.0, reorder: float = 0.0,
                 reorder_window: float = 0.05, seed: int | None = None) -> None:
        for label, value in (("drop", drop), ("duplicate", duplicate), ("reorder", reorder)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{label}: expected a probability in [0, 1], got {value!r}")
        if delay < 0 or reorder_window < 0:
            raise ValueError(f"delay/reorder_window: expected seconds >= 0, got {delay!r}/{reorder_window!r}")
        super().__init__()
        self.drop, self.delay, self.duplicate, self.reorder = drop, delay, duplicate, reorder
        self.reorder_window = reorder_window
        self.rng = random.Random(seed)
        self.stats = {"sent": 0, "dropped": 0, "duplicated": 0, "reordered": 0}
        self._held: dict[int, tuple[MockEndpoint, bytes, asyncio.TimerHandle]] = {}

    def _release(self, key: int) -> None:
        held = self._held.pop(key, None)
        if held is not None:
            held[2].cancel()
            super()._schedule(held[0], held[1], self.delay)

    def _schedule(self, destination: MockEndpoint, packet: bytes, delay: float = 0.0) -> None:
        rng = self.rng
        self.stats["sent"] += 1
        if rng.random() < self.drop:
            self.stats["dropped"] += 1
            return
        copies = 2 if rng.random() < self.duplicate else 1
        self.stats["duplicated"] += copies - 1
        hold = rng.random() < self.reorder
        key = id(destination)
        for _ in range(copies - 1 if hold else copies):
            super()._schedule(destination, packet, self.delay)
        self._release(key)  # a datagram held back earlier now goes out after this one
        if hold:
            self.stats["reordered"] += 1
            timer = asyncio.get_event_loop().call_later(self.reorder_window, self._release, key)
            self._held[key] = (destination, packet, timer)

    def close(self, timeout: float = 0.0) -> None:
        for held in self._held.values():
            held[2].cancel()
        self._held.clear()
        super().close(timeout)
