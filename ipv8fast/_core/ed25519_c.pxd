# Declarations other compiled modules cimport (the receive path verifies signatures in place).

cdef class Signer:
    cdef unsigned char _secret[64]
    cdef int sign_into(self, const unsigned char *message, size_t length, unsigned char *signature) except -1


cdef class Verifier:
    cdef unsigned char _public[32]
    cdef bint check(self, const unsigned char *signature, const unsigned char *message, size_t length) noexcept
    cpdef bint verify_at(self, bytes data, Py_ssize_t end)


cdef void *sign_open_function() noexcept
