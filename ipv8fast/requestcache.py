"""Request caches: numbered state that times out (spec api.md §5, ``ipv8.requestcache``).

Same API and semantics as py-ipv8, but a pending cache costs no asyncio Task: every RequestCache files
its caches' timeouts in one hierarchical timer wheel (``_timerwheel``) driven by a single loop timer, and
RandomNumberCache draws its numbers from an O(1) identifier pool (``_identifiers``) once a prefix fills up.

Deliberate deviations from py-ipv8 3.2.1:
- ``wait_for(Cls, n, timeout=...)`` honours ``timeout`` (py-ipv8 drops it for the class form);
- ``shutdown()`` does not stop a later ``shutdown_task_manager()`` from running its shutdown tasks;
- cache timeouts are wheel entries, not tasks: ``get_tasks()``/``clear()`` do not list them;
- RandomNumberCache only raises "Could not find a number that isn't in use" when its range is full.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import random
import threading
from abc import ABC, ABCMeta
from asyncio import Future
from collections.abc import Awaitable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Protocol

from ._core import identifiers as _identifiers
from ._core import timerwheel as _timerwheel
from .taskmanager import TaskManager
from .util import succeed

__all__ = ["NumberCache", "RandomNumberCache", "CacheWithName", "NumberCacheWithName",
           "RandomNumberCacheWithName", "RequestCache"]


#: Random draws tried before a prefix gets an identifier pool (py-ipv8 makes 1000, then gives up).
_QUICK_DRAWS = 8
_MAX_DRAWS = 1000


class _ClassLogger:
    """``self._logger``: the logger named after the instance's class, unless the instance sets its own."""

    def __get__(self, instance: object, owner: type) -> logging.Logger:
        return logging.getLogger(owner.__name__)


class NumberCache:
    """State kept under ``(prefix, number)`` in a RequestCache until popped or timed out."""

    __slots__ = ("_prefix", "_number", "_managed_futures", "_timer", "__dict__", "__weakref__")

    _logger = _ClassLogger()

    def __init__(self, request_cache: RequestCache, prefix: str, number: int) -> None:
        if request_cache.has(prefix, number):
            raise RuntimeError(f"This number is already in use '{number}'")
        self._prefix = prefix
        self._number = number
        self._managed_futures: list[tuple[Future, Any]] | None = None
        self._timer: int | None = None

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def number(self) -> int:
        return self._number

    @property
    def managed_futures(self) -> list[tuple[Future, Any]]:
        """The live list of ``(future, on_timeout_value)`` pairs resolved when this cache times out."""
        managed = self._managed_futures
        if managed is None:
            managed = self._managed_futures = []
        return managed

    @property
    def timeout_delay(self) -> float:
        """Seconds until :meth:`on_timeout` (override in subclasses)."""
        return 10.0

    def register_future(self, future: Future, on_timeout: Any = None) -> None:
        """On timeout, ``future`` gets ``on_timeout`` as its exception (an Exception instance) or result."""
        self.managed_futures.append((future, on_timeout))

    def on_timeout(self) -> Awaitable[None] | None:
        """Called when this cache times out (after it was removed from its RequestCache); may be a coroutine
        function, whose coroutine the RequestCache then runs."""

    def __str__(self) -> str:
        return f"<{self.__class__.__name__} {self._prefix}-{self._number}>"


_NUMBER_CACHE_INIT = NumberCache.__init__
#: class -> the __init__ after RandomNumberCache's in its MRO is NumberCache's own (cache classes are few)
_PLAIN_NEXT_INIT: dict[type, bool] = {}


class RandomNumberCache(NumberCache, metaclass=ABCMeta):
    """A NumberCache whose number is a random unclaimed one in ``range(identifier_range)``."""

    #: Numbers are drawn from ``0 .. identifier_range - 1``; widen it (e.g. ``2**32``) per subclass.
    identifier_range: ClassVar[int] = 65536

    def __init__(self, request_cache: RequestCache, prefix: str) -> None:
        number = self.find_unclaimed_identifier(request_cache, prefix)
        cls = type(self)
        direct = _PLAIN_NEXT_INIT.get(cls)
        if direct is None:
            direct = _PLAIN_NEXT_INIT[cls] = super(RandomNumberCache, cls).__init__ is _NUMBER_CACHE_INIT
        if not direct:  # another __init__ sits between this one and NumberCache's in the MRO
            super().__init__(request_cache, prefix, number)
            return
        # NumberCache.__init__ without its "in use?" lookup: the number was just found unclaimed
        self._prefix = prefix
        self._number = number
        self._managed_futures = None
        self._timer = None

    @classmethod
    def find_unclaimed_identifier(cls, request_cache: RequestCache, prefix: str) -> int:
        """A number not in use under ``prefix``; RuntimeError if none can be found."""
        finder = getattr(request_cache, "_find_unclaimed", None)
        if finder is not None:
            return finder(prefix, cls.identifier_range)
        size = cls.identifier_range
        for _ in range(_MAX_DRAWS):
            number = int(random.random() * size)
            if not request_cache.has(prefix, number):
                return number
        raise RuntimeError(_identifiers.EXHAUSTED_MESSAGE)


