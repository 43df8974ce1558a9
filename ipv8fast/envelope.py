"""The datagram envelope: ``prefix(22) ‖ message id ‖ [auth block] ‖ payloads ‖ [signature]`` (wire.md §1).

The parsing and joining helpers run on the active envelope twin; signing itself belongs to the keys.
"""
from __future__ import annotations

from ._core.envelope import join_packet, read_auth, split_header, split_signature
from ._core.wire import PREFIX_LENGTH

DEFAULT_VERSION = b"\x02"


def make_prefix(community_id: bytes, version: bytes = DEFAULT_VERSION) -> bytes:
    """The 22-byte prefix of a community: a zero byte, the version byte and the 20-byte community id."""
    if len(community_id) != 20 or len(version) != 1:
        raise ValueError("a prefix needs a 20-byte community id and a 1-byte version")
    return b"\x00" + version + community_id


__all__ = ["DEFAULT_VERSION", "PREFIX_LENGTH", "join_packet", "make_prefix", "read_auth", "split_header",
           "split_signature"]
