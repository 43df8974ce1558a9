"""The hierarchical timer wheel and, on it, the RequestCache's store and the compiled NumberCache bases.

Selects the compiled twin ``timerwheel_c`` or the pure ``timerwheel_py`` (see ``twins``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import twins
from .limits import DEFAULT_TICK, LEVELS, SLOT_BITS

if TYPE_CHECKING or twins.NO_EXTENSIONS:
    from .timerwheel_py import CacheBase, CacheStore, RandomCacheBase, TimerWheel, describe_bad_cache, prefix_of
else:
    try:
        from .timerwheel_c import CacheBase, CacheStore, RandomCacheBase, TimerWheel, describe_bad_cache, prefix_of
    except ImportError as error:
        twins.fall_back("timerwheel", error)
        from .timerwheel_py import CacheBase, CacheStore, RandomCacheBase, TimerWheel, describe_bad_cache, prefix_of
twins.record("timerwheel", TimerWheel)

__all__ = ["DEFAULT_TICK", "LEVELS", "SLOT_BITS", "CacheBase", "CacheStore", "RandomCacheBase", "TimerWheel",
           "describe_bad_cache", "prefix_of"]
