"""The round-robin discovery-strategy scheduler.

Selects the compiled twin ``scheduler_c`` or the pure ``scheduler_py`` (see ``twins``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import twins
from .limits import MIN_PAUSE
from .scheduler_types import Registration, SupportsGetPeers, SupportsTakeStep

if TYPE_CHECKING or twins.NO_EXTENSIONS:
    from .scheduler_py import StrategyScheduler
else:
    try:
        from .scheduler_c import StrategyScheduler
    except ImportError as error:
        twins.fall_back("scheduler", error)
        from .scheduler_py import StrategyScheduler
twins.record("scheduler", StrategyScheduler)

__all__ = ["MIN_PAUSE", "Registration", "StrategyScheduler", "SupportsGetPeers", "SupportsTakeStep"]
