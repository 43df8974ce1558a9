"""Sizes and limits that both twins of a pair build on, declared once.

The compiled twins that need one of these as a C constant compare theirs with this value at import.
"""
from __future__ import annotations

__all__ = ["DEFAULT_TICK", "EXHAUSTED_MESSAGE", "LEVELS", "MAX_POOL_SIZE", "MIN_PAUSE", "SLOT_BITS",
           "VERIFY_HEAP_LIMIT", "VERIFY_QUEUE_LIMIT"]

#: timer wheel: seconds per tick, slots per level (as bits) and levels (2**42 ticks of span in all)
DEFAULT_TICK = 0.005
SLOT_BITS = 6
LEVELS = 7

#: identifier pools: the largest range one pool draws from (larger spaces are sparse in practice: random
#: draws find a free number at once), and the error when a pool is full
MAX_POOL_SIZE = 1 << 24
EXHAUSTED_MESSAGE = "Could not find a number that isn't in use"

#: strategy scheduler: pauses shorter than this are skipped (py-ipv8's threshold)
MIN_PAUSE = 0.01

#: signature verification on worker threads (``cryptopool``): packets queued at most (verifications in
#: flight and packets deferred behind them; beyond it they are dropped and counted as "verify_queue_full"),
#: and bytes of copied messages longer than a job's inline 512 bytes
VERIFY_QUEUE_LIMIT = 4096
VERIFY_HEAP_LIMIT = 16 << 20
