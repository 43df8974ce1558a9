"""TaskManager: register a named task, cancel it before it runs, register the name again, wait, shut down."""
import asyncio

from ipv8.taskmanager import TaskManager

COMPLETED: list[int] = []


async def execute_me(value: int) -> None:
    await asyncio.sleep(0.2)
    COMPLETED.append(value)


async def main() -> None:
    task_manager = TaskManager()
    task_manager.register_task("execute_me", execute_me, 1)
    task_manager.cancel_pending_task("execute_me")
    task_manager.register_task("execute_me", execute_me, 2)
    await task_manager.wait_for_tasks()
    await task_manager.shutdown_task_manager()
    print(COMPLETED)


asyncio.run(main())
