"""The payloads every Community speaks: introduction/puncture (old and new style) and the packet headers.

py-ipv8 keeps these in ``ipv8.messaging.payload`` and ``ipv8.messaging.payload_headers``; the byte layouts
are in ``spec/wire.md`` §5. Old-style payloads store identifiers modulo 65536; the old introduction
request reads its ``advice`` bit inverted, as py-ipv8 does (nothing depends on the value).
"""
from __future__ import annotations

from typing import Any

from ._core.serializable import Payload
from .payload import VariablePayload, VariablePayloadWID, vp_compile

_CONNECTION_BITS = {"public": (1, 0), "symmetric-NAT": (1, 1)}
_CONNECTION_NAMES = {(0, 0): "unknown", (1, 0): "public", (1, 1): "symmetric-NAT"}


def encode_connection_type(connection_type: str) -> tuple[int, int]:
    """The two flag bits of a connection type ("unknown" for anything not known)."""
    return _CONNECTION_BITS.get(connection_type, (0, 0))


def decode_connection_type(bit_0: int, bit_1: int) -> str:
    """The connection type of two flag bits ("N/A" for the unused combination)."""
    return _CONNECTION_NAMES.get((bit_0, bit_1), "N/A")


@vp_compile
class BinMemberAuthenticationPayload(VariablePayload):
    """The sender's public key bin at the start of a signed message."""

    format_list = ["varlenH"]
    names = ["public_key_bin"]


@vp_compile
class GlobalTimeDistributionPayload(VariablePayload):
    """The sender's Lamport clock, first payload of the peer-discovery messages."""

    format_list = ["Q"]
    names = ["global_time"]


class IntroductionRequestPayload(Payload):
    """Old-style (IPv4) introduction request, message 246."""

    msg_id = 246
    format_list = ["ipv4", "ipv4", "ipv4", "bits", "H", "raw"]

    def __init__(self, destination_address: Any, source_lan_address: Any, source_wan_address: Any, advice: bool,  # noqa: PLR0913 - py-ipv8's signature
                 connection_type: str, identifier: int, extra_bytes: bytes,
                 supports_new_style: bool | int = True) -> None:
        self.destination_address = destination_address
        self.source_lan_address = source_lan_address
        self.source_wan_address = source_wan_address
        self.advice = advice
        self.connection_type = connection_type
        self.identifier = identifier % 65536
        self.extra_bytes = extra_bytes
        self.supports_new_style = supports_new_style

    def to_pack_list(self) -> list[tuple]:
        bit_0, bit_1 = encode_connection_type(self.connection_type)
        return [("ipv4", self.destination_address), ("ipv4", self.source_lan_address),
                ("ipv4", self.source_wan_address),
                ("bits", bit_0, bit_1, self.supports_new_style, 0, 0, 0, 0, self.advice),
                ("H", self.identifier), ("raw", self.extra_bytes)]

    @classmethod
    def from_unpack_list(cls, destination_address: Any, source_lan_address: Any, source_wan_address: Any,  # noqa: PLR0913 - py-ipv8's signature
                         bit_0: int, bit_1: int, supports_new_style: int, dflag1: int, dflag2: int, tunnel: int,
                         sync: int, advice: int, identifier: int, extra_bytes: bytes) -> IntroductionRequestPayload:
        return cls(destination_address, source_lan_address, source_wan_address, not advice,
                   decode_connection_type(bit_0, bit_1), identifier, extra_bytes, supports_new_style)


