"""The datagram envelope: ``prefix(22) ‖ message id ‖ [auth block] ‖ payloads ‖ [signature]`` (wire.md §1).

The parsing and joining helpers run on the active serializer twin; signing itself belongs to the keys.
"""
from __future__ import annotations

from . import _twins

_engine = _twins.load("serializer")

PREFIX_LENGTH: int = _engine.PREFIX_LENGTH
DEFAULT_VERSION = b"\x02"

split_header = _engine.split_header
read_auth = _engine.read_auth
split_signature = _engine.split_signature
join_packet = _engine.join_packet


def make_prefix(community_id: bytes, version: bytes = DEFAULT_VERSION) -> bytes:
    """The 22-byte prefix of a community: a zero byte, the version byte and the 20-byte community id."""
    if len(community_id) != 20 or len(version) != 1:
        raise ValueError("a prefix needs a 20-byte community id and a 1-byte version")
    return b"\x00" + version + community_id


__all__ = ["DEFAULT_VERSION", "PREFIX_LENGTH", "join_packet", "make_prefix", "read_auth", "split_header",
           "split_signature"]
