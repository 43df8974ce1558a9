"""What both strategy-scheduler twins share: the protocols they call, the registration tuple and the
argument checks."""
from __future__ import annotations

import operator
from typing import Any, Protocol

__all__ = ["Registration", "SupportsGetPeers", "SupportsTakeStep", "check_interval", "check_target"]


class SupportsGetPeers(Protocol):
    """What the scheduler needs of an overlay."""

    def get_peers(self) -> Any: ...


class SupportsTakeStep(Protocol):
    """What the scheduler needs of a strategy. ``get_peer_count()`` and ``overlay`` are used when present.

    ``walk_lock`` is the strategy's own: ``take_step`` takes it; the scheduler never does (it is not
    re-entrant).
    """

    walk_lock: Any

    def take_step(self) -> None: ...


class Registration(tuple):
    """A ``(strategy, target_peers)`` pair that also remembers the overlay it was registered for."""

    overlay: SupportsGetPeers | None

    def __new__(cls, strategy: SupportsTakeStep, target_peers: int,
                overlay: SupportsGetPeers | None = None) -> Registration:
        self = super().__new__(cls, (strategy, target_peers))
        self.overlay = overlay
        return self

    @property
    def strategy(self) -> SupportsTakeStep:
        return self[0]

    @property
    def target_peers(self) -> int:
        return self[1]

    def __repr__(self) -> str:
        return f"Registration({self[0]!r}, {self[1]!r}, overlay={self.overlay!r})"

    def __reduce__(self) -> Any:
        return Registration, (self[0], self[1], self.overlay)


def check_target(value: Any) -> int:
    """``target_peers`` as an int (bools refused)."""
    if isinstance(value, bool):
        raise TypeError(f"target_peers: expected int, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"target_peers: expected int, got {value!r}") from None


def check_interval(value: Any) -> float:
    """``walk_interval`` as a finite float >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"walk_interval: expected a number of seconds, got {value!r}")
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"walk_interval: expected a finite number >= 0, got {value!r}")
    return float(value)
