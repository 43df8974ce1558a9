"""``python -m ipv8fast loadtest``: tiny bounded runs (loopback only), the CSV, the PNG and the memory guard."""
from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

from ipv8fast.cli import loadtest

HAS_PYIPV8 = importlib.util.find_spec("ipv8") is not None
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def run(tmp_path: Path, *flags: str) -> tuple[int, Path, Path]:
    csv_path, png_path = tmp_path / "load.csv", tmp_path / "load.png"
    code = loadtest.main([*flags, "--csv", str(csv_path), "--plot", str(png_path), "--no-progress"])
    return code, csv_path, png_path


def check_sane(rows: list[dict[str, str]], impl: str, caches: int, duration: int) -> None:
    mine = [row for row in rows if row["impl"] == impl]
    assert [int(row["second"]) for row in mine] == list(range(1, duration + 1))
    assert all(int(row["caches_added"]) == caches for row in mine)
    # every cache is due by 90 % of the run, so all have timed out by its end, each exactly once
    assert sum(int(row["timeouts_per_s"]) for row in mine) == caches
    pending = [int(row["pending_caches"]) for row in mine]
    assert pending == sorted(pending, reverse=True) and pending[0] > caches // 2 and pending[-1] < 100
    assert all(int(row["roundtrips_per_s"]) > 0 for row in mine)
    assert all(0 < float(row["rss_mb"]) < 4096 for row in mine)
    assert all(float(row["max_late_ms"]) >= 0 for row in mine)


def test_ipv8fast_run_writes_csv_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, csv_path, png_path = run(tmp_path, "--caches", "20000", "--peers", "4", "--duration", "4")
    assert code == 0
    columns, rows = read_rows(csv_path)
    assert columns == loadtest.COLUMNS
    check_sane(rows, "ipv8fast", 20000, 4)
    out = capsys.readouterr().out
    assert "caches timed out" in out and str(csv_path) in out
    if HAS_MATPLOTLIB:
        assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert not png_path.exists() and "matplotlib is not installed" in out


@pytest.mark.skipif(not HAS_PYIPV8, reason="py-ipv8 is not installed")
def test_compare_runs_both_on_one_csv(tmp_path: Path) -> None:
    code, csv_path, png_path = run(tmp_path, "--caches", "5000", "--peers", "3", "--duration", "3", "--compare")
    assert code == 0
    _, rows = read_rows(csv_path)
    assert [row["impl"] for row in rows] == ["py-ipv8"] * 3 + ["ipv8fast"] * 3
    for impl in ("py-ipv8", "ipv8fast"):
        check_sane(rows, impl, 5000, 3)
    assert png_path.exists() == HAS_MATPLOTLIB


def test_memory_guard_caps_the_caches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, csv_path, _ = run(tmp_path, "--caches", "1000000", "--peers", "2", "--duration", "2",
                            "--max-memory-mb", "1", "--plot", "")
    assert code == 0
    capped = 2 ** 20 // loadtest.EST_BYTES["ipv8fast"]
    _, rows = read_rows(csv_path)
    assert {int(row["caches_added"]) for row in rows} == {capped}
    assert f"capped from 1,000,000 to {capped:,}" in capsys.readouterr().out


def test_missing_pyipv8_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(loadtest, "is_installed", lambda impl: impl != "pyipv8")
    assert loadtest.main(["--impl", "pyipv8"]) == 2
    assert "py-ipv8 is not installed" in capsys.readouterr().err


def test_plot_without_matplotlib(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)
    assert loadtest.write_plot(str(tmp_path / "x.png"), [], "title") is False


@pytest.mark.parametrize("flags", [["--peers", "1"], ["--duration", "0"], ["--caches", "-1"], ["--impl", "other"]])
def test_bad_arguments_are_refused(flags: list[str]) -> None:
    with pytest.raises(SystemExit):
        loadtest.parse_args(flags)


def test_no_caches_is_traffic_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, csv_path, _ = run(tmp_path, "--caches", "0", "--peers", "2", "--duration", "1", "--plot", "")
    assert code == 0
    _, rows = read_rows(csv_path)
    assert len(rows) == 1 and int(rows[0]["timeouts_per_s"]) == 0 and int(rows[0]["roundtrips_per_s"]) > 0
    assert "caches added" in capsys.readouterr().out
