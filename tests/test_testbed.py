"""The emulated multi-host testbed (ipv8fast.testing.netns), short forms: namespaces made and always deleted
by the test, isolation (no route out), stale clean-up, the user-space impairment, and mixed ipv8fast /
py-ipv8 hosts converging through a tracker on a clean and on a hostile (50 ms, 10 % loss) network, with
signed request/response and a restarted peer. The full forms are bench/bench_testbed.py. Needs root and
``ip``; elsewhere the namespace tests skip, saying why."""
from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ipv8fast.testing import netns
from ipv8fast.testing.impairment import Impairment
from ipv8fast.testing.netns import PREFIX, Scenario, Testbed, run_scenario

from _loop import LoopHarness

pytestmark = pytest.mark.slow  # about a minute of emulated hosts

#: RandomChurn fast enough for a short test (py-ipv8's defaults drop a silent peer after ~60 s).
FAST_CHURN = {"ping_interval": 1.0, "inactive_time": 2.0, "drop_time": 4.0}
HOSTILE = {"loss": 0.1, "delay": 0.05, "jitter": 0.01}


@pytest.fixture
def make_testbed() -> Iterator[Callable[[int], Testbed]]:
    """``make_testbed(n)``: a testbed of n hosts, deleted (processes killed) at the end whatever happens;
    skips where namespaces cannot be made."""
    reason = netns.unavailable()
    if reason is not None:
        pytest.skip(reason)
    made: list[Testbed] = []

    def make(hosts: int) -> Testbed:
        bed = Testbed(hosts)
        made.append(bed)
        return bed.create()

    try:
        yield make
    finally:
        for bed in made:
            bed.destroy()
        left = [name for name in netns.namespaces() for bed in made if name.startswith(bed.name)]
        assert not left, f"namespaces left behind: {left}"


def run(bed: Testbed, scenario: Scenario, timeout: float) -> dict[str, Any]:
    harness = LoopHarness()
    try:
        return harness.run(run_scenario(bed, scenario), timeout=timeout)
    finally:
        harness.close()


def test_unavailable_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert netns.unavailable() == "network namespaces need root"


def test_isolated_hosts(make_testbed: Callable[[int], Testbed]) -> None:
    bed = make_testbed(3)
    for i, host in enumerate(bed.hosts):
        assert bed.links(host) == ["lo", "eth0"]
        routes = bed.routes(i)
        assert [route["dst"] for route in routes] == ["10.213.0.0/24"], routes  # no default route
        out = netns.ip("-n", host, "route", "get", "192.0.2.1", check=False)  # TEST-NET-1: nothing is sent
        assert out.returncode != 0 and "unreachable" in out.stderr.lower(), out
        reach = netns.ip("-n", host, "route", "get", bed.address((i + 1) % 3), check=False)
        assert reach.returncode == 0 and "eth0" in reach.stdout
    assert sorted(bed.links(bed.bridge)) == ["br0", "h0", "h1", "h2", "lo"]
    root = netns.ip("-j", "addr").stdout
    assert netns.SUBNET not in root  # the addresses exist only inside the testbed


def test_stale_namespaces_are_cleaned() -> None:
    reason = netns.unavailable()
    if reason is not None:
        pytest.skip(reason)
    finished = subprocess.Popen(["true"])
    finished.wait()
    name = f"{PREFIX}{finished.pid}-stale"
    netns.ip("netns", "add", name)
    sleeper = subprocess.Popen(["ip", "netns", "exec", name, "sleep", "30"])
    try:
        for _ in range(50):  # bounded: until the sleeper is inside
            if netns.ip("netns", "pids", name, check=False).stdout.strip():
                break
            subprocess.run(["sleep", "0.05"], check=True)
        assert name in netns.clean_stale()
        assert name not in netns.namespaces()
        assert sleeper.wait(timeout=10) != 0  # killed
    finally:
        sleeper.kill()
        sleeper.wait()
        netns.ip("netns", "del", name, check=False)


