"""The send path, from payloads to a signed datagram.

Selects the compiled twin ``send_c`` or the pure ``send_py`` (see ``twins``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import twins

if TYPE_CHECKING or twins.NO_EXTENSIONS:
    from .send_py import ez_send, ezr_pack, set_default_ez_pack
else:
    try:
        from .send_c import ez_send, ezr_pack, set_default_ez_pack
    except ImportError as error:
        twins.fall_back("send", error)
        from .send_py import ez_send, ezr_pack, set_default_ez_pack
twins.record("send", ezr_pack)

__all__ = ["ez_send", "ezr_pack", "set_default_ez_pack"]
