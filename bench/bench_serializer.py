"""Serializer throughput, ipv8fast (compiled, and pure twin) next to py-ipv8 in one run.

    python -m pytest bench/bench_serializer.py --benchmark-enable

Payloads: "small" = ``["I", "I"]``; "mixed" = ``H, Q, 20s, varlenH (100 B), ?, ipv4, varlenH-list (5)``.
Both sides use vp_compile'd VariablePayloads and the library's default serializer. Each benchmark round
calls the operation BATCH times in a plain loop (as a receive path does), so pytest-benchmark's own
per-call overhead does not swamp sub-microsecond operations; rates are per operation.

The ``floor*`` columns (small payload only) are what CPython itself costs for the same call, timed the same
way: ``serializer_floor.c`` (built here with the C compiler and this Python's headers; skipped without one)
decodes the two u32 fields and makes the instance with ``object.__new__`` from C, then sets the attributes with
``PyObject_GenericSetAttr`` (``floor``), or calls the vp_compile'd ``__init__`` by vectorcall (``floor-init``),
or sets none (``floor-empty``), and returns ``(instance, offset)``; for pack, ``floor`` reads the attributes
with ``PyObject_GetAttr`` into one ``PyBytes_FromStringAndSize``. No bounds checks, no plan lookup.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shlex
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ipv8fast._core import twins as _twins

SMALL = (["I", "I"], ["a", "b"], (1, 2))
MIXED = (["H", "Q", "20s", "varlenH", "?", "ipv4", "varlenH-list"], ["a", "b", "c", "d", "e", "f", "g"],
         (1, 2, b"x" * 20, b"y" * 100, True, ("1.2.3.4", 5), [b"abc"] * 5))


def _implementation(impl: str) -> tuple[Any, Callable, Any]:
    """(VariablePayload base, vp_compile, serializer) of one implementation."""
    if impl == "py-ipv8":
        from ipv8.messaging.lazy_payload import VariablePayload, vp_compile
        from ipv8.messaging.serialization import default_serializer

        return VariablePayload, vp_compile, default_serializer
    from ipv8fast import VariablePayload, vp_compile

    twin = {"ipv8fast": "serializer_c", "ipv8fast-pure": "serializer_py"}[impl]
    module = __import__(f"ipv8fast._core.{twin}", fromlist=["Serializer"])
    return VariablePayload, vp_compile, module.Serializer()


IMPLS = ["py-ipv8", "ipv8fast", "ipv8fast-pure"]
BATCH = 100


def _batched(operation: Callable, *args: Any) -> Callable[[], Any]:
    calls = range(BATCH)

    def run() -> Any:
        for _ in calls:
            result = operation(*args)
        return result
    return run


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("case", ["small", "mixed"])
@pytest.mark.parametrize("operation", ["pack", "unpack"])
def test_serializer(benchmark: Any, impl: str, case: str, operation: str) -> None:
    if impl == "ipv8fast" and _twins.NO_EXTENSIONS:
        pytest.skip("extensions disabled")
    base, compile_, serializer = _implementation(impl)
    format_list, names, values = SMALL if case == "small" else MIXED
    cls = compile_(type(f"{case.title()}Payload", (base,), {"format_list": format_list, "names": names}))
    obj = cls(*values)
    data = serializer.pack_serializable(obj)
    benchmark.group = f"{operation} {case}"
    benchmark.extra_info["impl"] = impl
    benchmark.extra_info["batch"] = BATCH
    if operation == "pack":
        assert benchmark(_batched(serializer.pack_serializable, obj)) == data
    else:
        parsed, offset = benchmark(_batched(serializer.unpack_serializable, cls, data))
        assert offset == len(data) and parsed.b == values[1]


def _floor_module() -> Any:
    """``serializer_floor.c`` compiled for this interpreter (cached in the temp dir by source and version)."""
    source = Path(__file__).with_name("serializer_floor.c")
    if not source.exists():
        pytest.skip(f"{source.name} is not here")
    key = hashlib.sha256(source.read_bytes() + sys.version.encode()).hexdigest()[:16]
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    target = Path(tempfile.gettempdir()) / f"ipv8fast-floor-{key}" / f"serializer_floor{suffix}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{os.getpid()}-{target.name}")
        command = [*shlex.split(sysconfig.get_config_var("CC") or "cc"), "-O2", "-shared", "-fPIC",
                   f"-I{sysconfig.get_paths()['include']}", str(source), "-o", str(partial)]
        if sys.platform == "darwin":
            command += ["-undefined", "dynamic_lookup"]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError) as exc:
            pytest.skip(f"cannot build serializer_floor.c: {exc}")
        os.replace(partial, target)
    spec = importlib.util.spec_from_file_location("serializer_floor", target)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FLOORS = {("unpack", "floor"): "unpack_setattr", ("unpack", "floor-init"): "unpack_init",
          ("unpack", "floor-empty"): "unpack_empty", ("pack", "floor"): "pack_getattr"}


@pytest.mark.parametrize(("operation", "impl"), list(FLOORS))
def test_serializer_floor(benchmark: Any, operation: str, impl: str) -> None:
    """The CPython floor under pack / unpack of the small payload (see the module docstring)."""
    floor = _floor_module()
    base, compile_, serializer = _implementation("ipv8fast-pure")
    format_list, names, values = SMALL
    cls = compile_(type("SmallPayload", (base,), {"format_list": format_list, "names": names}))
    obj = cls(*values)
    data = serializer.pack_serializable(obj)
    floor.set_fields(tuple(names), cls.__init__)
    function = getattr(floor, FLOORS[operation, impl])
    benchmark.group = f"{operation} small"
    benchmark.extra_info["impl"] = impl
    benchmark.extra_info["batch"] = BATCH
    if operation == "pack":
        assert benchmark(_batched(function, obj)) == data
    else:
        parsed, offset = benchmark(_batched(function, cls, data))
        assert offset == len(data) and type(parsed) is cls
        if impl != "floor-empty":
            assert (parsed.a, parsed.b) == values
