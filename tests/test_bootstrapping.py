"""Bootstrapping (api.md §17, wire.md §7): DispersyBootstrapper against loopback addresses only, the
UDP-broadcast beacon bytes (packets.json "bootstrap") and a loopback-aimed broadcast exchange, and the
tracker serving ipv8fast and py-ipv8 peers on 127.0.0.1. Nothing is broadcast and no public tracker is
contacted or resolved."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ipv8fast.bootstrapping import (
    HDR_ANNOUNCE,
    MAGIC,
    PROTOCOL_VERSION,
    BroadcastBootstrapEndpoint,
    DispersyBootstrapper,
    UDPBroadcastBootstrapper,
)
from ipv8fast.community import Community, CommunitySettings
from ipv8fast.discovery_community import DiscoveryCommunity
from ipv8fast.endpoint import UDPEndpoint
from ipv8fast.keys import default_eccrypto
from ipv8fast.network import Network
from ipv8fast.peer import Peer
from ipv8fast.service import IPv8
from ipv8fast.testing.loopback import node_configuration as loopback_configuration
from ipv8fast.tracker import Tracker

from _loop import LoopHarness
from conftest import load_vectors
from test_community import MemoryEndpoint

PACKETS = load_vectors("packets")
TESTS = Path(__file__).parent


@pytest.fixture
def loop() -> Iterator[LoopHarness]:
    harness = LoopHarness()
    yield harness
    harness.close()
    assert harness.errors == []


class VectorCommunity(Community):
    community_id = bytes.fromhex(PACKETS["community_id"])


def memory_community(cls: type = VectorCommunity) -> Any:
    settings = CommunitySettings(my_peer=Peer(default_eccrypto.generate_key("curve25519")),
                                 endpoint=MemoryEndpoint(("127.0.0.1", 5000)), network=Network())
    community = cls(settings)
    community.cancel_all_pending_tasks()
    return community


# --- DispersyBootstrapper ---------------------------------------------------------------------------------

def test_dispersy_bootstrapper(loop: LoopHarness) -> None:
    async def scenario() -> None:
        overlay = memory_community()
        bootstrapper = DispersyBootstrapper([("127.0.0.1", 7001), ("127.0.0.1", 7002)],
                                            [("tracker.invalid", 7003), ("broken.invalid", 7004)],
                                            bootstrap_timeout=30.0)
        resolved = []

        def resolve(host: str) -> str:
            resolved.append(host)
            if host == "broken.invalid":
                raise OSError("no such host")
            return "127.0.0.1"

        bootstrapper.resolve = resolve  # type: ignore[method-assign]
        assert not bootstrapper.initialized and bootstrapper.last_bootstrap == 0
        assert await bootstrapper.initialize(overlay) is True
        assert resolved == ["tracker.invalid", "broken.invalid"]
        assert bootstrapper.ip_addresses == [("127.0.0.1", 7001), ("127.0.0.1", 7002), ("127.0.0.1", 7003)]
        assert overlay.network.blacklist == [("127.0.0.1", 7001), ("127.0.0.1", 7002)]
        assert await bootstrapper.initialize(overlay) is True and len(resolved) == 2  # once only
        assert list(await bootstrapper.get_addresses(overlay, 5.0)) == []
        assert [to for to, _ in overlay.endpoint.sent] == bootstrapper.ip_addresses
        assert all(data[22] == 246 for _, data in overlay.endpoint.sent)
        assert set(overlay.network.blacklist) == set(bootstrapper.ip_addresses)
        overlay.endpoint.sent.clear()
        assert list(await bootstrapper.get_addresses(overlay, 5.0)) == []  # rate limited
        assert overlay.endpoint.sent == []
        bootstrapper.keep_alive(overlay)
        (to, _), = overlay.endpoint.sent
        assert to in bootstrapper.ip_addresses
        assert bootstrapper.blacklist() == bootstrapper.ip_addresses
        bootstrapper.unload()
        await overlay.unload()

    loop.run(scenario())


def test_community_bootstrap_uses_bootstrappers(loop: LoopHarness) -> None:
    async def scenario() -> None:
        overlay = memory_community()
        overlay.bootstrappers.append(DispersyBootstrapper([("127.0.0.1", 7001)], []))
        overlay.get_new_introduction()  # no peers: bootstrap
        await asyncio.sleep(0.05)
        assert [to for to, _ in overlay.endpoint.sent] == [("127.0.0.1", 7001)]
        assert overlay.bootstrappers[0].initialized
        await overlay.unload()

    loop.run(scenario())


# --- UDPBroadcastBootstrapper -----------------------------------------------------------------------------

def test_beacon_bytes_match_vector() -> None:
    assert PROTOCOL_VERSION + MAGIC + b"\x00" == HDR_ANNOUNCE
    prefix = bytes.fromhex(PACKETS["prefix"])
    assert UDPBroadcastBootstrapper.beacon_packet(prefix).hex() == PACKETS["bootstrap"]["udp_broadcast_beacon"]["hex"]


def test_beacon_covers_every_port_without_sending(loop: LoopHarness) -> None:
    sent: list[tuple[Any, bytes]] = []

    class Recorder:
        def send(self, address: Any, data: bytes) -> None:
            sent.append((address, data))

    bootstrapper = UDPBroadcastBootstrapper()
    bootstrapper.endpoint = Recorder()  # type: ignore[assignment]
    prefix = bytes.fromhex(PACKETS["prefix"])
    bootstrapper.beacon(prefix)
    assert len(sent) == 65535
    assert sent[0][0] == ("255.255.255.255", 0) and sent[-1][0] == ("255.255.255.255", 65534)
    assert {data for _, data in sent} == {bytes.fromhex(PACKETS["bootstrap"]["udp_broadcast_beacon"]["hex"])}
    assert bootstrapper.blacklist() == []


def test_broadcast_exchange_on_loopback(loop: LoopHarness) -> None:
    """Two communities find each other through beacons aimed at one loopback socket (no broadcast)."""
    async def scenario() -> None:
        nodes = []
        for _ in range(2):
            endpoint = UDPEndpoint(0, "127.0.0.1")
            await endpoint.open()
            nodes.append(DiscoveryCommunity(CommunitySettings(
                my_peer=Peer(default_eccrypto.generate_key("curve25519")), endpoint=endpoint, network=Network())))
        a, b = nodes
        listener = UDPBroadcastBootstrapper(broadcast_address="127.0.0.1", ports=[], bind_ip="127.0.0.1")
        assert await listener.initialize(a)
        assert isinstance(listener.endpoint, BroadcastBootstrapEndpoint)
        listen_port = listener.endpoint.get_address()[1]
        announcer = UDPBroadcastBootstrapper(broadcast_address="127.0.0.1", ports=[listen_port], bind_ip="127.0.0.1")
        assert await announcer.initialize(b)  # beacons once: a walks to b's broadcast socket, b answers
        try:
            for _ in range(200):
                if a.get_peers() and b.get_peers():
                    break
                await asyncio.sleep(0.01)
            assert [p.mid for p in a.get_peers()] == [b.my_peer.mid]
            assert [p.mid for p in b.get_peers()] == [a.my_peer.mid]
            assert list(await announcer.get_addresses(b, 1.0)) == []
        finally:
            for bootstrapper in (listener, announcer):
                bootstrapper.unload()
            for node in nodes:
                await node.unload()
                node.endpoint.close()

    loop.run(scenario(), timeout=20)


# --- tracker ----------------------------------------------------------------------------------------------

def node_configuration(tracker_port: int) -> dict:
    return loopback_configuration(tracker_port, walker_interval=0.1, log_level=None)


async def start_tracker() -> tuple[Tracker, int]:
    endpoint = UDPEndpoint(0, "127.0.0.1")
    await endpoint.open()
    tracker = Tracker(endpoint)
    tracker.start()
    return tracker, endpoint.get_address()[1]


async def stop_tracker(tracker: Tracker) -> None:
    await tracker.stop()
    tracker.endpoint.close()


def port_of(node: IPv8) -> int:
    return node.get_overlay(DiscoveryCommunity).endpoint.get_address()[1]


def peer_ports(node: IPv8) -> set[int]:
    return {p.address[1] for p in node.get_overlay(DiscoveryCommunity).get_peers()}


def test_tracker_introduces_ipv8fast_peers(loop: LoopHarness) -> None:
    async def scenario() -> None:
        tracker, port = await start_tracker()
        nodes = [IPv8(node_configuration(port)) for _ in range(4)]
        try:
            for node in nodes:
                await node.start()
            ports = {port_of(node) for node in nodes}
            for _ in range(150):
                if all(peer_ports(node) == ports - {port_of(node)} for node in nodes):
                    break
                await asyncio.sleep(0.05)
            for node in nodes:
                assert peer_ports(node) == ports - {port_of(node)}
                assert port not in peer_ports(node)  # trackers are never peers
            community = next(iter(tracker.communities.values()))
            assert len(community.get_peers()) == 4
            assert await tracker.forget_silent_peers() == 0
        finally:
            for node in nodes:
                await node.stop()
            await stop_tracker(tracker)

    loop.run(scenario(), timeout=30)


class Process:
    """A subprocess printing JSON lines (or one text line for the tracker)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def line(self, timeout: float = 20.0) -> str:
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)  # type: ignore[union-attr]
        assert line, "the subprocess exited"
        return line.decode()

    async def close(self) -> None:
        if self.process.returncode is None:
            try:
                if self.process.stdin is not None:
                    self.process.stdin.close()
                else:
                    self.process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(self.process.wait(), 10.0)
            except (asyncio.TimeoutError, ConnectionError, ProcessLookupError):
                self.process.kill()
                await self.process.wait()


