"""Keys: vectors/keys.json, py-ipv8 interop (in-process), the public-key cache and the legacy curves."""
from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipv8fast import keys
from ipv8fast._core import libcrypto as _libcrypto
from ipv8fast.keys import (
    ECCrypto,
    Key,
    LegacyCurveUnavailable,
    LibNaCLPK,
    LibNaCLSK,
    M2CryptoPK,
    M2CryptoSK,
    OpenSSLPK,
    OpenSSLSK,
    PrivateKey,
    PublicKey,
    PublicKeyCache,
    default_eccrypto,
)
from tests.conftest import load_vectors

VECTORS = load_vectors("keys")
CURVE25519 = VECTORS["curve25519"]
LEGACY = VECTORS["legacy_ec"]
LEVELS = ["very-low", "low", "medium", "high", "curve25519"]
# (private bin length, public bin length, signature length) per level (spec/api.md §3.3)
SIZES = {"very-low": (85, 66, 42), "low": (111, 84, 60), "medium": (178, 128, 104), "high": (241, 170, 144),
         "curve25519": (74, 74, 64)}

needs_binary_curves = pytest.mark.skipif(not _libcrypto.binary_curves_supported(),
                                         reason="the platform libcrypto has no binary curves")


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def ident(vector: dict[str, Any]) -> str:
    return vector.get("label") or vector.get("security_level") or vector.get("note", "?")


# ---------------------------------------------------------------------------------------------------------
# curve25519 vectors
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("vector", CURVE25519, ids=ident)
def test_curve25519_private_to_public(vector: dict[str, Any]) -> None:
    key = default_eccrypto.key_from_private_bin(h(vector["private_bin"]))
    assert isinstance(key, LibNaCLSK)
    assert key.key_to_bin() == h(vector["private_bin"])
    assert key.pub().key_to_bin() == h(vector["public_bin"])
    parts = vector["private_parts"]
    assert h(vector["private_bin"]) == h(parts["magic"]) + h(parts["x25519_secret"]) + h(parts["ed25519_seed"])
    public = vector["public_parts"]
    assert h(vector["public_bin"]) == h(public["magic"]) + h(public["x25519_public"]) + h(public["ed25519_public"])
    assert key.get_crypt_pk() == key.pub().get_crypt_pk() == h(vector["get_crypt_pk"])
    assert key.curve_name() == key.pub().curve_name() == vector["curve_name"]


@pytest.mark.parametrize("vector", CURVE25519, ids=ident)
def test_curve25519_mid_and_lengths(vector: dict[str, Any]) -> None:
    private = default_eccrypto.key_from_private_bin(h(vector["private_bin"]))
    public = default_eccrypto.key_from_public_bin(h(vector["public_bin"]))
    assert default_eccrypto.key_to_hash(private) == h(vector["key_to_hash"])
    assert default_eccrypto.key_to_hash(public) == h(vector["key_to_hash_of_public"])
    assert hashlib.sha1(h(vector["public_bin"])).digest() == h(vector["key_to_hash"])
    assert default_eccrypto.get_signature_length(public) == vector["signature_length"]
    assert private.get_signature_length() == public.signature_length == vector["signature_length"]


@pytest.mark.parametrize("vector", CURVE25519, ids=ident)
def test_curve25519_signatures_byte_exact(vector: dict[str, Any]) -> None:
    private = default_eccrypto.key_from_private_bin(h(vector["private_bin"]))
    public = default_eccrypto.key_from_public_bin(h(vector["public_bin"]))
    for case in vector["signatures"]:
        message, signature = h(case["message"]), h(case["signature"])
        assert default_eccrypto.create_signature(private, message) == signature
        assert default_eccrypto.is_valid_signature(public, message, signature)
        assert private.verify(signature, message)
        assert keys.verify(h(vector["public_bin"]), signature, message)


