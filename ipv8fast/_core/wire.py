"""The named constants of the datagram envelope and of the serializer's ops (wire.md §1-2).

A datagram is ``prefix(22) ‖ message id(1) ‖ [auth: u16 length ‖ public key] ‖ payloads ‖ [signature]``;
the prefix is ``0x00 ‖ version ‖ community id(20)``. ``wire.pxd`` declares the same values as C enums for
the compiled twins, which compare them with these at import (:func:`check_mirror`).
"""
from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ADDRESS", "ARRAY", "AUTH_OFFSET", "BITS", "HANDLER_KINDS", "IPV4", "LIST", "MESSAGE_ID_OFFSET",
           "NESTED", "OP_KINDS", "PAYLOAD_OFFSET", "PREFIX_LENGTH", "PYTHON", "RAW", "SIGNED", "SIGNED_WITH_DATA",
           "STRUCT", "UNSIGNED", "UNSIGNED_WITH_DATA", "UTF8", "VARLEN", "check_mirror"]

PREFIX_LENGTH = 22
#: the message id is the byte right after the prefix
MESSAGE_ID_OFFSET = PREFIX_LENGTH
#: unsigned messages: the first payload; signed ones: the auth block's u16 key length
PAYLOAD_OFFSET = AUTH_OFFSET = MESSAGE_ID_OFFSET + 1

# Op kinds: an op is a tuple whose first item is one of these (see formats.py for their shapes).
STRUCT = 1
BITS = 2
RAW = 3
VARLEN = 4
UTF8 = 5
IPV4 = 6
ADDRESS = 7
LIST = 8
ARRAY = 9
NESTED = 10
PYTHON = 11
OP_KINDS: Mapping[str, int] = {"STRUCT": STRUCT, "BITS": BITS, "RAW": RAW, "VARLEN": VARLEN, "UTF8": UTF8,
                               "IPV4": IPV4, "ADDRESS": ADDRESS, "LIST": LIST, "ARRAY": ARRAY, "NESTED": NESTED,
                               "PYTHON": PYTHON}

# Handler kinds of the lazy_wrapper family, which the receive twins run themselves.
SIGNED = 0
SIGNED_WITH_DATA = 1
UNSIGNED = 2
UNSIGNED_WITH_DATA = 3
HANDLER_KINDS: Mapping[str, int] = {"SIGNED": SIGNED, "SIGNED_WITH_DATA": SIGNED_WITH_DATA, "UNSIGNED": UNSIGNED,
                                    "UNSIGNED_WITH_DATA": UNSIGNED_WITH_DATA}


def check_mirror(module: str, mirrored: Mapping[str, int]) -> None:
    """Raise ImportError if a compiled module's copy of these constants differs from this module's."""
    values = globals()
    wrong = {name: value for name, value in mirrored.items() if values.get(name) != value}
    if wrong:
        raise ImportError(f"{module} was compiled with other wire constants than ipv8fast._core.wire: {wrong}")
