"""Pool of unclaimed identifiers with O(1) claim, release and uniform random pick (compiled twin).

The numbers ``0 .. size-1`` are kept in one permutation array whose first ``free`` entries are the
unclaimed ones, plus the inverse array giving each number's position. Claiming or releasing swaps a
number across the boundary; picking indexes the free part with a caller-supplied random float.
"""
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport uint32_t

from ipv8fast._core.limits import EXHAUSTED_MESSAGE, MAX_POOL_SIZE

__all__ = ["IdentifierPool"]



cdef class IdentifierPool:
    """Which of ``range(size)`` are claimed."""

    def __cinit__(self):
        self.perm = NULL
        self.pos = NULL

    def __init__(self, Py_ssize_t size, claimed=()):
        cdef Py_ssize_t i
        if not 0 < size <= MAX_POOL_SIZE:
            raise ValueError(f"size must be in 1..{MAX_POOL_SIZE}, not {size!r}")
        PyMem_Free(self.perm)
        PyMem_Free(self.pos)
        self.perm = <uint32_t *>PyMem_Malloc(size * sizeof(uint32_t))
        self.pos = <uint32_t *>PyMem_Malloc(size * sizeof(uint32_t))
        if self.perm == NULL or self.pos == NULL:
            raise MemoryError()
        for i in range(size):
            self.perm[i] = <uint32_t>i
            self.pos[i] = <uint32_t>i
        self._size = size
        self._free = size
        for number in claimed:
            self.claim(number)

    def __dealloc__(self):
        PyMem_Free(self.perm)
        PyMem_Free(self.pos)

    @property
    def size(self):
        return self._size

    @property
    def free(self):
        """How many numbers are unclaimed."""
        return self._free

    def __contains__(self, number):
        """Whether ``number`` is claimed."""
        if type(number) is not int or not 0 <= number < self._size:
            return False
        return self.pos[<Py_ssize_t>number] >= self._free

    cdef Py_ssize_t index_of(self, object number) except -2:
        """``number`` as an index into this pool, or -1 when it is outside ``range(size)``."""
        cdef Py_ssize_t n
        if type(number) is not int:
            if not isinstance(number, int):
                raise TypeError(f"number must be an int, not {type(number).__name__}")
            number = int(number)
        try:
            n = number
        except OverflowError:  # beyond Py_ssize_t: out of range
            return -1
        return n if 0 <= n < self._size else -1

    cdef bint claim_at(self, Py_ssize_t n) noexcept:
        cdef Py_ssize_t at = self.pos[n], other
        if at >= self._free:
            return False
        self._free -= 1
        other = self.perm[self._free]
        self.perm[at] = <uint32_t>other
        self.pos[other] = <uint32_t>at
        self.perm[self._free] = <uint32_t>n
        self.pos[n] = <uint32_t>self._free
        return True

    cdef bint release_at(self, Py_ssize_t n) noexcept:
        cdef Py_ssize_t at = self.pos[n], other
        if at < self._free:
            return False
        other = self.perm[self._free]
        self.perm[at] = <uint32_t>other
        self.pos[other] = <uint32_t>at
        self.perm[self._free] = <uint32_t>n
        self.pos[n] = <uint32_t>self._free
        self._free += 1
        return True

    cpdef bint claim(self, object number) except -1:
        """Mark ``number`` as in use; False if it was already claimed or is out of range."""
        cdef Py_ssize_t n = self.index_of(number)
        return n >= 0 and self.claim_at(n)

    cpdef bint release(self, object number) except -1:
        """Mark ``number`` as unused again; False if it was not claimed or is out of range."""
        cdef Py_ssize_t n = self.index_of(number)
        return n >= 0 and self.release_at(n)

    cpdef object pick(self, double random_value):
        """An unclaimed number chosen by ``random_value`` in [0, 1); RuntimeError when none is left."""
        cdef Py_ssize_t index
        if self._free == 0:
            raise RuntimeError(EXHAUSTED_MESSAGE)
        index = <Py_ssize_t>(random_value * self._free)
        if index >= self._free:
            index = self._free - 1
        if index < 0:
            index = 0
        return self.perm[index]
