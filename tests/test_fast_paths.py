"""The compiled receive and send paths behave exactly as the Python code they replace, on both twins:
lazy handlers called directly (also through ``retrieve_cache``), decorators stacked on top of them honoured,
``ezr_pack`` / ``ez_send`` overrides honoured, and the serializer's one-buffer ``pack_packet``."""
from __future__ import annotations

import functools
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from ipv8fast import lazy
from ipv8fast._core import twins
from ipv8fast.community import Community, CommunitySettings
from ipv8fast.envelope import join_packet
from ipv8fast.keys import default_eccrypto
from ipv8fast.lazy import lazy_wrapper, lazy_wrapper_unsigned, lazy_wrapper_wd, retrieve_cache
from ipv8fast.messages import BinMemberAuthenticationPayload
from ipv8fast.network import Network
from ipv8fast.payload import VariablePayload
from ipv8fast.peer import Peer
from ipv8fast.requestcache import NumberCache, RequestCache
from ipv8fast.serialization import PackError

from _endpoints import MemoryEndpoint
from _loop import LoopHarness
from payload_classes import Inner, Simple

SOURCE = ("127.0.0.1", 4000)


class Answer(VariablePayload):
    msg_id = 20
    format_list = ["I"]
    names = ["identifier"]


class Pending(NumberCache):
    name = "pending"

    def __init__(self, request_cache: RequestCache, number: int) -> None:
        super().__init__(request_cache, self.name, number)


def logged(calls: list) -> Any:
    """A decorator of the user's own, stacked on a lazy wrapper with functools.wraps (copies its __dict__)."""

    def decorator(func: Any) -> Any:
        @functools.wraps(func)
        def wrapper(self: Any, *args: Any) -> Any:
            calls.append(func.__name__)
            return func(self, *args)

        return wrapper

    return decorator


OUTER: list[str] = []


class Helper:
    """Handlers may be bound methods of another object than the community."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.serializer = None  # the owner's serializer is used: set from the community below
        self.network = None

    @lazy_wrapper(Simple)
    def on_simple(self, peer: Peer, payload: Simple) -> None:
        self.seen.append((type(self).__name__, payload.a))


class Subject(Community):
    community_id = bytes(range(60, 80))

    def __init__(self, settings: CommunitySettings) -> None:
        super().__init__(settings)
        self.request_cache = RequestCache()
        self.seen: list[Any] = []
        self.helper = Helper()
        self.helper.serializer, self.helper.network = self.serializer, self.network
        self.add_message_handler(1, self.on_signed)
        self.add_message_handler(2, self.on_signed_data)
        self.add_message_handler(3, self.on_unsigned)
        self.add_message_handler(4, self.on_stacked)
        self.add_message_handler(5, self.helper.on_simple)
        self.add_message_handler(Answer, self.on_answer)
        self.add_message_handler(21, self.on_answer_data)

    @lazy_wrapper(Simple)
    def on_signed(self, peer: Peer, payload: Simple) -> None:
        self.seen.append(("signed", peer.mid, payload.a))

    @lazy_wrapper_wd(Inner, Simple)
    def on_signed_data(self, peer: Peer, inner: Inner, simple: Simple, data: bytes) -> None:
        self.seen.append(("signed_data", inner.s, simple.b, len(data)))

    @lazy_wrapper_unsigned(Simple)
    def on_unsigned(self, address: Any, payload: Simple) -> None:
        self.seen.append(("unsigned", address, payload.a))

    @logged(OUTER)
    @lazy_wrapper(Simple)
    def on_stacked(self, peer: Peer, payload: Simple) -> None:
        self.seen.append(("stacked", payload.a))

    @lazy_wrapper(Answer)
    @retrieve_cache(Pending)
    def on_answer(self, peer: Peer, payload: Answer, cache: Pending) -> None:
        self.seen.append(("answer", payload.identifier, cache.number))

    @lazy_wrapper_wd(Answer)
    @retrieve_cache(Pending)
    def on_answer_data(self, peer: Peer, payload: Answer, data: bytes, cache: Pending) -> None:
        self.seen.append(("answer_data", payload.identifier, cache.number, len(data)))


@pytest.fixture
def loop() -> Iterator[LoopHarness]:
    harness = LoopHarness()
    yield harness
    harness.close()


def make(loop: LoopHarness) -> Subject:
    return Subject(CommunitySettings(my_peer=Peer(default_eccrypto.generate_key("curve25519")),
                                     endpoint=MemoryEndpoint(), network=Network()))


def flip_last_bit(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


def scenario(loop: LoopHarness, monkeypatch: pytest.MonkeyPatch) -> tuple[list, list, dict, list, list]:
    """Everything a community's handlers observe for a fixed set of datagrams."""
    OUTER.clear()
    failures: list[Any] = []
    monkeypatch.setattr(lazy, "cache_retrieval_failed", lambda overlay, cls: failures.append(cls.__name__))
    a, b = make(loop), make(loop)
    b.request_cache.add(Pending(b.request_cache, 7))
    b.request_cache.add(Pending(b.request_cache, 8))
    datagrams = [
        a.ezr_pack(1, Simple(1, 2, b"x")),
        a.ezr_pack(2, Inner(3, "inner"), Simple(4, 5, b"")),
        a.ezr_pack(3, Simple(6, 7, b""), sig=False),
        a.ezr_pack(4, Simple(8, 9, b"")),
        a.ezr_pack(5, Simple(10, 11, b"")),
        a.ezr_pack(20, Answer(7)),
        a.ezr_pack(20, Answer(7)),  # answered already: no cache any more
        a.ezr_pack(21, Answer(8)),
        flip_last_bit(a.ezr_pack(1, Simple(1, 2, b"x"))),  # forged
        a.ezr_pack(20, Answer(9))[:40],  # truncated
    ]
    for data in datagrams:
        b.on_packet((SOURCE, data))
    peers = [entry[1] for entry in b.seen if entry[0] == "signed"]
    assert peers == [a.my_peer.mid]
    return b.seen + b.helper.seen, list(OUTER), dict(b.drops), failures, [len(data) for data in datagrams]


