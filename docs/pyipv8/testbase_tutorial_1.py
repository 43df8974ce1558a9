"""Unit-testing a community with TestBase: custom settings, node creation, introductions and a request
cache whose timeout is forced with ``passthrough``."""
import unittest

from ipv8.community import Community, CommunitySettings
from ipv8.requestcache import NumberCache, RequestCache
from ipv8.test.base import TestBase
from ipv8.test.mocking.ipv8 import MockIPv8


class MyCache(NumberCache):
    def __init__(self, request_cache: RequestCache, overlay: "MyCommunity") -> None:
        super().__init__(request_cache, "", 0)
        self.overlay = overlay

    def on_timeout(self) -> None:
        self.overlay.timed_out = True


class MySettings(CommunitySettings):
    greeting: str = "hello"


class MyCommunity(Community):
    community_id = b"testbase-tutorial-1!"
    settings_class = MySettings

    def __init__(self, settings: MySettings) -> None:
        super().__init__(settings)
        self.greeting = settings.greeting
        self.request_cache = RequestCache()
        self.timed_out = False
        self.introduced_by: list[bytes] = []

    def introduction_request_callback(self, peer, dist, payload) -> None:
        self.introduced_by.append(peer.mid)

    def start_waiting(self) -> None:
        self.request_cache.add(MyCache(self.request_cache, self))

    async def unload(self) -> None:
        await self.request_cache.shutdown()
        await super().unload()


class TestOneNode(TestBase[MyCommunity]):
    def setUp(self) -> None:
        super().setUp()
        self.patched: list[int] = []
        self.initialize(MyCommunity, 1)

    async def tearDown(self) -> None:
        await super().tearDown()

    def create_node(self, *args, **kwargs) -> MockIPv8:
        return MockIPv8("curve25519", self.overlay_class, *args, **kwargs)

    def patch_overlays(self, i: int) -> None:
        self.patched.append(i)
        super().patch_overlays(i)

    async def test_default_settings(self) -> None:
        self.assertEqual("hello", self.overlay(0).greeting)
        self.assertEqual([0], self.patched)

    async def test_no_timeout_yet(self) -> None:
        self.overlay(0).start_waiting()
        await self.deliver_messages()
        self.assertFalse(self.overlay(0).timed_out)

    async def test_forced_timeout(self) -> None:
        with self.overlay(0).request_cache.passthrough():
            self.overlay(0).start_waiting()
        await self.deliver_messages()
        self.assertTrue(self.overlay(0).timed_out)

    async def test_forced_timeout_by_class(self) -> None:
        with self.overlay(0).request_cache.passthrough(MyCache):
            self.overlay(0).start_waiting()
        await self.deliver_messages()
        self.assertTrue(self.overlay(0).timed_out)


class TestTwoNodes(TestBase[MyCommunity]):
    def setUp(self) -> None:
        super().setUp()
        self.initialize(MyCommunity, 2, MySettings(greeting="hi"))

    def create_node(self, *args, **kwargs) -> MockIPv8:
        return MockIPv8("curve25519", self.overlay_class, *args, **kwargs)

    async def test_custom_settings(self) -> None:
        self.assertEqual(["hi", "hi"], [self.overlay(i).greeting for i in range(2)])

    async def test_introduction_request(self) -> None:
        self.overlay(0).send_introduction_request(self.peer(1))
        await self.deliver_messages()
        self.assertEqual([self.peer(0).mid], self.overlay(1).introduced_by)
        await self.introduce_nodes()
        self.assertEqual([self.peer(1).mid], self.overlay(0).introduced_by)


if __name__ == "__main__":
    unittest.main()
