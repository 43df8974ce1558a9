# cython: language_level=3
"""Receive-path core (compiled twin of ``_receive_py``): open a datagram into its payloads.

Same contract as ``_receive_py``: payloads must fill the space between the auth block and the signature
exactly (PackError), the signature must verify (PacketDecodingError), an unusable key is a BadKeyError.
"""
from ipv8fast._packet_errors import BadKeyError, PacketDecodingError
from ipv8fast._serializable import PackError
from ipv8fast.keys import PRIVATE_KEY_PREFIXES, public_key_cache

__all__ = ["open_signed", "open_unsigned"]

cdef object _get_key = public_key_cache.get
cdef tuple _PRIVATE = PRIVATE_KEY_PREFIXES


cpdef tuple open_signed(object serializer, object payload_classes, object data):
    """``(public key bin, [payloads])`` of a signed datagram, or raise."""
    if type(data) is not bytes:
        data = bytes(data)
    cdef Py_ssize_t size = len(data)
    cdef Py_ssize_t key_length, start, end
    if size < 25:
        raise PackError(f"a {size}-byte datagram has no auth block")
    key_length = (<unsigned char>data[23] << 8) | <unsigned char>data[24]
    start = 25 + key_length
    if start > size:
        raise PackError(f"auth block of {key_length} bytes runs past the end of a {size}-byte datagram")
    key_bin = data[25:start]
    try:
        if key_bin.startswith(_PRIVATE):
            raise ValueError("private key material")
        key = _get_key(key_bin)
    except Exception as exc:
        raise BadKeyError(f"unusable public key in the auth block: {exc}") from None
    cdef Py_ssize_t signature_length = key.signature_length
    end = size - signature_length
    if end < start:
        raise PackError(f"a {size}-byte datagram cannot hold a {signature_length}-byte signature")
    signed = data[:end]
    unpacked = serializer.unpack_serializable_list(payload_classes, signed, start)
    try:
        valid = key.verify(data[end:], signed)
    except Exception:
        valid = False
    if not valid:
        raise PacketDecodingError(f"Incoming packet {[cls.__name__ for cls in payload_classes]} "
                                  "has an invalid signature")
    return key_bin, unpacked


cpdef list open_unsigned(object serializer, object payload_classes, object data):
    """The payloads of an unsigned datagram, or PackError."""
    return serializer.unpack_serializable_list(payload_classes, data, 23)
