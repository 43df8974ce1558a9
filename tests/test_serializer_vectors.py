"""Every case of serializer.json and payloads.json, byte for byte, on both serializer twins.

Strictness (DESIGN.md "Decisions on py-ipv8's quirks"): inputs that py-ipv8 accepts only by reading past
the end of the buffer or of a nested window are rejected with PackError here.
"""
from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from ipv8fast import PackError, VariablePayload

from conftest import load_vectors
from payload_classes import CLASSES, make_payload
from vector_values import assert_matches, decode

pytestmark = pytest.mark.twin_of("serializer")

SERIALIZER = load_vectors("serializer")
PAYLOADS = load_vectors("payloads")




@pytest.fixture
def serializer(twin: ModuleType) -> Any:
    return twin.Serializer()


def _cases(section: str) -> list:
    params = []
    for code, spec in SERIALIZER["formats"].items():
        for index, case in enumerate(spec[section]):
            params.append(pytest.param(code, case, id=f"{code}-{index}"))
    return params


def _extra(case: dict) -> tuple:
    return (CLASSES[case["payload_class"]],) if "payload_class" in case else ()


def _one_field_class(code: str, case: dict) -> type:
    entry: Any = code
    if code == "payload":
        entry = CLASSES[case["payload_class"]]
    elif code == "payload-list":
        entry = [CLASSES[case["payload_class"]]]
    return type("OneField", (VariablePayload,), {"format_list": [entry], "names": ["value"]})


def _runs_past_end(case: dict) -> bool:
    """py-ipv8 accepted this only leniently: a length ran past the buffer or past the nested window."""
    return case["new_offset"] > len(bytes.fromhex(case["hex"])) or "silently short" in case.get("note", "")


def test_every_format_has_vectors() -> None:
    assert sorted(SERIALIZER["formats"]) == sorted(SERIALIZER["all_format_codes"])


def test_default_formats_in_registration_order(serializer: Any) -> None:
    assert serializer.get_available_formats() == SERIALIZER["all_format_codes"]


@pytest.mark.parametrize(("code", "case"), _cases("cases"))
def test_pack(serializer: Any, code: str, case: dict) -> None:
    args = decode(case["args"], make_payload)
    assert serializer.get_packer_for(code).pack(*args).hex() == case["hex"]


@pytest.mark.parametrize(("code", "case"), _cases("cases"))
def test_unpack(serializer: Any, code: str, case: dict) -> None:
    out: list = []
    offset = serializer.get_packer_for(code).unpack(bytes.fromhex(case["hex"]), 0, out, *_extra(case))
    assert offset == case["consumed"]
    assert_matches(out, case["unpacked"])


@pytest.mark.parametrize(("code", "case"), _cases("cases"))
def test_round_trip_as_payload_field(serializer: Any, code: str, case: dict) -> None:
    if len(case["args"]) != 1:
        pytest.skip("multi-value codes cannot be packed from a declarative payload")
    cls = _one_field_class(code, case)
    data = serializer.pack_serializable(cls(decode(case["args"][0], make_payload)))
    assert data.hex() == case["hex"]
    obj, offset = serializer.unpack_serializable(cls, data)
    assert offset == case["consumed"]
    assert_matches([obj.value], case["unpacked"][:1])


@pytest.mark.parametrize(("code", "case"), _cases("unpack_cases"))
def test_unpack_cases(serializer: Any, code: str, case: dict) -> None:
    data = bytes.fromhex(case["hex"])
    packer = serializer.get_packer_for(code)
    out: list = []
    if _runs_past_end(case):
        with pytest.raises(PackError):
            packer.unpack(data, case["offset"], out, *_extra(case))
        return
    assert packer.unpack(data, case["offset"], out, *_extra(case)) == case["new_offset"]
    assert_matches(out, case["unpacked"])


@pytest.mark.parametrize(("code", "case"), _cases("unpack_errors"))
def test_unpack_errors(serializer: Any, code: str, case: dict) -> None:
    data = bytes.fromhex(case["hex"])
    with pytest.raises(PackError):
        serializer.get_packer_for(code).unpack(data, case["offset"], [], *_extra(case))
    if case["offset"] == 0:
        with pytest.raises(PackError):
            serializer.unpack_serializable(_one_field_class(code, case), data)


