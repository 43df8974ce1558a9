"""A fresh, current event loop per test that records what reaches its exception handler."""
from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import Coroutine, Iterator
from typing import Any

#: Set IPV8FAST_TEST_REFERENCE=1 to run the behaviour tests against the installed py-ipv8 instead.
REFERENCE = os.environ.get("IPV8FAST_TEST_REFERENCE", "") not in ("", "0")


def impl(module: str) -> Any:
    """``ipv8fast.<module>``, or ``ipv8.<module>`` when testing the reference."""
    return importlib.import_module(("ipv8." if REFERENCE else "ipv8fast.") + module)


class LoopHarness:
    """Owns a loop set as the current one; ``errors`` collects exception-handler contexts."""

    def __init__(self, uvloop: bool = False) -> None:
        if uvloop:
            import uvloop as _uvloop

            self.loop = _uvloop.new_event_loop()
        else:
            self.loop = asyncio.new_event_loop()
        self.errors: list[dict[str, Any]] = []
        self.loop.set_exception_handler(lambda _loop, context: self.errors.append(context))
        asyncio.set_event_loop(self.loop)

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coro, timeout))

    def close(self) -> None:
        try:
            pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
            for t in pending:
                t.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()
            asyncio.set_event_loop(None)


import pytest  # noqa: E402


@pytest.fixture
def harness() -> Iterator[LoopHarness]:
    """A :class:`LoopHarness`; import this fixture into a test module to use it."""
    h = LoopHarness()
    yield h
    h.close()
