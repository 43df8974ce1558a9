"""Setting py-ipv8's imported modules aside while a test installs the hybrid alias."""
from __future__ import annotations

import sys
from types import ModuleType


def pop_real_pyipv8() -> dict[str, ModuleType]:
    """Take every imported ``ipv8`` / ``ipv8_service`` module out of ``sys.modules`` (returned, to put back)."""
    saved = {name: module for name, module in sys.modules.items()
             if name == "ipv8_service" or name == "ipv8" or name.startswith("ipv8.")}
    for name in saved:
        del sys.modules[name]
    return saved
