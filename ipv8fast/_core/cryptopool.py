"""Ed25519 verification of received packets on worker threads (compiled twin only).

Selects the compiled twin ``cryptopool_c`` or the pure ``cryptopool_py`` (see ``twins``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import twins

if TYPE_CHECKING or twins.NO_EXTENSIONS:
    from .cryptopool_py import AVAILABLE, VerifyPool, live_threads, settle_all
else:
    try:
        from .cryptopool_c import AVAILABLE, VerifyPool, live_threads, settle_all
    except ImportError as error:
        twins.fall_back("cryptopool", error)
        from .cryptopool_py import AVAILABLE, VerifyPool, live_threads, settle_all
twins.record("cryptopool", VerifyPool)

__all__ = ["AVAILABLE", "VerifyPool", "live_threads", "settle_all"]
