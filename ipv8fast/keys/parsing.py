"""Key bins to key objects: any public or private key (LibNaCL bin, DER or PEM), and the process-wide
public-key cache the receive path looks peers' keys up in (:data:`public_key_cache`, :func:`verify`).
"""
from __future__ import annotations

import os
from collections import OrderedDict

from .._core.libcrypto import LegacyCurveUnavailable
from .api import (
    LIBNACL_PK_MAGIC,
    LIBNACL_SK_MAGIC,
    PRIVATE_KEY_PREFIXES,
    _ED25519_PKCS8_HEADER,
    _ED25519_SPKI_HEADER,
    _LIBNACL_LEN,
    _MAGIC_LEN,
    BytesLike,
    OpenSSLPK,
    OpenSSLSK,
    _as_bytes,
    _pem_decode,
)
from .curve25519 import LibNaCLPK, LibNaCLSK
from .legacy import M2CryptoPK, M2CryptoSK, _load_legacy

__all__ = ["PublicKeyCache", "key_from_public_bin", "public_key_cache", "remote_public_key", "verify"]


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
        key = _parse_public(key_bin)
        self._keys[key_bin] = key
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