@pytest.mark.parametrize("vector", CURVE25519, ids=ident)
def test_curve25519_pem(vector: dict[str, Any]) -> None:
    private = default_eccrypto.key_from_private_bin(h(vector["private_bin"]))
    assert private.key_to_pem().decode() == vector["private_pem"]
    assert private.pub().key_to_pem().decode() == vector["public_pem"]
    der = private.pub().pem_to_bin(private.pub().key_to_pem())
    assert der.startswith(bytes.fromhex("302a300506032b6570032100"))
    assert der[12:] == h(vector["public_parts"]["ed25519_public"])
    # Loading the PEMs (py-ipv8's quirks): public -> Ed25519 key in both halves; private -> random X25519 half.
    ed_public = h(vector["public_parts"]["ed25519_public"])
    from_pem = default_eccrypto.key_from_public_bin(vector["public_pem"].encode())
    assert from_pem.key_to_bin() == keys.LIBNACL_PK_MAGIC + ed_public + ed_public
    assert from_pem.verify(h(vector["signatures"][0]["signature"]), h(vector["signatures"][0]["message"]))
    private_from_pem = default_eccrypto.key_from_private_bin(vector["private_pem"].encode())
    assert private_from_pem.key_to_bin()[42:] == h(vector["private_parts"]["ed25519_seed"])
    assert private_from_pem.signature(b"abc") == private.signature(b"abc")


# ---------------------------------------------------------------------------------------------------------
# legacy EC vectors
# ---------------------------------------------------------------------------------------------------------

@needs_binary_curves
@pytest.mark.parametrize("vector", LEGACY, ids=ident)
def test_legacy_load_and_save(vector: dict[str, Any]) -> None:
    for source in (h(vector["private_bin"]), vector["private_pem"].encode()):
        private = default_eccrypto.key_from_private_bin(source)
        assert isinstance(private, M2CryptoSK) and isinstance(private, OpenSSLSK)
        assert private.key_to_bin() == h(vector["private_bin"])
        assert private.key_to_pem().decode() == vector["private_pem"]
        assert private.pub().key_to_bin() == h(vector["public_bin"])
        assert len(h(vector["public_bin"])) == vector["public_bin_length"]
        assert private.key_to_hash() == private.pub().key_to_hash() == h(vector["key_to_hash"])
        assert private.curve_name() == private.pub().curve_name() == vector["curve_name"]
        assert default_eccrypto.get_signature_length(private.pub()) == vector["signature_length"]
    lenient = default_eccrypto.key_from_private_bin(h(vector["private_bin"]) + b"trailing")
    assert lenient.key_to_bin() == h(vector["private_bin"])
    lenient = default_eccrypto.key_from_public_bin(h(vector["public_bin"]) + b"trailing")
    assert lenient.key_to_bin() == h(vector["public_bin"]) and lenient.key_to_hash() == h(vector["key_to_hash"])
    public = default_eccrypto.key_from_public_bin(h(vector["public_bin"]))
    assert isinstance(public, M2CryptoPK) and not public.has_secret_key()
    assert public.key_to_bin() == h(vector["public_bin"])
    assert default_eccrypto.key_from_public_bin(public.key_to_pem()).key_to_bin() == h(vector["public_bin"])
    assert public.pem_to_bin(public.key_to_pem()) == h(vector["public_bin"])


@needs_binary_curves
@pytest.mark.parametrize("vector", LEGACY, ids=ident)
def test_legacy_verify_vectors(vector: dict[str, Any]) -> None:
    public = default_eccrypto.key_from_public_bin(h(vector["public_bin"]))
    private = default_eccrypto.key_from_private_bin(h(vector["private_bin"]))
    for case in vector["signatures"]:
        message, signature = h(case["message"]), h(case["signature"])
        assert len(signature) == vector["signature_length"]
        assert default_eccrypto.is_valid_signature(public, message, signature) is case["valid"]
        assert private.verify(signature, message) is case["valid"]
        assert keys.verify(h(vector["public_bin"]), signature, message) is case["valid"]


@needs_binary_curves
@pytest.mark.parametrize("vector", LEGACY, ids=ident)
def test_legacy_sign_roundtrip(vector: dict[str, Any]) -> None:
    private = default_eccrypto.key_from_private_bin(h(vector["private_bin"]))
    public = private.pub()
    signature = private.signature(b"message")
    assert len(signature) == vector["signature_length"]
    assert public.verify(signature, b"message")
    assert not public.verify(signature, b"messagE")
    assert not public.verify(signature[:-1], b"message")
    assert not public.verify(bytes(len(signature)), b"message")
    assert not public.verify(b"\xff" * len(signature), b"message")
    with pytest.raises(ValueError, match="crypt"):
        private.get_crypt_pk()
    with pytest.raises(ValueError, match="crypt"):
        private.diffie_hellman(bytes(32))


