"""``python -m ipv8fast demo``: a local tracker and a handful of IPv8 peers on 127.0.0.1.

The peers run the pattern of py-ipv8's seed tutorials: a DiscoveryStrategy finds peers (bootstrapping from
the local tracker), every peer pings random peers with signed request/response messages matched through a
RequestCache (``lazy_wrapper`` + ``retrieve_cache``), and some answers are sent twice: the replayed copy
matches no pending cache and is rejected. A status line is printed every second, a summary at the end.
Everything stays on 127.0.0.1; the run is bounded by ``--duration``.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from ..community import Community, CommunitySettings
from ..configuration import Bootstrapper, BootstrapperDefinition, ConfigBuilder, Strategy, WalkerDefinition
from ..discovery import DiscoveryStrategy
from ..lazy import lazy_wrapper, retrieve_cache
from ..payload import VariablePayload, vp_compile
from ..peer import Peer
from ..requestcache import RandomNumberCacheWithName, RequestCache
from ..service import IPv8
from ..udp_endpoint import UDPEndpoint
from . import implementation_line
from .tracker import Tracker


@vp_compile
class Ping(VariablePayload):
    msg_id = 1
    format_list = ["H", "Q"]
    names = ["identifier", "sent_ns"]
    identifier: int
    sent_ns: int


@vp_compile
class Pong(VariablePayload):
    msg_id = 2
    format_list = ["H", "Q"]
    names = ["identifier", "sent_ns"]
    identifier: int
    sent_ns: int


class PingCache(RandomNumberCacheWithName):
    """A ping waiting for its pong."""

    name = "demo-ping"

    def __init__(self, request_cache: RequestCache, community: DemoCommunity) -> None:
        super().__init__(request_cache, self.name)
        self.community = community

    @property
    def timeout_delay(self) -> float:
        return 2.0

    def on_timeout(self) -> None:
        self.community.stats.timeouts += 1


@dataclass
class Stats:
    """What one peer counted."""

    pings_sent: int = 0
    pongs_received: int = 0
    pongs_matched: int = 0
    timeouts: int = 0
    replays_sent: int = 0
    round_trip_ms: list[float] = field(default_factory=list)


class DemoCommunity(Community):
    """Pings random peers; answers pings; replays one answer in ``replay_every``."""

    community_id = hashlib.sha1(b"ipv8fast demo overlay").digest()

    def __init__(self, settings: CommunitySettings) -> None:
        super().__init__(settings)
        self.request_cache = RequestCache()
        self.stats = Stats()
        self.replay_every = 4
        self.add_message_handler(Ping, self.on_ping)
        self.add_message_handler(Pong, self.on_pong)

    def ping_someone(self) -> None:
        peers = self.get_peers()
        if peers:
            cache = self.request_cache.add(PingCache(self.request_cache, self))
            if cache is not None:
                self.ez_send(random.choice(peers), Ping(cache.number, time.monotonic_ns()))
                self.stats.pings_sent += 1

    @lazy_wrapper(Ping)
    def on_ping(self, peer: Peer, payload: Ping) -> None:
        packet = self.ezr_pack(Pong.msg_id, Pong(payload.identifier, payload.sent_ns))
        self.endpoint.send(peer.address, packet)
        if payload.identifier % self.replay_every == 0:  # an attacker (or a network) repeats the answer
            self.stats.replays_sent += 1
            self.register_anonymous_task("replay", self._replay, peer.address, packet, delay=0.2)

    async def _replay(self, address: Any, packet: bytes) -> None:
        self.endpoint.send(address, packet)

    @lazy_wrapper(Pong)
    def on_pong(self, peer: Peer, payload: Pong) -> None:
        self.stats.pongs_received += 1
        self._match(peer, payload)

    @retrieve_cache(PingCache)
    def _match(self, peer: Peer, payload: Pong, cache: PingCache) -> None:
        self.stats.pongs_matched += 1
        self.stats.round_trip_ms.append((time.monotonic_ns() - payload.sent_ns) / 1e6)

    async def unload(self) -> None:
        await self.request_cache.shutdown()
        await super().unload()


class IntroduceToKnownPeers(DiscoveryStrategy):
    """The DiscoveryStrategy tutorial's strategy: ask every known peer for an introduction."""

    def take_step(self) -> None:
        with self.walk_lock:
            for peer in self.overlay.get_peers():
                self.overlay.send_introduction_request(peer)


def node_configuration(tracker_port: int) -> dict[str, Any]:
    """One peer: an ephemeral key, DemoCommunity with a random walk, bootstrapping from the local tracker."""
    builder = ConfigBuilder().clear_keys().clear_overlays().set_address("127.0.0.1").set_port(0)
    builder.add_ephemeral_key("me").set_walker_interval(0.2).set_log_level("ERROR")
    builder.add_overlay("DemoCommunity", "me", [WalkerDefinition(Strategy.RandomWalk, 20, {"timeout": 3.0})],
                        [BootstrapperDefinition(Bootstrapper.DispersyBootstrapper,
                                                {"ip_addresses": [("127.0.0.1", tracker_port)],
                                                 "dns_addresses": [], "bootstrap_timeout": 2.0})], {}, [])
    return builder.finalize()


