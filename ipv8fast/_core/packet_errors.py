"""Exceptions of the receive path, shared by both twins of ``_receive``."""
from __future__ import annotations

from .serializable import PackError

__all__ = ["BadKeyError", "PacketDecodingError"]


class PacketDecodingError(RuntimeError):
    """A signed datagram whose signature does not verify."""


class BadKeyError(PackError):
    """The auth block of a signed datagram holds no usable public key."""
