# Declarations the receive path cimports (it queues signature checks and defers packets behind them).

cdef extern from "cryptopool.h":
    ctypedef struct cp_pool:
        pass


cdef class VerifyPool:
    cdef cp_pool *_pool
    cdef object _contexts
    cdef object _loop
    cdef int _fd
    cdef readonly int threads
    cdef readonly Py_ssize_t limit
    cdef bint _delivering
    cdef bint _closing
    cdef bint _closed
    cdef bint _again_scheduled
    cdef object __weakref__
    cdef int submit(self, tuple context, const unsigned char *signature, const unsigned char *public_key,
                    const unsigned char *message, size_t length) except -1
    cdef int defer(self, tuple context) except -1
    cdef void _deliver(self) except *
    cdef void _shutdown(self) except *
