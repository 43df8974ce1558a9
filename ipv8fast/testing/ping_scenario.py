"""The built-in load of ``python -m ipv8fast loadtest``: signed ping / pong, one RandomNumberCache per request.

Written against py-ipv8's names like any user scenario (see :mod:`ipv8fast.testing.scenario`): the loadtest
children load this file by path, the ipv8fast one with :mod:`ipv8fast.compat` installed, the py-ipv8 one
with the real py-ipv8. Do not import it elsewhere: without the alias, ``ipv8.*`` is py-ipv8.
"""
from __future__ import annotations

from typing import Any

from ipv8.community import Community
from ipv8.lazy_community import lazy_wrapper, retrieve_cache
from ipv8.messaging.lazy_payload import VariablePayload, vp_compile
from ipv8.requestcache import RandomNumberCacheWithName, RequestCache

#: Seconds before an unanswered ping counts as lost.
REQUEST_TIMEOUT = 5.0


@vp_compile
class Ping(VariablePayload):
    msg_id = 1
    format_list = ["I", "I"]
    names = ["identifier", "sequence"]


@vp_compile
class Pong(VariablePayload):
    msg_id = 2
    format_list = ["I", "I"]
    names = ["identifier", "sequence"]


class PendingPing(RandomNumberCacheWithName):
    name = "loadtest-request"
    timeout_delay = REQUEST_TIMEOUT

    def __init__(self, request_cache: Any, load: Any) -> None:
        super().__init__(request_cache, self.name)
        self.load = load

    def on_timeout(self) -> None:
        self.load.lost()


class PingCommunity(Community):
    community_id = b"ipv8fast-loadtest-v1"

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.request_cache = RequestCache()
        self.sequence = 0
        self.add_message_handler(Ping, self.on_ping)
        self.add_message_handler(Pong, self.on_pong)

    def ping(self, peer: Any, load: Any) -> None:
        self.sequence += 1
        cache = self.request_cache.add(PendingPing(self.request_cache, load))
        self.ez_send(peer, Ping(cache.number, self.sequence))

    @lazy_wrapper(Ping)
    def on_ping(self, peer: Any, payload: Any) -> None:
        self.ez_send(peer, Pong(payload.identifier, payload.sequence))

    @lazy_wrapper(Pong)
    @retrieve_cache(PendingPing)
    def on_pong(self, peer: Any, payload: Any, cache: Any) -> None:
        cache.load.answered()


class PingScenario:
    """Every peer pings its neighbours; each pong completes one request."""

    name = "ping"

    def create_community(self, settings: Any) -> PingCommunity:
        return PingCommunity(settings)

    def send_request(self, community: PingCommunity, peer: Any, load: Any) -> None:
        community.ping(peer, load)
