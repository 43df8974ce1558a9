"""Legacy binary-curve EC keys (py-ipv8's "very-low" ... "high") through the platform's libcrypto.

``cryptography`` has no binary curves any more, so this module loads the system OpenSSL ``libcrypto`` with
ctypes the first time a legacy key is used (nothing is linked at build time). Only EVP calls that exist in
OpenSSL 1.1.1 and 3.x are used; DER structures are read and written here in Python.

Formats (py-ipv8's): private key = DER SEC1 ``ECPrivateKey``, public key = DER ``SubjectPublicKeyInfo``,
signature = ECDSA over SHA-1(message) as ``r || s``, each half big-endian, zero-padded to the field size.
"""
from __future__ import annotations

import base64
import ctypes
import ctypes.util
import hashlib
import os
import sys
import threading
from typing import Any

from .environment import text

#: security level -> curve, for the legacy levels.
LEGACY_CURVES: dict[str, str] = {"very-low": "sect163k1", "low": "sect233k1", "medium": "sect409k1",
                                 "high": "sect571k1"}

#: DER content of the named-curve OIDs of the binary curves py-ipv8 uses (1.3.132.0.{1,26,36,38}).
BINARY_CURVE_OIDS: dict[bytes, str] = {b"\x2b\x81\x04\x00\x01": "sect163k1", b"\x2b\x81\x04\x00\x1a": "sect233k1",
                                       b"\x2b\x81\x04\x00\x24": "sect409k1", b"\x2b\x81\x04\x00\x26": "sect571k1"}

_OID_EC_PUBLIC_KEY = b"\x2a\x86\x48\xce\x3d\x02\x01"  # 1.2.840.10045.2.1
_EVP_PKEY_EC = 408
_EVP_PKEY_OP_PARAMGEN_KEYGEN = (1 << 1) | (1 << 2)
_EVP_PKEY_CTRL_EC_PARAMGEN_CURVE_NID = 0x1000 + 1

_ADVICE = 'use the "curve25519" security level (py-ipv8\'s default key type) instead'


class LegacyCurveUnavailable(ValueError, RuntimeError):  # noqa: N818 - public name, shared with keys.py
    """The platform's libcrypto is missing or cannot do binary-curve EC keys.

    A ``ValueError`` (so a remote peer's unusable key just fails to load) and a ``RuntimeError`` (like
    py-ipv8's key-generation errors).
    """


# --------------------------------------------------------------------------------------------------------
# Loading the library
# --------------------------------------------------------------------------------------------------------

def _candidates() -> list[str]:
    override = text("IPV8FAST_LIBCRYPTO")
    if override:
        return [override]
    names: list[str] = []
    if sys.platform == "darwin":
        # The unversioned system /usr/lib/libcrypto.dylib aborts the process when loaded: never try it.
        for prefix in ("/opt/homebrew", "/usr/local"):
            names += [f"{prefix}/opt/openssl@3/lib/libcrypto.3.dylib",
                      f"{prefix}/opt/openssl@1.1/lib/libcrypto.1.1.dylib"]
        return names
    if sys.platform == "win32":
        dlls = os.path.join(sys.base_prefix, "DLLs")
        for name in ("libcrypto-3-x64.dll", "libcrypto-3.dll", "libcrypto-1_1-x64.dll", "libcrypto-1_1.dll"):
            names += [os.path.join(dlls, name), name]
        return names
    names += ["libcrypto.so.3", "libcrypto.so.1.1"]
    found = ctypes.util.find_library("crypto")
    if found and found not in names:
        names.append(found)
    return names


_P = ctypes.c_void_p
_PP = ctypes.POINTER(ctypes.c_void_p)
_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "OBJ_sn2nid": (ctypes.c_int, [ctypes.c_char_p]),
    "OBJ_txt2nid": (ctypes.c_int, [ctypes.c_char_p]),
    "OBJ_nid2sn": (ctypes.c_char_p, [ctypes.c_int]),
    "EC_GROUP_new_by_curve_name": (_P, [ctypes.c_int]),
    "EC_GROUP_free": (None, [_P]),
    "EVP_PKEY_CTX_new_id": (_P, [ctypes.c_int, _P]),
    "EVP_PKEY_CTX_new": (_P, [_P, _P]),
    "EVP_PKEY_CTX_free": (None, [_P]),
    "EVP_PKEY_CTX_ctrl": (ctypes.c_int, [_P, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, _P]),
    "EVP_PKEY_keygen_init": (ctypes.c_int, [_P]),
    "EVP_PKEY_keygen": (ctypes.c_int, [_P, _PP]),
    "EVP_PKEY_free": (None, [_P]),
    "d2i_PrivateKey": (_P, [ctypes.c_int, _PP, _PP, ctypes.c_long]),
    "d2i_PUBKEY": (_P, [_PP, _PP, ctypes.c_long]),
    "i2d_PrivateKey": (ctypes.c_int, [_P, _PP]),
    "i2d_PUBKEY": (ctypes.c_int, [_P, _PP]),
    "EVP_PKEY_sign_init": (ctypes.c_int, [_P]),
    "EVP_PKEY_sign": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p,
                                     ctypes.c_size_t]),
    "EVP_PKEY_verify_init": (ctypes.c_int, [_P]),
    "EVP_PKEY_verify": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]),
    "ERR_get_error": (ctypes.c_ulong, []),
    "ERR_clear_error": (None, []),
    "ERR_error_string_n": (None, [ctypes.c_ulong, ctypes.c_char_p, ctypes.c_size_t]),
}

