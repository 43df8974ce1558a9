"""TaskManager and the ``task`` decorator (spec api.md §2)."""
from __future__ import annotations

import asyncio
import time

import pytest

from _loop import REFERENCE, LoopHarness, harness, impl  # noqa: F401 - harness is a fixture

tm = impl("taskmanager")
TaskManager = tm.TaskManager
task = tm.task

deviation = pytest.mark.skipif(REFERENCE, reason="deliberate deviation from py-ipv8")


def test_constructor_needs_only_a_current_loop(harness: LoopHarness) -> None:
    manager = TaskManager()  # the harness loop is current but not running
    assert manager._checker.get_name() == "TaskManager:_check_tasks"
    assert manager.get_tasks() == []
    harness.run(manager.shutdown_task_manager())


def test_constructor_without_current_loop_raises() -> None:
    asyncio.set_event_loop(None)
    with pytest.raises(RuntimeError):
        TaskManager()


def test_sync_function_runs_on_next_iteration_with_name(harness: LoopHarness) -> None:
    async def main() -> None:
        manager = TaskManager()
        calls = []
        registered = manager.register_task("a", calls.append, 1)
        assert isinstance(registered, asyncio.Task)
        assert registered.get_name() == "TaskManager:a"
        assert registered.interval is None and registered.start_time <= time.time()
        assert calls == []
        await asyncio.sleep(0)
        assert calls == [1]
        await asyncio.sleep(0)  # the registry forgets it in the task's done-callback
        assert manager.get_task("a") is None
        await manager.shutdown_task_manager()

    harness.run(main())


def test_registration_errors(harness: LoopHarness) -> None:
    async def main() -> None:
        manager = TaskManager()

        async def coro_fn() -> None:
            await asyncio.sleep(10)

        with pytest.raises(TypeError):
            manager.register_task("x", 42)
        coro = coro_fn()
        with pytest.raises(TypeError):
            manager.register_task("x", coro)
        coro.close()
        with pytest.raises(ValueError):
            manager.register_task("x", asyncio.Future(), delay=1)
        with pytest.raises(ValueError):
            manager.register_task("x", asyncio.Future(), interval=1)
        with pytest.raises(ValueError):
            manager.register_task("x", coro_fn, ignore=[ValueError])
        with pytest.raises(ValueError):
            manager.register_task("x", coro_fn, ignore=(int,))
        manager.register_task("x", coro_fn)
        with pytest.raises(RuntimeError, match="Task already exists: 'x'"):
            manager.register_task("x", coro_fn)
        await manager.shutdown_task_manager()

    harness.run(main())


def test_finished_name_can_be_reused(harness: LoopHarness) -> None:
    async def main() -> None:
        manager = TaskManager()
        done = asyncio.Future()
        done.set_result(1)
        assert manager.register_task("a", done) is done
        assert manager.register_task("a", asyncio.Future()) is not done
        await manager.shutdown_task_manager()

    harness.run(main())


def test_future_is_returned_as_is_and_named(harness: LoopHarness) -> None:
    async def main() -> None:
        manager = TaskManager()
        future = asyncio.Future()
        assert manager.register_task("f", future) is future
        assert future.get_name() == "TaskManager:f"
        future.set_name("other")
        assert future.get_name() == "other"
        assert manager.is_pending_task_active("f")
        future.set_result(3)
        await asyncio.sleep(0)
        assert not manager.is_pending_task_active("f")
        assert manager.get_task("f") is None
        await manager.shutdown_task_manager()

    harness.run(main())


def test_delay_and_interval(harness: LoopHarness) -> None:
    async def main() -> None:
        manager = TaskManager()
        loop = asyncio.get_running_loop()
        times: dict[str, list[float]] = {"d": [], "i": [], "i0": []}
        start = loop.time()

        manager.register_task("d", lambda: times["d"].append(loop.time() - start), delay=0.05)
        manager.register_task("i", lambda: times["i"].append(loop.time() - start), interval=0.03)
        manager.register_task("i0", lambda: times["i0"].append(loop.time() - start), interval=0.03, delay=0)
        await asyncio.sleep(0.01)
        assert len(times["i0"]) == 1 and times["d"] == [] and times["i"] == []
        await asyncio.sleep(0.1)
        assert len(times["d"]) == 1 and times["d"][0] >= 0.05
        assert times["i"][0] >= 0.03  # delay defaults to the interval
        assert len(times["i"]) >= 2
        assert manager.get_task("i").interval == 0.03
        await manager.shutdown_task_manager()

    harness.run(main())


