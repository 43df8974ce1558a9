"""TestBase (py-ipv8's ``ipv8.test.base``; spec api.md §22.4): many MockIPv8 nodes on the mock internet.

Differences from py-ipv8: ``deliver_messages`` returns as soon as the mock internet is quiet (no datagram
in flight and no foreground task, seen twice 10 ms apart) instead of usually sleeping its whole timeout;
the watchdog is a timer on the test's own loop rather than a process-killing thread.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import unittest
import uuid
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from .._core.wire import MESSAGE_ID_OFFSET
from ..community import Community, CommunitySettings
from ..lan_addresses import get_providers
from ..lazy import lazy_wrapper, lazy_wrapper_unsigned
from ..peer import Peer
from .endpoint import MockEndpointListener, in_flight, internet
from .ipv8 import MockIPv8

__all__ = ["TestBase", "TranslatedMockEndpointListener"]

OT = TypeVar("OT", bound=Community)


def _fragile_on_packet(overlay: Any, packet: tuple[Any, bytes], warn_unknown: bool = True) -> None:
    """No prefix check, no exception handling: handler errors reach the loop and fail the test."""
    result = overlay.decode_map[packet[1][MESSAGE_ID_OFFSET]](*packet)
    if asyncio.iscoroutine(result):
        overlay.register_anonymous_task("on_packet", asyncio.ensure_future(result))


class TranslatedMockEndpointListener(MockEndpointListener):
    """Decodes the single-payload messages an overlay's endpoint receives into ``received_messages``."""

    def __init__(self, overlay: Community, message_classes: list[type], message_filter: list | None = None,
                 main_thread: bool = False) -> None:
        self.overlay = overlay
        self.classes = {getattr(cls, "msg_id"): cls for cls in message_classes}  # noqa: B009 - payload classes
        self.message_filter = None if message_filter is None else {getattr(m, "msg_id", m) for m in message_filter}
        self.received_messages: list[Any] = []
        super().__init__(overlay.endpoint, main_thread)

    def on_packet(self, packet: tuple[Any, bytes]) -> None:
        address, data = packet
        prefix = self.overlay.get_prefix()
        if not data.startswith(prefix) or len(data) <= len(prefix):
            return
        msg_id = data[len(prefix)]
        if self.message_filter is not None and msg_id not in self.message_filter:
            return
        cls = self.classes.get(msg_id)
        assert cls is not None, f"Received unexpected message id {msg_id}"

        def trap(_: Any, sender: Any, *payloads: Any) -> None:
            self.received_messages.append(payloads[0])

        try:
            lazy_wrapper(cls)(trap)(self.overlay, address, data)
        except Exception:  # noqa: BLE001 - not signed: try the unsigned form
            lazy_wrapper_unsigned(cls)(trap)(self.overlay, address, data)


