"""Grammar fuzzing (ipv8fast.testing.fuzz) of a live community on 127.0.0.1, on both receive twins.

Mutants of every message type the node handles (discovery, signed and unsigned community messages, a
request/response through a RequestCache): nothing escapes, no handler sees a packet whose signature is
wrong, RSS stays flat, honest pings keep completing. IPV8FAST_FUZZ_COUNT sets the number (default 20 000);
bench/bench_fuzz.py is the long version.
"""
from __future__ import annotations

import os
from types import ModuleType

import fuzz_scenario
import pytest

from ipv8fast.messages import BinMemberAuthenticationPayload
from ipv8fast.testing.fuzz import OPERATORS, Mutator, describe, rss_is_meaningful

from _loop import LoopHarness

COUNT = int(os.environ.get("IPV8FAST_FUZZ_COUNT", "20000"))


def test_fuzz_live_node(receive_twin: ModuleType) -> None:
    harness = LoopHarness(uvloop=True)
    try:
        outcome = harness.run(fuzz_scenario.run(COUNT, time_limit=40.0), timeout=90.0)
        assert harness.errors == []
    finally:
        harness.close()
    stats = outcome.stats
    assert stats.sent == COUNT, stats
    assert set(stats.by_operator) >= set(OPERATORS), stats.by_operator
    assert set(stats.by_template) == set(outcome.templates)
    assert outcome.listener_errors == 0
    assert outcome.bad_handler_calls == 0
    assert outcome.drops.get("handler_error", 0) == 0, outcome.drops
    for reason in ("bad_signature", "bad_key", "malformed", "unknown_message"):
        assert outcome.drops.get(reason, 0) > 0, (reason, outcome.drops)
    assert outcome.resigned_handler_calls > 0 and outcome.unsigned_calls > 0  # hostile but authentic content
    assert outcome.honest_completed >= 0.95 * outcome.honest_sent, (outcome.honest_completed, outcome.honest_sent)
    assert outcome.rss_end_kib - outcome.rss_warm_kib < 20_000 or not rss_is_meaningful(), outcome


def test_describe_cuts_every_field() -> None:
    from ipv8fast.community import CommunitySettings
    from ipv8fast.keys import default_eccrypto
    from ipv8fast.network import Network
    from ipv8fast.peer import Peer
    from ipv8fast.testing.endpoint import AutoMockEndpoint

    harness = LoopHarness()
    community = fuzz_scenario.FuzzCommunity(CommunitySettings(
        my_peer=Peer(default_eccrypto.generate_key("curve25519")), endpoint=AutoMockEndpoint(), network=Network()))
    try:
        _check_describe(community)
    finally:
        harness.run(community.unload())
        harness.close()


def _check_describe(community: fuzz_scenario.FuzzCommunity) -> None:
    template = describe("ping", community.ezr_pack(1, fuzz_scenario.Ping(3, 4, b"xyz")),
                        [BinMemberAuthenticationPayload, fuzz_scenario.Ping], True)
    kinds = [(f.name, f.kind, f.end - f.start) for f in template.fields]
    assert kinds == [("prefix", "prefix", 22), ("msg_id", "msg_id", 1), ("auth.public_key_bin", "key", 76),
                     ("Ping.identifier", "int", 4), ("Ping.nonce", "int", 8), ("Ping.data", "varlen", 5),
                     ("signature", "signature", 64)]
    mutator = Mutator([template], seed=1)
    mutants = [mutator.mutate() for _ in range(2000)]
    assert all(m.data != template.packet for m in mutants)
    assert {m.operator for m in mutants} == set(OPERATORS)
    assert all(m.may_verify == (m.operator in ("resigned", "random")) for m in mutants)
    with pytest.raises(ValueError, match="at least one template"):
        Mutator([])
