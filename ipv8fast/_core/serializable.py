"""Base types shared by both serializer twins: PackError, Serializable, Payload, Packer."""
from __future__ import annotations

import abc
import struct
from typing import Any


class PackError(RuntimeError, struct.error):
    """A value could not be packed, or bytes could not be unpacked (the only error the serializer raises).

    Also a ``struct.error``, which py-ipv8 code catches from the bare packers.
    """


class Serializable(abc.ABC):
    """Something the Serializer can pack: an ordered ``format_list`` plus the two conversion methods."""

    format_list: list = []

    @abc.abstractmethod
    def to_pack_list(self) -> list[tuple]:
        """Return ``(format_name, *values)`` tuples, one per format entry."""

    @classmethod
    @abc.abstractmethod
    def from_unpack_list(cls, *args: Any, **kwargs: Any) -> Serializable:
        """Build an instance from the unpacked values, in format order."""


class Payload(Serializable, abc.ABC):
    """A Serializable with a readable ``str()``: its class name and public data attributes."""

    def __str__(self) -> str:
        lines = [self.__class__.__name__]
        for name in dir(self):
            if name.startswith("_") or name in ("format_list", "names"):
                continue
            value = getattr(self, name)
            if callable(value):
                continue
            lines.append(f"\n| {name}: {value!r}")
        return "".join(lines)


class Packer(abc.ABC):
    """Packs the values of one format code to bytes and unpacks them again."""

    @abc.abstractmethod
    def pack(self, *data: Any) -> bytes:
        """Return the encoding of ``data``."""

    @abc.abstractmethod
    def unpack(self, data: bytes, offset: int, unpack_list: list, *args: Any) -> int:
        """Append the value(s) decoded from ``data[offset:]`` to ``unpack_list``; return the new offset."""


class Layout:
    """How a declarative payload class maps its ``names`` onto its ``format_list``.

    Declarative payloads (VariablePayload and friends) return one from ``_ipv8fast_layout()`` when their
    ``to_pack_list``/``from_unpack_list`` are the stock ones, so the serializer may read and set the
    attributes directly instead of building intermediate lists.
    """

    __slots__ = ("names", "pack_hooks", "unpack_hooks", "hooks_skip_none", "direct_build", "fast_construct",
                 "direct_pack")

    def __init__(self, names: tuple[str, ...], pack_hooks: tuple, unpack_hooks: tuple, hooks_skip_none: bool,
                 direct_build: bool, fast_construct: bool, direct_pack: bool) -> None:
        self.names = names
        #: per name: ``fix_pack_<name>`` as a plain function ``(obj, value) -> value``, or None
        self.pack_hooks = pack_hooks
        #: per name: ``fix_unpack_<name>`` bound to the class, or None
        self.unpack_hooks = unpack_hooks
        #: vp_compile'd classes skip unpack hooks for None values
        self.hooks_skip_none = hooks_skip_none
        #: True when ``from_unpack_list`` is the stock one: the serializer may apply the unpack hooks
        #: itself and call the class with the values
        self.direct_build = direct_build
        #: True when ``__init__`` is vp_compile's (one assignment per name) and ``__new__`` has no say,
        #: so a compiled serializer may create the instance and set the attributes itself
        self.fast_construct = fast_construct
        #: True when ``to_pack_list`` is the stock one, so attributes may be read directly
        self.direct_pack = direct_pack


def layout_of(cls: type) -> Layout | None:
    """The class's Layout, or None for hand-written Serializables."""
    prepare = getattr(cls, "_ipv8fast_prepare", None)
    if prepare is not None:
        prepare()
    method = getattr(cls, "_ipv8fast_layout", None)
    return method() if method is not None else None


def format_list_of(cls: type) -> list:
    """The class's ``format_list`` after any lazy preparation (dataclass payloads build it on demand)."""
    prepare = getattr(cls, "_ipv8fast_prepare", None)
    if prepare is not None:
        prepare()
    format_list: list = getattr(cls, "format_list")  # noqa: B009 - any class with a format_list
    return format_list
