"""tests/vectors must be an up-to-date copy of ../shared/vectors when that folder is present."""
from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "vectors"
LOCAL = Path(__file__).parent / "vectors"


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/vectors is not beside this clone")
@pytest.mark.parametrize("name", sorted(p.name for p in SHARED.glob("*")) if SHARED.is_dir() else [])
def test_vectors_are_a_current_copy(name: str) -> None:
    assert (LOCAL / name).read_bytes() == (SHARED / name).read_bytes(), \
        f"tests/vectors/{name} differs from ../shared/vectors: copy it again"
