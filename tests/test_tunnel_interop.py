"""Two-hop tunnel circuits that carry data across the two implementations, on 127.0.0.1 only.

py-ipv8's TunnelCommunity runs on ipv8fast's core in this process (hybrid alias) and on the real py-ipv8 in a
subprocess (``tunnel_node.py``, with its loopback guard). Four small networks, each around its own local
tracker so that a circuit's path is fixed (one relay-only node, one BitTorrent exit):

=======  =============  =============  =============
network  initiator      relay          exit
=======  =============  =============  =============
A        ipv8fast       py-ipv8        ipv8fast
B        ipv8fast       py-ipv8        py-ipv8
C        py-ipv8        ipv8fast       py-ipv8
D        py-ipv8        ipv8fast       ipv8fast
=======  =============  =============  =============

Each initiator builds a 2-hop circuit (create / created / extend / extended over both cores), sends a UDP
datagram through it and the exit to an echo socket on 127.0.0.1, and gets the echo back through the circuit.

Why py-ipv8 needs ``get_providers().clear()`` here: bound to 127.0.0.1, a py-ipv8 node still advertises the
host's LAN address in its introductions; the tracker passes it on, and since everyone shares the WAN address
127.0.0.1, py-ipv8 walks to the LAN address, where nobody listens. No introduction response ever carries the
peer flags, so no relay or exit candidate is learned (what an earlier attempt saw). The guard clears the
providers, as py-ipv8's own TestBase does.
"""
from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from ipv8fast.endpoint import UDPEndpoint
from ipv8fast.tracker import Tracker

from _loop import LoopHarness

pytest.importorskip("ipv8", reason="pyipv8 (the reference implementation) is a test dependency")

pytestmark = pytest.mark.slow

NODE_SCRIPT = Path(__file__).parent / "tunnel_node.py"
RELAY, EXIT_BT = 1, 2  # PEER_FLAG_RELAY, PEER_FLAG_EXIT_BT (py-ipv8's tunnel.py)
ROLES = {"init": [], "relay": [RELAY], "exit": [RELAY, EXIT_BT]}
#: network -> the implementation of (initiator, relay, exit)
NETWORKS = {"A": ("ipv8fast", "ipv8", "ipv8fast"), "B": ("ipv8fast", "ipv8", "ipv8"),
            "C": ("ipv8", "ipv8fast", "ipv8"), "D": ("ipv8", "ipv8fast", "ipv8fast")}
TIMEOUT = 15.0  # per circuit (all four run at once): candidates, building, the round trip


