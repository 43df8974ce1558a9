"""Scale, mixed population (bounded): 10 py-ipv8 nodes (one subprocess) and 10 ipv8fast nodes on 127.0.0.1
with a local tracker all reach >= 5 peers. The side-by-side figures are bench/bench_scale_mixed.py."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from _loop import LoopHarness

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))

from bench_scale_mixed import run_population


def test_mixed_population_converges() -> None:
    pytest.importorskip("ipv8", reason="pyipv8 is the reference peer")
    harness = LoopHarness()
    try:
        result = harness.run(run_population(10, 10, 5, 55.0, per_process=10, steady=0.0), timeout=90)
    finally:
        harness.close()
    assert result["converged"], result
    assert result["min_peers"] >= 5 and result["seconds"] < 60, result
