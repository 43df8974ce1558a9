"""TunnelCommunity nodes on 127.0.0.1, written once against py-ipv8's API and run on either core.

``python tunnel_node.py SPEC_JSON`` runs the nodes of SPEC_JSON (``[{"name", "flags", "tracker"}, ...]``) on the
*real* py-ipv8 in this process, driven by JSON lines on stdin (``circuits``, ``status``, ``quit``) with JSON lines
on stdout; the test process imports the same functions under ipv8fast's hybrid alias. Every node is an IPv8
service with one TunnelCommunity overlay bootstrapping from a local tracker on 127.0.0.1 only.

Loopback guard (both processes): a tunnel exit refuses destinations off 127.0.0.0/8, and in the py-ipv8
process every UDP endpoint drops datagrams aimed off loopback and LAN address discovery is off, so nothing
leaves the machine even if an address were learned wrongly. ``leaks()`` lists what the guard dropped.
"""
from __future__ import annotations

import asyncio
import ipaddress
import json
import sys
import threading
from typing import Any

#: Datagrams the guard dropped: [where, host, port].
_LEAKS: list[list[Any]] = []

#: The first four bytes make a datagram look like a UDP tracker packet (action 1), which a BitTorrent exit
#: (PEER_FLAG_EXIT_BT) lets out and back in; the initiator then gets it in ``on_raw_data``.
DATA_MARKER = b"\x00\x00\x00\x01"


def _loopback(address: Any) -> bool:
    try:
        return ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
    except (ValueError, TypeError, IndexError):
        return False


def leaks() -> list[list[Any]]:
    """What the loopback guard dropped so far."""
    return list(_LEAKS)


def guard_loopback(udp: bool) -> None:
    """Drop tunnel-exit datagrams aimed off loopback; with ``udp`` also every UDP endpoint's (py-ipv8 process)."""
    from ipv8.messaging.anonymization.exit_socket import TunnelExitSocket

    exit_send = TunnelExitSocket.sendto

    def exit_sendto(self: Any, data: bytes, destination: Any) -> None:
        if not _loopback(destination):
            _LEAKS.append(["exit", *list(destination)[:2]])
            return
        exit_send(self, data, destination)

    TunnelExitSocket.sendto = exit_sendto  # type: ignore[method-assign]
    if not udp:
        return
    from ipv8.messaging.interfaces.lan_addresses.interfaces import get_providers
    from ipv8.messaging.interfaces.udp import endpoint

    get_providers().clear()  # bound to loopback: never advertise the host's LAN address
    for cls in {endpoint.UDPEndpoint, endpoint.UDPv6Endpoint}:
        original = cls.send

        def send(self: Any, socket_address: Any, packet: bytes, _original: Any = original) -> None:
            if not _loopback(socket_address):
                _LEAKS.append(["udp", *list(socket_address)[:2]])
                return
            _original(self, socket_address, packet)

        cls.send = send  # type: ignore[method-assign]


def configuration(flags: list[int], tracker_port: int) -> dict[str, Any]:
    """An IPv8 configuration: one TunnelCommunity with ``flags`` on 127.0.0.1, bootstrapping from the tracker."""
    from ipv8.configuration import ConfigBuilder

    builder = ConfigBuilder().clear_keys().clear_overlays().set_address("127.0.0.1").set_port(0)
    builder.set_walker_interval(0.1).add_ephemeral_key("me")
    config = builder.finalize()
    config["overlays"] = [{
        "class": "TunnelCommunity", "key": "me",
        "walkers": [{"strategy": "RandomWalk", "peers": 20, "init": {"timeout": 1.0}}],
        "bootstrappers": [{"class": "DispersyBootstrapper",
                           "init": {"ip_addresses": [("127.0.0.1", tracker_port)], "dns_addresses": [],
                                    "bootstrap_timeout": 5.0}}],
        "initialize": {"min_circuits": 0, "max_circuits": 1, "peer_flags": set(flags), "remove_tunnel_delay": 0},
        "on_start": [],
    }]
    return config


async def start_nodes(specs: list[dict[str, Any]]) -> dict[str, Any]:
    """Start one IPv8 service per spec (``name``, ``flags``, ``tracker``); returns name -> IPv8."""
    from ipv8_service import IPv8

    nodes = {}
    for spec in specs:
        node = IPv8(configuration(spec["flags"], spec["tracker"]))
        await node.start()
        nodes[spec["name"]] = node
    return nodes


def tunnel(node: Any) -> Any:
    """The TunnelCommunity of an IPv8 service."""
    from ipv8.messaging.anonymization.community import TunnelCommunity

    return node.get_overlay(TunnelCommunity)


def describe(node: Any) -> dict[str, Any]:
    """Core (the IPv8 class's module), port, public key (hex), learned candidates (port -> flags), circuits, relays
    and exit sockets."""
    overlay = tunnel(node)
    return {"core": type(node).__module__, "port": overlay.endpoint.get_address()[1],
            "key": overlay.my_peer.public_key.key_to_bin().hex(),
            "candidates": {str(peer.address[1]): sorted(flags) for peer, flags in overlay.candidates.items()},
            "circuits": len(overlay.circuits), "relays": len(overlay.relay_from_to),
            "exit_sockets": len(overlay.exit_sockets),
            "exit_bytes": sum(socket.bytes_up + socket.bytes_down for socket in overlay.exit_sockets.values())}


