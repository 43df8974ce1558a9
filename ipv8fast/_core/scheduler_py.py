"""Round-robin discovery-strategy scheduler (pure-Python twin of ``scheduler_c``).

The registry is the public list :attr:`StrategyScheduler.strategies` of ``(strategy, target_peers)``
pairs, py-ipv8's ``IPv8.strategies`` shape (entries made by :meth:`~StrategyScheduler.add` are
:class:`Registration` tuples that also remember the overlay). A *pass* calls, in order, ``take_step()`` of
every strategy whose gate is open: ``target_peers == -1``, or its peer count is below ``target_peers``
(so ``0`` never steps). The peer count is ``strategy.get_peer_count()`` when the strategy has one, else
``len(overlay.get_peers())`` of the registered overlay. Exceptions (from the count or the step) are logged
and the pass goes on.

Timing follows py-ipv8's IPv8 service: ``smooth = walk_interval // n`` (floor division, so smoothing only
happens when ``walk_interval >= n`` seconds); after each strategy but the last, if ``smooth - elapsed >
0.01`` the pass pauses that long; after the pass, it waits ``walk_interval``. :meth:`advance` runs until
the next pause and returns its length; :meth:`tick` runs a whole pass without pauses.

A pass works on a snapshot taken when it starts: strategies added meanwhile wait for the next pass;
strategies removed through :meth:`remove` / :meth:`remove_overlay` are skipped from then on.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from .limits import MIN_PAUSE
from .scheduler_types import Registration, SupportsGetPeers, SupportsTakeStep
from .scheduler_types import check_interval as _check_interval
from .scheduler_types import check_target as _target

__all__ = ["StrategyScheduler"]


class StrategyScheduler:
    """Calls registered discovery strategies round-robin; see the module docstring."""

    def __init__(self, walk_interval: float = 0.5, *, logger: logging.Logger | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self._interval = _check_interval(walk_interval)
        self._logger = logger if logger is not None else logging.getLogger("ipv8fast.strategy_scheduler")
        self._clock = clock if clock is not None else time.monotonic
        self._strategies: list = []
        self._pass: tuple | None = None  # snapshot of the pass in progress
        self._cursor = 0
        self._smooth = 0.0
        self._dead: set[int] = set()  # ids of snapshot entries removed during the pass
        self._running = False
        self.errors = 0

    # -- registry ------------------------------------------------------------------------------------

    @property
    def strategies(self) -> list:
        """The live registry list (py-ipv8's ``IPv8.strategies``); direct edits count from the next pass."""
        return self._strategies

    @strategies.setter
    def strategies(self, value: list) -> None:
        if not isinstance(value, list):
            raise TypeError(f"strategies: expected a list of (strategy, target_peers), got {value!r}")
        keep = {id(entry) for entry in value}
        self._kill(entry for entry in self._strategies if id(entry) not in keep)
        self._strategies = value

    @property
    def walk_interval(self) -> float:
        return self._interval

    @walk_interval.setter
    def walk_interval(self, value: float) -> None:
        self._interval = _check_interval(value)

    @property
    def in_pass(self) -> bool:
        """True between the first and the last :meth:`advance` of a pass."""
        return self._pass is not None

    def __len__(self) -> int:
        return len(self._strategies)

    def add(self, overlay: SupportsGetPeers | None, strategy: SupportsTakeStep, target_peers: int) -> Registration:
        """Register ``strategy`` (for ``overlay``); it is stepped from the next pass on."""
        if not callable(getattr(strategy, "take_step", None)):
            raise TypeError(f"strategy: expected an object with take_step(), got {strategy!r}")
        entry = Registration(strategy, _target(target_peers), overlay)
        self._strategies.append(entry)
        return entry

    def remove(self, strategy: SupportsTakeStep) -> int:
        """Unregister every entry of ``strategy``; returns how many were removed."""
        return self._remove_where(lambda entry: entry[0] is strategy)

    def remove_overlay(self, overlay: SupportsGetPeers) -> int:
        """Unregister every strategy registered for ``overlay`` or whose ``.overlay`` is it."""
        def belongs(entry: Any) -> bool:
            return getattr(entry, "overlay", None) is overlay or getattr(entry[0], "overlay", None) is overlay
        return self._remove_where(belongs)

    def clear(self) -> None:
        """Unregister everything."""
        self._kill(self._strategies)
        self._strategies.clear()

    def _remove_where(self, predicate: Callable[[Any], bool]) -> int:
        removed: list[Any] = []
        kept: list[Any] = []
        for entry in self._strategies:
            try:
                gone = predicate(entry)
            except (TypeError, IndexError, KeyError):
                gone = False
            (removed if gone else kept).append(entry)
        if removed:
            self._kill(removed)
            self._strategies[:] = kept
        return len(removed)

    def _kill(self, entries: Iterable[Any]) -> None:
        if self._pass is not None or self._running:
            self._dead.update(id(entry) for entry in entries)

    # -- stepping ------------------------------------------------------------------------------------

    def _step(self, entry: Any) -> bool:
        """Gate and step one entry; True if ``take_step`` was called (even if it raised)."""
        stepped = False
        try:
            strategy, target = entry
            if target != -1:
                counter = getattr(strategy, "get_peer_count", None)
                if counter is not None:
                    count = counter()
                else:
                    count = len(entry.overlay.get_peers())
                if not count < target:
                    return False
            stepped = True
            strategy.take_step()
        except Exception:
            self.errors += 1
            self._logger.exception("Exception occurred while trying to walk: %r", entry)
        return stepped

    def _run_rest(self, snapshot: tuple, start: int) -> int:
        """Step ``snapshot[start:]`` without pauses (``_step`` inlined: this is the common path)."""
        dead = self._dead
        stepped = 0
        for i in range(start, len(snapshot)):
            entry = snapshot[i]
            if dead and id(entry) in dead:
                continue
            try:
                strategy, target = entry
                if target != -1:
                    counter = getattr(strategy, "get_peer_count", None)
                    count = counter() if counter is not None else len(entry.overlay.get_peers())
                    if not count < target:
                        continue
                stepped += 1
                strategy.take_step()
            except Exception:
                self.errors += 1
                self._logger.exception("Exception occurred while trying to walk: %r", entry)
        return stepped

    def tick(self) -> int:
        """Run a pass now, without pauses; returns how many ``take_step`` calls were made.

        A pass in progress (see :meth:`advance`) is finished instead of starting a new one.
        """
        if self._running:
            raise RuntimeError("StrategyScheduler.tick() called from inside a pass")
        self._running = True
        try:
            if self._pass is None:
                return self._run_rest(tuple(self._strategies), 0)
            return self._run_rest(self._pass, self._cursor)
        finally:
            self._end_pass()
            self._running = False

    def advance(self) -> float:
        """Run strategies until the next pause is due; return the pause in seconds.

        The pause after the last strategy of a pass is ``walk_interval`` (also with no strategies).
        """
        if self._running:
            raise RuntimeError("StrategyScheduler.advance() called from inside a pass")
        if self._pass is None:
            if not self._strategies:
                return self._interval
            self._pass = tuple(self._strategies)
            self._cursor = 0
            self._smooth = self._interval // len(self._pass)
        self._running = True
        try:
            snapshot = self._pass
            if self._smooth <= MIN_PAUSE:  # no pause can fall due: finish the pass in one go
                self._run_rest(snapshot, self._cursor)
                self._end_pass()
                return self._interval
            n = len(snapshot)
            dead = self._dead
            smooth = self._smooth
            clock = self._clock
            while True:
                entry = snapshot[self._cursor]
                self._cursor += 1
                ran = not (dead and id(entry) in dead)
                if ran:
                    started = clock()
                    self._step(entry)
                while self._cursor < n and dead and id(snapshot[self._cursor]) in dead:
                    self._cursor += 1
                if self._cursor >= n:
                    self._end_pass()
                    return self._interval
                if ran:
                    pause = smooth - (clock() - started)
                    if pause > MIN_PAUSE:
                        return pause
        finally:
            self._running = False

    def reset(self) -> None:
        """Abandon the pass in progress; the next :meth:`advance` starts a new one."""
        if self._running:
            raise RuntimeError("StrategyScheduler.reset() called from inside a pass")
        self._end_pass()

    def _end_pass(self) -> None:
        self._pass = None
        self._cursor = 0
        self._dead.clear()
