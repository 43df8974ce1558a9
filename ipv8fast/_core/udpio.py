"""Batched datagram I/O on a UDP socket.

Selects the compiled twin ``udpio_c`` or the pure ``udpio_py`` (see ``twins``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import twins

if TYPE_CHECKING or twins.NO_EXTENSIONS:
    from .udpio_py import AVAILABLE, Receiver, Sender
else:
    try:
        from .udpio_c import AVAILABLE, Receiver, Sender
    except ImportError as error:
        twins.fall_back("udpio", error)
        from .udpio_py import AVAILABLE, Receiver, Sender
twins.record("udpio", Receiver)

__all__ = ["AVAILABLE", "Receiver", "Sender"]
