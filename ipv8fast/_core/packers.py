"""The built-in Packer classes of py-ipv8's Serializer API, bound to one serializer twin's engine.

Each twin calls :func:`make_packers` with its own engine (``pack_op`` / ``unpack_op``), so the compiled
and the pure twin each get classes that run only their own code. A packer carries its op (see
``_formats``); the engine's compiled plans read that op directly instead of calling the methods.
"""
from __future__ import annotations

import struct
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from . import formats as F  # noqa: N812 - the format-code namespace
from .serializable import PackError, Packer


def make_packers(pack_op: Callable[[tuple, tuple], bytes],
                 unpack_op: Callable[[tuple, Any, int, list, tuple], int]) -> SimpleNamespace:
    """Return the built-in packer classes running on the given engine functions."""

    class _OpPacker(Packer):
        _op: tuple

        def pack(self, *data: Any) -> bytes:
            return pack_op(self._op, data)

        def unpack(self, data: Any, offset: int, unpack_list: list, *args: Any) -> int:
            return unpack_op(self._op, data, offset, unpack_list, args)

        def __repr__(self) -> str:
            return f"<{type(self).__name__} {self._op[0]}>"

    class DefaultStruct(_OpPacker):
        """Fixed-width fields described by a ``struct`` format string, e.g. ``">HH"``."""

        def __init__(self, format_str: str) -> None:
            self.format_str = format_str
            self._struct = struct.Struct(format_str)
            self.size = self._struct.size
            op = F.struct_op(format_str)
            self._op = op if op is not None else (F.PYTHON, self)
            if op is None:  # not big-endian or an unusual code: plain `struct` does the work
                self.pack = self._struct_pack  # type: ignore[method-assign]
                self.unpack = self._struct_unpack  # type: ignore[method-assign]

        def _struct_pack(self, *data: Any) -> bytes:
            try:
                return self._struct.pack(*data)
            except (struct.error, TypeError, OverflowError) as exc:
                raise PackError(f"cannot pack {data!r} as {self.format_str!r}: {exc}") from exc

        def _struct_unpack(self, data: Any, offset: int, unpack_list: list, *args: Any) -> int:
            if offset < 0 or offset + self.size > len(data):
                raise PackError(f"{self.format_str!r} needs {self.size} bytes at offset {offset}, "
                                f"{max(0, len(data) - offset)} left")
            values = self._struct.unpack_from(data, offset)
            unpack_list.append(values if len(values) > 1 else values[0])
            return offset + self.size

    class Bits(_OpPacker):
        """One byte from eight truthy values, the first being the most significant bit."""

        def __init__(self) -> None:
            self._op = (F.BITS,)

    class Raw(_OpPacker):
        """The bytes as they are; unpacking takes everything to the end."""

        def __init__(self) -> None:
            self._op = (F.RAW,)

    class VarLen(_OpPacker):
        """A length prefix counting ``base``-byte units, then the bytes."""

        def __init__(self, length_format: str, base: int = 1) -> None:
            self.length_format = length_format
            self.base = base
            self._op = (F.VARLEN, F.length_size(length_format), base)

    class VarLenUtf8(_OpPacker):
        """Like VarLen, for text encoded as strict UTF-8."""

        def __init__(self, length_format: str, base: int = 1) -> None:
            self.length_format = length_format
            self.base = base
            self._op = (F.UTF8, F.length_size(length_format), base)

    class IPv4(_OpPacker):
        """An ``(ip, port)`` pair as 4 address bytes and a u16 port; hosts parse like ``inet_aton``."""

        def __init__(self) -> None:
            self._op = (F.IPV4,)

    class Address(_OpPacker):
        """A typed address: IPv4, IPv6 or (unless ``ip_only``) a domain name."""

        def __init__(self, ip_only: bool = False) -> None:
            self.ip_only = ip_only
            self._op = (F.ADDRESS, bool(ip_only))

    class ListOf(_OpPacker):
        """A count prefix, then every item packed with ``packer``."""

        def __init__(self, packer: Packer, length_format: str = ">B") -> None:
            self.packer = packer
            self.length_format = length_format
            self._op = (F.LIST, packer, F.length_size(length_format))

    class DefaultArray(_OpPacker):
        """A count and items in little-endian order (what py-ipv8 peers emit on every common platform)."""

        def __init__(self, format_str: str, length_format: str) -> None:
            if format_str not in F.ARRAY_ITEMS:
                raise ValueError(f"unsupported array item format {format_str!r}")
            self.format_str = format_str
            self.length_format = length_format
            self._op = (F.ARRAY, format_str, F.length_size(length_format))

    class NestedPayload(_OpPacker):
        """A u16 length, then a Serializable packed by ``serializer`` (unpack takes the class as argument)."""

        def __init__(self, serializer: Any) -> None:
            self.serializer = serializer
            self._op = (F.NESTED, serializer)

    classes = SimpleNamespace(DefaultStruct=DefaultStruct, Bits=Bits, Raw=Raw, VarLen=VarLen,
                              VarLenUtf8=VarLenUtf8, IPv4=IPv4, Address=Address, ListOf=ListOf,
                              DefaultArray=DefaultArray, NestedPayload=NestedPayload)
    for cls in vars(classes).values():
        cls.__module__ = "ipv8fast.serialization"
    return classes


def default_formats(packers: SimpleNamespace, serializer: Any) -> list[tuple[str, Packer]]:
    """py-ipv8's default format table, in its registration order."""
    p = packers
    structs = [("?", ">?"), ("B", ">B"), ("BBH", ">BBH"), ("BH", ">BH"), ("c", ">c"), ("f", ">f"),
               ("d", ">d"), ("H", ">H"), ("HH", ">HH"), ("I", ">I"), ("l", ">l"), ("LL", ">LL"),
               ("q", ">q"), ("Q", ">Q"), ("QH", ">QH"), ("QL", ">QL"), ("QQHHBH", ">QQHHBH"),
               ("ccB", ">ccB"), ("4SH", ">4sH"), ("20s", ">20s"), ("32s", ">32s"), ("64s", ">64s"),
               ("74s", ">74s"), ("c20s", ">c20s")]
    table: list[tuple[str, Packer]] = [(name, p.DefaultStruct(fmt)) for name, fmt in structs]
    table += [
        ("bits", p.Bits()),
        ("ipv4", p.IPv4()),
        ("ip_address", p.Address(ip_only=True)),
        ("address", p.Address()),
        ("raw", p.Raw()),
        ("varlenBx2", p.VarLen(">B", 2)),
        ("varlenH", p.VarLen(">H")),
        ("varlenHutf8", p.VarLenUtf8(">H")),
        ("varlenIutf8", p.VarLenUtf8(">I")),
        ("varlenHx20", p.VarLen(">H", 20)),
        ("varlenH-list", p.ListOf(p.VarLen(">H"))),
        ("varlenI", p.VarLen(">I")),
        ("doublevarlenH", p.VarLen(">H")),
        ("payload", p.NestedPayload(serializer)),
        ("payload-list", p.ListOf(p.NestedPayload(serializer))),
        ("arrayH-?", p.DefaultArray("?", ">H")),
        ("arrayH-q", p.DefaultArray("q", ">H")),
        ("arrayH-d", p.DefaultArray("d", ">H")),
    ]
    return table
