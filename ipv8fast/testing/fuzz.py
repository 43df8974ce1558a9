"""Grammar-aware fuzzing of a live community over UDP on 127.0.0.1, for users' own overlays.

A :class:`Template` is a valid packet cut into its fields (prefix, message id, the signer's key, each payload
field with its length or count prefix, the signature), found by walking the payload classes' ``format_list``
with the serializer (:func:`describe`). A :class:`Mutator` makes hostile datagrams from templates with
field-aware operators: truncation (at and inside field boundaries), bit flips inside one field, length and
count prefixes set to 0 / one off / huge, integers set to edge values, address type bytes changed, keys
swapped (another key, a private key, a truncated or garbage key), signatures replaced or cut, message ids
changed, splices of two templates at field boundaries, appended junk. Each :class:`Mutant` says whether its
signature can still be valid: only ``resigned`` mutants (content mutated, then signed again with the
mutator's own key) and mutants of unsigned templates can reach a handler; any other handler call is a bug.

:func:`flood` sends mutants to a loopback address in bounded, paced batches; :class:`LoopbackOnlyUDPEndpoint`
is a UDPEndpoint for the target that drops (and counts) every datagram to an address off 127.0.0.0/8, since
fuzzed payloads carry arbitrary addresses a handler may answer to. Typical use::

    mutator = Mutator(discovery_templates(attacker, target_address) + [message_template(attacker, Ping(1))])
    stats = await flood(target_address, mutator, 20_000, time_limit=10.0, received=counter)
"""
from __future__ import annotations

import asyncio
import ipaddress
import os
import random
import re
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .._core.wire import MESSAGE_ID_OFFSET, PREFIX_LENGTH
from ..keys import default_eccrypto, key_from_public_bin
from ..messages import (
    BinMemberAuthenticationPayload,
    GlobalTimeDistributionPayload,
    IntroductionRequestPayload,
    IntroductionResponsePayload,
    NewIntroductionRequestPayload,
    NewIntroductionResponsePayload,
    NewPuncturePayload,
    NewPunctureRequestPayload,
    PuncturePayload,
    PunctureRequestPayload,
)
from ..serialization import default_serializer
from ..udp_endpoint import UDPEndpoint

__all__ = ["OPERATORS", "Field", "FloodStats", "LoopbackOnlyUDPEndpoint", "Mutant", "Mutator", "Template",
           "describe", "discovery_templates", "flood", "message_template", "rss_is_meaningful", "rss_kib"]

_VARLEN = re.compile(r"(?:double)?varlen([BHIQ])")
_HEADER = {"B": 1, "H": 2, "I": 4, "Q": 8}
_INT_SIZES = {"?": 1, "b": 1, "B": 1, "c": 1, "h": 2, "H": 2, "i": 4, "I": 4, "l": 4, "L": 4, "q": 8, "Q": 8,
              "f": 4, "d": 8}


@dataclass(frozen=True)
class Field:
    """One field of a template: ``data[start:end]``; ``header`` bytes of it are a length or count prefix."""

    name: str
    kind: str  # prefix, msg_id, key, signature, varlen, count, int, bits, address, address4, raw, bytes
    start: int
    end: int
    header: int = 0
    little_endian: bool = False


@dataclass(frozen=True)
class Template:
    """A valid packet and its fields; ``signed`` packets end with a signature over all before it."""

    name: str
    packet: bytes
    fields: tuple[Field, ...]
    signed: bool


@dataclass(frozen=True)
class Mutant:
    """A hostile datagram: which template, which operator, and whether its signature may verify."""

    data: bytes
    template: str
    operator: str
    may_verify: bool


def _kind(fmt: Any) -> tuple[str, int, bool]:
    if not isinstance(fmt, str):
        return ("count", 2, False) if isinstance(fmt, list) else ("bytes", 0, False)
    match = _VARLEN.match(fmt)
    if match:
        return ("count" if fmt.endswith("-list") else "varlen"), _HEADER[match.group(1)], False
    if fmt.startswith("array"):
        return "count", _HEADER.get(fmt[5:6], 2), True
    if fmt in ("ipv4",):
        return "address4", 0, False
    if fmt in ("ip_address", "address"):
        return "address", 0, False
    if fmt in ("bits", "raw"):
        return fmt, 0, False
    if fmt in _INT_SIZES or (fmt[:1] in ">!" and not fmt.endswith("s")):
        return "int", 0, False
    return "bytes", 0, False


