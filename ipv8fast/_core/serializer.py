"""The serializer engine.

Selects the compiled twin ``serializer_c`` or the pure ``serializer_py`` (see ``twins``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import twins

if TYPE_CHECKING or twins.NO_EXTENSIONS:
    from .serializer_py import PACKERS, Serializer, default_serializer, pack_op, unpack_op
else:
    try:
        from .serializer_c import PACKERS, Serializer, default_serializer, pack_op, unpack_op
    except ImportError as error:
        twins.fall_back("serializer", error)
        from .serializer_py import PACKERS, Serializer, default_serializer, pack_op, unpack_op
twins.record("serializer", Serializer)

__all__ = ["PACKERS", "Serializer", "default_serializer", "pack_op", "unpack_op"]
