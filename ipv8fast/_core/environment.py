"""ipv8fast's environment variables, read one way everywhere.

A flag is true for ``1``, ``true``, ``yes`` or ``on`` and false for ``0``, ``false``, ``no``, ``off`` or unset
(case and surrounding blanks ignored); anything else is an error naming the variable, raised when the flag is
read (at import for the flags below), so a typo never silently means the opposite.
This module imports nothing of ipv8fast: ``setup.py`` loads it straight from the file.
"""
from __future__ import annotations

import os

__all__ = ["choice", "flag", "text"]

_TRUE = frozenset(("1", "true", "yes", "on"))
_FALSE = frozenset(("0", "false", "no", "off"))


def text(name: str) -> str:
    """The variable's value with blanks stripped; ``""`` when unset."""
    return os.environ.get(name, "").strip()


def flag(name: str, default: bool = False) -> bool:
    """The variable as a boolean; ``default`` when unset or empty."""
    value = text(name).lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name}={os.environ[name]!r}: expected 1/0, true/false, yes/no or on/off")


def choice(name: str, options: tuple[str, ...]) -> str:
    """The variable, lower-cased, which must be one of ``options`` or unset (then ``""``)."""
    value = text(name).lower()
    if value and value not in options:
        raise ValueError(f"{name}={os.environ[name]!r}: expected one of {', '.join(options)}")
    return value
