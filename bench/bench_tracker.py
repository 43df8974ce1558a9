"""A tracker answering signed introduction requests from peers in other processes, on 127.0.0.1, side by side.

    python bench/bench_tracker.py                 # 3 rounds of 8 s per server, 2 client processes x 10 peers
    python bench/bench_tracker.py --quick         # 2 rounds of 4 s

Servers, each its own process, measured in turn (the order alternates round by round, the median is reported):

- ``ipv8fast``: ``python -m ipv8fast tracker --crypto-threads 0`` (signatures verified on the loop thread);
- ``ipv8fast+threads``: the same with ``--crypto-threads`` at its default (one per core beyond the first);
- ``py-ipv8``: a tracker-style py-ipv8 node written here against py-ipv8's public API (a Community with
  ``max_peers`` -1 that answers every introduction request, never walks), on uvloop like the others.

Clients (``--clients`` processes of ``--peers`` peers each, every peer its own key and UDP socket) keep
``--window`` introduction requests in flight each. The requests are built and signed before the run (a few
per peer, sent in turn), and the responses are counted, not parsed nor verified, so the clients spend little
CPU: the tracker is the one being measured. Each answered request costs the tracker one Ed25519 verification
and one signature (the response; the puncture request it sends to the introduced peer is unsigned). Reported:
requests answered/s, the tracker's CPU (all its threads) per answered request and its CPU load in cores,
the clients' CPU, ratios, and the single-core Ed25519 sign+verify limit measured in the same run.
Everything binds to 127.0.0.1; every run is bounded in time.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: The benchmark community's id (20 bytes): clients and the py-ipv8 node use it, the ipv8fast tracker
#: answers any community.
COMMUNITY_ID = b"ipv8fast-tracker-bch"
#: Distinct signed requests prepared per peer (sent in turn).
PREPARED = 16
#: A peer without any response for this long re-sends its window (requests lost to a full socket buffer).
STALL = 0.25
SERVERS = ("py-ipv8", "ipv8fast", "ipv8fast+threads")
THREADS = max(1, (os.cpu_count() or 1) - 1)
#: Introduction response message ids (old and new style).
RESPONSES = (245, 233)


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


# ------------------------------------------------------------------------------------ py-ipv8 server role

async def pyipv8_server(max_seconds: float) -> None:
    """A tracker-style py-ipv8 node on 127.0.0.1 (this process never imports ipv8fast)."""
    import logging

    from ipv8.community import Community, CommunitySettings
    from ipv8.keyvault.crypto import default_eccrypto
    from ipv8.messaging.interfaces.lan_addresses.interfaces import get_providers
    from ipv8.messaging.interfaces.udp.endpoint import UDPEndpoint
    from ipv8.peer import Peer
    from ipv8.peerdiscovery.network import Network

    logging.disable(logging.CRITICAL)
    get_providers().clear()  # bound to loopback: no LAN address discovery

    class TrackerStyle(Community):
        community_id = COMMUNITY_ID

        def get_new_introduction(self, from_peer: Any = None) -> None:
            pass  # never walks

    endpoint = UDPEndpoint(0, "127.0.0.1")
    await endpoint.open()
    node = TrackerStyle(CommunitySettings(my_peer=Peer(default_eccrypto.generate_key("curve25519")),
                                          endpoint=endpoint, network=Network(), max_peers=-1))
    node.cancel_all_pending_tasks()
    host, port = endpoint.get_address()
    print(f"tracker listening on {host}:{port}", flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    await asyncio.wait([stdin_closed], timeout=max_seconds)
    await node.unload()
    endpoint.close()


# ------------------------------------------------------------------------------------------ client role

class Counter:
    """One client peer: its prepared requests and the responses it received (on_packet: an endpoint
    listener, wrapped by ``listener_class``)."""

    def __init__(self, endpoint: Any, requests: list[bytes], tracker: tuple[str, int], window: int) -> None:
        self.endpoint, self.requests, self.tracker, self.window = endpoint, requests, tracker, window
        self.sent = 0
        self.answered = 0
        self.outstanding = 0
        self.last_answer = time.monotonic()
        self.resent = 0
        self.running = False

    def fill(self) -> None:
        while self.running and self.outstanding < self.window:
            self.outstanding += 1
            self.sent += 1
            self.endpoint.send(self.tracker, self.requests[self.sent % len(self.requests)])

    def on_packet(self, packet: tuple[Any, bytes]) -> None:
        data = packet[1]
        if len(data) > 22 and data[22] in RESPONSES:
            self.answered += 1
            self.last_answer = time.monotonic()
            if self.outstanding > 0:
                self.outstanding -= 1
            self.fill()

    def unstall(self, now: float) -> None:
        if self.running and now - self.last_answer > STALL:
            self.resent += 1
            self.outstanding = 0
            self.last_answer = now
            self.fill()


async def client(port: int, peers: int, window: int, max_seconds: float) -> None:
    """``peers`` peers sending prepared introduction requests to the tracker on 127.0.0.1:``port``."""
    sys.path.insert(0, CHECKOUT)
    from ipv8fast.community import Community, CommunitySettings
    from ipv8fast.endpoint import EndpointListener
    from ipv8fast.keys import default_eccrypto
    from ipv8fast.network import Network
    from ipv8fast.peer import Peer
    from ipv8fast.udp_endpoint import UDPEndpoint

    class Prepare(Community):
        community_id = COMMUNITY_ID

    class Listener(Counter, EndpointListener):
        def __init__(self, *args: Any) -> None:
            Counter.__init__(self, *args)
            EndpointListener.__init__(self, args[0])

    tracker = ("127.0.0.1", port)
    counters = []
    for _ in range(peers):
        endpoint = UDPEndpoint(0, "127.0.0.1")
        await endpoint.open()
        community = Prepare(CommunitySettings(my_peer=Peer(default_eccrypto.generate_key("curve25519")),
                                              endpoint=endpoint, network=Network()))
        community.cancel_all_pending_tasks()
        requests = [community.create_introduction_request(tracker) for _ in range(PREPARED)]
        await community.unload()  # it leaves the endpoint to the counter: responses are counted, not verified
        counter = Listener(endpoint, requests, tracker, window)
        endpoint.add_listener(counter)
        counters.append(counter)
    print(json.dumps({"ready": True}), flush=True)
    loop = asyncio.get_running_loop()
    line = await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline), max_seconds)
    start, warmup, seconds = (float(x) for x in line.split())
    await asyncio.sleep(max(start - time.time(), 0))
    for counter in counters:
        counter.running = True
        counter.fill()
    end = time.monotonic() + warmup + seconds
    counted = None
    while time.monotonic() < end:
        await asyncio.sleep(0.05)
        now = time.monotonic()
        for counter in counters:
            counter.unstall(now)
        if counted is None and now >= end - seconds:
            counted = (sum(c.answered for c in counters), time.process_time(), now)
    assert counted is not None
    now = time.monotonic()
    print(json.dumps({"answered": sum(c.answered for c in counters) - counted[0], "seconds": now - counted[2],
                      "cpu": time.process_time() - counted[1], "resent": sum(c.resent for c in counters)}),
          flush=True)
    for counter in counters:
        counter.running = False
        counter.endpoint.close()


# ------------------------------------------------------------------------------------------ parent role

def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system, all threads) of process ``pid``; None where /proc is missing."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def worker_cpu(pid: int) -> float:
    """CPU seconds of the verification workers (threads named ipv8fast-verify) of process ``pid`` (0 when
    there are none or /proc is missing)."""
    total = 0.0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/stat") as handle:
                name, _, rest = handle.read().partition("(")[2].rpartition(")")
            if name.startswith("ipv8fast-verif"):
                fields = rest.split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            continue
    return total


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": CHECKOUT + os.pathsep + os.environ.get("PYTHONPATH", "")}


def start_server(server: str, max_seconds: float) -> tuple[subprocess.Popen, int]:
    if server == "py-ipv8":
        command = [sys.executable, os.path.abspath(__file__), "--role", "pyipv8-server", "--max-seconds",
                   str(max_seconds)]
    else:
        threads = THREADS if server.endswith("+threads") else 0
        command = [sys.executable, "-m", "ipv8fast", "tracker", "--port", "0", "--ip", "127.0.0.1",
                   "--crypto-threads", str(threads)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, env=env(), cwd=CHECKOUT)
    assert process.stdout is not None
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise RuntimeError(f"the {server} tracker did not start: {line!r}")
    return process, int(line.rsplit(":", 1)[1])


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def measure(server: str, args: argparse.Namespace) -> dict[str, float]:
    """One bounded run against ``server``: answered/s, its CPU, the clients' CPU."""
    budget = args.warmup + args.seconds + 60
    tracker, port = start_server(server, budget)
    clients: list[subprocess.Popen] = []
    try:
        for _ in range(args.clients):
            clients.append(subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--role", "client", "--port", str(port), "--peers",
                 str(args.peers), "--window", str(args.window), "--max-seconds", str(budget)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env(), cwd=CHECKOUT))
        for process in clients:
            assert process.stdout is not None
            if '"ready"' not in process.stdout.readline():
                raise RuntimeError("a client did not start")
        start = time.time() + 0.3
        for process in clients:
            assert process.stdin is not None
            process.stdin.write(f"{start} {args.warmup} {args.seconds}\n")
            process.stdin.flush()
        time.sleep(max(start + args.warmup - time.time(), 0))
        cpu_start, workers_start, wall_start = process_cpu(tracker.pid), worker_cpu(tracker.pid), time.monotonic()
        time.sleep(args.seconds)
        cpu_end, workers_end = process_cpu(tracker.pid), worker_cpu(tracker.pid)
        wall = time.monotonic() - wall_start
        reports = []
        for process in clients:
            out, _ = process.communicate(timeout=budget)
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for process in clients:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        stop(tracker)
    answered = sum(r["answered"] / r["seconds"] for r in reports)
    server_cpu = (cpu_end - cpu_start) / wall if cpu_start is not None and cpu_end is not None else float("nan")
    workers = (workers_end - workers_start) / wall
    return {"answered_per_s": answered, "server_cores": server_cpu, "server_us": 1e6 * server_cpu / answered,
            "loop_us": 1e6 * (server_cpu - workers) / answered, "worker_us": 1e6 * workers / answered,
            "client_cores": sum(r["cpu"] / r["seconds"] for r in reports), "resent": sum(r["resent"] for r in reports)}


