"""ipv8fast.testing (api.md §22): TestBase with MockIPv8 nodes, mock endpoints, MockCommunity, MockWalk
and the seeded lossy endpoint. The TestBase cases below are written the way py-ipv8 users write theirs."""
from __future__ import annotations

import asyncio
import os
import unittest
from dataclasses import dataclass

from ipv8fast.community import Community, CommunitySettings
from ipv8fast.lazy import lazy_wrapper, lazy_wrapper_unsigned
from ipv8fast.payload import DataClassPayload
from ipv8fast.testing import (
    AutoMockEndpoint,
    LossyEndpoint,
    MockCommunity,
    MockEndpoint,
    MockEndpointListener,
    MockIPv8,
    MockWalk,
    TestBase,
    internet,
)

from _loop import LoopHarness


@dataclass
class Hello(DataClassPayload[1]):
    value: int


@dataclass
class Note(DataClassPayload[2]):
    value: int


class MySettings(CommunitySettings):
    answer: int = 42


class HelloCommunity(Community):
    community_id = os.urandom(20)
    settings_class = MySettings

    def __init__(self, settings: MySettings) -> None:
        super().__init__(settings)
        self.answer = settings.answer
        self.received: list[int] = []
        self.notes: list[int] = []
        self.intro_requests = 0
        self.add_message_handler(Hello, self.on_hello)
        self.add_message_handler(Note, self.on_note)

    def introduction_request_callback(self, peer, dist, payload) -> None:  # noqa: ANN001
        self.intro_requests += 1

    @lazy_wrapper(Hello)
    def on_hello(self, peer, payload: Hello) -> None:  # noqa: ANN001
        self.received.append(payload.value)

    @lazy_wrapper_unsigned(Note)
    def on_note(self, address, payload: Note) -> None:  # noqa: ANN001
        self.notes.append(payload.value)


class TestHelloCommunity(TestBase[HelloCommunity]):
    def setUp(self) -> None:
        super().setUp()
        self.initialize(HelloCommunity, 3, MySettings(answer=7))

    def test_preconnected(self) -> None:
        for i in range(3):
            self.assertEqual(2, len(self.overlay(i).get_peers()))
            self.assertEqual(7, self.overlay(i).answer)
        self.assertEqual(self.peer(1), self.overlay(0).network.get_verified_by_address(self.address(1)))
        self.assertIsNot(self.peer(1), self.peer(1))
        self.assertEqual(self.mid(0), self.my_peer(0).mid)
        self.assertEqual(self.key_bin(0), self.public_key(0).key_to_bin())
        self.assertEqual(self.key_bin_private(0), self.private_key(0).key_to_bin())
        self.assertIs(self.node(0).network, self.network(0))

    async def test_messages_and_assert_received(self) -> None:
        with self.assertReceivedBy(1, [Hello, Note]) as messages:
            self.overlay(0).ez_send(self.peer(1), Hello(5))
            await self.deliver_messages()
            self.overlay(0).ez_send(self.peer(1), Note(6), sig=False)
            await self.deliver_messages()
        self.assertEqual([5, 6], [m.value for m in messages])
        self.assertEqual([5], self.overlay(1).received)
        with self.assertReceivedBy(2, [Hello], message_filter=[Hello]):
            self.overlay(0).send_introduction_request(self.peer(2))
            self.overlay(1).ez_send(self.peer(2), Hello(9))
            await self.deliver_messages()

    async def test_introduce_nodes(self) -> None:
        await self.introduce_nodes()
        self.assertEqual([2, 2, 2], [self.overlay(i).intro_requests for i in range(3)])

    def test_temporary_directory(self) -> None:
        path = self.temporary_directory()
        self.assertTrue(os.path.isdir(path))
        self.addCleanup(lambda: self.assertFalse(os.path.isdir(path)))


class TestAsyncSetUpStyle(TestBase):
    async def setUp(self) -> None:
        super().setUp()
        await asyncio.sleep(0)
        self.initialize(HelloCommunity, 2)

    async def tearDown(self) -> None:
        await super().tearDown()

    async def test_nodes_built(self) -> None:
        self.assertEqual(2, len(self.nodes))
        self.assertEqual(42, self.overlay(0).answer)


