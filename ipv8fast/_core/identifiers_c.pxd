# Declarations the request cache's store cimports: it claims, releases and picks numbers with C calls.
from libc.stdint cimport uint32_t


cdef class IdentifierPool:
    cdef uint32_t *perm
    cdef uint32_t *pos
    cdef Py_ssize_t _size
    cdef Py_ssize_t _free
    cpdef bint claim(self, object number) except -1
    cpdef bint release(self, object number) except -1
    cpdef object pick(self, double random_value)
    cdef bint claim_at(self, Py_ssize_t n) noexcept
    cdef bint release_at(self, Py_ssize_t n) noexcept
    cdef Py_ssize_t index_of(self, object number) except -2
