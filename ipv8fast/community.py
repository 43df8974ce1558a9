"""Community: an overlay with peer discovery (py-ipv8's ``ipv8.community``), wire-identical to py-ipv8.

Introduction request/response and puncture request/puncture exist in the old (IPv4) and new style; the
layouts and the exchange are in spec/wire.md §5. Every datagram that cannot be handled is dropped and
counted in :attr:`Community.drops` by reason; only genuine handler bugs are logged with a traceback.
Deliberate deviation: warnings for unknown and deprecated message ids are rate limited
(:attr:`Community.warnings_per_second`), so a flood cannot turn into a flood of log lines.
"""
from __future__ import annotations

import time
from asyncio import ensure_future
from collections import Counter
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address, ip_address
from itertools import islice
from random import choice, random
from typing import TYPE_CHECKING, Any

from ._core import receive as _receive
from ._core.wire import MESSAGE_ID_OFFSET
from .addresses import UDPv4Address, UDPv4LANAddress, UDPv6Address
from .endpoint_interfaces import FAST_ADDR_TO_INTERFACE, INTERFACES
from .lazy import EZPackOverlay, lazy_wrapper, lazy_wrapper_unsigned
from .messages import (
    BinMemberAuthenticationPayload,
    GlobalTimeDistributionPayload,
    IntroductionRequestPayload,
    IntroductionResponsePayload,
    NewIntroductionRequestPayload,
    NewIntroductionResponsePayload,
    NewPuncturePayload,
    NewPunctureRequestPayload,
    PuncturePayload,
    PunctureRequestPayload,
)
from .network import Network
from .overlay import Settings

if TYPE_CHECKING:
    from .peer import Peer

__all__ = ["DEFAULT_MAX_PEERS", "Community", "CommunitySettings", "EZPackOverlay"]

DEFAULT_MAX_PEERS = 30

_NO_ADDRESS = ("0.0.0.0", 0)
_UNUSED_REQUEST_FLAGS = {"connection_type_0": 0, "connection_type_1": 0, "supports_new_style": 0, "dflag1": 0,
                         "dflag2": 0, "tunnel": 0, "sync": 0, "advice": 0}
_UNUSED_RESPONSE_FLAGS = {"flag1": 0, "flag2": 0, "flag3": 0, "flag4": 0, "flag5": 0, "flag6": 0, "flag7": 0}

DEPRECATED_MESSAGE_NAMES = {
    255: "reserved-255", 254: "on-missing-sequence", 253: "missing-proof", 252: "signature-request",
    251: "signature-response", 248: "on-identity", 247: "on-missing-identity", 244: "destroy-community",
    243: "authorize", 242: "revoke", 241: "subjective-set", 240: "missing-subjective-set",
    239: "on-missing-message", 238: "undo-own", 237: "undo-other", 236: "dynamic-settings",
    235: "missing-last-message",
}


class CommunitySettings(Settings):
    """Settings of a Community: ``max_peers`` (30) and ``anonymize`` (False) by default."""

    max_peers: int = DEFAULT_MAX_PEERS
    anonymize: bool = False


