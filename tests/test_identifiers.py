"""The identifier pool, both twins: O(1) claim/release/pick and exhaustion."""
from __future__ import annotations

import random
import time
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipv8fast._core import twins
from ipv8fast._core.limits import MAX_POOL_SIZE

pytestmark = pytest.mark.twin_of("identifiers")




def test_exhausted_message_is_py_ipv8s() -> None:
    from ipv8fast._core import identifiers

    assert identifiers.EXHAUSTED_MESSAGE == "Could not find a number that isn't in use"


def test_claim_release_contains(twin: ModuleType) -> None:
    pool = twin.IdentifierPool(10, [3, 4, 4])
    assert pool.size == 10 and pool.free == 8
    assert 3 in pool and 5 not in pool and 42 not in pool and "x" not in pool
    assert pool.claim(5) is True and pool.claim(5) is False
    assert pool.claim(10) is False and pool.claim(-1) is False and pool.claim(2 ** 80) is False
    assert pool.release(5) is True and pool.release(5) is False and pool.release(11) is False
    assert pool.free == 8
    assert pool.claim(True) is True and 1 in pool and pool.release(1) is True  # a bool is the int it is
    with pytest.raises(TypeError):
        pool.claim(3.0)
    with pytest.raises(TypeError):
        pool.release("3")


def test_pick_is_unclaimed_and_exhaustion(twin: ModuleType) -> None:
    pool = twin.IdentifierPool(100)
    rng = random.Random(1)
    seen = set()
    for _ in range(100):
        number = pool.pick(rng.random())
        assert number not in pool and number not in seen
        pool.claim(number)
        seen.add(number)
    assert seen == set(range(100)) and pool.free == 0
    with pytest.raises(RuntimeError, match="Could not find a number that isn't in use"):
        pool.pick(0.5)
    pool.release(42)
    assert pool.pick(0.0) == 42 and pool.pick(0.999999) == 42


def test_pick_is_reproducible_and_bounded(twin: ModuleType) -> None:
    pool = twin.IdentifierPool(65536)
    assert pool.pick(0.0) == 0 and pool.pick(1.0) == 65535 and pool.pick(-0.5) == 0


def test_bad_size(twin: ModuleType) -> None:
    for size in (0, -1, MAX_POOL_SIZE + 1):
        with pytest.raises(ValueError):
            twin.IdentifierPool(size)


def test_99_percent_full_is_constant_time(twin: ModuleType) -> None:
    pool = twin.IdentifierPool(65536, range(65536 - 656))
    start = time.perf_counter()
    for _ in range(600):
        pool.claim(pool.pick(random.random()))
    assert pool.free == 56
    assert time.perf_counter() - start < 0.1


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(-2, 40))))
def test_model(ops: list[tuple[bool, int]]) -> None:
    for twin in twins.both("identifiers"):
        pool = twin.IdentifierPool(32)
        claimed: set[int] = set()
        for claim, number in ops:
            if claim:
                assert pool.claim(number) == (0 <= number < 32 and number not in claimed)
                if 0 <= number < 32:
                    claimed.add(number)
            else:
                assert pool.release(number) == (number in claimed)
                claimed.discard(number)
            assert pool.free == 32 - len(claimed)
            assert all((n in pool) == (n in claimed) for n in range(32))
            if pool.free:
                assert pool.pick(random.random()) not in claimed