# ---------------------------------------------------------------------------------------------------------
# signature_checks and key_parsing
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", VECTORS["signature_checks"], ids=ident)
def test_signature_checks(case: dict[str, Any]) -> None:
    key_bin, message, signature = h(case["public_bin"]), h(case["message"]), h(case["signature"])
    if isinstance(case["valid"], str):  # "key rejected: ..."
        with pytest.raises(ValueError):
            default_eccrypto.key_from_public_bin(key_bin)
        assert keys.verify(key_bin, signature, message) is False
        return
    key = default_eccrypto.key_from_public_bin(key_bin)
    assert default_eccrypto.is_valid_signature(key, message, signature) is case["valid"]
    assert keys.verify(key_bin, signature, message) is case["valid"]


@pytest.mark.parametrize("case", VECTORS["key_parsing"], ids=ident)
def test_key_parsing(case: dict[str, Any]) -> None:
    data = h(case["input"])
    legacy = not data.startswith((keys.LIBNACL_PK_MAGIC, keys.LIBNACL_SK_MAGIC)) and case["accepted"]
    if legacy and not _libcrypto.binary_curves_supported():
        pytest.skip("the platform libcrypto has no binary curves")
    load = default_eccrypto.key_from_public_bin if case["kind"] == "public" else default_eccrypto.key_from_private_bin
    valid = default_eccrypto.is_valid_public_bin if case["kind"] == "public" else default_eccrypto.is_valid_private_bin
    if case["accepted"]:
        key = load(data)
        assert key.key_to_bin() == h(case["key_to_bin"])
        assert key.has_secret_key() is (case["kind"] == "private")
        assert valid(data)
    else:
        assert case["raises"] == "ValueError"
        with pytest.raises(ValueError, match=f"Failed to load {case['kind']} key"):
            load(data)
        assert not valid(data)


def test_trailing_bytes_use_canonical_mid() -> None:
    vector = CURVE25519[0]
    key = default_eccrypto.key_from_public_bin(h(vector["public_bin"]) + b"trailing")
    assert key.key_to_bin() == h(vector["public_bin"])
    assert key.key_to_hash() == h(vector["key_to_hash"])
    private = default_eccrypto.key_from_private_bin(h(vector["private_bin"]) + b"x")
    assert private.key_to_bin() == h(vector["private_bin"])


def test_private_and_public_bins_do_not_mix() -> None:
    vector = CURVE25519[1]
    assert not default_eccrypto.is_valid_public_bin(h(vector["private_bin"]))
    assert not default_eccrypto.is_valid_private_bin(h(vector["public_bin"]))
    assert default_eccrypto.is_valid_public_bin(h(vector["public_bin"]))
    assert default_eccrypto.is_valid_private_bin(h(vector["private_bin"]))
    assert not default_eccrypto.is_valid_public_bin("not bytes")  # type: ignore[arg-type]
    assert not default_eccrypto.is_valid_public_bin(b"")
    assert not default_eccrypto.is_valid_private_bin(b"")


# ---------------------------------------------------------------------------------------------------------
# ECCrypto API and class hierarchy
# ---------------------------------------------------------------------------------------------------------

def test_security_levels_and_curves() -> None:
    assert default_eccrypto.security_levels == LEVELS
    assert keys._CURVES == {"very-low": "sect163k1", "low": "sect233k1", "medium": "sect409k1",
                            "high": "sect571k1", "curve25519": "curve25519"}
    with pytest.raises(RuntimeError, match="Illegal curve"):
        default_eccrypto.generate_key("sect163k1")
    with pytest.raises(RuntimeError):
        default_eccrypto.generate_key("ultra")
    assert isinstance(default_eccrypto, ECCrypto)


