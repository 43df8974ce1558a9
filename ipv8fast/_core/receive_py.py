"""Receive-path core (pure twin of ``receive_c``): from a datagram to its handler.

* ``notify_listeners(endpoint, packet)``: hand ``(address, data)`` to the listeners of its 22-byte prefix, or
  to the general ones; a listener that raises is counted in ``endpoint.listener_errors``.
* ``dispatch(community, packet, warn_unknown)``: a Community's ``on_packet``: prefix and message id checks,
  then the handler of the id; every datagram that cannot be handled is counted in ``community.drops`` by
  reason.
* ``open_signed``: ``prefix ‖ id ‖ u16 L ‖ key(L) ‖ payloads ‖ signature``. The payloads must fill the space
  between the auth block and the signature exactly (PackError otherwise); then the signature, whose length
  the key implies, must verify over every byte before it (PacketDecodingError otherwise). A key that does
  not parse raises BadKeyError. ``open_unsigned``: payloads from ``PAYLOAD_OFFSET`` to the end, exactly.
* ``peer_for``: the Network's own Peer for a verified key (the source address added), else a fresh one.
"""
from __future__ import annotations

import sys
from asyncio import ensure_future, iscoroutine
from time import time
from typing import Any

from ..keys import PRIVATE_KEY_PREFIXES, public_key_cache
from ..peer import Peer
from .packet_errors import BadKeyError, PacketDecodingError
from .serializable import PackError
from .wire import AUTH_OFFSET, MESSAGE_ID_OFFSET, PAYLOAD_OFFSET, PREFIX_LENGTH

__all__ = ["dispatch", "notify_listeners", "open_signed", "open_unsigned", "peer_for"]

_get_key = public_key_cache.get


def notify_listeners(endpoint: Any, packet: tuple[Any, bytes]) -> None:
    """Hand ``(address, data)`` to the listeners of its prefix, or to the general ones."""
    if not endpoint.is_open():
        return
    prefix = packet[1][:endpoint.prefixlen]
    prefix_map = endpoint._prefix_map
    general = endpoint._listeners
    for listener in prefix_map.get(prefix, general):
        if (endpoint._prefix_map is not prefix_map or endpoint._listeners is not general) \
                and listener not in endpoint._prefix_map.get(prefix, endpoint._listeners):
            continue  # removed by an earlier listener of this same delivery
        try:
            listener.on_packet(packet)
        except Exception:
            endpoint.listener_errors += 1
            endpoint._logger.debug("listener %r failed on a packet", listener, exc_info=True)


def dispatch(community: Any, packet: tuple[Any, bytes], warn_unknown: bool = True) -> None:
    """Dispatch one datagram to the handler of its message id; never raises."""
    source_address, data = packet
    probable_peer = community.network.get_verified_by_address(source_address)
    if probable_peer is not None:
        probable_peer.last_response = time()
    if data[:PREFIX_LENGTH] != community._prefix:
        community.drops["wrong_prefix"] += 1
        return
    if len(data) <= MESSAGE_ID_OFFSET:
        community.drops["no_message_id"] += 1
        return
    handler = community.decode_map[data[MESSAGE_ID_OFFSET]]
    if handler is None:
        community.drops["unknown_message"] += 1
        if warn_unknown and community._may_warn():
            community.logger.warning("Received unknown message: %d from (%s, %d)", data[MESSAGE_ID_OFFSET],
                                     *source_address)
        return
    try:
        result = handler(source_address, data)
    except PacketDecodingError:
        community.drops["bad_signature"] += 1
        return
    except BadKeyError:
        community.drops["bad_key"] += 1
        return
    except PackError:
        community.drops["malformed"] += 1
        return
    except Exception:
        community.drops["handler_error"] += 1
        community.logger.exception("Exception occurred while handling packet!", exc_info=sys.exc_info())
        return
    if result is not None and iscoroutine(result):
        community.register_anonymous_task("on_packet", ensure_future(result), ignore=(Exception,))


def peer_for(overlay: Any, key_bin: bytes, source_address: Any) -> Peer:
    """The verified Peer with this key (``source_address`` added to it), or a new unregistered Peer."""
    peer = overlay.network.verified_by_public_key_bin.get(key_bin)
    if peer is None:
        return Peer(key_bin, source_address)
    peer.add_address(source_address)
    return peer


def open_signed(serializer: Any, payload_classes: Any, data: bytes) -> tuple[bytes, list]:
    """``(public key bin, [payloads])`` of a signed datagram, or raise (see module doc)."""
    if type(data) is not bytes:
        data = bytes(data)
    size = len(data)
    if size < AUTH_OFFSET + 2:
        raise PackError(f"a {size}-byte datagram has no auth block")
    key_length = (data[AUTH_OFFSET] << 8) | data[AUTH_OFFSET + 1]
    start = AUTH_OFFSET + 2 + key_length
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
    return serializer.unpack_serializable_list(payload_classes, data, PAYLOAD_OFFSET)