_lock = threading.Lock()
_lib: Any = None
_load_error: str | None = None
_binary_curves: bool | None = None


def _open() -> Any:
    errors = []
    for name in _candidates():
        try:
            lib = ctypes.CDLL(name)
        except OSError as exc:
            errors.append(f"{name}: {exc}")
            continue
        missing = [symbol for symbol in _SIGNATURES if not hasattr(lib, symbol)]
        if missing:
            errors.append(f"{name}: lacks {', '.join(missing)}")
            continue
        for symbol, (restype, argtypes) in _SIGNATURES.items():
            function = getattr(lib, symbol)
            function.restype = restype
            function.argtypes = argtypes
        return lib
    raise LegacyCurveUnavailable("no usable libcrypto found for legacy binary-curve keys ("
                                 + ("; ".join(errors) or "no candidates") + f"); {_ADVICE}")


def library() -> Any:
    """The loaded libcrypto (loaded on first use); ``LegacyCurveUnavailable`` if there is none."""
    global _lib, _load_error
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            if _load_error is not None:
                raise LegacyCurveUnavailable(_load_error)
            try:
                _lib = _open()
            except LegacyCurveUnavailable as exc:
                _load_error = str(exc)
                raise
    return _lib


def binary_curves_supported() -> bool:
    """True when libcrypto loads and knows the binary (EC2M) curves."""
    global _binary_curves
    if _binary_curves is None:
        try:
            lib = library()
        except LegacyCurveUnavailable:
            _binary_curves = False
        else:
            group = lib.EC_GROUP_new_by_curve_name(lib.OBJ_sn2nid(b"sect163k1"))
            _binary_curves = bool(group)
            if group:
                lib.EC_GROUP_free(group)
            lib.ERR_clear_error()
    return _binary_curves


def _require_binary_curves(what: str) -> Any:
    lib = library()
    if not binary_curves_supported():
        raise LegacyCurveUnavailable(f"cannot {what}: the platform's libcrypto has no binary-curve (EC2M) "
                                     f"support; {_ADVICE}")
    return lib


def _drain_errors(lib: Any) -> str:
    messages = []
    buffer = ctypes.create_string_buffer(256)
    while code := lib.ERR_get_error():
        lib.ERR_error_string_n(code, buffer, len(buffer))
        message = buffer.value.decode("ascii", "replace")
        if message not in messages:
            messages.append(message)
    return "; ".join(messages[:3]) or "unknown libcrypto error"


# --------------------------------------------------------------------------------------------------------
# DER helpers
# --------------------------------------------------------------------------------------------------------

