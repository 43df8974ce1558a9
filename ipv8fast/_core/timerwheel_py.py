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
import inspect
import logging
import math
import random
import sys
from collections.abc import Callable
from typing import Any, ClassVar

from .identifiers_py import IdentifierPool
from .limits import DEFAULT_TICK, EXHAUSTED_MESSAGE, LEVELS, MAX_POOL_SIZE, SLOT_BITS

__all__ = ["CacheBase", "CacheStore", "RandomCacheBase", "TimerWheel", "describe_bad_cache", "prefix_of"]

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


# -- the RequestCache's store: its caches, their timeouts on this wheel, the number pools -----------------------

#: Random draws tried before a prefix gets an identifier pool (py-ipv8 makes 1000, then gives up).
QUICK_DRAWS = 8
MAX_DRAWS = 1000


class CacheBase:
    """What every NumberCache is: ``(prefix, number)``, its managed futures and its pending timeout."""

    __slots__ = ("_prefix", "_number", "_managed_futures", "_timer")  # NumberCache adds __dict__, __weakref__

    def __init__(self, request_cache: Any, prefix: str, number: int) -> None:
        if request_cache.has(prefix, number):
            raise RuntimeError(f"This number is already in use '{number}'")
        self._prefix = prefix
        self._number = number
        self._managed_futures: list[tuple[asyncio.Future, Any]] | None = None
        self._timer: int | None = None

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def number(self) -> int:
        return self._number

    @property
    def managed_futures(self) -> list[tuple[asyncio.Future, Any]]:
        """The live list of ``(future, on_timeout_value)`` pairs resolved when this cache times out."""
        managed = self._managed_futures
        if managed is None:
            managed = self._managed_futures = []
        return managed

    @property
    def timeout_delay(self) -> float:
        """Seconds until :meth:`on_timeout` (override in subclasses)."""
        return 10.0

    def register_future(self, future: asyncio.Future, on_timeout: Any = None) -> None:
        """On timeout, ``future`` gets ``on_timeout`` as its exception (an Exception instance) or result."""
        self.managed_futures.append((future, on_timeout))

    def on_timeout(self) -> Any:
        """Called when this cache times out (after it was removed from its RequestCache); may be a coroutine
        function, whose coroutine the RequestCache then runs."""

    def __str__(self) -> str:
        return f"<{self.__class__.__name__} {self._prefix}-{self._number}>"


#: class -> the ``__init__`` that follows RandomCacheBase's in its MRO, or None when that is CacheBase's
_NEXT_INIT: dict[type, Any] = {}


def _next_init(cls: type) -> Any:
    try:
        return _NEXT_INIT[cls]
    except KeyError:
        pass
    mro = cls.__mro__
    following = None
    for klass in mro[mro.index(RandomCacheBase) + 1:]:
        if "__init__" in klass.__dict__:
            following = None if klass is CacheBase else klass.__dict__["__init__"]
            break
    _NEXT_INIT[cls] = following
    return following


class RandomCacheBase(CacheBase):
    """A cache whose number is a random unclaimed one in ``range(cls.identifier_range)``."""

    __slots__ = ()

    identifier_range: ClassVar[int] = 65536

    def __init__(self, request_cache: Any, prefix: str) -> None:
        cls = type(self)
        if cls.find_unclaimed_identifier.__func__ is _DEFAULT_FINDER:  # type: ignore[attr-defined]
            number = _find_unclaimed(request_cache, prefix, cls.identifier_range)
        else:
            number = self.find_unclaimed_identifier(request_cache, prefix)
        following = _next_init(cls)
        if following is not None:  # another __init__ sits between this one and CacheBase's in the MRO
            following(self, request_cache, prefix, number)
            return
        # CacheBase.__init__ without its "in use?" lookup: the number was just found unclaimed
        self._prefix = prefix
        self._number = number
        self._managed_futures = None
        self._timer = None

    @classmethod
    def find_unclaimed_identifier(cls, request_cache: Any, prefix: str) -> int:
        """A number not in use under ``prefix``; RuntimeError if none can be found."""
        return _find_unclaimed(request_cache, prefix, cls.identifier_range)


