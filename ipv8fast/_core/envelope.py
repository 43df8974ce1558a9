"""The datagram envelope's parse and join helpers.

Selects the compiled twin ``envelope_c`` or the pure ``envelope_py`` (see ``twins``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import twins

if TYPE_CHECKING or twins.NO_EXTENSIONS:
    from .envelope_py import join_packet, read_auth, split_header, split_signature
else:
    try:
        from .envelope_c import join_packet, read_auth, split_header, split_signature
    except ImportError as error:
        twins.fall_back("envelope", error)
        from .envelope_py import join_packet, read_auth, split_header, split_signature
twins.record("envelope", join_packet)

__all__ = ["join_packet", "read_auth", "split_header", "split_signature"]
