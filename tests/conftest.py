"""Shared fixtures: the twin implementations and the py-ipv8 test vectors."""
from __future__ import annotations

import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ipv8fast import _twins

VECTORS = Path(__file__).parent / "vectors"


def load_vectors(name: str) -> dict[str, Any]:
    """Load ``tests/vectors/<name>.json`` (a copy of ../shared/vectors, refreshed when shared changes)."""
    with open(VECTORS / f"{name}.json", encoding="utf-8") as handle:
        return json.load(handle)


def twin_params(name: str) -> list[Any]:
    """pytest params for both twins of ``ipv8fast._<name>_{c,py}``; the compiled one is skipped when it
    was not built or IPV8FAST_NO_EXTENSIONS is set."""
    params = []
    for suffix in ("c", "py"):
        marks = []
        if suffix == "c" and _twins.NO_EXTENSIONS:
            marks.append(pytest.mark.skip(reason="IPV8FAST_NO_EXTENSIONS is set"))
        params.append(pytest.param(f"ipv8fast._{name}_{suffix}", id=suffix, marks=marks))
    return params


def import_twin(dotted: str) -> ModuleType:
    import importlib

    try:
        return importlib.import_module(dotted)
    except ImportError as exc:
        if os.environ.get("IPV8FAST_REQUIRE_EXTENSIONS"):
            raise
        pytest.skip(f"{dotted} is not built: {exc}")
