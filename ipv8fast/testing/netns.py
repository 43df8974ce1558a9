"""An emulated multi-host testbed: Linux network namespaces made by the run itself, one per emulated host,
joined by veth pairs to a bridge that lives in a namespace of its own. Needs root and ``ip`` (iproute2)::

    from ipv8fast.testing.netns import Scenario, Testbed, run_scenario, unavailable

    if (reason := unavailable()) is None:
        with Testbed(4) as bed:                       # namespaces made here, deleted on exit (also on errors)
            figures = asyncio.run(run_scenario(bed, Scenario(
                ["ipv8fast", "ipv8"] * 2, peers=5, target=4, timeout=30,
                impairment={"loss": 0.1, "delay": 0.05, "jitter": 0.01}, rpc={"count": 20}, restart=True)))

Layout of ``Testbed(n)`` (names ``ipv8fast-tb-<pid>-<token>-...``): namespace ``...-br`` holds bridge
``br0`` and one veth end ``h<i>`` per host; host namespace ``...-h<i>`` holds ``lo`` and ``eth0`` with
``10.213.0.<i+1>/24``, IPv6 off. No default route, no link to the root namespace, no NAT: a datagram to
anything but 10.213.0.0/24 inside a host has no route and fails there. :func:`clean_stale` deletes the
namespaces of an earlier run whose process is gone (``Testbed`` calls it first).

Hosts run ``netns_host.py`` under ``ip netns exec`` (py-ipv8 or ipv8fast nodes, or the tracker, which
lives in host 0). The kernel here has no ``netem``, so loss, delay and reordering are emulated in user space
by :class:`~ipv8fast.testing.impairment.Impairment` around every node's endpoint (see that module).
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from .implementations import script_command

__all__ = ["PREFIX", "SUBNET", "Scenario", "Testbed", "clean_stale", "run_scenario", "unavailable"]

#: Every namespace of a testbed starts with this, then the pid of the process that made it.
PREFIX = "ipv8fast-tb-"
#: Host i has ``SUBNET.(i+1)``; the addresses exist only inside the testbed's namespaces.
SUBNET = "10.213.0"
HOST_SCRIPT = str(Path(__file__).with_name("netns_host.py"))
#: The folder holding the ``ipv8fast`` package in use: PYTHONPATH of every process in a namespace.
PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
STATUS_INTERVAL = 0.25
WALKER_INTERVAL = 0.5


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``ip ARGS`` (10 s at most)."""
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=check)


def unavailable() -> str | None:
    """Why namespaces cannot be made here (not root, no ``ip``, the kernel refuses), or None when they can:
    tries to make and delete a probe namespace."""
    if sys.platform != "linux":
        return f"network namespaces need Linux, not {sys.platform}"
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "no `ip` (iproute2) on PATH"
    probe = f"{PREFIX}{os.getpid()}-probe"
    try:
        made = ip("netns", "add", probe, check=False)
        if made.returncode != 0:
            return f"`ip netns add` failed: {made.stderr.strip()}"
        up = ip("-n", probe, "link", "set", "lo", "up", check=False)
        if up.returncode != 0:
            return f"`ip link set lo up` in a namespace failed: {up.stderr.strip()}"
        return None
    except (OSError, subprocess.SubprocessError) as exc:
        return f"`ip` failed: {exc}"
    finally:
        ip("netns", "del", probe, check=False)


def namespaces() -> list[str]:
    """Every namespace name ``ip netns list`` shows."""
    return [line.split()[0] for line in ip("netns", "list").stdout.splitlines() if line.strip()]


