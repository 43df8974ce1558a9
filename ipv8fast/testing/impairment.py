"""Loss, delay and reordering in user space, wrapped around the ``send`` of any endpoint (py-ipv8's or
ipv8fast's): the kernel of the emulated testbed (:mod:`ipv8fast.testing.netns`) has no ``netem`` qdisc.

    impairment = Impairment(loss=0.1, delay=0.05, jitter=0.01, seed=7)
    impairment.wrap(ipv8.endpoint)        # every datagram this node sends from now on

Each datagram is dropped with probability ``loss``; the others leave after ``delay`` + uniform(0,
``jitter``) seconds (``loop.call_later``), so datagrams sent closer together than the jitter overtake each
other: reordering comes from the jitter. ``seed`` makes every decision repeatable; ``stats`` counts them.
Standard library only: a py-ipv8 process loads this file by path without importing the ipv8fast package.
"""
from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

__all__ = ["Impairment"]


class Impairment:
    """Seeded per-datagram loss and (jittered) delay on the send side of one or more endpoints."""

    def __init__(self, loss: float = 0.0, delay: float = 0.0, jitter: float = 0.0, seed: int | None = None) -> None:
        if not 0.0 <= loss <= 1.0:
            raise ValueError(f"loss: expected a probability in [0, 1], got {loss!r}")
        if delay < 0 or jitter < 0:
            raise ValueError(f"delay/jitter: expected seconds >= 0, got {delay!r}/{jitter!r}")
        self.loss, self.delay, self.jitter = loss, delay, jitter
        self.rng = random.Random(seed)
        self.stats = {"sent": 0, "dropped": 0, "delayed": 0, "errors": 0}

    @property
    def active(self) -> bool:
        """Whether this impairment changes anything at all."""
        return bool(self.loss or self.delay or self.jitter)

    def wrap(self, endpoint: Any) -> Any:
        """Replace ``endpoint.send`` (on the instance) by the impaired send; returns the endpoint."""
        if self.active:
            endpoint.send = self.impaired(endpoint.send)
        return endpoint

    def impaired(self, send: Callable[[Any, bytes], Any]) -> Callable[[Any, bytes], None]:
        """``send(address, packet)`` with this impairment in front of it."""
        rng, stats = self.rng, self.stats

        def later(address: Any, packet: bytes) -> None:
            try:
                send(address, packet)
            except Exception:  # noqa: BLE001 - a node stopped while its datagram was in flight
                stats["errors"] += 1

        def impaired_send(address: Any, packet: bytes) -> None:
            stats["sent"] += 1
            if self.loss and rng.random() < self.loss:
                stats["dropped"] += 1
                return
            wait = self.delay + (rng.uniform(0.0, self.jitter) if self.jitter else 0.0)
            if wait <= 0:
                send(address, packet)
                return
            stats["delayed"] += 1
            asyncio.get_running_loop().call_later(wait, later, address, packet)

        return impaired_send
