"""``loadtest --scenario`` and ``--processes``: the docs example on both libraries, bad input refused before the
run (naming what is wrong), and the per-second merge of several processes."""
from __future__ import annotations

import csv
import importlib.util
import textwrap
from pathlib import Path

import pytest

from ipv8fast.cli import loadtest
from ipv8fast.testing import scenario

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "loadtest_scenario_example.py"
HAS_PYIPV8 = importlib.util.find_spec("ipv8") is not None

GOOD = """
from ipv8.community import Community
from ipv8.requestcache import RequestCache

class Quiet(Community):
    community_id = b"loadtest-test-quiet!"

    def __init__(self, settings):
        super().__init__(settings)
        {cache}

class {name}:
    def create_community(self, settings):
        return Quiet(settings)

    {send}
"""
SEND = "def send_request(self, community, peer, load):\n        load.answered()"


def write(tmp_path: Path, name: str = "Good", send: str = SEND, cache: str = "self.request_cache = RequestCache()",
          body: str | None = None) -> Path:
    path = tmp_path / "my_scenario.py"
    path.write_text(textwrap.dedent(body) if body is not None else GOOD.format(name=name, send=send, cache=cache))
    return path


def rows_of(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def refused(capsys: pytest.CaptureFixture[str], *flags: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        loadtest.main([*flags, "--caches", "10", "--peers", "2", "--duration", "1", "--plot", "", "--no-progress"])
    assert exit_info.value.code == 2
    return capsys.readouterr().err


@pytest.mark.skipif(not HAS_PYIPV8, reason="py-ipv8 is not installed")
def test_docs_example_runs_on_both_in_two_processes(tmp_path: Path) -> None:
    csv_path, png_path = tmp_path / "l.csv", tmp_path / "l.png"
    code = loadtest.main(["--scenario", f"{EXAMPLE}:LookupScenario", "--compare", "--processes", "2", "--peers", "4",
                          "--caches", "2000", "--duration", "2", "--csv", str(csv_path), "--plot", str(png_path),
                          "--no-progress"])
    assert code == 0
    rows = rows_of(csv_path)
    assert [row["impl"] for row in rows] == ["py-ipv8"] * 2 + ["ipv8fast"] * 2
    for impl in ("py-ipv8", "ipv8fast"):
        mine = [row for row in rows if row["impl"] == impl]
        assert {row["scenario"] for row in mine} == {"lookup"} and {row["processes"] for row in mine} == {"2"}
        assert sum(int(row["timeouts_per_s"]) for row in mine) == 2000  # every fill cache, in both processes
        assert all(int(row["roundtrips_per_s"]) > 0 and int(row["caches_added"]) == 2000 for row in mine)
        for row in mine:
            per_process = [float(mb) for mb in row["rss_mb_by_process"].split(";")]
            assert len(per_process) == 2 and abs(sum(per_process) - float(row["rss_mb"])) < 0.2
    assert png_path.exists() == (importlib.util.find_spec("matplotlib") is not None)


def test_package_module_form_and_request_cache_method(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "load.py").write_text(EXAMPLE.read_text())
    monkeypatch.chdir(tmp_path)
    code = loadtest.main(["--scenario", "mypkg.load:LookupScenario", "--peers", "3", "--processes", "3",
                          "--caches", "300", "--duration", "1", "--csv", "l.csv", "--plot", "", "--no-progress"])
    assert code == 0
    row, = rows_of(tmp_path / "l.csv")
    assert row["scenario"] == "lookup" and row["processes"] == "3" and int(row["roundtrips_per_s"]) > 0
    assert "scenario lookup" in capsys.readouterr().out


@pytest.mark.parametrize(("spec", "message"), [
    ("no_colon_here", "expected package.module:ClassName"),
    ("missing/file.py:Thing", "file missing/file.py not found"),
    ("no_such_module_xyz:Thing", "module no_such_module_xyz not found"),
    ("ipv8fast.testing.scenario:Nope", "has no attribute 'Nope'"),
])
def test_scenario_that_does_not_import_is_refused(spec: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(capsys, "--scenario", spec)
    assert message in err and f"--scenario {spec}" in err


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"send": "pass"}, "missing method send_request(self, community, peer, load)"),
    ({"send": "def send_request(self, community):\n        pass"}, "cannot be called as send_request(self, "),
    ({"cache": "pass"}, "Quiet.request_cache is None, not a RequestCache"),
    ({"body": "import ipv8.community\nraise RuntimeError('broken on purpose')\nclass Good:\n    pass\n"},
     "failed: RuntimeError: broken on purpose"),
    ({"body": "import not_installed_dependency_xyz\n"}, "module not_installed_dependency_xyz not found (imported by"),
    ({"body": "Good = 42\n"}, "42 is not a class"),
])
def test_bad_scenario_class_is_refused(tmp_path: Path, kwargs: dict[str, str], message: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, **kwargs)
    err = refused(capsys, "--scenario", f"{path}:Good")
    assert message in err


@pytest.mark.skipif(not HAS_PYIPV8, reason="py-ipv8 is not installed")
def test_scenario_importing_ipv8fast_is_refused_for_pyipv8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, body="from ipv8fast import Community\nclass Good:\n    pass\n")
    err = refused(capsys, "--scenario", f"{path}:Good", "--compare")
    assert "the py-ipv8 run does not import ipv8fast" in err and "(on py-ipv8)" in err


@pytest.mark.parametrize(("flags", "message"), [
    (["--processes", "0"], "--processes 0: need at least 1"),
    (["--processes", "3"], "--processes 3: more processes than --peers 2"),
    (["--caches", "-5"], "--caches -5: cannot be negative"),
    (["--window", "0"], "--window 0: need at least 1"),
    (["--max-memory-mb", "-1"], "--max-memory-mb -1.0: must be positive"),
])
def test_nonsense_numbers_are_refused(flags: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        loadtest.parse_args(["--peers", "2", *flags])
    assert message in capsys.readouterr().err


def test_a_good_scenario_passes_the_check(tmp_path: Path) -> None:
    assert scenario.check(scenario.resolve("ping")).__name__ == "PingScenario"
    assert loadtest.check_scenario(["ipv8fast"], f"{write(tmp_path)}:Good") == "Good"


def test_merge_of_process_samples() -> None:
    def sample(rss: float, pending: int, late: float) -> dict:
        return {"second": 3, "pending_caches": pending, "timeouts_per_s": 10, "roundtrips_per_s": 100,
                "caches_added": 50, "lost_per_s": 1, "rss_mb": rss, "max_late_ms": late, "gc_ms": 0.5, "cpu_ms": 400.0}

    row = loadtest.merge_samples([sample(40.0, 7, 2.0), sample(41.5, 8, 9.0)])
    assert row == {"second": 3, "pending_caches": 15, "timeouts_per_s": 20, "roundtrips_per_s": 200,
                   "caches_added": 100, "lost_per_s": 2, "rss_mb": 81.5, "max_late_ms": 9.0, "gc_ms": 0.5,
                   "cpu_ms": 800.0, "processes": 2, "rss_mb_by_process": "40.0;41.5"}
    assert loadtest.split_caches(10, 3) == [4, 3, 3] and sum(loadtest.split_caches(7, 7)) == 7
    assert loadtest.targets_of(0, 3) == [1, 2] and len(loadtest.targets_of(5, 100)) == loadtest.FANOUT