def kill_inside(namespace: str) -> int:
    """SIGKILL every process in ``namespace``; returns how many."""
    pids = [int(pid) for pid in ip("netns", "pids", namespace, check=False).stdout.split()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(pids)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(prefix: str = PREFIX) -> list[str]:
    """Delete the namespaces named ``<prefix><pid>-...`` whose process ``pid`` is gone (an earlier run that
    was killed), killing what still runs in them; returns their names."""
    stale = []
    for name in namespaces():
        found = re.match(re.escape(prefix) + r"(\d+)-", name)
        if found and not _pid_alive(int(found.group(1))):
            kill_inside(name)
            ip("netns", "del", name, check=False)
            stale.append(name)
    return stale


class Testbed:
    """``hosts`` emulated hosts (network namespaces) on one bridge; a context manager that makes them on
    entry and always deletes them (and kills every process inside) on exit."""

    __test__ = False  # not a pytest class

    def __init__(self, hosts: int) -> None:
        if not 1 <= hosts <= 250:
            raise ValueError(f"hosts: expected 1..250, got {hosts}")
        self.name = f"{PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
        self.bridge = f"{self.name}-br"
        self.hosts = [f"{self.name}-h{i}" for i in range(hosts)]
        self.made: list[str] = []

    def address(self, host: int) -> str:
        """The address of host ``host`` (``10.213.0.<host+1>``)."""
        return f"{SUBNET}.{host + 1}"

    def create(self) -> Testbed:
        """Make the namespaces, the bridge and the veth pairs (deleting everything again on failure)."""
        clean_stale()
        try:
            for namespace in (self.bridge, *self.hosts):
                ip("netns", "add", namespace)
                self.made.append(namespace)
                ip("-n", namespace, "link", "set", "lo", "up")
                subprocess.run(["ip", "netns", "exec", namespace, "sh", "-c",
                                "for f in all default; do echo 1 > /proc/sys/net/ipv6/conf/$f/disable_ipv6; done"],
                               capture_output=True, timeout=10, check=False)  # IPv6 off (if the kernel has it)
            ip("-n", self.bridge, "link", "add", "br0", "type", "bridge")
            ip("-n", self.bridge, "link", "set", "br0", "up")
            for i, namespace in enumerate(self.hosts):
                ip("-n", self.bridge, "link", "add", f"h{i}", "type", "veth", "peer", "name", "eth0",
                   "netns", namespace)
                ip("-n", self.bridge, "link", "set", f"h{i}", "master", "br0", "up")
                ip("-n", namespace, "addr", "add", f"{self.address(i)}/24", "dev", "eth0")
                ip("-n", namespace, "link", "set", "eth0", "up")
        except BaseException:
            self.destroy()
            raise
        return self

    def destroy(self) -> None:
        """Kill every process in the testbed's namespaces and delete them (safe to call twice)."""
        for namespace in reversed(self.made):
            kill_inside(namespace)
        for namespace in reversed(self.made):
            ip("netns", "del", namespace, check=False)
        self.made.clear()

    def __enter__(self) -> Testbed:
        return self.create()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.destroy()

    def routes(self, host: int) -> list[dict[str, Any]]:
        """The routing table (main) of host ``host``, as ``ip -j route`` gives it."""
        return json.loads(ip("-j", "-n", self.hosts[host], "route").stdout or "[]")

    def links(self, namespace: str) -> list[str]:
        """Interface names in ``namespace``."""
        return [link["ifname"] for link in json.loads(ip("-j", "-n", namespace, "link").stdout or "[]")]

    async def spawn(self, host: int, config: dict[str, Any]) -> HostProcess:
        """``netns_host.py`` with ``config`` inside host ``host``, this checkout on its PYTHONPATH."""
        command = ["ip", "netns", "exec", self.hosts[host], *script_command(HOST_SCRIPT, json.dumps(config))]
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": PACKAGE_PARENT})
        return HostProcess(process, host, config)


class HostProcess:
    """One ``netns_host.py`` process: its latest status line, the other messages in a queue."""

    def __init__(self, process: asyncio.subprocess.Process, host: int, config: dict[str, Any]) -> None:
        self.process, self.host, self.config = process, host, config
        self.impl: str = config["impl"]
        self.status: dict[str, Any] | None = None
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        while line := await self.process.stdout.readline():  # type: ignore[union-attr]
            message = json.loads(line)
            if "peers" in message:
                self.status = message
            else:
                self.messages.put_nowait(message)

    async def expect(self, key: str, timeout: float) -> Any:
        """The next message carrying ``key`` (others are dropped), within ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            message = await asyncio.wait_for(self.messages.get(), max(deadline - time.monotonic(), 0.01))
            if key in message:
                return message[key]

    def send(self, **command: Any) -> None:
        self.process.stdin.write(json.dumps(command).encode() + b"\n")  # type: ignore[union-attr]

    async def close(self) -> None:
        """Close stdin (the host stops its nodes), kill it after 10 s."""
        if self.process.returncode is None:
            self.process.stdin.close()  # type: ignore[union-attr]
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()
        self.reader.cancel()


def _ms_per_node_tick(cpu: float, nodes: int, seconds: float) -> float | None:
    return 1000 * cpu / (nodes * seconds / WALKER_INTERVAL) if nodes and seconds > 0 else None


async def _wait(condition: Any, timeout: float) -> float | None:
    """Seconds until ``condition()`` holds (polled every 0.1 s), None if it did not within ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    return None


@dataclass
class Scenario:
    """What :func:`run_scenario` runs: host i gets ``peers`` nodes of ``impls[i]`` ("ipv8fast" or "ipv8");
    ``impairment`` ({loss, delay, jitter}) on every endpoint, seeded per host from ``seed``; convergence means
    every node has ``target`` peers within ``timeout`` s; ``rpc`` ({count, timeout, retries, window}) runs
    signed request/response from every node; ``restart`` moves one node per implementation to another port,
    re-discovered and churned out (RandomChurn keyword arguments ``churn``) within ``churn_timeout`` s;
    every host process exits after ``max_seconds`` whatever happens."""

    impls: list[str]
    peers: int
    target: int
    timeout: float
    impairment: dict[str, Any] = field(default_factory=dict)
    rpc: dict[str, Any] | None = None
    restart: bool = False
    churn: dict[str, float] | None = None
    churn_timeout: float = 30.0
    seed: int = 1
    max_seconds: float = 300.0


async def run_scenario(bed: Testbed, scenario: Scenario) -> dict[str, Any]:
    """Run ``scenario`` on ``bed`` (a tracker in host 0, then the hosts' nodes).

    Waits until every node has ``target`` peers; then the requests; then, with ``restart``, node 0 of the
    first host of each implementation restarts on another port and must be re-discovered (known by
    ``target`` nodes) while the old address is churned out (known by none; ``droppable_gone_s``: known by none
    except as a peer heard from only once, ``last_response`` 0, which RandomChurn never drops - py-ipv8's
    behaviour, see tests/test_discovery_churn.py).
    Returns ``converged``, ``seconds``, ``ips`` (peer IPs learned), ``host_ips`` and per implementation
    (``by_impl[impl]``): ``nodes``, ``seconds`` (convergence: the last node), ``node_seconds`` and
    ``first_peer_s`` (per node: seconds until ``target`` peers / its first peer, None if not within the
    wait; polled every 0.1 s from status lines every 0.25 s), ``min_peers``, ``mean_peers``,
    ``ms_per_node_tick``, ``rpc`` (summed host reports) and ``restart`` (``rediscovered_s``, ``churned_s``,
    ``droppable_gone_s``, ``old_known_by``, ``old_known_silent_by``, ``new_known_by``); also ``impairment``
    (summed counters)."""
    impls, peers, target, timeout = scenario.impls, scenario.peers, scenario.target, scenario.timeout
    rpc, seed, max_seconds, churn = scenario.rpc, scenario.seed, scenario.max_seconds, scenario.churn
    if len(impls) != len(bed.hosts):
        raise ValueError(f"impls: one per host ({len(bed.hosts)}), got {len(impls)}")
    impairment = dict(scenario.impairment)
    processes: list[HostProcess] = []
    try:
        tracker = await bed.spawn(0, {"role": "tracker", "impl": "ipv8fast", "ip": bed.address(0),
                                      "impairment": {**impairment, "seed": seed * 1000},
                                      "max_seconds": max_seconds})
        processes.append(tracker)
        tracker_address = await tracker.expect("tracker", 60)
        hosts = []
        for i, impl in enumerate(impls):
            hosts.append(await bed.spawn(i, {"role": "peers", "impl": impl, "ip": bed.address(i),
                                             "tracker": tracker_address, "peers": peers, "churn": churn,
                                             "impairment": {**impairment, "seed": seed * 1000 + i + 1},
                                             "max_seconds": max_seconds}))
            processes.append(hosts[-1])
        for host in hosts:
            await host.expect("ready", 120)
        for host in hosts:
            host.send(cmd="go")
        started = time.monotonic()
        kinds = sorted(set(impls))
        by_impl: dict[str, dict[str, Any]] = {impl: {"nodes": peers * impls.count(impl), "seconds": None}
                                              for impl in kinds}

        def reached(group: list[HostProcess]) -> bool:
            return all(h.status is not None and min(h.status["peers"], default=0) >= target for h in group)

        cpu_at: dict[str, float] = {}
        # per host, per node: seconds until its first peer / until target peers (None: not yet)
        first_peer: list[list[float | None]] = [[None] * peers for _ in hosts]
        at_target: list[list[float | None]] = [[None] * peers for _ in hosts]
        while time.monotonic() - started < timeout:
            now = time.monotonic() - started
            for host, firsts, fulls in zip(hosts, first_peer, at_target, strict=True):
                for node, count in enumerate((host.status or {}).get("peers", [])):
                    if firsts[node] is None and count >= 1:
                        firsts[node] = now
                    if fulls[node] is None and count >= target:
                        fulls[node] = now
            for impl in kinds:
                group = [h for h in hosts if h.impl == impl]
                if by_impl[impl]["seconds"] is None and reached(group):
                    by_impl[impl]["seconds"] = time.monotonic() - started
                    cpu_at[impl] = sum(h.status["cpu"] for h in group)  # type: ignore[index]
            if all(r["seconds"] is not None for r in by_impl.values()):
                break
            await asyncio.sleep(0.1)
        seconds = time.monotonic() - started
        converged = all(r["seconds"] is not None for r in by_impl.values())
        for impl in kinds:
            group = [h for h in hosts if h.impl == impl]
            counts = [n for h in group for n in (h.status or {}).get("peers", [0] * peers)]
            cpu = cpu_at.get(impl, sum((h.status or {}).get("cpu", 0.0) for h in group))
            indices = [i for i, h in enumerate(hosts) if h.impl == impl]
            by_impl[impl].update(first_peer_s=[t for i in indices for t in first_peer[i]],
                                 node_seconds=[t for i in indices for t in at_target[i]])
            by_impl[impl].update(min_peers=min(counts), mean_peers=sum(counts) / len(counts),
                                 ms_per_node_tick=_ms_per_node_tick(cpu, by_impl[impl]["nodes"],
                                                                    by_impl[impl]["seconds"] or seconds))
        ips = sorted({ip for h in hosts for ip in (h.status or {}).get("ips", [])})
        result: dict[str, Any] = {"hosts": len(hosts), "peers_per_host": peers, "target": target,
                                  "converged": converged, "seconds": seconds, "ips": ips,
                                  "host_ips": [bed.address(i) for i in range(len(hosts))], "by_impl": by_impl}
        if rpc and converged:
            for host in hosts:
                host.send(cmd="rpc", **rpc)
            reports = [(host.impl, await host.expect("rpc", 600)) for host in hosts]
            for impl in kinds:
                mine = [r for kind, r in reports if kind == impl]
                total = {key: sum(r[key] for r in mine) for key in ("requests", "completed", "failed", "attempts",
                                                                      "cpu")}
                total["seconds"] = max(r["seconds"] for r in mine)
                medians = sorted(r["median_ms"] for r in mine if r["median_ms"] is not None)
                total["median_ms"] = medians[len(medians) // 2] if medians else None
                total["completed_share"] = total["completed"] / total["requests"] if total["requests"] else None
                by_impl[impl]["rpc"] = total
        if scenario.restart and converged:
            await _restart(hosts, kinds, by_impl, target, scenario.churn_timeout)
        stats: dict[str, int] = {}
        for h in [tracker, *hosts]:
            for key, value in ((h.status or {}).get("impairment") or {}).items():
                stats[key] = stats.get(key, 0) + value
        result["impairment"] = stats
        return result
    finally:
        await asyncio.gather(*(process.close() for process in processes), return_exceptions=True)


async def _restart(hosts: list[HostProcess], kinds: list[str], by_impl: dict[str, dict[str, Any]], target: int,
                   churn_timeout: float) -> None:
    """Restart node 0 of the first host of each implementation on another port; time its re-discovery and
    the churning out of its old address (into ``by_impl[impl]["restart"]``)."""
    moved = {}
    for impl in kinds:
        host = next(h for h in hosts if h.impl == impl)
        host.send(cmd="restart", index=0)
        moved[impl] = await host.expect("restarted", 60)
    watched = [address for change in moved.values() for address in (change["old"], change["new"])]
    for host in hosts:
        host.send(cmd="watch", addresses=watched)
    started = time.monotonic()

    def knowing(address: list[Any], field: str = "watch") -> int:
        key = f"{address[0]}:{address[1]}"
        return sum((h.status or {}).get(field, {}).get(key, 0) for h in hosts)

    def droppable(address: list[Any]) -> int:  # listings RandomChurn can still drop (heard from twice or more)
        return knowing(address) - knowing(address, "watch_silent")

    def watching() -> bool:
        return all(h.status is not None and len(h.status.get("watch", {})) == len(set(map(tuple, watched)))
                   for h in hosts)

    await _wait(watching, 10)
    pending = {impl: {"old": change["old"], "new": change["new"], "rediscovered_s": None, "churned_s": None,
                      "droppable_gone_s": None} for impl, change in moved.items()}
    while time.monotonic() - started < churn_timeout:
        for record in pending.values():
            if record["rediscovered_s"] is None and knowing(record["new"]) >= target:
                record["rediscovered_s"] = time.monotonic() - started
            if record["churned_s"] is None and knowing(record["old"]) == 0:
                record["churned_s"] = time.monotonic() - started
            if record["droppable_gone_s"] is None and droppable(record["old"]) == 0:
                record["droppable_gone_s"] = time.monotonic() - started
        if all(r["rediscovered_s"] is not None and r["churned_s"] is not None for r in pending.values()):
            break
        if all(r["rediscovered_s"] is not None and r["droppable_gone_s"] is not None for r in pending.values()) \
                and all(knowing(r["old"]) == knowing(r["old"], "watch_silent") for r in pending.values()):
            break  # what is left never goes: peers heard from once only, which RandomChurn never drops
        await asyncio.sleep(0.1)
    for impl, record in pending.items():
        record["old_known_by"], record["new_known_by"] = knowing(record["old"]), knowing(record["new"])
        record["old_known_silent_by"] = knowing(record["old"], "watch_silent")
        by_impl[impl]["restart"] = record