class TestBase(unittest.IsolatedAsyncioTestCase, Generic[OT]):
    """Base class for overlay tests: ``initialize(Cls, n)``, then drive and inspect the nodes."""

    MAX_TEST_TIME = 10
    __testing__ = True
    __lockup_timestamp__ = 0.0

    def __init__(self, methodName: str = "runTest") -> None:  # noqa: N803
        super().__init__(methodName)
        internet.clear()
        self.nodes: list[MockIPv8] = []
        self.overlay_class: type[OT] = Community  # type: ignore[assignment]
        self.production_overlay_classes: list[type] = []
        self._tempdirs: list[str] = []
        self._uncaught_async_failure: dict[str, Any] | None = None
        self._watchdog: asyncio.TimerHandle | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        runner = getattr(self, "_asyncioRunner", None)
        if runner is not None:
            return runner.get_loop()
        return self._asyncioTestLoop  # type: ignore[attr-defined]

    def _run_in_context(self, func: Any) -> None:
        context = getattr(self, "_asyncioTestContext", None)
        if context is not None:
            context.run(func)
        else:
            self._callTestMethod(func)  # type: ignore[attr-defined]  # IsolatedAsyncioTestCase internals

    def _callSetUp(self) -> None:  # noqa: N802 - unittest hook: setUp may be sync or async
        if asyncio.iscoroutinefunction(self.setUp):
            self._callAsync(self.setUp)  # type: ignore[attr-defined]
        else:
            self._run_in_context(self.setUp)
        self._callAsync(self.asyncSetUp)  # type: ignore[attr-defined]

    def _callTearDown(self) -> None:  # noqa: N802
        self._callAsync(self.asyncTearDown)  # type: ignore[attr-defined]
        if asyncio.iscoroutinefunction(self.tearDown):
            self._callAsync(self.tearDown)  # type: ignore[attr-defined]
        else:
            self._run_in_context(self.tearDown)

    def _on_loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if self._uncaught_async_failure is None:
            self._uncaught_async_failure = context
        loop.default_exception_handler(context)

    def setUp(self) -> None:
        super().setUp()
        loop = self.loop
        loop.set_debug(True)
        loop.set_exception_handler(self._on_loop_exception)
        get_providers().clear()
        TestBase.__lockup_timestamp__ = loop.time()
        self._watchdog = loop.call_later(self.MAX_TEST_TIME, self._lockup)

    def _lockup(self) -> None:
        self._on_loop_exception(self.loop, {"message": "test exceeded MAX_TEST_TIME",
                                            "exception": TimeoutError(f"test ran longer than {self.MAX_TEST_TIME} s")})
        for task in asyncio.all_tasks(self.loop):
            if task is not asyncio.current_task(self.loop):
                task.cancel()

    async def tearDown(self) -> None:  # type: ignore[override]  # py-ipv8's TestBase: an async tearDown
        if self._watchdog is not None:
            self._watchdog.cancel()
        try:
            for node in self.nodes:
                await node.stop()
            internet.clear()
            for path in self._tempdirs:
                shutil.rmtree(path, ignore_errors=True)
            self._tempdirs = []
            await asyncio.sleep(0)
            if self._uncaught_async_failure is not None:
                failure, self._uncaught_async_failure = self._uncaught_async_failure, None
                raise failure.get("exception") or AssertionError(failure.get("message"))
        finally:
            self.loop.set_exception_handler(None)
        super().tearDown()

    # --- nodes ---

    def initialize(self, overlay_class: type[OT], node_count: int, settings: CommunitySettings | None = None,
                   create_dht: bool = False, enable_statistics: bool = False) -> None:
        self.overlay_class = overlay_class
        self.nodes = [self.create_node(settings, create_dht, enable_statistics) for _ in range(node_count)]
        for node in self.nodes:
            for other in self.nodes:
                if other is not node:
                    peer = Peer(other.my_peer.public_key.key_to_bin(), other.my_peer.address)
                    node.network.add_verified_peer(peer)
                    node.network.discover_services(peer, [overlay_class.community_id])
        for index in range(node_count):
            self.patch_overlays(index)

    def create_node(self, settings: CommunitySettings | None = None, create_dht: bool = False,
                    enable_statistics: bool = False) -> MockIPv8:
        return MockIPv8("low", self.overlay_class, settings, create_dht, enable_statistics)

    def add_node_to_experiment(self, node: MockIPv8) -> None:
        for other in self.nodes:
            peer = Peer(other.my_peer.public_key.key_to_bin(), other.my_peer.address)
            node.network.add_verified_peer(peer)
            node.network.discover_services(peer, [other.overlay.community_id])
        self.nodes.append(node)

    def _patch_overlay(self, overlay: Any) -> None:
        if overlay is not None and overlay.__class__ not in self.production_overlay_classes:
            overlay.on_packet = lambda packet, warn_unknown=True: _fragile_on_packet(overlay, packet, warn_unknown)

    def patch_overlays(self, i: int) -> None:
        node = self.nodes[i]
        for overlay in [node.overlay, node.dht, *node.overlays]:
            self._patch_overlay(overlay)

    # --- messaging ---

    @staticmethod
    def is_background_task(task: asyncio.Task) -> bool:
        name = task.get_name()
        return name.endswith("_check_tasks") or name.endswith(":discover_lan_addresses")

    async def deliver_messages(self, timeout: float = 0.1) -> None:
        """Wait until no datagram is in flight and no foreground task runs (twice), at most ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        current = asyncio.current_task()
        quiet = 0
        while loop.time() < deadline:
            await asyncio.sleep(0.01)
            busy = in_flight() > 0 or any(task is not current and not task.done() and not self.is_background_task(task)
                                          for task in asyncio.all_tasks())
            quiet = 0 if busy else quiet + 1
            if quiet >= 2:
                return

    async def introduce_nodes(self) -> None:
        for node in self.nodes:
            for other in self.nodes:
                if other is not node:
                    node.overlay.walk_to(other.endpoint.wan_address)
        await self.deliver_messages()

    def temporary_directory(self) -> str:
        path = os.path.join(os.getcwd(), f"{type(self).__name__}_temp_{uuid.uuid4().hex}")
        os.makedirs(path)
        self._tempdirs.append(path)
        return path

    # --- shortcuts ---

    def address(self, i: int) -> Any:
        return self.peer(i).address

    def endpoint(self, i: int) -> Any:
        return self.nodes[i].endpoint

    def key_bin(self, i: int) -> bytes:
        return self.my_peer(i).public_key.key_to_bin()

    def key_bin_private(self, i: int) -> bytes:
        return self.my_peer(i).key.key_to_bin()

    def mid(self, i: int) -> bytes:
        return self.my_peer(i).mid

    def my_peer(self, i: int) -> Peer:
        return self.overlay(i).my_peer

    def network(self, i: int) -> Any:
        return self.nodes[i].network

    def node(self, i: int) -> MockIPv8:
        return self.nodes[i]

    def overlay(self, i: int) -> OT:
        return self.nodes[i].overlay  # type: ignore[return-value]  # built from self.overlay_class

    def peer(self, i: int) -> Peer:
        return Peer(self.key_bin(i), self.endpoint(i).wan_address)

    def private_key(self, i: int) -> Any:
        return self.my_peer(i).key

    def public_key(self, i: int) -> Any:
        return self.my_peer(i).public_key

    @contextlib.contextmanager
    def assertReceivedBy(self, i: int, message_classes: list[type], ordered: bool = True,  # noqa: N802
                         message_filter: list | None = None) -> Iterator[list[Any]]:
        """Collect the payloads node ``i`` receives in the block; then compare with ``message_classes``."""
        listener = TranslatedMockEndpointListener(self.overlay(i), message_classes, message_filter)
        try:
            yield listener.received_messages
        finally:
            self.endpoint(i).remove_listener(listener)
        received = [type(message) for message in listener.received_messages]
        if ordered:
            self.assertListEqual(list(message_classes), received)
        else:
            counts = {cls: message_classes.count(cls) for cls in message_classes}
            self.assertDictEqual(counts, {cls: received.count(cls) for cls in set(received) | set(counts)})