def describe(name: str, packet: bytes, payload_classes: Sequence[type], signed: bool,
             serializer: Any = default_serializer) -> Template:
    """Cut ``packet`` (``prefix | id | [auth] | payloads | [signature]``) into its fields."""
    fields = [Field("prefix", "prefix", 0, PREFIX_LENGTH), Field("msg_id", "msg_id", MESSAGE_ID_OFFSET,
                                                                   MESSAGE_ID_OFFSET + 1)]
    offset = MESSAGE_ID_OFFSET + 1
    end = len(packet)
    if signed:
        key_length = int.from_bytes(packet[offset:offset + 2], "big")
        key_bin = packet[offset + 2:offset + 2 + key_length]
        fields.append(Field("auth.public_key_bin", "key", offset, offset + 2 + key_length, 2))
        offset += 2 + key_length
        end -= key_from_public_bin(key_bin).get_signature_length()
    window = packet[:end]
    for payload_class in payload_classes:
        if payload_class is BinMemberAuthenticationPayload:
            continue
        format_list: list[Any] = getattr(payload_class, "format_list", [])
        names = list(getattr(payload_class, "names", [])) or [str(i) for i in range(len(format_list))]
        for index, fmt in enumerate(format_list):
            kind, header, little = _kind(fmt)
            label = f"{payload_class.__name__}.{names[index] if index < len(names) else index}"
            try:
                after = serializer.get_packer_for(fmt).unpack(window, offset, [])
            except Exception:  # noqa: BLE001 - a format the walk cannot follow: the rest is one field
                fields.append(Field(label, "bytes", offset, end))
                offset = end
                break
            fields.append(Field(label, kind, offset, after, header, little))
            offset = after
    if offset < end:
        fields.append(Field("trailing", "raw", offset, end))
    if signed:
        fields.append(Field("signature", "signature", end, len(packet)))
    return Template(name, packet, tuple(fields), signed)


def message_template(community: Any, *payloads: Any, sig: bool = True, name: str | None = None) -> Template:
    """The template of ``community.ezr_pack(payloads[-1].msg_id, *payloads, sig=sig)``."""
    packet = community.ezr_pack(payloads[-1].msg_id, *payloads, sig=sig)
    return describe(name or type(payloads[-1]).__name__, packet, [type(p) for p in payloads], sig)


def discovery_templates(community: Any, address: Any) -> list[Template]:
    """Templates of the peer-discovery messages ``community`` builds to ``address`` (old and new style)."""
    lan, wan = community.my_estimated_lan, community.my_estimated_wan
    auth: list[type] = [BinMemberAuthenticationPayload, GlobalTimeDistributionPayload]
    dist: list[type] = [GlobalTimeDistributionPayload]
    build: list[tuple[str, bytes, list[type], bool]] = [
        ("introduction-request", community.create_introduction_request(address), auth + [IntroductionRequestPayload],
         True),
        ("introduction-request-new", community.create_introduction_request(address, new_style=True),
         auth + [NewIntroductionRequestPayload], True),
        ("introduction-response", community.create_introduction_response(lan, address, 7),
         auth + [IntroductionResponsePayload], True),
        ("introduction-response-new", community.create_introduction_response(lan, address, 7, new_style=True),
         auth + [NewIntroductionResponsePayload], True),
        ("puncture-request", community.create_puncture_request(lan, wan, 7), dist + [PunctureRequestPayload], False),
        ("puncture-request-new", community.create_puncture_request(lan, wan, 7, new_style=True),
         dist + [NewPunctureRequestPayload], False),
        ("puncture", community.create_puncture(lan, wan, 7), auth + [PuncturePayload], True),
        ("puncture-new", community.create_puncture(lan, wan, 7, new_style=True), auth + [NewPuncturePayload], True),
    ]
    return [describe(name, packet, classes, signed) for name, packet, classes, signed in build]


