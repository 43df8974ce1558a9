"""``python -m ipv8fast``: the info command and the tracker command's wiring."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def test_main_entry_point_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from ipv8fast.cli import main

    assert main([]) == 0
    assert "unpacked: number=7" in capsys.readouterr().out


def test_tracker_command_runs_and_answers_help() -> None:
    result = subprocess.run([sys.executable, "-m", "ipv8fast", "tracker", "--help"], capture_output=True, text=True,
                            timeout=60, env={**os.environ,
                                             "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert result.returncode == 0 and "--port" in result.stdout


def test_demo_runs_and_reports_ok() -> None:
    result = subprocess.run([sys.executable, "-m", "ipv8fast", "demo", "--peers", "4", "--duration", "3"],
                            capture_output=True, text=True, timeout=90,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "demo OK" in result.stdout and "replayed answers rejected" in result.stdout
    from ipv8fast.cli import implementation_line

    assert result.stdout.splitlines()[0] == implementation_line()  # the same twins in this process


@pytest.mark.parametrize(("active", "no_extensions", "expected"), [
    ({"receive": True, "send": True}, False, "compiled (all 2 twins)"),
    ({"receive": False, "send": True}, False, "partly compiled (pure twins: receive)"),
    ({"receive": False, "send": False}, False, "pure Python (all 2 twins pure: the extensions are not built)"),
    ({"receive": False, "send": False}, True, "pure Python (all 2 twins pure: IPV8FAST_NO_EXTENSIONS is set)"),
])
def test_implementation_line_names_the_pure_twins(monkeypatch: pytest.MonkeyPatch, active: dict[str, bool],
                                                  no_extensions: bool, expected: str) -> None:
    from ipv8fast import __version__
    from ipv8fast._core import twins
    from ipv8fast.cli import implementation_line

    monkeypatch.setattr(twins, "ACTIVE", active)
    monkeypatch.setattr(twins, "NO_EXTENSIONS", no_extensions)
    assert implementation_line() == f"ipv8fast {__version__} (Python {sys.version.split()[0]}): {expected}"


@pytest.mark.parametrize("command", [["loadtest", "--caches", "10", "--peers", "2", "--duration", "1", "--plot", "",
                                      "--no-progress"], ["bench", "--bench-dir", "no-such-dir"]])
def test_loadtest_and_bench_start_with_the_implementation(command: list[str], tmp_path: Path) -> None:
    from ipv8fast.cli import implementation_line

    result = subprocess.run([sys.executable, "-m", "ipv8fast", *command], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert result.stdout.splitlines()[0] == implementation_line(), result.stdout + result.stderr


def test_demo_rejects_bad_options() -> None:
    from ipv8fast.cli.demo import main

    with pytest.raises(SystemExit):
        main(["--peers", "1"])


@pytest.mark.parametrize("command", ["demo", "loadtest", "bench", "tracker"])
def test_every_command_answers_help(command: str) -> None:
    result = subprocess.run([sys.executable, "-m", "ipv8fast", command, "--help"], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert result.returncode == 0 and "usage" in result.stdout.lower(), result.stderr