def test_impairment_is_seeded_lossy_delayed_and_reorders() -> None:
    async def scenario(seed: int) -> tuple[list[int], float, set[int], int]:
        loop = asyncio.get_running_loop()
        arrived: list[tuple[float, int]] = []
        impairment = Impairment(loss=0.1, delay=0.02, jitter=0.01, seed=seed)
        send = impairment.impaired(lambda _address, packet: arrived.append((loop.time(), int(packet))))
        started = loop.time()
        for k in range(2000):
            send(("10.213.0.1", 1), str(k).encode())
        await asyncio.sleep(0.1)
        order = [k for _, k in arrived]
        inversions = sum(a > b for a, b in zip(order, order[1:], strict=False))
        return order, min(t for t, _ in arrived) - started, set(range(2000)) - set(order), inversions

    first, earliest, lost, inversions = asyncio.run(scenario(7))
    again, _, lost_again, _ = asyncio.run(scenario(7))
    assert 150 <= len(lost) <= 250 and lost == lost_again and sorted(first) == sorted(again)
    assert earliest >= 0.02 and inversions > 100
    with pytest.raises(ValueError, match="loss"):
        Impairment(loss=1.5)


def test_mixed_hosts_converge_on_host_addresses(make_testbed: Callable[[int], Testbed]) -> None:
    """Scenario a, short: 4 hosts x 5 peers, ipv8fast and py-ipv8 hosts alternating, through the tracker."""
    pytest.importorskip("ipv8", reason="pyipv8 is the reference peer")
    bed = make_testbed(4)
    result = run(bed, Scenario(["ipv8fast", "ipv8"] * 2, peers=5, target=5, timeout=25.0, max_seconds=60), 60)
    assert result["converged"], result
    assert result["ips"] == result["host_ips"], result  # the hosts' 10.213.0.x, never 127.0.0.1
    for figures in result["by_impl"].values():
        assert figures["min_peers"] >= 5, result


def test_hostile_network_requests_and_restart(make_testbed: Callable[[int], Testbed]) -> None:
    """Scenarios b-d, short: 50 ms one way and 10 % loss on every datagram; signed requests with timeouts and
    retries complete >= 99 %; a restarted peer is re-discovered and its old address churned out of every peer
    list where RandomChurn can drop it."""
    pytest.importorskip("ipv8", reason="pyipv8 is the reference peer")
    bed = make_testbed(4)
    scenario = Scenario(["ipv8fast", "ipv8"] * 2, peers=5, target=4, timeout=30.0, impairment=HOSTILE,
                        rpc={"count": 12, "timeout": 1.0, "retries": 4, "window": 2}, restart=True,
                        churn=FAST_CHURN, churn_timeout=45.0, max_seconds=120)  # room for a loaded machine
    result = run(bed, scenario, 150)
    assert result["converged"], result
    assert result["ips"] == result["host_ips"], result
    stats = result["impairment"]
    assert 0.07 < stats["dropped"] / stats["sent"] < 0.13, stats
    for impl, figures in result["by_impl"].items():
        rpc = figures["rpc"]
        assert rpc["requests"] >= 100 and rpc["completed_share"] >= 0.99, (impl, rpc)
        assert rpc["attempts"] > rpc["requests"], (impl, rpc)  # losses were retried
        moved = figures["restart"]
        assert moved["old"] != moved["new"], (impl, moved)
        assert moved["rediscovered_s"] is not None, (impl, moved)
        # Every listing RandomChurn can drop is gone. What may stay are peers verified from the dead node's
        # very last packet and never heard from again (last_response 0): RandomChurn never drops those, in
        # py-ipv8 as in ipv8fast (tests/test_discovery_churn.py), so they cannot be asked to go.
        assert moved["droppable_gone_s"] is not None, (impl, moved)
        if moved["churned_s"] is None:
            assert moved["old_known_by"] == moved["old_known_silent_by"], (impl, moved)
