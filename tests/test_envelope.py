"""The envelope helpers against every datagram layout in packets.json, on both twins."""
from __future__ import annotations

from types import ModuleType

import pytest

from ipv8fast import PackError
from ipv8fast.envelope import make_prefix

from conftest import load_vectors

pytestmark = pytest.mark.twin_of("envelope")

PACKETS = load_vectors("packets")




def _parts(packet: dict) -> dict[str, bytes]:
    parts: dict[str, bytes] = {"payloads": b""}
    for part in packet["layout"]:
        name = part["part"].split(" ")[0]
        if name in ("prefix", "msg_id", "auth", "signature"):
            parts[name] = bytes.fromhex(part["hex"])
        else:
            parts["payloads"] += bytes.fromhex(part["hex"])
    return parts


def test_prefix_of_the_vector_community() -> None:
    assert make_prefix(bytes.fromhex(PACKETS["community_id"])).hex() == PACKETS["prefix"]


@pytest.mark.parametrize("packet", PACKETS["packets"], ids=lambda p: p["name"])
def test_parse_and_rebuild(twin: ModuleType, packet: dict) -> None:
    data = bytes.fromhex(packet["hex"])
    parts = _parts(packet)
    prefix, msg_id = twin.split_header(data)
    assert prefix == parts["prefix"]
    assert msg_id == parts["msg_id"][0] == packet["decoded"]["msg_id"]
    if packet["signed"]:
        key, offset = twin.read_auth(data)
        assert key == parts["auth"][2:]
        signed, signature = twin.split_signature(data, len(parts["signature"]))
        assert signature == parts["signature"]
        assert signed[offset:] == parts["payloads"]
        assert twin.join_packet(prefix, msg_id, parts["payloads"], key) + signature == data
    else:
        assert twin.join_packet(prefix, msg_id, parts["payloads"]) == data


@pytest.mark.parametrize("bad", [b"", b"\x00" * 22, b"\x00" * 23 + b"\x00", b"\x00" * 23 + b"\x00\x05abc"])
def test_short_datagrams_are_rejected(twin: ModuleType, bad: bytes) -> None:
    with pytest.raises(PackError):
        if len(bad) <= 22:
            twin.split_header(bad)
        else:
            twin.read_auth(bad)


def test_signature_longer_than_the_datagram(twin: ModuleType) -> None:
    with pytest.raises(PackError):
        twin.split_signature(b"\x00" * 40, 64)
