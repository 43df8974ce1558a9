"""The grammar-fuzz scenario shared by tests/test_fuzz.py and bench/bench_fuzz.py.

A target community on 127.0.0.1 (discovery messages, a signed request/response through a RequestCache, a
signed message with arrays and addresses, an unsigned message with a list and text) takes a flood of
mutants of every message type while an honest client's pings complete. Every handler call is recorded with
its signer: only the honest client and the mutator's re-signing key may ever appear.
"""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ipv8fast.community import Community, CommunitySettings
from ipv8fast.endpoint import EndpointListener
from ipv8fast.keys import default_eccrypto
from ipv8fast.lazy import lazy_wrapper, lazy_wrapper_unsigned, retrieve_cache
from ipv8fast.messages import GlobalTimeDistributionPayload, NewPuncturePayload, PuncturePayload
from ipv8fast.network import Network
from ipv8fast.payload import VariablePayload, vp_compile
from ipv8fast.peer import Peer
from ipv8fast.requestcache import RandomNumberCacheWithName, RequestCache
from ipv8fast.testing.fuzz import (
    FloodStats,
    LoopbackOnlyUDPEndpoint,
    Mutator,
    discovery_templates,
    flood,
    message_template,
    rss_kib,
)

COMMUNITY_ID = bytes(range(60, 80))


@vp_compile
class Ping(VariablePayload):
    msg_id = 1
    format_list = ["I", "Q", "varlenH"]
    names = ["identifier", "nonce", "data"]


@vp_compile
class Pong(VariablePayload):
    msg_id = 2
    format_list = ["I", "Q"]
    names = ["identifier", "nonce"]


@vp_compile
class Note(VariablePayload):
    msg_id = 3
    format_list = ["H", "varlenH-list", "varlenHutf8"]
    names = ["value", "items", "text"]


@vp_compile
class Stats(VariablePayload):
    msg_id = 4
    format_list = ["arrayH-q", "bits", "ip_address", "raw"]
    names = ["counts", "b7", "b6", "b5", "b4", "b3", "b2", "b1", "b0", "where", "rest"]


class PingCache(RandomNumberCacheWithName):
    name = "ping"

    def __init__(self, community: FuzzCommunity) -> None:
        super().__init__(community.request_cache, self.name)
        self.community = community

    @property
    def timeout_delay(self) -> float:
        return 10.0

    def on_timeout(self) -> None:
        self.community.timeouts += 1


class FuzzCommunity(Community):
    community_id = COMMUNITY_ID

    def __init__(self, settings: CommunitySettings) -> None:
        super().__init__(settings)
        self.request_cache = RequestCache()
        self.signers: Counter[bytes] = Counter()
        self.unsigned_calls = 0
        self.completed = 0
        self.timeouts = 0
        self.add_message_handler(Ping, self.on_ping)
        self.add_message_handler(Pong, self.on_pong)
        self.add_message_handler(Note, self.on_note)
        self.add_message_handler(Stats, self.on_stats)

    async def unload(self) -> None:
        await self.request_cache.shutdown()
        await super().unload()

    def _seen(self, peer: Peer) -> None:
        self.signers[peer.public_key.key_to_bin()] += 1

    def on_introduction_request(self, peer: Peer, dist: Any, payload: Any) -> None:
        self._seen(peer)
        super().on_introduction_request(peer, dist, payload)

    def on_introduction_response(self, peer: Peer, dist: Any, payload: Any) -> None:
        self._seen(peer)
        super().on_introduction_response(peer, dist, payload)

    @lazy_wrapper(GlobalTimeDistributionPayload, PuncturePayload)
    def on_puncture(self, peer: Peer, dist: Any, payload: Any) -> None:
        self._seen(peer)

    @lazy_wrapper(GlobalTimeDistributionPayload, NewPuncturePayload)
    def on_new_puncture(self, peer: Peer, dist: Any, payload: Any) -> None:
        self._seen(peer)

    def send_ping(self, peer: Peer, nonce: int) -> None:
        cache = self.request_cache.add(PingCache(self))
        if cache is not None:
            self.ez_send(peer, Ping(cache.number, nonce, b"honest"))

    @lazy_wrapper(Ping)
    def on_ping(self, peer: Peer, payload: Ping) -> None:
        self._seen(peer)
        self.ez_send(peer, Pong(payload.identifier, payload.nonce))

    @lazy_wrapper(Pong)
    @retrieve_cache(PingCache)
    def on_pong(self, peer: Peer, payload: Pong, cache: PingCache) -> None:
        self._seen(peer)
        self.completed += 1

    @lazy_wrapper(Stats)
    def on_stats(self, peer: Peer, payload: Stats) -> None:
        self._seen(peer)

    @lazy_wrapper_unsigned(Note)
    def on_note(self, source_address: Any, payload: Note) -> None:
        self.unsigned_calls += 1


