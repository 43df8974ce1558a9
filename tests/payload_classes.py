"""The payload classes of the vectors (payloads.json "classes"), written as a user would write them."""
from __future__ import annotations

from dataclasses import dataclass

from ipv8fast import DataClassPayload, Serializable, VariablePayload, type_from_format, vp_compile


@vp_compile
class Inner(VariablePayload):
    format_list = ["H", "varlenHutf8"]
    names = ["n", "s"]


@vp_compile
class Simple(VariablePayload):
    msg_id = 1
    format_list = ["I", "H", "varlenH"]
    names = ["a", "b", "c"]


@vp_compile
class AllScalars(VariablePayload):
    msg_id = 2
    format_list = ["?", "B", "H", "I", "l", "q", "Q", "f", "d", "c"]
    names = ["flag", "u8", "u16", "u32", "i32", "i64", "u64", "f32", "f64", "ch"]


@vp_compile
class Strings(VariablePayload):
    msg_id = 3
    format_list = ["20s", "32s", "64s", "74s", "varlenH", "varlenHutf8", "varlenIutf8", "varlenI", "varlenBx2",
                   "varlenHx20", "doublevarlenH", "varlenH-list", "raw"]
    names = ["s20", "s32", "s64", "s74", "vh", "vhu", "viu", "vi", "vbx2", "vhx20", "dvh", "vhl", "rest"]


@vp_compile
class Flags(VariablePayload):
    msg_id = 4
    format_list = ["bits", "H"]
    names = ["b7", "b6", "b5", "b4", "b3", "b2", "b1", "b0", "after"]


@vp_compile
class Addresses(VariablePayload):
    msg_id = 5
    format_list = ["ipv4", "ip_address", "ip_address", "address", "address", "address"]
    names = ["v4", "ip_a", "ip_b", "any_a", "any_b", "any_c"]


@vp_compile
class Arrays(VariablePayload):
    msg_id = 6
    format_list = ["arrayH-?", "arrayH-q", "arrayH-d"]
    names = ["bools", "ints", "doubles"]


@vp_compile
class Outer(VariablePayload):
    msg_id = 7
    format_list = ["B", Inner, [Inner], "raw"]
    names = ["tag", "one", "many", "tail"]


@vp_compile
class DeepOuter(VariablePayload):
    msg_id = 8
    format_list = [Outer, "H"]
    names = ["outer", "trailer"]


class Uncompiled(VariablePayload):
    msg_id = 9
    format_list = ["H", "varlenH", "bits"]
    names = ["x", "y", "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"]


@vp_compile
class FixHooks(VariablePayload):
    msg_id = 10
    format_list = ["varlenH", "I"]
    names = ["text", "number"]

    def fix_pack_text(self, value: str) -> bytes:
        return value.encode("utf-8")

    @classmethod
    def fix_unpack_text(cls, value: bytes) -> str:
        return value.decode("utf-8")


@vp_compile
class PairStruct(VariablePayload):
    msg_id = 11
    format_list = ["HH"]
    names = ["pair"]


@vp_compile
class ListOnly(VariablePayload):
    msg_id = 12
    format_list = [[Inner]]
    names = ["items"]


@vp_compile
class WithDefault(VariablePayload):
    msg_id = 13
    format_list = ["H", "varlenH"]
    names = ["a", "b"]

    def __init__(self, a: int, b: bytes = b"dflt") -> None:  # only its defaults matter to vp_compile
        pass


@dataclass
class DCInner(DataClassPayload):
    x: int
    y: str


@dataclass
class DCAll(DataClassPayload[42]):
    b: bool
    i: int
    f: float
    by: bytes
    s: str
    li: list[int]
    lb: list[bool]
    lf: list[float]
    n: DCInner
    ln: list[DCInner]
    u32: type_from_format("I")  # type: ignore[valid-type]
    raw_fmt: type_from_format("varlenH")  # type: ignore[valid-type]
    d: int = 7


class MultiStruct(Serializable):
    """Hand-written: every multi-member struct code, one tuple of values each."""

    msg_id = 14
    format_list = ["BBH", "BH", "HH", "LL", "QH", "QL", "QQHHBH", "ccB", "4SH", "c20s"]

    def __init__(self, *values: tuple) -> None:
        self.values = values

    def to_pack_list(self) -> list[tuple]:
        return [(fmt, *value) for fmt, value in zip(self.format_list, self.values, strict=True)]

    @classmethod
    def from_unpack_list(cls, *args: tuple) -> MultiStruct:
        return cls(*args)


CLASSES = {cls.__name__: cls for cls in (Inner, Simple, AllScalars, Strings, Flags, Addresses, Arrays, Outer,
                                         DeepOuter, Uncompiled, FixHooks, PairStruct, ListOnly, WithDefault,
                                         DCInner, DCAll, MultiStruct)}


def make_payload(name: str, fields: dict) -> object:
    return CLASSES[name](**fields)