@pytest.mark.parametrize("level", LEVELS)
def test_generate_sign_verify(level: str) -> None:
    if level != "curve25519" and not _libcrypto.binary_curves_supported():
        pytest.skip("the platform libcrypto has no binary curves")
    private_len, public_len, signature_len = SIZES[level]
    key = default_eccrypto.generate_key(level)
    assert isinstance(key, PrivateKey) and isinstance(key, PublicKey) and isinstance(key, OpenSSLSK)
    assert key.has_secret_key() and not key.pub().has_secret_key()
    assert key.pub().pub() is key.pub()
    assert len(default_eccrypto.key_to_bin(key)) == private_len
    assert len(key.pub().key_to_bin()) == public_len
    assert default_eccrypto.key_to_hash(key) == hashlib.sha1(key.pub().key_to_bin()).digest()
    assert key.curve_name() == keys._CURVES[level]
    signature = default_eccrypto.create_signature(key, b"data")
    assert len(signature) == signature_len == default_eccrypto.get_signature_length(key.pub())
    public = default_eccrypto.key_from_public_bin(key.pub().key_to_bin())
    assert default_eccrypto.is_valid_signature(public, b"data", signature)
    assert not default_eccrypto.is_valid_signature(public, b"datA", signature)
    assert not default_eccrypto.is_valid_signature(public, b"data", b"")
    assert not default_eccrypto.is_valid_signature(public, b"data", "")  # type: ignore[arg-type]
    # Save and load again.
    again = default_eccrypto.key_from_private_bin(key.key_to_bin())
    assert again.key_to_bin() == key.key_to_bin() and again.pub().key_to_bin() == key.pub().key_to_bin()
    from_pem = default_eccrypto.key_from_private_bin(key.key_to_pem())
    if level == "curve25519":  # the PEM holds only the Ed25519 half
        assert from_pem.signature(b"data") == signature
    else:
        assert from_pem.key_to_bin() == key.key_to_bin()
    assert OpenSSLSK.generate(keys._CURVES[level]).curve_name() == keys._CURVES[level]


def test_entry_classes_dispatch() -> None:
    vector = CURVE25519[2]
    assert type(OpenSSLPK(h(vector["public_bin"]))) is LibNaCLPK
    assert type(OpenSSLSK(h(vector["private_bin"]))) is LibNaCLSK
    assert LibNaCLPK(h(vector["public_bin"])[10:]).key_to_bin() == h(vector["public_bin"])
    assert LibNaCLSK(h(vector["private_bin"])).pub().key_to_bin() == h(vector["public_bin"])
    assert len(LibNaCLSK().key_to_bin()) == 74
    with pytest.raises(ValueError, match="Failed to load public key"):
        OpenSSLPK(h(vector["private_bin"]))
    with pytest.raises(ValueError):
        LibNaCLPK(b"LibNaCLPK:" + bytes(63))
    with pytest.raises(TypeError):
        default_eccrypto.key_from_public_bin("LibNaCLPK:")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Key()  # type: ignore[abstract]
    assert issubclass(LibNaCLSK, LibNaCLPK) and issubclass(M2CryptoSK, M2CryptoPK)
    if _libcrypto.binary_curves_supported():
        assert type(OpenSSLPK(h(LEGACY[0]["public_bin"]))) is M2CryptoPK
        assert type(OpenSSLSK(h(LEGACY[0]["private_bin"]))) is M2CryptoSK


@pytest.mark.parametrize("level", ["curve25519", "medium"])
def test_copy_and_pickle(level: str) -> None:
    import copy
    import pickle

    if level != "curve25519" and not _libcrypto.binary_curves_supported():
        pytest.skip("the platform libcrypto has no binary curves")
    key = default_eccrypto.generate_key(level)
    for clone in (copy.deepcopy(key), pickle.loads(pickle.dumps(key)), copy.copy(key.pub())):
        assert type(clone) is type(key) or type(clone) is type(key.pub())
        assert clone.key_to_bin() in (key.key_to_bin(), key.pub().key_to_bin())
        assert clone.key_to_hash() == key.key_to_hash()


