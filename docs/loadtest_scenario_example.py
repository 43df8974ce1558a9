"""A load-test scenario for your own community, written against py-ipv8's API: it runs on both libraries.

    python -m ipv8fast loadtest --scenario docs/loadtest_scenario_example.py:LookupScenario --compare
    python -m ipv8fast loadtest --scenario docs/loadtest_scenario_example.py:LookupScenario --processes 2

The community below is an ordinary py-ipv8 community (a signed lookup: a key goes out, its SHA-256 digest
comes back and is checked against the request's cache); only ``LookupScenario`` is about load testing.
Under ipv8fast, the ``ipv8.*`` imports are served by ipv8fast (``ipv8fast.compat``); under ``--impl pyipv8``
they are py-ipv8's own. See ``ipv8fast/testing/scenario.py`` for the API.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ipv8.community import Community
from ipv8.lazy_community import lazy_wrapper
from ipv8.messaging.payload_dataclass import DataClassPayload
from ipv8.requestcache import RandomNumberCacheWithName, RequestCache


@dataclass
class Lookup(DataClassPayload[1]):
    identifier: int
    key: str


@dataclass
class Answer(DataClassPayload[2]):
    identifier: int
    digest: bytes


class PendingLookup(RandomNumberCacheWithName):
    """One lookup in flight: what the answer must be, and the load handle to report to."""

    name = "lookup"

    def __init__(self, request_cache, key, load):
        super().__init__(request_cache, self.name)
        self.expected = hashlib.sha256(key.encode()).digest()
        self.load = load

    @property
    def timeout_delay(self):
        return 5.0

    def on_timeout(self):
        self.load.lost()


class LookupCommunity(Community):
    community_id = b"loadtest-lookup-demo"  # 20 bytes

    def __init__(self, settings):
        super().__init__(settings)
        self.pending = RequestCache()  # not called request_cache, so the scenario says where it is (below)
        self.counter = 0
        self.wrong = 0
        self.add_message_handler(Lookup, self.on_lookup)
        self.add_message_handler(Answer, self.on_answer)

    def lookup(self, peer, load):
        self.counter += 1
        key = f"item-{self.counter}"
        cache = self.pending.add(PendingLookup(self.pending, key, load))
        self.ez_send(peer, Lookup(cache.number, key))

    @lazy_wrapper(Lookup)
    def on_lookup(self, peer, payload):
        self.ez_send(peer, Answer(payload.identifier, hashlib.sha256(payload.key.encode()).digest()))

    @lazy_wrapper(Answer)
    def on_answer(self, peer, payload):
        if not self.pending.has(PendingLookup.name, payload.identifier):
            return  # late or unknown: its cache already timed out
        cache = self.pending.pop(PendingLookup.name, payload.identifier)
        if payload.digest != cache.expected:
            self.wrong += 1
            cache.load.lost()
        else:
            cache.load.answered()


class LookupScenario:
    """The load test: every peer looks keys up at its neighbours."""

    name = "lookup"

    def create_community(self, settings):
        return LookupCommunity(settings)

    def send_request(self, community, peer, load):
        community.lookup(peer, load)

    def request_cache(self, community):
        return community.pending
