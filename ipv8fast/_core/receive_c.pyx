# cython: language_level=3
"""Receive-path core (compiled twin of ``receive_py``): from a datagram to its handler.

Same contract as ``receive_py`` (see there). Beyond it, ``dispatch`` recognises handlers made by the
``lazy_wrapper`` family (they carry ``_ipv8fast_lazy``) and opens the datagram and calls the decorated
function itself, with the same arguments and errors as the wrapper would; signatures of curve25519 keys are
checked in place (``ed25519_c``). While an endpoint with a ``VerifyPool`` (``cryptopool_c``, the
``crypto_threads`` setting) delivers, those checks are queued to its worker threads instead, and every other
packet arriving while some are queued is deferred behind them: handlers run on the loop thread, in arrival
order, with the same arguments and drop counts as inline.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.method cimport PyMethod_Check, PyMethod_GET_FUNCTION, PyMethod_GET_SELF
from libc.string cimport memcmp

from ipv8fast._core.cryptopool_c cimport VerifyPool
from ipv8fast._core.ed25519_c cimport Verifier
from ipv8fast._core.wire cimport (AUTH_OFFSET, MESSAGE_ID_OFFSET, PAYLOAD_OFFSET, PREFIX_LENGTH, SIGNED,
                                  SIGNED_WITH_DATA, UNSIGNED, UNSIGNED_WITH_DATA)

import sys
from asyncio import ensure_future, iscoroutine
from time import time

from ipv8fast._core import wire as _wire
from ipv8fast._core.packet_errors import BadKeyError, PacketDecodingError
from ipv8fast._core.serializable import PackError
from ipv8fast.keys import PRIVATE_KEY_PREFIXES, public_key_cache
from ipv8fast.peer import Peer

__all__ = ["dispatch", "notify_listeners", "open_signed", "open_unsigned", "peer_for"]

cdef object _get_key = public_key_cache.get
cdef tuple _PRIVATE = PRIVATE_KEY_PREFIXES
cdef str _LAZY = "_ipv8fast_lazy"
cdef str _RETRIEVE = "_ipv8fast_retrieve"  # retrieve_cache sets (wrapper, name, class, function, on failure)
cdef VerifyPool _current = None  # the pool of the endpoint whose listeners are being notified

# kinds of lazy handlers (lazy.py sets _ipv8fast_lazy = (wrapper, kind, payload classes, function))
_wire.check_mirror(__name__, {"SIGNED": SIGNED, "SIGNED_WITH_DATA": SIGNED_WITH_DATA, "UNSIGNED": UNSIGNED,
                              "UNSIGNED_WITH_DATA": UNSIGNED_WITH_DATA, "PREFIX_LENGTH": PREFIX_LENGTH,
                              "MESSAGE_ID_OFFSET": MESSAGE_ID_OFFSET, "AUTH_OFFSET": AUTH_OFFSET,
                              "PAYLOAD_OFFSET": PAYLOAD_OFFSET})


def notify_listeners(endpoint, packet):
    """Hand ``(address, data)`` to the listeners of its prefix, or to the general ones."""
    global _current
    if not endpoint.is_open():
        return
    pool = getattr(endpoint, "_crypto_pool", None)
    if pool is None:
        _notify(endpoint, packet)
        return
    saved = _current
    _current = <VerifyPool?>pool
    try:
        _notify(endpoint, packet)
    finally:
        _current = saved


cdef void _notify(endpoint, packet) except *:
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


cdef inline void _drop(community, str reason) except *:
    drops = community.drops
    drops[reason] += 1


def dispatch(community, packet, bint warn_unknown=True):
    """Dispatch one datagram to the handler of its message id; never raises."""
    source_address, data = packet
    probable_peer = community.network.get_verified_by_address(source_address)
    if probable_peer is not None:
        probable_peer.last_response = time()
    prefix = community._prefix
    cdef int message_id
    if type(data) is bytes and type(prefix) is bytes and PyBytes_GET_SIZE(prefix) == PREFIX_LENGTH:
        if PyBytes_GET_SIZE(data) < PREFIX_LENGTH or memcmp(PyBytes_AS_STRING(data), PyBytes_AS_STRING(prefix), PREFIX_LENGTH) != 0:
            _drop(community, "wrong_prefix")
            return
        if PyBytes_GET_SIZE(data) <= MESSAGE_ID_OFFSET:
            _drop(community, "no_message_id")
            return
        message_id = <unsigned char>PyBytes_AS_STRING(data)[MESSAGE_ID_OFFSET]
    else:
        if data[:PREFIX_LENGTH] != prefix:
            _drop(community, "wrong_prefix")
            return
        if len(data) <= MESSAGE_ID_OFFSET:
            _drop(community, "no_message_id")
            return
        message_id = data[MESSAGE_ID_OFFSET]
    handler = community.decode_map[message_id]
    if handler is None:
        _drop(community, "unknown_message")
        if warn_unknown and community._may_warn():
            community.logger.warning("Received unknown message: %d from (%s, %d)", message_id, *source_address)
        return
    cdef VerifyPool pool = _current
    if pool is not None and not pool._closing:
        if _submit_signed(pool, community, handler, source_address, data):
            return
        if pool._contexts:
            if not pool.defer((_deferred, False, community, handler, source_address, data)):
                _drop(community, "verify_queue_full")
            return
    _run(community, handler, source_address, data)


cdef void _run(community, handler, source_address, data) except *:
    """Call the handler, counting what goes wrong."""
    try:
        result = _call(handler, source_address, data)
    except Exception as error:
        _failed(community, error)
        return
    _schedule(community, result)


cdef inline void _schedule(community, result) except *:
    if result is not None and iscoroutine(result):
        community.register_anonymous_task("on_packet", ensure_future(result), ignore=(Exception,))


cdef void _failed(community, error) except *:
    """Count why a packet was not handled; log genuine handler errors."""
    if isinstance(error, PacketDecodingError):
        _drop(community, "bad_signature")
    elif isinstance(error, BadKeyError):
        _drop(community, "bad_key")
    elif isinstance(error, PackError):
        _drop(community, "malformed")
    else:
        _drop(community, "handler_error")
        community.logger.exception("Exception occurred while handling packet!",
                                   exc_info=(type(error), error, error.__traceback__))


def _deferred(tuple context, bint valid):
    """A packet that arrived while verifications were queued, at its turn."""
    _run(context[2], context[3], context[4], context[5])


cdef bint _submit_signed(VerifyPool pool, community, handler, source_address, data) except -1:
    """Queue the signature check of a lazy signed handler's datagram (curve25519 key): True when the
    packet is taken (queued, or dropped and counted), False when it is to be handled as usual."""
    cdef int kind
    cdef Py_ssize_t end
    if not PyMethod_Check(handler) or type(data) is not bytes:
        return False
    function = <object>PyMethod_GET_FUNCTION(handler)
    attributes = getattr(function, "__dict__", None)
    spec = (<dict>attributes).get(_LAZY) if type(attributes) is dict else None
    if spec is None or (<tuple>spec)[0] is not function:
        return False
    kind = (<tuple>spec)[1]
    if kind != SIGNED and kind != SIGNED_WITH_DATA:
        return False
    owner = <object>PyMethod_GET_SELF(handler)
    try:
        key, key_bin, unpacked, end = _open(owner.serializer, (<tuple>spec)[2], <bytes>data)
    except Exception as error:
        _failed(community, error)
        return True
    verifier = getattr(key, "_verify", None)
    if type(verifier) is not Verifier:
        return False  # another curve: verified on this thread (after what is queued)
    if PyBytes_GET_SIZE(data) - end != 64:
        _drop(community, "bad_signature")
        return True
    context = (_finish_signed, True, community, owner, (<tuple>spec)[3], kind, key_bin, unpacked, source_address,
               data)
    if not pool.submit(context, <const unsigned char *>PyBytes_AS_STRING(data) + end,
                       (<Verifier>verifier)._public, <const unsigned char *>PyBytes_AS_STRING(data), <size_t>end):
        _drop(community, "verify_queue_full")
    return True


def _finish_signed(tuple context, bint valid):
    """A queued signed packet whose check is done: its handler, as ``_call`` would have run it."""
    community = context[2]
    if not valid:
        _drop(community, "bad_signature")
        return
    owner = context[3]
    try:
        peer = peer_for(owner, context[6], context[8])
        unpacked = <list>context[7]
        if context[5] == SIGNED_WITH_DATA:
            unpacked.append(context[9])
        result = _invoke(context[4], owner, peer, unpacked)
    except Exception as error:
        _failed(community, error)
        return
    _schedule(community, result)


cdef object _call(handler, source_address, data):
    """``handler(source_address, data)``, doing a lazy wrapper's work here when the handler is one."""
    cdef int kind
    if PyMethod_Check(handler):
        function = <object>PyMethod_GET_FUNCTION(handler)
        attributes = getattr(function, "__dict__", None)
        spec = (<dict>attributes).get(_LAZY) if type(attributes) is dict else None
        if spec is not None and (<tuple>spec)[0] is function:  # not a copy made by functools.wraps
            owner = <object>PyMethod_GET_SELF(handler)
            kind = (<tuple>spec)[1]
            payloads = (<tuple>spec)[2]
            decorated = (<tuple>spec)[3]
            if kind == SIGNED or kind == SIGNED_WITH_DATA:
                key_bin, unpacked = open_signed(owner.serializer, payloads, data)
                peer = peer_for(owner, key_bin, source_address)
                if kind == SIGNED_WITH_DATA:
                    (<list>unpacked).append(data)
                return _invoke(decorated, owner, peer, <list>unpacked)
            unpacked = open_unsigned(owner.serializer, payloads, data)
            if kind == UNSIGNED:
                return _invoke(decorated, owner, source_address, unpacked)
            return decorated(owner, source_address, *unpacked, data=data)
    return handler(source_address, data)


