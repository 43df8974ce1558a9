"""Three IPv8 services on 127.0.0.1 running py-ipv8's default overlays (DiscoveryCommunity,
HiddenTunnelCommunity, DHTDiscoveryCommunity) on ipv8fast's core through the hybrid alias, around a local
tracker: every node finds the other two in every overlay, and a value stored in the DHT is found again.
The default configuration's public trackers are replaced by the local one before anything starts."""
from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from ipv8fast.endpoint import UDPEndpoint
from ipv8fast.tracker import Tracker

from _loop import LoopHarness

pytestmark = pytest.mark.slow


def _local_configuration(tracker_port: int) -> dict[str, Any]:
    """py-ipv8's default configuration, on loopback, with every bootstrapper aimed at the local tracker."""
    from ipv8.configuration import ConfigBuilder, get_default_configuration

    config = get_default_configuration()
    config["interfaces"] = [{"interface": "UDPIPv4", "ip": "127.0.0.1", "port": 0}]
    config["keys"] = ConfigBuilder().clear_keys().add_ephemeral_key("anonymous id").finalize()["keys"]
    config["walker_interval"] = 0.1
    for block in config["overlays"]:
        block["bootstrappers"] = [{"class": "DispersyBootstrapper",
                                   "init": {"ip_addresses": [("127.0.0.1", tracker_port)], "dns_addresses": [],
                                            "bootstrap_timeout": 5.0}}]
        for walker in block["walkers"]:
            if walker["strategy"] == "RandomWalk":
                walker["init"] = {**walker["init"], "timeout": 1.0}
    return copy.deepcopy(config)


def test_default_overlays_and_dht_on_three_nodes(hybrid: None) -> None:
    from ipv8.dht.discovery import DHTDiscoveryCommunity
    from ipv8.messaging.anonymization.hidden_services import HiddenTunnelCommunity
    from ipv8.peerdiscovery.community import DiscoveryCommunity
    from ipv8_service import IPv8

    harness = LoopHarness()
    kinds = (DiscoveryCommunity, HiddenTunnelCommunity, DHTDiscoveryCommunity)

    async def scenario() -> tuple[list[list[int]], list[bytes]]:
        tracker_endpoint = UDPEndpoint(0, "127.0.0.1")
        await tracker_endpoint.open()
        tracker = Tracker(tracker_endpoint)
        tracker.start()
        nodes = [IPv8(_local_configuration(tracker_endpoint.get_address()[1])) for _ in range(3)]
        try:
            for node in nodes:
                assert [type(overlay) for overlay in node.overlays] == list(kinds)
                await node.start()
            for _ in range(300):
                if all(len(node.get_overlay(kind).get_peers()) == 2 for node in nodes for kind in kinds):
                    break
                await asyncio.sleep(0.05)
            seen = [[len(node.get_overlay(kind).get_peers()) for kind in kinds] for node in nodes]
            writer, reader = (node.get_overlay(DHTDiscoveryCommunity) for node in nodes[:2])
            await writer.store_value(b"k" * 20, b"stored on ipv8fast")
            found = [value for value, _ in await reader.find_values(b"k" * 20)]
            return seen, found
        finally:
            for node in nodes:
                await node.stop()
            await tracker.stop()
            tracker_endpoint.close()

    try:
        seen, found = harness.run(scenario(), timeout=60)
    finally:
        harness.close()
    assert seen == [[2, 2, 2]] * 3
    assert found == [b"stored on ipv8fast"]


def test_one_hop_circuit_over_loopback_udp(hybrid: None) -> None:
    """A TunnelCommunity circuit built over real UDP on 127.0.0.1: introduction callbacks carry the exit flag,
    the create/created handshake runs the key exchange, cells travel as raw ``_ez_pack(b"", ...)`` messages."""
    from ipv8.configuration import ConfigBuilder
    from ipv8.messaging.anonymization.community import TunnelCommunity
    from ipv8.messaging.anonymization.tunnel import (
        CIRCUIT_STATE_READY,
        PEER_FLAG_EXIT_IPV8,
        PEER_FLAG_RELAY,
        PEER_FLAG_SPEED_TEST,
    )
    from ipv8_service import IPv8

    def configuration(tracker_port: int, exit_node: bool) -> dict[str, Any]:
        flags = {PEER_FLAG_RELAY, PEER_FLAG_SPEED_TEST} | ({PEER_FLAG_EXIT_IPV8} if exit_node else set())
        builder = ConfigBuilder().clear_keys().clear_overlays().set_address("127.0.0.1").set_port(0)
        builder.set_walker_interval(0.1).add_ephemeral_key("me")
        config = builder.finalize()
        config["overlays"] = [{
            "class": "TunnelCommunity", "key": "me",
            "walkers": [{"strategy": "RandomWalk", "peers": 20, "init": {"timeout": 1.0}}],
            "bootstrappers": [{"class": "DispersyBootstrapper",
                               "init": {"ip_addresses": [("127.0.0.1", tracker_port)], "dns_addresses": []}}],
            "initialize": {"min_circuits": 0, "max_circuits": 1, "peer_flags": flags, "remove_tunnel_delay": 0},
            "on_start": [],
        }]
        return config

    harness = LoopHarness()

    async def scenario() -> tuple[str, list[int]]:
        tracker_endpoint = UDPEndpoint(0, "127.0.0.1")
        await tracker_endpoint.open()
        tracker = Tracker(tracker_endpoint)
        tracker.start()
        port = tracker_endpoint.get_address()[1]
        nodes = [IPv8(configuration(port, exit_node)) for exit_node in (False, True)]
        try:
            for node in nodes:
                await node.start()
            client, exit_overlay = (node.get_overlay(TunnelCommunity) for node in nodes)
            for _ in range(200):
                if client.get_candidates(PEER_FLAG_EXIT_IPV8):
                    break
                await asyncio.sleep(0.05)
            circuit = client.create_circuit(1, exit_flags=[PEER_FLAG_EXIT_IPV8])
            assert circuit is not None, "no exit candidate was learned from the introductions"
            for _ in range(200):
                if circuit.state == CIRCUIT_STATE_READY:
                    break
                await asyncio.sleep(0.05)
            return circuit.state, list(exit_overlay.exit_sockets)
        finally:
            for node in nodes:
                await node.stop()
            await tracker.stop()
            tracker_endpoint.close()

    try:
        state, exit_circuits = harness.run(scenario(), timeout=60)
    finally:
        harness.close()
    assert state == CIRCUIT_STATE_READY and len(exit_circuits) == 1
