"""Signature verification on worker threads (``crypto_threads``): the same handler calls, in the same order,
and the same drop counts as inline verification, on the packets.json vectors and a hostile flood; a bounded
queue; nothing lost and no thread left at shutdown; configuration."""
from __future__ import annotations

import asyncio
import gc
import os
import random
import socket
import time
from typing import Any

import pytest
from test_hostile import mutations

from ipv8fast._core import cryptopool
from ipv8fast._core.wire import SIGNED, SIGNED_WITH_DATA, UNSIGNED, UNSIGNED_WITH_DATA
from ipv8fast.addresses import UDPv4Address
from ipv8fast.community import Community, CommunitySettings
from ipv8fast.configuration import ConfigBuilder, ConfigurationError, validate_configuration
from ipv8fast.keys import default_eccrypto
from ipv8fast.lazy import lazy_wrapper, lazy_wrapper_unsigned, lazy_wrapper_unsigned_wd, lazy_wrapper_wd
from ipv8fast.network import Network
from ipv8fast.peer import Peer
from ipv8fast.udp_endpoint import UDPEndpoint

from _loop import LoopHarness
from conftest import load_vectors
from payload_classes import Simple

pytestmark = pytest.mark.skipif(not cryptopool.AVAILABLE, reason="worker-thread verification is compiled-only")

DECORATORS = {SIGNED: lazy_wrapper, SIGNED_WITH_DATA: lazy_wrapper_wd, UNSIGNED: lazy_wrapper_unsigned,
              UNSIGNED_WITH_DATA: lazy_wrapper_unsigned_wd}


def native_threads() -> int:
    """This process's native verification workers (named ``ipv8fast-verify`` on Linux), counted by the kernel."""
    gc.collect()  # pools of endpoints earlier tests dropped without closing them are freed (and joined)
    count = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/comm") as handle:
                count += handle.read().strip() == "ipv8fast-verify"
        except OSError:  # the thread ended meanwhile
            continue
    return count


def describe(value: Any) -> Any:
    if isinstance(value, Peer):
        return ("peer", value.mid)
    if isinstance(value, bytes):
        return value
    if isinstance(value, tuple):
        return tuple(value)
    return (type(value).__name__, str(value))


class Recorder(Community):
    """Every lazy handler of Community (and Simple, signed and unsigned) replaced by one that records."""

    community_id = bytes(20)

    def __init__(self, settings: CommunitySettings) -> None:
        super().__init__(settings)
        self.calls: list[tuple[Any, ...]] = []
        for msg_id, handler in enumerate(list(self.decode_map)):
            spec = getattr(getattr(handler, "__func__", None), "_ipv8fast_lazy", None)
            if spec is not None:
                self._record(msg_id, spec[1], spec[2])
        self._record(Simple.msg_id, SIGNED, (Simple,))
        self._record(200, UNSIGNED, (Simple,))

    def _record(self, msg_id: int, kind: int, payloads: tuple[type, ...]) -> None:
        def handler(self: Recorder, first: Any, *arguments: Any, **keywords: Any) -> None:
            self.calls.append((msg_id, describe(first), [describe(a) for a in arguments], sorted(keywords)))
        handler.__name__ = f"record_{msg_id}"
        decorated = DECORATORS[kind](*payloads)(handler)
        self.decode_map[msg_id] = None
        self.add_message_handler(msg_id, decorated.__get__(self))


