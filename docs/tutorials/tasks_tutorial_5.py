"""TaskManager: an interval task (every 0.1 s) and a delayed task (once, after 0.5 s) with positional
arguments; the interval task cancels itself once twenty values were collected."""
import asyncio

from ipv8fast import TaskManager

COMPLETED: list[int] = []


async def main() -> None:
    task_manager = TaskManager()

    async def execute_me(value: int) -> None:
        COMPLETED.append(value)
        if len(COMPLETED) == 20:
            task_manager.cancel_pending_task("execute_me")

    task_manager.register_task("execute_me", execute_me, 1, interval=0.1)
    task_manager.register_task("execute_me_once", execute_me, 2, delay=0.5)
    while task_manager.is_pending_task_active("execute_me"):
        await asyncio.sleep(0.1)
    await task_manager.shutdown_task_manager()
    print(COMPLETED)


asyncio.run(main())
