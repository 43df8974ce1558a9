"""The package surface: which twins are active, and the public names."""
from __future__ import annotations

import os

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
