"""Identifier pools with O(1) claim, release and random pick.

Selects the compiled twin ``identifiers_c`` or the pure ``identifiers_py`` (see ``twins``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import twins
from .limits import EXHAUSTED_MESSAGE, MAX_POOL_SIZE

if TYPE_CHECKING or twins.NO_EXTENSIONS:
    from .identifiers_py import IdentifierPool
else:
    try:
        from .identifiers_c import IdentifierPool
    except ImportError as error:
        twins.fall_back("identifiers", error)
        from .identifiers_py import IdentifierPool
twins.record("identifiers", IdentifierPool)

__all__ = ["EXHAUSTED_MESSAGE", "IdentifierPool", "MAX_POOL_SIZE"]
