"""Behaviour of the payload and Serializer API as spec/api.md §6-§9 describes it (both twins)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest

from ipv8fast import (
    DataClassPayload,
    PackError,
    Packer,
    Payload,
    Serializable,
    VariablePayload,
    VariablePayloadWID,
    type_from_format,
    vp_compile,
)
from ipv8fast.payload import DataClassPayloadWID

pytestmark = pytest.mark.twin_of("serializer")


@pytest.fixture
def serializer(twin: ModuleType) -> Any:
    return twin.Serializer()


class Pair(VariablePayload):
    msg_id = 5
    format_list = ["H", "H"]
    names = ["a", "b"]


@vp_compile
class CompiledPair(VariablePayload):
    format_list = ["H", "varlenH"]
    names = ["a", "b"]

    def __init__(self, a: int, b: bytes = b"default") -> None:
        pass


def test_positional_and_keyword_construction() -> None:
    assert vars(Pair(1, 2)) == {"a": 1, "b": 2}
    assert vars(Pair(1, b=2)) == {"a": 1, "b": 2}
    assert Pair.__match_args__ == ("a", "b")


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    ((1,), {}, "'b'"),
    ((1, 2, 3), {}, "missing 1 arguments"),
    ((1, 2), {"c": 3}, "leftover keyword arguments"),
])
def test_uncompiled_constructor_errors_are_key_errors(args: tuple, kwargs: dict, message: str) -> None:
    with pytest.raises(KeyError, match=message):
        Pair(*args, **kwargs)


def test_vp_compile_defaults_and_type_errors() -> None:
    assert vars(CompiledPair(1)) == {"a": 1, "b": b"default"}
    with pytest.raises(TypeError):
        CompiledPair(1, b"", 3)


def test_vp_compile_supports_any_default() -> None:
    @vp_compile
    class Text(VariablePayload):
        format_list = ["varlenHutf8"]
        names = ["text"]

        def __init__(self, text: str = "hello") -> None:
            pass

    assert Text().text == "hello"  # py-ipv8 raises NameError here; a deliberate fix


def test_old_style_base_init_is_called() -> None:
    class Old:
        def __init__(self, x: int, y: int = 5) -> None:
            self.x, self.y, self.old = x, y, True

    class New(VariablePayload, Old):
        format_list = ["H", "H", "H"]
        names = ["x", "y", "z"]

    assert vars(New(1, 2, 3)) == {"x": 1, "y": 2, "old": True, "z": 3}
    assert vars(New(z=3, x=1, y=2)) == {"x": 1, "y": 2, "old": True, "z": 3}


def test_str_lists_public_data_attributes() -> None:
    assert str(Pair(1, 2)) == "Pair\n| a: 1\n| b: 2\n| msg_id: 5"


def test_hooks_change_only_the_wire(serializer: Any) -> None:
    @vp_compile
    class Hooked(VariablePayload):
        format_list = ["varlenH", "H"]
        names = ["text", "n"]

        def fix_pack_text(self, value: str) -> bytes:
            return value.encode()

        @classmethod
        def fix_unpack_text(cls, value: bytes) -> str:
            return value.decode()

    obj = Hooked("hé", 1)
    data = serializer.pack_serializable(obj)
    assert obj.text == "hé" and data == b"\x00\x03h\xc3\xa9\x00\x01"
    assert serializer.unpack_serializable(Hooked, data)[0].text == "hé"


def test_compiled_from_unpack_list_skips_hooks_for_none() -> None:
    @vp_compile
    class Hooked(VariablePayload):
        format_list = ["H"]
        names = ["n"]

        @classmethod
        def fix_unpack_n(cls, value: int) -> int:
            return value + 1

    class Plain(VariablePayload):
        format_list = ["H"]
        names = ["n"]

        @classmethod
        def fix_unpack_n(cls, value: Any) -> Any:
            return "hooked"

    assert Hooked.from_unpack_list(None).n is None
    assert Hooked.from_unpack_list(1).n == 2
    assert Plain.from_unpack_list(None).n == "hooked"


def test_custom_from_unpack_list_and_to_pack_list_are_honoured(serializer: Any) -> None:
    class Custom(VariablePayload):
        format_list = ["H"]
        names = ["n"]

        def to_pack_list(self) -> list[tuple]:
            return [("H", self.n * 2)]

        @classmethod
        def from_unpack_list(cls, n: int) -> Any:
            return cls(n + 1000)

    data = serializer.pack_serializable(Custom(3))
    assert data == b"\x00\x06"
    assert serializer.unpack_serializable(Custom, data)[0].n == 1006


def test_dataclass_payload_classes() -> None:
    marked = DataClassPayload[7]
    assert marked.__name__ == "DataClassPayload" and marked.msg_id == 7
    assert issubclass(marked, DataClassPayloadWID) and issubclass(marked, VariablePayloadWID)

    @dataclass
    class Message(DataClassPayload[9]):
        a: int
        b: list[int] = dataclasses.field(default_factory=list)

    assert Message.msg_id == 9
    message = Message(1)
    assert not isinstance(message, DataClassPayload[9]) and isinstance(message, VariablePayloadWID)
    assert dataclasses.is_dataclass(message) and message == Message(1, [])
    assert Message.format_list == ["q", "arrayH-q"] and Message.names == ["a", "b"]


def test_dataclass_unpacks_before_any_instance_exists(serializer: Any) -> None:
    @dataclass
    class Fresh(DataClassPayload):
        a: int
        s: str

    parsed, offset = serializer.unpack_serializable(Fresh, b"\x00" * 7 + b"\x05\x00\x02hi")
    assert (parsed.a, parsed.s, offset) == (5, "hi", 12)


@dataclass
class Inner(DataClassPayload):
    x: bool


@dataclass
class Mapped(DataClassPayload):
    f: float
    by: bytes
    u: type_from_format("I")  # type: ignore[valid-type]
    inner: Inner
    inners: list[Inner]
    verbatim: [Inner]  # type: ignore[valid-type]


def test_dataclass_annotations() -> None:
    Mapped(0.0, b"", 0, Inner(True), [], [])
    assert Mapped.format_list == ["d", "varlenH", "I", Inner, [Inner], [Inner]]

    @dataclass
    class Unknown(DataClassPayload):
        d: dict

    with pytest.raises(NotImplementedError):
        Unknown({})


def test_serializer_unpack_forms(serializer: Any) -> None:
    assert serializer.unpack("bits", b"\xa0") == (1, 1)  # only the first of the eight values
    assert serializer.unpack("H", b"\x00\x01\x00\x02", 2) == (2, 4)
    items, offset = serializer.unpack([Pair], b"\x01\x00\x04\x00\x01\x00\x02")
    assert [vars(i) for i in items] == [{"a": 1, "b": 2}] and offset == 7
    with pytest.raises(KeyError):
        serializer.unpack("nope", b"")
    with pytest.raises(KeyError):
        serializer.pack("nope", 1)


def test_unpack_list_consume_all(serializer: Any) -> None:
    data = serializer.pack_serializable(Pair(1, 2))
    parsed = serializer.unpack_serializable_list([Pair], data + b"zz", consume_all=False)
    assert vars(parsed[0]) == {"a": 1, "b": 2} and parsed[1] == b"zz"
    assert serializer.unpack_serializable_list([Pair], data, consume_all=False)[1] == b""
    with pytest.raises(PackError):
        serializer.unpack_serializable_list([Pair], data + b"z")


def test_pack_failures_are_pack_errors(serializer: Any) -> None:
    with pytest.raises(PackError):
        serializer.pack_serializable(Pair(70000, 1))
    with pytest.raises(PackError):
        serializer.pack_serializable(Pair("1", 1))

    class Broken(Serializable):
        def to_pack_list(self) -> list[tuple]:
            raise ValueError("boom")

        @classmethod
        def from_unpack_list(cls, *args: Any) -> Any:
            return cls()

    with pytest.raises(PackError) as info:
        serializer.pack_serializable(Broken())
    assert isinstance(info.value.__cause__, ValueError)


class Reversed(Packer):
    """A user packer: a u16 stored little-endian."""

    def pack(self, *data: Any) -> bytes:
        return data[0].to_bytes(2, "little")

    def unpack(self, data: bytes, offset: int, unpack_list: list, *args: Any) -> int:
        unpack_list.append(int.from_bytes(data[offset:offset + 2], "little"))
        return offset + 2


def test_add_packer_with_a_custom_packer(serializer: Any) -> None:
    class UsesIt(VariablePayload):
        format_list = ["H", "rev"]
        names = ["a", "b"]

    serializer.add_packer("rev", Reversed())
    assert "rev" in serializer.get_available_formats()
    data = serializer.pack_serializable(UsesIt(1, 2))
    assert data == b"\x00\x01\x02\x00"
    assert vars(serializer.unpack_serializable(UsesIt, data)[0]) == {"a": 1, "b": 2}
    serializer.add_packer("H", Reversed())  # replacing a built-in code is seen by compiled plans too
    assert serializer.pack_serializable(UsesIt(1, 2)) == b"\x01\x00\x02\x00"


def test_sandboxed_serializers(serializer: Any) -> None:
    from ipv8fast import default_serializer

    serializer.add_packer("only-here", Reversed())
    assert "only-here" not in default_serializer.get_available_formats()


def test_payload_is_serializable() -> None:
    assert issubclass(Payload, Serializable) and issubclass(VariablePayload, Payload)
