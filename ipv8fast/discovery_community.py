"""DiscoveryCommunity (py-ipv8's ``ipv8.peerdiscovery.community``; spec api.md §16, wire.md §6).

Runs the peer-discovery protocol of every Community plus similarity requests/responses (which
communities a peer runs), unsigned ping/pong (RTT samples for :class:`~ipv8fast.discovery.RandomChurn`)
and the 2014 variant of the introduction request. Packets are byte-identical to py-ipv8's, quirks included.
"""
from __future__ import annotations

from collections.abc import Sequence
from random import choice
from time import time
from typing import Any

from ._core.packet_errors import PacketDecodingError
from ._core.serializable import PackError
from .community import Community, CommunitySettings
from .discovery import DiscoveryStrategy, RandomChurn
from .discovery_payloads import (
    DiscoveryIntroductionRequestPayload,
    PingPayload,
    PongPayload,
    SimilarityRequestPayload,
    SimilarityResponsePayload,
)
from .lazy import lazy_wrapper, lazy_wrapper_unsigned, retrieve_cache
from .messages import BinMemberAuthenticationPayload, GlobalTimeDistributionPayload, IntroductionRequestPayload
from .peer import Peer
from .requestcache import NumberCacheWithName, RequestCache

__all__ = ["DiscoveryCommunity", "PeriodicSimilarity", "PingRequestCache"]


class PeriodicSimilarity(DiscoveryStrategy["DiscoveryCommunity"]):
    """At most once a second, send a similarity request to one random verified peer."""

    def __init__(self, overlay: DiscoveryCommunity) -> None:
        super().__init__(overlay)
        self.last_step: float = 0

    def take_step(self) -> None:
        now = time()
        verified = self.overlay.network.verified_peers
        if now - self.last_step < 1.0 or not verified:
            return
        self.last_step = now
        with self.walk_lock:
            self.overlay.send_similarity_request(choice(list(verified)).address)


class PingRequestCache(NumberCacheWithName):
    """A ping in flight, filed under the (unreduced) global time it was sent at."""

    name = "discoverypingcache"

    def __init__(self, request_cache: RequestCache, identifier: int, peer: Peer, start_time: float) -> None:
        super().__init__(request_cache, PingRequestCache.name, identifier)
        self.peer = peer
        self.start_time = start_time

    @property
    def timeout_delay(self) -> float:
        return 5.0

    def on_timeout(self) -> None:
        """A lost ping is no verdict: dropping silent peers is RandomChurn's job."""

    def finish(self) -> None:
        """Record the round-trip time on the peer."""
        self.peer.pings.append(time() - self.start_time)


