"""Request caches: numbered state that times out (spec api.md §5, ``ipv8.requestcache``).

Same API and semantics as py-ipv8, but a pending cache costs no asyncio Task: every RequestCache keeps its
caches in one ``CacheStore`` (``_core.timerwheel``, compiled), a hierarchical timer wheel driven by a single
loop timer whose entries are the caches' timeouts; RandomNumberCache draws its numbers from an O(1)
identifier pool once a prefix fills up. The classes here are thin: construction, ``add``, ``pop``, ``get``,
``has`` and the timeouts run in the store and the compiled cache base, with no Python frame of their own.

Deliberate deviations from py-ipv8 3.2.1:
- ``wait_for(Cls, n, timeout=...)`` honours ``timeout`` (py-ipv8 drops it for the class form);
- ``shutdown()`` does not stop a later ``shutdown_task_manager()`` from running its shutdown tasks;
- cache timeouts are wheel entries, not tasks: ``get_tasks()``/``clear()`` do not list them;
- RandomNumberCache only raises "Could not find a number that isn't in use" when its range is full.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from abc import ABC, ABCMeta
from asyncio import Future
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from typing import ClassVar, Protocol

from ._core.timerwheel import DEFAULT_TICK, CacheBase, CacheStore, RandomCacheBase, prefix_of
from .taskmanager import TaskManager
from .util import succeed

__all__ = ["NumberCache", "RandomNumberCache", "CacheWithName", "NumberCacheWithName",
           "RandomNumberCacheWithName", "RequestCache"]


class _ClassLogger:
    """``self._logger``: the logger named after the instance's class, unless the instance sets its own."""

    def __get__(self, instance: object, owner: type) -> logging.Logger:
        return logging.getLogger(owner.__name__)


class NumberCache(CacheBase):
    """State kept under ``(prefix, number)`` in a RequestCache until popped or timed out.

    Everything is inherited from the store's compiled base (``__init__(request_cache, prefix, number)``,
    ``prefix``, ``number``, ``timeout_delay``, ``on_timeout``, ``register_future``, ``managed_futures``,
    ``__str__``): a subclass without code of its own runs no Python frame when it is made.
    """

    _logger = _ClassLogger()


class RandomNumberCache(RandomCacheBase, NumberCache, metaclass=ABCMeta):
    """A NumberCache whose number is a random unclaimed one in ``range(identifier_range)``.

    ``__init__(request_cache, prefix)`` and the classmethod ``find_unclaimed_identifier(request_cache,
    prefix)`` come from the compiled base; numbers are drawn from ``0 .. identifier_range - 1``.
    """

    #: Numbers are drawn from ``0 .. identifier_range - 1``; widen it (e.g. ``2**32``) per subclass.
    identifier_range: ClassVar[int] = 65536


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
    """Holds NumberCaches by ``(prefix, number)`` and times them out. Needs a current loop to be made.

    The caches, their timeouts and the number pools live in one compiled ``CacheStore`` (``_store``, also
    the timer wheel ``_wheel``); ``add``, ``pop``, ``get`` and ``has`` are the store's own methods, bound
    on the instance unless a subclass overrides them.
    """

    #: Timer wheel resolution in seconds: timeouts fire at most about this late, never early.
    tick: ClassVar[float] = DEFAULT_TICK

    def __init__(self) -> None:
        self._store = store = CacheStore(asyncio.get_event_loop(), self.tick)
        self._wheel = store
        super().__init__()
        self.lock = threading.Lock()
        self._waiters = store.waiters
        self._timeout_tasks = store.timeout_tasks
        store.logger = self._logger
        cls = type(self)
        if cls.add is RequestCache.add:
            self.add = store.add  # type: ignore[method-assign,assignment]
        if cls.pop is RequestCache.pop:
            self.pop = store.pop  # type: ignore[method-assign,assignment]
        if cls.get is RequestCache.get:
            self.get = store.get  # type: ignore[method-assign,assignment]
        if cls.has is RequestCache.has:
            self.has = store.has  # type: ignore[method-assign]

    @property
    def _shutdown(self) -> bool:
        """TaskManager's shutdown flag is the store's: after it, ``add`` drops caches."""
        return self._store.closed

    @_shutdown.setter
    def _shutdown(self, value: bool) -> None:
        self._store.closed = value

    def __len__(self) -> int:
        return self._store.pending()

    def add(self, cache: NumberCache) -> NumberCache | None:
        """Store ``cache`` and schedule its timeout; None if its identifier is taken or after shutdown."""
        return self._store.add(cache)  # type: ignore[return-value]

    def has(self, prefix: str | type, number: int) -> bool:
        """Whether a cache is stored under ``(prefix, number)``; a class means its ``name``."""
        return self._store.has(prefix, number)

    def get(self, prefix: str | type, number: int) -> NumberCache | None:
        """The cache under ``(prefix, number)``, or None."""
        return self._store.get(prefix, number)  # type: ignore[return-value]

    def pop(self, prefix: str | type, number: int) -> NumberCache:
        """Remove and return the cache under ``(prefix, number)`` and cancel its timeout; KeyError if absent."""
        return self._store.pop(prefix, number)  # type: ignore[return-value]

    def wait_for(self, prefix: str | type, number: int, timeout: float | None = None) -> Future:
        """A Future for the cache ``(prefix, number)``: resolved now if it is stored, else when it is added.

        A later ``wait_for`` on the same key replaces this waiter. With ``timeout``, the Future is
        cancelled after that many seconds (also for the class form, unlike py-ipv8).
        """
        if not isinstance(prefix, str):
            prefix = prefix_of(prefix)
        cache = self._store.get(prefix, number)
        if cache is not None:
            return succeed(cache)
        waiter: Future = Future()
        key = (prefix, number)
        self._waiters[key] = waiter
        self.register_anonymous_task("wait_for", waiter)
        if timeout is not None:
            wheel = self._store
            wheel.follow_running_loop()
            timer = wheel.call_later(timeout, _cancel_future, waiter)
            waiter.add_done_callback(lambda _: wheel.cancel(timer))
        waiter.add_done_callback(lambda done: self._waiters.pop(key, None) if self._waiters.get(key) is done
                                 else None)
        return waiter

    @contextmanager
    def passthrough(self, cls_filter: type | None = None, *filters: type, timeout: float = 0.0) -> Iterator[None]:
        """While active, caches added (all, or those of the given classes) time out after ``timeout``."""
        store = self._store
        store.override = timeout
        store.filters = None if cls_filter is None else (cls_filter, *filters)
        try:
            yield
        finally:
            store.override = None
            store.filters = None

    def is_pending_task_active(self, name: Hashable) -> bool:
        """Also true for a stored cache whose timeout is pending (py-ipv8 registers those as tasks)."""
        if isinstance(name, CacheBase):
            return self._store.is_pending(name)
        return super().is_pending_task_active(name)

    def clear(self) -> list[Future]:
        """Cancel every task and timeout and forget every cache (managed futures are left alone)."""
        tasks = self.cancel_all_pending_tasks()
        self._store.drop_all(False)
        return tasks

    async def shutdown(self) -> None:
        """Refuse new caches and tasks, cancel everything including every managed future, forget all."""
        self._shutdown = True
        tasks = self.cancel_all_pending_tasks()
        self._store.drop_all(True)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
