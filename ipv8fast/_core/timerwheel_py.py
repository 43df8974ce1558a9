"""Hierarchical timer wheel driven by one asyncio timer (pure-Python twin of ``timerwheel_c``).

Time is cut into ticks of ``tick`` seconds since the wheel was made. Level ``k`` has 64 slots of ``64**k``
ticks each; an entry sits on the level of the highest 6-bit group in which its due tick differs from the
wheel's current tick, so scheduling and cancelling are O(1). When the current tick enters a slot of a
higher level, that slot's entries move down a level ("cascade"). Occupancy bitmaps find the next
occupied slot in a few bit operations, and a single ``loop.call_at`` is armed for it.

Entries fire in due order, never before their due time (at most about one tick late), each as
``callback(arg)``. A callback that raises is reported to ``loop.call_exception_handler`` and the wheel
goes on. ``call_later`` with a delay of 0 or less fires on the next loop iteration (``loop.call_soon``).
"""
from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import Callable
from typing import Any

from .limits import DEFAULT_TICK, LEVELS, SLOT_BITS

__all__ = ["TimerWheel"]

SLOTS = 1 << SLOT_BITS
SLOT_MASK = SLOTS - 1
#: Entries further away than this many ticks are parked at the horizon and re-filed when they get there.
MAX_SPAN = (1 << (SLOT_BITS * LEVELS)) - 1

_Entry = tuple  # (when, callback, arg)
_SHRINK_ABOVE = 1 << 16  # bytes


