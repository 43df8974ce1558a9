"""ipv8fast.util (spec api.md §1); IPV8FAST_TEST_REFERENCE=1 runs it against py-ipv8."""
from __future__ import annotations

import asyncio
import os
import signal
import struct

import pytest

from _loop import LoopHarness, harness, impl  # noqa: F401 - harness is a fixture

util = impl("util")


def test_constants_and_bytes() -> None:
    assert util.maximum_integer == 2147483647
    assert util.int2byte(0) == b"\x00" and util.int2byte(255) == b"\xff"
    with pytest.raises(struct.error):
        util.int2byte(256)
    assert util.byte2int(b"\x07\x08") == 7


def test_strip_sha1_padding() -> None:
    padded = b"SHA-1" + b"\x00" * 7 + b"key"
    assert util.strip_sha1_padding(padded) == b"key"
    assert util.strip_sha1_padding(b"key") == b"key"
    assert util.strip_sha1_padding(b"SHA-1\x00\x00") == b"SHA-1\x00\x00"


def test_succeed_and_fail_need_only_a_current_loop(harness: LoopHarness) -> None:
    done = util.succeed(3)
    assert done.done() and done.result() == 3
    failed = util.fail(ValueError("x"))
    with pytest.raises(ValueError):
        failed.result()
    from_class = util.fail(KeyError)
    with pytest.raises(KeyError):
        from_class.result()


def test_maybe_coroutine_and_coroutine(harness: LoopHarness) -> None:
    async def main() -> None:
        async def async_fn(x: int, y: int = 0) -> int:
            return x + y

        assert await util.maybe_coroutine(async_fn, 1, y=2) == 3
        assert await util.maybe_coroutine(lambda x: x * 2, 4) == 8
        future = asyncio.Future()
        future.set_result("f")
        assert util.maybe_coroutine(lambda: future) is future
        calls = []
        pending = util.maybe_coroutine(calls.append, 1)
        assert calls == [1]  # called now, not when awaited
        assert await pending is None
        wrapped = util.coroutine(lambda a, b=1: a - b)
        assert asyncio.iscoroutinefunction(wrapped)
        assert await wrapped(5, b=2) == 3

    harness.run(main())


def test_create_event_with_signals(harness: LoopHarness) -> None:
    previous = signal.getsignal(signal.SIGUSR1)
    try:
        async def main() -> None:
            event = util.create_event_with_signals(signal.SIGUSR1)
            assert not event.is_set()
            waiter = asyncio.ensure_future(event.wait())
            await asyncio.sleep(0)
            asyncio.get_running_loop().call_later(0.01, os.kill, os.getpid(), signal.SIGUSR1)
            await asyncio.wait_for(waiter, 5)
            assert event.is_set()

        harness.run(main())
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_run_forever_returns_a_coroutine(harness: LoopHarness) -> None:
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        async def main() -> None:
            waiting = util.run_forever()
            assert asyncio.iscoroutine(waiting)
            asyncio.get_running_loop().call_later(0.01, os.kill, os.getpid(), signal.SIGTERM)
            await asyncio.wait_for(waiting, 5)

        harness.run(main())
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
