"""Declares the Cython extensions; metadata lives in pyproject.toml.

Convention: every ``ipv8fast/_core/<name>_c.pyx`` becomes the extension ``ipv8fast._core.<name>_c`` and is
built together with the plain C files ``csrc/<name>*.c``. If Cython or a C compiler is missing, or
``IPV8FAST_NO_EXTENSIONS`` is set, the install still succeeds with the pure-Python twins.

Built from a source checkout (any tree without the ``PKG-INFO`` of an unpacked sdist), the extensions are also
placed into the checkout's ``ipv8fast/_core/``: Python run from the checkout imports the checkout's
``ipv8fast/`` before the installed copy, so ``pip install . && python -m ipv8fast demo`` typed there would
otherwise run the pure twins. Builds from an sdist (``python -m build``, ``pip install ipv8fast-*.tar.gz``)
leave their tree alone; the placed files are ignored by git and never packaged.
"""
from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import sys
import tempfile
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
        if not self.inplace and not os.path.exists(os.path.join(HERE, "PKG-INFO")):
            self._place_into_checkout()

    def _place_into_checkout(self) -> None:
        """Copy the built extensions next to their twins in the source checkout (see the module docstring).

        Each file is written beside its destination and renamed over it, so a process that has the old one
        loaded keeps its copy intact.
        """
        placed = 0
        for ext in self.extensions:
            built = self.get_ext_fullpath(ext.name)
            target = os.path.join(HERE, self.get_ext_filename(ext.name))
            if not os.path.exists(built) or os.path.abspath(built) == os.path.abspath(target):
                continue
            temporary = None
            try:
                handle, temporary = tempfile.mkstemp(dir=os.path.dirname(target), suffix=".tmp")
                os.close(handle)
                shutil.copy2(built, temporary)
                os.replace(temporary, target)
                placed += 1
            except OSError as exc:
                if temporary and os.path.exists(temporary):
                    os.unlink(temporary)
                print(f"WARNING: ipv8fast could not place {ext.name} into the source tree ({exc}); Python run "
                      f"from {HERE} will use its pure-Python twin.", file=sys.stderr)
        if placed:
            print(f"ipv8fast: placed {placed} compiled extensions into {os.path.join(HERE, 'ipv8fast', '_core')} "
                  "(this is a source checkout, whose ipv8fast/ shadows the installed copy)", file=sys.stderr)

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
