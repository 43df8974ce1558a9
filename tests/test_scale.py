"""Scale (bounded): 30 IPv8 instances in one process on 127.0.0.1 with a local tracker all reach >= 10 peers.
The 100-node run with timings is bench/bench_scale.py; both run ipv8fast.testing.loopback.converge."""
from __future__ import annotations

from ipv8fast.testing.loopback import converge

from _loop import LoopHarness


def test_thirty_nodes_converge() -> None:
    harness = LoopHarness()
    try:
        result = harness.run(converge(30, 10, 40.0), timeout=60)
    finally:
        harness.close()
    assert result["converged"], result
    assert result["drops"] == 0, result