async def replay(datagrams: list[tuple[int, bytes]], threads: int, community_id: bytes,
                 batch: int = 16) -> tuple[list[Any], dict[str, int]]:
    """Hand ``(source port, datagram)``s to a Recorder through its endpoint's listeners, ``batch`` at a time
    (as one drain would), and return its handler calls and drops once everything is settled."""
    endpoint = UDPEndpoint(0, "127.0.0.1", crypto_threads=threads)
    baseline = cryptopool.live_threads()
    await endpoint.open()
    assert (endpoint._crypto_pool is not None) == (threads > 0)
    recorder_class = type("R", (Recorder,), {"community_id": community_id})
    community = recorder_class(CommunitySettings(my_peer=Peer(default_eccrypto.generate_key("curve25519")),
                                                 endpoint=endpoint, network=Network()))
    community.endpoint.send = lambda address, packet: None  # type: ignore[method-assign]
    deferred = 0
    for start in range(0, len(datagrams), batch):
        for port, data in datagrams[start:start + batch]:
            endpoint.notify_listeners((UDPv4Address("127.0.0.1", port), data))
        if endpoint._crypto_pool is not None:
            deferred = max(deferred, endpoint._crypto_pool.queued)
            endpoint._crypto_pool.flush()
        await asyncio.sleep(0)
    await community.unload()
    endpoint.close()
    assert cryptopool.live_threads() == baseline
    if threads:
        assert deferred > 0, "nothing went through the queue"
    return community.calls, dict(community.drops)


def vector_datagrams() -> tuple[bytes, list[tuple[int, bytes]]]:
    vectors = load_vectors("packets")
    hexes = [p["hex"] for p in vectors["packets"]] + [r["hex"] for r in vectors["rejections"]]
    hexes += [s["hex"] for s in vectors["exchange"]["steps"]]
    datagrams = [bytes.fromhex(h) for h in hexes]
    rng = random.Random(15)
    mixed = [(rng.choice((1000, 1001, 1002)), d) for d in datagrams * 20]
    rng.shuffle(mixed)
    return bytes.fromhex(vectors["community_id"]), mixed


def hostile_datagrams(count: int) -> tuple[bytes, list[tuple[int, bytes]]]:
    community_id = bytes(range(100, 120))
    prefix = b"\x00\x02" + community_id
    key = default_eccrypto.generate_key("curve25519")
    rng = random.Random(1515)
    result = []
    for i in range(count):
        payload = Simple(i, i % 65536, b"v" * (i % 700))  # some longer than a job's inline bytes
        good = signed_simple(prefix, key, payload)
        result.append((2000 + i % 3, good))
        if i % 3 == 0:
            result.append((2000 + i % 3, prefix + bytes([200]) + unsigned_body(payload)))
        if i % 2 == 0:
            result.append((2000 + rng.randrange(3), rng.choice(mutations(prefix, good, rng))))
    return community_id, result


def _packet_helpers() -> tuple[Any, Any]:
    from ipv8fast.serialization import default_serializer

    def signed(prefix: bytes, key: Any, payload: Any) -> bytes:
        body = default_serializer.pack_serializable(payload)
        public = key.pub().key_to_bin()
        packet = prefix + bytes([payload.msg_id]) + len(public).to_bytes(2, "big") + public + body
        return packet + key.signature(packet)

    def unsigned(payload: Any) -> bytes:
        return default_serializer.pack_serializable(payload)

    return signed, unsigned


signed_simple, unsigned_body = _packet_helpers()


@pytest.mark.parametrize("corpus", ["vectors", "hostile"])
def test_threads_match_inline(corpus: str) -> None:
    harness = LoopHarness(uvloop=True)
    try:
        community_id, datagrams = vector_datagrams() if corpus == "vectors" else hostile_datagrams(3000)
        inline = harness.run(replay(datagrams, 0, community_id))
        threaded = harness.run(replay(datagrams, 1, community_id))
        two = harness.run(replay(datagrams, 2, community_id, batch=200))
    finally:
        harness.close()
    assert inline[0], "no handler was called"
    assert threaded[0] == inline[0] and two[0] == inline[0]
    assert threaded[1] == inline[1] and two[1] == inline[1]
    if corpus == "hostile":
        assert inline[1]["bad_signature"] > 0 and inline[1]["malformed"] > 0


