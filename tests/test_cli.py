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


def test_demo_rejects_bad_options() -> None:
    from ipv8fast.cli.demo import main

    with pytest.raises(SystemExit):
        main(["--peers", "1"])


@pytest.mark.parametrize("command", ["demo", "loadtest", "bench", "tracker"])
def test_every_command_answers_help(command: str) -> None:
    result = subprocess.run([sys.executable, "-m", "ipv8fast", command, "--help"], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert result.returncode == 0 and "usage" in result.stdout.lower(), result.stderr
