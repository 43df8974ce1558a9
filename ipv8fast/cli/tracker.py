"""A bootstrap tracker: ``python -m ipv8fast tracker --port N`` (wire.md §7.1).

The tracker answers introduction requests of *any* community: the first datagram with an unseen prefix
creates a lightweight Community for that prefix on the tracker's endpoint, which then records requesters
as peers and introduces each one to a random other peer of the same community (puncture request
included). It never walks. Peers silent for ``peer_timeout`` seconds are forgotten. py-ipv8 peers use it
through an ordinary DispersyBootstrapper entry naming the tracker's address.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from typing import Any

from .._core.wire import MESSAGE_ID_OFFSET, PREFIX_LENGTH
from ..community import Community, CommunitySettings
from ..configuration import MAX_CRYPTO_THREADS, default_crypto_threads
from ..endpoint import EndpointListener
from ..keys import default_eccrypto
from ..network import Network
from ..peer import Peer
from ..udp_endpoint import UDPEndpoint, new_event_loop

__all__ = ["Tracker", "TrackedCommunity", "main"]

logger = logging.getLogger(__name__)

#: Introduction messages a tracker answers (old and new style requests).
_INTRO_REQUESTS = (246, 234)


class TrackedCommunity(Community):
    """One community as seen by the tracker: answers introduction requests, never walks."""

    community_id = b"\x00" * 20

    def on_packet(self, packet: tuple[Any, bytes], warn_unknown: bool = False) -> None:
        super().on_packet(packet, warn_unknown)  # similarity requests etc. are not for the tracker

    def get_new_introduction(self, from_peer: Peer | None = None) -> None:
        pass

    def walk_to(self, address: Any) -> None:
        pass


class Tracker(EndpointListener):
    """Serves every community that contacts it on one UDP endpoint."""

    def __init__(self, endpoint: UDPEndpoint, peer_timeout: float = 120.0, max_peers: int = -1) -> None:
        super().__init__(endpoint, main_thread=False)
        self.my_peer = Peer(default_eccrypto.generate_key("curve25519"))
        self.network = Network()
        self.peer_timeout = peer_timeout
        self.max_peers = max_peers
        self.communities: dict[bytes, TrackedCommunity] = {}
        endpoint.add_listener(self)
        self._cleaner: asyncio.Task | None = None

    def on_packet(self, packet: tuple[Any, bytes]) -> None:
        address, data = packet
        prefix = data[:PREFIX_LENGTH]
        if len(data) <= MESSAGE_ID_OFFSET or prefix in self.communities or data[0] != 0 \
                or data[MESSAGE_ID_OFFSET] not in _INTRO_REQUESTS:
            return  # known prefixes reach their community through the endpoint's prefix listeners
        community_class = type("TrackedCommunity", (TrackedCommunity,),
                               {"community_id": prefix[2:], "version": prefix[1:2]})
        settings = CommunitySettings(my_peer=self.my_peer, endpoint=self.endpoint, network=self.network,
                                     max_peers=self.max_peers)
        community = community_class(settings)
        community.cancel_all_pending_tasks()  # no LAN discovery on a tracker
        self.communities[prefix] = community
        community.on_packet(packet)

    async def forget_silent_peers(self) -> int:
        """Drop peers not heard from within ``peer_timeout``; returns how many were dropped."""
        deadline = time.time() - self.peer_timeout
        silent = [peer for peer in list(self.network.verified_peers) if peer.last_response < deadline]
        for peer in silent:
            self.network.remove_peer(peer)
        return len(silent)

    def start(self) -> None:
        """Start the periodic clean-up (call with a running loop)."""
        async def clean() -> None:
            while True:
                await asyncio.sleep(max(self.peer_timeout / 4, 1.0))
                await self.forget_silent_peers()

        self._cleaner = asyncio.get_running_loop().create_task(clean())

    async def stop(self) -> None:
        if self._cleaner is not None:
            self._cleaner.cancel()
        for community in self.communities.values():
            await community.unload()
        self.endpoint.remove_listener(self)
        self.communities.clear()


async def run_tracker(port: int, ip: str = "0.0.0.0", stop: asyncio.Event | None = None,
                      ready: Any = None, crypto_threads: int | None = None) -> None:
    """Serve on ``(ip, port)`` until ``stop`` is set (or a SIGINT/SIGTERM when ``stop`` is None).
    ``crypto_threads``: signature-verification threads (None: as IPv8, one per core beyond the first; 0: the
    loop thread verifies; the pure twin always verifies inline)."""
    if crypto_threads is None:
        crypto_threads = default_crypto_threads()
    endpoint = UDPEndpoint(port, ip, crypto_threads=crypto_threads)
    await endpoint.open()
    tracker = Tracker(endpoint)
    tracker.start()
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
    bound = endpoint.get_address()
    print(f"tracker listening on {bound[0]}:{bound[1]}", flush=True)
    if ready is not None:
        ready(bound)
    try:
        await stop.wait()
    finally:
        await tracker.stop()
        endpoint.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, required=True, help="UDP port to listen on (0: any free port)")
    parser.add_argument("--ip", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    parser.add_argument("--crypto-threads", type=int, default=None, metavar="N",
                        help="signature-verification threads (default: one per core beyond the first; 0: verify "
                             "on the loop thread)")


def run_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``tracker --port N [--ip A]``: run a bootstrap tracker until interrupted."""
    if not 0 <= args.port <= 65535:
        parser.error(f"--port: expected 0..65535, got {args.port}")
    threads = getattr(args, "crypto_threads", None)
    if threads is not None and not 0 <= threads <= MAX_CRYPTO_THREADS:
        parser.error(f"--crypto-threads: expected 0..{MAX_CRYPTO_THREADS}, got {threads}")
    logging.basicConfig(level=logging.WARNING)
    loop = new_event_loop()  # uvloop when installed
    try:
        loop.run_until_complete(run_tracker(args.port, args.ip, crypto_threads=threads))
    finally:
        loop.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    from . import main as cli_main

    return cli_main(["tracker", *(sys.argv[1:] if argv is None else argv)])
