"""Named asyncio tasks with delays, intervals and an orderly shutdown (spec api.md §2, ``ipv8.taskmanager``).

A :class:`TaskManager` keeps a registry of the Futures and Tasks it was given or created, by name. A task
that fails with an exception its registration did not ``ignore`` is reported to the loop's exception
handler, exactly like py-ipv8 (test suites turn that report into a failure).
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from asyncio import CancelledError, Future
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from contextlib import suppress
from functools import wraps
from typing import Any, TypeVar
from weakref import WeakValueDictionary

from .util import coroutine, succeed

__all__ = ["TaskManager", "task"]

MAX_TASK_AGE = 600

_F = TypeVar("_F", bound=Callable[..., Coroutine[Any, Any, Any]])


async def interval_runner(delay: float, interval: float, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
    """Sleep ``delay``, then forever: ``await fn(*args)`` and sleep ``interval``."""
    await asyncio.sleep(delay)
    while True:
        await fn(*args)
        await asyncio.sleep(interval)


async def delay_runner(delay: float, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """Sleep ``delay``, then ``await fn(*args)``."""
    await asyncio.sleep(delay)
    return await fn(*args)


def _name_future(future: Future, name: str) -> None:
    """Give a plain Future the ``get_name``/``set_name`` pair that Tasks have."""
    future._ipv8fast_name = name  # type: ignore[attr-defined]  # noqa: SLF001

    def set_name(value: object) -> None:
        future._ipv8fast_name = str(value)  # type: ignore[attr-defined]  # noqa: SLF001

    def get_name() -> str:
        return future._ipv8fast_name  # type: ignore[attr-defined]  # noqa: SLF001

    future.set_name = set_name  # type: ignore[attr-defined]
    future.get_name = get_name  # type: ignore[attr-defined]


class TaskManager:
    """Registry of named tasks; subclasses (RequestCache, Overlay, Community) share one per instance.

    The constructor needs a *current* event loop, not a running one.
    """

    def __init__(self) -> None:
        self._pending_tasks: WeakValueDictionary[Hashable, Future] = WeakValueDictionary()
        self._shutdown_tasks: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []
        self._task_lock = threading.RLock()
        self._shutdown = False
        self._shutdown_done = False
        self._counter = 0
        self._logger = logging.getLogger(self.__class__.__name__)
        self._checker = self.register_task("_check_tasks", self._check_tasks,
                                           interval=MAX_TASK_AGE, delay=MAX_TASK_AGE * 1.5)

    def _check_tasks(self) -> None:
        now = time.time()
        for name, registered in list(self._pending_tasks.items()):
            if (not getattr(registered, "interval", None)
                    and now - getattr(registered, "start_time", now) > MAX_TASK_AGE):
                self._logger.warning("Non-interval task '%s' has been running for %.2f!",
                                     name, now - registered.start_time)  # type: ignore[attr-defined]

    def replace_task(self, name: Hashable, *args: Any, **kwargs: Any) -> Future:
        """Cancel task ``name``; once it has finished, register ``register_task(name, *args, **kwargs)``.

        Returns a Future resolving to the new task (or failing with the registration error).
        """
        replacement: Future = Future()

        def register(_old: Future) -> None:
            if replacement.done():
                return
            try:
                replacement.set_result(self.register_task(name, *args, **kwargs))
            except Exception as exc:  # noqa: BLE001 - handed to whoever awaits the replacement
                replacement.set_exception(exc)

        self.cancel_pending_task(name).add_done_callback(register)
        return replacement

    def register_task(self, name: Hashable, task: Any, *args: Any, delay: float | None = None,
                      interval: float | None = None, ignore: tuple[type[BaseException], ...] = ()) -> Future:
        """Register ``task`` (a Task, Future or callable) under ``name`` and return the Future/Task.

        Callables run on the loop: once on the next iteration, once after ``delay``, or every
        ``interval`` seconds (first after ``delay``, which defaults to ``interval``).
        """
        is_future = asyncio.isfuture(task)
        if not is_future and not callable(task):
            raise TypeError(f"Register_task takes a Task, Future or callable, not {type(task).__name__}: {task!r}")
        if (interval or delay) and is_future:
            raise ValueError(f"Cannot use delay or interval with an existing Task or Future: {task!r}")
        if not isinstance(ignore, tuple) or not all(isinstance(cls, type) and issubclass(cls, Exception)
                                                   for cls in ignore):
            raise ValueError(f"ignore should be a tuple of Exception subclasses, not {ignore!r}")

        with self._task_lock:
            if self._shutdown:
                self._logger.warning("Not adding task %s due to shutdown!", name)
                if is_future and not task.done():
                    task.cancel()
                return succeed(None)

            existing = self._pending_tasks.get(name)
            if existing is not None and not existing.done():
                raise RuntimeError(f"Task already exists: '{name}'")

            if not is_future:
                loop = asyncio.get_event_loop()  # before making a coroutine that could go unawaited
                func = task if inspect.iscoroutinefunction(task) else coroutine(task)
                if interval:
                    task = loop.create_task(interval_runner(interval if delay is None else delay,
                                                            interval, func, *args))
                elif delay:
                    task = loop.create_task(delay_runner(delay, func, *args))
                else:
                    task = loop.create_task(func(*args))

            full_name = f"{self.__class__.__name__}:{name}"
            if hasattr(task, "set_name"):
                task.set_name(full_name)
            else:
                _name_future(task, full_name)
            task.start_time = time.time()
            task.interval = interval
            self._pending_tasks[name] = task
            task.add_done_callback(self._make_done_callback(name, ignore))
            return task

    def _make_done_callback(self, name: Hashable, ignore: tuple[type[BaseException], ...]) -> Callable[[Future], None]:
        def done_cb(future: Future) -> None:
            with self._task_lock:
                # A task registered under the same name after this one was cancelled stays tracked.
                if self._pending_tasks.get(name) is future:
                    del self._pending_tasks[name]
            try:
                exception = future.exception()
            except CancelledError:
                return
            if exception is not None:
                if isinstance(exception, ignore):
                    self._logger.error("Task resulted in error", exc_info=exception)
                else:
                    raise exception

        return done_cb

    def register_anonymous_task(self, basename: str, task: Any, *args: Any, **kwargs: Any) -> Future:
        """Register ``task`` under the name ``f"{basename} {n}"`` with a per-manager counter ``n``."""
        self._counter += 1
        return self.register_task(f"{basename} {self._counter}", task, *args, **kwargs)

    def register_executor_task(self, name: Hashable, func: Callable[..., Any], *args: Any,
                               executor: Any = None, anon: bool = False, **kwargs: Any) -> Future:
        """Run the plain function ``func(*args)`` in ``executor`` (default: the loop's) as a registered task."""
        if not callable(func) or inspect.iscoroutinefunction(func):
            raise TypeError(f"Register_executor_task takes a plain function, not {func!r}")
        future = asyncio.get_running_loop().run_in_executor(executor, func, *args, **kwargs)
        if anon:
            return self.register_anonymous_task(str(name), future)
        return self.register_task(name, future)

    def register_shutdown_task(self, task: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Call (or await) ``task(*args, **kwargs)`` at the end of :meth:`shutdown_task_manager`."""
        self._shutdown_tasks.append((task, args, kwargs))

    def cancel_pending_task(self, name: Hashable) -> Future:
        """Cancel the task ``name`` and return it (a resolved ``Future(None)`` if it is unknown)."""
        with self._task_lock:
            registered = self._pending_tasks.get(name)
            if registered is None:
                return succeed(None)
            if not registered.done():
                registered.cancel()
                self._pending_tasks.pop(name, None)
            return registered

    def cancel_all_pending_tasks(self) -> list[Future]:
        """Cancel every registered task, the internal checker included, and return them."""
        with self._task_lock:
            return [self.cancel_pending_task(name) for name in list(self._pending_tasks.keys())]

    def is_pending_task_active(self, name: Hashable) -> bool:
        """Whether a task ``name`` is registered and not done."""
        registered = self._pending_tasks.get(name)
        return registered is not None and not registered.done()

    def get_task(self, name: Hashable) -> Future | None:
        """The task registered as ``name``, if any."""
        return self._pending_tasks.get(name)

    def get_tasks(self) -> list[Future]:
        """All registered tasks in registration order, without the internal checker."""
        with self._task_lock:
            return [registered for registered in self._pending_tasks.values() if registered is not self._checker]

    def get_anonymous_tasks(self, base_name: str) -> list[Future]:
        """Registered tasks whose name is a string starting with ``base_name``."""
        with self._task_lock:
            return [registered for name, registered in self._pending_tasks.items()
                    if isinstance(name, str) and name.startswith(base_name)]

    async def wait_for_tasks(self) -> None:
        """Wait for the tasks registered now (not those added meanwhile); their errors are not raised."""
        tasks = self.get_tasks()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def shutdown_task_manager(self) -> None:
        """Cancel and await every task, then run the shutdown tasks in registration order (idempotent).

        Unlike py-ipv8, a preceding ``RequestCache.shutdown()`` does not make this skip the shutdown tasks.
        """
        with self._task_lock:
            if self._shutdown_done:
                return
            self._shutdown = self._shutdown_done = True
            tasks = self.cancel_all_pending_tasks()
        if tasks:
            with suppress(CancelledError):
                await asyncio.gather(*tasks, return_exceptions=True)
        await self._run_shutdown_tasks()

    async def _run_shutdown_tasks(self) -> None:
        shutdown_tasks, self._shutdown_tasks = self._shutdown_tasks, []
        for func, args, kwargs in shutdown_tasks:
            if inspect.iscoroutinefunction(func):
                await func(*args, **kwargs)
            else:
                func(*args, **kwargs)


def task(func: _F) -> _F:
    """Make an ``async def`` method of a TaskManager register each call as an anonymous task.

    The call returns the Task; its exceptions are logged (and still raised to whoever awaits it).
    """
    if not inspect.iscoroutinefunction(func):
        raise TypeError(f"The task decorator needs a coroutine function, not {func!r}")

    @wraps(func)
    def wrapper(self: TaskManager, *args: Any, **kwargs: Any) -> Future:
        return self.register_anonymous_task(func.__name__, asyncio.ensure_future(func(self, *args, **kwargs)),
                                            ignore=(Exception,))

    return wrapper  # type: ignore[return-value]
