"""Community throughput, ipv8fast side by side with py-ipv8 in one process on 127.0.0.1, ratios printed.

    python bench/bench_community.py            # N = 20 000 messages per case, 5 repetitions
    python bench/bench_community.py --quick    # N = 5 000, 3 repetitions

Cases (two communities of the same library, one sending to the other over loopback UDP, on uvloop):
``unsigned`` messages handled/s, ``signed`` messages handled/s, ``roundtrip`` signed request/response
round trips/s (RequestCache + retrieve_cache, 64 in flight). Each library runs every case once to warm up,
then the repetitions alternate between the libraries and the median is reported. ``ipv8fast`` runs twice:
with signatures verified inline on the loop thread (``crypto_threads`` 0) and with ``ipv8fast+threads``
(``--threads``, default one per core beyond the first: worker-thread verification). ``latency`` is the
median and p99 of one signed round trip at a time (low load). The Ed25519
``sign+verify`` limit is measured after every round of repetitions with the fastest primitives installed
(ipv8fast's active backend in a tight loop, best of 3 short passes; the median of those is reported), and
the signed cases are also reported against it.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from typing import Any

# Run as a script, the checkout's own ipv8fast comes first (not another one installed).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ipv8fast.testing.implementations import import_modules, loopback_settings

BURST = 256
IMPLS = ("ipv8", "ipv8fast", "ipv8fast+threads")
THREADS = max(1, (os.cpu_count() or 1) - 1)
LATENCY_SAMPLES = 1000
CASES = ("unsigned", "signed", "roundtrip")


def build(impl: str) -> Any:
    threads = THREADS if impl.endswith("+threads") else 0
    impl = impl.partition("+")[0]
    m = import_modules(impl)
    lazy = m["lazy"]

    @m["payload"].vp_compile
    class Message(m["payload"].VariablePayload):
        msg_id = 5
        format_list = ["I", "varlenH"]
        names = ["identifier", "body"]

    class Response(Message):
        msg_id = 6

    class Pending(m["cache"].RandomNumberCacheWithName):
        name = "bench"

        def __init__(self, request_cache: Any) -> None:
            super().__init__(request_cache, self.name)

        def on_timeout(self) -> None:
            pass

    class BenchCommunity(m["community"].Community):
        community_id = bytes(range(40, 60))

        def __init__(self, settings: Any) -> None:
            super().__init__(settings)
            self.request_cache = m["cache"].RequestCache()
            self.count = 0
            self.waiter: Any = None
            self.add_message_handler(5, self.on_signed)
            self.add_message_handler(6, self.on_response)
            self.add_message_handler(7, self.on_unsigned)
            self.add_message_handler(8, self.on_request)

        @lazy.lazy_wrapper(Message)
        def on_signed(self, peer: Any, payload: Any) -> None:
            self.count += 1

        @lazy.lazy_wrapper_unsigned(Message)
        def on_unsigned(self, address: Any, payload: Any) -> None:
            self.count += 1

        @lazy.lazy_wrapper(Message)
        def on_request(self, peer: Any, payload: Any) -> None:
            self.ez_send(peer, Response(payload.identifier, b"pong"))

        @lazy.lazy_wrapper(Response)
        @lazy.retrieve_cache(Pending)
        def on_response(self, peer: Any, payload: Any, cache: Any) -> None:
            self.count += 1
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(None)

    class Request(Message):
        msg_id = 8

    class Unsigned(Message):
        msg_id = 7

    async def node() -> Any:
        return BenchCommunity(await loopback_settings(m, **({"crypto_threads": threads} if threads else {})))

    return node, {False: Unsigned, True: Message}, Request, Pending, m["peer"].Peer


async def until(predicate: Any, timeout: float = 5.0) -> bool:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(0)
    return True


async def open_pair(impl: str) -> tuple[Any, ...]:
    make, message, request, pending, peer_class = build(impl)
    sender, receiver = await make(), await make()
    for node in (sender, receiver):
        node.cancel_pending_task("discover_lan_addresses")
    to_receiver = peer_class(receiver.my_peer.public_key.key_to_bin(),
                             ("127.0.0.1", receiver.endpoint.get_address()[1]))
    to_sender = peer_class(sender.my_peer.public_key.key_to_bin(), ("127.0.0.1", sender.endpoint.get_address()[1]))
    receiver.network.add_verified_peer(to_sender)
    return sender, receiver, to_receiver, message, request, pending


async def close_pair(pair: tuple[Any, ...]) -> None:
    for node in pair[:2]:
        await node.request_cache.shutdown()
        await node.unload()
        node.endpoint.close()


async def run_cases(pair: tuple[Any, ...], n: int) -> dict[str, float]:
    """One pass of every case: messages (or round trips) per second."""
    sender, receiver, to_receiver, message, request, pending = pair
    results = {}
    for case, sig in (("unsigned", False), ("signed", True)):
        receiver.count = 0
        start = time.perf_counter()
        sent = 0
        while sent < n:
            for _ in range(min(BURST, n - sent)):
                sender.ez_send(to_receiver, message[sig](sent, b"x" * 32), sig=sig)
                sent += 1
            await until(lambda s=sent: receiver.count >= s - BURST // 2, 2.0)
        await until(lambda: receiver.count >= n, 5.0)
        results[case] = receiver.count / (time.perf_counter() - start)
    sender.count = 0
    start = time.perf_counter()
    total = max(n // 4, 64)
    done = 0
    while done < total:
        for _ in range(min(64, total - done)):
            cache = sender.request_cache.add(pending(sender.request_cache))
            sender.ez_send(to_receiver, request(cache.number, b"ping"))
            done += 1
        await until(lambda d=done: sender.count >= d, 5.0)
    results["roundtrip"] = sender.count / (time.perf_counter() - start)
    return results


async def round_trip_latencies(pair: tuple[Any, ...], samples: int) -> list[float]:
    """Seconds of ``samples`` signed round trips, one at a time."""
    sender, receiver, to_receiver, message, request, pending = pair
    loop = asyncio.get_running_loop()
    latencies = []
    for _ in range(samples):
        sender.waiter = loop.create_future()
        cache = sender.request_cache.add(pending(sender.request_cache))
        start = time.perf_counter()
        sender.ez_send(to_receiver, request(cache.number, b"ping"))
        await asyncio.wait_for(sender.waiter, 5.0)
        latencies.append(time.perf_counter() - start)
        await asyncio.sleep(0.0005)  # low load: the loop goes idle between round trips
    sender.waiter = None
    return latencies


async def run_all(n: int, repeat: int) -> tuple[dict[str, dict[str, float]], list[float],
                                                dict[str, list[float]]]:
    """Every library's passes (median per case), the libraries alternating pass by pass, and the Ed25519
    limit measured right after each round of passes (so machine noise hits both alike)."""
    pairs = {impl: await open_pair(impl) for impl in IMPLS}
    for impl in IMPLS:
        await run_cases(pairs[impl], max(n // 5, 500))  # warm-up
    passes: dict[str, list[dict[str, float]]] = {impl: [] for impl in IMPLS}
    limits = []
    for _ in range(repeat):
        for impl in IMPLS:
            passes[impl].append(await run_cases(pairs[impl], n))
        limits.append(sign_verify_limit(n // 2))
    latencies: dict[str, list[float]] = {impl: [] for impl in IMPLS}
    for _ in range(repeat):
        for impl in IMPLS:
            latencies[impl] += await round_trip_latencies(pairs[impl], LATENCY_SAMPLES // repeat)
    for pair in pairs.values():
        await close_pair(pair)
    medians = {impl: {case: statistics.median(p[case] for p in passes[impl]) for case in CASES} for impl in IMPLS}
    return medians, limits, latencies


def sign_verify_limit(n: int) -> float:
    """Ed25519 sign + verify per second with the fastest primitives installed (ipv8fast's active backend)
    in a tight loop: best of 3 passes of ``n // 3``."""
    from ipv8fast._core import signing as _ed25519

    seed = os.urandom(32)
    sign = _ed25519.ACTIVE.make_signer(seed)
    verify = _ed25519.ACTIVE.make_verifier(
        __import__("cryptography.hazmat.primitives.asymmetric.ed25519", fromlist=["Ed25519PrivateKey"])
        .Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw())
    message = b"m" * 140  # about the signed part of a benchmark message
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n // 3):
            verify(sign(message), message)
        best = max(best, (n // 3) / (time.perf_counter() - start))
    return best


def main() -> None:
    global THREADS
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=None, help="passes per library (median reported)")
    parser.add_argument("--threads", type=int, default=THREADS, help="crypto_threads of ipv8fast+threads")
    args = parser.parse_args()
    THREADS = args.threads
    n = 5_000 if args.quick else 20_000
    repeat = args.repeat or (3 if args.quick else 5)
    import uvloop

    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    results, limits, latencies = loop.run_until_complete(run_all(n, repeat))
    limit = statistics.median(limits)
    from ipv8fast._core import signing as _ed25519
    from ipv8fast._core import twins as _twins

    caller = "from C" if _twins.ACTIVE.get("ed25519") and _ed25519.BACKEND == "libsodium" else "from Python"
    print(f"Ed25519 sign+verify limit here ({_ed25519.BACKEND}, {caller}): {limit:,.0f}/s "
          f"(median of {repeat}: {', '.join(f'{x:,.0f}' for x in limits)})   N = {n}, median of {repeat} passes")
    print(f"{'case':<12}{'py-ipv8':>12}{'ipv8fast':>12}{f'+{THREADS} thr':>12}{'ratio':>8}{'thr ratio':>10}"
          f"{'py / limit':>12}{'fast / limit':>14}{'thr / limit':>13}")
    for case in CASES:
        ref, fast, threaded = (results[impl][case] for impl in IMPLS)
        scale = 1 if case != "roundtrip" else 0.5  # a round trip is two signed messages
        print(f"{case:<12}{ref:>12,.0f}{fast:>12,.0f}{threaded:>12,.0f}{fast / ref:>7.2f}x{threaded / ref:>9.2f}x"
              + (f"{ref / (limit * scale):>11.2f}x{fast / (limit * scale):>13.2f}x"
                 f"{threaded / (limit * scale):>12.2f}x" if case != "unsigned" else ""))
    print("signed round trip, one at a time (us):  " + "   ".join(
        f"{impl} median {1e6 * statistics.median(values):,.0f} p99 "
        f"{1e6 * sorted(values)[int(0.99 * (len(values) - 1))]:,.0f}" for impl, values in latencies.items()))
    loop.close()


if __name__ == "__main__":
    main()
