"""Tasks and TestBase: a community registers a task in its constructor; the test's ``create_node`` cancels
it, so the unit test controls when the work happens."""
import unittest

from ipv8.community import Community
from ipv8.test.base import TestBase
from ipv8.test.mocking.ipv8 import MockIPv8


class MyCommunity(Community):
    community_id = b"tasks-tutorial-6-id!"

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.executed = 0
        self.register_task("work", self.do_work, interval=0.05)

    def do_work(self) -> None:
        self.executed += 1


class TestMyCommunity(TestBase[MyCommunity]):
    def setUp(self) -> None:
        super().setUp()
        self.initialize(MyCommunity, 1)

    def create_node(self, *args, **kwargs) -> MockIPv8:
        mock_ipv8 = super().create_node(*args, **kwargs)
        mock_ipv8.overlay.cancel_all_pending_tasks()
        return mock_ipv8

    async def test_no_background_work(self) -> None:
        await self.deliver_messages()
        self.assertEqual(0, self.overlay(0).executed)

    async def test_work_on_demand(self) -> None:
        self.overlay(0).do_work()
        self.assertEqual(1, self.overlay(0).executed)


if __name__ == "__main__":
    unittest.main()