@needs_binary_curves
def test_pem_with_parameters_block_and_whitespace() -> None:
    vector = LEGACY[1]
    pem = ("\n-----BEGIN EC PARAMETERS-----\nBgUrgQQAGg==\n-----END EC PARAMETERS-----\n"
           + vector["private_pem"]).encode()
    assert default_eccrypto.key_from_private_bin(pem).key_to_bin() == h(vector["private_bin"])
    with pytest.raises(ValueError, match="PUBLIC KEY"):
        default_eccrypto.key_from_public_bin(pem)
    with pytest.raises(ValueError, match="private key bin"):
        default_eccrypto.key_from_public_bin(h(CURVE25519[0]["private_bin"]))
    with pytest.raises(ValueError, match="public key bin"):
        default_eccrypto.key_from_private_bin(h(CURVE25519[0]["public_bin"]))


def test_diffie_hellman_symmetric() -> None:
    a, b = (default_eccrypto.key_from_private_bin(h(v["private_bin"])) for v in CURVE25519[:2])
    shared = a.diffie_hellman(b.get_crypt_pk())
    assert len(shared) == 32
    assert shared == b.diffie_hellman(a.get_crypt_pk()) == a.diffie_hellman(b.pub().key_to_bin())
    with pytest.raises(ValueError):
        a.diffie_hellman(b"short")


