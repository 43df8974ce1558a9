"""Serializer throughput, ipv8fast (compiled, and pure twin) next to py-ipv8 in one run.

    python -m pytest bench/bench_serializer.py --benchmark-enable

Payloads: "small" = ``["I", "I"]``; "mixed" = ``H, Q, 20s, varlenH (100 B), ?, ipv4, varlenH-list (5)``.
Both sides use vp_compile'd VariablePayloads and the library's default serializer. Each benchmark round
calls the operation BATCH times in a plain loop (as a receive path does), so pytest-benchmark's own
per-call overhead does not swamp sub-microsecond operations; rates are per operation.
"""
from __future__ import annotations

from collections.abc import Callable
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
