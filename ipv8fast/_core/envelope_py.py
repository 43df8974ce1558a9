"""The datagram envelope's parse and join helpers (pure-Python twin of ``envelope_c``; wire.md §1).

``prefix(22) ‖ message id ‖ [u16 key length ‖ public key] ‖ payloads ‖ [signature]``. Every failure is a
PackError saying what is missing and where.
"""
from __future__ import annotations

import struct

from .serializable import PackError
from .wire import AUTH_OFFSET, MESSAGE_ID_OFFSET, PREFIX_LENGTH

__all__ = ["join_packet", "read_auth", "split_header", "split_signature"]

_KEY_LENGTH = struct.Struct(">H")


def split_header(packet: bytes) -> tuple[bytes, int]:
    """``(prefix, message id)`` of a datagram; PackError if it is shorter than prefix plus id."""
    if len(packet) <= MESSAGE_ID_OFFSET:
        raise PackError(f"a {len(packet)}-byte datagram has no message id")
    return bytes(packet[:PREFIX_LENGTH]), packet[MESSAGE_ID_OFFSET]


def read_auth(packet: bytes, offset: int = AUTH_OFFSET) -> tuple[bytes, int]:
    """The public key bin of a signed datagram's auth block and the offset of the first payload."""
    _need(packet, offset, 2, "auth block length")
    length = _KEY_LENGTH.unpack_from(packet, offset)[0]
    _need(packet, offset + 2, length, "public key")
    return bytes(packet[offset + 2:offset + 2 + length]), offset + 2 + length


def split_signature(packet: bytes, signature_length: int) -> tuple[bytes, bytes]:
    """``(signed part, signature)``: the signature is the last ``signature_length`` bytes."""
    if signature_length < 0 or len(packet) < AUTH_OFFSET + signature_length:
        raise PackError(f"a {len(packet)}-byte datagram cannot hold a {signature_length}-byte signature")
    cut = len(packet) - signature_length
    return bytes(packet[:cut]), bytes(packet[cut:])


def join_packet(prefix: bytes, msg_id: int, body: bytes, public_key_bin: bytes | None = None) -> bytes:
    """``prefix ‖ id ‖ [u16 length ‖ key] ‖ body`` (for a signed message, the bytes to sign)."""
    if len(prefix) != PREFIX_LENGTH:
        raise PackError(f"a prefix is {PREFIX_LENGTH} bytes, not {len(prefix)}")
    if not 0 <= msg_id <= 255:
        raise PackError(f"message id {msg_id} is not in 0..255")
    if public_key_bin is None:
        return b"".join((prefix, bytes((msg_id,)), body))
    if len(public_key_bin) > 0xFFFF:
        raise PackError(f"public key length of {len(public_key_bin)} does not fit a 2-byte prefix")
    return b"".join((prefix, bytes((msg_id,)), _KEY_LENGTH.pack(len(public_key_bin)), public_key_bin, body))


def _need(data: bytes, offset: int, size: int, what: str) -> None:
    if offset < 0 or offset + size > len(data):
        raise PackError(f"{what} needs {size} bytes at offset {offset}, {max(0, len(data) - offset)} left")
