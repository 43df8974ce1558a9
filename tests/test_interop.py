"""Live interop on 127.0.0.1: a py-ipv8 Community in a subprocess and an ipv8fast Community in this process.

They find each other by walk_to, list each other in get_peers(), run signed request/response with
RequestCache + retrieve_cache in both directions and exchange unsigned notes both ways.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ipv8fast._core import cryptopool

from _loop import LoopHarness

pytest.importorskip("ipv8", reason="pyipv8 (the reference implementation) is a test dependency")

from interop_node import make_node

NODE_SCRIPT = Path(__file__).parent / "interop_node.py"
COMMUNITY_ID = bytes.fromhex("1f2e3d4c5b6a79880102030405060708090a0b0c")


class Remote:
    """The py-ipv8 node process, one JSON command and answer per line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def read(self, timeout: float = 15.0) -> dict:
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)  # type: ignore[union-attr]
        assert line, "the py-ipv8 node exited"
        return json.loads(line)

    async def call(self, **command: Any) -> dict:
        self.process.stdin.write((json.dumps(command) + "\n").encode())  # type: ignore[union-attr]
        await self.process.stdin.drain()  # type: ignore[union-attr]
        return await self.read()


async def eventually(check: Callable[[], Any], what: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("crypto_threads", [0, 1])
@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
def test_live_interop_with_py_ipv8(loop_kind: str, crypto_threads: int) -> None:
    harness = LoopHarness(uvloop=loop_kind == "uvloop")
    baseline = cryptopool.live_threads()

    async def scenario() -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(NODE_SCRIPT.parent), *sys.path])}
        process = await asyncio.create_subprocess_exec(sys.executable, str(NODE_SCRIPT), "ipv8", COMMUNITY_ID.hex(),
                                                       stdin=asyncio.subprocess.PIPE,
                                                       stdout=asyncio.subprocess.PIPE, env=env)
        remote = Remote(process)
        ours = None
        try:
            remote_port = (await remote.read(30.0))["port"]
            ours = await make_node("ipv8fast", COMMUNITY_ID)()
            our_port = ours.endpoint.get_address()[1]
            ours.endpoint.crypto_threads = crypto_threads  # signatures checked on a worker thread (compiled twin)
            ours.endpoint._start_crypto_pool(asyncio.get_running_loop())
            assert (ours.endpoint._crypto_pool is not None) == (crypto_threads > 0 and cryptopool.AVAILABLE)

            # discovery both ways
            ours.walk_to(("127.0.0.1", remote_port))
            await remote.call(cmd="walk", port=our_port)

            async def remote_knows_us() -> bool:
                return our_port in (await remote.call(cmd="status"))["peers"]

            await eventually(lambda: [p.address[1] for p in ours.get_peers()] == [remote_port], "our peer list")
            await eventually(remote_knows_us, "py-ipv8's peer list")

            # signed request/response with RequestCache + retrieve_cache, both directions
            assert ours.send_requests(21) == 1
            await eventually(lambda: ours.answers == [42], "the answer to our request")
            assert (await remote.call(cmd="request", value=5))["sent"] == 1

            async def remote_answered() -> bool:
                return (await remote.call(cmd="status"))["answers"] == [10]

            await eventually(remote_answered, "the answer to py-ipv8's request")
            assert ours.served == 1

            # unsigned messages both ways
            assert ours.send_notes("from ipv8fast") == 1
            assert (await remote.call(cmd="note", text="from py-ipv8"))["sent"] == 1
            await eventually(lambda: ours.notes == ["from py-ipv8"], "py-ipv8's note")

            async def remote_noted() -> bool:
                return (await remote.call(cmd="status"))["notes"] == ["from ipv8fast"]

            await eventually(remote_noted, "our note")
            assert sum(ours.drops.values()) == 0, ours.drops
        finally:
            if ours is not None:
                await ours.unload()
                ours.endpoint.close()
            if process.returncode is None:
                try:
                    process.stdin.write(b'{"cmd": "quit"}\n')  # type: ignore[union-attr]
                    await asyncio.wait_for(process.wait(), 10.0)
                except (asyncio.TimeoutError, ConnectionError):
                    process.kill()
                    await process.wait()

    try:
        harness.run(scenario(), timeout=60.0)
    finally:
        harness.close()
    assert harness.errors == []
    assert cryptopool.live_threads() == baseline
