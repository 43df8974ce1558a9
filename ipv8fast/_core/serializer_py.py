"""Serializer engine, pure-Python twin of ``serializer_c``.

Per Serializable class the Serializer compiles a packing function and an unpacking function once
(cached until ``add_packer`` changes the table). Runs of fixed-width fields are merged into a single
``struct.Struct`` call. Unpacking is strict: every read must fit in the buffer (or in the nested
window), otherwise PackError.
"""
from __future__ import annotations

import struct
from collections.abc import Callable
from socket import AF_INET as _AF_INET
from socket import inet_pton as _inet_pton
from typing import Any

from ..addresses import DomainAddress, UDPv4Address, UDPv6Address
from . import formats as F  # noqa: N812 - the format-code namespace
from .envelope_py import join_packet
from .packers import default_formats, make_packers
from .serializable import PackError, Serializable, format_list_of, layout_of

__all__ = ["PACKERS", "Serializer", "default_serializer", "pack_op", "unpack_op"]

_U = {1: struct.Struct(">B"), 2: struct.Struct(">H"), 4: struct.Struct(">I"), 8: struct.Struct(">Q")}
_U_LE = {1: struct.Struct("<B"), 2: struct.Struct("<H"), 4: struct.Struct("<I"), 8: struct.Struct("<Q")}
_PORT = _U[2]
_STRUCTS: dict[tuple, struct.Struct] = {}


def _struct_of(items: tuple) -> struct.Struct:
    compiled = _STRUCTS.get(items)
    if compiled is None:
        compiled = struct.Struct(">" + "".join(f"{size}s" if code == "s" else code for code, size in items))
        _STRUCTS[items] = compiled
    return compiled