def test_task_arguments_are_passed(harness: LoopHarness) -> None:
    async def main() -> None:
        manager = TaskManager()
        seen = []

        async def fn(a: int, b: int) -> None:
            seen.append((a, b))

        manager.register_task("a", fn, 1, 2)
        manager.register_task("b", fn, 3, 4, delay=0.01)
        await manager.wait_for_tasks()
        assert sorted(seen) == [(1, 2), (3, 4)]
        await manager.shutdown_task_manager()

    harness.run(main())


def test_cancel_pending_task(harness: LoopHarness) -> None:
    async def main() -> None:
        manager = TaskManager()
        unknown = manager.cancel_pending_task("nope")
        assert unknown.done() and unknown.result() is None
        registered = manager.register_task("a", asyncio.sleep, 10)
        assert manager.cancel_pending_task("a") is registered
        assert manager.get_task("a") is None
        await asyncio.wait([registered], timeout=5)  # (Task.cancelling(), 3.11+, would tell before it ends)
        assert registered.cancelled()
        finished = asyncio.Future()
        finished.set_result(None)
        manager.register_task("b", finished)
        assert manager.cancel_pending_task("b") is finished
        await manager.shutdown_task_manager()

    harness.run(main())


@deviation
def test_cancel_then_reregister_keeps_new_task_tracked(harness: LoopHarness) -> None:
    async def main() -> None:
        manager = TaskManager()
        manager.register_task("x", asyncio.sleep, 10)
        manager.cancel_pending_task("x")
        new = manager.register_task("x", asyncio.sleep, 10)
        await asyncio.sleep(0.01)
        assert manager.is_pending_task_active("x")
        await manager.shutdown_task_manager()
        assert new.cancelled()

    harness.run(main())


def test_cancel_all_includes_checker_get_tasks_excludes_it(harness: LoopHarness) -> None:
    async def main() -> None:
        manager = TaskManager()
        first = manager.register_task("a", asyncio.sleep, 10)
        second = manager.register_anonymous_task("anon", asyncio.sleep, 10)
        assert manager.get_tasks() == [first, second]
        cancelled = manager.cancel_all_pending_tasks()
        assert manager._checker in cancelled and first in cancelled and second in cancelled
        assert len(cancelled) == 3
        await manager.shutdown_task_manager()

    harness.run(main())


def test_anonymous_tasks(harness: LoopHarness) -> None:
    async def main() -> None:
        manager = TaskManager()
        a = manager.register_anonymous_task("job", asyncio.sleep, 10)
        b = manager.register_anonymous_task("job", asyncio.sleep, 10)
        named = manager.register_task("jobless", asyncio.sleep, 10)
        manager.register_task(("job",), asyncio.sleep, 10)
        assert a.get_name() == "TaskManager:job 1" and b.get_name() == "TaskManager:job 2"
        assert manager.get_anonymous_tasks("job") == [a, b, named]
        await manager.shutdown_task_manager()

    harness.run(main())


def test_exception_goes_to_loop_handler_unless_ignored(harness: LoopHarness) -> None:
    async def main() -> None:
        manager = TaskManager()

        async def boom() -> None:
            raise ValueError("boom")

        failed = manager.register_task("boom", boom)
        ignored = manager.register_task("ignored", boom, ignore=(ValueError,))
        await asyncio.sleep(0.01)
        with pytest.raises(ValueError):
            await failed
        with pytest.raises(ValueError):
            await ignored
        await manager.shutdown_task_manager()

    harness.run(main())
    assert len(harness.errors) == 1
    assert isinstance(harness.errors[0]["exception"], ValueError)


def test_wait_for_tasks_snapshot(harness: LoopHarness) -> None:
    async def main() -> None:
        manager = TaskManager()
        results = []

        async def slow(n: int) -> None:
            await asyncio.sleep(0.02)
            results.append(n)
            if n == 1:
                manager.register_task("late", asyncio.sleep, 10)

        manager.register_task("a", slow, 1)
        manager.register_task("b", slow, 2)
        await manager.wait_for_tasks()
        assert sorted(results) == [1, 2]
        assert manager.is_pending_task_active("late")
        await manager.shutdown_task_manager()

    harness.run(main())


