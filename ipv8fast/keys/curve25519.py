"""curve25519 keys (py-ipv8's default ``LibNaCLSK`` / ``LibNaCLPK``): X25519 for Diffie-Hellman plus Ed25519
for signatures, serialized as ``b"LibNaCLSK:" + x25519_secret + ed25519_seed`` /
``b"LibNaCLPK:" + x25519_public + ed25519_public``.
"""
from __future__ import annotations

import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from nacl.bindings import crypto_box_beforenm
from nacl.exceptions import RuntimeError as SodiumRuntimeError

from .._core import signing as _signing
from .api import LIBNACL_PK_MAGIC, LIBNACL_SK_MAGIC, _CURVES, _MAGIC_LEN, OpenSSLPK, OpenSSLSK, _as_bytes, _sha1

__all__ = ["LibNaCLPK", "LibNaCLSK"]


def _halves(data: bytes, magic: bytes, kind: str) -> tuple[bytes, bytes]:
    """The two 32-byte halves of a curve25519 key bin, with or without its magic (bytes after them ignored)."""
    if data[:_MAGIC_LEN] == magic:
        data = data[_MAGIC_LEN:]
    if len(data) < 64:
        raise ValueError(f"a curve25519 {kind} key needs 64 key bytes, got {len(data)}")
    return data[:32], data[32:64]


class LibNaCLPK(OpenSSLPK):
    """curve25519 public key: ``b"LibNaCLPK:" + x25519_public(32) + ed25519_public(32)``.

    Built from that bin (bytes after the 64 key bytes are ignored) or from the 64 bytes without the magic.
    """

    __slots__ = ("_bin", "_mid", "_vk", "_verify")
    signature_length = 64

    def __new__(cls, keystring: bytes) -> LibNaCLPK:
        return cls.from_parts(*_halves(_as_bytes(keystring, "a LibNaCLPK key"), LIBNACL_PK_MAGIC, "public"))

    def _init(self, x25519_public: bytes, ed25519_public: bytes) -> None:
        self._bin = LIBNACL_PK_MAGIC + x25519_public + ed25519_public
        self._mid = _sha1(self._bin)
        self._vk = Ed25519PublicKey.from_public_bytes(ed25519_public)
        self._verify = _signing.make_verifier(ed25519_public)

    @classmethod
    def from_parts(cls, x25519_public: bytes, ed25519_public: bytes) -> LibNaCLPK:
        """Key from its two 32-byte halves."""
        key = object.__new__(cls)
        key._init(bytes(x25519_public), bytes(ed25519_public))
        return key

    def verify(self, signature: bytes, msg: bytes) -> bool:
        return self._verify(signature, msg)

    def key_to_bin(self) -> bytes:
        return self._bin

    def key_to_hash(self) -> bytes:
        return self._mid

    def get_crypt_pk(self) -> bytes:
        return self._bin[_MAGIC_LEN:_MAGIC_LEN + 32]

    def curve_name(self) -> str:
        return "curve25519"

    def key_to_pem(self) -> bytes:
        return self._vk.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


class LibNaCLSK(OpenSSLSK, LibNaCLPK):
    """curve25519 private key: ``b"LibNaCLSK:" + x25519_secret(32) + ed25519_seed(32)``.

    Built from that bin (trailing bytes ignored), from the 64 bytes without the magic, or, with no argument,
    freshly generated.
    """

    __slots__ = ("_pub", "_sk", "_x25519_secret", "_sign")

    def __new__(cls, keystring: bytes = b"") -> LibNaCLSK:
        data = _as_bytes(keystring, "a LibNaCLSK key")
        if not data:
            return cls.generate()
        return cls.from_parts(*_halves(data, LIBNACL_SK_MAGIC, "private"))

    def _init_private(self, x25519_secret: bytes, ed25519_seed: bytes) -> None:
        self._x25519_secret = x25519_secret
        self._sk = Ed25519PrivateKey.from_private_bytes(ed25519_seed)
        x25519_public = X25519PrivateKey.from_private_bytes(x25519_secret).public_key().public_bytes_raw()
        self._pub = LibNaCLPK.from_parts(x25519_public, self._sk.public_key().public_bytes_raw())
        self._bin = LIBNACL_SK_MAGIC + x25519_secret + ed25519_seed
        self._mid = self._pub._mid
        self._vk = self._pub._vk
        self._verify = self._pub._verify
        self._sign = _signing.make_signer(ed25519_seed)

    @classmethod
    def from_parts(cls, x25519_secret: bytes, ed25519_seed: bytes) -> LibNaCLSK:
        """Key from the 32-byte X25519 secret and the 32-byte Ed25519 seed."""
        key = object.__new__(cls)
        key._init_private(bytes(x25519_secret), bytes(ed25519_seed))
        return key

    @classmethod
    def generate(cls, curve_name: str = "curve25519") -> LibNaCLSK:
        """A fresh random key."""
        if _CURVES.get(curve_name, curve_name) != "curve25519":
            raise RuntimeError(f"Illegal curve for a LibNaCLSK key: {curve_name}")
        return cls.from_parts(os.urandom(32), os.urandom(32))

    def pub(self) -> LibNaCLPK:
        return self._pub

    def signature(self, msg: bytes) -> bytes:
        return self._sign(msg)

    def diffie_hellman(self, peer_public_key: bytes) -> bytes:
        """libsodium's ``crypto_box_beforenm``: HSalsa20 of the X25519 shared secret (32 bytes).

        ``peer_public_key`` is the peer's 32-byte crypt key (``get_crypt_pk()``); a full ``LibNaCLPK:`` bin
        is accepted too. A small-order key (an all-zero shared secret) is a ``ValueError``.
        """
        peer = _as_bytes(peer_public_key, "a crypt public key")
        if peer[:_MAGIC_LEN] == LIBNACL_PK_MAGIC:
            peer = peer[_MAGIC_LEN:_MAGIC_LEN + 32]
        if len(peer) != 32:
            raise ValueError(f"a crypt public key is 32 bytes, got {len(peer)}")
        try:
            return crypto_box_beforenm(peer, self._x25519_secret)
        except SodiumRuntimeError:
            raise ValueError("Error computing shared key.") from None

    def get_crypt_pk(self) -> bytes:
        return self._pub.get_crypt_pk()

    def key_to_pem(self) -> bytes:
        return self._sk.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