def _as_bytes(value: Any, what: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(memoryview(value).cast("B"))
    raise PackError(f"{what} needs bytes, not {type(value).__name__}")


def _fits(value: int, size: int, what: str) -> None:
    if value >= 1 << (8 * size):
        raise PackError(f"{what} of {value} does not fit a {size}-byte prefix")


def _need(data: Any, offset: int, size: int, what: str) -> None:
    if offset < 0 or offset + size > len(data):
        raise PackError(f"{what} needs {size} bytes at offset {offset}, {max(0, len(data) - offset)} left")


# --- one op: encoders --------------------------------------------------------------------------------------
# Each factory returns a function specialised for one op; plans bind them once per field.

Encoder = Callable[[Any], bytes]
Decoder = Callable[[bytes, int, list], int]


def encoder(op: tuple, one_value: bool = False) -> Encoder:
    """A function packing one value with ``op``. STRUCT ops with several items take a tuple of values,
    unless ``one_value`` (a declarative payload gives exactly one value per name, which then fails)."""
    kind = op[0]
    if kind == F.STRUCT:
        return _struct_encoder(op, one_value)
    if kind == F.BITS:
        def pack_bits(values: Any) -> bytes:
            if len(values) != 8:
                raise PackError(f"bits needs 8 values, got {len(values)}")
            byte = 0
            for value in values:
                byte = (byte << 1) | (1 if value else 0)
            return bytes((byte,))
        return pack_bits
    if kind == F.RAW:
        return lambda value: value if type(value) is bytes else _as_bytes(value, "raw")
    if kind in (F.VARLEN, F.UTF8):
        return _varlen_encoder(kind, op[1], op[2])
    if kind == F.IPV4:
        def pack_ipv4(value: Any) -> bytes:
            host, port = _host_port(value)
            return _ipv4_bytes(host) + _port(port)
        return pack_ipv4
    if kind == F.ADDRESS:
        return _address_encoder(op[1])
    if kind == F.LIST:
        return _list_encoder(encoder(op_of(op[1])), op[2])
    if kind == F.ARRAY:
        return _array_encoder(op[1], op[2])
    if kind == F.NESTED:
        serializer = op[1]

        def pack_nested(value: Any) -> bytes:
            body = serializer.pack_serializable(value)
            _fits(len(body), 2, "nested payload length")
            return _U[2].pack(len(body)) + body
        return pack_nested
    if kind == F.PYTHON:
        packer = op[1]
        return lambda value: _as_bytes(packer.pack(value), "a packer's result")
    raise PackError(f"unknown op {op!r}")


def _struct_encoder(op: tuple, one_value: bool) -> Encoder:
    compiled, several = _struct_of(op[1]), op[2] and not one_value

    def pack_struct(value: Any) -> bytes:
        try:
            return compiled.pack(*value) if several else compiled.pack(value)
        except (struct.error, TypeError, OverflowError, ValueError) as exc:
            raise PackError(f"cannot pack {value!r}: {exc}") from exc
    return pack_struct


def _varlen_encoder(kind: int, size: int, base: int) -> Encoder:
    prefix, limit = _U[size], 1 << (8 * size)

    def pack_varlen(value: Any) -> bytes:
        if kind == F.UTF8:
            if not isinstance(value, str):
                raise PackError(f"UTF-8 text needs str, not {type(value).__name__}")
            try:
                value = value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise PackError(f"text cannot be encoded as UTF-8: {exc}") from exc
        elif type(value) is not bytes:
            value = _as_bytes(value, "varlen")
        units = len(value) // base
        if units >= limit:
            raise PackError(f"length of {units} does not fit a {size}-byte prefix")
        return prefix.pack(units) + value
    return pack_varlen


def _address_encoder(ip_only: bool) -> Encoder:
    def pack_address(value: Any) -> bytes:
        host, port = _host_port(value)
        literal = F.ip_literal(host)
        if literal is not None:
            family, packed = literal
            return (b"\x01" if family == 4 else b"\x03") + packed + _port(port)
        if ip_only:
            raise PackError(f"{host!r} is not an IPv4 or IPv6 address")
        if not isinstance(host, str):
            raise PackError(f"host name needs str, not {type(host).__name__}")
        try:
            name = host.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise PackError(f"host name cannot be encoded as UTF-8: {exc}") from exc
        _fits(len(name), 2, "host name length")
        return b"\x02" + _U[2].pack(len(name)) + name + _port(port)
    return pack_address


def _list_encoder(item: Encoder, size: int) -> Encoder:
    def pack_list(value: Any) -> bytes:
        items = _sized(value)
        _fits(len(items), size, "item count")
        return _U[size].pack(len(items)) + b"".join([item(element) for element in items])
    return pack_list


def _array_encoder(item_code: str, size: int) -> Encoder:
    code = F.ARRAY_ITEMS[item_code][1]

    def pack_array(value: Any) -> bytes:
        items = _sized(value)
        _fits(len(items), size, "array length")
        try:
            body = struct.pack(f"<{len(items)}{code}", *items)
        except (struct.error, TypeError, OverflowError) as exc:
            raise PackError(f"array items {items!r} cannot be packed as {item_code!r}: {exc}") from exc
        return _U_LE[size].pack(len(items)) + body
    return pack_array


def _ipv4_bytes(host: Any) -> bytes:
    if type(host) is str:
        try:  # a strict dotted quad parses the same under the lenient rules; the C parser is quicker
            return _inet_pton(_AF_INET, host)
        except (OSError, ValueError):
            pass
    return F.inet_aton_lenient(host)


def _host_port(value: Any) -> tuple[Any, Any]:
    try:
        return value[0], value[1]
    except (TypeError, IndexError, KeyError) as exc:
        raise PackError(f"an address needs (host, port), got {value!r}") from exc


def _port(port: Any) -> bytes:
    try:
        return _PORT.pack(port)
    except (struct.error, TypeError) as exc:
        raise PackError(f"port {port!r} is not in 0..65535") from exc


def _sized(value: Any) -> Any:
    if isinstance(value, (str, bytes, bytearray)) or not hasattr(value, "__len__"):
        raise PackError(f"expected a list, got {type(value).__name__}")
    return value


# --- one op: decoders --------------------------------------------------------------------------------------

def decoder(op: tuple, extra: tuple = ()) -> Decoder:
    """A function ``(data, offset, out) -> new offset`` decoding one op, strictly within ``data``."""
    kind = op[0]
    if kind == F.STRUCT:
        compiled, several, size = _struct_of(op[1]), op[2], op[3]

        def unpack_struct(data: bytes, offset: int, out: list) -> int:
            _need(data, offset, size, "fixed-size field")
            values = compiled.unpack_from(data, offset)
            out.append(values if several else values[0])
            return offset + size
        return unpack_struct
    if kind == F.BITS:
        def unpack_bits(data: bytes, offset: int, out: list) -> int:
            _need(data, offset, 1, "bits")
            out.extend(_BITS[data[offset]])
            return offset + 1
        return unpack_bits
    if kind == F.RAW:
        def unpack_raw(data: bytes, offset: int, out: list) -> int:
            if offset < 0:
                raise PackError(f"raw at negative offset {offset}")
            out.append(data[offset:])
            return len(data)
        return unpack_raw
    if kind in (F.VARLEN, F.UTF8):
        return _varlen_decoder(kind == F.UTF8, _U[op[1]], op[1], op[2])
    if kind == F.IPV4:
        def unpack_ipv4(data: bytes, offset: int, out: list) -> int:
            _need(data, offset, 6, "ipv4 address")
            out.append(UDPv4Address(F.ipv4_text(data[offset:offset + 4]), _PORT.unpack_from(data, offset + 4)[0]))
            return offset + 6
        return unpack_ipv4
    if kind == F.ADDRESS:
        return _address_decoder(op[1])
    if kind == F.LIST:
        return _list_decoder(decoder(op_of(op[1]), extra), _U[op[2]], op[2])
    if kind == F.ARRAY:
        return _array_decoder(op[1], op[2])
    if kind == F.NESTED:
        serializer = op[1]

        def unpack_nested(data: bytes, offset: int, out: list) -> int:
            if not extra:
                raise PackError("a nested payload needs its class")
            _need(data, offset, 2, "nested payload length")
            length = _PORT.unpack_from(data, offset)[0]
            offset += 2
            _need(data, offset, length, "nested payload")
            out.append(serializer.unpack_serializable(extra[0], data[offset:offset + length])[0])
            return offset + length
        return unpack_nested
    if kind == F.PYTHON:
        packer = op[1]

        def unpack_python(data: bytes, offset: int, out: list) -> int:
            new_offset = packer.unpack(data, offset, out, *extra)
            if not isinstance(new_offset, int) or new_offset > len(data):
                raise PackError(f"{packer!r} read past the end of the data")
            return new_offset
        return unpack_python
    raise PackError(f"unknown op {op!r}")


_BITS = [tuple((byte >> shift) & 1 for shift in range(7, -1, -1)) for byte in range(256)]


def _varlen_decoder(utf8: bool, prefix: struct.Struct, size: int, base: int) -> Decoder:
    def unpack_varlen(data: bytes, offset: int, out: list) -> int:
        _need(data, offset, size, "length prefix")
        length = prefix.unpack_from(data, offset)[0] * base
        offset += size
        _need(data, offset, length, "variable-length value")
        body = data[offset:offset + length]
        if utf8:
            try:
                out.append(body.decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise PackError(f"invalid UTF-8 at offset {offset}: {exc}") from exc
        else:
            out.append(body)
        return offset + length
    return unpack_varlen


def _address_decoder(ip_only: bool) -> Decoder:
    def unpack_address(data: bytes, offset: int, out: list) -> int:
        _need(data, offset, 1, "address type")
        kind_byte = data[offset]
        offset += 1
        if kind_byte == 0x01:
            _need(data, offset, 6, "IPv4 address")
            out.append(UDPv4Address(F.ipv4_text(data[offset:offset + 4]), _PORT.unpack_from(data, offset + 4)[0]))
            return offset + 6
        if kind_byte == 0x03:
            _need(data, offset, 18, "IPv6 address")
            out.append(UDPv6Address(F.ipv6_text(data[offset:offset + 16]), _PORT.unpack_from(data, offset + 16)[0]))
            return offset + 18
        if kind_byte == 0x02 and not ip_only:
            _need(data, offset, 2, "host name length")
            length = _PORT.unpack_from(data, offset)[0]
            offset += 2
            _need(data, offset, length + 2, "host name and port")
            try:
                host = data[offset:offset + length].decode("utf-8")
            except UnicodeDecodeError as exc:
                raise PackError(f"host name is not UTF-8 at offset {offset}") from exc
            out.append(DomainAddress(host, _PORT.unpack_from(data, offset + length)[0]))
            return offset + length + 2
        raise PackError(f"unknown address type 0x{kind_byte:02x} at offset {offset - 1}")
    return unpack_address


def _list_decoder(item: Decoder, prefix: struct.Struct, size: int) -> Decoder:
    def unpack_list(data: bytes, offset: int, out: list) -> int:
        _need(data, offset, size, "item count")
        count = prefix.unpack_from(data, offset)[0]
        offset += size
        items: list = []
        for _ in range(count):
            offset = item(data, offset, items)
        out.append(items)
        return offset
    return unpack_list


def _array_decoder(item_code: str, size: int) -> Decoder:
    item_size, code = F.ARRAY_ITEMS[item_code]

    def unpack_array(data: bytes, offset: int, out: list) -> int:
        _need(data, offset, size, "array length")
        count = _U_LE[size].unpack_from(data, offset)[0]
        offset += size
        _need(data, offset, count * item_size, "array items")
        values = struct.unpack_from(f"<{count}{code}", data, offset)
        out.append([bool(v) for v in values] if item_code == "?" else list(values))
        return offset + count * item_size
    return unpack_array


def op_of(packer: Any) -> tuple:
    """The op a packer stands for: its own op if it is one of this twin's built-ins, else a Python call."""
    if type(packer) in _BUILTIN_TYPES:
        return packer._op
    return (F.PYTHON, packer)


def pack_op(op: tuple, args: tuple) -> bytes:
    """Encode ``args`` with one op (the built-in packers' ``pack``)."""
    if op[0] == F.PYTHON:
        return _as_bytes(op[1].pack(*args), "a packer's result")
    if op[0] == F.BITS or (op[0] == F.STRUCT and op[2]):
        return encoder(op)(args)
    if len(args) != 1:
        raise PackError(f"this format packs one value, got {len(args)}")
    return encoder(op)(args[0])


def unpack_op(op: tuple, data: Any, offset: int, unpack_list: list, args: tuple) -> int:
    """Decode one op at ``offset`` into ``unpack_list`` (the built-in packers' ``unpack``)."""
    if not isinstance(data, bytes):
        data = bytes(data)
    return decoder(op, args)(data, offset, unpack_list)


PACKERS = make_packers(pack_op, unpack_op)
_BUILTIN_TYPES = frozenset(vars(PACKERS).values())


# --- compiled plans --------------------------------------------------------------------------------------

class _Field:
    __slots__ = ("op", "extra", "format_name")

    def __init__(self, op: tuple, extra: tuple, format_name: str) -> None:
        self.op, self.extra, self.format_name = op, extra, format_name


def _merge_structs(fields: list[_Field]) -> list:
    """Group consecutive single-value STRUCT fields into one struct.Struct: [(Struct, n) | _Field, ...]."""
    steps: list = []
    run: list[tuple] = []

    def flush() -> None:
        if len(run) > 1:
            items = tuple(item for op in run for item in op[1])
            steps.append((_struct_of(items), len(run)))
        elif run:
            steps.append(_Field(run[0], (), ""))
        run.clear()

    for field in fields:
        if field.op[0] == F.STRUCT and not field.op[2]:
            run.append(field.op)
        else:
            flush()
            steps.append(field)
    flush()
    return steps


class Serializer:
    """Packs and unpacks Serializables with a table of named packers (py-ipv8's Serializer API)."""

    def __init__(self) -> None:
        self._packers: dict[str, Any] = dict(default_formats(PACKERS, self))
        self._pack_fns: dict[type, Callable[[Any], bytes]] = {}
        self._unpack_fns: dict[type, Callable[[bytes, int], tuple[Any, int]]] = {}

    def get_available_formats(self) -> list[str]:
        """Every registered format name, in registration order."""
        return list(self._packers)

    def get_packer_for(self, name: str) -> Any:
        """The packer registered under ``name`` (KeyError if there is none)."""
        return self._packers[name]

    def add_packer(self, name: str, packer: Any) -> None:
        """Register (or replace) the packer for format ``name``."""
        self._packers[name] = packer
        self._pack_fns.clear()
        self._unpack_fns.clear()

    def pack(self, fmt: str, item: Any) -> bytes:
        """Pack one value with the packer of ``fmt``."""
        return self._packers[fmt].pack(item)

    def unpack(self, fmt: Any, data: Any, offset: int = 0) -> tuple[Any, int]:
        """Unpack one value: ``fmt`` is a format name, a Serializable class or ``[Class]``."""
        out: list = []
        if isinstance(fmt, list):
            offset = self._packers["payload-list"].unpack(data, offset, out, fmt[0])
        elif isinstance(fmt, type) and issubclass(fmt, Serializable):
            offset = self._packers["payload"].unpack(data, offset, out, fmt)
        else:
            offset = self._packers[fmt].unpack(data, offset, out)
        return out[0], offset

    def pack_serializable(self, serializable: Any) -> bytes:
        """The bytes of one Serializable."""
        cls = type(serializable)
        fn = self._pack_fns.get(cls)
        if fn is None:
            fn = self._pack_fns[cls] = self._compile_pack(cls)
        try:
            return fn(serializable)
        except PackError:
            raise
        except Exception as exc:
            raise PackError(f"Could not pack {cls.__name__}: {exc!r}") from exc

    def pack_serializable_list(self, serializables: Any) -> bytes:
        """The concatenated bytes of several Serializables."""
        return b"".join(self.pack_serializable(s) for s in serializables)

    def pack_packet(self, prefix: bytes, msg_id: int, serializables: Any, public_key_bin: bytes | None = None) -> bytes:
        """``prefix ‖ msg_id ‖ [u16 length ‖ public_key_bin] ‖ serializables`` (a datagram, or for a signed one
        the bytes to sign): ``join_packet`` of ``pack_serializable_list``."""
        return join_packet(prefix, msg_id, self.pack_serializable_list(serializables), public_key_bin)

    def unpack_serializable(self, serializable: type, data: Any, offset: int = 0) -> tuple[Any, int]:
        """Unpack one instance of class ``serializable`` at ``offset``: ``(instance, new_offset)``."""
        if not isinstance(data, bytes):
            data = bytes(data)
        fn = self._unpack_fns.get(serializable)
        if fn is None:
            fn = self._unpack_fns[serializable] = self._compile_unpack(serializable)
        return fn(data, offset)

    def unpack_serializable_list(self, serializables: list, data: Any, offset: int = 0,
                                 consume_all: bool = True) -> list:
        """Unpack instances of the given classes one after another; with ``consume_all`` nothing may be
        left over, otherwise the leftover bytes are appended as the last element."""
        if not isinstance(data, bytes):
            data = bytes(data)
        result = []
        for cls in serializables:
            obj, offset = self.unpack_serializable(cls, data, offset)
            result.append(obj)
        if consume_all:
            if offset != len(data):
                raise PackError(f"{len(data) - offset} trailing bytes after offset {offset}")
        else:
            result.append(data[offset:])
        return result

    # --- plan compilation ---

    def _fields(self, format_list: list) -> list[_Field]:
        fields = []
        for entry in format_list:
            if isinstance(entry, str):
                if entry not in self._packers:
                    raise PackError(f"unknown format {entry!r}")
                fields.append(_Field(op_of(self._packers[entry]), (), entry))
            elif isinstance(entry, list) and len(entry) == 1:
                fields.append(_Field(op_of(self._packers["payload-list"]), (entry[0],), "payload-list"))
            elif isinstance(entry, type) and issubclass(entry, Serializable):
                fields.append(_Field(op_of(self._packers["payload"]), (entry,), "payload"))
            else:
                raise PackError(f"invalid format list entry {entry!r}")
        return fields

    def _compile_pack(self, cls: type) -> Callable[[Any], bytes]:
        layout = layout_of(cls)
        if layout is not None and layout.direct_pack:
            fn = self._compile_direct_pack(cls, layout)
            if fn is not None:
                return fn
        packers = self._packers

        def pack_generic(obj: Any) -> bytes:
            parts = []
            for item in obj.to_pack_list():
                parts.append(packers[item[0]].pack(*item[1:]))
            return b"".join(parts)

        return pack_generic

    def _compile_direct_pack(self, cls: type, layout: Any) -> Callable[[Any], bytes] | None:
        """Read attributes straight into per-field encoders; None if the names do not line up."""
        format_list = format_list_of(cls)
        try:
            fields = self._fields(format_list)
        except PackError:
            return None
        widths = [8 if entry == "bits" else 1 for entry in format_list]
        if sum(widths) != len(layout.names):
            return None
        getters = [_getter(name, hook) for name, hook in zip(layout.names, layout.pack_hooks, strict=True)]
        steps: list[tuple[Callable, list]] = []
        position = 0
        for step in _merge_structs(fields):
            if isinstance(step, tuple):
                compiled, count = step
                steps.append((_merged_encoder(compiled, cls), getters[position:position + count]))
                position += count
            else:
                width = 8 if step.op[0] == F.BITS else 1
                steps.append((encoder(step.op, one_value=True), getters[position:position + width]))
                position += width
        single = [(encode, step_getters[0]) for encode, step_getters in steps if len(step_getters) == 1]
        if len(single) == len(steps):
            def pack_direct(obj: Any) -> bytes:
                return b"".join([encode(get(obj)) for encode, get in single])
            return pack_direct

        def pack_direct_grouped(obj: Any) -> bytes:
            parts = []
            for encode, step_getters in steps:
                if len(step_getters) == 1:
                    parts.append(encode(step_getters[0](obj)))
                else:
                    parts.append(encode(tuple(get(obj) for get in step_getters)))
            return b"".join(parts)
        return pack_direct_grouped

    def _compile_unpack(self, cls: Any) -> Callable[[bytes, int], tuple[Any, int]]:
        name = cls.__name__
        decoders: list[Decoder] = []
        for step in _merge_structs(self._fields(format_list_of(cls))):
            if isinstance(step, tuple):
                decoders.append(_merged_decoder(step[0], name))
            elif step.op[0] == F.PYTHON:
                decoders.append(_guarded(decoder(step.op, step.extra), step.format_name, name))
            else:
                decoders.append(decoder(step.op, step.extra))
        layout = layout_of(cls)
        build = cls if layout is not None and layout.direct_build and not any(layout.unpack_hooks) \
            else cls.from_unpack_list

        def unpack(data: bytes, offset: int) -> tuple[Any, int]:
            values: list = []
            for decode in decoders:
                offset = decode(data, offset, values)
            return build(*values), offset

        return unpack


def _merged_encoder(compiled: struct.Struct, cls: type) -> Callable[[tuple], bytes]:
    def pack_merged(values: tuple) -> bytes:
        try:
            return compiled.pack(*values)
        except (struct.error, TypeError, OverflowError, ValueError) as exc:
            raise PackError(f"cannot pack {values!r} of {cls.__name__}: {exc}") from exc
    return pack_merged


def _merged_decoder(compiled: struct.Struct, name: str) -> Decoder:
    size = compiled.size

    def unpack_merged(data: bytes, offset: int, out: list) -> int:
        _need(data, offset, size, f"fixed-size fields of {name}")
        out.extend(compiled.unpack_from(data, offset))
        return offset + size
    return unpack_merged


def _guarded(decode: Decoder, format_name: str, name: str) -> Decoder:
    """A user packer's decoder whose failures become PackError."""
    def unpack_guarded(data: bytes, offset: int, out: list) -> int:
        try:
            return decode(data, offset, out)
        except PackError:
            raise
        except Exception as exc:
            raise PackError(f"Could not unpack {format_name!r} of {name}: {exc!r}") from exc
    return unpack_guarded


def _getter(name: str, hook: Callable | None) -> Callable[[Any], Any]:
    if hook is None:
        return lambda obj: getattr(obj, name)
    return lambda obj: hook(obj, getattr(obj, name))


default_serializer = Serializer()