def _small_order_points() -> list[bytes]:
    """libsodium's X25519 blacklist (small-order points, also non-canonical and with the top bit set)."""
    p = 2 ** 255 - 19
    points = [bytes(32), (1).to_bytes(32, "little"), (p - 1).to_bytes(32, "little"), p.to_bytes(32, "little"),
              (p + 1).to_bytes(32, "little"),
              h("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
              h("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157")]
    return points + [point[:31] + bytes([point[31] | 0x80]) for point in points]


#: diffie_hellman of the vector keys (label pair -> 32 bytes), as py-ipv8 3.2.1 computes them; they were also
#: X25519 + a hand-written HSalsa20 before ipv8fast switched to PyNaCl's crypto_box_beforenm.
DH_KNOWN = {("A", "B"): "3f66e235298c7096a1fce14be424edd5bf8323530debe9915373306fdbfb9860",
            ("A", "C"): "655258a295f8faa0441d210a284e44bf7219d5356b1b0e83e425840501416523",
            ("B", "C"): "908a85e75011ae4955775a5619ae553fe6c042bd71acb7a3a2ce59bbc0ea0eb6"}


def test_diffie_hellman_known_answers() -> None:
    by_label = {v["label"]: default_eccrypto.key_from_private_bin(h(v["private_bin"])) for v in CURVE25519}
    for (first, second), expected in DH_KNOWN.items():
        assert by_label[first].diffie_hellman(by_label[second].get_crypt_pk()) == h(expected)
        assert by_label[second].diffie_hellman(by_label[first].pub().key_to_bin()) == h(expected)
    # NaCl's box test keys: crypto_box_beforenm(bobpk, alicesk) is the "core1" HSalsa20 answer.
    alice = LibNaCLSK.from_parts(h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"), bytes(32))
    bob_pk = h("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    assert alice.diffie_hellman(bob_pk) == h("1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389")


@pytest.mark.parametrize("point", _small_order_points(), ids=lambda point: point[:2].hex() + point[-1:].hex())
def test_diffie_hellman_refuses_small_order_keys(point: bytes) -> None:
    with pytest.raises(ValueError, match="Error computing shared key"):
        LibNaCLSK.generate().diffie_hellman(point)


# ---------------------------------------------------------------------------------------------------------
# remote keys, the cache, verify()
# ---------------------------------------------------------------------------------------------------------

def test_remote_public_key_refuses_private_material() -> None:
    vector = CURVE25519[0]
    for private in (h(vector["private_bin"]), vector["private_pem"].encode(), LEGACY[0]["private_pem"].encode()):
        with pytest.raises(ValueError, match="PRIVATE"):
            keys.remote_public_key(private)
    assert keys.remote_public_key(h(vector["public_bin"])).key_to_bin() == h(vector["public_bin"])
    with pytest.raises(ValueError):
        keys.remote_public_key(b"garbage")


def test_public_key_cache_returns_the_parsed_object() -> None:
    key_bin = h(CURVE25519[0]["public_bin"])
    first = default_eccrypto.key_from_public_bin(key_bin)
    assert default_eccrypto.key_from_public_bin(bytes(key_bin)) is first
    assert default_eccrypto.key_from_public_bin(bytearray(key_bin)) is first
    assert default_eccrypto.key_from_public_bin(memoryview(key_bin)) is first
    assert keys.key_from_public_bin(key_bin) is first
    assert key_bin in keys.public_key_cache


def test_public_key_cache_is_bounded_lru() -> None:
    cache = PublicKeyCache(maxsize=8)
    bins = [LibNaCLSK().pub().key_to_bin() for _ in range(40)]
    pinned = cache.get(bins[0])
    for key_bin in bins[1:]:
        cache.get(key_bin)
        assert cache.get(bins[0]) is pinned  # recently used: survives
        assert len(cache) <= 8
    assert len(cache) == 8
    assert bins[1] not in cache and bins[-1] in cache and bins[0] in cache
    with pytest.raises(ValueError):
        cache.get(b"LibNaCLPK:short")
    assert len(cache) == 8  # failures are not cached
    cache.resize(2)
    assert len(cache) == 2 and bins[0] in cache
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(ValueError):
        PublicKeyCache(0)


def test_global_cache_is_bounded() -> None:
    cache = keys.public_key_cache
    old = cache.maxsize
    try:
        cache.resize(16)
        for _ in range(50):
            default_eccrypto.key_from_public_bin(LibNaCLSK().pub().key_to_bin())
        assert len(cache) == 16
    finally:
        cache.resize(old)


def test_verify_never_raises() -> None:
    vector = CURVE25519[0]
    key_bin, signature = h(vector["public_bin"]), h(vector["signatures"][1]["signature"])
    assert keys.verify(key_bin, signature, b"abc")
    assert keys.verify(memoryview(key_bin), memoryview(signature), memoryview(b"abc"))
    assert not keys.verify(b"garbage", signature, b"abc")
    assert not keys.verify(key_bin, "text", b"abc")  # type: ignore[arg-type]
    assert not keys.verify(key_bin, signature, None)  # type: ignore[arg-type]
    assert not keys.verify(None, signature, b"abc")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------
# Interop with the installed py-ipv8 (in process)
# ---------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pyipv8() -> Any:
    crypto = pytest.importorskip("ipv8.keyvault.crypto")
    return crypto.default_eccrypto


@pytest.mark.parametrize("level", LEVELS)
def test_interop_with_pyipv8(pyipv8: Any, level: str) -> None:
    if level != "curve25519" and not _libcrypto.binary_curves_supported():
        pytest.skip("the platform libcrypto has no binary curves")
    theirs = pyipv8.generate_key(level)
    ours = default_eccrypto.generate_key(level)
    message = b"interop " + level.encode()
    # Their key, our verification (and their bins load here unchanged).
    their_public = default_eccrypto.key_from_public_bin(theirs.pub().key_to_bin())
    assert their_public.key_to_bin() == theirs.pub().key_to_bin()
    assert their_public.key_to_hash() == theirs.key_to_hash()
    assert default_eccrypto.is_valid_signature(their_public, message, theirs.signature(message))
    loaded = default_eccrypto.key_from_private_bin(theirs.key_to_bin())
    assert loaded.key_to_bin() == theirs.key_to_bin()
    assert loaded.pub().key_to_bin() == theirs.pub().key_to_bin()
    assert loaded.key_to_pem() == theirs.key_to_pem()
    assert loaded.pub().key_to_pem() == theirs.pub().key_to_pem()
    # Our key, their verification.
    our_public = pyipv8.key_from_public_bin(ours.pub().key_to_bin())
    assert our_public.key_to_hash() == ours.key_to_hash()
    assert pyipv8.is_valid_signature(our_public, message, ours.signature(message))
    assert not pyipv8.is_valid_signature(our_public, message + b"!", ours.signature(message))
    assert pyipv8.key_from_private_bin(ours.key_to_bin()).key_to_bin() == ours.key_to_bin()
    assert pyipv8.get_signature_length(our_public) == default_eccrypto.get_signature_length(ours.pub())
    if level == "curve25519":
        assert loaded.signature(message) == theirs.signature(message)  # deterministic Ed25519
        assert ours.diffie_hellman(theirs.get_crypt_pk()) == theirs.diffie_hellman(ours.get_crypt_pk())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=st.binary(min_size=32, max_size=32), seed=st.binary(min_size=32, max_size=32),
       message=st.binary(max_size=300))
def test_property_matches_pyipv8(pyipv8: Any, secret: bytes, seed: bytes, message: bytes) -> None:
    private_bin = keys.LIBNACL_SK_MAGIC + secret + seed
    ours = default_eccrypto.key_from_private_bin(private_bin)
    theirs = pyipv8.key_from_private_bin(private_bin)
    assert ours.pub().key_to_bin() == theirs.pub().key_to_bin()
    assert ours.key_to_hash() == theirs.key_to_hash()
    signature = ours.signature(message)
    assert signature == theirs.signature(message)
    assert keys.verify(ours.pub().key_to_bin(), signature, message)


@settings(max_examples=40, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), message=st.binary(max_size=200),
       flip=st.integers(min_value=0, max_value=64 * 8 - 1))
def test_property_flipped_signature_bit_is_invalid(seed: bytes, message: bytes, flip: int) -> None:
    key = LibNaCLSK.from_parts(bytes(32), seed)
    signature = bytearray(key.signature(message))
    signature[flip // 8] ^= 1 << (flip % 8)
    assert not keys.verify(key.pub().key_to_bin(), bytes(signature), message)


@settings(max_examples=200, deadline=None)
@given(data=st.one_of(st.binary(max_size=200), st.binary(max_size=100).map(lambda b: keys.LIBNACL_PK_MAGIC + b),
                      st.binary(max_size=100).map(lambda b: b"\x30" + b)))
def test_property_parsing_random_bytes(data: bytes) -> None:
    cache = PublicKeyCache(maxsize=4)
    try:
        key = cache.get(data)
    except ValueError:
        assert not default_eccrypto.is_valid_public_bin(data)
    else:
        assert isinstance(key, PublicKey)
    assert keys.verify(data, bytes(64), b"") in (True, False)


@settings(max_examples=100, deadline=None)
@given(r=st.integers(min_value=0, max_value=2 ** 168 - 1), s=st.integers(min_value=0, max_value=2 ** 168 - 1))
def test_property_ecdsa_signature_encoding(r: int, s: int) -> None:
    raw = r.to_bytes(21, "big") + s.to_bytes(21, "big")
    assert _libcrypto.der_to_raw_signature(_libcrypto.raw_to_der_signature(raw), 21) == raw


# ---------------------------------------------------------------------------------------------------------
# Platforms without binary curves
# ---------------------------------------------------------------------------------------------------------

@pytest.fixture
def no_libcrypto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPV8FAST_LIBCRYPTO", "/nonexistent/libcrypto-for-test.so")
    monkeypatch.setattr(_libcrypto, "_lib", None)
    monkeypatch.setattr(_libcrypto, "_load_error", None)
    monkeypatch.setattr(_libcrypto, "_binary_curves", None)


def test_missing_libcrypto_names_curve25519(no_libcrypto: None) -> None:
    with pytest.raises(LegacyCurveUnavailable, match="curve25519") as info:
        default_eccrypto.generate_key("medium")
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, ValueError)
    with pytest.raises(ValueError, match="curve25519"):
        OpenSSLPK(h(LEGACY[2]["public_bin"]))
    with pytest.raises(ValueError, match="curve25519"):
        default_eccrypto.key_from_private_bin(h(LEGACY[2]["private_bin"]))
    assert not _libcrypto.binary_curves_supported()
    # curve25519 keeps working, and garbage never needs libcrypto.
    assert len(default_eccrypto.generate_key("curve25519").signature(b"x")) == 64
    with pytest.raises(ValueError, match="not a key"):
        OpenSSLPK(b"garbage")


@needs_binary_curves
def test_libcrypto_without_binary_curves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_libcrypto, "_binary_curves", False)
    with pytest.raises(LegacyCurveUnavailable, match="EC2M.*curve25519"):
        default_eccrypto.generate_key("high")
