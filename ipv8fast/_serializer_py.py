"""Serializer engine, pure-Python twin of ``_serializer_c``.

Per Serializable class the Serializer compiles a packing function and an unpacking function once
(cached until ``add_packer`` changes the table). Runs of fixed-width fields are merged into a single
``struct.Struct`` call. Unpacking is strict: every read must fit in the buffer (or in the nested
window), otherwise PackError.
"""
from __future__ import annotations

import struct
from typing import Any, Callable

from . import _formats as F
from ._packers import default_formats, make_packers
from ._serializable import PackError, Serializable, format_list_of, layout_of
from .addresses import DomainAddress, UDPv4Address, UDPv6Address

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


# --- one op: encode ------------------------------------------------------------------------------------

def _encode(op: tuple, args: tuple) -> bytes:
    kind = op[0]
    if kind == F.STRUCT:
        try:
            return _struct_of(op[1]).pack(*args)
        except (struct.error, TypeError, OverflowError, ValueError) as exc:
            raise PackError(f"cannot pack {args!r}: {exc}") from exc
    if kind == F.BITS:
        if len(args) != 8:
            raise PackError(f"bits needs 8 values, got {len(args)}")
        byte = 0
        for value in args:
            byte = (byte << 1) | (1 if value else 0)
        return bytes((byte,))
    if len(args) != 1 and kind != F.PYTHON:
        raise PackError(f"this format packs one value, got {len(args)}")
    value = args[0] if args else None
    if kind == F.RAW:
        return _as_bytes(value, "raw")
    if kind in (F.VARLEN, F.UTF8):
        _, size, base = op
        if kind == F.UTF8:
            if not isinstance(value, str):
                raise PackError(f"UTF-8 text needs str, not {type(value).__name__}")
            try:
                body = value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise PackError(f"text cannot be encoded as UTF-8: {exc}") from exc
        else:
            body = _as_bytes(value, "varlen")
        units = len(body) // base
        _fits(units, size, "length")
        return _U[size].pack(units) + body
    if kind == F.IPV4:
        host, port = _host_port(value)
        return F.inet_aton_lenient(host) + _port(port)
    if kind == F.ADDRESS:
        host, port = _host_port(value)
        literal = F.ip_literal(host)
        if literal is not None:
            family, packed = literal
            return (b"\x01" if family == 4 else b"\x03") + packed + _port(port)
        if op[1]:
            raise PackError(f"{host!r} is not an IPv4 or IPv6 address")
        if not isinstance(host, str):
            raise PackError(f"host name needs str, not {type(host).__name__}")
        try:
            name = host.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise PackError(f"host name cannot be encoded as UTF-8: {exc}") from exc
        _fits(len(name), 2, "host name length")
        return b"\x02" + _U[2].pack(len(name)) + name + _port(port)
    if kind == F.LIST:
        items = _sized(value)
        _fits(len(items), op[2], "item count")
        item_op = op_of(op[1])
        return _U[op[2]].pack(len(items)) + b"".join(_encode(item_op, (item,)) for item in items)
    if kind == F.ARRAY:
        items = _sized(value)
        _fits(len(items), op[2], "array length")
        size, code = F.ARRAY_ITEMS[op[1]]
        try:
            body = struct.pack(f"<{len(items)}{code}", *items)
        except (struct.error, TypeError, OverflowError) as exc:
            raise PackError(f"array items {items!r} cannot be packed as {op[1]!r}: {exc}") from exc
        return _U_LE[op[2]].pack(len(items)) + body
    if kind == F.NESTED:
        body = op[1].pack_serializable(value)
        _fits(len(body), 2, "nested payload length")
        return _U[2].pack(len(body)) + body
    if kind == F.PYTHON:
        return _as_bytes(op[1].pack(*args), "a packer's result")
    raise PackError(f"unknown op {op!r}")


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


# --- one op: decode ------------------------------------------------------------------------------------

