"""py-ipv8's ``ipv8.messaging.serialization`` API on the active serializer twin.

``Serializer``, ``default_serializer`` and the built-in packer classes come from the compiled twin
``_core.serializer_c`` unless ``IPV8FAST_NO_EXTENSIONS`` is set (then from ``_core.serializer_py``).
"""
from __future__ import annotations

from ._core.serializable import PackError, Packer, Payload, Serializable
from ._core.serializer import PACKERS as _PACKERS
from ._core.serializer import Serializer, default_serializer
from .addresses import ADDRESS_TYPE_DOMAIN_NAME, ADDRESS_TYPE_IPV4, ADDRESS_TYPE_IPV6

DefaultStruct = _PACKERS.DefaultStruct
Bits = _PACKERS.Bits
Raw = _PACKERS.Raw
VarLen = _PACKERS.VarLen
VarLenUtf8 = _PACKERS.VarLenUtf8
IPv4 = _PACKERS.IPv4
Address = _PACKERS.Address
ListOf = _PACKERS.ListOf
DefaultArray = _PACKERS.DefaultArray
NestedPayload = _PACKERS.NestedPayload

FormatListType = str | type | list

__all__ = ["ADDRESS_TYPE_DOMAIN_NAME", "ADDRESS_TYPE_IPV4", "ADDRESS_TYPE_IPV6", "Address", "Bits", "DefaultArray",
           "DefaultStruct", "FormatListType", "IPv4", "ListOf", "NestedPayload", "PackError", "Packer", "Payload",
           "Raw", "Serializable", "Serializer", "VarLen", "VarLenUtf8", "default_serializer"]
