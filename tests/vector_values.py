"""Decode the tagged JSON values of the py-ipv8 vectors and compare decoded objects with them."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ipv8fast.addresses import DomainAddress, UDPv4Address, UDPv6Address

ADDRESS_TYPES = {"UDPv4Address": UDPv4Address, "UDPv6Address": UDPv6Address, "DomainAddress": DomainAddress}


def decode(value: Any, make_payload: Callable[[str, dict], Any] | None = None) -> Any:
    """Turn a tagged JSON value into the Python value it stands for."""
    if isinstance(value, list):
        return [decode(v, make_payload) for v in value]
    if not isinstance(value, dict):
        return value
    (tag, inner), = value.items()
    if tag == "$bytes":
        return bytes.fromhex(inner)
    if tag == "$tuple":
        return tuple(decode(v, make_payload) for v in inner)
    if tag == "$float":
        return float(inner)
    if tag == "$addr":
        kind, host, port = inner
        return ADDRESS_TYPES[kind](host, port)
    if tag == "$payload":
        assert make_payload is not None, "a payload value needs a class table"
        fields = {name: decode(v, make_payload) for name, v in inner["fields"].items()}
        return make_payload(inner["class"], fields)
    raise AssertionError(f"unknown tag {tag}")


def assert_matches(actual: Any, expected: Any, where: str = "value") -> None:
    """Assert a decoded value equals a tagged JSON value (types of addresses and payload fields too)."""
    if isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected a list, got {actual!r}"
        assert len(actual) == len(expected), f"{where}: length {len(actual)} != {len(expected)}"
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_matches(a, e, f"{where}[{index}]")
        return
    if isinstance(expected, dict):
        (tag, inner), = expected.items()
        if tag == "$payload":
            assert type(actual).__name__ == inner["class"], f"{where}: class {type(actual).__name__}"
            for name, field in inner["fields"].items():
                assert_matches(getattr(actual, name), field, f"{where}.{name}")
            return
        if tag == "$tuple":
            assert isinstance(actual, tuple), f"{where}: expected a tuple, got {actual!r}"
            assert_matches(list(actual), inner, where)
            return
        if tag == "$addr":
            assert type(actual).__name__ == inner[0], f"{where}: {type(actual).__name__} != {inner[0]}"
            assert tuple(actual) == (inner[1], inner[2]), f"{where}: {actual!r} != {inner[1:]}"
            return
        if tag == "$float" and inner == "nan":
            assert isinstance(actual, float) and math.isnan(actual), f"{where}: {actual!r} is not NaN"
            return
        expected_value = decode(expected)
        assert type(actual) is type(expected_value) and actual == expected_value, \
            f"{where}: {actual!r} != {expected_value!r}"
        return
    if isinstance(expected, bool):
        assert actual == expected and isinstance(actual, (bool, int)), f"{where}: {actual!r} != {expected!r}"
        return
    assert actual == expected and type(actual) is type(expected), f"{where}: {actual!r} != {expected!r}"