async def spawn(*args: str, stdin: bool = True) -> Process:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS.parent), str(TESTS), *sys.path])}
    return Process(await asyncio.create_subprocess_exec(
        sys.executable, *args, stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, env=env))


def test_tracker_serves_py_ipv8_and_ipv8fast() -> None:
    pytest.importorskip("ipv8", reason="pyipv8 is the reference peer")
    harness = LoopHarness()

    async def scenario() -> None:
        tracker_process = await spawn("-m", "ipv8fast.tracker", "--port", "0", "--ip", "127.0.0.1", stdin=False)
        remote = None
        ours: IPv8 | None = None
        try:
            tracker_port = int((await tracker_process.line()).rsplit(":", 1)[1])
            remote = await spawn(str(TESTS / "pyipv8_peer.py"), str(tracker_port), "2", "40")
            ours = IPv8(node_configuration(tracker_port))
            await ours.start()
            remote_ports: set[int] = set()
            deadline = asyncio.get_running_loop().time() + 25
            while True:
                state = json.loads(await remote.line())
                remote_ports = set(state["ports"])
                mine = port_of(ours)
                remote_sees_us = all(mine in peers for peers in state["peers"])
                py_sees_py = all(set(state["peers"][i]) >= remote_ports - {state["ports"][i]} for i in range(2))
                if remote_sees_us and py_sees_py and peer_ports(ours) >= remote_ports:
                    break
                assert asyncio.get_running_loop().time() < deadline, (state, peer_ports(ours))
            assert tracker_port not in peer_ports(ours)
            assert sum(ours.get_overlay(DiscoveryCommunity).drops.values()) == 0
        finally:
            if ours is not None:
                await ours.stop()
            if remote is not None:
                await remote.close()
            await tracker_process.close()
        assert tracker_process.process.returncode == 0

    try:
        harness.run(scenario(), timeout=60)
    finally:
        harness.close()
    assert harness.errors == []
