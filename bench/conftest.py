"""Prints, after a pytest-benchmark run, one table per group: py-ipv8 and ipv8fast side by side, with ratios.

Run: ``python -m pytest bench/ --benchmark-enable``. Every benchmark sets ``extra_info["impl"]`` (and
``extra_info["batch"]`` when one round makes several calls). Rates come from the median round time: on a
shared, noisy machine the median is far steadier than the mean.
"""
from __future__ import annotations

from typing import Any

BASELINE = "py-ipv8"


def pytest_terminal_summary(terminalreporter: Any, config: Any) -> None:
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    groups: dict[str, dict[str, float]] = {}
    for bench in session.benchmarks:
        impl = bench.extra_info.get("impl")
        if impl and bench.stats is not None:
            calls = bench.extra_info.get("batch", 1)
            groups.setdefault(bench.group or bench.name, {})[impl] = calls / bench.stats.median
    if not groups:
        return
    impls = sorted({impl for row in groups.values() for impl in row if impl != BASELINE})
    write = terminalreporter.write_line
    write("")
    write("operations per second (1 / median), ratio to " + BASELINE)
    write(f"{'benchmark':28s} {BASELINE:>16s} " + " ".join(f"{i:>22s} {'ratio':>7s}" for i in impls))
    for group, row in sorted(groups.items()):
        base = row.get(BASELINE)
        cells = []
        for impl in impls:
            ops = row.get(impl)
            ratio = f"{ops / base:6.1f}x" if ops and base else "     -"
            cells.append(f"{ops:22,.0f} {ratio:>7s}" if ops else f"{'-':>22s} {'':>7s}")
        write(f"{group:28s} {base or 0:16,.0f} " + " ".join(cells))
