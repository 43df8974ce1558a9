"""Keys and signatures in py-ipv8's formats (``ipv8.keyvault.keys`` / ``.crypto`` / ``.private.openssl`` /
``.public.openssl``).

* ``"curve25519"`` (the default): a dual key, X25519 for Diffie-Hellman plus Ed25519 for signatures, serialized
  as ``b"LibNaCLSK:" + x25519_secret + ed25519_seed`` / ``b"LibNaCLPK:" + x25519_public + ed25519_public``.
* ``"very-low"`` ... ``"high"``: binary-curve EC keys (DER), handled by :mod:`ipv8fast._core.libcrypto`.

The package: :mod:`.api` (the abstract key classes, formats, helpers), :mod:`.curve25519`, :mod:`.legacy`
(binary curves), :mod:`.parsing` (key bins to keys, the public-key cache) and :mod:`.crypto` (``ECCrypto``).
Public keys are parsed once and kept in a bounded LRU cache keyed by their bytes
(:data:`public_key_cache`), so the receive path never re-parses a known peer's key; :func:`verify` is the
never-raising check it calls.
"""
from __future__ import annotations

from .._core.libcrypto import LegacyCurveUnavailable
from .api import (
    LIBNACL_PK_MAGIC,
    LIBNACL_SK_MAGIC,
    PRIVATE_KEY_PREFIXES,
    _CURVES,
    BytesLike,  # noqa: F401 - the type alias, importable from here as before
    Key,
    OpenSSLPK,
    OpenSSLSK,
    PrivateKey,
    PublicKey,
)
from .crypto import ECCrypto, default_eccrypto
from .curve25519 import LibNaCLPK, LibNaCLSK
from .legacy import M2CryptoPK, M2CryptoSK
from .parsing import (
    PublicKeyCache,
    _parse_private,  # noqa: F401 - pickles of keys made before the split refer to ipv8fast.keys._parse_*
    _parse_public,  # noqa: F401
    key_from_public_bin,
    public_key_cache,
    remote_public_key,
    verify,
)

__all__ = [
    "ECCrypto", "Key", "LIBNACL_PK_MAGIC", "LIBNACL_SK_MAGIC", "LegacyCurveUnavailable", "LibNaCLPK", "LibNaCLSK",
    "M2CryptoPK", "M2CryptoSK", "OpenSSLPK", "OpenSSLSK", "PRIVATE_KEY_PREFIXES", "PrivateKey", "PublicKey",
    "PublicKeyCache", "_CURVES", "default_eccrypto", "key_from_public_bin", "public_key_cache",
    "remote_public_key", "verify",
]