class Community(EZPackOverlay):
    """An overlay identified by ``community_id`` that finds its peers through introductions."""

    version = b"\x02"
    community_id: bytes
    settings_class: type[CommunitySettings] = CommunitySettings
    #: At most this many warnings about unknown/deprecated message ids per second.
    warnings_per_second: int = 10

    def __init__(self, settings: CommunitySettings) -> None:
        community_id = getattr(self, "community_id", None)
        if community_id is None:
            raise RuntimeError(f"Attempted to launch {type(self).__name__} without a community_id!")
        if not isinstance(community_id, bytes):
            raise RuntimeError(f"Attempted to launch {type(self).__name__} with a community_id that is not bytes!"
                               f"\n{community_id!r}")
        settings.community_id = community_id
        super().__init__(settings)
        self._prefix = b"\x00" + self.version + community_id
        self.endpoint.remove_listener(self)
        self.endpoint.add_prefix_listener(self, self._prefix)
        self.max_peers = settings.max_peers
        self.anonymize = settings.anonymize
        if settings.anonymize:
            set_anonymity = getattr(self.endpoint, "set_anonymity", None)  # py-ipv8's TunnelEndpoint
            if set_anonymity is not None:
                set_anonymity(self._prefix, True)
            else:
                self.logger.warning("Cannot anonymize community traffic without TunnelEndpoint")
        self.network.register_service_provider(community_id, self)
        self.network.blacklist_mids.append(settings.my_peer.mid)
        self.bootstrappers: list[Any] = []
        #: reason -> number of datagrams dropped for it
        self.drops: Counter[str] = Counter()
        self._warn_window = 0.0
        self._warn_count = 0
        self.decode_map: list[Callable[[Any, bytes], Any] | None] = [None] * 256
        self.add_message_handler(PunctureRequestPayload, self.on_old_puncture_request)
        self.add_message_handler(PuncturePayload, self.on_puncture)
        self.add_message_handler(NewPunctureRequestPayload, self.on_new_puncture_request)
        self.add_message_handler(NewPuncturePayload, self.on_new_puncture)
        self.add_message_handler(IntroductionRequestPayload, self.on_old_introduction_request)
        self.add_message_handler(IntroductionResponsePayload, self.on_old_introduction_response)
        self.add_message_handler(NewIntroductionRequestPayload, self.on_new_introduction_request)
        self.add_message_handler(NewIntroductionResponsePayload, self.on_new_introduction_response)
        for msg_id in DEPRECATED_MESSAGE_NAMES:
            self.add_message_handler(msg_id, self.on_deprecated_message)
        self.deprecated_message_names = dict(DEPRECATED_MESSAGE_NAMES)

    def get_prefix(self) -> bytes:
        return self._prefix

    async def unload(self) -> None:
        while self.bootstrappers:
            self.bootstrappers.pop().unload()
        await super().unload()

    def add_message_handler(self, msg_num: int | type, callback: Callable[[Any, bytes], Any]) -> None:
        """Route message ``msg_num`` (an id 0-255 or a payload class with ``msg_id``) to ``callback``."""
        if not isinstance(msg_num, int):
            if not hasattr(msg_num, "msg_id"):
                raise RuntimeError(f"Attempted to add a handler for Payload {msg_num}, which does not specify a "
                                   "msg_id!")
            msg_id = msg_num.msg_id
        else:
            if not 0 <= msg_num <= 255:
                raise RuntimeError(f"Attempted to add a handler for message number {msg_num}, which is not a byte!")
            msg_id = msg_num
        if self.decode_map[msg_id]:
            raise RuntimeError(f"Attempted to add a handler for message number {msg_id}, "
                               f"already mapped to {self.decode_map[msg_id]}!")
        self.decode_map[msg_id] = callback

    def _may_warn(self) -> bool:
        now = time.monotonic()
        if now - self._warn_window >= 1.0:
            self._warn_window = now
            self._warn_count = 0
        self._warn_count += 1
        return self._warn_count <= self.warnings_per_second

    def on_deprecated_message(self, source_address: Any, data: bytes) -> None:
        self.drops["deprecated"] += 1
        if self._may_warn():
            self.logger.warning("Received deprecated message: %s from (%s, %d)",
                                self.deprecated_message_names[data[MESSAGE_ID_OFFSET]], *source_address)

    # --- bootstrapping ---

    def bootstrap(self) -> None:
        for bootstrapper in self.bootstrappers:
            self.register_anonymous_task(f"bootstrap {bootstrapper!r}", self._bootstrap, bootstrapper)

    async def _bootstrap(self, bootstrapper: Any) -> None:
        initialized = ensure_future(bootstrapper.initialize(self))
        addresses = await bootstrapper.get_addresses(self, 60.0)
        for address in (islice(addresses, self.max_peers) if self.max_peers > 0 else addresses):
            self.walk_to(address)
        await initialized

    def ensure_blacklisted(self, address: Any) -> None:
        if address not in self.network.blacklist:
            self.network.blacklist.append(address)

    # --- own addresses ---

    def guess_address(self, interface: str) -> Any:
        if interface == "UDPIPv4" and isinstance(ip_address(self._get_lan_address()[0]), IPv4Address):
            return UDPv4Address(*self._get_lan_address())
        if interface == "UDPIPv6" and isinstance(ip_address(self.get_ipv6_address()[0]), IPv6Address):
            return UDPv6Address(*self.get_ipv6_address()[:2])
        return None

    def my_preferred_address(self) -> Any:
        interfaces = getattr(self.endpoint, "interfaces", None)
        if not interfaces:
            return self.my_estimated_wan
        for interface in interfaces:
            if INTERFACES[interface] not in self.my_peer.addresses:
                address = self.guess_address(interface)
                if address is not None:
                    self.my_peer.address = address
        return self.my_peer.address

    # --- packet builders ---

    def _auth(self) -> BinMemberAuthenticationPayload:
        return BinMemberAuthenticationPayload(self.my_peer.public_key.key_to_bin())

    def create_introduction_request(self, socket_address: Any, extra_bytes: bytes = b"", new_style: bool = False,
                                    prefix: bytes | None = None) -> bytes:
        global_time = self.claim_global_time() % 65536
        if new_style or isinstance(socket_address, UDPv6Address):
            payload: Any = NewIntroductionRequestPayload(socket_address, self.my_estimated_lan,
                                                         self.my_preferred_address(), global_time,
                                                         **_UNUSED_REQUEST_FLAGS, extra_bytes=extra_bytes)
        else:
            payload = IntroductionRequestPayload(socket_address, self.my_estimated_lan, self.my_estimated_wan, True,
                                                 "unknown", global_time, extra_bytes, supports_new_style=new_style)
        return self._ez_pack(prefix or self._prefix, payload.msg_id,
                             [self._auth(), GlobalTimeDistributionPayload(global_time), payload])

    def create_introduction_response(self, lan_socket_address: Any, socket_address: Any, identifier: int,
                                     introduction: Peer | None = None, extra_bytes: bytes = b"",
                                     prefix: bytes | None = None, new_style: bool = False) -> bytes:
        global_time = self.claim_global_time() % 65536
        introduction_lan: Any = _NO_ADDRESS
        introduction_wan: Any = _NO_ADDRESS
        if not introduction:
            other = self.network.get_verified_by_address(socket_address)
            introduction = self.get_peer_for_introduction(exclude=other, new_style=new_style)
        if introduction:
            if isinstance(introduction.address, UDPv4Address) and self.address_is_lan(introduction.address[0]):
                introduction_lan = introduction.address
                introduction_wan = (self.my_estimated_wan[0], introduction_lan[1])
            else:
                introduction_lan = introduction.addresses.get(UDPv4LANAddress, introduction_lan)
                introduction_wan = introduction.address
        new_style_intro = introduction.new_style_intro if introduction else False
        if new_style:
            payload: Any = NewIntroductionResponsePayload(socket_address, self.my_estimated_lan,
                                                          self.my_preferred_address(), introduction_lan,
                                                          introduction_wan, identifier, new_style_intro,
                                                          **_UNUSED_RESPONSE_FLAGS, extra_bytes=extra_bytes)
        else:
            payload = IntroductionResponsePayload(socket_address, self.my_estimated_lan, self.my_estimated_wan,
                                                  introduction_lan, introduction_wan, "unknown", identifier,
                                                  extra_bytes, intro_supports_new_style=new_style_intro,
                                                  peer_limit_reached=0 <= self.max_peers <= len(self.get_peers()))
        auth, dist = self._auth(), GlobalTimeDistributionPayload(global_time)
        if introduction:
            self.endpoint.send(introduction.address,
                               self.create_puncture_request(lan_socket_address, socket_address, identifier,
                                                            prefix=prefix, new_style=new_style))
        return self._ez_pack(prefix or self._prefix, payload.msg_id, [auth, dist, payload])

    def create_puncture(self, lan_walker: Any, wan_walker: Any, identifier: int, new_style: bool = False) -> bytes:
        global_time = self.claim_global_time()
        payload: Any = (NewPuncturePayload if new_style else PuncturePayload)(lan_walker, wan_walker, identifier)
        return self._ez_pack(self._prefix, payload.msg_id,
                             [self._auth(), GlobalTimeDistributionPayload(global_time), payload])

    def create_puncture_request(self, lan_walker: Any, wan_walker: Any, identifier: int,
                                prefix: bytes | None = None, new_style: bool = False) -> bytes:
        global_time = self.claim_global_time()
        if new_style or not isinstance(lan_walker, UDPv4Address) or not isinstance(wan_walker, UDPv4Address):
            payload: Any = NewPunctureRequestPayload(lan_walker, wan_walker, identifier)
        else:
            payload = PunctureRequestPayload(lan_walker, wan_walker, identifier)
        return self._ez_pack(prefix or self._prefix, payload.msg_id,
                             [GlobalTimeDistributionPayload(global_time), payload], False)

    # --- user hooks ---

    def introduction_request_callback(self, peer: Peer, dist: Any, payload: Any) -> None:
        """Called after an introduction request was answered."""

    def introduction_response_callback(self, peer: Peer, dist: Any, payload: Any) -> None:
        """Called after an introduction response was processed."""

    # --- discovery handlers ---

    @lazy_wrapper(GlobalTimeDistributionPayload, IntroductionRequestPayload)
    def on_old_introduction_request(self, peer: Peer, dist: Any, payload: Any) -> None:
        if payload.supports_new_style:
            peer.new_style_intro = True
        self.on_introduction_request(peer, dist, payload)

    @lazy_wrapper(GlobalTimeDistributionPayload, NewIntroductionRequestPayload)
    def on_new_introduction_request(self, peer: Peer, dist: Any, payload: Any) -> None:
        peer.new_style_intro = True
        self.on_introduction_request(peer, dist, payload)

    def on_introduction_request(self, peer: Peer, dist: Any, payload: Any) -> None:
        if 0 <= self.max_peers < len(self.get_peers()):
            self.drops["max_peers"] += 1
            self.logger.debug("Dropping introduction request from (%s, %d): too many peers!",
                              peer.address[0], peer.address[1])
            return
        if isinstance(payload.source_lan_address, UDPv4Address):
            peer.address = UDPv4LANAddress(*payload.source_lan_address)
        self.network.add_verified_peer(peer)
        self.network.discover_services(peer, [self.community_id])
        packet = self.create_introduction_response(payload.destination_address, peer.address, payload.identifier,
                                                   new_style=peer.new_style_intro)
        self.endpoint.send(peer.address, packet)
        self.introduction_request_callback(peer, dist, payload)

    @lazy_wrapper(GlobalTimeDistributionPayload, IntroductionResponsePayload)
    def on_old_introduction_response(self, peer: Peer, dist: Any, payload: Any) -> None:
        if payload.supports_new_style:
            peer.new_style_intro = True
        self.on_introduction_response(peer, dist, payload)

    @lazy_wrapper(GlobalTimeDistributionPayload, NewIntroductionResponsePayload)
    def on_new_introduction_response(self, peer: Peer, dist: Any, payload: Any) -> None:
        peer.new_style_intro = True
        self.on_introduction_response(peer, dist, payload)

    def on_introduction_response(self, peer: Peer, dist: Any, payload: Any) -> None:
        destination = payload.destination_address
        if isinstance(destination, UDPv4Address) and not self.address_in_lan_subnets(destination[0]):
            self.my_estimated_wan = destination
        self.my_peer.address = destination
        if peer.new_style_intro:
            self._maybe_switch_interface(peer, payload)
        self.network.add_verified_peer(peer)
        self.network.discover_services(peer, [self.community_id])
        lan, wan = payload.lan_introduction_address, payload.wan_introduction_address
        my_wan_ip = self.my_estimated_wan[0]
        introductions = []
        if wan != _NO_ADDRESS and wan[0] != my_wan_ip:
            if lan != _NO_ADDRESS:
                introductions.append(lan)
            introductions.append(wan)
        elif lan != _NO_ADDRESS and wan[0] == my_wan_ip:
            introductions.append(lan)
        elif wan != _NO_ADDRESS:
            introductions.append(wan)
            introductions.append(UDPv4Address(self.my_estimated_lan[0], wan[1]))
        for introduction in introductions:
            self.network.discover_address(peer, introduction, self.community_id, payload.intro_supports_new_style)
        self.introduction_response_callback(peer, dist, payload)

    def _maybe_switch_interface(self, peer: Peer, payload: Any) -> None:
        requested = type(payload.source_wan_address)
        interface = FAST_ADDR_TO_INTERFACE.get(requested)
        if (requested is type(peer.address) or payload.source_wan_address == peer.address or interface is None
                or interface not in getattr(self.endpoint, "interfaces", {})):
            return
        self.network.discover_address(peer, payload.source_wan_address, self.community_id, True)
        my_address = self.my_peer.addresses.get(requested, self.guess_address(interface))
        if my_address:
            self.endpoint.send(peer.address, self.create_puncture_request(_NO_ADDRESS, my_address,
                                                                          payload.identifier, new_style=True))

    @lazy_wrapper(GlobalTimeDistributionPayload, PuncturePayload)
    def on_puncture(self, peer: Peer, dist: Any, payload: Any) -> None:
        """A puncture only opens a NAT; nothing to do."""

    @lazy_wrapper(GlobalTimeDistributionPayload, NewPuncturePayload)
    def on_new_puncture(self, peer: Peer, dist: Any, payload: Any) -> None:
        """A puncture only opens a NAT; nothing to do."""

    @lazy_wrapper_unsigned(GlobalTimeDistributionPayload, PunctureRequestPayload)
    def on_old_puncture_request(self, source_address: Any, dist: Any, payload: Any) -> None:
        self.on_puncture_request(source_address, dist, payload)

    @lazy_wrapper_unsigned(GlobalTimeDistributionPayload, NewPunctureRequestPayload)
    def on_new_puncture_request(self, source_address: Any, dist: Any, payload: Any) -> None:
        self.on_puncture_request(source_address, dist, payload, True)

    def on_puncture_request(self, source_address: Any, dist: Any, payload: Any, new_style: bool = False) -> None:
        target = payload.wan_walker_address
        if payload.wan_walker_address[0] == self.my_estimated_wan[0]:
            target = payload.lan_walker_address
        self.endpoint.send(target, self.create_puncture(self.my_estimated_lan, payload.wan_walker_address,
                                                        payload.identifier, new_style))

    # --- receive ---

    #: ``on_packet(packet, warn_unknown=True)``: dispatch one datagram to the handler of its message id, never
    #: raising; what cannot be handled is counted in ``drops`` by reason (compiled in ``_receive_c``).
    on_packet = _receive.dispatch

    # --- walking ---

    def walk_to(self, address: Any) -> None:
        """Send an introduction request to ``address`` (new style if it is known to speak it)."""
        self.endpoint.send(address, self.create_introduction_request(address,
                                                                     new_style=self.network.is_new_style(address)))

    def send_introduction_request(self, peer: Peer) -> None:
        self.endpoint.send(peer.address, self.create_introduction_request(peer.address,
                                                                          new_style=peer.new_style_intro))

    def get_new_introduction(self, from_peer: Peer | None = None) -> None:
        if not from_peer:
            available = self.get_peers()
            if not available:
                self.bootstrap()
                return
            if any(bootstrapper.initialized for bootstrapper in self.bootstrappers) and random() < 0.05:
                for bootstrapper in self.bootstrappers:
                    bootstrapper.keep_alive(self)
                return
            from_peer = choice(available)
        self.send_introduction_request(from_peer)

    def get_peer_for_introduction(self, exclude: Peer | None = None, new_style: bool = False) -> Peer | None:
        network = self.network
        if type(self).get_peers is Community.get_peers and isinstance(network, Network) \
                and type(network).get_peers_for_service is Network.get_peers_for_service:
            # the same choice without a pass over every peer (O(peers) per introduction request otherwise)
            return network.random_peer_for_service(self.community_id, exclude, not new_style)
        available = [peer for peer in self.get_peers()
                     if peer != exclude and (new_style or isinstance(peer.address, UDPv4Address))]
        return choice(available) if available else None

    def get_walkable_addresses(self) -> list[Any]:
        return self.network.get_walkable_addresses(self.community_id)

    def get_peers(self) -> list[Peer]:
        return self.network.get_peers_for_service(self.community_id)