class Echo(asyncio.DatagramProtocol):
    """A UDP socket on 127.0.0.1 that sends every datagram back to where it came from."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, address: Any) -> None:
        self.received.append(data)
        self.transport.sendto(data, address)


def _data(network: str) -> bytes:
    import tunnel_node

    return tunnel_node.DATA_MARKER + f"network {network}: {' -> '.join(NETWORKS[network])}".encode()


def test_two_hop_circuits_across_implementations(hybrid: None) -> None:
    import tunnel_node

    tunnel_node.guard_loopback(udp=False)  # this process: ipv8fast's endpoints are guarded by conftest
    harness = LoopHarness()

    async def scenario() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], list[bytes], list[Any]]:
        loop = asyncio.get_running_loop()
        echo_transport, echo = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        echo_port = echo_transport.get_extra_info("sockname")[1]
        trackers = {}
        for network in NETWORKS:
            endpoint = UDPEndpoint(0, "127.0.0.1")
            await endpoint.open()
            trackers[network] = Tracker(endpoint)
            trackers[network].start()
        specs: dict[str, list[dict[str, Any]]] = {"ipv8": [], "ipv8fast": []}
        for network, impls in NETWORKS.items():
            for (role, flags), impl in zip(ROLES.items(), impls, strict=True):
                specs[impl].append({"name": network + role, "flags": flags,
                                    "tracker": trackers[network].endpoint.get_address()[1]})
        process = await asyncio.create_subprocess_exec(sys.executable, str(NODE_SCRIPT), json.dumps(specs["ipv8"]),
                                                       stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert process.stdin is not None and process.stdout is not None
        stdin, stdout = process.stdin, process.stdout
        ours: dict[str, Any] = {}

        async def call(**command: Any) -> dict[str, Any]:
            stdin.write((json.dumps(command) + "\n").encode())
            await stdin.drain()
            line = await asyncio.wait_for(stdout.readline(), 2 * TIMEOUT)
            assert line, "the py-ipv8 process exited"
            return json.loads(line)

        async def ours_round_trip(network: str) -> dict[str, Any]:
            return await tunnel_node.wait_and_round_trip(ours[network + "init"], 1, 1, 2, echo_port, _data(network),
                                                         TIMEOUT)

        async def theirs_round_trips() -> dict[str, dict[str, Any]]:
            runs = {network: {"node": network + "init", "relays": 1, "exits": 1, "hops": 2, "echo": echo_port,
                              "data": _data(network).hex()} for network in ("C", "D")}
            return await call(cmd="circuits", runs=runs, timeout=TIMEOUT)

        try:
            line = await asyncio.wait_for(stdout.readline(), 30)
            assert line, "the py-ipv8 process did not start"
            described = json.loads(line)
            ours = await tunnel_node.start_nodes(specs["ipv8fast"])
            described.update({name: tunnel_node.describe(node) for name, node in ours.items()})
            first, second, theirs = await asyncio.gather(ours_round_trip("A"), ours_round_trip("B"),
                                                         theirs_round_trips())
            results = {"A": first, "B": second, **theirs}
            status = await call(cmd="status")
            after = {**status["nodes"], **{name: tunnel_node.describe(node) for name, node in ours.items()}}
            for name, keys in described.items():
                after[name]["key"] = keys["key"]
            return results, after, list(echo.received), status["leaks"] + tunnel_node.leaks()
        finally:
            await tunnel_node.stop_nodes(ours)
            if process.returncode is None:
                try:
                    stdin.write(b'{"cmd": "quit"}\n')
                    await asyncio.wait_for(process.wait(), 15)
                except (asyncio.TimeoutError, ConnectionError):
                    process.kill()
                    await process.wait()
            for tracker in trackers.values():
                await tracker.stop()
                tracker.endpoint.close()
            echo_transport.close()

    try:
        results, nodes, echoed, leaked = harness.run(scenario(), timeout=60)
    finally:
        harness.close()
    assert leaked == []
    cores = {"ipv8": "ipv8_service", "ipv8fast": "ipv8fast.service"}  # the real py-ipv8 / ipv8fast under the alias
    for network, impls in NETWORKS.items():
        assert [nodes[network + role]["core"] for role in ROLES] == [cores[impl] for impl in impls]
    for network, result in results.items():
        where = f"network {network} ({' -> '.join(NETWORKS[network])})"
        assert result["candidates_found"], f"{where}: no relay/exit candidate learned: {result}"
        assert result["state"] == "READY", f"{where}: circuit not ready: {result}"
        assert result["hops"] == [nodes[network + "relay"]["key"], nodes[network + "exit"]["key"]], where
        assert bytes.fromhex(result["reply"] or "") == _data(network), f"{where}: no echo came back: {result}"
        assert result["origin"][0] == "127.0.0.1" and result["same_circuit"], where
        assert nodes[network + "relay"]["relays"] == 2, f"{where}: the relay holds no route"  # both directions
        assert nodes[network + "exit"]["exit_sockets"] == 1, f"{where}: the exit holds no exit socket"
        assert nodes[network + "exit"]["exit_bytes"] == 2 * len(_data(network)), where  # out and back in
    assert sorted(echoed) == sorted(_data(network) for network in NETWORKS)
