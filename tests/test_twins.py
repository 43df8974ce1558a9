"""Every twin pair of ipv8fast._core: same public names, a selector exporting the active twin, mirrored
constants in agreement, and no silent fall-back while extensions are required."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest

from ipv8fast._core import twins


@pytest.mark.parametrize("name", twins.NAMES)
def test_twin_pair_exports_the_same_names(name: str) -> None:
    modules = twins.both(name)
    if twins.NO_EXTENSIONS:
        assert [module.__name__ for module in modules] == [f"ipv8fast._core.{name}_py"]
    else:
        assert [module.__name__ for module in modules] == [f"ipv8fast._core.{name}_c", f"ipv8fast._core.{name}_py"]
    exported = [sorted(module.__all__) for module in modules]
    assert all(names == exported[-1] for names in exported), exported
    for module in modules:
        for attribute in module.__all__:
            assert hasattr(module, attribute), f"{module.__name__}.__all__ names missing {attribute}"


@pytest.mark.parametrize("name", twins.NAMES)
def test_selector_exports_the_active_twin(name: str) -> None:
    selector = importlib.import_module(f"ipv8fast._core.{name}")
    active = importlib.import_module(f"ipv8fast._core.{name}_{'c' if twins.ACTIVE[name] else 'py'}")
    assert set(active.__all__) <= set(selector.__all__)
    for attribute in active.__all__:
        assert getattr(selector, attribute) is getattr(active, attribute), attribute
    if not twins.NO_EXTENSIONS and twins.REQUIRE_EXTENSIONS:
        assert twins.ACTIVE[name], f"{name}: the compiled twin is required but not active"


def test_every_twin_pair_is_listed() -> None:
    from pathlib import Path

    folder = Path(twins.__file__).parent
    pure = sorted(path.stem[:-3] for path in folder.glob("*_py.py"))
    assert pure == sorted(twins.NAMES)


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("yes", True), (" On ", True), ("TRUE", True),
                                                 ("0", False), ("no", False), ("off", False), ("", False)])
def test_flags_read_one_way(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    from ipv8fast._core.environment import flag

    monkeypatch.setenv("IPV8FAST_TEST_FLAG", value)
    assert flag("IPV8FAST_TEST_FLAG") is expected


def test_a_mistyped_flag_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from ipv8fast._core.environment import flag

    monkeypatch.setenv("IPV8FAST_TEST_FLAG", "maybe")
    with pytest.raises(ValueError, match="IPV8FAST_TEST_FLAG='maybe'"):
        flag("IPV8FAST_TEST_FLAG")


def _import_without_compiled_timerwheel(require: bool) -> str:
    """Import ipv8fast in a child where ``timerwheel_c`` cannot be imported; what the child printed."""
    code = ("import sys; sys.modules['ipv8fast._core.timerwheel_c'] = None\n"
            "try:\n    import ipv8fast\nexcept ImportError as error:\n    print('refused:', error)\n"
            "else:\n    from ipv8fast._core import twins\n    print(twins.ACTIVE['timerwheel'], ipv8fast.COMPILED)\n")
    env = {key: value for key, value in os.environ.items()
           if key not in ("IPV8FAST_REQUIRE_EXTENSIONS", "IPV8FAST_NO_EXTENSIONS")}
    if require:
        env["IPV8FAST_REQUIRE_EXTENSIONS"] = "1"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    return result.stdout + result.stderr


def test_required_extension_that_does_not_import_fails_loudly() -> None:
    output = _import_without_compiled_timerwheel(require=True)
    assert output.startswith("refused:") and "IPV8FAST_REQUIRE_EXTENSIONS" in output, output


def test_without_requirement_a_missing_extension_falls_back_to_the_twin() -> None:
    assert _import_without_compiled_timerwheel(require=False).split() == ["False", "False"]
