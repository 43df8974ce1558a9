"""TestBase message assertions: signed and unsigned messages, ``assertReceivedBy`` in order, in any
order and with a filter."""
import unittest
from dataclasses import dataclass

from ipv8fast import Community, DataClassPayload, lazy_wrapper, lazy_wrapper_unsigned
from ipv8fast.testing import TestBase


@dataclass
class Message1(DataClassPayload[1]):
    value: int


@dataclass
class Message2(DataClassPayload[2]):
    value: int


@dataclass
class Message3(DataClassPayload[3]):
    value: int


class MyCommunity(Community):
    community_id = b"testbase-tutorial-2!"

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.senders: list = []
        self.add_message_handler(Message1, self.on_message1)
        self.add_message_handler(Message2, self.on_message2)
        self.add_message_handler(Message3, self.on_message3)

    @lazy_wrapper(Message1)
    def on_message1(self, peer, payload: Message1) -> None:
        self.senders.append(peer)

    @lazy_wrapper_unsigned(Message2)
    def on_message2(self, peer, payload: Message2) -> None:
        self.senders.append(peer)  # unsigned: this "peer" is the source address

    @lazy_wrapper(Message3)
    def on_message3(self, peer, payload: Message3) -> None:
        self.senders.append(peer)


class TestMessages(TestBase[MyCommunity]):
    def setUp(self) -> None:
        super().setUp()
        self.initialize(MyCommunity, 2)

    async def test_signed(self) -> None:
        with self.assertReceivedBy(1, [Message1]):
            self.overlay(0).ez_send(self.peer(1), Message1(1))
            await self.deliver_messages()
        self.assertEqual(self.peer(0), self.overlay(1).senders[0])

    async def test_unsigned(self) -> None:
        with self.assertReceivedBy(1, [Message2]):
            self.overlay(0).ez_send(self.peer(1), Message2(2), sig=False)
            await self.deliver_messages()
        self.assertEqual(self.address(0), self.overlay(1).senders[0])

    async def test_any_order(self) -> None:
        with self.assertReceivedBy(1, [Message1, Message2, Message3], ordered=False):
            self.overlay(0).ez_send(self.peer(1), Message3(3))
            self.overlay(0).ez_send(self.peer(1), Message1(1))
            self.overlay(0).ez_send(self.peer(1), Message2(2), sig=False)
            await self.deliver_messages()

    async def test_filtered(self) -> None:
        with self.assertReceivedBy(1, [Message3, Message3], message_filter=[Message3]) as received_messages:
            self.overlay(0).ez_send(self.peer(1), Message3(30))
            self.overlay(0).ez_send(self.peer(1), Message1(1))
            self.overlay(0).ez_send(self.peer(1), Message3(31))
            await self.deliver_messages()
        self.assertEqual([30, 31], [message.value for message in received_messages])


if __name__ == "__main__":
    unittest.main()