def test_dispatch_twins_agree(loop: LoopHarness, receive_twin: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    seen, outer, drops, failures, sizes = scenario(loop, monkeypatch)
    assert seen == [("signed", seen[0][1], 1), ("signed_data", "inner", 5, sizes[1]), ("unsigned", SOURCE, 6),
                    ("stacked", 8), ("answer", 7, 7), ("answer_data", 8, 8, sizes[7]), ("Helper", 10)]
    assert outer == ["on_stacked"], "a decorator stacked on a lazy wrapper must run"
    assert failures == ["Pending"]
    assert drops == {"bad_signature": 1, "malformed": 1}


def test_both_receive_twins_see_the_same(loop: LoopHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    outcomes = []
    pair = twins.both("receive")
    if len(pair) < 2:
        pytest.skip("the compiled twin is not in use")
    for twin in pair:
        with monkeypatch.context() as patch:
            patch.setattr(Community, "on_packet", twin.dispatch)
            patch.setattr(lazy, "_peer_for", twin.peer_for)
            patch.setattr(lazy, "open_signed", twin.open_signed)
            patch.setattr(lazy, "open_unsigned", twin.open_unsigned)
            seen, outer, drops, failures, _ = scenario(loop, patch)
        outcomes.append(([entry[:1] + entry[2:] for entry in seen], outer, drops, failures))
    assert outcomes[0] == outcomes[1]


def test_send_twins(loop: LoopHarness, send_twin: ModuleType) -> None:
    a = make(loop)
    target = Peer(default_eccrypto.generate_key("curve25519").pub(), ("127.0.0.1", 4002))
    payload = Simple(1, 2, b"body")
    unsigned = a.ezr_pack(1, payload, sig=False)
    assert unsigned == a.get_prefix() + b"\x01" + a.serializer.pack_serializable(payload)
    signed = a.ezr_pack(1, payload)
    key_bin = a.my_peer.public_key.key_to_bin()
    body = (a.get_prefix() + b"\x01" + len(key_bin).to_bytes(2, "big") + key_bin
            + a.serializer.pack_serializable(payload))
    assert signed == body + a.my_peer.key.signature(body)
    assert a.my_peer.public_key.verify(signed[-64:], signed[:-64])
    a.ez_send(target, payload, sig=False)
    a.ez_send(target, payload)
    assert a.endpoint.sent == [(("127.0.0.1", 4002), unsigned), (("127.0.0.1", 4002), signed)]
    with pytest.raises(ValueError):
        a.ezr_pack(256, payload)
    with pytest.raises(IndexError):
        a.ez_send(target)


def test_send_overrides_are_honoured(loop: LoopHarness, send_twin: ModuleType) -> None:
    class OwnPack(Subject):
        def _ez_pack(self, prefix: bytes, msg_num: int, payloads: Any, sig: bool = True) -> bytes:
            self.packed = [type(p).__name__ for p in payloads]
            return super()._ez_pack(prefix, msg_num, payloads, sig)

    class OwnEzrPack(Subject):
        def ezr_pack(self, msg_num: int, *payloads: Any, sig: bool = True) -> bytes:
            return b"own:" + bytes([msg_num])

    plain = make(loop)
    own = OwnPack(CommunitySettings(my_peer=plain.my_peer, endpoint=MemoryEndpoint(), network=Network()))
    assert own.ezr_pack(1, Simple(1, 2, b"")) == plain.ezr_pack(1, Simple(1, 2, b""))  # same bytes either way
    assert own.packed == [BinMemberAuthenticationPayload.__name__, "Simple"]
    other = OwnEzrPack(CommunitySettings(my_peer=plain.my_peer, endpoint=MemoryEndpoint(), network=Network()))
    other.ez_send(Peer(plain.my_peer.public_key, ("127.0.0.1", 9)), Answer(3))
    assert other.endpoint.sent == [(("127.0.0.1", 9), b"own:\x14")]


@pytest.mark.twin_of("serializer")
def test_pack_packet(twin: ModuleType) -> None:
    serializer = twin.Serializer()
    prefix = b"\x00\x02" + bytes(range(20))
    payloads = [Inner(1, "x"), Simple(2, 3, b"yz")]
    body = serializer.pack_serializable_list(payloads)
    assert serializer.pack_packet(prefix, 9, payloads) == join_packet(prefix, 9, body)
    assert serializer.pack_packet(prefix, 9, payloads, b"KEY") == join_packet(prefix, 9, body, b"KEY")
    assert serializer.pack_packet(bytearray(prefix), 0, []) == prefix + b"\x00"
    for bad in ((prefix[:-1], 9), (prefix, 256), (prefix, -1)):
        with pytest.raises(PackError):
            serializer.pack_packet(bad[0], bad[1], payloads)
