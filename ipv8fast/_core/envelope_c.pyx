# cython: language_level=3
"""The datagram envelope's parse and join helpers (compiled twin of ``envelope_py``; same contract)."""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport uint8_t
from libc.string cimport memcpy

from ipv8fast._core.wire cimport AUTH_OFFSET, MESSAGE_ID_OFFSET, PREFIX_LENGTH

from ipv8fast._core import wire as _wire
from ipv8fast._core.serializable import PackError

__all__ = ["join_packet", "read_auth", "split_header", "split_signature"]

_wire.check_mirror(__name__, {"PREFIX_LENGTH": PREFIX_LENGTH, "MESSAGE_ID_OFFSET": MESSAGE_ID_OFFSET,
                              "AUTH_OFFSET": AUTH_OFFSET})


cdef bytes _as_bytes(object data, str what):
    if type(data) is bytes:
        return <bytes>data
    try:
        return bytes(data)
    except TypeError as exc:
        raise PackError(f"{what} must be bytes-like, not {type(data).__name__}") from exc


def split_header(packet):
    """``(prefix, message id)`` of a datagram; PackError if it is shorter than prefix plus id."""
    cdef bytes data = packet if type(packet) is bytes else bytes(packet)
    if PyBytes_GET_SIZE(data) <= MESSAGE_ID_OFFSET:
        raise PackError(f"a {PyBytes_GET_SIZE(data)}-byte datagram has no message id")
    return (PyBytes_FromStringAndSize(PyBytes_AS_STRING(data), PREFIX_LENGTH),
            <uint8_t>PyBytes_AS_STRING(data)[MESSAGE_ID_OFFSET])


def read_auth(packet, Py_ssize_t offset=AUTH_OFFSET):
    """The public key bin of a signed datagram's auth block and the offset of the first payload."""
    cdef bytes data = packet if type(packet) is bytes else bytes(packet)
    cdef Py_ssize_t end = PyBytes_GET_SIZE(data), length
    cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(data)
    if offset < 0 or offset + 2 > end:
        _short(offset, 2, end, "auth block length")
    length = (<Py_ssize_t>p[offset] << 8) | p[offset + 1]
    if offset + 2 + length > end:
        _short(offset + 2, length, end, "public key")
    return PyBytes_FromStringAndSize(<const char*>p + offset + 2, length), offset + 2 + length


def split_signature(packet, Py_ssize_t signature_length):
    """``(signed part, signature)``: the signature is the last ``signature_length`` bytes."""
    cdef bytes data = packet if type(packet) is bytes else bytes(packet)
    cdef Py_ssize_t end = PyBytes_GET_SIZE(data), cut
    if signature_length < 0 or end < AUTH_OFFSET + signature_length:
        raise PackError(f"a {end}-byte datagram cannot hold a {signature_length}-byte signature")
    cut = end - signature_length
    return (PyBytes_FromStringAndSize(PyBytes_AS_STRING(data), cut),
            PyBytes_FromStringAndSize(PyBytes_AS_STRING(data) + cut, signature_length))


def join_packet(bytes prefix, int msg_id, body, public_key_bin=None):
    """``prefix ‖ id ‖ [u16 length ‖ key] ‖ body`` (for a signed message, the bytes to sign)."""
    cdef bytes payloads = _as_bytes(body, "a packet body")
    cdef bytes key = b""
    cdef Py_ssize_t key_length = 0, header, size
    cdef char* out
    if PyBytes_GET_SIZE(prefix) != PREFIX_LENGTH:
        raise PackError(f"a prefix is {PREFIX_LENGTH} bytes, not {PyBytes_GET_SIZE(prefix)}")
    if not 0 <= msg_id <= 255:
        raise PackError(f"message id {msg_id} is not in 0..255")
    if public_key_bin is not None:
        key = _as_bytes(public_key_bin, "a public key")
        key_length = PyBytes_GET_SIZE(key)
        if key_length > 0xFFFF:
            raise PackError(f"public key length of {key_length} does not fit a 2-byte prefix")
    header = AUTH_OFFSET + (2 + key_length if public_key_bin is not None else 0)
    size = header + PyBytes_GET_SIZE(payloads)
    result = PyBytes_FromStringAndSize(NULL, size)
    out = PyBytes_AS_STRING(result)
    memcpy(out, PyBytes_AS_STRING(prefix), PREFIX_LENGTH)
    out[MESSAGE_ID_OFFSET] = <char>msg_id
    if public_key_bin is not None:
        out[AUTH_OFFSET] = <char>(key_length >> 8)
        out[AUTH_OFFSET + 1] = <char>(key_length & 0xFF)
        memcpy(out + AUTH_OFFSET + 2, PyBytes_AS_STRING(key), key_length)
    memcpy(out + header, PyBytes_AS_STRING(payloads), PyBytes_GET_SIZE(payloads))
    return result


cdef int _short(Py_ssize_t offset, Py_ssize_t size, Py_ssize_t end, str what) except -1:
    raise PackError(f"{what} needs {size} bytes at offset {offset}, {max(0, end - offset)} left")