cdef object _invoke(decorated, owner, first, list arguments):
    """``decorated(owner, first, *arguments)``, doing a ``retrieve_cache`` wrapper's work here when it is one."""
    attributes = getattr(decorated, "__dict__", None)
    spec = (<dict>attributes).get(_RETRIEVE) if type(attributes) is dict else None
    if spec is None or (<tuple>spec)[0] is not decorated or not arguments:
        return decorated(owner, first, *arguments)
    last = arguments[len(arguments) - 1]
    if isinstance(last, bytes):
        if len(arguments) < 2:
            return decorated(owner, first, *arguments)
        payload = arguments[len(arguments) - 2]
    else:
        payload = last
    try:
        cache = owner.request_cache.pop((<tuple>spec)[1], payload.identifier)
    except KeyError:
        (<tuple>spec)[4](owner, (<tuple>spec)[2])
        return None
    return (<tuple>spec)[3](owner, first, *arguments, cache=cache)


cpdef object peer_for(overlay, bytes key_bin, source_address):
    """The verified Peer with this key (``source_address`` added to it), or a new unregistered Peer."""
    peer = overlay.network.verified_by_public_key_bin.get(key_bin)
    if peer is None:
        return Peer(_get_key(key_bin), source_address)  # the parsed key: as Peer(key_bin) would find it
    peer.add_address(source_address)
    return peer


