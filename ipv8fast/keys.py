"""Keys and signatures in py-ipv8's formats (``ipv8.keyvault.keys`` / ``.crypto`` / ``.private.openssl`` /
``.public.openssl``).

* ``"curve25519"`` (the default): a dual key, X25519 for Diffie-Hellman plus Ed25519 for signatures, serialized
  as ``b"LibNaCLSK:" + x25519_secret + ed25519_seed`` / ``b"LibNaCLPK:" + x25519_public + ed25519_public``.
* ``"very-low"`` ... ``"high"``: binary-curve EC keys (DER), handled by :mod:`ipv8fast._core.libcrypto`.

Public keys are parsed once and kept in a bounded LRU cache keyed by their bytes
(:data:`public_key_cache`), so the receive path never re-parses a known peer's key; :func:`verify` is the
never-raising check it calls.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
from abc import ABC, abstractmethod
from collections import OrderedDict
from typing import Union

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from ._core import libcrypto as _libcrypto
from ._core import signing as _signing
from ._core.libcrypto import LegacyCurveUnavailable

__all__ = [
    "ECCrypto", "Key", "LIBNACL_PK_MAGIC", "LIBNACL_SK_MAGIC", "LegacyCurveUnavailable", "LibNaCLPK", "LibNaCLSK",
    "M2CryptoPK", "M2CryptoSK", "OpenSSLPK", "OpenSSLSK", "PRIVATE_KEY_PREFIXES", "PrivateKey", "PublicKey",
    "PublicKeyCache", "_CURVES", "default_eccrypto", "key_from_public_bin", "public_key_cache",
    "remote_public_key", "verify",
]

BytesLike = Union[bytes, bytearray, memoryview]

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


# ------------------------------------------------------------------------------------------------------------
# Abstract API (ipv8.keyvault.keys)
# ------------------------------------------------------------------------------------------------------------

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


# ------------------------------------------------------------------------------------------------------------
# Concrete entry classes (ipv8.keyvault.public.openssl / .private.openssl)
# ------------------------------------------------------------------------------------------------------------

class OpenSSLPK(PublicKey):
    """Any public key: ``OpenSSLPK(keystring)`` returns a :class:`LibNaCLPK` or :class:`M2CryptoPK`."""

    __slots__ = ()

    #: Length of this key's signatures (an attribute for the receive path; same as get_signature_length()).
    signature_length: int

    def __new__(cls, keystring: bytes) -> OpenSSLPK:
        return _parse_public(_as_bytes(keystring, "a public key"))

    @abstractmethod
    def key_to_pem(self) -> bytes:
        """PEM of the key (for curve25519 only its Ed25519 part; never used on the wire)."""

    def pem_to_bin(self, pem: bytes) -> bytes:
        """The DER inside a PEM block."""
        return _pem_decode(_as_bytes(pem, "a PEM key"))[1]

    def __reduce__(self) -> tuple[object, tuple[bytes]]:
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

    def __new__(cls, keystring: bytes) -> OpenSSLSK:  # type: ignore[misc]
        return _parse_private(_as_bytes(keystring, "a private key"))

    def __reduce__(self) -> tuple[object, tuple[bytes]]:
        return _parse_private, (self.key_to_bin(),)

    @staticmethod
    def generate(curve_name: str) -> OpenSSLSK:
        """A new private key for a curve name (``"curve25519"``, ``"sect409k1"`` ...) or security level."""
        curve = _CURVES.get(curve_name, curve_name)
        if curve == "curve25519":
            return LibNaCLSK.generate()
        return M2CryptoSK.generate(curve)


# ------------------------------------------------------------------------------------------------------------
# curve25519
# ------------------------------------------------------------------------------------------------------------

class LibNaCLPK(OpenSSLPK):
    """curve25519 public key: ``b"LibNaCLPK:" + x25519_public(32) + ed25519_public(32)``.

    Built from that bin (bytes after the 64 key bytes are ignored) or from the 64 bytes without the magic.
    """

    __slots__ = ("_bin", "_mid", "_vk", "_verify")
    signature_length = 64

    def __new__(cls, keystring: bytes) -> LibNaCLPK:
        data = _as_bytes(keystring, "a LibNaCLPK key")
        if data[:_MAGIC_LEN] == LIBNACL_PK_MAGIC:
            data = data[_MAGIC_LEN:]
        if len(data) < 64:
            raise ValueError(f"a curve25519 public key needs 64 key bytes, got {len(data)}")
        return cls.from_parts(data[:32], data[32:64])

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
        if data[:_MAGIC_LEN] == LIBNACL_SK_MAGIC:
            data = data[_MAGIC_LEN:]
        if len(data) < 64:
            raise ValueError(f"a curve25519 private key needs 64 key bytes, got {len(data)}")
        return cls.from_parts(data[:32], data[32:64])

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
    def from_parts(cls, x25519_secret: bytes, ed25519_seed: bytes) -> LibNaCLSK:  # type: ignore[override]
        """Key from the 32-byte X25519 secret and the 32-byte Ed25519 seed."""
        key = object.__new__(cls)
        key._init_private(bytes(x25519_secret), bytes(ed25519_seed))
        return key

    @classmethod
    def generate(cls, curve_name: str = "curve25519") -> LibNaCLSK:  # type: ignore[override]
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
        is accepted too.
        """
        peer = _as_bytes(peer_public_key, "a crypt public key")
        if peer[:_MAGIC_LEN] == LIBNACL_PK_MAGIC:
            peer = peer[_MAGIC_LEN:_MAGIC_LEN + 32]
        if len(peer) != 32:
            raise ValueError(f"a crypt public key is 32 bytes, got {len(peer)}")
        shared = X25519PrivateKey.from_private_bytes(self._x25519_secret).exchange(
            X25519PublicKey.from_public_bytes(peer))
        return _hsalsa20(shared, bytes(16))

    def get_crypt_pk(self) -> bytes:
        return self._pub.get_crypt_pk()

    def key_to_pem(self) -> bytes:
        return self._sk.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())


