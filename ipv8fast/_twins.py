"""Pick the compiled or the pure-Python twin of a hot-path module at import time.

Every compiled module ``ipv8fast._<name>_c`` has a twin ``ipv8fast._<name>_py`` with the same public
names and behaviour. The compiled one is used unless ``IPV8FAST_NO_EXTENSIONS`` is set to a true value
or the extension was not built.
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType

NO_EXTENSIONS: bool = os.environ.get("IPV8FAST_NO_EXTENSIONS", "").strip().lower() not in ("", "0", "false", "no")

#: name -> True when the compiled twin of that module is the active one.
ACTIVE: dict[str, bool] = {}


def load(name: str) -> ModuleType:
    """Return the active twin of module ``name`` (e.g. ``"serializer"``)."""
    if not NO_EXTENSIONS:
        try:
            module = importlib.import_module(f"ipv8fast._{name}_c")
        except ImportError:
            pass
        else:
            ACTIVE[name] = True
            return module
    ACTIVE[name] = False
    return importlib.import_module(f"ipv8fast._{name}_py")


def both(name: str) -> list[ModuleType]:
    """Both twins that can be imported here (the compiled one may be missing); used by the tests."""
    modules = []
    for suffix in ("c", "py"):
        try:
            modules.append(importlib.import_module(f"ipv8fast._{name}_{suffix}"))
        except ImportError:
            continue
    return modules
