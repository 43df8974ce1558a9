"""Packing helpers and handler decorators (py-ipv8's ``ipv8.lazy_community``).

* :class:`EZPackOverlay`: ``ez_send`` / ``ezr_pack`` / ``_ez_pack`` and the unpack helpers.
* ``lazy_wrapper`` family: turn ``handler(self, peer, *payloads)`` into ``handler(self, address, data)``.
  The signed variants hand out the Network's own Peer object when the key is verified (with the source
  address added), else a fresh unregistered Peer; the handler never runs unless the signature verified.
* ``retrieve_cache``: pops the request cache named by the payload's identifier. Only the KeyError of that
  lookup counts as "no such cache" (deliberate deviation: py-ipv8 also swallows KeyErrors raised inside the
  handler).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from functools import wraps
from typing import TYPE_CHECKING, Any

from ._core import receive as _receive
from ._core import send as _send
from ._core.packet_errors import BadKeyError, PacketDecodingError
from ._core.wire import PAYLOAD_OFFSET, SIGNED, SIGNED_WITH_DATA, UNSIGNED, UNSIGNED_WITH_DATA
from .keys import default_eccrypto
from .messages import BinMemberAuthenticationPayload, GlobalTimeDistributionPayload
from .overlay import Overlay

if TYPE_CHECKING:
    from .requestcache import NumberCache

__all__ = ["BadKeyError", "EZPackOverlay", "PacketDecodingError", "cache_retrieval_failed", "lazy_wrapper",
           "lazy_wrapper_unsigned", "lazy_wrapper_unsigned_wd", "lazy_wrapper_wd", "retrieve_cache"]

open_signed = _receive.open_signed
open_unsigned = _receive.open_unsigned
_peer_for = _receive.peer_for


def _mark(wrapper: Callable, kind: int, payloads: tuple, func: Callable) -> Callable:
    wrapper._ipv8fast_lazy = (wrapper, kind, payloads, func)  # type: ignore[attr-defined]
    return wrapper


def cache_retrieval_failed(overlay: Any, cache_class: type) -> None:
    """Log (debug) that a response matched no pending cache: late, replayed or unsolicited."""
    overlay.logger.debug("Failed to match %r: was answered late or did not exist.", cache_class)


def retrieve_cache(cache_class: type[NumberCache]) -> Callable[[Callable], Callable]:
    """Decorator (under a lazy_wrapper): pop ``cache_class`` by the payload's identifier, pass it as
    ``cache=``; without a matching cache the handler is not called."""

    def decorator(func: Callable) -> Callable:
        name = cache_class.name  # type: ignore[attr-defined]

        @wraps(func)
        def wrapper(self: Any, peer_or_addr: Any, *payloads: Any) -> Any:
            payload = payloads[-2 if isinstance(payloads[-1], bytes) else -1]
            try:
                cache = self.request_cache.pop(name, payload.identifier)
            except KeyError:
                cache_retrieval_failed(self, cache_class)
                return None
            return func(self, peer_or_addr, *payloads, cache=cache)

        wrapper._ipv8fast_retrieve = (wrapper, name, cache_class, func,  # type: ignore[attr-defined]
                                      _report_retrieval_failure)
        return wrapper

    return decorator


def _report_retrieval_failure(overlay: Any, cache_class: type) -> None:
    cache_retrieval_failed(overlay, cache_class)  # looked up at call time: it may be patched


def lazy_wrapper(*payloads: type) -> Callable[[Callable], Callable]:
    """Signed handler: ``func(self, peer, *payloads)``."""

    def decorator(func: Callable) -> Callable:
        @wraps(func)
        def wrapper(self: Any, source_address: Any, data: bytes) -> Any:
            key_bin, unpacked = open_signed(self.serializer, payloads, data)
            return func(self, _peer_for(self, key_bin, source_address), *unpacked)

        return _mark(wrapper, SIGNED, payloads, func)

    return decorator


def lazy_wrapper_wd(*payloads: type) -> Callable[[Callable], Callable]:
    """Signed handler with the raw datagram appended: ``func(self, peer, *payloads, data)``."""

    def decorator(func: Callable) -> Callable:
        @wraps(func)
        def wrapper(self: Any, source_address: Any, data: bytes) -> Any:
            key_bin, unpacked = open_signed(self.serializer, payloads, data)
            return func(self, _peer_for(self, key_bin, source_address), *unpacked, data)

        return _mark(wrapper, SIGNED_WITH_DATA, payloads, func)

    return decorator


def lazy_wrapper_unsigned(*payloads: type) -> Callable[[Callable], Callable]:
    """Unsigned handler: ``func(self, source_address, *payloads)``."""

    def decorator(func: Callable) -> Callable:
        @wraps(func)
        def wrapper(self: Any, source_address: Any, data: bytes) -> Any:
            return func(self, source_address, *open_unsigned(self.serializer, payloads, data))

        return _mark(wrapper, UNSIGNED, payloads, func)

    return decorator


def lazy_wrapper_unsigned_wd(*payloads: type) -> Callable[[Callable], Callable]:
    """Unsigned handler with the raw datagram as keyword: ``func(self, source_address, *payloads, data=data)``."""

    def decorator(func: Callable) -> Callable:
        @wraps(func)
        def wrapper(self: Any, source_address: Any, data: bytes) -> Any:
            return func(self, source_address, *open_unsigned(self.serializer, payloads, data), data=data)

        return _mark(wrapper, UNSIGNED_WITH_DATA, payloads, func)

    return decorator


class EZPackOverlay(Overlay, ABC):
    """An overlay that packs payload lists into datagrams under its prefix, signed or not."""

    @abstractmethod
    def get_prefix(self) -> bytes:
        """The 22-byte prefix of this overlay's datagrams."""

    #: ``ez_send(peer, *payloads, sig=True)``: send ``payloads`` to ``peer`` under the last payload's ``msg_id``.
    ez_send = _send.ez_send

    def _ez_senda(self, address: Any, *payloads: Any, sig: bool = True) -> None:
        self.endpoint.send(address, self.ezr_pack(payloads[-1].msg_id, *payloads, sig=sig))

    #: ``ezr_pack(msg_num, *payloads, sig=True) -> bytes``: ``prefix ‖ msg_num ‖ [auth] ‖ payloads ‖ [signature]``.
    ezr_pack = _send.ezr_pack

    def _ez_pack(self, prefix: bytes, msg_num: int, payloads: Sequence[Any], sig: bool = True) -> bytes:
        """``prefix ‖ msg_num ‖ payloads`` (+ signature over all of it when ``sig``); adds no auth payload."""
        packet = prefix + bytes((msg_num,)) + self.serializer.pack_serializable_list(payloads)
        if sig:
            packet += self.my_peer.key.signature(packet)  # type: ignore[attr-defined]  # my_peer has a private key
        return packet

    def _verify_signature(self, auth: Any, data: bytes) -> tuple[bool, bytes]:
        """``(valid, data without auth block and signature, payloads still at ``PAYLOAD_OFFSET``)``."""
        public_key = default_eccrypto.key_from_public_bin(auth.public_key_bin)
        length = public_key.get_signature_length()
        remainder = data[2 + len(auth.public_key_bin):-length]
        valid = default_eccrypto.is_valid_signature(public_key, data[:-length], data[-length:])
        return valid, remainder

    def _ez_unpack_auth(self, payload_class: type, data: bytes) -> tuple[Any, Any, Any]:
        """``(auth, dist, payload)`` of ``[auth][dist][payload][sig]``; PacketDecodingError if unsigned."""
        auth, _ = self.serializer.unpack_serializable(BinMemberAuthenticationPayload, data, PAYLOAD_OFFSET)
        valid, remainder = self._verify_signature(auth, data)
        dist, payload = self.serializer.unpack_serializable_list([GlobalTimeDistributionPayload, payload_class],
                                                                 remainder, PAYLOAD_OFFSET)
        if not valid:
            raise PacketDecodingError(f"Incoming packet {payload_class.__name__} has an invalid signature")
        return auth, dist, payload

    def _ez_unpack_noauth(self, payload_class: type, data: bytes, global_time: bool = True) -> Any:
        """``(dist, payload)`` from ``PAYLOAD_OFFSET``, or just the payload without ``global_time``."""
        if global_time:
            return self.serializer.unpack_serializable_list([GlobalTimeDistributionPayload, payload_class], data,
                                                            PAYLOAD_OFFSET)
        return self.serializer.unpack_serializable_list([payload_class], data, PAYLOAD_OFFSET)[0]


_send.set_default_ez_pack(EZPackOverlay._ez_pack)
