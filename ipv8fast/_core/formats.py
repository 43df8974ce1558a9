"""The format-code vocabulary both serializer twins implement.

A built-in packer is described by an *op*: a tuple whose first item is one of the kinds below. The twins
turn ops into code (pure Python) or into C structs (Cython); user packers become ``(PYTHON, packer)``.
This module also holds the address text helpers that the pure twin uses and the compiled twin mirrors.
"""
from __future__ import annotations

import re
import socket

from .serializable import PackError

# Op kinds (values in wire.py) and the shape of each op:
#   (STRUCT, items, as_tuple, size): fixed-width big-endian fields, items = ((code, size), ...)
#   (BITS,): one byte from eight truthy values, MSB first
#   (RAW,): the bytes verbatim; unpack takes the rest of the window
#   (VARLEN, length_size, base): count of `base`-byte units, then the bytes
#   (UTF8, length_size, base): like VARLEN, value is text encoded as strict UTF-8
#   (IPV4,): lenient inet_aton host, u16 port
#   (ADDRESS, ip_only): type byte then IPv4 / IPv6 / (unless ip_only) domain
#   (LIST, item_packer, count_size): count, then each item with the item packer
#   (ARRAY, item_code, count_size): little-endian count and items (py-ipv8's native order)
#   (NESTED, serializer): u16 length, then a nested Serializable
#   (PYTHON, packer): a user packer, called through its pack/unpack methods
from .wire import ADDRESS, ARRAY, BITS, IPV4, LIST, NESTED, PYTHON, RAW, STRUCT, UTF8, VARLEN  # noqa: F401

#: struct item code -> (size, (min, max) for integers or None)
STRUCT_ITEMS: dict[str, tuple[int, tuple[int, int] | None]] = {
    "?": (1, None),
    "b": (1, (-(1 << 7), (1 << 7) - 1)),
    "B": (1, (0, (1 << 8) - 1)),
    "h": (2, (-(1 << 15), (1 << 15) - 1)),
    "H": (2, (0, (1 << 16) - 1)),
    "i": (4, (-(1 << 31), (1 << 31) - 1)),
    "I": (4, (0, (1 << 32) - 1)),
    "q": (8, (-(1 << 63), (1 << 63) - 1)),
    "Q": (8, (0, (1 << 64) - 1)),
    "f": (4, None),
    "d": (8, None),
    "c": (1, None),
}
_ALIASES = {"l": "i", "L": "I"}
_STRUCT_TOKEN = re.compile(r"(\d*)([?bBhHiIlLqQfdcsS])")

#: array item code -> (item size, struct code of one little-endian item)
ARRAY_ITEMS: dict[str, tuple[int, str]] = {
    "?": (1, "B"), "b": (1, "b"), "B": (1, "B"), "h": (2, "h"), "H": (2, "H"), "i": (4, "i"),
    "I": (4, "I"), "q": (8, "q"), "Q": (8, "Q"), "f": (4, "f"), "d": (8, "d"),
}

LENGTH_SIZES = {"B": 1, "H": 2, "I": 4, "L": 4, "Q": 8}


def struct_op(format_str: str) -> tuple | None:
    """The STRUCT op for a big-endian struct format (``">HH"``, ``">4sH"``), or None if it is not one."""
    if not format_str or format_str[0] not in ">!":
        return None
    body = format_str[1:]
    items: list[tuple[str, int]] = []
    position = 0
    while position < len(body):
        match = _STRUCT_TOKEN.match(body, position)
        if match is None:
            return None
        count_text, code = match.groups()
        position = match.end()
        code = _ALIASES.get(code, code)
        if code in "sS":
            items.append(("s", int(count_text) if count_text else 1))
        else:
            for _ in range(int(count_text) if count_text else 1):
                items.append((code, STRUCT_ITEMS[code][0]))
    if not items:
        return None
    return (STRUCT, tuple(items), len(items) > 1, sum(size for _, size in items))


def length_size(length_format: str) -> int:
    """Bytes of a length/count prefix given as a struct format such as ``">H"``."""
    code = length_format.lstrip("<>!=@")
    if code not in LENGTH_SIZES:
        raise ValueError(f"unsupported length format {length_format!r}")
    return LENGTH_SIZES[code]


