"""The Ed25519 backends are interchangeable: same signatures, same verdicts (keys.json and random)."""
from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ipv8fast._core import signing as _ed25519
from ipv8fast._core import twins as _twins

from conftest import load_vectors

pytestmark = pytest.mark.skipif(_ed25519.LIBSODIUM is None, reason="PyNaCl is not installed")
# OpenSSL, and libsodium on both twins (from C, and through PyNaCl's bindings)
BACKENDS = [_ed25519.OPENSSL] + [_ed25519.Backend(module.__name__, module.make_signer, module.make_verifier)
                                 for module in _twins.both("ed25519") if module.AVAILABLE]
KEYS = load_vectors("keys")


def test_keys_json_signatures_on_every_backend() -> None:
    for vector in KEYS["curve25519"]:
        seed = bytes.fromhex(vector["private_bin"])[42:74]
        public = bytes.fromhex(vector["public_bin"])[42:74]
        for case in vector["signatures"]:
            message = bytes.fromhex(case["message"])
            for backend in BACKENDS:
                assert backend.make_signer(seed)(message).hex() == case["signature"], backend.name
                assert backend.make_verifier(public)(bytes.fromhex(case["signature"]), message), backend.name


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.binary(max_size=300), st.integers(0, 511), st.binary(min_size=64,
                                                                                                  max_size=64))
def test_backends_agree(seed: bytes, message: bytes, bit: int, junk: bytes) -> None:
    signatures = {backend.make_signer(seed)(message) for backend in BACKENDS}
    assert len(signatures) == 1
    signature = signatures.pop()
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    flipped = bytearray(signature)
    flipped[bit // 8] ^= 1 << (bit % 8)
    cases = [(signature, message), (bytes(flipped), message), (signature, message + b"!"), (junk, message),
             (signature[:63], message), (signature + b"\x00", message)]
    for candidate, text in cases:
        verdicts = {backend.make_verifier(public)(candidate, text) for backend in BACKENDS}
        assert len(verdicts) == 1, (candidate.hex(), text)
    assert BACKENDS[0].make_verifier(public)(signature, message)


def test_active_backend_follows_the_environment() -> None:
    expected = os.environ.get("IPV8FAST_ED25519") or ("libsodium" if _ed25519.LIBSODIUM else "cryptography")
    assert _ed25519.BACKEND == expected


def test_compiled_twin_is_used_with_libsodium() -> None:
    if _twins.NO_EXTENSIONS or os.environ.get("IPV8FAST_ED25519") == "cryptography":
        pytest.skip("the compiled twin is not in use")
    compiled = [module for module in _twins.both("ed25519") if module.__name__.endswith("_c")]
    if not compiled:
        if os.environ.get("IPV8FAST_REQUIRE_EXTENSIONS"):
            raise AssertionError("ipv8fast._core.ed25519_c is not built")
        pytest.skip("not built")
    assert compiled[0].AVAILABLE, "PyNaCl's libsodium could not be reached from C"
    assert _ed25519.make_signer is compiled[0].make_signer
    verifier = compiled[0].make_verifier(bytes(32))
    assert verifier(b"x" * 64, b"message") is False and verifier("not bytes", b"") is False
    assert verifier.verify_at(b"short", 10) is False and verifier.verify_at(b"m" * 70, 5) is False
