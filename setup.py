"""Declares the Cython extensions; metadata lives in pyproject.toml.

Convention: every ``ipv8fast/_core/<name>_c.pyx`` becomes the extension ``ipv8fast._core.<name>_c`` and is
built together with the plain C files ``csrc/<name>*.c``. If Cython or a C compiler is missing, or
``IPV8FAST_NO_EXTENSIONS`` is set, the install still succeeds with the pure-Python twins.
"""
from __future__ import annotations

import glob
import importlib.util
import os
import sys
from types import ModuleType

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


def _environment() -> ModuleType:
    """ipv8fast's own flag parser, loaded from its file (the package cannot be imported before it is built)."""
    spec = importlib.util.spec_from_file_location("_ipv8fast_environment",
                                                  os.path.join(HERE, "ipv8fast", "_core", "environment.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NO_EXTENSIONS = _environment().flag("IPV8FAST_NO_EXTENSIONS")


def find_extensions() -> list[Extension]:
    extensions = []
    for pyx in sorted(glob.glob(os.path.join("ipv8fast", "_core", "*_c.pyx"))):
        module = os.path.splitext(os.path.basename(pyx))[0]
        stem = module[:-2]
        c_sources = sorted(glob.glob(os.path.join("csrc", f"{stem}*.c")))
        extensions.append(
            Extension(
                f"ipv8fast._core.{module}",
                [pyx, *c_sources],
                include_dirs=["csrc"],
                extra_compile_args=[] if sys.platform == "win32" else ["-O3", "-g0"],
            )
        )
    return extensions


class OptionalBuildExt(build_ext):
    """Build the extensions, but fall back to the pure-Python twins if that is impossible."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any build failure means "use the twins"
            self._warn(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            self._warn(exc, ext.name)

    @staticmethod
    def _warn(exc: Exception, name: str = "extensions") -> None:
        print(f"WARNING: ipv8fast could not build {name} ({exc}); the pure-Python twins will be used.",
              file=sys.stderr)


def cythonized() -> list[Extension]:
    if NO_EXTENSIONS:
        print("IPV8FAST_NO_EXTENSIONS is set: installing the pure-Python twins only.", file=sys.stderr)
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        print("WARNING: Cython is not available; installing the pure-Python twins only.", file=sys.stderr)
        return []
    return cythonize(
        find_extensions(),
        compiler_directives={"language_level": "3", "boundscheck": False, "wraparound": False,
                             "cdivision": True, "embedsignature": True},
    )


setup(ext_modules=cythonized(), cmdclass={"build_ext": OptionalBuildExt})
