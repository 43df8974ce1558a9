"""py-ipv8's ``ipv8.messaging.serialization`` API on the active serializer twin.

``Serializer``, ``default_serializer`` and the built-in packer classes come from the compiled twin
``_serializer_c`` unless ``IPV8FAST_NO_EXTENSIONS`` is set (then from ``_serializer_py``).
"""
from __future__ import annotations

from typing import Union

from . import _twins
from ._serializable import PackError, Packer, Payload, Serializable
from .addresses import ADDRESS_TYPE_DOMAIN_NAME, ADDRESS_TYPE_IPV4, ADDRESS_TYPE_IPV6

_engine = _twins.load("serializer")

Serializer = _engine.Serializer
default_serializer = _engine.default_serializer
DefaultStruct = _engine.PACKERS.DefaultStruct
Bits = _engine.PACKERS.Bits
Raw = _engine.PACKERS.Raw
VarLen = _engine.PACKERS.VarLen
VarLenUtf8 = _engine.PACKERS.VarLenUtf8
IPv4 = _engine.PACKERS.IPv4
Address = _engine.PACKERS.Address
ListOf = _engine.PACKERS.ListOf
DefaultArray = _engine.PACKERS.DefaultArray
NestedPayload = _engine.PACKERS.NestedPayload

FormatListType = Union[str, type, list]

__all__ = ["ADDRESS_TYPE_DOMAIN_NAME", "ADDRESS_TYPE_IPV4", "ADDRESS_TYPE_IPV6", "Address", "Bits", "DefaultArray",
           "DefaultStruct", "FormatListType", "IPv4", "ListOf", "NestedPayload", "PackError", "Packer", "Payload",
           "Raw", "Serializable", "Serializer", "VarLen", "VarLenUtf8", "default_serializer"]
