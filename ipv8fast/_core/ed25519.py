"""Ed25519 signing and verification on libsodium.

Selects the compiled twin ``ed25519_c`` or the pure ``ed25519_py`` (see ``twins``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import twins

if TYPE_CHECKING or twins.NO_EXTENSIONS:
    from .ed25519_py import AVAILABLE, make_signer, make_verifier
else:
    try:
        from .ed25519_c import AVAILABLE, make_signer, make_verifier
    except ImportError as error:
        twins.fall_back("ed25519", error)
        from .ed25519_py import AVAILABLE, make_signer, make_verifier
twins.record("ed25519", make_signer)

__all__ = ["AVAILABLE", "make_signer", "make_verifier"]