def _read_tlv(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    """Start and end of the value of the DER element with ``tag`` at ``pos``; ValueError otherwise."""
    if pos + 2 > end or data[pos] != tag:
        raise ValueError(f"expected DER tag 0x{tag:02x} at offset {pos}")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            raise ValueError(f"bad DER length at offset {pos - 1}")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > end:
        raise ValueError(f"DER element at offset {pos} runs past the end")
    return pos, pos + length


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _der_integer(value: bytes) -> bytes:
    value = value.lstrip(b"\x00") or b"\x00"
    if value[0] & 0x80:
        value = b"\x00" + value
    return b"\x02" + _der_length(len(value)) + value


def raw_to_der_signature(signature: bytes) -> bytes:
    """``r || s`` (two equal halves) -> DER ``ECDSA-Sig-Value``."""
    half = len(signature) // 2
    body = _der_integer(signature[:half]) + _der_integer(signature[half:])
    return b"\x30" + _der_length(len(body)) + body


def der_to_raw_signature(der: bytes, half: int) -> bytes:
    """DER ``ECDSA-Sig-Value`` -> ``r || s``, each left-padded to ``half`` bytes."""
    start, end = _read_tlv(der, 0, len(der), 0x30)
    out = b""
    for _ in range(2):
        value_start, value_end = _read_tlv(der, start, end, 0x02)
        value = der[value_start:value_end].lstrip(b"\x00")
        if len(value) > half:
            raise ValueError("ECDSA signature component is longer than the curve allows")
        out += value.rjust(half, b"\x00")
        start = value_end
    return out


def _oid_to_text(oid: bytes) -> str:
    parts: list[int] = []
    value = 0
    for byte in oid:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    if not parts:
        raise ValueError("empty OID")
    first = parts[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return ".".join(str(part) for part in head + parts[1:])


def parse_spki(der: bytes) -> tuple[bytes, bytes, int]:
    """Named-curve OID, EC point and the DER length of an EC ``SubjectPublicKeyInfo`` at the start of ``der``
    (bytes after it are ignored, as libcrypto does)."""
    start, end = _read_tlv(der, 0, len(der), 0x30)
    algorithm_start, algorithm_end = _read_tlv(der, start, end, 0x30)
    oid_start, oid_end = _read_tlv(der, algorithm_start, algorithm_end, 0x06)
    if der[oid_start:oid_end] != _OID_EC_PUBLIC_KEY:
        raise ValueError("not an EC public key (algorithm is not id-ecPublicKey)")
    curve_start, curve_end = _read_tlv(der, oid_end, algorithm_end, 0x06)
    bits_start, bits_end = _read_tlv(der, algorithm_end, end, 0x03)
    if bits_end - bits_start < 3 or der[bits_start] != 0:
        raise ValueError("malformed EC public key bit string")
    return der[curve_start:curve_end], der[bits_start + 1:bits_end], end


def _to_pem_body(der: bytes) -> str:
    text = base64.b64encode(der).decode("ascii")
    return "".join(text[i:i + 64] + "\n" for i in range(0, len(text), 64))


def to_pem(label: str, der: bytes) -> bytes:
    """PEM armour (64-column base64) around ``der``."""
    return f"-----BEGIN {label}-----\n{_to_pem_body(der)}-----END {label}-----\n".encode("ascii")


# --------------------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------------------

class _EVPKey:
    """Owns one ``EVP_PKEY*``."""

    __slots__ = ("_lib", "ptr")

    def __init__(self, lib: Any, ptr: int) -> None:
        self._lib = lib
        self.ptr = ptr

    def __del__(self) -> None:
        try:
            self._lib.EVP_PKEY_free(self.ptr)
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def _i2d(lib: Any, function: Any, pkey: int) -> bytes:
    length = function(pkey, None)
    if length <= 0:
        raise ValueError(f"libcrypto could not encode the key: {_drain_errors(lib)}")
    buffer = ctypes.create_string_buffer(length)
    cursor = ctypes.c_void_p(ctypes.addressof(buffer))
    if function(pkey, ctypes.byref(cursor)) != length:
        raise ValueError(f"libcrypto could not encode the key: {_drain_errors(lib)}")
    return buffer.raw


class ECKey:
    """A legacy EC key pair or public key held by libcrypto."""

    __slots__ = ("_key", "_lib", "curve_name", "has_private", "private_der", "public_der", "signature_length")

    def __init__(self, lib: Any, key: _EVPKey, has_private: bool) -> None:
        self._lib = lib
        self._key = key
        self.has_private = has_private
        self.public_der = _i2d(lib, lib.i2d_PUBKEY, key.ptr)
        self.private_der = _i2d(lib, lib.i2d_PrivateKey, key.ptr) if has_private else None
        curve_oid, point, _ = parse_spki(self.public_der)
        self.curve_name = BINARY_CURVE_OIDS.get(curve_oid) or _curve_name(lib, curve_oid)
        field_bytes = (len(point) - 1) // 2 if point[0] == 4 else len(point) - 1
        self.signature_length = 2 * field_bytes

    def public(self) -> ECKey:
        """The public half as its own ``ECKey``."""
        return load_public_der(self.public_der)

    def sign(self, message: bytes) -> bytes:
        """ECDSA over SHA-1(message), as ``r || s``."""
        if not self.has_private:
            raise ValueError("cannot sign with a public key")
        lib = self._lib
        digest = hashlib.sha1(message).digest()
        ctx = lib.EVP_PKEY_CTX_new(self._key.ptr, None)
        if not ctx:
            raise ValueError(f"libcrypto could not sign: {_drain_errors(lib)}")
        try:
            size = ctypes.c_size_t(0)
            if lib.EVP_PKEY_sign_init(ctx) <= 0 or lib.EVP_PKEY_sign(ctx, None, ctypes.byref(size), digest, 20) <= 0:
                raise ValueError(f"libcrypto could not sign: {_drain_errors(lib)}")
            buffer = ctypes.create_string_buffer(size.value)
            if lib.EVP_PKEY_sign(ctx, buffer, ctypes.byref(size), digest, 20) <= 0:
                raise ValueError(f"libcrypto could not sign: {_drain_errors(lib)}")
        finally:
            lib.EVP_PKEY_CTX_free(ctx)
        return der_to_raw_signature(buffer.raw[:size.value], self.signature_length // 2)

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True iff ``signature`` (``r || s``) is a valid ECDSA-SHA1 signature of ``message``."""
        if len(signature) != self.signature_length:
            return False
        lib = self._lib
        der = raw_to_der_signature(bytes(signature))
        digest = hashlib.sha1(message).digest()
        ctx = lib.EVP_PKEY_CTX_new(self._key.ptr, None)
        if not ctx:
            lib.ERR_clear_error()
            return False
        try:
            result = lib.EVP_PKEY_verify_init(ctx) > 0 and lib.EVP_PKEY_verify(ctx, der, len(der), digest, 20) == 1
        finally:
            lib.EVP_PKEY_CTX_free(ctx)
            lib.ERR_clear_error()
        return result


def _curve_name(lib: Any, oid: bytes) -> str:
    nid = lib.OBJ_txt2nid(_oid_to_text(oid).encode("ascii"))
    name = lib.OBJ_nid2sn(nid) if nid else None
    lib.ERR_clear_error()
    if not name:
        raise ValueError(f"unknown EC curve OID {_oid_to_text(oid)}")
    return name.decode("ascii")


def generate(curve_name: str) -> ECKey:
    """A fresh key pair on the named curve (e.g. ``"sect409k1"``)."""
    lib = _require_binary_curves(f"generate a {curve_name} key")
    nid = lib.OBJ_sn2nid(curve_name.encode("ascii"))
    if not nid:
        lib.ERR_clear_error()
        raise RuntimeError(f"Illegal curve for key generation: {curve_name}")
    ctx = lib.EVP_PKEY_CTX_new_id(_EVP_PKEY_EC, None)
    if not ctx:
        raise RuntimeError(f"libcrypto could not generate a {curve_name} key: {_drain_errors(lib)}")
    pkey = ctypes.c_void_p(None)
    try:
        if (lib.EVP_PKEY_keygen_init(ctx) <= 0
                or lib.EVP_PKEY_CTX_ctrl(ctx, _EVP_PKEY_EC, _EVP_PKEY_OP_PARAMGEN_KEYGEN,
                                         _EVP_PKEY_CTRL_EC_PARAMGEN_CURVE_NID, nid, None) <= 0
                or lib.EVP_PKEY_keygen(ctx, ctypes.byref(pkey)) <= 0 or not pkey.value):
            raise RuntimeError(f"libcrypto could not generate a {curve_name} key: {_drain_errors(lib)}")
    finally:
        lib.EVP_PKEY_CTX_free(ctx)
    return ECKey(lib, _EVPKey(lib, pkey.value), True)


def _load(der: bytes, private: bool) -> ECKey:
    kind = "private" if private else "public"
    if not isinstance(der, (bytes, bytearray, memoryview)):
        raise TypeError(f"a {kind} key must be bytes, not {type(der).__name__}")
    der = bytes(der)
    lib = library()
    buffer = ctypes.create_string_buffer(der, len(der))
    cursor = ctypes.c_void_p(ctypes.addressof(buffer))
    if private:
        ptr = lib.d2i_PrivateKey(_EVP_PKEY_EC, None, ctypes.byref(cursor), len(der))
    else:
        ptr = lib.d2i_PUBKEY(None, ctypes.byref(cursor), len(der))
    if not ptr:
        reason = _drain_errors(lib)
        if not binary_curves_supported():
            raise LegacyCurveUnavailable(f"cannot load this {kind} EC key: the platform's libcrypto has no "
                                         f"binary-curve (EC2M) support ({reason}); {_ADVICE}")
        raise ValueError(f"not a DER EC {kind} key ({reason})")
    return ECKey(lib, _EVPKey(lib, ptr), private)  # ECKey insists on an EC SubjectPublicKeyInfo


def load_private_der(der: bytes) -> ECKey:
    """Parse a DER SEC1 ``ECPrivateKey`` (trailing bytes are ignored)."""
    return _load(der, True)


def load_public_der(der: bytes) -> ECKey:
    """Parse a DER EC ``SubjectPublicKeyInfo`` (trailing bytes are ignored)."""
    return _load(der, False)
