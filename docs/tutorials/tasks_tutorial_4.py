"""TaskManager: twenty anonymous tasks run concurrently (about 0.5 s in total, not 10 s)."""
import asyncio
import time

from ipv8fast import TaskManager

COMPLETED: list[int] = []


async def execute_me_too(value: int) -> None:
    await asyncio.sleep(0.5)
    COMPLETED.append(value)


async def main() -> None:
    task_manager = TaskManager()
    started = time.monotonic()
    for i in range(20):
        task_manager.register_anonymous_task("execute_me_too", execute_me_too, i)
    await task_manager.wait_for_tasks()
    elapsed = time.monotonic() - started
    await task_manager.shutdown_task_manager()
    print(sorted(COMPLETED))
    print("concurrent:", elapsed < 5.0)


asyncio.run(main())
