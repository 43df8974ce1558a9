"""ARCHITECTURE.md names every module of the tree, and the internal layer only imports what it says it does."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ipv8fast"
PICTURE = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8") if (ROOT / "ARCHITECTURE.md").exists() else ""
#: public modules the internal layer may import (see ARCHITECTURE.md, "Layers point down")
CORE_MAY_IMPORT = {"ipv8fast.addresses", "ipv8fast.keys", "ipv8fast.messages", "ipv8fast.peer"}

pytestmark = pytest.mark.skipif(not PICTURE, reason="ARCHITECTURE.md is not shipped here (installed wheel)")


def _module_names(folder: Path) -> set[str]:
    names = set()
    for path in folder.iterdir():
        if path.suffix in (".py", ".pyx") and path.stem != "__init__" and path.stem != "__main__":
            stem = path.stem
            for suffix in ("_c", "_py"):
                if stem.endswith(suffix) and (folder / f"{stem[:-len(suffix)]}.py").exists():
                    stem = stem[:-len(suffix)]
            names.add(stem)
        elif path.is_dir() and (path / "__init__.py").exists() and path.name != "_core":
            names.add(path.name + "/")
    return names


@pytest.mark.parametrize("folder", ["", "_core", "cli"])
def test_every_module_is_in_the_picture(folder: str) -> None:
    missing = sorted(name for name in _module_names(PACKAGE / folder) if name.rstrip("/") not in PICTURE)
    assert not missing, f"ARCHITECTURE.md does not mention {missing}"


def test_the_internal_layer_points_down() -> None:
    offenders = []
    for path in sorted((PACKAGE / "_core").glob("*.py*")):
        if path.suffix not in (".py", ".pyx"):
            continue
        for node in ast.walk(ast.parse(_python_view(path.read_text(encoding="utf-8")))):
            if isinstance(node, ast.ImportFrom):
                target = _absolute(node.module or "", node.level)
                if target.startswith("ipv8fast.") and not target.startswith("ipv8fast._core") \
                        and target not in CORE_MAY_IMPORT:
                    offenders.append(f"{path.name}: {target}")
    assert not offenders, offenders


def _absolute(module: str, level: int) -> str:
    if level == 0:
        return module
    base = ["ipv8fast", "_core"][:3 - level] if level <= 2 else []
    return ".".join([*base, module] if module else base)


def _python_view(source: str) -> str:
    """The ``import`` / ``from ... import`` lines of a .py or .pyx file (Cython syntax elsewhere is skipped)."""
    lines, keep = [], False
    for line in source.splitlines():
        if line.startswith(("import ", "from ")) and " cimport " not in line:
            keep = line.rstrip().endswith("(")
            lines.append(line)
        elif keep:
            lines.append(line)
            keep = not line.rstrip().endswith(")")
    return "\n".join(lines)
