"""ipv8fast: a drop-in, wire-compatible, much faster core for IPv8.

Hot paths are compiled (Cython); each has a pure-Python twin with the same behaviour, used when the
extensions are not built or ``IPV8FAST_NO_EXTENSIONS=1`` is set. ``COMPILED`` tells which is active.
"""
from __future__ import annotations

from . import _twins
from .addresses import DomainAddress, UDPv4Address, UDPv4LANAddress, UDPv6Address
from .keys import ECCrypto, default_eccrypto
from .payload import (
    DataClassPayload,
    DataClassPayloadWID,
    VariablePayload,
    VariablePayloadWID,
    convert_to_payload,
    type_from_format,
    vp_compile,
)
from .requestcache import (
    CacheWithName,
    NumberCache,
    NumberCacheWithName,
    RandomNumberCache,
    RandomNumberCacheWithName,
    RequestCache,
)
from .serialization import (
    PackError,
    Packer,
    Payload,
    Serializable,
    Serializer,
    default_serializer,
)
from .taskmanager import TaskManager, task

__version__ = "0.1.0"

#: True when every compiled hot-path module is the active one (False if any runs on its pure twin).
COMPILED: bool = bool(_twins.ACTIVE) and all(_twins.ACTIVE.values())

__all__ = ["COMPILED", "CacheWithName", "DataClassPayload", "DataClassPayloadWID", "DomainAddress", "ECCrypto",
           "NumberCache", "NumberCacheWithName", "PackError", "Packer", "Payload", "RandomNumberCache",
           "RandomNumberCacheWithName", "RequestCache", "Serializable", "Serializer", "TaskManager", "UDPv4Address",
           "UDPv4LANAddress", "UDPv6Address", "VariablePayload", "VariablePayloadWID", "convert_to_payload",
           "default_eccrypto", "default_serializer", "task", "type_from_format", "vp_compile"]