@pytest.mark.parametrize(("code", "case"), _cases("pack_errors"))
def test_pack_errors(serializer: Any, code: str, case: dict) -> None:
    args = decode(case["args"], make_payload)
    with pytest.raises(PackError):
        serializer.get_packer_for(code).pack(*args)
    if len(args) == 1:
        with pytest.raises(PackError):
            serializer.pack_serializable(_one_field_class(code, case)(args[0]))


# --- payloads.json ----------------------------------------------------------------------------------------

def _format_entry(entry: Any) -> Any:
    if isinstance(entry, dict):
        if "nested" in entry:
            return CLASSES[entry["nested"]]
        return [CLASSES[entry["nested_list"]]]
    return entry


@pytest.mark.parametrize("name", [n for n in PAYLOADS["classes"] if n != "MultiStruct"])
def test_classes_match_the_vector_definitions(name: str) -> None:
    spec = PAYLOADS["classes"][name]
    cls = CLASSES[name]
    cls(**{n: None for n in spec["names"]}) if spec["kind"] == "dataclass" else None  # converts a dataclass
    assert cls.format_list == [_format_entry(e) for e in spec["format_list"]]
    assert list(cls.names) == spec["names"]
    assert getattr(cls, "msg_id", None) == spec["msg_id"]


@pytest.mark.parametrize("case", PAYLOADS["cases"], ids=lambda c: c["class"])
def test_payload_case(serializer: Any, case: dict) -> None:
    cls = CLASSES[case["class"]]
    obj = cls(**{k: decode(v, make_payload) for k, v in case["values"].items()})
    data = serializer.pack_serializable(obj)
    assert data.hex() == case["hex"]
    for parsed in (serializer.unpack_serializable(cls, data)[0],
                   serializer.unpack_serializable_list([cls], data)[0]):
        for field, expected in case["unpacked"].items():
            assert_matches(getattr(parsed, field), expected, field)


def test_multi_struct(serializer: Any) -> None:
    spec = PAYLOADS["multi_struct"]
    cls = CLASSES["MultiStruct"]
    values = [tuple(decode(v)) for v in spec["values_in_format_order"]]
    data = serializer.pack_serializable(cls(*values))
    assert data.hex() == spec["hex"]
    parsed, offset = serializer.unpack_serializable(cls, data)
    assert offset == len(data)
    assert_matches(list(parsed.values), spec["unpacked_in_format_order"])


@pytest.mark.parametrize("case", PAYLOADS["errors"], ids=lambda c: f"{c['class']}-{c.get('note', '')[:30]}")
def test_payload_errors(serializer: Any, case: dict) -> None:
    cls = CLASSES[case["class"]]
    with pytest.raises(PackError):
        if "hex" in case:
            serializer.unpack_serializable_list([cls], bytes.fromhex(case["hex"]))
        else:
            serializer.pack_serializable(cls(**{k: decode(v, make_payload) for k, v in case["values"].items()}))


@pytest.mark.parametrize("case", PAYLOADS["lenient"], ids=lambda c: c["class"])
def test_lenient_inputs(serializer: Any, case: dict) -> None:
    cls = CLASSES[case["class"]]
    data = bytes.fromhex(case["hex"])
    if case["returned_offset"] > len(data):
        with pytest.raises(PackError):
            serializer.unpack_serializable_list([cls], data)
        return
    parsed = serializer.unpack_serializable_list([cls], data)[0]
    for field, expected in case["unpacked"].items():
        assert_matches(getattr(parsed, field), expected, field)


# --- built-in protocol payloads (payloads.json "builtin") ---------------------------------------------------

def _builtin_class(name: str) -> type:
    from ipv8fast import discovery_payloads, messages

    return getattr(messages, name, None) or getattr(discovery_payloads, name)


@pytest.mark.parametrize("case", PAYLOADS["builtin"], ids=lambda c: c["class"])
def test_builtin_payload(serializer: Any, case: dict) -> None:
    cls = _builtin_class(case["class"])
    assert getattr(cls, "msg_id", None) == case["msg_id"]
    assert cls.format_list == case["format_list"]
    if "constructor_kwargs" in case:
        obj = cls(**{k: decode(v) for k, v in case["constructor_kwargs"].items()})
    else:
        obj = cls(*decode(case["constructor_args"]))
    data = serializer.pack_serializable(obj)
    assert data.hex() == case["hex"]
    parsed = serializer.unpack_serializable_list([cls], data)[0]
    for field, expected in case["attributes_after_unpack"].items():
        assert_matches(getattr(parsed, field), expected, field)
