"""The key API (py-ipv8's ``ipv8.keyvault.keys`` and the ``OpenSSLPK`` / ``OpenSSLSK`` entry classes of
``ipv8.keyvault.public.openssl`` / ``.private.openssl``), the key formats' constants and shared byte helpers.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from abc import ABC, abstractmethod

from .._core import libcrypto as _libcrypto

__all__ = ["BytesLike", "Key", "LIBNACL_PK_MAGIC", "LIBNACL_SK_MAGIC", "OpenSSLPK", "OpenSSLSK",
           "PRIVATE_KEY_PREFIXES", "PrivateKey", "PublicKey"]

BytesLike = bytes | bytearray | memoryview

LIBNACL_SK_MAGIC = b"LibNaCLSK:"
LIBNACL_PK_MAGIC = b"LibNaCLPK:"
_MAGIC_LEN = 10
_LIBNACL_LEN = 74

#: Key bins that hold private material; a remote peer's key must never start with one of these.
PRIVATE_KEY_PREFIXES: tuple[bytes, ...] = (LIBNACL_SK_MAGIC, b"-----BEGIN EC PRIVATE KEY-----",
                                           b"-----BEGIN PRIVATE KEY-----")

#: security level -> curve name (py-ipv8's ``ipv8.keyvault.crypto._CURVES``).
_CURVES: dict[str, str] = {**_libcrypto.LEGACY_CURVES, "curve25519": "curve25519"}

# Fixed DER headers of an Ed25519 SubjectPublicKeyInfo / PKCS#8 key; the 32 key bytes follow.
_ED25519_SPKI_HEADER = bytes.fromhex("302a300506032b6570032100")
_ED25519_PKCS8_HEADER = bytes.fromhex("302e020100300506032b657004220420")


def _sha1(data: bytes) -> bytes:
    return hashlib.sha1(data).digest()


def _as_bytes(value: BytesLike, what: str) -> bytes:
    if type(value) is bytes:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be bytes, not {type(value).__name__}")


def _pem_decode(pem: bytes, labels: tuple[str, ...] | None = None) -> tuple[str, bytes]:
    """``(label, DER)`` of the first PEM block in ``pem`` whose label is in ``labels`` (any if None)."""
    text = pem.decode("ascii", "replace")
    begin = text.find("-----BEGIN ")
    while begin >= 0:
        head_end = text.find("-----", begin + 11)
        if head_end < 0:
            break
        label = text[begin + 11:head_end]
        end = text.find(f"-----END {label}-----", head_end)
        if end < 0:
            raise ValueError(f"PEM block {label!r} has no END line")
        if labels is None or label in labels:
            try:
                return label, base64.b64decode("".join(text[head_end + 5:end].split()), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ValueError(f"bad base64 in PEM block {label!r}: {exc}") from None
        begin = text.find("-----BEGIN ", end)
    raise ValueError(f"no PEM block labelled {' or '.join(labels or ('anything',))}")


class Key(ABC):
    """A public or private key."""

    __slots__ = ()

    @abstractmethod
    def pub(self) -> PublicKey:
        """The public key (``self`` for a public key)."""

    @abstractmethod
    def has_secret_key(self) -> bool:
        """True for private keys."""

    @abstractmethod
    def key_to_bin(self) -> bytes:
        """The key's binary serialization."""

    def key_to_hash(self) -> bytes:
        """SHA-1 of the public key bin (a peer's ``mid``); the same for a private key and its public half."""
        return _sha1(self.pub().key_to_bin())


class PrivateKey(Key):
    """A key that can sign."""

    __slots__ = ()

    def has_secret_key(self) -> bool:
        return True

    @abstractmethod
    def pub(self) -> PublicKey:
        """The public half of this key."""

    @abstractmethod
    def signature(self, msg: bytes) -> bytes:
        """Sign ``msg``."""

    @abstractmethod
    def diffie_hellman(self, peer_public_key: bytes) -> bytes:
        """Shared secret with the peer's crypt (X25519) public key."""

    @abstractmethod
    def get_crypt_pk(self) -> bytes:
        """The 32-byte X25519 public key."""


class PublicKey(Key):
    """A key that can verify."""

    __slots__ = ()

    def pub(self) -> PublicKey:
        return self

    def has_secret_key(self) -> bool:
        return False

    @abstractmethod
    def verify(self, signature: bytes, msg: bytes) -> bool:
        """True iff ``signature`` is this key's signature of ``msg``."""

    @abstractmethod
    def get_signature_length(self) -> int:
        """Length in bytes of this key type's signatures."""

    @abstractmethod
    def get_crypt_pk(self) -> bytes:
        """The 32-byte X25519 public key."""

    @abstractmethod
    def curve_name(self) -> str:
        """``"curve25519"`` or the EC curve's short name (e.g. ``"sect409k1"``)."""


class OpenSSLPK(PublicKey):
    """Any public key: ``OpenSSLPK(keystring)`` returns a :class:`LibNaCLPK` or :class:`M2CryptoPK`."""

    __slots__ = ()

    #: Length of this key's signatures (an attribute for the receive path; same as get_signature_length()).
    signature_length: int

    def __new__(cls, keystring: bytes) -> OpenSSLPK:
        from .parsing import _parse_public

        return _parse_public(_as_bytes(keystring, "a public key"))

    @abstractmethod
    def key_to_pem(self) -> bytes:
        """PEM of the key (for curve25519 only its Ed25519 part; never used on the wire)."""

    def pem_to_bin(self, pem: bytes) -> bytes:
        """The DER inside a PEM block."""
        return _pem_decode(_as_bytes(pem, "a PEM key"))[1]

    def __reduce__(self) -> tuple[object, tuple[bytes]]:
        from .parsing import _parse_public

        return _parse_public, (self.key_to_bin(),)

    def get_signature_length(self) -> int:
        return self.signature_length

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.curve_name()} mid={self.key_to_hash().hex()}>"


class OpenSSLSK(PrivateKey, OpenSSLPK):
    """Any private key: ``OpenSSLSK(keystring)`` returns a :class:`LibNaCLSK` or :class:`M2CryptoSK`.

    A subclass of both :class:`PrivateKey` and :class:`OpenSSLPK` (as in py-ipv8), so it can verify too.
    """

    __slots__ = ()

    def __new__(cls, keystring: bytes) -> OpenSSLSK:
        from .parsing import _parse_private

        return _parse_private(_as_bytes(keystring, "a private key"))

    def __reduce__(self) -> tuple[object, tuple[bytes]]:
        from .parsing import _parse_private

        return _parse_private, (self.key_to_bin(),)

    @staticmethod
    def generate(curve_name: str) -> OpenSSLSK:
        """A new private key for a curve name (``"curve25519"``, ``"sect409k1"`` ...) or security level."""
        from .curve25519 import LibNaCLSK
        from .legacy import M2CryptoSK

        curve = _CURVES.get(curve_name, curve_name)
        if curve == "curve25519":
            return LibNaCLSK.generate()
        return M2CryptoSK.generate(curve)
