"""The receive path, from a datagram to its handler.

Selects the compiled twin ``receive_c`` or the pure ``receive_py`` (see ``twins``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import twins

if TYPE_CHECKING or twins.NO_EXTENSIONS:
    from .receive_py import dispatch, notify_listeners, open_signed, open_unsigned, peer_for
else:
    try:
        from .receive_c import dispatch, notify_listeners, open_signed, open_unsigned, peer_for
    except ImportError as error:
        twins.fall_back("receive", error)
        from .receive_py import dispatch, notify_listeners, open_signed, open_unsigned, peer_for
twins.record("receive", dispatch)

__all__ = ["dispatch", "notify_listeners", "open_signed", "open_unsigned", "peer_for"]