# --- address text ---------------------------------------------------------------------------------------

_C_SPACE = " \t\n\v\f\r"


def inet_aton_lenient(host: str) -> bytes:
    """Parse an IPv4 host with the BSD ``inet_aton`` rules (``127.1``, octal, hex, stops at whitespace)."""
    if not isinstance(host, str):
        raise PackError(f"IPv4 host must be text, not {type(host).__name__}")
    if "\x00" in host:
        raise PackError(f"IPv4 host {host!r} contains a NUL character")
    text = host.encode("utf-8", "surrogateescape")
    parts: list[int] = []
    position, length = 0, len(text)
    while True:
        if position >= length or not 0x30 <= text[position] <= 0x39:
            raise PackError(f"illegal IPv4 address {host!r}")
        base, value, digits = 10, 0, 1
        if text[position] == 0x30:
            position += 1
            if position < length and text[position] in b"xX":
                base, digits = 16, 0
                position += 1
            else:
                base = 8
        while position < length:
            char = text[position]
            if 0x30 <= char <= 0x39:
                if base == 8 and char >= 0x38:
                    raise PackError(f"illegal IPv4 address {host!r}")
                value = value * base + (char - 0x30)
            elif base == 16 and chr(char) in "abcdefABCDEF":
                value = (value << 4) | int(chr(char), 16)
            else:
                break
            if value > 0xFFFFFFFF:
                raise PackError(f"illegal IPv4 address {host!r}")
            digits += 1
            position += 1
        if not digits:
            raise PackError(f"illegal IPv4 address {host!r}")
        if position < length and text[position] == 0x2E:
            if len(parts) > 2 or value > 0xFF:
                raise PackError(f"illegal IPv4 address {host!r}")
            parts.append(value)
            position += 1
            continue
        break
    if position < length and chr(text[position]) not in _C_SPACE:
        raise PackError(f"illegal IPv4 address {host!r}")
    limit = (0xFFFFFFFF, 0xFFFFFF, 0xFFFF, 0xFF)[len(parts)]
    if value > limit:
        raise PackError(f"illegal IPv4 address {host!r}")
    for index, part in enumerate(parts):
        value |= part << (24 - 8 * index)
    return value.to_bytes(4, "big")


def ip_literal(host: object) -> tuple[int, bytes] | None:
    """``(4, packed)`` / ``(6, packed)`` for a strict IPv4 or IPv6 literal (no zone), else None."""
    if not isinstance(host, str) or "\x00" in host:
        return None
    try:
        return 4, socket.inet_pton(socket.AF_INET, host)
    except (OSError, ValueError, UnicodeError):
        pass
    try:
        return 6, socket.inet_pton(socket.AF_INET6, host)
    except (OSError, ValueError, UnicodeError):
        return None


def ipv4_text(packed: bytes) -> str:
    """Dotted-quad text of 4 bytes."""
    return f"{packed[0]}.{packed[1]}.{packed[2]}.{packed[3]}"


def ipv6_text(packed: bytes) -> str:
    """IPv6 text exactly as glibc's ``inet_ntop`` writes it (dotted tail for mapped/compatible addresses)."""
    groups = [(packed[i] << 8) | packed[i + 1] for i in range(0, 16, 2)]
    best_start, best_length, start = -1, 0, -1
    for index in range(9):
        if index < 8 and groups[index] == 0:
            if start < 0:
                start = index
        elif start >= 0:
            if index - start > best_length:
                best_start, best_length = start, index - start
            start = -1
    if best_length < 2:
        best_start = -1
    out: list[str] = []
    index = 0
    while index < 8:
        if index == best_start:
            out.append(":" if index == 0 else "")
            out.append(":")
            index += best_length
            continue
        if index == 6 and best_start == 0 and (best_length == 6 or (best_length == 5 and groups[5] == 0xFFFF)):
            out.append(ipv4_text(packed[12:]))
            break
        if index == 6 and best_start == 0 and best_length == 7:
            out.append(ipv4_text(packed[12:]))
            break
        out.append(f"{groups[index]:x}")
        if index < 7:
            out.append(":")
        index += 1
    return "".join(out)