_EDGE_INTS = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, (1 << 64) - 1)


class Mutator:
    """Hostile datagrams from ``templates``; ``seed`` makes the sequence reproducible.

    ``resign_key`` (a private key; a fresh curve25519 key by default) signs the ``resigned`` mutants: their
    content is hostile but their signature is valid, so handlers may see them.
    """

    def __init__(self, templates: Sequence[Template], seed: int = 0, resign_key: Any = None) -> None:
        if not templates:
            raise ValueError("Mutator needs at least one template")
        self.templates = list(templates)
        self.rng = random.Random(seed)
        self.resign_key = resign_key if resign_key is not None else default_eccrypto.generate_key("curve25519")
        self._keys = [default_eccrypto.generate_key("curve25519") for _ in range(4)]
        self._private_bin = self._keys[0].key_to_bin()
        self._public_bins = [key.pub().key_to_bin() for key in self._keys]
        self._legacy_bin = default_eccrypto.generate_key("very-low").pub().key_to_bin()
        self._ids = sorted({t.packet[MESSAGE_ID_OFFSET] for t in self.templates} | {0, 255})
        self.operators: list[tuple[str, Callable[[Template], tuple[bytes, bool]]]] = [
            (name, getattr(self, "_" + name.replace("-", "_"))) for name in OPERATORS]

    # --- helpers ---

    def _field(self, template: Template, kinds: Sequence[str] | None = None) -> Field | None:
        choices = [f for f in template.fields if (kinds is None or f.kind in kinds) and f.end > f.start]
        return self.rng.choice(choices) if choices else None

    @staticmethod
    def _put(data: bytes, start: int, end: int, value: bytes) -> bytes:
        return data[:start] + value + data[end:]

    def _resign(self, template: Template, body: bytes) -> bytes:
        """``body`` (the template's packet without its signature, mutated) signed by ``resign_key``."""
        key_field = next(f for f in template.fields if f.kind == "key")
        own = self.resign_key.pub().key_to_bin()
        body = self._put(body, key_field.start, key_field.end, len(own).to_bytes(2, "big") + own)
        return body + self.resign_key.signature(body)

    # --- operators: (template) -> (datagram, may its signature verify) ---

    def _truncate(self, t: Template) -> tuple[bytes, bool]:
        cuts = sorted({f.start for f in t.fields} | {f.end for f in t.fields} - {len(t.packet)})
        cut = self.rng.choice(cuts) if self.rng.random() < 0.5 else self.rng.randrange(len(t.packet))
        return t.packet[:cut], not t.signed

    def _bitflip(self, t: Template) -> tuple[bytes, bool]:
        f = self._field(t)
        data = bytearray(t.packet)
        for _ in range(self.rng.randint(1, 3)):
            position = self.rng.randrange(f.start, f.end) if f else self.rng.randrange(len(data))
            data[position] ^= 1 << self.rng.randrange(8)
        return bytes(data), not t.signed

    def _header_value(self, f: Field, current: int) -> int:
        top = (1 << (8 * f.header)) - 1
        return self.rng.choice([0, 1, max(current - 1, 0), min(current + 1, top), top, top // 2,
                                self.rng.randrange(top + 1)])

    def _length(self, t: Template) -> tuple[bytes, bool]:
        f = self._field(t, ("varlen", "count", "key"))
        if f is None:
            return self._bitflip(t)
        order: Literal["little", "big"] = "little" if f.little_endian else "big"
        current = int.from_bytes(t.packet[f.start:f.start + f.header], order)
        value = self._header_value(f, current)
        if value == current:
            value = (current + 1) % (1 << (8 * f.header))
        return self._put(t.packet, f.start, f.start + f.header, value.to_bytes(f.header, order)), not t.signed

    def _integer(self, t: Template) -> tuple[bytes, bool]:
        f = self._field(t, ("int", "bits", "msg_id"))
        if f is None:
            return self._bitflip(t)
        size = f.end - f.start
        value = self.rng.choice(_EDGE_INTS) % (1 << (8 * size))
        new = value.to_bytes(size, "big")
        if new == t.packet[f.start:f.end]:
            new = bytes(b ^ 0xFF for b in new)
        return self._put(t.packet, f.start, f.end, new), not t.signed

    def _address(self, t: Template) -> tuple[bytes, bool]:
        f = self._field(t, ("address", "address4"))
        if f is None:
            return self._bitflip(t)
        if f.kind == "address":
            new = bytes([self.rng.choice([0, 2, 3, 4, 255])]) + t.packet[f.start + 1:f.end]
            if self.rng.random() < 0.3:  # a domain type with a length that lies
                new = b"\x03" + bytes([self.rng.randrange(256)]) + self.rng.randbytes(self.rng.randrange(8))
        else:
            new = self.rng.randbytes(self.rng.choice([0, 3, 6, 7]))
        if new == t.packet[f.start:f.end]:
            new = new[:-1]
        return self._put(t.packet, f.start, f.end, new), not t.signed

    def _key(self, t: Template) -> tuple[bytes, bool]:
        f = self._field(t, ("key",))
        if f is None:
            return self._bitflip(t)
        key = self.rng.choice([
            self.rng.choice(self._public_bins),  # another valid key: the signature is then wrong
            self._private_bin,
            self._legacy_bin,
            self._public_bins[0][:self.rng.randrange(1, 74)],
            b"LibNaCLPK:" + self.rng.randbytes(64),
            self.rng.randbytes(self.rng.randrange(0, 120)),
            b"",
        ])
        return self._put(t.packet, f.start, f.end, len(key).to_bytes(2, "big") + key), False

    def _signature(self, t: Template) -> tuple[bytes, bool]:
        f = self._field(t, ("signature",))
        if f is None:
            return t.packet + self.rng.randbytes(64), False  # an unsigned message with a "signature" appended
        size = f.end - f.start
        new = self.rng.choice([bytes(size), self.rng.randbytes(size), self.rng.randbytes(self.rng.randrange(size)),
                               self.rng.choice(self.templates).packet[-size:], b"\xff" * size])
        if new == t.packet[f.start:]:
            new = bytes(size)
        return t.packet[:f.start] + new, False

    def _msg_id(self, t: Template) -> tuple[bytes, bool]:
        others = [i for i in self._ids if i != t.packet[MESSAGE_ID_OFFSET]] or [255]
        new = self.rng.choice(others + [self.rng.randrange(256)])
        if new == t.packet[MESSAGE_ID_OFFSET]:
            new ^= 1
        return self._put(t.packet, MESSAGE_ID_OFFSET, MESSAGE_ID_OFFSET + 1, bytes([new])), False

    def _splice(self, t: Template) -> tuple[bytes, bool]:
        other = self.rng.choice(self.templates)
        head = self.rng.choice([f.end for f in t.fields])
        tail = self.rng.choice([f.start for f in other.fields])
        data = t.packet[:head] + other.packet[tail:]
        if data == t.packet or data == other.packet:
            data += b"\x00"
        return data, False if (t.signed or other.signed) else True

    def _extend(self, t: Template) -> tuple[bytes, bool]:
        junk = self.rng.choice([b"\x00", self.rng.randbytes(self.rng.randrange(1, 64)), b"\xff" * 300,
                                self.rng.randbytes(self.rng.randrange(1000, 9000))])
        if self.rng.random() < 0.5 or not t.signed:
            return t.packet + junk, not t.signed
        f = self._field(t, ("signature",))
        start = f.start if f else len(t.packet)
        return t.packet[:start] + junk + t.packet[start:], False

    def _random(self, t: Template) -> tuple[bytes, bool]:
        body = self.rng.randbytes(self.rng.randrange(0, 200))
        return (t.packet[:PREFIX_LENGTH + 1] + body if self.rng.random() < 0.8 else body), True

    def _resigned(self, t: Template) -> tuple[bytes, bool]:
        if not t.signed:
            return self._length(t)
        sig = next(f for f in t.fields if f.kind == "signature")
        inner = Template(t.name, t.packet[:sig.start], tuple(f for f in t.fields if f.kind != "signature"), False)
        op = self.rng.choice([self._length, self._integer, self._address, self._truncate, self._bitflip])
        body, _ = op(inner)
        if len(body) <= MESSAGE_ID_OFFSET + 75:
            body = inner.packet
        try:
            return self._resign(t, body), True
        except (StopIteration, ValueError):
            return body, False

    # --- public ---

    def mutate(self) -> Mutant:
        """One hostile datagram (never byte-identical to its template)."""
        template = self.rng.choice(self.templates)
        name, operator = self.rng.choice(self.operators)
        data, may_verify = operator(template)
        if data == template.packet:
            data, may_verify = data[:-1], not template.signed
        return Mutant(data, template.name, name, may_verify)


