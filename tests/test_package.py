"""The package surface: which twins are active, and the public names."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ipv8fast
from ipv8fast._core import twins as _twins


def test_compiled_flag_matches_the_active_twins() -> None:
    assert set(_twins.ACTIVE) >= {"serializer", "timerwheel", "identifiers", "receive", "scheduler", "envelope"}
    assert ipv8fast.COMPILED == all(_twins.ACTIVE.values())
    if _twins.NO_EXTENSIONS:
        assert not any(_twins.ACTIVE.values())
    elif os.environ.get("IPV8FAST_REQUIRE_EXTENSIONS"):
        assert ipv8fast.COMPILED, f"a compiled twin failed to import: {_twins.ACTIVE}"


def test_public_names_resolve() -> None:
    for name in ipv8fast.__all__:
        assert getattr(ipv8fast, name) is not None


def test_version_is_written_once() -> None:
    from ipv8fast._version import __version__

    assert ipv8fast.__version__ == __version__ and __version__.count(".") == 2


def _import_in(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("IPV8FAST_")}
    return subprocess.run([sys.executable, "-c", "import ipv8fast, ipv8fast.cli; print(ipv8fast.COMPILED)"],
                          cwd=root, capture_output=True, text=True, timeout=120,
                          env={**clean, "PYTHONPATH": str(root), **env})


@pytest.fixture(scope="module")
def unbuilt_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the package as a source checkout without its built extensions."""
    root = tmp_path_factory.mktemp("checkout")
    source = Path(ipv8fast.__file__).resolve().parent
    shutil.copytree(source, root / "ipv8fast", ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    for name in _twins.NAMES:  # an installed copy has no .pyx sources; a checkout has them
        (root / "ipv8fast" / "_core" / f"{name}_c.pyx").write_text("# the source\n", encoding="utf-8")
    (root / "setup.py").write_text("# a checkout\n", encoding="utf-8")
    return root


def test_unbuilt_checkout_warns_once_naming_the_fix(unbuilt_checkout: Path) -> None:
    result = _import_in(unbuilt_checkout)
    assert result.returncode == 0 and result.stdout.strip() == "False", result.stderr
    assert result.stderr.count("RuntimeWarning") == 1, result.stderr
    assert f"source checkout {unbuilt_checkout}" in result.stderr and "Fix: run `pip install .`" in result.stderr


def test_no_warning_when_pure_twins_are_chosen_or_outside_a_checkout(unbuilt_checkout: Path, tmp_path: Path) -> None:
    chosen = _import_in(unbuilt_checkout, IPV8FAST_NO_EXTENSIONS="1")
    assert chosen.returncode == 0 and "Warning" not in chosen.stderr, chosen.stderr
    shutil.copytree(unbuilt_checkout / "ipv8fast", tmp_path / "ipv8fast")  # no setup.py beside it: installed
    installed = _import_in(tmp_path)
    assert installed.returncode == 0 and "Warning" not in installed.stderr, installed.stderr


def test_built_checkout_does_not_warn() -> None:
    if not ipv8fast.COMPILED:
        pytest.skip("the extensions are not active here")
    result = _import_in(Path(ipv8fast.__file__).resolve().parent.parent)
    assert result.returncode == 0 and result.stdout.strip() == "True" and "Warning" not in result.stderr, result.stderr