class TimerWheel:
    """Many timers on one event-loop timer. Handles are opaque ints."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None, tick: float = DEFAULT_TICK) -> None:
        if not tick > 0 or math.isinf(tick):
            raise ValueError(f"tick must be a positive number of seconds, not {tick!r}")
        self._loop = asyncio.get_event_loop() if loop is None else loop
        self._tick = float(tick)
        self._origin = self._loop.time()
        self._cur = 0  # every tick before this one has been processed
        self._slots: list[dict[int, _Entry]] = [{} for _ in range(LEVELS * SLOTS)]
        self._bitmaps = [0] * LEVELS  # bit set => slot may be occupied (cleared lazily when found empty)
        self._where: dict[int, dict[int, _Entry]] = {}  # handle -> the dict that holds its entry
        self._immediate: dict[int, _Entry] = {}
        self._immediate_handle: asyncio.Handle | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._armed_tick = -1
        self._next_handle = 0

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def tick(self) -> float:
        return self._tick

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, handle: object) -> bool:
        return handle in self._where

    def call_later(self, delay: float, callback: Callable[[Any], Any], arg: Any = None) -> int:
        """Run ``callback(arg)`` after ``delay`` seconds (next loop iteration if ``delay <= 0``)."""
        if delay <= 0:
            return self._add_immediate(self._loop.time(), callback, arg)
        return self.call_at(self._loop.time() + delay, callback, arg)

    def call_at(self, when: float, callback: Callable[[Any], Any], arg: Any = None) -> int:
        """Run ``callback(arg)`` once ``loop.time() >= when``; returns a handle for :meth:`cancel`."""
        if when != when:
            raise ValueError("when is NaN")
        if not self._where:
            self._fast_forward()
        cur = self._cur
        target = (when - self._origin) / self._tick
        target = cur + MAX_SPAN if target >= cur + MAX_SPAN else math.ceil(target)
        if target < cur:
            target = cur
        handle = self._next_handle
        self._next_handle = handle + 1
        level = ((target ^ cur).bit_length() - 1) // SLOT_BITS if target != cur else 0
        shift = level * SLOT_BITS
        index = (target >> shift) & SLOT_MASK
        slot = self._slots[level * SLOTS + index]
        slot[handle] = (when, callback, arg)
        self._where[handle] = slot
        self._bitmaps[level] |= 1 << index
        event = target if level == 0 else (target >> shift) << shift
        if event < self._armed_tick or self._timer is None:
            self._arm(event)
        return handle

    def cancel(self, handle: int) -> bool:
        """Forget the entry ``handle``; False if it already fired or was cancelled."""
        holder = self._where.pop(handle, None)
        if holder is None:
            return False
        del holder[handle]
        if not self._where:
            self._shrink()
        return True

    def clear(self) -> int:
        """Cancel every entry; returns how many there were."""
        count = len(self._where)
        for slot in self._slots:
            slot.clear()
        self._bitmaps = [0] * LEVELS
        self._where.clear()
        self._immediate = {}
        if self._immediate_handle is not None:
            self._immediate_handle.cancel()
            self._immediate_handle = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return count

    # -- internals ------------------------------------------------------------------------------------

    def _shrink(self) -> None:
        """Dicts keep their size when emptied: give a drained wheel's memory back."""
        if sys.getsizeof(self._where) <= _SHRINK_ABOVE:
            return
        self._where = {}
        slots = self._slots
        for position, slot in enumerate(slots):
            if not slot and sys.getsizeof(slot) > _SHRINK_ABOVE:
                slots[position] = {}

    def _add_immediate(self, when: float, callback: Callable[[Any], Any], arg: Any) -> int:
        handle = self._next_handle
        self._next_handle = handle + 1
        self._immediate[handle] = (when, callback, arg)
        self._where[handle] = self._immediate
        if self._immediate_handle is None:
            self._immediate_handle = self._loop.call_soon(self._run_immediate)
        return handle

    def _fast_forward(self) -> None:
        """An empty wheel may jump its current tick to now."""
        now_tick = int((self._loop.time() - self._origin) / self._tick) + 1
        if now_tick > self._cur:
            self._cur = now_tick

    def _arm(self, event_tick: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed_tick = event_tick
        self._timer = self._loop.call_at(self._origin + event_tick * self._tick, self._on_timer)

    def _run_immediate(self) -> None:
        self._immediate_handle = None
        batch, self._immediate = self._immediate, {}
        self._fire(batch, None)

    def _on_timer(self) -> None:
        armed = self._armed_tick
        now = self._loop.time()
        now_tick = int((now - self._origin) / self._tick)
        if armed > now_tick and now >= self._origin + armed * self._tick:
            now_tick = armed  # the division may round just below the tick the timer was armed for
        self._timer = None
        self._armed_tick = -1
        self._advance(now_tick)
        event = self._next_event()
        if event is not None:
            self._arm(event[0])

    def _cascade(self) -> None:
        """Move down the entries of every higher-level slot that the current tick has entered."""
        cur = self._cur
        for level in range(LEVELS - 1, 0, -1):
            index = (cur >> (level * SLOT_BITS)) & SLOT_MASK
            bit = 1 << index
            if self._bitmaps[level] & bit:
                self._bitmaps[level] &= ~bit
                position = level * SLOTS + index
                moving = self._slots[position]
                if moving:
                    self._slots[position] = {}
                    self._refile(moving)

    def _refile(self, entries: dict[int, _Entry]) -> None:
        cur = self._cur
        slots, bitmaps, where = self._slots, self._bitmaps, self._where
        origin, tick = self._origin, self._tick
        for handle, entry in entries.items():
            target = (entry[0] - origin) / tick
            target = cur + MAX_SPAN if target >= cur + MAX_SPAN else math.ceil(target)
            if target < cur:
                target = cur
            level = ((target ^ cur).bit_length() - 1) // SLOT_BITS if target != cur else 0
            index = (target >> (level * SLOT_BITS)) & SLOT_MASK
            slot = slots[level * SLOTS + index]
            slot[handle] = entry
            where[handle] = slot
            bitmaps[level] |= 1 << index

    def _next_event(self) -> tuple[int, int] | None:
        """(tick, level) of the earliest occupied slot, or None when the wheel is empty."""
        cur = self._cur
        for level in range(LEVELS):
            shift = level * SLOT_BITS
            position = (cur >> shift) & SLOT_MASK
            if level:
                position += 1  # the slot holding ``cur`` itself has been cascaded already
            while True:
                candidates = (self._bitmaps[level] >> position) << position
                if not candidates:
                    break
                index = (candidates & -candidates).bit_length() - 1
                if self._slots[level * SLOTS + index]:
                    base = (cur >> (shift + SLOT_BITS)) << (shift + SLOT_BITS)
                    return base | (index << shift), level
                self._bitmaps[level] &= ~(1 << index)
        return None

    def _advance(self, now_tick: int) -> None:
        """Fire everything due up to and including ``now_tick``."""
        while True:
            self._cascade()
            event = self._next_event()
            if event is None or event[0] > now_tick:
                break
            tick, level = event
            self._cur = tick
            if level == 0:
                index = tick & SLOT_MASK
                self._bitmaps[0] &= ~(1 << index)
                batch = self._slots[index]
                self._slots[index] = {}
                self._cur = tick + 1
                self._fire(batch, self._loop.time())
        if self._cur <= now_tick:
            self._cur = now_tick + 1
            self._cascade()

    def _fire(self, batch: dict[int, _Entry], now: float | None) -> None:
        """Run ``batch`` in due order; entries cancelled meanwhile are skipped, early ones re-filed."""
        items = list(batch.items())
        if len(items) > 1:
            items.sort(key=_when)
        late: dict[int, _Entry] = {}
        try:
            for handle, entry in items:
                if handle not in batch:
                    continue  # cancelled by an earlier callback
                del batch[handle]
                if now is not None and entry[0] > now:
                    late[handle] = entry  # parked at the horizon: not due yet
                    self._where[handle] = late
                    continue
                where = self._where  # not cached across callbacks: _shrink may replace it
                del where[handle]
                if not where:
                    self._shrink()
                try:
                    entry[1](entry[2])
                except (SystemExit, KeyboardInterrupt):
                    raise
                except BaseException as exc:  # noqa: BLE001 - reported, never stops the wheel
                    self._loop.call_exception_handler({
                        "message": f"Exception in timer wheel callback {entry[1]!r}({entry[2]!r})",
                        "exception": exc,
                    })
        finally:
            if late:
                self._refile(late)
            if batch:  # interrupted: whatever is left runs on the next loop iteration
                for handle, entry in batch.items():
                    self._immediate[handle] = entry
                    self._where[handle] = self._immediate
                if self._immediate_handle is None:
                    self._immediate_handle = self._loop.call_soon(self._run_immediate)


def _when(item: tuple[int, _Entry]) -> float:
    return item[1][0]
