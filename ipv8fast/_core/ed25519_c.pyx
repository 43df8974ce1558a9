# cython: language_level=3
"""Ed25519 on libsodium, called from C (compiled twin of ``ed25519_py``).

The libsodium inside PyNaCl is reached through the C function pointers its cffi module hands out for
``crypto_sign`` and ``crypto_sign_open`` (their C types are checked before use, and a known signature is
reproduced); nothing is linked at build time. ``Verifier.verify_at`` checks a datagram's trailing signature
in place, without slicing it. ``AVAILABLE`` is False where PyNaCl is missing or differs; then the pure twin
is used.
"""
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport uintptr_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

__all__ = ["AVAILABLE", "make_signer", "make_verifier"]

ctypedef int (*sign_function)(unsigned char *, unsigned long long *, const unsigned char *, unsigned long long,
                              const unsigned char *) noexcept nogil

cdef sign_function _crypto_sign = NULL
cdef sign_function _crypto_sign_open = NULL
cdef object _seed_keypair = None

cdef enum:
    STACK_LIMIT = 2048
    SIGNATURE = 64


def _bind() -> bool:
    """Take the function pointers from PyNaCl's cffi module; False if anything is not as expected."""
    global _crypto_sign, _crypto_sign_open, _seed_keypair
    try:
        from nacl._sodium import ffi, lib
        from nacl.bindings import crypto_sign, crypto_sign_seed_keypair  # also runs sodium_init()
        expected = "int(*)(unsigned char *, unsigned long long *, unsigned char *, unsigned long long, unsigned char *)"
        pointers = {}
        for name in ("crypto_sign", "crypto_sign_open"):
            pointer = ffi.addressof(lib, name)
            if ffi.getctype(ffi.typeof(pointer)) != expected:
                return False
            pointers[name] = int(ffi.cast("uintptr_t", pointer))
    except Exception:  # noqa: BLE001 - any surprise means "use the pure twin"
        return False
    _crypto_sign = <sign_function><uintptr_t>pointers["crypto_sign"]
    _crypto_sign_open = <sign_function><uintptr_t>pointers["crypto_sign_open"]
    _seed_keypair = crypto_sign_seed_keypair
    public, secret = crypto_sign_seed_keypair(bytes(32))
    probe = b"ipv8fast"
    reference = crypto_sign(probe, secret)[:SIGNATURE]
    if Signer(secret)(probe) != reference or not Verifier(public)(reference, probe):
        _crypto_sign = _crypto_sign_open = NULL
        return False
    return True


cdef class Signer:
    """``signer(message) -> 64-byte signature`` for one secret key."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) != 64:
            raise ValueError("an Ed25519 secret key is 64 bytes")
        memcpy(self._secret, <const char *>secret, 64)

    cdef int sign_into(self, const unsigned char *message, size_t length, unsigned char *signature) except -1:
        """Write the signature of ``message`` to ``signature`` (64 bytes)."""
        cdef unsigned char stack[STACK_LIMIT + SIGNATURE]
        cdef unsigned char *scratch = stack
        cdef unsigned long long written = 0
        cdef int result
        if length > STACK_LIMIT:
            scratch = <unsigned char *>malloc(length + SIGNATURE)
            if scratch == NULL:
                raise MemoryError()
        result = _crypto_sign(scratch, &written, message, length, self._secret)
        memcpy(signature, scratch, SIGNATURE)
        if scratch != stack:
            free(scratch)
        if result != 0:
            raise ValueError("signing failed")
        return 0

    def __call__(self, message: object) -> bytes:
        cdef Py_buffer view
        PyObject_GetBuffer(message, &view, PyBUF_SIMPLE)
        try:
            signature = PyBytes_FromStringAndSize(NULL, SIGNATURE)
            self.sign_into(<const unsigned char *>view.buf, <size_t>view.len,
                           <unsigned char *>PyBytes_AS_STRING(signature))
        finally:
            PyBuffer_Release(&view)
        return signature


cdef class Verifier:
    """``verifier(signature, message) -> bool`` for one public key; never raises."""

    def __init__(self, public: bytes) -> None:
        if len(public) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes")
        memcpy(self._public, <const char *>public, 32)

    cdef bint check(self, const unsigned char *signature, const unsigned char *message, size_t length) noexcept:
        cdef unsigned char stack_in[STACK_LIMIT + SIGNATURE]
        cdef unsigned char stack_out[STACK_LIMIT + SIGNATURE]
        cdef unsigned char *signed_message = stack_in
        cdef unsigned char *opened = stack_out
        cdef unsigned long long opened_length = 0
        cdef int result
        if length > STACK_LIMIT:
            signed_message = <unsigned char *>malloc(length + SIGNATURE)
            opened = <unsigned char *>malloc(length + SIGNATURE)
            if signed_message == NULL or opened == NULL:
                free(signed_message)
                free(opened)
                return False
        memcpy(signed_message, signature, SIGNATURE)
        memcpy(signed_message + SIGNATURE, message, length)
        result = _crypto_sign_open(opened, &opened_length, signed_message, length + SIGNATURE, self._public)
        if signed_message != stack_in:
            free(signed_message)
            free(opened)
        return result == 0

    cpdef bint verify_at(self, bytes data, Py_ssize_t end):
        """Whether ``data[end:end + 64]`` is the signature of ``data[:end]`` (and nothing follows it)."""
        if end < 0 or PyBytes_GET_SIZE(data) - end != SIGNATURE:
            return False
        return self.check(<const unsigned char *>PyBytes_AS_STRING(data) + end,
                          <const unsigned char *>PyBytes_AS_STRING(data), <size_t>end)

    def __call__(self, signature: object, message: object) -> bool:
        cdef Py_buffer signature_view, message_view
        cdef bint valid
        try:
            PyObject_GetBuffer(signature, &signature_view, PyBUF_SIMPLE)
        except Exception:  # noqa: BLE001
            return False
        try:
            PyObject_GetBuffer(message, &message_view, PyBUF_SIMPLE)
        except Exception:  # noqa: BLE001
            PyBuffer_Release(&signature_view)
            return False
        valid = signature_view.len == SIGNATURE and self.check(
            <const unsigned char *>signature_view.buf, <const unsigned char *>message_view.buf,
            <size_t>message_view.len)
        PyBuffer_Release(&message_view)
        PyBuffer_Release(&signature_view)
        return valid


cdef void *sign_open_function() noexcept:
    """libsodium's ``crypto_sign_open`` (for the verification workers of ``cryptopool_c``), or NULL."""
    return <void *>_crypto_sign_open


def make_signer(seed: bytes) -> Signer:
    """The signer of the key with this 32-byte seed."""
    return Signer(_seed_keypair(bytes(seed))[1])


def make_verifier(public: bytes) -> Verifier:
    """The verifier of this 32-byte public key."""
    return Verifier(bytes(public))


#: PyNaCl's libsodium is reachable and behaves.
AVAILABLE = _bind()