class IntroductionResponsePayload(Payload):
    """Old-style (IPv4) introduction response, message 245."""

    msg_id = 245
    format_list = ["ipv4", "ipv4", "ipv4", "ipv4", "ipv4", "bits", "H", "raw"]

    def __init__(self, destination_address: Any, source_lan_address: Any, source_wan_address: Any,  # noqa: PLR0913 - py-ipv8's signature
                 lan_introduction_address: Any, wan_introduction_address: Any, connection_type: str,
                 identifier: int, extra_bytes: bytes, supports_new_style: bool | int = True,
                 intro_supports_new_style: bool | int = False, peer_limit_reached: bool | int = False) -> None:
        self.destination_address = destination_address
        self.source_lan_address = source_lan_address
        self.source_wan_address = source_wan_address
        self.lan_introduction_address = lan_introduction_address
        self.wan_introduction_address = wan_introduction_address
        self.connection_type = connection_type
        self.identifier = identifier % 65536
        self.extra_bytes = extra_bytes
        self.supports_new_style = supports_new_style
        self.intro_supports_new_style = intro_supports_new_style
        self.peer_limit_reached = peer_limit_reached

    def to_pack_list(self) -> list[tuple]:
        bit_0, bit_1 = encode_connection_type(self.connection_type)
        return [("ipv4", self.destination_address), ("ipv4", self.source_lan_address),
                ("ipv4", self.source_wan_address), ("ipv4", self.lan_introduction_address),
                ("ipv4", self.wan_introduction_address),
                ("bits", bit_0, bit_1, 0, self.supports_new_style, self.intro_supports_new_style,
                 self.peer_limit_reached, 0, 0),
                ("H", self.identifier), ("raw", self.extra_bytes)]

    @classmethod
    def from_unpack_list(cls, destination_address: Any, source_lan_address: Any, source_wan_address: Any,  # noqa: PLR0913 - py-ipv8's signature
                         lan_introduction_address: Any, wan_introduction_address: Any, bit_0: int, bit_1: int,
                         unused_5: int, supports_new_style: int, intro_supports_new_style: int,
                         peer_limit_reached: int, unused_1: int, unused_0: int, identifier: int,
                         extra_bytes: bytes) -> IntroductionResponsePayload:
        return cls(destination_address, source_lan_address, source_wan_address, lan_introduction_address,
                   wan_introduction_address, decode_connection_type(bit_0, bit_1), identifier, extra_bytes,
                   supports_new_style, intro_supports_new_style, peer_limit_reached)


class PunctureRequestPayload(Payload):
    """Old-style puncture request, message 250 (sent unsigned)."""

    msg_id = 250
    format_list = ["ipv4", "ipv4", "H"]

    def __init__(self, lan_walker_address: Any, wan_walker_address: Any, identifier: int) -> None:
        self.lan_walker_address = lan_walker_address
        self.wan_walker_address = wan_walker_address
        self.identifier = identifier % 65536

    def to_pack_list(self) -> list[tuple]:
        return [("ipv4", self.lan_walker_address), ("ipv4", self.wan_walker_address), ("H", self.identifier)]

    @classmethod
    def from_unpack_list(cls, *args: Any) -> PunctureRequestPayload:
        return cls(*args)


class PuncturePayload(Payload):
    """Old-style puncture, message 249."""

    msg_id = 249
    format_list = ["ipv4", "ipv4", "H"]

    def __init__(self, source_lan_address: Any, source_wan_address: Any, identifier: int) -> None:
        self.source_lan_address = source_lan_address
        self.source_wan_address = source_wan_address
        self.identifier = identifier % 65536

    def to_pack_list(self) -> list[tuple]:
        return [("ipv4", self.source_lan_address), ("ipv4", self.source_wan_address), ("H", self.identifier)]

    @classmethod
    def from_unpack_list(cls, *args: Any) -> PuncturePayload:
        return cls(*args)


@vp_compile
class NewIntroductionRequestPayload(VariablePayloadWID):
    """New-style introduction request (IPv4 or IPv6), message 234: identifier before the flags."""

    msg_id = 234
    format_list = ["ip_address", "ip_address", "ip_address", "H", "bits", "raw"]
    names = ["destination_address", "source_lan_address", "source_wan_address", "identifier",
             "connection_type_0", "connection_type_1", "supports_new_style", "dflag1", "dflag2", "tunnel", "sync",
             "advice", "extra_bytes"]


@vp_compile
class NewIntroductionResponsePayload(VariablePayloadWID):
    """New-style introduction response, message 233: flag bit 7 says the introduced peer speaks new style."""

    msg_id = 233
    format_list = ["ip_address", "ip_address", "ip_address", "ip_address", "ip_address", "H", "bits", "raw"]
    names = ["destination_address", "source_lan_address", "source_wan_address", "lan_introduction_address",
             "wan_introduction_address", "identifier", "intro_supports_new_style", "flag1", "flag2", "flag3",
             "flag4", "flag5", "flag6", "flag7", "extra_bytes"]


@vp_compile
class NewPunctureRequestPayload(VariablePayloadWID):
    """New-style puncture request, message 232 (sent unsigned)."""

    msg_id = 232
    format_list = ["ip_address", "ip_address", "H"]
    names = ["lan_walker_address", "wan_walker_address", "identifier"]


@vp_compile
class NewPuncturePayload(VariablePayloadWID):
    """New-style puncture, message 231."""

    msg_id = 231
    format_list = ["ip_address", "ip_address", "H"]
    names = ["source_lan_address", "source_wan_address", "identifier"]