class DiscoveryCommunity(Community):
    """The community every IPv8 node runs to find peers and learn which communities they run."""

    version = b"\x02"
    community_id = bytes.fromhex("7e313685c1912a141279f8248fc8db5899c5df5a")

    def __init__(self, settings: CommunitySettings) -> None:
        super().__init__(settings)
        self.request_cache = RequestCache()
        self.add_message_handler(SimilarityRequestPayload, self.on_similarity_request)
        self.add_message_handler(SimilarityResponsePayload, self.on_similarity_response)
        self.add_message_handler(PingPayload, self.on_ping)
        self.add_message_handler(PongPayload, self.on_pong)

    def get_available_strategies(self) -> dict[str, type[DiscoveryStrategy]]:
        return {"PeriodicSimilarity": PeriodicSimilarity, "RandomChurn": RandomChurn}

    async def unload(self) -> None:
        await self.request_cache.shutdown()
        await super().unload()

    # --- introduction requests: the 2014 variant first ---

    def on_old_introduction_request(self, source_address: Any, data: bytes) -> None:
        if 0 <= self.max_peers < len(self.get_peers()):
            self.drops["max_peers"] += 1
            self.logger.debug("Dropping introduction request from (%s, %d): too many peers!",
                              source_address[0], source_address[1])
            return
        try:
            auth, _, payload = self._ez_unpack_auth(DiscoveryIntroductionRequestPayload, data)
        except (PacketDecodingError, PackError):
            auth, _, payload = self._ez_unpack_auth(IntroductionRequestPayload, data)
        peer = Peer(auth.public_key_bin, source_address)
        self.network.add_verified_peer(peer)
        self.network.discover_services(peer, [self.community_id])
        introduction = None
        introduce_to = getattr(payload, "introduce_to", None)
        if introduce_to:  # a 1-tuple after unpacking (py-ipv8 quirk): never matches a mid
            introduction = next((p for p in self.network.verified_peers if p.mid == introduce_to), None)
        packet = self.create_introduction_response(payload.destination_address, source_address, payload.identifier,
                                                   introduction=introduction, new_style=False)
        self.endpoint.send(source_address, packet)

    def introduction_response_callback(self, peer: Peer, dist: Any, payload: Any) -> None:
        self.send_similarity_request(peer.address)

    # --- similarity ---

    def _my_peers(self) -> list[Peer]:
        """Each distinct local identity running an overlay, in registration order."""
        return list(dict.fromkeys(overlay.my_peer for overlay in self.network.service_overlays.values()))

    def get_my_overlays(self, peer: Peer) -> list[bytes]:
        """Ids of the registered overlays that run as ``peer``."""
        return [service_id for service_id, overlay in self.network.service_overlays.items()
                if overlay.my_peer == peer]

    def custom_pack(self, peer: Peer, msg_num: int, payloads: Sequence[Any]) -> bytes:
        """Like ``_ez_pack`` but signed with ``peer``'s (private) key."""
        packet = self._prefix + bytes((msg_num,)) + self.serializer.pack_serializable_list(payloads)
        return packet + peer.key.signature(packet)  # type: ignore[attr-defined]  # a private key, by contract

    def send_similarity_request(self, address: Any) -> None:
        for peer in self._my_peers():
            self.endpoint.send(address, self.create_similarity_request(peer))

    def create_similarity_request(self, peer: Peer) -> bytes:
        global_time = self.claim_global_time()
        payload = SimilarityRequestPayload(global_time, self.my_estimated_lan, self.my_estimated_wan, "unknown",
                                           self.get_my_overlays(peer))
        return self.custom_pack(peer, 1, [BinMemberAuthenticationPayload(peer.public_key.key_to_bin()),
                                          GlobalTimeDistributionPayload(global_time), payload])

    def create_similarity_response(self, identifier: int, peer: Peer) -> bytes:
        global_time = self.claim_global_time()
        payload = SimilarityResponsePayload(identifier, self.get_my_overlays(peer), [])
        return self.custom_pack(peer, 2, [BinMemberAuthenticationPayload(peer.public_key.key_to_bin()),
                                          GlobalTimeDistributionPayload(global_time), payload])

    @lazy_wrapper(GlobalTimeDistributionPayload, SimilarityRequestPayload)
    def on_similarity_request(self, node: Peer, dist: Any, payload: SimilarityRequestPayload) -> None:
        self.network.discover_services(node, payload.preference_list)
        for peer in self._my_peers():
            self.endpoint.send(node.address, self.create_similarity_response(payload.identifier, peer))

    @lazy_wrapper(GlobalTimeDistributionPayload, SimilarityResponsePayload)
    def on_similarity_response(self, node: Peer, dist: Any, payload: SimilarityResponsePayload) -> None:
        if 0 <= self.max_peers < len(self.get_peers()) and node not in self.network.verified_peers:
            self.drops["max_peers"] += 1
            return
        self.network.add_verified_peer(node)
        self.network.discover_services(node, payload.preference_list)

    # --- ping / pong (unsigned) ---

    def send_ping(self, peer: Peer) -> None:
        global_time = self.claim_global_time()
        packet = self._ez_pack(self._prefix, 3, [GlobalTimeDistributionPayload(global_time),
                                                 PingPayload(global_time)], False)
        # Filed under the unreduced time while the wire carries it mod 65536 (py-ipv8 quirk, replicated).
        self.request_cache.add(PingRequestCache(self.request_cache, global_time, peer, time()))
        self.endpoint.send(peer.address, packet)

    def create_pong(self, identifier: int) -> bytes:
        return self._ez_pack(self._prefix, 4, [GlobalTimeDistributionPayload(self.claim_global_time()),
                                               PongPayload(identifier)], False)

    @lazy_wrapper_unsigned(GlobalTimeDistributionPayload, PingPayload)
    def on_ping(self, source_address: Any, dist: Any, payload: PingPayload) -> None:
        self.endpoint.send(source_address, self.create_pong(payload.identifier))

    @lazy_wrapper_unsigned(GlobalTimeDistributionPayload, PongPayload)
    @retrieve_cache(PingRequestCache)
    def on_pong(self, source_address: Any, dist: Any, payload: PongPayload, cache: PingRequestCache) -> None:
        cache.finish()
