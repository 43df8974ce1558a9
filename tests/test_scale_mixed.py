"""Scale, mixed population (bounded): 10 py-ipv8 nodes (one subprocess) and 10 ipv8fast nodes on 127.0.0.1
with a local tracker all reach >= 5 peers. The side-by-side figures are bench/bench_scale_mixed.py; both run
ipv8fast.testing.loopback.run_population."""
from __future__ import annotations

import pytest

from ipv8fast.testing.loopback import run_population

from _loop import LoopHarness


def test_mixed_population_converges() -> None:
    pytest.importorskip("ipv8", reason="pyipv8 is the reference peer")
    harness = LoopHarness()
    try:
        result = harness.run(run_population(10, 10, 5, 55.0, per_process=10, steady=0.0), timeout=90)
    finally:
        harness.close()
    assert result["converged"], result
    assert result["min_peers"] >= 5 and result["seconds"] < 60, result
