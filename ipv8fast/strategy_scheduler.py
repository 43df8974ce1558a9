"""The discovery-strategy scheduler (active twin) and :class:`StrategyTicker`, its asyncio driver.

The IPv8 service owns one :class:`StrategyScheduler` (its ``strategies`` list is ``IPv8.strategies``) and
one :class:`StrategyTicker` that runs it on the event loop between ``start()`` and ``stop()``.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable

from ._core.scheduler import MIN_PAUSE, Registration, StrategyScheduler, SupportsGetPeers, SupportsTakeStep
from .taskmanager import TaskManager

__all__ = ["MIN_PAUSE", "Registration", "StrategyScheduler", "StrategyTicker", "SupportsGetPeers",
           "SupportsTakeStep"]

#: Pause while ``ready()`` says no (py-ipv8 busy-loops on ``sleep(0)`` instead; deliberate fix).
NOT_READY_PAUSE = 0.05


class StrategyTicker(TaskManager):
    """Runs a scheduler on the current event loop: ``advance()``, sleep the pause it returns, repeat.

    ``ready`` (e.g. ``endpoint.is_open``) is asked before every pass; while it says no, no strategy runs.
    Like every TaskManager, construct it with a current event loop.
    """

    TASK_NAME = "strategy ticker"

    def __init__(self, scheduler: StrategyScheduler, ready: Callable[[], bool] | None = None) -> None:
        super().__init__()
        self.scheduler = scheduler
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
            self.scheduler.reset()
        except RuntimeError:  # stop() called from inside a strategy: that pass ends by itself
            pass

    async def _run(self) -> None:
        scheduler = self.scheduler
        sleep = asyncio.sleep
        while True:
            ready = self.ready
            if ready is not None and not scheduler.in_pass and not ready():
                await sleep(max(min(scheduler.walk_interval, NOT_READY_PAUSE), 0.001))
                continue
            await sleep(scheduler.advance())
