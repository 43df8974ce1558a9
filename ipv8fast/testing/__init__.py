"""Test helpers for users' own overlay test suites (py-ipv8's ``ipv8.test.base`` and ``ipv8.test.mocking``).

Porting a py-ipv8 test suite means changing its imports to this package (or running it under
``ipv8fast.compat``). :class:`LossyEndpoint` (seeded drop/delay/duplicate/reorder) is ipv8fast's own, and so
are the submodules (not imported here): :mod:`.loopback` (scale scenarios on 127.0.0.1: a node configuration,
``converge``, ``run_population``) and :mod:`.implementations` (py-ipv8 and ipv8fast module paths side by side).
"""
from .base import TestBase, TranslatedMockEndpointListener
from .community import DEFAULT_COMMUNITY_SETTINGS, MockCommunity
from .discovery import MockWalk
from .endpoint import (
    AddressTester,
    AutoMockEndpoint,
    LossyEndpoint,
    MockEndpoint,
    MockEndpointListener,
    crash_event_loop,
    internet,
)
from .ipv8 import MockIPv8, MockTunnelEndpoint

__all__ = ["DEFAULT_COMMUNITY_SETTINGS", "AddressTester", "AutoMockEndpoint", "LossyEndpoint", "MockCommunity",
           "MockEndpoint", "MockEndpointListener", "MockIPv8", "MockTunnelEndpoint", "MockWalk", "TestBase",
           "TranslatedMockEndpointListener", "crash_event_loop", "internet"]