_SIGMA = struct.unpack("<4I", b"expand 32-byte k")
_MASK = 0xFFFFFFFF


def _hsalsa20(key: bytes, nonce: bytes) -> bytes:
    """The HSalsa20 core (XSalsa20 paper, section 2): 32-byte key, 16-byte input -> 32 bytes."""
    k = struct.unpack("<8I", key)
    n = struct.unpack("<4I", nonce)
    x = [_SIGMA[0], *k[:4], _SIGMA[1], *n, _SIGMA[2], *k[4:], _SIGMA[3]]

    def quarter(a: int, b: int, c: int, d: int) -> None:
        t = (x[a] + x[d]) & _MASK
        x[b] ^= ((t << 7) | (t >> 25)) & _MASK
        t = (x[b] + x[a]) & _MASK
        x[c] ^= ((t << 9) | (t >> 23)) & _MASK
        t = (x[c] + x[b]) & _MASK
        x[d] ^= ((t << 13) | (t >> 19)) & _MASK
        t = (x[d] + x[c]) & _MASK
        x[a] ^= ((t << 18) | (t >> 14)) & _MASK

    for _ in range(10):
        quarter(0, 4, 8, 12), quarter(5, 9, 13, 1), quarter(10, 14, 2, 6), quarter(15, 3, 7, 11)
        quarter(0, 1, 2, 3), quarter(5, 6, 7, 4), quarter(10, 11, 8, 9), quarter(15, 12, 13, 14)
    return struct.pack("<8I", x[0], x[5], x[10], x[15], x[6], x[7], x[8], x[9])


# ------------------------------------------------------------------------------------------------------------
# Legacy binary-curve keys
# ------------------------------------------------------------------------------------------------------------

_NO_CRYPT_KEY = "legacy EC keys have no crypt key (No crypt_sk); only curve25519 keys can do Diffie-Hellman"


class M2CryptoPK(OpenSSLPK):
    """Legacy EC public key (DER SubjectPublicKeyInfo); ECDSA-SHA1 ``r || s`` signatures."""

    __slots__ = ("_bin", "_ec", "_mid", "signature_length")

    def __new__(cls, keystring: bytes) -> M2CryptoPK:
        return cls._from_ec(_load_legacy(_as_bytes(keystring, "an EC public key"), private=False))

    def _init(self, ec: _libcrypto.ECKey) -> None:
        self._ec = ec
        self._bin = ec.public_der
        self._mid = _sha1(ec.public_der)
        self.signature_length = ec.signature_length

    @classmethod
    def _from_ec(cls, ec: _libcrypto.ECKey) -> M2CryptoPK:
        key = object.__new__(cls)
        key._init(ec)
        return key

    def verify(self, signature: bytes, msg: bytes) -> bool:
        return self._ec.verify(signature, msg)

    def key_to_bin(self) -> bytes:
        return self._bin

    def key_to_hash(self) -> bytes:
        return self._mid

    def get_crypt_pk(self) -> bytes:
        raise ValueError(_NO_CRYPT_KEY)

    def curve_name(self) -> str:
        return self._ec.curve_name

    def key_to_pem(self) -> bytes:
        return _libcrypto.to_pem("PUBLIC KEY", self._bin)


