# cython: language_level=3
"""Send-path core (compiled twin of ``send_py``): payloads to a datagram, a datagram to the endpoint.

Same contract as ``send_py``. A curve25519 key signs straight into the datagram (``ed25519_c``), and
``ez_send`` packs inline unless the overlay's class overrides ``ezr_pack``.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.string cimport memcpy

from ipv8fast._core.ed25519_c cimport Signer

from ipv8fast.messages import BinMemberAuthenticationPayload

__all__ = ["ez_send", "ezr_pack", "set_default_ez_pack"]

cdef object _default_ez_pack = None


def set_default_ez_pack(function) -> None:
    """Tell the packer which ``_ez_pack`` is EZPackOverlay's own (anything else is an override)."""
    global _default_ez_pack
    _default_ez_pack = function


cdef bytes _pack(overlay, object msg_num, tuple payloads, bint sig):
    cdef bytes packet, signed
    cdef Py_ssize_t length
    if type(overlay)._ez_pack is not _default_ez_pack:  # an override must see the auth payload
        if sig:
            payloads = (BinMemberAuthenticationPayload(overlay.my_peer.public_key.key_to_bin()),) + payloads
        return overlay._ez_pack(overlay.get_prefix(), msg_num, payloads, sig)
    if not 0 <= msg_num <= 255:
        raise ValueError(f"message number {msg_num} is not a byte")
    if not sig:
        return overlay.serializer.pack_packet(overlay.get_prefix(), msg_num, payloads)
    my_peer = overlay.my_peer
    packet = overlay.serializer.pack_packet(overlay.get_prefix(), msg_num, payloads,
                                            my_peer.public_key.key_to_bin())
    key = my_peer.key
    signer = getattr(key, "_sign", None)
    if type(signer) is not Signer:
        return packet + key.signature(packet)
    length = PyBytes_GET_SIZE(packet)
    signed = PyBytes_FromStringAndSize(NULL, length + 64)
    memcpy(PyBytes_AS_STRING(signed), PyBytes_AS_STRING(packet), length)
    (<Signer>signer).sign_into(<const unsigned char *>PyBytes_AS_STRING(packet), length,
                               <unsigned char *>PyBytes_AS_STRING(signed) + length)
    return signed


def ezr_pack(overlay, msg_num, *payloads, bint sig=True):
    """``prefix ‖ msg_num ‖ [auth] ‖ payloads ‖ [signature]``."""
    return _pack(overlay, msg_num, payloads, sig)


def ez_send(overlay, peer, *payloads, bint sig=True):
    """Send ``payloads`` to ``peer`` under the last payload's ``msg_id``."""
    if not payloads:
        raise IndexError("tuple index out of range")
    msg_num = payloads[len(payloads) - 1].msg_id
    if type(overlay).ezr_pack is ezr_pack:
        packet = _pack(overlay, msg_num, payloads, sig)
    else:
        packet = overlay.ezr_pack(msg_num, *payloads, sig=sig)
    overlay.endpoint.send(peer.address, packet)
