"""One interop node, written once against py-ipv8's API and run on either library.

``python interop_node.py ipv8 <community id hex>`` runs a py-ipv8 node in its own process on 127.0.0.1,
driven by JSON lines on stdin (``walk``, ``request``, ``note``, ``status``, ``quit``) and answering with JSON
lines on stdout. ``make_node("ipv8fast", ...)`` builds the same node from ipv8fast inside the test process.
The node speaks the seed's request/response pattern: a signed request carrying a RequestCache number, a
signed response matched with ``retrieve_cache``, and an unsigned note. The module paths of either library
come from ``ipv8fast.testing.implementations`` (the py-ipv8 process imports the ipv8fast package for that
table, and runs py-ipv8 only).
"""
from __future__ import annotations

import asyncio
import json
import sys
import threading
from typing import Any

from ipv8fast.testing.implementations import import_modules, loopback_settings


def make_node(impl: str, community_id: bytes) -> Any:
    """An unopened node class instance factory for ``impl``: returns ``(node_class, endpoint_class, ...)``."""
    m = import_modules(impl)
    lazy_wrapper, lazy_wrapper_unsigned, retrieve_cache = (m["lazy"].lazy_wrapper, m["lazy"].lazy_wrapper_unsigned,
                                                           m["lazy"].retrieve_cache)

    @m["payload"].vp_compile
    class Request(m["payload"].VariablePayload):
        msg_id = 1
        format_list = ["I", "I"]
        names = ["identifier", "value"]

    @m["payload"].vp_compile
    class Response(m["payload"].VariablePayload):
        msg_id = 2
        format_list = ["I", "I"]
        names = ["identifier", "value"]

    @m["payload"].vp_compile
    class Note(m["payload"].VariablePayload):
        msg_id = 3
        format_list = ["varlenH"]
        names = ["text"]

    class PendingRequest(m["cache"].RandomNumberCacheWithName):
        name = "interop-request"

        def __init__(self, request_cache: Any, value: int) -> None:
            super().__init__(request_cache, self.name)
            self.value = value

        @property
        def timeout_delay(self) -> float:
            return 10.0

        def on_timeout(self) -> None:
            pass

    class InteropCommunity(m["community"].Community):
        def __init__(self, settings: Any) -> None:
            self.community_id = community_id
            super().__init__(settings)
            self.request_cache = m["cache"].RequestCache()
            self.answers: list[int] = []
            self.served = 0
            self.notes: list[str] = []
            self.add_message_handler(Request, self.on_request)
            self.add_message_handler(Response, self.on_response)
            self.add_message_handler(Note, self.on_note)

        def send_requests(self, value: int) -> int:
            peers = self.get_peers()
            for peer in peers:
                cache = self.request_cache.add(PendingRequest(self.request_cache, value))
                self.ez_send(peer, Request(cache.number, value))
            return len(peers)

        def send_notes(self, text: str) -> int:
            peers = self.get_peers()
            for peer in peers:
                self.ez_send(peer, Note(text.encode()), sig=False)
            return len(peers)

        @lazy_wrapper(Request)
        def on_request(self, peer: Any, payload: Any) -> None:
            self.served += 1
            self.ez_send(peer, Response(payload.identifier, payload.value * 2))

        @lazy_wrapper(Response)
        @retrieve_cache(PendingRequest)
        def on_response(self, peer: Any, payload: Any, cache: Any) -> None:
            assert payload.value == cache.value * 2
            self.answers.append(payload.value)

        @lazy_wrapper_unsigned(Note)
        def on_note(self, address: Any, payload: Any) -> None:
            self.notes.append(payload.text.decode())

        def status(self) -> dict:
            return {"peers": sorted(p.address[1] for p in self.get_peers()), "answers": self.answers,
                    "served": self.served, "notes": self.notes}

        async def unload(self) -> None:
            await self.request_cache.shutdown()
            await super().unload()

    async def start() -> Any:
        return InteropCommunity(await loopback_settings(m))

    return start


def handle(node: Any, command: dict) -> dict:
    kind = command["cmd"]
    if kind == "walk":
        node.walk_to(("127.0.0.1", command["port"]))
        return {"ok": True}
    if kind == "request":
        return {"sent": node.send_requests(command["value"])}
    if kind == "note":
        return {"sent": node.send_notes(command["text"])}
    return node.status()


async def serve(impl: str, community_id: bytes) -> None:
    if impl == "ipv8":
        from ipv8.messaging.interfaces.lan_addresses.interfaces import get_providers

        get_providers().clear()  # bound to loopback: never advertise the host's LAN address (as TestBase does)
    node = await make_node(impl, community_id)()
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue = asyncio.Queue()

    def reader() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(commands.put_nowait, json.loads(line))
        loop.call_soon_threadsafe(commands.put_nowait, {"cmd": "quit"})

    threading.Thread(target=reader, daemon=True).start()
    print(json.dumps({"port": node.endpoint.get_address()[1]}), flush=True)
    while True:
        try:
            command = await asyncio.wait_for(commands.get(), 60.0)
        except asyncio.TimeoutError:
            break
        if command["cmd"] == "quit":
            break
        print(json.dumps(handle(node, command)), flush=True)
    await node.unload()
    node.endpoint.close()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], bytes.fromhex(sys.argv[2])))
