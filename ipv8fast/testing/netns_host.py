"""One emulated host of :mod:`ipv8fast.testing.netns`: a script, never imported, started inside a network
namespace with ``implementations.script_command(path, CONFIG_JSON)``. A py-ipv8 host never imports the
ipv8fast package (fair CPU figures): it loads ``implementations.py`` and ``impairment.py`` by path.

CONFIG (JSON): ``role`` ("tracker" or "peers"), ``impl`` ("ipv8" or "ipv8fast"), ``ip`` (this host's
address), ``tracker`` ([ip, port], peers only), ``peers`` (node count), ``impairment`` ({loss, delay,
jitter, seed}: applied to every endpoint of this host, see impairment.py), ``churn`` (RandomChurn keyword
arguments), ``max_seconds`` (the process exits by then whatever happens).

A tracker prints ``{"tracker": [ip, port]}`` and serves until stdin closes. A peers host builds its nodes,
prints ``{"ready": true}`` and then obeys JSON lines on stdin:

- ``{"cmd": "go"}`` starts the nodes; from then on one status line every 0.25 s: ``{"peers": [count per
  node], "cpu": CPU s since go, "ips": [distinct peer IPs learned], "watch": {"ip:port": nodes knowing it},
  "watch_silent": {"ip:port": nodes knowing it as a peer heard from only once}, "addresses": [own
  addresses], "impairment": {...}}``;
- ``{"cmd": "watch", "addresses": [[ip, port], ...]}`` sets the addresses counted in ``watch``;
- ``{"cmd": "rpc", "count": R, "timeout": T, "retries": K, "window": W}``: every node sends R signed
  requests to its discovery peers (W in flight), each a RandomNumberCache that on timeout is retried up to
  K times; then ``{"rpc": {"requests", "completed", "failed", "attempts", "seconds", "median_ms", "cpu"}}``;
- ``{"cmd": "restart", "index": i}`` stops node i and starts a new one (fresh key, another port); then
  ``{"restarted": {"old": [ip, port], "new": [ip, port]}}``.

Stdin closing stops every node and ends the process.
"""
from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import random
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
RPC_COMMUNITY_ID = b"ipv8fast-testbed-rpc"


