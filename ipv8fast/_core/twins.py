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
missing extension is an ImportError instead of a silent fall-back. ``ipv8fast`` imported from a source checkout
whose extensions are not built for the running Python warns once (:func:`unbuilt_checkout`), naming the fix.
"""
from __future__ import annotations

import glob
import importlib
import importlib.machinery
import os
import warnings
from types import ModuleType

from .environment import flag

__all__ = ["ACTIVE", "NAMES", "NO_EXTENSIONS", "REQUIRE_EXTENSIONS", "both", "fall_back", "record", "unbuilt_checkout",
           "warn_if_unbuilt_checkout"]

NO_EXTENSIONS: bool = flag("IPV8FAST_NO_EXTENSIONS")
REQUIRE_EXTENSIONS: bool = flag("IPV8FAST_REQUIRE_EXTENSIONS") and not NO_EXTENSIONS

#: every twin pair of ``ipv8fast._core``
NAMES: tuple[str, ...] = ("cryptopool", "ed25519", "envelope", "identifiers", "receive", "scheduler", "send",
                          "serializer", "timerwheel", "udpio")

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


def unbuilt_checkout(package_dir: str) -> str | None:
    """The warning for ``ipv8fast`` imported from a source checkout without built extensions, else None.

    ``package_dir`` is the imported ``ipv8fast/`` folder; it is a checkout when its parent holds ``setup.py``
    and ``_core`` holds the ``.pyx`` sources (neither is installed). Only twins that fell back because their
    extension file for this interpreter is absent count, and nothing is said while ``IPV8FAST_NO_EXTENSIONS``
    chooses the pure twins on purpose.
    """
    root, core = os.path.dirname(package_dir), os.path.join(package_dir, "_core")
    if NO_EXTENSIONS or not os.path.exists(os.path.join(root, "setup.py")) or not glob.glob(
            os.path.join(core, "*_c.pyx")):
        return None
    unbuilt = sorted(name for name, compiled in ACTIVE.items() if not compiled and not any(
        os.path.exists(os.path.join(core, name + "_c" + suffix)) for suffix in importlib.machinery.EXTENSION_SUFFIXES))
    if not unbuilt:
        return None
    return (f"ipv8fast is imported from the source checkout {root}, whose compiled extensions are not built for "
            f"this Python, so it runs the pure-Python twins ({', '.join(unbuilt)}). Fix: run `pip install .` "
            f"(or `python setup.py build_ext --inplace`) in {root}; set IPV8FAST_NO_EXTENSIONS=1 to choose the "
            "pure twins without this warning.")


def warn_if_unbuilt_checkout(package_dir: str) -> None:
    """Warn (RuntimeWarning) when :func:`unbuilt_checkout` finds the extensions missing; ipv8fast calls it once."""
    message = unbuilt_checkout(package_dir)
    if message:
        warnings.warn(message, RuntimeWarning, stacklevel=3)