def main() -> None:
    global THREADS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=("parent", "client", "pyipv8-server"), default="parent")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 4 s")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--peers", type=int, default=10, help="peers per client process")
    parser.add_argument("--window", type=int, default=8, help="requests in flight per peer")
    parser.add_argument("--threads", type=int, default=THREADS, help="crypto_threads of ipv8fast+threads")
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated subset of " + ", ".join(SERVERS))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    args = parser.parse_args()
    if args.role == "pyipv8-server":
        new_loop().run_until_complete(pyipv8_server(args.max_seconds))
        return
    if args.role == "client":
        new_loop().run_until_complete(client(args.port, args.peers, args.window, args.max_seconds))
        return
    THREADS = args.threads
    rounds = args.rounds or (2 if args.quick else 3)
    args.seconds = args.seconds or (4.0 if args.quick else 8.0)
    if not 1 <= args.seconds <= 120 or not 1 <= rounds <= 10:
        parser.error("--seconds 1..120 and --rounds 1..10")
    sys.path.insert(0, CHECKOUT)
    from bench_community import sign_verify_limit  # type: ignore[import-not-found]

    servers = tuple(server for server in SERVERS if server in args.servers.split(","))
    if not servers:
        parser.error(f"--servers: choose from {', '.join(SERVERS)}")
    results: dict[str, list[dict[str, float]]] = {server: [] for server in servers}
    limits = []
    for round_number in range(rounds):
        order = servers if round_number % 2 == 0 else tuple(reversed(servers))
        for server in order:
            results[server].append(measure(server, args))
        limits.append(sign_verify_limit(15_000))
    limit = statistics.median(limits)
    print(f"{args.clients} client processes x {args.peers} peers x {args.window} in flight, {args.seconds:.0f} s "
          f"per run, median of {rounds} rounds; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"Ed25519 sign+verify limit on one core: {limit:,.0f}/s (one verify + one sign per answered request)")
    print(f"{'tracker':<22}{'answered/s':>12}{'vs py':>8}{'/ limit':>9}{'CPU us/req':>12}{'loop':>7}{'workers':>9}"
          f"{'cores':>7}{'client cores':>14}{'resent':>8}")
    medians = {server: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
               for server, runs in results.items()}
    reference = medians.get("py-ipv8", medians[servers[0]])["answered_per_s"]
    for server in servers:
        m = medians[server]
        label = server if not server.endswith("+threads") else f"ipv8fast +{THREADS} thr"
        print(f"{label:<22}{m['answered_per_s']:>12,.0f}{m['answered_per_s'] / reference:>7.2f}x"
              f"{m['answered_per_s'] / limit:>8.2f}x{m['server_us']:>12.1f}{m['loop_us']:>7.1f}{m['worker_us']:>9.1f}"
              f"{m['server_cores']:>7.2f}"
              f"{m['client_cores']:>14.2f}{m['resent']:>8.0f}")
    if "ipv8fast" in medians and "ipv8fast+threads" in medians:
        print("threads vs inline: "
              f"{medians['ipv8fast+threads']['answered_per_s'] / medians['ipv8fast']['answered_per_s']:.2f}x")


if __name__ == "__main__":
    main()
