"""Send-path core (pure twin of ``send_c``): payloads to a datagram, a datagram to the endpoint.

``ezr_pack(overlay, msg_num, *payloads, sig=True)`` and ``ez_send(overlay, peer, *payloads, sig=True)`` are
EZPackOverlay's methods of those names. A subclass that overrides ``_ez_pack`` gets it called with the auth
payload in front (as in py-ipv8); otherwise the datagram is packed in one buffer by the serializer and, when
signed, the key's signature appended.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..messages import BinMemberAuthenticationPayload

__all__ = ["ez_send", "ezr_pack", "set_default_ez_pack"]

_default_ez_pack: Callable | None = None


def set_default_ez_pack(function: Callable) -> None:
    """Tell the packer which ``_ez_pack`` is EZPackOverlay's own (anything else is an override)."""
    global _default_ez_pack
    _default_ez_pack = function


def ezr_pack(overlay: Any, msg_num: int, *payloads: Any, sig: bool = True) -> bytes:
    """``prefix ‖ msg_num ‖ [auth] ‖ payloads ‖ [signature]``."""
    if type(overlay)._ez_pack is not _default_ez_pack:  # an override must see the auth payload
        if sig:
            payloads = (BinMemberAuthenticationPayload(overlay.my_peer.public_key.key_to_bin()), *payloads)
        return overlay._ez_pack(overlay.get_prefix(), msg_num, payloads, sig)
    if not 0 <= msg_num <= 255:
        raise ValueError(f"message number {msg_num} is not a byte")
    if not sig:
        return overlay.serializer.pack_packet(overlay.get_prefix(), msg_num, payloads)
    my_peer = overlay.my_peer
    packet = overlay.serializer.pack_packet(overlay.get_prefix(), msg_num, payloads, my_peer.public_key.key_to_bin())
    return packet + my_peer.key.signature(packet)


def ez_send(overlay: Any, peer: Any, *payloads: Any, sig: bool = True) -> None:
    """Send ``payloads`` to ``peer`` under the last payload's ``msg_id``."""
    overlay.endpoint.send(peer.address, overlay.ezr_pack(payloads[-1].msg_id, *payloads, sig=sig))
