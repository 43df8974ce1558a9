"""Ed25519 signing and verification on the fastest backend installed.

libsodium (PyNaCl's, called from C by ``ed25519_c``, or through PyNaCl's bindings by its twin
``ed25519_py``) signs about 1.6x and verifies about 2x faster than OpenSSL (through ``cryptography``) here;
both produce the same deterministic RFC 8032 signatures. ``IPV8FAST_ED25519`` set to ``cryptography`` or
``libsodium`` picks one explicitly.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import ed25519, ed25519_py, twins
from .environment import choice

Signer = Callable[[bytes], bytes]
Verifier = Callable[[bytes, bytes], bool]


class Backend(NamedTuple):
    name: str
    #: ``make_signer(seed32) -> sign(message) -> signature``
    make_signer: Callable[[bytes], Signer]
    #: ``make_verifier(public32) -> verify(signature, message) -> bool`` (never raises)
    make_verifier: Callable[[bytes], Verifier]


def _openssl_verifier(public: bytes) -> Verifier:
    key = Ed25519PublicKey.from_public_bytes(public)

    def verify(signature: bytes, message: bytes) -> bool:
        try:
            key.verify(signature, message)
        except (InvalidSignature, TypeError, ValueError):
            return False
        return True
    return verify


OPENSSL = Backend("cryptography", lambda seed: Ed25519PrivateKey.from_private_bytes(seed).sign, _openssl_verifier)


def _libsodium() -> Backend | None:
    if ed25519.AVAILABLE:
        return Backend("libsodium", ed25519.make_signer, ed25519.make_verifier)
    if twins.ACTIVE["ed25519"] and ed25519_py.AVAILABLE:  # compiled, but PyNaCl's C library is not as expected
        twins.ACTIVE["ed25519"] = False
        return Backend("libsodium", ed25519_py.make_signer, ed25519_py.make_verifier)
    return None


LIBSODIUM = _libsodium()

_CHOICE = choice("IPV8FAST_ED25519", ("libsodium", "cryptography"))
if _CHOICE == "libsodium" and LIBSODIUM is None:
    raise ImportError("IPV8FAST_ED25519=libsodium, but PyNaCl is not installed")

#: the backend in use
ACTIVE: Backend = OPENSSL if _CHOICE == "cryptography" or LIBSODIUM is None else LIBSODIUM
BACKEND = ACTIVE.name
make_signer = ACTIVE.make_signer
make_verifier = ACTIVE.make_verifier