class _Crashing(TestBase):
    """Run by test_fragile_mode_fails_the_test, not collected itself."""

    __test__ = False

    def setUp(self) -> None:
        super().setUp()
        self.initialize(HelloCommunity, 2)

    async def test_crash(self) -> None:
        self.overlay(1).on_hello = None
        self.overlay(1).decode_map[1] = lambda *_: 1 / 0
        self.overlay(0).ez_send(self.peer(1), Hello(1))
        await self.deliver_messages()


def test_fragile_mode_fails_the_test() -> None:
    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(_Crashing).run(result)
    assert result.testsRun == 1 and len(result.errors) == 1
    assert "ZeroDivisionError" in result.errors[0][1]


def test_mock_endpoint_semantics() -> None:
    harness = LoopHarness()

    async def scenario() -> None:
        a, b = AutoMockEndpoint(), AutoMockEndpoint()
        assert a.wan_address != b.wan_address and internet[a.lan_address] is a and not a.is_open()
        listener = MockEndpointListener(b)
        a.send(b.wan_address, b"dropped: sender closed")
        a.open()
        b.open()
        a.send(b.wan_address, b"x" * 30)
        assert listener.received_packets == []  # delivered on a later iteration
        await asyncio.sleep(0)
        assert listener.received_packets == [(a.wan_address, b"x" * 30)]
        a.SEND_INET_EXCEPTION_TO_LOOP = False
        try:
            a.send(("1.2.3.4", 5), b"nowhere")
        except AssertionError as exc:
            assert "unregistered address" in str(exc)
        else:
            raise AssertionError("expected an AssertionError")
        plain = MockEndpoint(("10.0.0.1", 1), ("2.2.2.2", 1))
        assert plain.get_address() == ("2.2.2.2", 1)

    try:
        harness.run(scenario())
    finally:
        internet.clear()
        harness.close()


def test_lossy_endpoint_is_seeded_and_counts() -> None:
    harness = LoopHarness()

    async def run(seed: int) -> tuple[list[bytes], dict]:
        sender = LossyEndpoint(drop=0.2, duplicate=0.2, reorder=0.3, reorder_window=0.02, seed=seed)
        receiver = AutoMockEndpoint()
        listener = MockEndpointListener(receiver)
        sender.open()
        receiver.open()
        for i in range(100):
            sender.send(receiver.wan_address, i.to_bytes(2, "big"))
        await asyncio.sleep(0.05)
        return [data for _, data in listener.received_packets], sender.stats

    try:
        first, stats = harness.run(run(1))
        second, _ = harness.run(run(1))
        other, _ = harness.run(run(2))
        assert first == second and first != other
        assert stats["sent"] == 100 and len(first) == 100 - stats["dropped"] + stats["duplicated"]
        assert stats["dropped"] and stats["duplicated"] and stats["reordered"]
        assert first != sorted(first)
    finally:
        internet.clear()
        harness.close()


def test_mock_community_mock_ipv8_and_walk() -> None:
    harness = LoopHarness()

    async def scenario() -> None:
        community = MockCommunity()
        assert community.endpoint.is_open() and community.my_estimated_wan == community.endpoint.wan_address
        node = MockIPv8("curve25519", HelloCommunity)
        other = MockIPv8("curve25519", HelloCommunity)
        assert node.get_overlay(HelloCommunity) is node.overlay and node.overlays == []
        assert node.my_peer.address == node.endpoint.wan_address
        node.network.add_verified_peer(other.overlay.my_peer.__class__(other.my_peer.public_key.key_to_bin(),
                                                                       other.endpoint.wan_address))
        node.discovery.take_step()  # MockWalk: walk to every verified peer
        await asyncio.sleep(0.01)
        assert other.overlay.intro_requests == 1
        walk = MockWalk(node.overlay)
        node.add_strategy(node.overlay, walk, -1)
        assert node.strategies == [(walk, -1)]
        await node.unload_overlay(node.overlay)
        assert node.strategies == []
        await other.stop()
        await community.unload()

    try:
        harness.run(scenario())
    finally:
        internet.clear()
        harness.close()
