"""A py-ipv8-style unit test module (written for ipv8fast's tests from api.md §26's testbase description)."""
import unittest
from dataclasses import dataclass

from ipv8.community import Community, CommunitySettings
from ipv8.lazy_community import lazy_wrapper
from ipv8.messaging.payload_dataclass import DataClassPayload
from ipv8.requestcache import NumberCache, RequestCache
from ipv8.test.base import TestBase
from ipv8.test.mocking.ipv8 import MockIPv8


@dataclass
class Message(DataClassPayload[1]):
    value: int


class MySettings(CommunitySettings):
    greeting: str = "hi"


class MyCache(NumberCache):
    def __init__(self, rc, number):
        super().__init__(rc, "", number)

    @property
    def timeout_delay(self):
        return 60.0

    def on_timeout(self):
        pass


class MyCommunity(Community):
    community_id = b"compat-testbase-0001"
    settings_class = MySettings

    def __init__(self, settings):
        super().__init__(settings)
        self.request_cache = RequestCache()
        self.greeting = settings.greeting
        self.values = []
        self.add_message_handler(Message, self.on_message)

    @lazy_wrapper(Message)
    def on_message(self, peer, payload):
        self.values.append(payload.value)
        self.request_cache.add(MyCache(self.request_cache, payload.value))

    async def unload(self):
        await self.request_cache.shutdown()
        await super().unload()


class TestMyCommunity(TestBase[MyCommunity]):
    def setUp(self):
        super().setUp()
        self.initialize(MyCommunity, 2, MySettings(greeting="hello"))

    def create_node(self, *args, **kwargs):
        return MockIPv8("curve25519", self.overlay_class, *args, **kwargs)

    async def test_send(self):
        with self.request_cache_passthrough():
            pass
        with self.assertReceivedBy(1, [Message]):
            self.overlay(0).ez_send(self.peer(1), Message(3))
            await self.deliver_messages()
        self.assertEqual([3], self.overlay(1).values)
        self.assertEqual("hello", self.overlay(1).greeting)

    def request_cache_passthrough(self):
        return self.overlay(1).request_cache.passthrough()

    async def test_introduce(self):
        await self.introduce_nodes()
        self.assertEqual(1, len(self.overlay(0).get_peers()))


if __name__ == "__main__":
    unittest.main()