def test_queue_limit_drops_and_counts() -> None:
    harness = LoopHarness()

    async def scenario() -> None:
        community_id = bytes(range(100, 120))
        key = default_eccrypto.generate_key("curve25519")
        signed = [(3000, signed_simple(b"\x00\x02" + community_id, key, Simple(i, i, b"w" * 10))) for i in range(20)]
        endpoint = UDPEndpoint(0, "127.0.0.1")
        await endpoint.open()
        endpoint._crypto_pool = cryptopool.VerifyPool(1, limit=8)
        community = type("R", (Recorder,), {"community_id": community_id})(CommunitySettings(
            my_peer=Peer(default_eccrypto.generate_key("curve25519")), endpoint=endpoint, network=Network()))
        for port, data in signed:
            endpoint.notify_listeners((UDPv4Address("127.0.0.1", port), data))
        assert endpoint._crypto_pool.queued <= 8
        endpoint._crypto_pool.close()
        endpoint._crypto_pool = None
        handled = len(community.calls)
        assert handled == 8 and community.drops["verify_queue_full"] == 12
        assert handled + sum(community.drops.values()) == len(signed)
        await community.unload()
        endpoint.close()

    try:
        harness.run(scenario())
    finally:
        harness.close()


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
def test_shutdown_delivers_everything_in_flight(loop_kind: str) -> None:
    harness = LoopHarness(uvloop=loop_kind == "uvloop")
    before = native_threads()

    community_id, datagrams = hostile_datagrams(400)

    async def scenario() -> tuple[list[Any], dict[str, int]]:
        baseline = cryptopool.live_threads()
        endpoint = UDPEndpoint(0, "127.0.0.1", crypto_threads=2)
        await endpoint.open()
        assert cryptopool.live_threads() == baseline + 2 and native_threads() == before + 2
        community = type("R", (Recorder,), {"community_id": community_id})(CommunitySettings(
            my_peer=Peer(default_eccrypto.generate_key("curve25519")), endpoint=endpoint, network=Network()))
        community.endpoint.send = lambda address, packet: None  # type: ignore[method-assign]
        for port, data in datagrams:  # no flush: everything is still queued or verifying
            endpoint.notify_listeners((UDPv4Address("127.0.0.1", port), data))
        queued = endpoint._crypto_pool.queued
        assert queued > 0
        endpoint.close()  # before unload: close itself settles
        assert cryptopool.live_threads() == baseline
        await community.unload()
        return community.calls, dict(community.drops)

    try:
        threaded = harness.run(scenario())
        inline = harness.run(replay(datagrams, 0, community_id))
    finally:
        harness.close()
    assert threaded == inline  # every packet in flight at close was delivered or counted, as inline
    assert native_threads() == before


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
def test_live_sockets_in_order(loop_kind: str) -> None:
    """Real datagrams from one source: every valid one handled, in order, none forged; unsigned interleaved."""
    harness = LoopHarness(uvloop=loop_kind == "uvloop")

    async def scenario() -> None:
        community_id, datagrams = hostile_datagrams(1500)
        baseline = cryptopool.live_threads()
        endpoint = UDPEndpoint(0, "127.0.0.1", crypto_threads=1)
        await endpoint.open()
        community = type("R", (Recorder,), {"community_id": community_id})(CommunitySettings(
            my_peer=Peer(default_eccrypto.generate_key("curve25519")), endpoint=endpoint, network=Network()))
        community.endpoint.send = lambda address, packet: None  # type: ignore[method-assign]
        port = endpoint.get_address()[1]
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        try:
            for index, (_, data) in enumerate(datagrams):
                sock.sendto(data, ("127.0.0.1", port))
                if index % 50 == 49:
                    await asyncio.sleep(0.002)  # paced: the kernel drops nothing
        finally:
            sock.close()
        deadline = time.monotonic() + 20
        expected = 1500 + 500
        while sum(c[0] in (Simple.msg_id, 200) for c in community.calls) < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await community.unload()
        endpoint.close()
        wanted = []
        for i in range(1500):
            wanted.append((Simple.msg_id, i))
            if i % 3 == 0:
                wanted.append((200, i))
        seen = [(c[0], int(c[2][0][1].split("| a: ")[1].split("\n")[0])) for c in community.calls
                if c[0] in (Simple.msg_id, 200)]
        assert [entry for entry in seen if entry in set(wanted)] == wanted
        forged = [entry for entry in seen if entry[0] == Simple.msg_id and entry not in set(wanted)]
        assert not forged
        assert cryptopool.live_threads() == baseline

    try:
        harness.run(scenario(), timeout=60)
    finally:
        harness.close()