def _decode(op: tuple, data: bytes, offset: int, out: list, extra: tuple) -> int:
    kind = op[0]
    if kind == F.STRUCT:
        size = op[3]
        _need(data, offset, size, "fixed-size field")
        values = _struct_of(op[1]).unpack_from(data, offset)
        out.append(values if op[2] else values[0])
        return offset + size
    if kind == F.BITS:
        _need(data, offset, 1, "bits")
        byte = data[offset]
        out.extend((byte >> shift) & 1 for shift in range(7, -1, -1))
        return offset + 1
    if kind == F.RAW:
        if offset < 0:
            raise PackError(f"raw at negative offset {offset}")
        out.append(data[offset:])
        return len(data)
    if kind in (F.VARLEN, F.UTF8):
        _, size, base = op
        _need(data, offset, size, "length prefix")
        length = _U[size].unpack_from(data, offset)[0] * base
        offset += size
        _need(data, offset, length, "variable-length value")
        body = data[offset:offset + length]
        if kind == F.UTF8:
            try:
                out.append(body.decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise PackError(f"invalid UTF-8 at offset {offset}: {exc}") from exc
        else:
            out.append(body)
        return offset + length
    if kind == F.IPV4:
        _need(data, offset, 6, "ipv4 address")
        out.append(UDPv4Address(F.ipv4_text(data[offset:offset + 4]), _PORT.unpack_from(data, offset + 4)[0]))
        return offset + 6
    if kind == F.ADDRESS:
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
        if kind_byte == 0x02 and not op[1]:
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
    if kind == F.LIST:
        size = op[2]
        _need(data, offset, size, "item count")
        count = _U[size].unpack_from(data, offset)[0]
        offset += size
        item_op = op_of(op[1])
        items: list = []
        for _ in range(count):
            offset = _decode(item_op, data, offset, items, extra)
        out.append(items)
        return offset
    if kind == F.ARRAY:
        size = op[2]
        _need(data, offset, size, "array length")
        count = _U_LE[size].unpack_from(data, offset)[0]
        offset += size
        item_size, code = F.ARRAY_ITEMS[op[1]]
        _need(data, offset, count * item_size, "array items")
        values = struct.unpack_from(f"<{count}{code}", data, offset)
        out.append([bool(v) for v in values] if op[1] == "?" else list(values))
        return offset + count * item_size
    if kind == F.NESTED:
        if not extra:
            raise PackError("a nested payload needs its class")
        _need(data, offset, 2, "nested payload length")
        length = _PORT.unpack_from(data, offset)[0]
        offset += 2
        _need(data, offset, length, "nested payload")
        obj, _ = op[1].unpack_serializable(extra[0], data[offset:offset + length])
        out.append(obj)
        return offset + length
    if kind == F.PYTHON:
        new_offset = op[1].unpack(data, offset, out, *extra)
        if not isinstance(new_offset, int) or new_offset > len(data):
            raise PackError(f"{op[1]!r} read past the end of the data")
        return new_offset
    raise PackError(f"unknown op {op!r}")


def op_of(packer: Any) -> tuple:
    """The op a packer stands for: its own op if it is one of this twin's built-ins, else a Python call."""
    if type(packer) in _BUILTIN_TYPES:
        return packer._op
    return (F.PYTHON, packer)


def pack_op(op: tuple, args: tuple) -> bytes:
    """Encode ``args`` with one op (the built-in packers' ``pack``)."""
    return _encode(op, args)


def unpack_op(op: tuple, data: Any, offset: int, unpack_list: list, args: tuple) -> int:
    """Decode one op at ``offset`` into ``unpack_list`` (the built-in packers' ``unpack``)."""
    if not isinstance(data, bytes):
        data = bytes(data)
    return _decode(op, data, offset, unpack_list, args)


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
        except Exception as exc:  # noqa: BLE001 - py-ipv8 reports every packing failure as PackError
            raise PackError(f"Could not pack {cls.__name__}: {exc!r}") from exc

    def pack_serializable_list(self, serializables: Any) -> bytes:
        """The concatenated bytes of several Serializables."""
        return b"".join(self.pack_serializable(s) for s in serializables)

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
        """Read attributes straight into merged struct calls; None if the names do not line up."""
        format_list = format_list_of(cls)
        try:
            fields = self._fields(format_list)
        except PackError:
            return None
        widths = [8 if entry == "bits" else 1 for entry in format_list]
        if sum(widths) != len(layout.names):
            return None
        getters: list[Callable[[Any], Any]] = []
        position = 0
        for width in widths:
            for name, hook in zip(layout.names[position:position + width],
                                  layout.pack_hooks[position:position + width]):
                getters.append(_getter(name, hook))
            position += width
        steps = []
        position = 0
        for step in _merge_structs(fields):
            if isinstance(step, tuple):
                compiled, count = step
                steps.append((compiled, None, getters[position:position + count]))
                position += count
            else:
                width = 8 if step.op[0] == F.BITS else 1
                steps.append((None, step.op, getters[position:position + width]))
                position += width

        def pack_direct(obj: Any) -> bytes:
            parts = []
            for compiled, op, step_getters in steps:
                values = tuple(get(obj) for get in step_getters)
                if compiled is not None:
                    try:
                        parts.append(compiled.pack(*values))
                    except (struct.error, TypeError, OverflowError, ValueError) as exc:
                        raise PackError(f"cannot pack {values!r} of {cls.__name__}: {exc}") from exc
                else:
                    parts.append(_encode(op, values))
            return b"".join(parts)

        return pack_direct

    def _compile_unpack(self, cls: type) -> Callable[[bytes, int], tuple[Any, int]]:
        steps = _merge_structs(self._fields(format_list_of(cls)))
        layout = layout_of(cls)
        build = cls if layout is not None and layout.direct_build and not any(layout.unpack_hooks) \
            else cls.from_unpack_list
        name = cls.__name__

        def unpack(data: bytes, offset: int) -> tuple[Any, int]:
            values: list = []
            for step in steps:
                if isinstance(step, tuple):
                    compiled, _ = step
                    _need(data, offset, compiled.size, f"fixed-size fields of {name}")
                    values.extend(compiled.unpack_from(data, offset))
                    offset += compiled.size
                else:
                    try:
                        offset = _decode(step.op, data, offset, values, step.extra)
                    except PackError:
                        raise
                    except Exception as exc:  # noqa: BLE001 - a user packer failed on these bytes
                        raise PackError(f"Could not unpack {step.format_name!r} of {name}: {exc!r}") from exc
            return build(*values), offset

        return unpack


def _getter(name: str, hook: Callable | None) -> Callable[[Any], Any]:
    if hook is None:
        return lambda obj: getattr(obj, name)
    return lambda obj: hook(obj, getattr(obj, name))


default_serializer = Serializer()


# --- packet envelope ---------------------------------------------------------------------------------------

PREFIX_LENGTH = 22


def split_header(packet: bytes) -> tuple[bytes, int]:
    """``(prefix, message id)`` of a datagram; PackError if it is shorter than prefix plus id."""
    if len(packet) <= PREFIX_LENGTH:
        raise PackError(f"a {len(packet)}-byte datagram has no message id")
    return bytes(packet[:PREFIX_LENGTH]), packet[PREFIX_LENGTH]


def read_auth(packet: bytes, offset: int = PREFIX_LENGTH + 1) -> tuple[bytes, int]:
    """The public key bin of a signed datagram's auth block and the offset of the first payload."""
    _need(packet, offset, 2, "auth block length")
    length = _U[2].unpack_from(packet, offset)[0]
    _need(packet, offset + 2, length, "public key")
    return bytes(packet[offset + 2:offset + 2 + length]), offset + 2 + length


def split_signature(packet: bytes, signature_length: int) -> tuple[bytes, bytes]:
    """``(signed part, signature)``: the signature is the last ``signature_length`` bytes."""
    if signature_length < 0 or len(packet) < PREFIX_LENGTH + 1 + signature_length:
        raise PackError(f"a {len(packet)}-byte datagram cannot hold a {signature_length}-byte signature")
    cut = len(packet) - signature_length
    return bytes(packet[:cut]), bytes(packet[cut:])


def join_packet(prefix: bytes, msg_id: int, body: bytes, public_key_bin: bytes | None = None) -> bytes:
    """``prefix ‖ id ‖ [u16 length ‖ key] ‖ body`` (for a signed message, the bytes to sign)."""
    if len(prefix) != PREFIX_LENGTH:
        raise PackError(f"a prefix is {PREFIX_LENGTH} bytes, not {len(prefix)}")
    if not 0 <= msg_id <= 255:
        raise PackError(f"message id {msg_id} is not in 0..255")
    if public_key_bin is None:
        return b"".join((prefix, bytes((msg_id,)), body))
    _fits(len(public_key_bin), 2, "public key length")
    return b"".join((prefix, bytes((msg_id,)), _U[2].pack(len(public_key_bin)), public_key_bin, body))