class Received(EndpointListener):
    """Counts every datagram the target's endpoint takes in (the flood's pacing)."""

    def __init__(self, endpoint: Any) -> None:
        super().__init__(endpoint)
        self.total = 0

    def on_packet(self, packet: tuple[Any, bytes]) -> None:
        self.total += 1


@dataclass
class Outcome:
    stats: FloodStats
    drops: dict[str, int]
    bad_handler_calls: int
    resigned_handler_calls: int
    unsigned_calls: int
    honest_sent: int
    honest_completed: int
    listener_errors: int
    blocked_sends: int
    rss_warm_kib: int
    rss_end_kib: int
    templates: list[str] = field(default_factory=list)


async def run(count: int, time_limit: float, seed: int = 13) -> Outcome:
    """Flood a fresh target with ``count`` mutants (bounded by ``time_limit``) while pings complete."""
    client_endpoint = LoopbackOnlyUDPEndpoint(0, "127.0.0.1")
    attacker_endpoint = LoopbackOnlyUDPEndpoint(0, "127.0.0.1", allow=lambda _: False)
    await client_endpoint.open()
    await attacker_endpoint.open()
    client_address = client_endpoint.get_address()
    target_endpoint = LoopbackOnlyUDPEndpoint(0, "127.0.0.1", allow=lambda a: tuple(a) == tuple(client_address))
    await target_endpoint.open()

    def make(endpoint: Any) -> FuzzCommunity:
        return FuzzCommunity(CommunitySettings(my_peer=Peer(default_eccrypto.generate_key("curve25519")),
                                               endpoint=endpoint, network=Network()))

    target, client, attacker = make(target_endpoint), make(client_endpoint), make(attacker_endpoint)
    address = target_endpoint.get_address()
    received = Received(target_endpoint)
    target_endpoint.add_listener(received)
    templates = discovery_templates(attacker, address) + [
        message_template(attacker, Ping(1, 2, b"template")),
        message_template(attacker, Pong(1, 2)),
        message_template(attacker, Stats([1, 2, 3], *([True, False] * 4), ("127.0.0.1", 9), b"tail")),
        message_template(attacker, Note(5, [b"a", b"bc"], "text"), sig=False),
    ]
    mutator = Mutator(templates, seed=seed)
    target_peer = Peer(target.my_peer.public_key, address)
    honest = 0
    rss_warm = 0

    def honest_traffic() -> None:
        nonlocal honest, rss_warm
        honest += 1
        client.send_ping(target_peer, honest)
        if not rss_warm and honest * 200 >= count // 4:
            rss_warm = rss_kib()

    stats = await flood(address, mutator, count, time_limit, received=lambda: received.total,
                        between_batches=honest_traffic)
    deadline = time.monotonic() + 5.0
    while client.completed < honest and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    allowed = {client.my_peer.public_key.key_to_bin(), mutator.resign_key.pub().key_to_bin()}
    resign = mutator.resign_key.pub().key_to_bin()
    outcome = Outcome(stats, dict(target.drops), sum(n for k, n in target.signers.items() if k not in allowed),
                      target.signers[resign], target.unsigned_calls, honest, client.completed,
                      target_endpoint.listener_errors, target_endpoint.blocked, rss_warm or stats.rss_before_kib,
                      rss_kib(), [t.name for t in templates])
    for community in (target, client, attacker):
        await community.unload()
    for endpoint in (target_endpoint, client_endpoint, attacker_endpoint):
        endpoint.close()
    return outcome