#: The operator names, in the order :class:`Mutator` draws them from (uniformly).
OPERATORS = ("truncate", "bitflip", "length", "integer", "address", "key", "signature", "msg-id", "splice",
             "extend", "random", "resigned")


class LoopbackOnlyUDPEndpoint(UDPEndpoint):
    """A UDPEndpoint that drops every datagram to an address off 127.0.0.0/8, or that ``allow`` refuses
    (counted in ``blocked``): a fuzzed target answers to the arbitrary addresses in fuzzed payloads."""

    def __init__(self, port: int = 0, ip: str = "127.0.0.1", allow: Callable[[Any], bool] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(port, ip, **kwargs)
        self.allow = allow
        self.blocked = 0

    def send(self, socket_address: Any, packet: bytes) -> None:
        try:
            loopback = ipaddress.ip_address(str(socket_address[0])).is_loopback
        except (ValueError, TypeError, IndexError):
            loopback = False
        if not loopback or (self.allow is not None and not self.allow(socket_address)):
            self.blocked += 1
            return
        super().send(socket_address, packet)


def rss_is_meaningful() -> bool:
    """False under AddressSanitizer (``bench/asan_fuzz.sh``): its quarantine keeps freed memory resident, so RSS
    grows whatever the code does."""
    return "libasan" not in os.environ.get("LD_PRELOAD", "")


def rss_kib() -> int:
    """This process's resident set size in KiB (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except OSError:
        return 0


@dataclass
class FloodStats:
    """What :func:`flood` sent: totals, by operator and template, the time taken and RSS around it."""

    sent: int = 0
    may_verify: int = 0
    seconds: float = 0.0
    rss_before_kib: int = 0
    rss_after_kib: int = 0
    by_operator: Counter = field(default_factory=Counter)
    by_template: Counter = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


async def flood(address: tuple[str, int], mutator: Mutator, count: int, time_limit: float,
                received: Callable[[], int] | None = None, batch: int = 200,
                between_batches: Callable[[], Any] | None = None) -> FloodStats:
    """Send up to ``count`` mutants to ``address`` (loopback only) within ``time_limit`` seconds.

    With ``received`` (a count of datagrams the target has taken in), each batch waits (bounded) until the
    target has caught up, so the kernel's socket buffer does not drop the flood; ``between_batches`` runs
    after each batch (send honest traffic there; an awaitable is awaited).
    """
    if not ipaddress.ip_address(address[0]).is_loopback:
        raise ValueError(f"flood sends only to 127.0.0.0/8 or ::1, not {address[0]!r}")
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    stats = FloodStats(rss_before_kib=rss_kib())
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    sock.setblocking(False)
    start = time.monotonic()
    deadline = start + time_limit
    base = received() if received is not None else 0
    try:
        while stats.sent < count and time.monotonic() < deadline:
            for _ in range(min(batch, count - stats.sent)):
                mutant = mutator.mutate()
                try:
                    sock.sendto(mutant.data, address)
                except (BlockingIOError, OSError):
                    stats.by_operator["send-refused"] += 1  # too big for UDP, or the buffer is full
                    continue
                stats.sent += 1
                stats.may_verify += mutant.may_verify
                stats.by_operator[mutant.operator] += 1
                stats.by_template[mutant.template] += 1
            if between_batches is not None:
                result = between_batches()
                if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                    await result
            if received is None:
                await asyncio.sleep(0)
                continue
            for _ in range(500):  # bounded wait: 0.5 s at most per batch
                if received() - base >= stats.sent or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.001)
    finally:
        sock.close()
    stats.seconds = time.monotonic() - start
    stats.rss_after_kib = rss_kib()
    return stats