class CacheWithName(Protocol):
    """A cache class that carries the prefix it files itself under as ``name``."""

    name: str


class NumberCacheWithName(NumberCache, CacheWithName, ABC):
    """NumberCache with a class attribute ``name``, passed by the subclass as the prefix."""


class RandomNumberCacheWithName(RandomNumberCache, CacheWithName, ABC):
    """RandomNumberCache with a class attribute ``name``, passed by the subclass as the prefix."""


def _cancel_future(future: Future) -> None:
    future.cancel()


class RequestCache(TaskManager):
    """Holds NumberCaches by ``(prefix, number)`` and times them out. Needs a current loop to be made."""

    #: Timer wheel resolution in seconds: timeouts fire at most about this late, never early.
    tick: ClassVar[float] = _timerwheel.DEFAULT_TICK

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self._buckets: dict[str, dict[int, NumberCache]] = {}
        self._waiters: dict[tuple[str, int], Future] = {}
        self._pools: dict[str, Any] = {}
        self._wheel = _timerwheel.TimerWheel(asyncio.get_event_loop(), self.tick)
        self._fire = self._on_timeout
        self._timeout_override: float | None = None
        self._timeout_filters: tuple[type, ...] | None = None
        self._timeout_tasks: set[asyncio.Future] = set()  # async on_timeout()s, kept alive until done

    def __len__(self) -> int:
        return sum(len(bucket) for bucket in self._buckets.values())

    def _wheel_for_now(self) -> Any:
        """The wheel, moved to the running loop if it is idle on another one (a cache built at import)."""
        wheel = self._wheel
        if not wheel:
            loop = asyncio._get_running_loop()  # noqa: SLF001 - the cheap, non-raising probe
            if loop is not None and loop is not wheel.loop:
                wheel = self._wheel = _timerwheel.TimerWheel(loop, self.tick)
        return wheel

    def add(self, cache: NumberCache) -> NumberCache | None:
        """Store ``cache`` and schedule its timeout; None if its identifier is taken or after shutdown."""
        assert isinstance(cache, NumberCache) and isinstance(cache._number, int) and \
            isinstance(cache._prefix, str), _describe_bad_cache(cache)
        prefix = cache._prefix
        number = cache._number
        delay = cache.timeout_delay
        assert isinstance(delay, (int, float)) and delay > 0, f"timeout_delay must be > 0, not {delay!r}"

        if self._shutdown:
            self._logger.warning("Dropping %s due to shutdown!", cache)
            if cache._managed_futures:
                for future, _ in cache._managed_futures:
                    future.cancel()
            return None

        bucket = self._buckets.get(prefix)
        if bucket is None:
            bucket = self._buckets[prefix] = {}
        elif number in bucket:
            self._logger.error("Attempted to add cache %s twice!", cache)
            return None
        bucket[number] = cache
        if self._pools:
            pool = self._pools.get(prefix)
            if pool is not None:
                pool.claim(number)

        if self._timeout_override is not None and (self._timeout_filters is None
                                                   or isinstance(cache, self._timeout_filters)):
            delay = self._timeout_override
        wheel = self._wheel
        if not wheel:
            wheel = self._wheel_for_now()
        cache._timer = wheel.call_later(delay, self._fire, cache)

        if self._waiters:
            waiter = self._waiters.pop((prefix, number), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(cache)
        return cache

    def has(self, prefix: str | type, number: int) -> bool:
        """Whether a cache is stored under ``(prefix, number)``; a class means its ``name``."""
        bucket = self._buckets.get(prefix if prefix.__class__ is str else _prefix_of(prefix))
        return bucket is not None and number in bucket

    def get(self, prefix: str | type, number: int) -> NumberCache | None:
        """The cache under ``(prefix, number)``, or None."""
        bucket = self._buckets.get(prefix if prefix.__class__ is str else _prefix_of(prefix))
        return None if bucket is None else bucket.get(number)

    def pop(self, prefix: str | type, number: int) -> NumberCache:
        """Remove and return the cache under ``(prefix, number)`` and cancel its timeout; KeyError if absent."""
        if not isinstance(prefix, str):
            prefix = _prefix_of(prefix)
        bucket = self._buckets.get(prefix)
        cache = None if bucket is None else bucket.pop(number, None)
        if cache is None:
            raise KeyError(f"{prefix}:{number}")
        if not bucket:
            del self._buckets[prefix]
            self._pools.pop(prefix, None)
        elif self._pools:
            pool = self._pools.get(prefix)
            if pool is not None:
                pool.release(number)
        if cache._timer is not None:
            self._wheel.cancel(cache._timer)
            cache._timer = None
        return cache

    def _forget(self, cache: NumberCache) -> bool:
        bucket = self._buckets.get(cache._prefix)
        if bucket is None or bucket.get(cache._number) is not cache:
            return False
        del bucket[cache._number]
        if not bucket:
            del self._buckets[cache._prefix]
            self._pools.pop(cache._prefix, None)
        elif self._pools:
            pool = self._pools.get(cache._prefix)
            if pool is not None:
                pool.release(cache._number)
        return True

    def _on_timeout(self, cache: NumberCache) -> None:
        """Timeout order: remove, ``on_timeout()``, then resolve the managed futures."""
        cache._timer = None
        if not self._forget(cache):
            return
        result = cache.on_timeout()
        if result is not None and inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._timeout_tasks.add(task)
            task.add_done_callback(self._timeout_tasks.discard)
        managed = cache._managed_futures
        if managed:
            for future, value in managed:
                if not future.done():
                    if isinstance(value, Exception):
                        future.set_exception(value)
                    else:
                        future.set_result(value)

    def wait_for(self, prefix: str | type, number: int, timeout: float | None = None) -> Future:
        """A Future for the cache ``(prefix, number)``: resolved now if it is stored, else when it is added.

        A later ``wait_for`` on the same key replaces this waiter. With ``timeout``, the Future is
        cancelled after that many seconds (also for the class form, unlike py-ipv8).
        """
        if not isinstance(prefix, str):
            prefix = _prefix_of(prefix)
        cache = self.get(prefix, number)
        if cache is not None:
            return succeed(cache)
        waiter: Future = Future()
        key = (prefix, number)
        self._waiters[key] = waiter
        self.register_anonymous_task("wait_for", waiter)
        if timeout is not None:
            wheel = self._wheel_for_now()
            timer = wheel.call_later(timeout, _cancel_future, waiter)
            waiter.add_done_callback(lambda _: wheel.cancel(timer))
        waiter.add_done_callback(lambda done: self._waiters.pop(key, None) if self._waiters.get(key) is done
                                 else None)
        return waiter

    @contextmanager
    def passthrough(self, cls_filter: type | None = None, *filters: type, timeout: float = 0.0) -> Iterator[None]:
        """While active, caches added (all, or those of the given classes) time out after ``timeout``."""
        self._timeout_override = timeout
        self._timeout_filters = None if cls_filter is None else (cls_filter, *filters)
        try:
            yield
        finally:
            self._timeout_override = None
            self._timeout_filters = None

    def is_pending_task_active(self, name: Hashable) -> bool:
        """Also true for a stored cache whose timeout is pending (py-ipv8 registers those as tasks)."""
        if isinstance(name, NumberCache):
            return name._timer is not None and name._timer in self._wheel
        return super().is_pending_task_active(name)

    def clear(self) -> list[Future]:
        """Cancel every task and timeout and forget every cache (managed futures are left alone)."""
        tasks = self.cancel_all_pending_tasks()
        self._wheel.clear()
        for bucket in self._buckets.values():
            for cache in bucket.values():
                cache._timer = None
        self._buckets = {}
        self._pools = {}
        return tasks

    async def shutdown(self) -> None:
        """Refuse new caches and tasks, cancel everything including every managed future, forget all."""
        self._shutdown = True
        tasks = self.cancel_all_pending_tasks()
        self._wheel.clear()
        buckets, self._buckets = self._buckets, {}
        self._pools = {}
        for bucket in buckets.values():
            for cache in bucket.values():
                cache._timer = None
                if cache._managed_futures:
                    for future, _ in cache._managed_futures:
                        future.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _find_unclaimed(self, prefix: str, size: int) -> int:
        """RandomNumberCache's pick: py-ipv8's random draws, then an O(1) pool once the prefix is crowded."""
        draw = random.random
        bucket = self._buckets.get(prefix)
        if not bucket:
            return int(draw() * size)
        pool = self._pools.get(prefix)
        if pool is None or pool.size != size:
            poolable = size <= _identifiers.MAX_POOL_SIZE and pool is None
            for _ in range(_QUICK_DRAWS if poolable else _MAX_DRAWS):
                number = int(draw() * size)
                if number not in bucket:
                    return number
            if not poolable:
                raise RuntimeError(_identifiers.EXHAUSTED_MESSAGE)
            pool = self._pools[prefix] = _identifiers.IdentifierPool(
                size, [n for n in bucket if n.__class__ is int and 0 <= n < size])
        return pool.pick(draw())


def _describe_bad_cache(cache: Any) -> str:
    if not isinstance(cache, NumberCache):
        return f"cache must be a NumberCache, not {type(cache).__name__}"
    if not isinstance(cache._number, int):
        return f"cache number must be an int, not {type(cache._number).__name__}"
    return f"cache prefix must be a str, not {type(cache._prefix).__name__}"


def _prefix_of(prefix: Any) -> str:
    """A cache class stands for its ``name``; anything else is used as given."""
    return getattr(prefix, "name") if isinstance(prefix, type) else prefix  # noqa: B009 - a cache class's name