async def wait_for_candidates(node: Any, relays: int, exits: int, timeout: float) -> bool:
    """Until ``node`` knows ``relays`` relay-only and ``exits`` BitTorrent-exit candidates (or ``timeout``)."""
    from ipv8.messaging.anonymization.tunnel import PEER_FLAG_EXIT_BT, PEER_FLAG_RELAY

    overlay = tunnel(node)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        exit_peers = overlay.get_candidates(PEER_FLAG_EXIT_BT)
        relay_peers = [peer for peer in overlay.get_candidates(PEER_FLAG_RELAY) if peer not in exit_peers]
        if len(exit_peers) >= exits and len(relay_peers) >= relays:
            return True
        await asyncio.sleep(0.05)
    return False


async def circuit_round_trip(node: Any, hops: int, echo_port: int, data: bytes, timeout: float) -> dict[str, Any]:
    """Build a ``hops``-hop circuit to a BitTorrent exit, send ``data`` through it to 127.0.0.1:``echo_port`` and
    wait for the echo to come back through the circuit. Returns the circuit's state, its hops' public keys (hex)
    and the reply (hex, or None)."""
    from ipv8.messaging.anonymization.tunnel import CIRCUIT_STATE_READY, PEER_FLAG_EXIT_BT

    overlay = tunnel(node)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    replies: asyncio.Queue = asyncio.Queue()
    overlay.on_raw_data = lambda circuit, origin, raw: replies.put_nowait((circuit.circuit_id, list(origin), raw))
    circuit = overlay.create_circuit(hops, exit_flags=[PEER_FLAG_EXIT_BT])
    result: dict[str, Any] = {"state": None if circuit is None else circuit.state, "hops": [], "reply": None}
    if circuit is None:
        return result
    while circuit.state != CIRCUIT_STATE_READY and loop.time() < deadline:
        await asyncio.sleep(0.05)
    result.update(state=circuit.state, hops=[hop.public_key_bin.hex() for hop in circuit.hops])
    if circuit.state != CIRCUIT_STATE_READY:
        return result
    overlay.send_data(circuit.hop.address, circuit.circuit_id, ("127.0.0.1", echo_port), ("0.0.0.0", 0), data)
    try:
        circuit_id, origin, raw = await asyncio.wait_for(replies.get(), max(0.1, deadline - loop.time()))
    except asyncio.TimeoutError:
        return result
    result.update(reply=raw.hex(), origin=origin, same_circuit=circuit_id == circuit.circuit_id)
    return result


async def stop_nodes(nodes: dict[str, Any]) -> None:
    for node in nodes.values():
        await node.stop()


async def wait_and_round_trip(node: Any, relays: int, exits: int, hops: int, echo_port: int, data: bytes,
                              timeout: float) -> dict[str, Any]:
    """:func:`wait_for_candidates`, then :func:`circuit_round_trip`; ``candidates_found`` tells the first."""
    found = await wait_for_candidates(node, relays, exits, timeout)
    result = await circuit_round_trip(node, hops, echo_port, data, timeout)
    return {**result, "candidates_found": found}


async def _round_trip(nodes: dict[str, Any], run: dict[str, Any], timeout: float) -> dict[str, Any]:
    return await wait_and_round_trip(nodes[run["node"]], run["relays"], run["exits"], run["hops"], run["echo"],
                                     bytes.fromhex(run["data"]), timeout)


async def serve(specs: list[dict[str, Any]]) -> None:
    """The py-ipv8 process: start the nodes, then answer commands until ``quit`` (or 60 s of silence)."""
    guard_loopback(udp=True)
    nodes = await start_nodes(specs)
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue = asyncio.Queue()

    def reader() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(commands.put_nowait, json.loads(line))
        loop.call_soon_threadsafe(commands.put_nowait, {"cmd": "quit"})

    threading.Thread(target=reader, daemon=True).start()
    print(json.dumps({name: describe(node) for name, node in nodes.items()}), flush=True)
    try:
        while True:
            try:
                command = await asyncio.wait_for(commands.get(), 60.0)
            except asyncio.TimeoutError:
                break
            kind = command["cmd"]
            if kind == "quit":
                break
            if kind == "circuits":  # several at once: {"runs": {label: {node, relays, exits, hops, echo, data}}}
                labels = list(command["runs"])
                done = await asyncio.gather(*(_round_trip(nodes, command["runs"][label], command["timeout"])
                                              for label in labels))
                answer = dict(zip(labels, done, strict=True))
            else:
                answer = {"nodes": {name: describe(node) for name, node in nodes.items()}, "leaks": leaks()}
            print(json.dumps(answer), flush=True)
    finally:
        await stop_nodes(nodes)


if __name__ == "__main__":
    asyncio.run(serve(json.loads(sys.argv[1])))