def test_shutdown_order_and_idempotence(harness: LoopHarness) -> None:
    async def main() -> None:
        manager = TaskManager()
        order = []

        async def async_cb(x: int) -> None:
            order.append(("async", x))

        manager.register_shutdown_task(order.append, 1)
        manager.register_shutdown_task(async_cb, 2)
        manager.register_shutdown_task(lambda **kw: order.append(kw), key=3)
        running = manager.register_task("a", asyncio.sleep, 10)
        await manager.shutdown_task_manager()
        assert running.cancelled()
        assert order == [1, ("async", 2), {"key": 3}]
        await manager.shutdown_task_manager()
        assert len(order) == 3

    harness.run(main())


def test_register_after_shutdown(harness: LoopHarness) -> None:
    async def main() -> None:
        manager = TaskManager()
        await manager.shutdown_task_manager()
        future = asyncio.Future()
        result = manager.register_task("a", future)
        assert result is not future and result.done() and result.result() is None
        assert future.cancelled()
        assert (await manager.register_task("b", lambda: None)) is None

    harness.run(main())


def test_replace_task(harness: LoopHarness) -> None:
    async def main() -> None:
        manager = TaskManager()
        old = manager.register_task("a", asyncio.sleep, 10)
        replacement = manager.replace_task("a", asyncio.sleep, 10)
        assert not replacement.done()
        new = await replacement
        assert old.cancelled() and new is not old
        assert manager.get_task("a") is new
        fresh = manager.replace_task("nothing", asyncio.sleep, 10)
        assert not fresh.done()
        fresh_task = await fresh
        assert manager.get_task("nothing") is fresh_task
        with pytest.raises(TypeError):
            await manager.replace_task("a", 42)
        await manager.shutdown_task_manager()

    harness.run(main())


def test_executor_task(harness: LoopHarness) -> None:
    async def main() -> None:
        manager = TaskManager()

        async def coro_fn() -> None:
            pass

        with pytest.raises(TypeError):
            manager.register_executor_task("x", coro_fn)
        with pytest.raises(TypeError):
            manager.register_executor_task("x", 3)
        future = manager.register_executor_task("x", sum, [1, 2])
        assert await future == 3
        anon = manager.register_executor_task("y", sum, [1, 2, 3], anon=True)
        assert anon.get_name() == "TaskManager:y 1"
        assert await anon == 6
        await manager.shutdown_task_manager()

    harness.run(main())


def test_task_decorator(harness: LoopHarness) -> None:
    with pytest.raises(TypeError):
        task(lambda self: None)

    class Worker(TaskManager):
        @task
        async def work(self, x: int) -> int:
            await asyncio.sleep(0)
            if x < 0:
                raise ValueError(x)
            return x * 2

    async def main() -> None:
        worker = Worker()
        registered = worker.work(2)
        assert isinstance(registered, asyncio.Task)
        assert registered.get_name() == "Worker:work 1"
        assert await registered == 4
        with pytest.raises(ValueError):
            await worker.work(-1)
        await worker.shutdown_task_manager()

    harness.run(main())
    assert harness.errors == []  # ignore=(Exception,): logged, not reported


def test_tasks_tutorial_3_style(harness: LoopHarness) -> None:
    """register / cancel / wait / shutdown as in the tasks tutorial: only the survivor ran."""
    async def main() -> list[int]:
        manager = TaskManager()
        seen: list[int] = []

        async def execute_me(i: int) -> None:
            await asyncio.sleep(0.01)
            seen.append(i)

        manager.register_task("execute_me", execute_me, 1)
        manager.cancel_pending_task("execute_me")
        manager.register_task("execute_me_too", execute_me, 2)
        await manager.wait_for_tasks()
        await manager.shutdown_task_manager()
        return seen

    assert harness.run(main()) == [2]


def test_tasks_tutorial_5_style(harness: LoopHarness) -> None:
    """An interval task cancelling itself from inside, next to a delayed task (prints [1,1,1,1,2,1 x 15])."""
    async def main() -> list[int]:
        manager = TaskManager()
        out: list[int] = []

        async def tick(x: int) -> None:
            out.append(x)
            if len(out) >= 20:
                manager.cancel_pending_task("tick")

        manager.register_task("tick", tick, 1, interval=0.1, delay=0)
        manager.register_task("once", out.append, 2, delay=0.35)
        while manager.is_pending_task_active("tick"):
            await asyncio.sleep(0.05)
        await manager.shutdown_task_manager()
        return out

    assert harness.run(main()) == [1, 1, 1, 1, 2] + [1] * 15
