"""The discovery-strategy dispatcher (active twin) and :class:`StrategyTicker`, its asyncio driver.

The IPv8 service owns one :class:`StrategyDispatcher` (its ``strategies`` list is ``IPv8.strategies``) and
one :class:`StrategyTicker` that runs it on the event loop between ``start()`` and ``stop()``.
"""
from __future__ import annotations

import asyncio
from typing import Callable

from . import _twins
from .taskmanager import TaskManager

_impl = _twins.load("dispatch")

MIN_PAUSE: float = _impl.MIN_PAUSE
Registration = _impl.Registration
StrategyDispatcher = _impl.StrategyDispatcher
SupportsGetPeers = _impl.SupportsGetPeers
SupportsTakeStep = _impl.SupportsTakeStep

__all__ = ["MIN_PAUSE", "Registration", "StrategyDispatcher", "StrategyTicker", "SupportsGetPeers",
           "SupportsTakeStep"]

#: Pause while ``ready()`` says no (py-ipv8 busy-loops on ``sleep(0)`` instead; deliberate fix).
NOT_READY_PAUSE = 0.05


class StrategyTicker(TaskManager):
    """Runs a dispatcher on the current event loop: ``advance()``, sleep the pause it returns, repeat.

    ``ready`` (e.g. ``endpoint.is_open``) is asked before every pass; while it says no, no strategy runs.
    Like every TaskManager, construct it with a current event loop.
    """

    TASK_NAME = "strategy ticker"

    def __init__(self, dispatcher: StrategyDispatcher, ready: Callable[[], bool] | None = None) -> None:
        super().__init__()
        self.dispatcher = dispatcher
        self.ready = ready

    @property
    def running(self) -> bool:
        return self.is_pending_task_active(self.TASK_NAME)

    def start(self) -> asyncio.Future:
        """Start ticking (the first pass runs on the next loop iteration); returns the task."""
        return self.register_task(self.TASK_NAME, self._run)

    async def stop(self) -> None:
        """Stop ticking and wait until the ticker task is gone; a pass in progress is abandoned."""
        task = self.get_task(self.TASK_NAME)
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._reset()

    async def shutdown_task_manager(self) -> None:
        await super().shutdown_task_manager()
        self._reset()

    def _reset(self) -> None:
        try:
            self.dispatcher.reset()
        except RuntimeError:  # stop() called from inside a strategy: that pass ends by itself
            pass

    async def _run(self) -> None:
        dispatcher = self.dispatcher
        sleep = asyncio.sleep
        while True:
            ready = self.ready
            if ready is not None and not dispatcher.in_pass and not ready():
                await sleep(max(min(dispatcher.walk_interval, NOT_READY_PAUSE), 0.001))
                continue
            await sleep(dispatcher.advance())
