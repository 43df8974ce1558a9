"""Signature verification off the loop thread: the pure twin verifies inline and starts no thread.

``AVAILABLE`` is False here, so endpoints asked for ``crypto_threads`` verify on the loop thread, as without
them; :class:`VerifyPool` exists for the shared API only (``cryptopool_c`` is the real one).
"""
from __future__ import annotations

import asyncio

from .limits import VERIFY_HEAP_LIMIT, VERIFY_QUEUE_LIMIT

__all__ = ["AVAILABLE", "VerifyPool", "live_threads", "settle_all"]

#: worker threads are possible here: never in the pure twin
AVAILABLE = False


def live_threads() -> int:
    """Verification worker threads alive in this process: none."""
    return 0


def settle_all() -> None:
    """Nothing is ever queued by the pure twin."""


class VerifyPool:
    """Worker-thread verification is compiled-only; constructing one here raises RuntimeError."""

    threads: int
    limit: int

    def __init__(self, threads: int, limit: int = VERIFY_QUEUE_LIMIT, heap_limit: int = VERIFY_HEAP_LIMIT,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        raise RuntimeError("the pure twin verifies signatures inline on the loop thread")

    @property
    def queued(self) -> int:
        return 0

    @property
    def closed(self) -> bool:
        return True

    def flush(self) -> None:
        """Deliver what is done (nothing here)."""

    def settle(self) -> None:
        """Deliver everything queued (nothing here)."""

    def close(self) -> None:
        """Stop the workers (there are none)."""
