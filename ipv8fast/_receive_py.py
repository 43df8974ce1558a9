"""Receive-path core (pure twin of ``_receive_c``): open a datagram into its payloads.

``open_signed``: ``prefix ‖ id ‖ u16 L ‖ key(L) ‖ payloads ‖ signature``. The payloads must fill the space
between the auth block and the signature exactly (PackError otherwise); then the signature, whose length
the key implies, must verify over every byte before it (PacketDecodingError otherwise). A key that does
not parse raises BadKeyError. ``open_unsigned``: payloads from offset 23 to the end, exactly.
"""
from __future__ import annotations

from typing import Any

from ._packet_errors import BadKeyError, PacketDecodingError
from ._serializable import PackError
from .keys import PRIVATE_KEY_PREFIXES, public_key_cache

__all__ = ["open_signed", "open_unsigned"]

_PAYLOAD_START = 23
_get_key = public_key_cache.get


def open_signed(serializer: Any, payload_classes: Any, data: bytes) -> tuple[bytes, list]:
    """``(public key bin, [payloads])`` of a signed datagram, or raise (see module doc)."""
    if type(data) is not bytes:
        data = bytes(data)
    size = len(data)
    if size < _PAYLOAD_START + 2:
        raise PackError(f"a {size}-byte datagram has no auth block")
    key_length = (data[23] << 8) | data[24]
    start = _PAYLOAD_START + 2 + key_length
    if start > size:
        raise PackError(f"auth block of {key_length} bytes runs past the end of a {size}-byte datagram")
    key_bin = data[25:start]
    try:
        if key_bin.startswith(PRIVATE_KEY_PREFIXES):
            raise ValueError("private key material")
        key = _get_key(key_bin)
    except Exception as exc:  # noqa: BLE001 - anything unparsable is a bad key
        raise BadKeyError(f"unusable public key in the auth block: {exc}") from None
    end = size - key.signature_length
    if end < start:
        raise PackError(f"a {size}-byte datagram cannot hold a {key.signature_length}-byte signature")
    signed = data[:end]
    unpacked = serializer.unpack_serializable_list(payload_classes, signed, start)
    try:
        valid = key.verify(data[end:], signed)
    except Exception:  # noqa: BLE001
        valid = False
    if not valid:
        raise PacketDecodingError(f"Incoming packet {[cls.__name__ for cls in payload_classes]} "
                                  "has an invalid signature")
    return key_bin, unpacked


def open_unsigned(serializer: Any, payload_classes: Any, data: bytes) -> list:
    """The payloads of an unsigned datagram, or PackError."""
    return serializer.unpack_serializable_list(payload_classes, data, _PAYLOAD_START)
