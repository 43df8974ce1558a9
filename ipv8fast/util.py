"""Small helpers with the names and behaviour of ``ipv8.util`` (spec api.md §1)."""
from __future__ import annotations

import asyncio
import inspect
import signal
import struct
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

__all__ = ["maximum_integer", "int2byte", "byte2int", "succeed", "fail", "maybe_coroutine", "coroutine",
           "strip_sha1_padding", "create_event_with_signals", "run_forever"]

maximum_integer: int = 2147483647

int2byte: Callable[[int], bytes] = struct.Struct(">B").pack

_SHA1_PADDING = b"SHA-1" + b"\x00" * 7


def byte2int(data: bytes) -> int:
    """The first byte of ``data`` as an int."""
    return data[0]


def succeed(result: Any) -> asyncio.Future:
    """A Future of the current loop, already resolved with ``result``."""
    future: asyncio.Future = asyncio.Future()
    future.set_result(result)
    return future


def fail(exception: type[BaseException] | BaseException) -> asyncio.Future:
    """A Future of the current loop, already failed with ``exception`` (a class or an instance)."""
    future: asyncio.Future = asyncio.Future()
    future.set_exception(exception)
    return future


async def _value(value: Any) -> Any:
    return value


def maybe_coroutine(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Awaitable[Any]:
    """Call ``func`` now and return something awaitable: its coroutine or Future, or a coroutine yielding
    its plain return value."""
    value = func(*args, **kwargs)
    if inspect.iscoroutine(value) or isinstance(value, asyncio.Future):
        return value
    return _value(value)


def coroutine(func: Callable[..., Any]) -> Callable[..., Coroutine[Any, Any, Any]]:
    """Wrap a synchronous callable into an ``async def`` returning its result."""
    async def call_async(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return call_async


def strip_sha1_padding(data: bytes) -> bytes:
    """Drop the 12-byte ``b"SHA-1" + 7 * b"\\x00"`` prefix if ``data`` starts with it."""
    return data[12:] if data.startswith(_SHA1_PADDING) else data


def create_event_with_signals(*signals: int) -> asyncio.Event:
    """An Event that is set when one of ``signals`` (default SIGINT and SIGTERM) arrives."""
    event = asyncio.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        # A Python-level handler does not wake a loop blocked in select(): go through its self-pipe.
        loop = getattr(event, "_loop", None)
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)
        else:
            event.set()

    for signum in signals or (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    return event


def run_forever() -> Coroutine[Any, Any, Any]:
    """Wait until SIGINT or SIGTERM: ``await run_forever()``."""
    return create_event_with_signals().wait()
