"""Which twin of each compiled module is active, and the rules for choosing it.

Every compiled module ``ipv8fast._core.<name>_c`` has a pure-Python twin ``<name>_py`` with the same
``__all__`` and behaviour, and a selector module ``<name>`` that imports the active one::

    if TYPE_CHECKING or twins.NO_EXTENSIONS:
        from .timerwheel_py import TimerWheel
    else:
        try:
            from .timerwheel_c import TimerWheel
        except ImportError as exc:
            twins.fall_back("timerwheel", exc)
            from .timerwheel_py import TimerWheel
    twins.record("timerwheel", TimerWheel)

Type checkers take the first branch, so they see the pure twin's real types. The compiled twin is used unless
``IPV8FAST_NO_EXTENSIONS`` is set or the extension is not built; with ``IPV8FAST_REQUIRE_EXTENSIONS`` set a
missing extension is an ImportError instead of a silent fall-back.
"""
from __future__ import annotations

import importlib
import warnings
from types import ModuleType

from .environment import flag

__all__ = ["ACTIVE", "NAMES", "NO_EXTENSIONS", "REQUIRE_EXTENSIONS", "both", "fall_back", "record"]

NO_EXTENSIONS: bool = flag("IPV8FAST_NO_EXTENSIONS")
REQUIRE_EXTENSIONS: bool = flag("IPV8FAST_REQUIRE_EXTENSIONS") and not NO_EXTENSIONS

#: every twin pair of ``ipv8fast._core``
NAMES: tuple[str, ...] = ("ed25519", "envelope", "identifiers", "receive", "scheduler", "send", "serializer",
                          "timerwheel", "udpio")

#: name -> True when the compiled twin of that module is the active one.
ACTIVE: dict[str, bool] = {}


def fall_back(name: str, error: ImportError) -> None:
    """The compiled twin of ``name`` did not import: raise if extensions are required, else warn once."""
    if REQUIRE_EXTENSIONS:
        raise ImportError(f"ipv8fast._core.{name}_c did not import and IPV8FAST_REQUIRE_EXTENSIONS is set: "
                          f"{error}") from error
    ACTIVE[name] = False


def record(name: str, sample: object) -> None:
    """Note which twin the selector of ``name`` imported (``sample``: one of the names it imported)."""
    ACTIVE[name] = getattr(sample, "__module__", "").endswith("_c")


def both(name: str) -> list[ModuleType]:
    """Both twins of ``name`` that can be imported here (compiled first); for tests and benchmarks.

    The compiled twin is left out when ``IPV8FAST_NO_EXTENSIONS`` is set, or when it is not built; the
    latter raises instead while ``IPV8FAST_REQUIRE_EXTENSIONS`` is set.
    """
    modules = []
    if not NO_EXTENSIONS:
        try:
            modules.append(importlib.import_module(f"ipv8fast._core.{name}_c"))
        except ImportError as exc:
            if REQUIRE_EXTENSIONS:
                raise
            warnings.warn(f"ipv8fast._core.{name}_c is not built ({exc}); only the pure twin is used",
                          stacklevel=2)
    modules.append(importlib.import_module(f"ipv8fast._core.{name}_py"))
    return modules
