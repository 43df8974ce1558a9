"""Hostile input at a live community on 127.0.0.1 while valid signed traffic flows.

Random and mutated datagrams (truncated, bit-flipped, prefix only, wrong prefix, oversized, forged or missing
signatures, private or broken keys, unknown ids): nothing escapes the endpoint, handlers only ever see
verified data, every drop is counted by reason, memory stays flat and valid messages keep arriving.
IPV8FAST_HOSTILE_COUNT sets the number of hostile datagrams (default 100 000, as the issue asks).
"""
from __future__ import annotations

import asyncio
import os
import random
import socket
import time
from typing import Any

from ipv8fast.community import Community, CommunitySettings
from ipv8fast.endpoint import EndpointListener, UDPEndpoint
from ipv8fast.keys import default_eccrypto
from ipv8fast.lazy import lazy_wrapper
from ipv8fast.network import Network
from ipv8fast.peer import Peer
from ipv8fast.testing.fuzz import rss_is_meaningful, rss_kib

from _loop import LoopHarness
from payload_classes import Simple

COUNT = int(os.environ.get("IPV8FAST_HOSTILE_COUNT", "100000"))
COMMUNITY_ID = bytes(range(100, 120))


class Target(Community):
    community_id = COMMUNITY_ID

    def __init__(self, settings: CommunitySettings) -> None:
        super().__init__(settings)
        self.valid: list[int] = []
        self.expected: set[int] = set()
        self.forged_seen = 0
        self.add_message_handler(Simple, self.on_simple)

    @lazy_wrapper(Simple)
    def on_simple(self, peer: Peer, payload: Simple) -> None:
        if payload.a not in self.expected:
            self.forged_seen += 1
        self.valid.append(payload.a)


class Counter(EndpointListener):
    def __init__(self, endpoint: Any, prefix: bytes) -> None:
        super().__init__(endpoint)
        self.prefix = prefix
        self.total = 0
        self.ours = 0

    def on_packet(self, packet: tuple[Any, bytes]) -> None:
        self.total += 1
        if packet[1][:22] == self.prefix:
            self.ours += 1


def mutations(prefix: bytes, good: bytes, rng: random.Random) -> list[bytes]:
    """One datagram of every hostile kind."""
    flipped = bytearray(good)
    flipped[rng.randrange(len(good))] ^= 1 << rng.randrange(8)
    key_flipped = bytearray(good)
    key_flipped[25 + rng.randrange(74)] ^= 1 << rng.randrange(8)
    private = default_eccrypto.generate_key("curve25519").key_to_bin()
    return [
        rng.randbytes(rng.randrange(0, 1500)),
        good[:rng.randrange(len(good))],
        bytes(flipped),
        bytes(key_flipped),
        prefix,
        b"\x00\x02" + rng.randbytes(20) + good[22:],
        prefix + b"\x01" + rng.randbytes(9000),
        good[:-64] + rng.randbytes(64),
        good[:-64],
        prefix + bytes([rng.randrange(11, 231)]) + rng.randbytes(rng.randrange(40)),
        prefix + b"\x01" + len(private).to_bytes(2, "big") + private + good[-80:],
        prefix + b"\x01\xff\xff" + rng.randbytes(50),
        prefix + bytes([246]) + good[23:],
    ]


def test_hostile_flood_with_valid_traffic() -> None:
    harness = LoopHarness(uvloop=True)
    rng = random.Random(1234)

    async def scenario() -> None:
        target_endpoint, sender_endpoint = UDPEndpoint(0, "127.0.0.1"), UDPEndpoint(0, "127.0.0.1")
        await target_endpoint.open()
        await sender_endpoint.open()
        target = Target(CommunitySettings(my_peer=Peer(default_eccrypto.generate_key("curve25519")),
                                          endpoint=target_endpoint, network=Network()))
        sender = Target(CommunitySettings(my_peer=Peer(default_eccrypto.generate_key("curve25519")),
                                          endpoint=sender_endpoint, network=Network()))
        counter = Counter(target_endpoint, target.get_prefix())
        target_endpoint.add_listener(counter)
        address = target_endpoint.get_address()
        attacker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        attacker.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        good = sender.ezr_pack(1, Simple(0, 1, b"template"))
        kinds = mutations(target.get_prefix(), good, rng)
        sent = valid_sent = 0
        rss_half = 0
        deadline = time.monotonic() + 40.0
        while sent < COUNT and time.monotonic() < deadline:
            for _ in range(200):
                if sent % len(kinds) == 0:
                    kinds = mutations(target.get_prefix(), good, rng)
                attacker.sendto(kinds[sent % len(kinds)], address)
                sent += 1
            valid_sent += 1
            target.expected.add(valid_sent)
            sender.ez_send(Peer(target.my_peer.key.pub(), address), Simple(valid_sent, 2, b"valid"))
            expected_total = sent + valid_sent
            for _ in range(400):  # pace: let the receiver catch up (bounded)
                if counter.total >= expected_total:
                    break
                await asyncio.sleep(0.001)
            if not rss_half and sent >= COUNT // 2:
                rss_half = rss_kib()
        for _ in range(1000):
            if len(target.valid) >= valid_sent:
                break
            await asyncio.sleep(0.002)
        attacker.close()
        assert sent == COUNT, f"only {sent} hostile datagrams within the time bound"
        assert target_endpoint.listener_errors == 0
        assert target.forged_seen == 0
        assert harness.errors == []
        # every datagram of ours that arrived was either handled or dropped with a reason
        assert sum(target.drops.values()) + len(target.valid) == counter.ours, target.drops
        assert set(target.drops) <= {"bad_signature", "bad_key", "malformed", "no_message_id", "unknown_message",
                                     "deprecated", "max_peers"}, target.drops
        for reason in ("bad_signature", "bad_key", "malformed", "no_message_id", "unknown_message"):
            assert target.drops[reason] > 0, reason
        assert target.drops["handler_error"] == 0
        delivered = counter.total / (sent + valid_sent)
        assert len(target.valid) >= valid_sent * min(delivered, 0.95), (len(target.valid), valid_sent)
        assert rss_kib() - rss_half < 30_000 or not rss_is_meaningful(), "memory grew under the flood"
        await target.unload()
        await sender.unload()
        target_endpoint.close()
        sender_endpoint.close()

    try:
        harness.run(scenario(), timeout=90.0)
    finally:
        harness.close()