def test_configuration_key() -> None:
    config = ConfigBuilder().set_crypto_threads(3).finalize()
    assert config["crypto_threads"] == 3
    for bad in (-1, "2", True, 1.0, 1000):
        config["crypto_threads"] = bad
        with pytest.raises(ConfigurationError, match="crypto_threads"):
            validate_configuration(config)


def test_ipv8_starts_and_joins_its_threads() -> None:
    from ipv8fast.service import IPv8

    harness = LoopHarness()
    before = native_threads()

    async def scenario() -> None:
        builder = ConfigBuilder().clear_keys().clear_overlays().set_address("127.0.0.1").set_port(0)
        builder.add_ephemeral_key("me").set_crypto_threads(1)
        builder.add_overlay("DiscoveryCommunity", "me", [], [], {}, [])
        ipv8 = IPv8(builder.finalize())
        baseline = cryptopool.live_threads()
        await ipv8.start()
        assert cryptopool.live_threads() == baseline + 1
        await ipv8.stop(stop_loop=False)
        assert cryptopool.live_threads() == baseline

    try:
        harness.run(scenario())
    finally:
        harness.close()
    assert native_threads() == before


STALL_PROBE = """
import asyncio, sys
from ipv8fast.cli import loadtest
from ipv8fast.udp_endpoint import new_event_loop

async def run():
    loadtest.scenario_api.prepare("ipv8fast")
    user = loadtest.scenario_api.load("ping")
    m = loadtest.implementations.import_modules("ipv8fast")
    counters = loadtest.Counters()
    nodes = [await loadtest.make_community(user, m, 1) for _ in range(3)]
    peers = [m["peer"].Peer(c.my_peer.public_key.key_to_bin(), ("127.0.0.1", c.endpoint.get_address()[1]))
             for c, _ in nodes]
    for index, (community, _) in enumerate(nodes):
        assert community.endpoint._crypto_pool is not None
        targets = [peers[other] for other in loadtest.targets_of(index, 3)]
        for target in targets:
            community.network.add_verified_peer(target)
        lane = loadtest.Lane(community, targets, user.send_request, counters)
        for _ in range(4):
            lane.next()
    progress = []
    for _ in range(40):
        before = counters.roundtrips
        await asyncio.sleep(0.1)
        progress.append(counters.roundtrips - before)
    counters.stopping = True
    for community, request_cache in nodes:
        await loadtest.stop_community(community, request_cache)
    print(progress)
    return all(progress)

loop = new_event_loop() if sys.argv[1] == "uvloop" else asyncio.new_event_loop()
sys.exit(0 if loop.run_until_complete(asyncio.wait_for(run(), 60)) else 1)
"""


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
def test_ping_pong_between_pooled_endpoints_never_stalls(loop_kind: str) -> None:
    """Three peers with a pool each, four signed requests in flight per peer (the loadtest's ping), in a
    fresh process: the round trips keep coming, every 0.1 s for 4 s. A lost eventfd wakeup once left
    completed verifications undelivered until other traffic arrived, which here is never (every peer waits
    for its answers)."""
    import subprocess
    import sys

    checkout = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, "-c", STALL_PROBE, loop_kind], capture_output=True, text=True,
                            timeout=120, cwd=checkout, env={**os.environ, "PYTHONPATH": checkout})
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