class Display:
    """One status line per second: rewritten in place on a terminal, appended otherwise."""

    def __init__(self, stream: Any = sys.stdout) -> None:
        self.stream = stream
        self.in_place = stream.isatty()

    def update(self, text: str) -> None:
        if self.in_place:
            self.stream.write("\r\x1b[K" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.in_place:
            self.stream.write("\n")


def status(elapsed: float, overlays: list[DemoCommunity]) -> str:
    counts = [len(overlay.get_peers()) for overlay in overlays]
    total = _totals(overlays)
    return (f"t={elapsed:4.1f}s  peers min/avg/max {min(counts)}/{sum(counts) / len(counts):.1f}/{max(counts)}  "
            f"pings {total.pings_sent}  matched {total.pongs_matched}  timeouts {total.timeouts}  "
            f"replays rejected {total.pongs_received - total.pongs_matched}/{total.replays_sent}")


def _totals(overlays: list[DemoCommunity]) -> Stats:
    total = Stats()
    for overlay in overlays:
        for name in ("pings_sent", "pongs_received", "pongs_matched", "timeouts", "replays_sent"):
            setattr(total, name, getattr(total, name) + getattr(overlay.stats, name))
        total.round_trip_ms.extend(overlay.stats.round_trip_ms)
    return total


async def run(peers: int, duration: float, display: Display) -> dict[str, Any]:
    """Run the demo; return the summary figures."""
    tracker_endpoint = UDPEndpoint(0, "127.0.0.1")
    await tracker_endpoint.open()
    tracker = Tracker(tracker_endpoint)
    tracker.start()
    tracker_port = tracker_endpoint.get_address()[1]
    display.update(f"tracker on 127.0.0.1:{tracker_port}; starting {peers} peers")
    nodes = [IPv8(node_configuration(tracker_port), extra_communities={"DemoCommunity": DemoCommunity})
             for _ in range(peers)]
    overlays: list[DemoCommunity] = []
    started = time.monotonic()
    try:
        for node in nodes:
            await node.start()
            overlay = node.get_overlay(DemoCommunity)
            assert overlay is not None  # loaded from the configuration above
            node.add_strategy(overlay, IntroduceToKnownPeers(overlay), -1)
            overlay.register_task("ping", overlay.ping_someone, interval=0.25, delay=0.5)
            overlays.append(overlay)
        next_line = started + 1.0
        while time.monotonic() - started < duration:
            await asyncio.sleep(0.05)
            if time.monotonic() >= next_line:
                display.update(status(time.monotonic() - started, overlays))
                next_line += 1.0
        for overlay in overlays:
            overlay.cancel_pending_task("ping")
        await asyncio.sleep(0.5)  # let the last answers and replays land
        display.update(status(time.monotonic() - started, overlays))
        display.done()
        return summary(overlays, peers)
    finally:
        for node in nodes:
            await node.stop()
        await tracker.stop()
        tracker_endpoint.close()


def summary(overlays: list[DemoCommunity], peers: int) -> dict[str, Any]:
    total = _totals(overlays)
    counts = [len(overlay.get_peers()) for overlay in overlays]
    rtts = sorted(total.round_trip_ms)
    return {
        "peers": peers,
        "min_peers_found": min(counts),
        "pings": total.pings_sent,
        "matched": total.pongs_matched,
        "timeouts": total.timeouts,
        "replays_sent": total.replays_sent,
        "replays_rejected": total.pongs_received - total.pongs_matched,
        "median_round_trip_ms": rtts[len(rtts) // 2] if rtts else None,
        "drops": sum(sum(overlay.drops.values()) for overlay in overlays),
    }


def report(result: dict[str, Any]) -> bool:
    """Print the summary; True when the demo showed everything it should."""
    ok = (result["min_peers_found"] >= 1 and result["matched"] > 0 and result["replays_sent"] > 0
          and result["replays_rejected"] == result["replays_sent"])
    rtt = result["median_round_trip_ms"]
    print("summary:")
    print(f"  every one of {result['peers']} peers found others: at least {result['min_peers_found']} each")
    print(f"  signed request/response: {result['matched']} of {result['pings']} pings answered and matched "
          f"through the RequestCache (median round trip {rtt:.2f} ms), {result['timeouts']} timed out"
          if rtt is not None else "  no round trip completed")
    print(f"  replayed answers rejected: {result['replays_rejected']} of {result['replays_sent']}")
    print(f"  malformed or forged datagrams dropped: {result['drops']}")
    print("demo " + ("OK" if ok else "FAILED"))
    return ok


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--peers", type=int, default=6, help="how many peers to start (default 6)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of traffic (default 10)")


def run_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if not 2 <= args.peers <= 200:
        parser.error(f"--peers: expected 2..200, got {args.peers}")
    if not 1.0 <= args.duration <= 600.0:
        parser.error(f"--duration: expected 1..600 seconds, got {args.duration}")
    print(implementation_line(), flush=True)
    result = asyncio.run(run(args.peers, args.duration, Display()))
    return 0 if report(result) else 1


def main(argv: list[str] | None = None) -> int:
    from . import main as cli_main

    return cli_main(["demo", *(sys.argv[1:] if argv is None else argv)])
