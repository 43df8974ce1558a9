"""Four ways to declare the same message (two unsigned 32-bit integers); all pack to the same bytes."""
from __future__ import annotations

from dataclasses import dataclass

from ipv8.messaging.lazy_payload import VariablePayload, vp_compile
from ipv8.messaging.payload import Payload
from ipv8.messaging.payload_dataclass import DataClassPayload, type_from_format
from ipv8.messaging.serialization import Serializable, default_serializer


class ByHand(Serializable):
    format_list = ["I", "I"]

    def __init__(self, first: int, second: int) -> None:
        self.first = first
        self.second = second

    def to_pack_list(self) -> list[tuple]:
        return [("I", self.first), ("I", self.second)]

    @classmethod
    def from_unpack_list(cls, first: int, second: int) -> ByHand:
        return cls(first, second)


class ByHandPayload(Payload, ByHand):
    """The same, with the readable ``str()`` of a Payload."""


class Declared(VariablePayload):
    format_list = ["I", "I"]
    names = ["first", "second"]


@vp_compile
class Compiled(VariablePayload):
    format_list = ["I", "I"]
    names = ["first", "second"]


I = type_from_format("I")


@dataclass
class AsDataclass(DataClassPayload):
    first: I
    second: I


for cls in (ByHand, ByHandPayload, Declared, Compiled, AsDataclass):
    data = default_serializer.pack_serializable(cls(1, 2))
    message, _ = default_serializer.unpack_serializable(cls, data)
    print(cls.__name__, data.hex(), message.first, message.second)
print(str(Compiled(1, 2)))
print(str(AsDataclass(1, 2)))
