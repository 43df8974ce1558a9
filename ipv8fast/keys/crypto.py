"""``ECCrypto``, py-ipv8's stateless key facade (``ipv8.keyvault.crypto``), and its singleton."""
from __future__ import annotations

from .api import _CURVES, Key, PrivateKey, PublicKey, _as_bytes
from .curve25519 import LibNaCLSK
from .legacy import M2CryptoSK
from .parsing import _parse_private, public_key_cache

__all__ = ["ECCrypto", "default_eccrypto"]


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
