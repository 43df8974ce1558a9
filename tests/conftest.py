"""Shared fixtures: the twin implementations, the py-ipv8 test vectors, the hybrid alias, loopback-only traffic."""
from __future__ import annotations

import ipaddress
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ipv8fast._core import twins

from _hybrid import pop_real_pyipv8

VECTORS = Path(__file__).parent / "vectors"


def load_vectors(name: str) -> dict[str, Any]:
    """Load ``tests/vectors/<name>.json`` (a copy of ../shared/vectors, refreshed when shared changes)."""
    with open(VECTORS / f"{name}.json", encoding="utf-8") as handle:
        return json.load(handle)


# --- the twins: a test module says ``pytestmark = pytest.mark.twin_of("serializer")`` and takes ``twin`` ------

def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "twin_of(name): the `twin` fixture yields each twin of ipv8fast._core.<name>")


def twin_params(name: str) -> list[Any]:
    """pytest params for both twins of ``ipv8fast._core.<name>_{c,py}``; the compiled one is skipped while
    IPV8FAST_NO_EXTENSIONS is set (and when it is not built, unless IPV8FAST_REQUIRE_EXTENSIONS is set)."""
    params = []
    for suffix in ("c", "py"):
        marks = []
        if suffix == "c" and twins.NO_EXTENSIONS:
            marks.append(pytest.mark.skip(reason="IPV8FAST_NO_EXTENSIONS is set"))
        params.append(pytest.param(f"ipv8fast._core.{name}_{suffix}", id=suffix, marks=marks))
    return params


def import_twin(dotted: str) -> ModuleType:
    import importlib

    try:
        return importlib.import_module(dotted)
    except ImportError as exc:
        if twins.REQUIRE_EXTENSIONS:
            raise
        pytest.skip(f"{dotted} is not built: {exc}")


#: fixtures built on `twin` that imply which pair it is
_IMPLIED_PAIRS = {"receive_twin": "receive", "send_twin": "send"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "twin" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("twin_of")
        implied = [pair for fixture, pair in _IMPLIED_PAIRS.items() if fixture in metafunc.fixturenames]
        assert marker is not None or len(implied) == 1, \
            f"{metafunc.definition.nodeid} takes `twin` but has no twin_of marker"
        metafunc.parametrize("twin", twin_params(marker.args[0] if marker else implied[0]), indirect=True)


@pytest.fixture
def twin(request: pytest.FixtureRequest) -> ModuleType:
    """One twin (compiled, then pure) of the module named by the test's ``twin_of`` marker."""
    return import_twin(request.param)


# --- the receive and send paths of every Community, on either twin -------------------------------------------

@pytest.fixture
def receive_twin(twin: ModuleType, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The receive path (listener notification, Community dispatch, datagram opening) of one twin."""
    from ipv8fast import lazy
    from ipv8fast.community import Community
    from ipv8fast.endpoint import Endpoint

    monkeypatch.setattr(lazy, "open_signed", twin.open_signed)
    monkeypatch.setattr(lazy, "open_unsigned", twin.open_unsigned)
    monkeypatch.setattr(lazy, "_peer_for", twin.peer_for)
    monkeypatch.setattr(Community, "on_packet", twin.dispatch)
    monkeypatch.setattr(Endpoint, "notify_listeners", twin.notify_listeners)
    return twin


@pytest.fixture
def send_twin(twin: ModuleType, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The send path (``ezr_pack`` / ``ez_send``) of one twin."""
    from ipv8fast.lazy import EZPackOverlay

    twin.set_default_ez_pack(EZPackOverlay._ez_pack)
    monkeypatch.setattr(EZPackOverlay, "ezr_pack", twin.ezr_pack)
    monkeypatch.setattr(EZPackOverlay, "ez_send", twin.ez_send)
    return twin


# --- network safety: tests send only to the loopback range ----------------------------------------------------

_OFF_LOOPBACK: list[Any] = []


def _is_loopback(address: Any) -> bool:
    try:
        return ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
    except (ValueError, TypeError, IndexError):
        return False


@pytest.fixture(autouse=True)
def only_loopback_traffic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Drop, and fail the test for, any datagram an ipv8fast endpoint would send off the loopback range."""
    from ipv8fast import udp_endpoint

    original = udp_endpoint.UDPEndpoint.send

    def guarded_send(self: Any, socket_address: Any, packet: bytes) -> None:
        if not _is_loopback(socket_address):
            _OFF_LOOPBACK.append(socket_address)
            return
        original(self, socket_address, packet)

    monkeypatch.setattr(udp_endpoint.UDPEndpoint, "send", guarded_send)
    _OFF_LOOPBACK.clear()
    yield
    leaked, _OFF_LOOPBACK[:] = list(_OFF_LOOPBACK), []
    assert not leaked, f"the test tried to send off the loopback range to {sorted(set(map(tuple, leaked)))}"


# --- the hybrid alias: py-ipv8's upper layers on ipv8fast's core, for one test ------------------------------

@pytest.fixture
def hybrid() -> Iterator[None]:
    """``ipv8fast.compat`` installed for the test (py-ipv8's modules imported before are set aside meanwhile)."""
    from ipv8fast import compat

    saved = pop_real_pyipv8()
    compat.install()
    yield
    compat.uninstall()
    sys.modules.update(saved)