_DEFAULT_FINDER = RandomCacheBase.__dict__["find_unclaimed_identifier"].__func__


def _find_unclaimed(request_cache: Any, prefix: str, size: int) -> int:
    store = getattr(request_cache, "_store", None)
    if isinstance(store, CacheStore):
        return store.find_unclaimed(prefix, size)
    for _ in range(MAX_DRAWS):  # py-ipv8's way, on any object with has()
        number = int(random.random() * size)
        if not request_cache.has(prefix, number):
            return number
    raise RuntimeError(EXHAUSTED_MESSAGE)


def describe_bad_cache(cache: Any) -> str:
    """Why ``add`` refused ``cache`` (the message of its AssertionError)."""
    if not isinstance(cache, CacheBase):
        return f"cache must be a NumberCache, not {type(cache).__name__}"
    if not isinstance(cache._number, int):
        return f"cache number must be an int, not {type(cache._number).__name__}"
    return f"cache prefix must be a str, not {type(cache._prefix).__name__}"


def prefix_of(prefix: Any) -> str:
    """A cache class stands for its ``name``; anything else is used as given."""
    return getattr(prefix, "name") if isinstance(prefix, type) else prefix  # noqa: B009 - a cache class's name


class CacheStore(TimerWheel):
    """The caches of one RequestCache by ``(prefix, number)``, their timeouts (entries of this wheel) and the
    identifier pools of crowded prefixes. Every pending cache is held by ``buckets``."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None, tick: float = DEFAULT_TICK) -> None:
        super().__init__(loop, tick)
        self.buckets: dict[str, dict[int, CacheBase]] = {}
        self.pools: dict[str, IdentifierPool] = {}
        self.waiters: dict[tuple[str, int], asyncio.Future] = {}
        self.timeout_tasks: set[asyncio.Future] = set()  # async on_timeout()s, kept alive until done
        self.closed = False
        self.override: float | None = None
        self.filters: tuple[type, ...] | None = None
        self.logger: Any = logging.getLogger("RequestCache")
        self._expire_cb = self._expire

    def pending(self) -> int:
        """How many caches are stored."""
        return sum(len(bucket) for bucket in self.buckets.values())

    def follow_running_loop(self) -> None:
        """An empty wheel idle on another loop than the running one (made at import) moves to the running one."""
        if self._where or self._immediate_handle is not None:
            return
        loop = asyncio._get_running_loop()  # noqa: SLF001 - the cheap, non-raising probe
        if loop is not None and loop is not self._loop:
            self.rebind(loop)

    def rebind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Move this (empty) wheel to ``loop``."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._loop = loop
        self._origin = loop.time()
        self._cur = 0
        self._armed_tick = -1

    def add(self, cache: CacheBase) -> CacheBase | None:
        """Store ``cache`` and schedule its timeout; None if its identifier is taken or after shutdown."""
        assert isinstance(cache, CacheBase) and isinstance(cache._number, int) and \
            isinstance(cache._prefix, str), describe_bad_cache(cache)
        prefix = cache._prefix
        number = cache._number
        delay = cache.timeout_delay
        assert isinstance(delay, (int, float)) and delay > 0, f"timeout_delay must be > 0, not {delay!r}"

        if self.closed:
            self.logger.warning("Dropping %s due to shutdown!", cache)
            if cache._managed_futures:
                for future, _ in cache._managed_futures:
                    future.cancel()
            return None

        bucket = self.buckets.get(prefix)
        if bucket is None:
            bucket = self.buckets[prefix] = {}
        elif number in bucket:
            self.logger.error("Attempted to add cache %s twice!", cache)
            return None
        bucket[number] = cache
        if self.pools:
            pool = self.pools.get(prefix)
            if pool is not None:
                pool.claim(number)

        if self.override is not None and (self.filters is None or isinstance(cache, self.filters)):
            delay = self.override
        if not self._where:
            self.follow_running_loop()
        cache._timer = self.call_later(delay, self._expire_cb, cache)

        if self.waiters:
            waiter = self.waiters.pop((prefix, number), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(cache)
        return cache

    def has(self, prefix: str | type, number: int) -> bool:
        """Whether a cache is stored under ``(prefix, number)``; a class means its ``name``."""
        bucket = self.buckets.get(prefix if prefix.__class__ is str else prefix_of(prefix))
        return bucket is not None and number in bucket

    def get(self, prefix: str | type, number: int) -> CacheBase | None:
        """The cache under ``(prefix, number)``, or None."""
        bucket = self.buckets.get(prefix if prefix.__class__ is str else prefix_of(prefix))
        return None if bucket is None else bucket.get(number)

    def pop(self, prefix: str | type, number: int) -> CacheBase:
        """Remove and return the cache under ``(prefix, number)`` and cancel its timeout; KeyError if absent."""
        if prefix.__class__ is not str:
            prefix = prefix_of(prefix)
        bucket = self.buckets.get(prefix)
        cache = None if bucket is None else bucket.pop(number, None)
        if cache is None:
            raise KeyError(f"{prefix}:{number}")
        assert bucket is not None
        if not bucket:
            del self.buckets[prefix]
            self.pools.pop(prefix, None)
        elif self.pools:
            pool = self.pools.get(prefix)
            if pool is not None:
                pool.release(number)
        if cache._timer is not None:
            self.cancel(cache._timer)
            cache._timer = None
        return cache

    def is_pending(self, cache: CacheBase) -> bool:
        """Whether ``cache``'s timeout is pending on this wheel."""
        return cache._timer is not None and cache._timer in self

    def drop_all(self, cancel_futures: bool) -> None:
        """Cancel every timeout and forget every cache (cancelling their managed futures if asked)."""
        self.clear()
        buckets, self.buckets = self.buckets, {}
        self.pools = {}
        for bucket in buckets.values():
            for cache in bucket.values():
                cache._timer = None
                if cancel_futures and cache._managed_futures:
                    for future, _ in cache._managed_futures:
                        future.cancel()

    def _forget(self, cache: CacheBase) -> bool:
        prefix = cache._prefix
        bucket = self.buckets.get(prefix)
        if bucket is None or bucket.get(cache._number) is not cache:
            return False
        del bucket[cache._number]
        if not bucket:
            del self.buckets[prefix]
            self.pools.pop(prefix, None)
        elif self.pools:
            pool = self.pools.get(prefix)
            if pool is not None:
                pool.release(cache._number)
        return True

    def _expire(self, cache: CacheBase) -> None:
        """Timeout order: remove, ``on_timeout()``, then resolve the managed futures."""
        cache._timer = None
        if not self._forget(cache):
            return
        result = cache.on_timeout()
        if result is not None and inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self.timeout_tasks.add(task)
            task.add_done_callback(self.timeout_tasks.discard)
        managed = cache._managed_futures
        if managed:
            for future, value in managed:
                if not future.done():
                    if isinstance(value, Exception):
                        future.set_exception(value)
                    else:
                        future.set_result(value)

    def find_unclaimed(self, prefix: str, size: int) -> int:
        """RandomNumberCache's pick: py-ipv8's random draws, then an O(1) pool once the prefix is crowded."""
        draw = random.random
        bucket = self.buckets.get(prefix)
        if not bucket:
            return int(draw() * size)
        pool = self.pools.get(prefix)
        if pool is None or pool.size != size:
            poolable = size <= MAX_POOL_SIZE and pool is None
            for _ in range(QUICK_DRAWS if poolable else MAX_DRAWS):
                number = int(draw() * size)
                if number not in bucket:
                    return number
            if not poolable:
                raise RuntimeError(EXHAUSTED_MESSAGE)
            pool = self.pools[prefix] = IdentifierPool(
                size, [n for n in bucket if n.__class__ is int and 0 <= n < size])
        return pool.pick(draw())