def load(name: str) -> ModuleType:
    """``name``.py next to this file, loaded by path (never through the ipv8fast package)."""
    spec = importlib.util.spec_from_file_location(f"ipv8fast_testbed_{name}", HERE / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


implementations = load("implementations")
impairment_module = load("impairment")


def emit(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


def address_of(node: Any) -> list[Any]:
    address = node.endpoint.get_address()
    return [str(address[0]), int(address[1])]


class Rpc:
    """The signed request/response community of ``impl`` and its counters."""

    def __init__(self, impl: str) -> None:
        m = implementations.import_modules(impl)
        self.m = m
        self.requests = self.completed = self.failed = self.attempts = 0
        self.latencies: list[float] = []
        self.timeout = 1.0
        self.retries = 3
        self.done = asyncio.Event()
        rpc = self
        payload_base: Any = m["payload"].VariablePayload
        cache_base: Any = m["cache"].RandomNumberCacheWithName
        community_base: Any = m["community"].Community
        lazy = m["lazy"]

        @m["payload"].vp_compile
        class Request(payload_base):
            msg_id = 1
            format_list = ["I", "I"]
            names = ["identifier", "sequence"]

        @m["payload"].vp_compile
        class Response(payload_base):
            msg_id = 2
            format_list = ["I", "I"]
            names = ["identifier", "sequence"]

        class Pending(cache_base):
            name = "testbed-request"

            def __init__(self, community: Any, target: Any, sequence: int, attempt: int, started: float) -> None:
                super().__init__(community.request_cache, self.name)
                self.community, self.target, self.sequence = community, target, sequence
                self.attempt, self.started = attempt, started

            @property
            def timeout_delay(self) -> float:
                return rpc.timeout

            def on_timeout(self) -> None:
                if self.attempt < rpc.retries:
                    self.community.attempt(self.target, self.sequence, self.attempt + 1, self.started)
                else:
                    rpc.failed += 1
                    self.community.next_request()

        class RpcCommunity(community_base):
            community_id = RPC_COMMUNITY_ID

            def __init__(self, settings: Any) -> None:
                super().__init__(settings)
                self.request_cache = m["cache"].RequestCache()
                self.targets: list[Any] = []
                self.left = 0
                self.add_message_handler(Request, self.on_request)
                self.add_message_handler(Response, self.on_response)

            def attempt(self, target: Any, sequence: int, attempt: int, started: float) -> None:
                rpc.attempts += 1
                cache = self.request_cache.add(Pending(self, target, sequence, attempt, started))
                self.ez_send(target, Request(cache.number, sequence))

            def next_request(self) -> None:
                if rpc.completed + rpc.failed >= rpc.requests:
                    rpc.done.set()
                if self.left <= 0 or not self.targets:
                    return
                self.left -= 1
                self.attempt(random.choice(self.targets), self.left, 0, time.monotonic())

            @lazy.lazy_wrapper(Request)
            def on_request(self, peer: Any, payload: Any) -> None:
                self.ez_send(peer, Response(payload.identifier, payload.sequence))

            @lazy.lazy_wrapper(Response)
            @lazy.retrieve_cache(Pending)
            def on_response(self, peer: Any, payload: Any, cache: Any) -> None:
                rpc.completed += 1
                rpc.latencies.append(time.monotonic() - cache.started)
                self.next_request()

            async def unload(self) -> None:
                await self.request_cache.shutdown()
                await super().unload()

        self.community_class = RpcCommunity


class Host:
    """The nodes of one emulated host."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.impl = config["impl"]
        self.impairment = impairment_module.Impairment(**config.get("impairment", {}))
        self.rpc = Rpc(self.impl)
        service = "ipv8_service" if self.impl == "ipv8" else "ipv8fast.service"
        self.IPv8 = importlib.import_module(service).IPv8
        discovery = "ipv8.peerdiscovery.community" if self.impl == "ipv8" else "ipv8fast.discovery_community"
        self.Discovery = importlib.import_module(discovery).DiscoveryCommunity
        self.nodes: list[Any] = []
        self.watch: list[tuple[str, int]] = []
        self.cpu_start = time.process_time()

    def build(self) -> Any:
        config = self.config
        tracker_ip, tracker_port = config["tracker"]
        node_config = implementations.node_configuration(self.impl, tracker_port, ip=config["ip"],
                                                         tracker_ip=tracker_ip, churn=config.get("churn"))
        node_config["overlays"].append({"class": "RpcCommunity", "key": "me", "walkers": [], "bootstrappers": [],
                                        "initialize": {}, "on_start": []})
        return self.IPv8(node_config, extra_communities={"RpcCommunity": self.rpc.community_class})

    async def start(self, node: Any) -> None:
        self.impairment.wrap(node.endpoint)
        await node.start()

    def overlay(self, node: Any, kind: Any) -> Any:
        return next(o for o in node.overlays if isinstance(o, kind))

    def status(self) -> dict[str, Any]:
        overlays = [self.overlay(node, self.Discovery) for node in self.nodes]
        peer_lists = [o.get_peers() for o in overlays]
        known = [{(str(p.address[0]), int(p.address[1])) for p in peers} for peers in peer_lists]
        # peers heard from only once (last_response 0): RandomChurn never drops them (py-ipv8 behaviour)
        silent = [{(str(p.address[0]), int(p.address[1])) for p in peers if p.last_response == 0}
                  for peers in peer_lists]
        return {"peers": [len(peers) for peers in peer_lists], "cpu": time.process_time() - self.cpu_start,
                "ips": sorted({ip for addresses in known for ip, _ in addresses}),
                "watch": {f"{ip}:{port}": sum((ip, port) in addresses for addresses in known)
                          for ip, port in self.watch},
                "watch_silent": {f"{ip}:{port}": sum((ip, port) in addresses for addresses in silent)
                                 for ip, port in self.watch},
                "addresses": [address_of(node) for node in self.nodes], "impairment": self.impairment.stats}

    async def run_rpc(self, command: dict[str, Any]) -> None:
        rpc = self.rpc
        rpc.timeout, rpc.retries = float(command.get("timeout", 1.0)), int(command.get("retries", 3))
        rpc.requests = rpc.completed = rpc.failed = rpc.attempts = 0
        rpc.latencies.clear()
        rpc.done.clear()
        started, cpu = time.monotonic(), time.process_time()
        communities = []
        for node in self.nodes:
            community = self.overlay(node, rpc.community_class)
            community.targets = self.overlay(node, self.Discovery).get_peers()
            community.left = int(command["count"]) if community.targets else 0
            rpc.requests += community.left
            communities.append(community)
        for community in communities:
            for _ in range(int(command.get("window", 1))):
                community.next_request()
        if rpc.requests:
            budget = rpc.timeout * (rpc.retries + 1) * (int(command["count"]) + 1) + 5.0
            try:
                await asyncio.wait_for(rpc.done.wait(), budget)
            except asyncio.TimeoutError:
                pass
        emit({"rpc": {"requests": rpc.requests, "completed": rpc.completed, "failed": rpc.failed,
                      "attempts": rpc.attempts, "seconds": time.monotonic() - started,
                      "median_ms": 1000 * statistics.median(rpc.latencies) if rpc.latencies else None,
                      "cpu": time.process_time() - cpu}})

    async def restart(self, index: int) -> None:
        old = self.nodes[index]
        old_address = address_of(old)
        await old.stop()
        for _ in range(5):  # bounded: a new ephemeral port is almost never the old one
            node = self.build()
            await self.start(node)
            if address_of(node) != old_address:
                break
            await node.stop()
        self.nodes[index] = node
        emit({"restarted": {"old": old_address, "new": address_of(node)}})


async def read_commands(reader: asyncio.StreamReader, host: Host, deadline: float) -> None:
    loop = asyncio.get_running_loop()
    reporter: asyncio.Task | None = None
    tasks: set[asyncio.Task] = set()

    async def report() -> None:
        while True:
            emit(host.status())
            await asyncio.sleep(0.25)

    try:
        while loop.time() < deadline:
            line = await asyncio.wait_for(reader.readline(), max(deadline - loop.time(), 0.1))
            if not line:
                break
            command = json.loads(line)
            if command["cmd"] == "go" and reporter is None:
                host.cpu_start = time.process_time()
                for node in host.nodes:
                    await host.start(node)
                reporter = asyncio.ensure_future(report())
            elif command["cmd"] == "watch":
                host.watch = [(str(ip), int(port)) for ip, port in command["addresses"]]
            elif command["cmd"] in ("rpc", "restart"):
                work = host.run_rpc(command) if command["cmd"] == "rpc" else host.restart(int(command["index"]))
                task = asyncio.ensure_future(work)
                tasks.add(task)
                task.add_done_callback(tasks.discard)
    except asyncio.TimeoutError:
        pass
    finally:
        for pending in [reporter, *tasks]:
            if pending is not None:
                pending.cancel()
        for node in host.nodes:
            await node.stop()


async def run_tracker(config: dict[str, Any], reader: asyncio.StreamReader, deadline: float) -> None:
    from ipv8fast.tracker import Tracker
    from ipv8fast.udp_endpoint import UDPEndpoint

    endpoint = UDPEndpoint(0, config["ip"])
    await endpoint.open()
    impairment_module.Impairment(**config.get("impairment", {})).wrap(endpoint)
    tracker = Tracker(endpoint)
    tracker.start()
    emit({"tracker": address_of(tracker)})
    try:
        await asyncio.wait_for(reader.read(), max(deadline - asyncio.get_running_loop().time(), 0.1))
    except asyncio.TimeoutError:
        pass
    finally:
        await tracker.stop()
        endpoint.close()


async def main(config: dict[str, Any]) -> None:
    logging.disable(logging.CRITICAL)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + float(config.get("max_seconds", 300.0))
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    providers = "ipv8.messaging.interfaces.lan_addresses.interfaces" if config["impl"] == "ipv8" \
        else "ipv8fast.lan_addresses"
    importlib.import_module(providers).get_providers().clear()  # no host-name lookups: the bound address is it
    if config["role"] == "tracker":
        await run_tracker(config, reader, deadline)
        return
    host = Host(config)
    host.nodes = [host.build() for _ in range(int(config["peers"]))]
    emit({"ready": True})
    await read_commands(reader, host, deadline)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