class M2CryptoSK(OpenSSLSK, M2CryptoPK):
    """Legacy EC private key (DER SEC1 ECPrivateKey)."""

    __slots__ = ("_pub",)

    def __new__(cls, keystring: bytes) -> M2CryptoSK:
        return cls._from_ec(_load_legacy(_as_bytes(keystring, "an EC private key"), private=True))  # type: ignore

    def _init(self, ec: _libcrypto.ECKey) -> None:
        super()._init(ec)
        self._bin = ec.private_der  # type: ignore[assignment]
        self._pub = M2CryptoPK._from_ec(ec.public())

    @classmethod
    def generate(cls, curve_name: str) -> M2CryptoSK:  # type: ignore[override]
        """A fresh key on a binary curve (``"sect163k1"`` ... or a security level name)."""
        return cls._from_ec(_libcrypto.generate(_CURVES.get(curve_name, curve_name)))  # type: ignore[return-value]

    def pub(self) -> M2CryptoPK:
        return self._pub

    def signature(self, msg: bytes) -> bytes:
        return self._ec.sign(msg)

    def diffie_hellman(self, peer_public_key: bytes) -> bytes:
        raise ValueError(_NO_CRYPT_KEY)

    def get_crypt_pk(self) -> bytes:
        raise ValueError(_NO_CRYPT_KEY)

    def key_to_pem(self) -> bytes:
        return _libcrypto.to_pem("EC PRIVATE KEY", self._bin)


def _load_legacy(der: bytes, private: bool) -> _libcrypto.ECKey:
    if der[:1] != b"\x30":
        raise ValueError("not a key: expected LibNaCL magic, PEM or DER")
    if not private:
        _libcrypto.parse_spki(der)  # cheap structural check before touching libcrypto
        return _libcrypto.load_public_der(der)
    return _libcrypto.load_private_der(der)


# ------------------------------------------------------------------------------------------------------------
# Parsing
# ------------------------------------------------------------------------------------------------------------

