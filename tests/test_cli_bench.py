"""``python -m ipv8fast bench``: the table, the missing-suite message and a quick smoke run."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from ipv8fast.cli import bench as benchcli

BENCH = Path(__file__).resolve().parents[1] / "bench"
HAS_PYIPV8 = importlib.util.find_spec("ipv8") is not None


def test_table_with_py_ipv8_columns() -> None:
    rows = [benchcli.row("pack (ops/s)", 100_000.0, 1_250_000.0),
            benchcli.row("memory (B/cache)", 2300.0, 280.0, False),
            benchcli.row("limit (/s)", None, 12_345.6), benchcli.row("late (s)", 0.5, 0.0123, False)]
    lines = benchcli.format_table(rows, with_ref=True).splitlines()
    assert lines[0].split() == ["metric", "py-ipv8", "ipv8fast", "ratio"]
    assert lines[2].split()[-3:] == ["100,000", "1,250,000", "12.5x"]
    assert lines[3].split()[-3:] == ["2,300", "280", "8.2x"]
    assert lines[4].split()[-3:] == ["-", "12,346", "-"]
    assert lines[5].split()[-3:] == ["0.5", "0.0123", "40.7x"]
    assert len({len(line) for line in lines[:6]}) == 1  # aligned
    assert lines[-1].startswith("ratio:")


def test_table_without_py_ipv8() -> None:
    lines = benchcli.format_table([benchcli.row("pack (ops/s)", None, 3.0)], with_ref=False).splitlines()
    assert lines[0].split() == ["metric", "ipv8fast"]
    assert lines[2].split() == ["pack", "(ops/s)", "3.00"]


def test_missing_bench_suite_is_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert benchcli.main(["--bench-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no bench/ suite found" in err and str(tmp_path) in err and "source checkout" in err


def test_finds_the_checkout_suite_from_its_root(monkeypatch: pytest.MonkeyPatch) -> None:
    if not BENCH.is_dir():
        pytest.skip("not a source checkout")
    found, _ = benchcli.find_bench_dir(cwd=BENCH.parent)
    assert found == BENCH


def test_unknown_group_is_refused() -> None:
    with pytest.raises(SystemExit):
        benchcli.parse_args(["--only", "serializer,nope"])


@pytest.mark.skipif(not BENCH.is_dir(), reason="not a source checkout")
def test_quick_serializer_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    assert benchcli.main(["--quick", "--only", "serializer", "--bench-dir", str(BENCH)]) == 0
    out = capsys.readouterr().out
    table = out[out.index("metric"):].splitlines()
    assert table[0].split() == (["metric", "py-ipv8", "ipv8fast", "ratio"] if HAS_PYIPV8 else ["metric", "ipv8fast"])
    rows = [line for line in table if line.startswith("serializer ")]
    assert len(rows) == 4
    for line in rows:
        cells = line.split()
        rate = float(cells[-2 if HAS_PYIPV8 else -1].replace(",", ""))
        assert rate > 10_000
        if HAS_PYIPV8:
            assert cells[-1].endswith("x") and float(cells[-1][:-1]) > 0


@pytest.mark.skipif(not BENCH.is_dir(), reason="not a source checkout")
def test_quick_run_of_every_group(capsys: pytest.CaptureFixture[str]) -> None:
    """``bench --quick`` end to end (about ten seconds): every group reports its rows."""
    assert benchcli.main(["--quick", "--bench-dir", str(BENCH)]) == 0
    out = capsys.readouterr().out
    table = out[out.index("metric"):].splitlines()
    expected = {"serializer": 4, "requestcache": 5, "community": 5, "scheduler": 4} if HAS_PYIPV8 else \
        {"serializer": 4, "requestcache": 5}
    for group, count in expected.items():
        assert sum(line.startswith(group + " ") for line in table) == count, (group, out)
    assert ("Ed25519 sign+verify limit" in out) == HAS_PYIPV8
