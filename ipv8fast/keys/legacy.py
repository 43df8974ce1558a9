"""Legacy binary-curve keys (py-ipv8's M2Crypto-style ``"very-low"`` ... ``"high"`` levels): DER EC keys and
ECDSA-SHA1 signatures, on the platform libcrypto through :mod:`ipv8fast._core.libcrypto`.
"""
from __future__ import annotations

from .._core import libcrypto as _libcrypto
from .api import _CURVES, OpenSSLPK, OpenSSLSK, _as_bytes, _sha1

__all__ = ["M2CryptoPK", "M2CryptoSK"]

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
        return cls._from_ec(_load_legacy(_as_bytes(keystring, "an EC private key"), private=True))  # type: ignore[return-value]

    def _init(self, ec: _libcrypto.ECKey) -> None:
        super()._init(ec)
        self._bin = ec.private_der  # type: ignore[assignment]
        self._pub = M2CryptoPK._from_ec(ec.public())

    @classmethod
    def generate(cls, curve_name: str) -> M2CryptoSK:
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