cpdef tuple open_signed(object serializer, object payload_classes, object data):
    """``(public key bin, [payloads])`` of a signed datagram, or raise."""
    if type(data) is not bytes:
        data = bytes(data)
    key, key_bin, unpacked, end = _open(serializer, payload_classes, <bytes>data)
    verifier = getattr(key, "_verify", None)
    if type(verifier) is Verifier:
        valid = (<Verifier>verifier).verify_at(data, end)
    else:
        try:
            valid = key.verify(data[end:], data[:end])
        except Exception:
            valid = False
    if not valid:
        raise PacketDecodingError(f"Incoming packet {[cls.__name__ for cls in payload_classes]} "
                                  "has an invalid signature")
    return key_bin, unpacked


cdef tuple _open(object serializer, object payload_classes, bytes data):
    """``(key, key bin, [payloads], end of the signed part)`` of a signed datagram, or raise; not verified."""
    cdef Py_ssize_t size = len(data)
    cdef Py_ssize_t key_length, start, end
    if size < 25:
        raise PackError(f"a {size}-byte datagram has no auth block")
    key_length = (<unsigned char>data[AUTH_OFFSET] << 8) | <unsigned char>data[AUTH_OFFSET + 1]
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
    unpacked = serializer.unpack_serializable_list(payload_classes, data[:end], start)
    return key, key_bin, unpacked, end


cpdef list open_unsigned(object serializer, object payload_classes, object data):
    """The payloads of an unsigned datagram, or PackError."""
    return serializer.unpack_serializable_list(payload_classes, data, PAYLOAD_OFFSET)
