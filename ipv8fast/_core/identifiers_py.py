"""Pool of unclaimed identifiers with O(1) claim, release and uniform random pick (pure-Python twin).

The numbers ``0 .. size-1`` are kept in one permutation array whose first ``free`` entries are the
unclaimed ones, plus the inverse array giving each number's position. Claiming or releasing swaps a
number across the boundary; picking indexes the free part with a caller-supplied random float, so
seeding the ``random`` module reproduces the picks.
"""
from __future__ import annotations

from array import array
from collections.abc import Iterable

from .limits import EXHAUSTED_MESSAGE, MAX_POOL_SIZE

__all__ = ["IdentifierPool"]


class IdentifierPool:
    """Which of ``range(size)`` are claimed."""

    __slots__ = ("_size", "_free", "_perm", "_pos")

    def __init__(self, size: int, claimed: Iterable[int] = ()) -> None:
        if not 0 < size <= MAX_POOL_SIZE:
            raise ValueError(f"size must be in 1..{MAX_POOL_SIZE}, not {size!r}")
        self._size = size
        self._free = size
        self._perm = array("I", range(size))
        self._pos = array("I", range(size))
        for number in claimed:
            self.claim(number)

    @property
    def size(self) -> int:
        return self._size

    @property
    def free(self) -> int:
        """How many numbers are unclaimed."""
        return self._free

    def __contains__(self, number: object) -> bool:
        """Whether ``number`` is claimed."""
        return type(number) is int and 0 <= number < self._size and self._pos[number] >= self._free

    def claim(self, number: int) -> bool:
        """Mark ``number`` as in use; False if it was already claimed or is out of range."""
        if not 0 <= number < self._size:
            return False
        pos, perm = self._pos, self._perm
        at = pos[number]
        free = self._free
        if at >= free:
            return False
        free -= 1
        other = perm[free]
        perm[at] = other
        pos[other] = at
        perm[free] = number
        pos[number] = free
        self._free = free
        return True

    def release(self, number: int) -> bool:
        """Mark ``number`` as unused again; False if it was not claimed or is out of range."""
        if not 0 <= number < self._size:
            return False
        pos, perm = self._pos, self._perm
        at = pos[number]
        free = self._free
        if at < free:
            return False
        other = perm[free]
        perm[at] = other
        pos[other] = at
        perm[free] = number
        pos[number] = free
        self._free = free + 1
        return True

    def pick(self, random_value: float) -> int:
        """An unclaimed number chosen by ``random_value`` in [0, 1); RuntimeError when none is left."""
        free = self._free
        if free == 0:
            raise RuntimeError(EXHAUSTED_MESSAGE)
        index = int(random_value * free)
        if not 0 <= index < free:
            index = 0 if index < 0 else free - 1
        return self._perm[index]
