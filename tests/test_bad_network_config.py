"""Bad network configuration fails at start with an error naming the value (nothing is sent anywhere).

192.0.2.1 (TEST-NET-1) is used only as a bind target: it is on no interface of this host.
"""
from __future__ import annotations

import errno
import socket
from collections.abc import Iterator

import pytest

from ipv8fast.configuration import ConfigBuilder, ConfigurationError
from ipv8fast.endpoint import EndpointOpenError, UDPEndpoint, UDPv6Endpoint
from ipv8fast.endpoint_interfaces import DispatcherEndpoint
from ipv8fast.service import IPv8

from _loop import LoopHarness

NOT_ON_THIS_HOST = "192.0.2.1"


@pytest.fixture
def loop() -> Iterator[LoopHarness]:
    harness = LoopHarness(uvloop=True)
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture
def taken_port() -> Iterator[int]:
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", 0))
    try:
        yield holder.getsockname()[1]
    finally:
        holder.close()


def _config(**interface: object) -> dict:
    builder = ConfigBuilder().clear_keys().clear_overlays()
    builder.add_key("me", "curve25519", "")
    config = builder.finalize()
    config["interfaces"] = [{"interface": "UDPIPv4", "ip": "127.0.0.1", "port": 0, **interface}]
    return config


def _start_fails(loop: LoopHarness, config: dict, match: str) -> EndpointOpenError:
    ipv8 = IPv8(config)
    with pytest.raises(EndpointOpenError, match=match) as info:
        loop.run(ipv8.start())
    assert not ipv8.endpoint.is_open()
    loop.run(ipv8.stop())
    return info.value


def test_address_not_on_this_host(loop: LoopHarness) -> None:
    error = _start_fails(loop, _config(ip=NOT_ON_THIS_HOST), f"'{NOT_ON_THIS_HOST}' is not an address of this host")
    assert error.errno == errno.EADDRNOTAVAIL


def test_port_in_use_without_fallback(loop: LoopHarness, taken_port: int) -> None:
    error = _start_fails(loop, _config(port=taken_port, port_fallback=False),
                         f"port {taken_port}: the port is in use and port_fallback is off")
    assert error.errno == errno.EADDRINUSE


def test_port_in_use_with_fallback_takes_the_next(loop: LoopHarness, taken_port: int) -> None:
    endpoint = UDPEndpoint(taken_port, "127.0.0.1")
    loop.run(endpoint.open())
    assert endpoint.get_address()[1] > taken_port
    endpoint.close()


@pytest.mark.parametrize(("ip", "match"), [
    ("lo", "'lo' is the name of a network interface, not an address"),
    ("no-such-interface0", "'no-such-interface0' is not a numeric IPv4 address nor a host name"),
    ("::1", "'::1' is not a numeric IPv4 address"),
])
def test_names_that_are_not_addresses(loop: LoopHarness, ip: str, match: str) -> None:
    if ip == "lo" and "lo" not in {name for _, name in socket.if_nameindex()}:
        pytest.skip("no interface named lo here")
    _start_fails(loop, _config(ip=ip), match)


def test_ipv6_scope_that_is_no_interface(loop: LoopHarness) -> None:
    endpoint = UDPv6Endpoint(0, "fe80::1%nosuchif0")
    with pytest.raises(EndpointOpenError, match="no network interface is named 'nosuchif0'"):
        loop.run(endpoint.open())


def test_bad_socket_option_and_port(loop: LoopHarness) -> None:
    with pytest.raises(EndpointOpenError, match=r"socket option \(1, 99999, 1\) refused"):
        loop.run(UDPEndpoint(0, "127.0.0.1", sockopts=[(1, 99999, 1)]).open())
    with pytest.raises(EndpointOpenError, match="port 70000"):
        loop.run(UDPEndpoint(70000, "127.0.0.1").open())


def test_unknown_interface_name() -> None:
    with pytest.raises(ValueError, match="unknown interface 'UDPIPv5'"):
        DispatcherEndpoint(["UDPIPv5"])
    config = _config()
    config["interfaces"][0]["interface"] = "UDPIPv5"
    with pytest.raises(ConfigurationError, match=r"interfaces\[0\]\.interface.*UDPIPv5"):
        IPv8(config)
    with pytest.raises(ConfigurationError, match=r"interfaces\[0\]\.port_fallback"):
        IPv8(_config(port_fallback="no"))


def test_dispatcher_closes_opened_interfaces_when_one_fails(loop: LoopHarness) -> None:
    endpoint = DispatcherEndpoint(["UDPIPv4", "UDPIPv6"], UDPIPv4={"ip": "127.0.0.1", "port": 0},
                                  UDPIPv6={"ip": "fe80::1%nosuchif0", "port": 0})
    with pytest.raises(EndpointOpenError, match="nosuchif0"):
        loop.run(endpoint.open())
    assert not endpoint.interfaces["UDPIPv4"].is_open()
