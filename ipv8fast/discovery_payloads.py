"""The DiscoveryCommunity's payloads (py-ipv8's ``ipv8.peerdiscovery.payload``); layouts in wire.md §6."""
from __future__ import annotations

import struct
from typing import Any

from ._core.serializable import Payload
from .messages import IntroductionRequestPayload, decode_connection_type, encode_connection_type

_ID_AND_COUNT = struct.Struct(">20sI")


def _split(blob: bytes, size: int) -> list[bytes]:
    return [blob[index:index + size] for index in range(0, len(blob), size)]


class SimilarityRequestPayload(Payload):
    """Message 1: the community ids the sender runs, as concatenated 20-byte ids."""

    msg_id = 1
    format_list = ["H", "ipv4", "ipv4", "bits", "raw"]

    def __init__(self, identifier: int, lan_address: Any, wan_address: Any, connection_type: str,
                 preference_list: list[bytes]) -> None:
        self.identifier = identifier % 65536
        self.lan_address = lan_address
        self.wan_address = wan_address
        self.connection_type = connection_type
        self.preference_list = preference_list

    def to_pack_list(self) -> list[tuple]:
        bit_0, bit_1 = encode_connection_type(self.connection_type)
        return [("H", self.identifier), ("ipv4", self.lan_address), ("ipv4", self.wan_address),
                ("bits", bit_0, bit_1, 0, 0, 0, 0, 0, 0), ("raw", b"".join(self.preference_list))]

    @classmethod
    def from_unpack_list(cls, identifier: int, lan_address: Any, wan_address: Any, bit_0: int, bit_1: int,
                         *rest: Any) -> SimilarityRequestPayload:
        return cls(identifier, lan_address, wan_address, decode_connection_type(bit_0, bit_1), _split(rest[-1], 20))


class SimilarityResponsePayload(Payload):
    """Message 2: the responder's community ids, and (always empty from py-ipv8) overlap records."""

    msg_id = 2
    format_list = ["H", "varlenHx20", "raw"]

    def __init__(self, identifier: int, preference_list: list[bytes], tb_overlap: list[tuple[bytes, int]]) -> None:
        self.identifier = identifier % 65536
        self.preference_list = preference_list
        self.tb_overlap = tb_overlap

    def to_pack_list(self) -> list[tuple]:
        overlap = b"".join(_ID_AND_COUNT.pack(community_id, count) for community_id, count in self.tb_overlap)
        return [("H", self.identifier), ("varlenHx20", b"".join(self.preference_list)), ("raw", overlap)]

    @classmethod
    def from_unpack_list(cls, identifier: int, preference_list: bytes, tb_overlap: bytes) -> SimilarityResponsePayload:
        records = [_ID_AND_COUNT.unpack(record) for record in _split(tb_overlap, 24) if len(record) == 24]
        return cls(identifier, _split(preference_list, 20), records)


class PingPayload(Payload):
    """Message 3: a liveness check (sent unsigned)."""

    msg_id = 3
    format_list = ["H"]

    def __init__(self, identifier: int) -> None:
        self.identifier = identifier % 65536

    def to_pack_list(self) -> list[tuple]:
        return [("H", self.identifier)]

    @classmethod
    def from_unpack_list(cls, identifier: int) -> PingPayload:
        return cls(identifier)


class PongPayload(PingPayload):
    """Message 4: the answer to a ping, echoing its identifier."""

    msg_id = 4


class DiscoveryIntroductionRequestPayload(IntroductionRequestPayload):
    """The 2014 variant of message 246: ``'Y'`` and the mid of a peer to introduce before the usual body."""

    format_list = ["c20s", "ipv4", "ipv4", "ipv4", "bits", "H", "raw"]

    def __init__(self, introduce_to: Any, destination_address: Any, source_lan_address: Any, source_wan_address: Any,  # noqa: PLR0913 - py-ipv8's signature
                 advice: bool, connection_type: str, identifier: int, extra_bytes: bytes) -> None:
        super().__init__(destination_address, source_lan_address, source_wan_address, advice, connection_type,
                         identifier, extra_bytes)
        self.introduce_to = introduce_to

    def to_pack_list(self) -> list[tuple]:
        return [("c20s", b"Y", self.introduce_to), *super().to_pack_list()]

    @classmethod
    def from_unpack_list(  # type: ignore[override]  # noqa: PLR0913 - py-ipv8's signature (introduce_to first)
            cls, introduce_to: tuple, destination_address: Any, source_lan_address: Any,
                         source_wan_address: Any, bit_0: int, bit_1: int, supports_new_style: int, dflag1: int,
                         dflag2: int, tunnel: int, sync: int, advice: int, identifier: int,
                         extra_bytes: bytes) -> DiscoveryIntroductionRequestPayload:
        # Like py-ipv8, keep the unpacked ('Y', mid) tuple minus its marker: a 1-tuple, never a peer's mid.
        return cls(introduce_to[1:], destination_address, source_lan_address, source_wan_address, not advice,
                   decode_connection_type(bit_0, bit_1), identifier, extra_bytes)