def _parse_public(data: bytes) -> OpenSSLPK:
    try:
        if data[:_MAGIC_LEN] == LIBNACL_PK_MAGIC:
            if len(data) < _LIBNACL_LEN:
                raise ValueError(f"a LibNaCLPK key is {_LIBNACL_LEN} bytes, got {len(data)}")
            return LibNaCLPK.from_parts(data[10:42], data[42:74])
        if data[:_MAGIC_LEN] == LIBNACL_SK_MAGIC:
            raise ValueError("this is a private key bin (LibNaCLSK:), not a public key")
        if data.lstrip()[:10] == b"-----BEGIN":
            data = _pem_decode(data, ("PUBLIC KEY",))[1]
        if data[:12] == _ED25519_SPKI_HEADER and len(data) >= 44:
            # py-ipv8 fills both halves with the Ed25519 key when it loads an Ed25519 PEM/DER public key.
            return LibNaCLPK.from_parts(data[12:44], data[12:44])
        return M2CryptoPK._from_ec(_load_legacy(data, private=False))
    except LegacyCurveUnavailable as exc:
        raise LegacyCurveUnavailable(f"Failed to load public key: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"Failed to load public key: {exc}") from None


def _parse_private(data: bytes) -> OpenSSLSK:
    try:
        if data[:_MAGIC_LEN] == LIBNACL_SK_MAGIC:
            if len(data) < _LIBNACL_LEN:
                raise ValueError(f"a LibNaCLSK key is {_LIBNACL_LEN} bytes, got {len(data)}")
            return LibNaCLSK.from_parts(data[10:42], data[42:74])
        if data[:_MAGIC_LEN] == LIBNACL_PK_MAGIC:
            raise ValueError("this is a public key bin (LibNaCLPK:), not a private key")
        if data.lstrip()[:10] == b"-----BEGIN":
            data = _pem_decode(data, ("EC PRIVATE KEY", "PRIVATE KEY"))[1]
        if data[:16] == _ED25519_PKCS8_HEADER and len(data) >= 48:
            # An Ed25519 PEM/DER key has no X25519 half: like py-ipv8, make up a random one.
            return LibNaCLSK.from_parts(os.urandom(32), data[16:48])
        return M2CryptoSK._from_ec(_load_legacy(data, private=True))  # type: ignore[return-value]
    except LegacyCurveUnavailable as exc:
        raise LegacyCurveUnavailable(f"Failed to load private key: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"Failed to load private key: {exc}") from None


class PublicKeyCache:
    """Bounded LRU map *public key bin -> parsed public key*; parse errors are not cached."""

    __slots__ = ("_keys", "maxsize")

    def __init__(self, maxsize: int = 4096) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        self._keys: OrderedDict[bytes, OpenSSLPK] = OrderedDict()

    def get(self, key_bin: BytesLike) -> OpenSSLPK:
        """The parsed key for ``key_bin``; ``ValueError`` if it is not a public key bin."""
        if type(key_bin) is not bytes:
            key_bin = _as_bytes(key_bin, "a public key")
        key = self._keys.get(key_bin)
        if key is not None:
            try:
                self._keys.move_to_end(key_bin)
            except KeyError:  # evicted by another thread meanwhile
                pass
            return key
        key = _parse_public(key_bin)  # type: ignore[arg-type]
        self._keys[key_bin] = key  # type: ignore[index]
        while len(self._keys) > self.maxsize:
            try:
                self._keys.popitem(last=False)
            except KeyError:
                break
        return key

    def resize(self, maxsize: int) -> None:
        """Change the bound, evicting the least recently used keys if needed."""
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        while len(self._keys) > maxsize:
            self._keys.popitem(last=False)

    def clear(self) -> None:
        self._keys.clear()

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key_bin: object) -> bool:
        return key_bin in self._keys


#: The process-wide public-key cache used by :func:`key_from_public_bin` and :func:`verify`.
public_key_cache = PublicKeyCache()


def key_from_public_bin(key_bin: BytesLike) -> OpenSSLPK:
    """Parsed public key for ``key_bin`` (cached); ``ValueError`` if invalid."""
    return public_key_cache.get(key_bin)


def remote_public_key(key_bin: BytesLike) -> OpenSSLPK:
    """A remote peer's public key from its bin; private key material is refused with ``ValueError``."""
    data = _as_bytes(key_bin, "a public key")
    if data.lstrip().startswith(PRIVATE_KEY_PREFIXES):
        raise ValueError("refusing to build a remote peer's key from PRIVATE key material; pass your own key as a "
                         "key object, and a remote peer's key as its public key bin")
    return public_key_cache.get(data)


def verify(public_key_bin: BytesLike, signature: BytesLike, message: BytesLike) -> bool:
    """True iff ``signature`` over ``message`` verifies with the key ``public_key_bin``; never raises."""
    try:
        return public_key_cache.get(public_key_bin).verify(signature, message)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - bad key, wrong types: simply not valid
        return False


# ------------------------------------------------------------------------------------------------------------
# ECCrypto (ipv8.keyvault.crypto)
# ------------------------------------------------------------------------------------------------------------

class ECCrypto:
    """py-ipv8's stateless key facade; use the module singleton :data:`default_eccrypto`."""

    @property
    def security_levels(self) -> list[str]:
        """The names :meth:`generate_key` accepts."""
        return list(_CURVES)

    def generate_key(self, security_level: str) -> PrivateKey:
        """A new private key; ``RuntimeError`` for an unknown level (or legacy curves the platform lacks)."""
        if security_level not in _CURVES:
            raise RuntimeError(f"Illegal curve for key generation: {security_level}")
        if security_level == "curve25519":
            return LibNaCLSK.generate()
        return M2CryptoSK.generate(_CURVES[security_level])

    def key_to_bin(self, key: Key) -> bytes:
        assert isinstance(key, Key), key
        return key.key_to_bin()

    def key_to_hash(self, key: Key) -> bytes:
        assert isinstance(key, Key), key
        return key.key_to_hash()

    def is_valid_private_bin(self, string: bytes) -> bool:
        try:
            self.key_from_private_bin(string)
        except (ValueError, TypeError):
            return False
        return True

    def is_valid_public_bin(self, string: bytes) -> bool:
        try:
            public_key_cache.get(string)
        except (ValueError, TypeError):
            return False
        return True

    def key_from_private_bin(self, string: bytes) -> PrivateKey:
        """Parse a private key bin (LibNaCLSK, DER or PEM); ``ValueError`` if invalid."""
        return _parse_private(_as_bytes(string, "a private key"))

    def key_from_public_bin(self, string: bytes) -> PublicKey:
        """Parse a public key bin (LibNaCLPK, DER or PEM), cached by its bytes; ``ValueError`` if invalid."""
        return public_key_cache.get(string)

    def get_signature_length(self, public_key: PublicKey) -> int:
        return public_key.get_signature_length()

    def create_signature(self, private_key: PrivateKey, data: bytes) -> bytes:
        return private_key.signature(data)

    def is_valid_signature(self, public_key: PublicKey, data: bytes, signature: bytes) -> bool:
        """True iff valid; any error during verification counts as invalid."""
        try:
            return public_key.verify(signature, data)
        except Exception:  # noqa: BLE001
            return False


default_eccrypto = ECCrypto()
