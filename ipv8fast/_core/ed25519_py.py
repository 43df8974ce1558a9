"""Ed25519 on libsodium through PyNaCl's Python bindings (pure twin of ``ed25519_c``).

``AVAILABLE`` is False when PyNaCl is not installed.
"""
from __future__ import annotations

from collections.abc import Callable

__all__ = ["AVAILABLE", "make_signer", "make_verifier"]

try:
    from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
    from nacl.exceptions import BadSignatureError
    from nacl.exceptions import ValueError as SodiumValueError
except ImportError:
    AVAILABLE = False
else:
    AVAILABLE = True
    _ERRORS = (BadSignatureError, SodiumValueError, TypeError, ValueError)


def make_signer(seed: bytes) -> Callable[[bytes], bytes]:
    """``sign(message) -> 64-byte signature`` for the key with this 32-byte seed."""
    secret = crypto_sign_seed_keypair(bytes(seed))[1]
    return lambda message: crypto_sign(message, secret)[:64]


def make_verifier(public: bytes) -> Callable[[bytes, bytes], bool]:
    """``verify(signature, message) -> bool`` for this 32-byte public key; never raises."""
    public = bytes(public)

    def verify(signature: bytes, message: bytes) -> bool:
        try:
            if type(signature) is not bytes or type(message) is not bytes:
                signature, message = bytes(signature), bytes(message)
            if len(signature) != 64:
                return False
            crypto_sign_open(signature + message, public)
        except _ERRORS:
            return False
        return True

    return verify
