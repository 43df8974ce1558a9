# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, binding=False
"""Serializer engine, compiled twin of ``serializer_py`` (same names, same behaviour).

Each built-in packer's op becomes a ``COp``; per Serializable class the Serializer compiles a plan of
COps once and runs it over a growable C buffer (packing) or over the bytes object's memory (unpacking).
Every read is bounds-checked against the buffer or the nested window: malformed input raises PackError.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_AsDouble, PyFloat_CheckExact, PyFloat_FromDouble
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE, PyList_New, PyList_SET_ITEM
from cpython.long cimport PyLong_Check, PyLong_CheckExact, PyLong_FromLongLong, PyLong_FromUnsignedLongLong
from cpython.object cimport PyObject, PyObject_IsTrue, PyTypeObject
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE, PyTuple_New, PyTuple_SET_ITEM
from cpython.ref cimport Py_INCREF, Py_XDECREF, Py_XINCREF
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.math cimport isinf
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memchr, memcpy, memset

from sys import intern as _sys_intern

from . import formats as F
from . import wire as _wire
from .packers import default_formats, make_packers
from .serializable import PackError, Serializable, format_list_of, layout_of
from ..addresses import DomainAddress, UDPv4Address, UDPv6Address

cdef extern from "Python.h":
    long long PyLong_AsLongLongAndOverflow(object, int*) except? -1
    unsigned long long PyLong_AsUnsignedLongLong(object) except? -1
    const char* PyUnicode_AsUTF8AndSize(object, Py_ssize_t*) except NULL
    object PyNumber_Index(object)
    int PyObject_SetAttr(object, object, object) except -1
    object PyObject_GetAttr(object, object)
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    void* PyUnicode_DATA(object)
    PyTypeObject PyBaseObject_Type
    object PyObject_Vectorcall(object callable, PyObject** args, size_t nargsf, PyObject* kwnames)
    size_t PY_VECTORCALL_ARGUMENTS_OFFSET

# op kinds: the values of wire.py, checked at import below
from ipv8fast._core.wire cimport (ADDRESS as K_ADDRESS, ARRAY as K_ARRAY, BITS as K_BITS, IPV4 as K_IPV4,
                                  LIST as K_LIST, NESTED as K_NESTED, PREFIX_LENGTH as PREFIX, PYTHON as K_PYTHON,
                                  RAW as K_RAW, STRUCT as K_STRUCT, UTF8 as K_UTF8, VARLEN as K_VARLEN)

__all__ = ["PACKERS", "Serializer", "default_serializer", "pack_op", "unpack_op"]

# struct item codes
cdef enum:
    IT_BOOL = 1
    IT_I8
    IT_U8
    IT_I16
    IT_U16
    IT_I32
    IT_U32
    IT_I64
    IT_U64
    IT_F32
    IT_F64
    IT_CHAR
    IT_STR

cdef dict _ITEM_CODES = {"?": IT_BOOL, "b": IT_I8, "B": IT_U8, "h": IT_I16, "H": IT_U16, "i": IT_I32,
                         "I": IT_U32, "q": IT_I64, "Q": IT_U64, "f": IT_F32, "d": IT_F64, "c": IT_CHAR,
                         "s": IT_STR}
cdef dict _ITEM_NAMES = {v: k for k, v in _ITEM_CODES.items()}

_wire.check_mirror(__name__, {"STRUCT": K_STRUCT, "BITS": K_BITS, "RAW": K_RAW, "VARLEN": K_VARLEN, "UTF8": K_UTF8,
                              "IPV4": K_IPV4, "ADDRESS": K_ADDRESS, "LIST": K_LIST, "ARRAY": K_ARRAY,
                              "NESTED": K_NESTED, "PYTHON": K_PYTHON, "PREFIX_LENGTH": PREFIX})

cdef enum:
    MAX_ITEMS = 32
    MAX_FIELDS = 64
    INIT_CALL_FIELDS = 4
    STACK_BUFFER = 512

cdef object _as_text_v6 = F.ipv6_text
cdef object _ip_literal = F.ip_literal
cdef object _UDPV4_TYPE = UDPv4Address


cdef object _intern(object name):
    """``name`` as an interned str where it is one (attribute lookups then compare pointers first)."""
    return _sys_intern(name) if type(name) is str else name


# --- growable output buffer -----------------------------------------------------------------------------

cdef struct Writer:
    char* buf
    Py_ssize_t length
    Py_ssize_t capacity
    bint heap
    char stack[STACK_BUFFER]


cdef inline void w_init(Writer* w) noexcept:
    w.buf = w.stack
    w.length = 0
    w.capacity = STACK_BUFFER
    w.heap = False


cdef inline void w_free(Writer* w) noexcept:
    if w.heap:
        free(w.buf)
        w.heap = False


cdef int w_grow(Writer* w, Py_ssize_t extra) except -1:
    cdef Py_ssize_t capacity = w.capacity * 2
    cdef char* buf
    while capacity < w.length + extra:
        capacity *= 2
    if w.heap:
        buf = <char*>realloc(w.buf, capacity)
    else:
        buf = <char*>malloc(capacity)
        if buf != NULL:
            memcpy(buf, w.buf, w.length)
    if buf == NULL:
        raise MemoryError()
    w.buf = buf
    w.capacity = capacity
    w.heap = True
    return 0


cdef inline char* w_reserve(Writer* w, Py_ssize_t n) except NULL:
    cdef char* position
    if w.length + n > w.capacity:
        w_grow(w, n)
    position = w.buf + w.length
    w.length += n
    return position


cdef inline int w_bytes(Writer* w, const char* data, Py_ssize_t n) except -1:
    memcpy(w_reserve(w, n), data, n)
    return 0


cdef inline void put_be(char* out, uint64_t value, int size) noexcept:
    cdef int index
    for index in range(size - 1, -1, -1):
        out[index] = <char>(value & 0xFF)
        value >>= 8


cdef inline void put_le(char* out, uint64_t value, int size) noexcept:
    cdef int index
    for index in range(size):
        out[index] = <char>(value & 0xFF)
        value >>= 8


cdef inline uint64_t get_be(const uint8_t* data, int size) noexcept:
    cdef uint64_t value = 0
    cdef int index
    for index in range(size):
        value = (value << 8) | data[index]
    return value


cdef inline uint64_t get_le(const uint8_t* data, int size) noexcept:
    cdef uint64_t value = 0
    cdef int index
    for index in range(size - 1, -1, -1):
        value = (value << 8) | data[index]
    return value


# --- ops ------------------------------------------------------------------------------------------------

cdef class COp:
    """One compiled format: what to write or read, with its parameters."""

    cdef int kind
    cdef int size            # STRUCT: total bytes; VARLEN/UTF8: prefix bytes; LIST/ARRAY: count bytes
    cdef int base            # VARLEN/UTF8 unit size
    cdef bint as_tuple       # STRUCT with several items unpacks to one tuple
    cdef bint ip_only        # ADDRESS
    cdef int n_items
    cdef int item_code[MAX_ITEMS]
    cdef int item_size[MAX_ITEMS]
    cdef COp item            # LIST
    cdef object target       # NESTED: the serializer; PYTHON: the packer


cdef dict _SIMPLE_ITEM_SIZES = {IT_BOOL: 1, IT_I8: 1, IT_U8: 1, IT_I16: 2, IT_U16: 2, IT_I32: 4, IT_U32: 4,
                                IT_I64: 8, IT_U64: 8, IT_F32: 4, IT_F64: 8, IT_CHAR: 1}


cdef COp compile_op(tuple op):
    cdef COp c = COp.__new__(COp)
    cdef int kind = op[0]
    cdef int index
    c.kind = kind
    if kind == K_STRUCT:
        items = op[1]
        if len(items) > MAX_ITEMS:
            raise ValueError(f"struct format with more than {MAX_ITEMS} fields")
        c.n_items = len(items)
        for index in range(c.n_items):
            code, size = items[index]
            c.item_code[index] = _ITEM_CODES[code]
            c.item_size[index] = size
        c.as_tuple = op[2]
        c.size = op[3]
    elif kind == K_VARLEN or kind == K_UTF8:
        c.size = op[1]
        c.base = op[2]
    elif kind == K_ADDRESS:
        c.ip_only = op[1]
    elif kind == K_LIST:
        c.item = op_of(op[1])
        c.size = op[2]
    elif kind == K_ARRAY:
        c.n_items = 1
        c.item_code[0] = IT_U8 if op[1] == "?" else _ITEM_CODES[op[1]]
        c.item_size[0] = _SIMPLE_ITEM_SIZES[c.item_code[0]]
        c.as_tuple = op[1] == "?"    # reused: items unpack to bool
        c.size = op[2]
    elif kind == K_NESTED or kind == K_PYTHON:
        c.target = op[1]
    elif kind != K_BITS and kind != K_RAW and kind != K_IPV4:
        raise ValueError(f"unknown op {op!r}")
    return c


cdef COp op_of(object packer):
    if type(packer) in _BUILTIN_TYPES:
        return compile_op(packer._op)
    return compile_op((K_PYTHON, packer))


# --- encoding -------------------------------------------------------------------------------------------

cdef int _raise_range(object value, int code) except -1:
    raise PackError(f"{value!r} is out of range for format {_ITEM_NAMES[code]!r}")


cdef int enc_item(Writer* w, int code, int size, object value, bint little) except -1:
    cdef long long signed_value
    cdef unsigned long long unsigned_value = 0
    cdef int overflow = 0
    cdef double d
    cdef float f
    cdef Py_ssize_t n
    cdef const char* data
    cdef char* out
    if code == IT_BOOL:
        w_reserve(w, 1)[0] = 1 if PyObject_IsTrue(value) else 0
        return 0
    if code <= IT_U64:
        if not PyLong_Check(value):
            try:
                value = PyNumber_Index(value)
            except TypeError:
                raise PackError(f"format {_ITEM_NAMES[code]!r} needs an integer, not {type(value).__name__}") from None
        signed_value = PyLong_AsLongLongAndOverflow(value, &overflow)
        if overflow == 0:
            if code == IT_U8 and not 0 <= signed_value <= 0xFF \
                    or code == IT_I8 and not -0x80 <= signed_value <= 0x7F \
                    or code == IT_U16 and not 0 <= signed_value <= 0xFFFF \
                    or code == IT_I16 and not -0x8000 <= signed_value <= 0x7FFF \
                    or code == IT_U32 and not 0 <= signed_value <= 0xFFFFFFFF \
                    or code == IT_I32 and not -0x80000000 <= signed_value <= 0x7FFFFFFF \
                    or code == IT_U64 and signed_value < 0:
                _raise_range(value, code)
            unsigned_value = <unsigned long long>signed_value
        elif code == IT_U64 and overflow > 0:
            try:
                unsigned_value = PyLong_AsUnsignedLongLong(value)
            except OverflowError:
                _raise_range(value, code)
        else:
            _raise_range(value, code)
        out = w_reserve(w, size)
        if little:
            put_le(out, unsigned_value, size)
        else:
            put_be(out, unsigned_value, size)
        return 0
    if code == IT_F32 or code == IT_F64:
        if PyFloat_CheckExact(value):
            d = PyFloat_AS_DOUBLE(value)
        else:
            try:
                d = PyFloat_AsDouble(value)
            except TypeError:
                raise PackError(f"format {_ITEM_NAMES[code]!r} needs a number, not {type(value).__name__}") from None
        out = w_reserve(w, size)
        if code == IT_F32:
            f = <float>d
            if isinf(f) and not isinf(d):
                w.length -= size
                raise PackError(f"{value!r} is too large for a binary32 float")
            memcpy(&unsigned_value, &f, 4)
        else:
            memcpy(&unsigned_value, &d, 8)
        if little:
            put_le(out, unsigned_value, size)
        else:
            put_be(out, unsigned_value, size)
        return 0
    # IT_CHAR, IT_STR: bytes or bytearray, like struct
    if type(value) is bytes:
        data = PyBytes_AS_STRING(value)
        n = PyBytes_GET_SIZE(value)
    elif isinstance(value, bytearray):
        data = PyByteArray_AS_STRING(value)
        n = PyByteArray_GET_SIZE(value)
    elif isinstance(value, bytes):
        data = PyBytes_AS_STRING(value)
        n = PyBytes_GET_SIZE(value)
    else:
        raise PackError(f"format {_ITEM_NAMES[code]!r} needs bytes, not {type(value).__name__}")
    if code == IT_CHAR:
        if n != 1:
            raise PackError(f"format 'c' needs exactly one byte, got {n}")
        w_reserve(w, 1)[0] = data[0]
        return 0
    out = w_reserve(w, size)
    if n >= size:
        memcpy(out, data, size)
    else:
        memcpy(out, data, n)
        memset(out + n, 0, size - n)
    return 0


cdef long long _FIXED_LOW[IT_STR + 1]
cdef long long _FIXED_HIGH[IT_STR + 1]
_FIXED_LOW[:] = [1, 1, -0x80, 0, -0x8000, 0, -0x80000000, 0, -0x7FFFFFFFFFFFFFFF - 1, 0, 1, 1, 1, 1]
_FIXED_HIGH[:] = [0, 0, 0x7F, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 0x7FFFFFFFFFFFFFFF, 0x7FFFFFFFFFFFFFFF,
                  0, 0, 0, 0]


cdef inline int enc_fixed(Writer* w, int code, int size, object value) except -1:
    """``enc_item`` (big-endian) with a short path for an in-range int; anything else goes to ``enc_item``."""
    cdef long long signed_value
    cdef int overflow = 0
    if PyLong_CheckExact(value) and _FIXED_LOW[code] <= _FIXED_HIGH[code]:
        signed_value = PyLong_AsLongLongAndOverflow(value, &overflow)
        if overflow == 0 and _FIXED_LOW[code] <= signed_value <= _FIXED_HIGH[code]:
            put_be(w_reserve(w, size), <uint64_t>signed_value, size)
            return 0
    return enc_item(w, code, size, value, False)


cdef bytes as_bytes(object value, str what):
    if type(value) is bytes:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(memoryview(value).cast("B"))
    raise PackError(f"{what} needs bytes, not {type(value).__name__}")


cdef int enc_prefixed(Writer* w, int size, Py_ssize_t units, const char* data, Py_ssize_t n) except -1:
    if size < 8 and units >= (<Py_ssize_t>1) << (8 * size):
        raise PackError(f"length of {units} does not fit a {size}-byte prefix")
    put_be(w_reserve(w, size), <uint64_t>units, size)
    w_bytes(w, data, n)
    return 0


cdef int parse_ipv4_lenient(object host, uint8_t* out) except -1:
    """BSD inet_aton rules: 1-4 parts, decimal/octal/hex, the last fills the rest, stops at whitespace."""
    cdef Py_ssize_t length, position = 0
    cdef const char* text
    cdef uint64_t value = 0
    cdef uint64_t parts[3]
    cdef int n_parts = 0, base, digits
    cdef unsigned char c
    if not isinstance(host, str):
        raise PackError(f"IPv4 host must be text, not {type(host).__name__}")
    try:
        text = PyUnicode_AsUTF8AndSize(host, &length)
    except UnicodeError:
        raise PackError(f"illegal IPv4 address {host!r}") from None
    while True:
        if position >= length or not (48 <= <unsigned char>text[position] <= 57):
            raise PackError(f"illegal IPv4 address {host!r}")
        base = 10
        digits = 1
        value = 0
        if text[position] == 48:
            position += 1
            if position < length and (text[position] == 120 or text[position] == 88):
                base = 16
                digits = 0
                position += 1
            else:
                base = 8
        while position < length:
            c = <unsigned char>text[position]
            if 48 <= c <= 57:
                if base == 8 and c >= 56:
                    raise PackError(f"illegal IPv4 address {host!r}")
                value = value * base + (c - 48)
            elif base == 16 and (97 <= c <= 102 or 65 <= c <= 70):
                value = (value << 4) | ((c | 0x20) - 87)
            else:
                break
            if value > 0xFFFFFFFF:
                raise PackError(f"illegal IPv4 address {host!r}")
            digits += 1
            position += 1
        if not digits:
            raise PackError(f"illegal IPv4 address {host!r}")
        if position < length and text[position] == 46:
            if n_parts > 2 or value > 0xFF:
                raise PackError(f"illegal IPv4 address {host!r}")
            parts[n_parts] = value
            n_parts += 1
            position += 1
            continue
        break
    if position < length:
        c = <unsigned char>text[position]
        if c == 0 or not (c == 32 or 9 <= c <= 13):
            raise PackError(f"illegal IPv4 address {host!r}")
    if memchr(text, 0, length) != NULL:
        raise PackError(f"IPv4 host {host!r} contains a NUL character")
    if value > (0xFFFFFFFF, 0xFFFFFF, 0xFFFF, 0xFF)[n_parts]:
        raise PackError(f"illegal IPv4 address {host!r}")
    for position in range(n_parts):
        value |= parts[position] << (24 - 8 * position)
    put_be(<char*>out, value, 4)
    return 0


cdef int enc_port(Writer* w, object port) except -1:
    try:
        enc_item(w, IT_U16, 2, port, False)
    except PackError:
        raise PackError(f"port {port!r} is not in 0..65535") from None
    return 0


cdef tuple host_port(object value):
    try:
        return value[0], value[1]
    except (TypeError, IndexError, KeyError):
        raise PackError(f"an address needs (host, port), got {value!r}") from None


cdef int check_sized(object value) except -1:
    if type(value) is list or type(value) is tuple:
        return 0
    if isinstance(value, (str, bytes, bytearray)) or not hasattr(value, "__len__"):
        raise PackError(f"expected a list, got {type(value).__name__}")
    return 0


cdef const char* utf8_of(object value, Py_ssize_t* n, str what) except NULL:
    """The strict UTF-8 bytes of ``value``, which must be text (the pointer lives as long as ``value``)."""
    if not isinstance(value, str):
        raise PackError(f"{what} needs str, not {type(value).__name__}")
    try:
        return PyUnicode_AsUTF8AndSize(value, n)
    except UnicodeEncodeError as exc:
        raise PackError(f"{what} cannot be encoded as UTF-8: {exc}") from exc


cdef int enc_count(Writer* w, object value, int size, bint little) except -1:
    """Write the count prefix of a list or array (after checking it is one and the count fits)."""
    cdef Py_ssize_t count
    check_sized(value)
    count = len(value)
    if count >= (<Py_ssize_t>1) << (8 * size):
        raise PackError(f"count of {count} items does not fit a {size}-byte prefix")
    if little:
        put_le(w_reserve(w, size), <uint64_t>count, size)
    else:
        put_be(w_reserve(w, size), <uint64_t>count, size)
    return 0


cdef int enc1(Writer* w, COp op, object value) except -1:
    """Encode one value with a single-value op."""
    cdef int kind = op.kind
    cdef Py_ssize_t n, start, count
    cdef const char* data
    cdef uint8_t address[4]
    cdef bytes body
    if kind == K_STRUCT:
        if op.n_items != 1:
            raise PackError(f"this struct format packs {op.n_items} values, got 1")
        return enc_item(w, op.item_code[0], op.item_size[0], value, False)
    if kind == K_VARLEN:
        if type(value) is not bytes:
            value = as_bytes(value, "varlen")
        n = PyBytes_GET_SIZE(value)
        return enc_prefixed(w, op.size, n // op.base, PyBytes_AS_STRING(value), n)
    if kind == K_UTF8:
        data = utf8_of(value, &n, "UTF-8 text")
        return enc_prefixed(w, op.size, n // op.base, data, n)
    if kind == K_RAW:
        if type(value) is not bytes:
            value = as_bytes(value, "raw")
        return w_bytes(w, PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value))
    if kind == K_IPV4:
        if type(value) is _UDPV4_TYPE or type(value) is tuple and PyTuple_GET_SIZE(value) >= 2:
            host = <object>PyTuple_GET_ITEM(value, 0)
            port = <object>PyTuple_GET_ITEM(value, 1)
        else:
            host, port = host_port(value)
        parse_ipv4_lenient(host, address)
        w_bytes(w, <char*>address, 4)
        return enc_port(w, port)
    if kind == K_ADDRESS:
        host, port = host_port(value)
        literal = _ip_literal(host)
        if literal is not None:
            w_reserve(w, 1)[0] = 1 if literal[0] == 4 else 3
            body = literal[1]
            w_bytes(w, PyBytes_AS_STRING(body), PyBytes_GET_SIZE(body))
            return enc_port(w, port)
        if op.ip_only:
            raise PackError(f"{host!r} is not an IPv4 or IPv6 address")
        data = utf8_of(host, &n, "host name")
        w_reserve(w, 1)[0] = 2
        enc_prefixed(w, 2, n, data, n)
        return enc_port(w, port)
    if kind == K_LIST:
        enc_count(w, value, op.size, False)
        for item in value:
            enc1(w, op.item, item)
        return 0
    if kind == K_ARRAY:
        enc_count(w, value, op.size, True)
        for item in value:
            enc_item(w, op.item_code[0], op.item_size[0], item, True)
        return 0
    if kind == K_NESTED:
        start = w.length
        w_reserve(w, 2)
        if isinstance(op.target, Serializer):
            (<Serializer>op.target)._pack_into(w, value)
        else:
            body = as_bytes(op.target.pack_serializable(value), "a nested payload")
            w_bytes(w, PyBytes_AS_STRING(body), PyBytes_GET_SIZE(body))
        n = w.length - start - 2
        if n > 0xFFFF:
            raise PackError(f"nested payload of {n} bytes does not fit a 2-byte length")
        put_be(w.buf + start, <uint64_t>n, 2)
        return 0
    if kind == K_PYTHON:
        body = as_bytes(op.target.pack(value), "a packer's result")
        return w_bytes(w, PyBytes_AS_STRING(body), PyBytes_GET_SIZE(body))
    if kind == K_BITS:
        raise PackError("bits needs 8 values, got 1")
    raise PackError(f"unknown op kind {kind}")


cdef int enc_args(Writer* w, COp op, tuple args) except -1:
    """Encode a packer call's arguments (several values for STRUCT/BITS/PYTHON)."""
    cdef Py_ssize_t n = PyTuple_GET_SIZE(args)
    cdef int index, byte = 0
    cdef bytes body
    if op.kind == K_STRUCT:
        if n != op.n_items:
            raise PackError(f"this struct format packs {op.n_items} values, got {n}")
        for index in range(n):
            enc_item(w, op.item_code[index], op.item_size[index], <object>PyTuple_GET_ITEM(args, index), False)
        return 0
    if op.kind == K_BITS:
        if n != 8:
            raise PackError(f"bits needs 8 values, got {n}")
        for index in range(8):
            byte = (byte << 1) | (1 if PyObject_IsTrue(<object>PyTuple_GET_ITEM(args, index)) else 0)
        w_reserve(w, 1)[0] = <char>byte
        return 0
    if op.kind == K_PYTHON:
        body = as_bytes(op.target.pack(*args), "a packer's result")
        return w_bytes(w, PyBytes_AS_STRING(body), PyBytes_GET_SIZE(body))
    if n != 1:
        raise PackError(f"this format packs one value, got {n}")
    return enc1(w, op, <object>PyTuple_GET_ITEM(args, 0))


# --- decoding -------------------------------------------------------------------------------------------

cdef int _short(Py_ssize_t offset, Py_ssize_t size, Py_ssize_t end, str what) except -1:
    raise PackError(f"{what} needs {size} bytes at offset {offset}, {max(0, end - offset)} left")


cdef object dec_item(const uint8_t* p, int code, int size, bint little):
    cdef uint64_t raw
    cdef double d
    cdef float f
    cdef uint32_t bits32
    if code == IT_STR or code == IT_CHAR:
        return PyBytes_FromStringAndSize(<const char*>p, size)
    raw = get_le(p, size) if little else get_be(p, size)
    if code == IT_BOOL:
        return raw != 0
    if code == IT_U8 or code == IT_U16 or code == IT_U32 or code == IT_U64:
        return PyLong_FromUnsignedLongLong(raw)
    if code == IT_I8:
        return PyLong_FromLongLong(<signed char>raw)
    if code == IT_I16:
        return PyLong_FromLongLong(<short>raw)
    if code == IT_I32:
        return PyLong_FromLongLong(<int>raw)
    if code == IT_I64:
        return PyLong_FromLongLong(<long long>raw)
    if code == IT_F32:
        bits32 = <uint32_t>raw
        memcpy(&f, &bits32, 4)
        return PyFloat_FromDouble(f)
    if code == IT_F64:
        memcpy(&d, &raw, 8)
        return PyFloat_FromDouble(d)
    raise PackError(f"unknown item code {code}")


cdef extern from *:
    """
    static PyObject* ipv8fast_type_alloc(PyObject* cls, Py_ssize_t n) {
        return ((PyTypeObject*)cls)->tp_alloc((PyTypeObject*)cls, n);
    }
    static int ipv8fast_set_field(PyObject* obj, PyObject* name, PyObject* value) {
        /* what `obj.name = value` does, without PyObject_SetAttr's re-interning of the name when the
           type's setattr is the generic one (no __setattr__ anywhere in its MRO) */
        if (Py_TYPE(obj)->tp_setattro == PyObject_GenericSetAttr)
            return PyObject_GenericSetAttr(obj, name, value);
        return PyObject_SetAttr(obj, name, value);
    }
    """
    object type_alloc "ipv8fast_type_alloc"(object cls, Py_ssize_t n)
    int set_field "ipv8fast_set_field"(object obj, object name, object value) except -1


cdef str ipv4_text(const uint8_t* p):
    cdef char text[16]
    cdef int length = 0, index, value
    for index in range(4):
        value = p[index]
        if value >= 100:
            text[length] = <char>(48 + value // 100)
            length += 1
        if value >= 10:
            text[length] = <char>(48 + (value // 10) % 10)
            length += 1
        text[length] = <char>(48 + value % 10)
        length += 1
        if index < 3:
            text[length] = 46
            length += 1
    text_object = PyUnicode_New(length, 127)
    memcpy(PyUnicode_DATA(text_object), text, length)
    return text_object


cdef object address_tuple(object cls, object host, int port):
    """``cls(host, port)`` for an address NamedTuple, built the way ``tuple.__new__`` builds subclasses."""
    obj = type_alloc(cls, 2)
    Py_INCREF(host)
    PyTuple_SET_ITEM(obj, 0, host)
    cdef object port_object = port
    Py_INCREF(port_object)
    PyTuple_SET_ITEM(obj, 1, port_object)
    return obj


cdef Py_ssize_t dec(COp op, bytes data, Py_ssize_t offset, Py_ssize_t end, list out, tuple extra) except -1:
    """Decode one op from ``data[offset:end]``, appending the value(s) to ``out``; return the new offset."""
    cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(data)
    cdef int index
    cdef Py_ssize_t position
    cdef uint8_t byte
    if offset < 0:
        raise PackError(f"negative offset {offset}")
    if op.kind == K_BITS:
        if offset + 1 > end:
            _short(offset, 1, end, "bits")
        byte = p[offset]
        for index in range(7, -1, -1):
            out.append((byte >> index) & 1)
        return offset + 1
    if op.kind == K_PYTHON:
        window = data if end == PyBytes_GET_SIZE(data) else data[:end]
        position = op.target.unpack(window, offset, out, *extra)
        if position > end:
            raise PackError(f"{op.target!r} read past the end of the data")
        return position
    out.append(dec1(op, data, &offset, end, extra))
    return offset


cdef inline Py_ssize_t dec_prefixed(COp op, const uint8_t* p, Py_ssize_t* at, Py_ssize_t end) except -1:
    """Check the length-prefixed value at ``at[0]`` fits; return where its bytes start, ``at[0]`` = their end."""
    cdef Py_ssize_t offset = at[0], length
    if offset + op.size > end:
        _short(offset, op.size, end, "length prefix")
    length = <Py_ssize_t>get_be(p + offset, op.size) * op.base
    offset += op.size
    if length > end - offset:
        _short(offset, length, end, "variable-length value")
    at[0] = offset + length
    return offset


cdef inline bytes dec_varlen(COp op, const uint8_t* p, Py_ssize_t* at, Py_ssize_t end):
    """The bytes of one length-prefixed value at ``at[0]``; advance ``at[0]`` past it."""
    cdef Py_ssize_t start = dec_prefixed(op, p, at, end)
    return PyBytes_FromStringAndSize(<const char*>p + start, at[0] - start)


cdef inline bint single_value(COp op) noexcept:
    """True when ``op`` decodes to exactly one value (every kind but bits and Python packers)."""
    return op.kind != K_BITS and op.kind != K_PYTHON


cdef object dec1(COp op, bytes data, Py_ssize_t* at, Py_ssize_t end, tuple extra):
    """Decode the one value of a ``single_value`` op at ``at[0]`` (not negative); advance ``at[0]`` past it."""
    cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(data)
    cdef int kind = op.kind, index
    cdef Py_ssize_t offset = at[0], length, count, position
    cdef uint8_t byte
    cdef list items
    cdef tuple values
    cdef object value
    if kind == K_STRUCT:
        if offset + op.size > end:
            _short(offset, op.size, end, "fixed-size field")
        at[0] = offset + op.size
        if not op.as_tuple:
            return dec_item(p + offset, op.item_code[0], op.item_size[0], False)
        values = PyTuple_New(op.n_items)
        for index in range(op.n_items):
            value = dec_item(p + offset, op.item_code[index], op.item_size[index], False)
            Py_INCREF(value)
            PyTuple_SET_ITEM(values, index, value)
            offset += op.item_size[index]
        return values
    if kind == K_VARLEN:
        return dec_varlen(op, p, at, end)
    if kind == K_UTF8:
        offset = dec_prefixed(op, p, at, end)
        try:
            return PyUnicode_DecodeUTF8(<const char*>p + offset, at[0] - offset, "strict")
        except UnicodeDecodeError as exc:
            raise PackError(f"invalid UTF-8 at offset {offset}: {exc}") from exc
    if kind == K_RAW:
        at[0] = end
        if offset >= end:
            return b""
        return PyBytes_FromStringAndSize(<const char*>p + offset, end - offset)
    if kind == K_IPV4:
        if offset + 6 > end:
            _short(offset, 6, end, "ipv4 address")
        at[0] = offset + 6
        return address_tuple(UDPv4Address, ipv4_text(p + offset), <int>get_be(p + offset + 4, 2))
    if kind == K_ADDRESS:
        if offset + 1 > end:
            _short(offset, 1, end, "address type")
        byte = p[offset]
        offset += 1
        if byte == 1:
            if offset + 6 > end:
                _short(offset, 6, end, "IPv4 address")
            at[0] = offset + 6
            return address_tuple(UDPv4Address, ipv4_text(p + offset), <int>get_be(p + offset + 4, 2))
        if byte == 3:
            if offset + 18 > end:
                _short(offset, 18, end, "IPv6 address")
            host = _as_text_v6(PyBytes_FromStringAndSize(<const char*>p + offset, 16))
            at[0] = offset + 18
            return address_tuple(UDPv6Address, host, <int>get_be(p + offset + 16, 2))
        if byte == 2 and not op.ip_only:
            if offset + 2 > end:
                _short(offset, 2, end, "host name length")
            length = <Py_ssize_t>get_be(p + offset, 2)
            offset += 2
            if offset + length + 2 > end:
                _short(offset, length + 2, end, "host name and port")
            try:
                host = PyUnicode_DecodeUTF8(<const char*>p + offset, length, "strict")
            except UnicodeDecodeError:
                raise PackError(f"host name is not UTF-8 at offset {offset}") from None
            at[0] = offset + length + 2
            return address_tuple(DomainAddress, host, <int>get_be(p + offset + length, 2))
        raise PackError(f"unknown address type 0x{byte:02x} at offset {offset - 1}")
    if kind == K_LIST:
        if offset + op.size > end:
            _short(offset, op.size, end, "item count")
        count = <Py_ssize_t>get_be(p + offset, op.size)
        offset += op.size
        if single_value(op.item) and count <= end - offset:
            # sized up front (each such item but raw takes a byte or more); a failure part-way frees
            # the list with its unfilled slots still NULL, which list deallocation allows
            items = PyList_New(count)
            for position in range(count):
                if op.item.kind == K_VARLEN:
                    value = dec_varlen(op.item, p, &offset, end)
                else:
                    value = dec1(op.item, data, &offset, end, extra)
                Py_INCREF(value)
                PyList_SET_ITEM(items, position, value)
        else:
            items = []
            for position in range(count):
                offset = dec(op.item, data, offset, end, items, extra)
        at[0] = offset
        return items
    if kind == K_ARRAY:
        if offset + op.size > end:
            _short(offset, op.size, end, "array length")
        count = <Py_ssize_t>get_le(p + offset, op.size)
        offset += op.size
        length = count * op.item_size[0]
        if length > end - offset:
            _short(offset, length, end, "array items")
        items = PyList_New(count)
        for position in range(count):
            if op.as_tuple:
                value = p[offset] != 0
            else:
                value = dec_item(p + offset, op.item_code[0], op.item_size[0], True)
            Py_INCREF(value)
            PyList_SET_ITEM(items, position, value)
            offset += op.item_size[0]
        at[0] = offset
        return items
    if kind == K_NESTED:
        if PyTuple_GET_SIZE(extra) == 0:
            raise PackError("a nested payload needs its class")
        if offset + 2 > end:
            _short(offset, 2, end, "nested payload length")
        length = <Py_ssize_t>get_be(p + offset, 2)
        offset += 2
        if length > end - offset:
            _short(offset, length, end, "nested payload")
        cls = <object>PyTuple_GET_ITEM(extra, 0)
        at[0] = offset + length
        if isinstance(op.target, Serializer):
            return (<Serializer>op.target)._unpack_window(cls, data, offset, offset + length)[0]
        return op.target.unpack_serializable(cls, data[offset:offset + length])[0]
    raise PackError(f"unknown op kind {kind}")


# --- the bare packer API ---------------------------------------------------------------------------------

def pack_op(tuple op, tuple args):
    """Encode ``args`` with one op (the built-in packers' ``pack``)."""
    cdef Writer w
    w_init(&w)
    try:
        enc_args(&w, compile_op(op), args)
        return PyBytes_FromStringAndSize(w.buf, w.length)
    finally:
        w_free(&w)


def unpack_op(tuple op, object data, Py_ssize_t offset, list unpack_list, tuple args):
    """Decode one op at ``offset`` into ``unpack_list`` (the built-in packers' ``unpack``)."""
    if type(data) is not bytes:
        data = bytes(data)
    return dec(compile_op(op), data, offset, PyBytes_GET_SIZE(data), unpack_list, args)


PACKERS = make_packers(pack_op, unpack_op)
cdef frozenset _BUILTIN_TYPES = frozenset(vars(PACKERS).values())


# --- plans ----------------------------------------------------------------------------------------------

cdef class _PackPlan:
    cdef list ops            # COp per format entry
    cdef list widths         # names consumed per entry (8 for bits)
    cdef tuple names
    cdef tuple hooks         # per name: fix_pack function or None
    cdef bint has_hooks
    cdef bint fixed          # no hooks, only single-value fixed-width fields: the size is known up front
    cdef Py_ssize_t n_fixed
    cdef Py_ssize_t fixed_size
    cdef int fixed_codes[MAX_FIELDS]
    cdef int fixed_sizes[MAX_FIELDS]

    cdef bytes pack_fixed(self, object obj):
        """The bytes of ``obj`` written straight into a bytes object of the plan's size."""
        cdef Writer w
        cdef Py_ssize_t index
        cdef bytes out = PyBytes_FromStringAndSize(NULL, self.fixed_size)
        w.buf = PyBytes_AS_STRING(out)
        w.length = 0
        w.capacity = self.fixed_size
        w.heap = False
        for index in range(self.n_fixed):
            enc_fixed(&w, self.fixed_codes[index], self.fixed_sizes[index],
                      PyObject_GetAttr(obj, <object>PyTuple_GET_ITEM(self.names, index)))
        return out

    cdef int run(self, Writer* w, object obj) except -1:
        cdef Py_ssize_t index, n = PyList_GET_SIZE(self.ops), position = 0
        cdef COp op
        cdef object value, hook
        for index in range(n):
            op = <COp>PyList_GET_ITEM(self.ops, index)
            if op.kind == K_BITS:
                enc_args(w, op, tuple([self._value(obj, position + bit) for bit in range(8)]))
                position += 8
                continue
            value = PyObject_GetAttr(obj, <object>PyTuple_GET_ITEM(self.names, position))
            if self.has_hooks:
                hook = <object>PyTuple_GET_ITEM(self.hooks, position)
                if hook is not None:
                    value = hook(obj, value)
            enc1(w, op, value)
            position += 1
        return 0

    cdef object _value(self, object obj, Py_ssize_t position):
        value = getattr(obj, self.names[position])
        hook = self.hooks[position]
        return value if hook is None else hook(obj, value)


cdef class _UnpackPlan:
    cdef list ops
    cdef list extras
    cdef list format_names
    cdef object cls
    cdef object build           # cls.from_unpack_list when not built directly
    cdef bint direct_build      # from_unpack_list is the stock one: apply the hooks here, call the class
    cdef bint fast_construct    # __init__ is the vp_compile'd one: set the attributes without calling it
    cdef bint simple            # fast_construct, no hooks, only single-value fixed-width fields
    cdef bint one_value         # every op decodes to one value (at most MAX_FIELDS): no list in between
    cdef object init            # the class's vp_compile'd __init__ (a plain function)
    cdef bint call_init         # many fields: calling __init__ beats one generic setattr per field
    cdef Py_ssize_t n_simple
    cdef int simple_codes[MAX_FIELDS]
    cdef int simple_sizes[MAX_FIELDS]
    cdef Py_ssize_t simple_size
    cdef tuple names            # interned
    cdef tuple hooks            # per name: bound fix_unpack or None
    cdef bint has_hooks
    cdef bint hooks_skip_none

    cdef tuple run(self, bytes data, Py_ssize_t offset, Py_ssize_t end):
        cdef Py_ssize_t index, n = PyList_GET_SIZE(self.ops)
        cdef PyObject* stack[MAX_FIELDS + 1]
        cdef list values
        cdef COp op
        if offset < 0:
            raise PackError(f"negative offset {offset}")
        if self.simple:
            return self._run_simple(<const uint8_t*>PyBytes_AS_STRING(data), offset, end)
        if self.one_value:
            return self._run_values(data, offset, end)
        values = []
        for index in range(n):
            op = <COp>PyList_GET_ITEM(self.ops, index)
            if op.kind == K_PYTHON:
                try:
                    offset = dec(op, data, offset, end, values, <tuple>PyList_GET_ITEM(self.extras, index))
                except PackError:
                    raise
                except Exception as exc:
                    raise PackError(f"Could not unpack {self.format_names[index]!r} of "
                                    f"{self.cls.__name__}: {exc!r}") from exc
            else:
                offset = dec(op, data, offset, end, values, <tuple>PyList_GET_ITEM(self.extras, index))
        if self.direct_build and self.has_hooks:
            self._apply_hooks(values)
        n = PyList_GET_SIZE(values)
        if n > MAX_FIELDS:
            return (self.cls(*values) if self.direct_build else self.build(*values)), offset
        stack[0] = NULL
        for index in range(n):
            stack[index + 1] = PyList_GET_ITEM(values, index)     # borrowed: the list keeps them
        return self._make(stack, n), offset

    cdef tuple _run_values(self, bytes data, Py_ssize_t offset, Py_ssize_t end):
        """Decode each field's one value onto a C array, then build the instance from it."""
        cdef Py_ssize_t index, n = PyList_GET_SIZE(self.ops)
        cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(data)
        cdef PyObject* stack[MAX_FIELDS + 1]
        cdef COp op
        cdef object value
        for index in range(n + 1):
            stack[index] = NULL
        try:
            for index in range(n):
                op = <COp>PyList_GET_ITEM(self.ops, index)
                if op.kind == K_STRUCT and not op.as_tuple:
                    if offset + op.size > end:
                        _short(offset, op.size, end, "fixed-size field")
                    value = dec_item(p + offset, op.item_code[0], op.item_size[0], False)
                    offset += op.size
                elif op.kind == K_VARLEN:
                    value = dec_varlen(op, p, &offset, end)
                else:
                    value = dec1(op, data, &offset, end, <tuple>PyList_GET_ITEM(self.extras, index))
                Py_INCREF(value)
                stack[index + 1] = <PyObject*>value
            if self.direct_build and self.has_hooks:
                self._apply_hooks_to(stack, n)
            obj = self._make(stack, n)
        finally:
            for index in range(n):
                Py_XDECREF(stack[index + 1])
        return obj, offset

    cdef object _make(self, PyObject** stack, Py_ssize_t n):
        """The instance from the ``n`` values at ``stack[1:]`` (``stack[0]`` is scratch): what the class's
        ``from_unpack_list(*values)`` builds, without the generic call machinery where it can be skipped."""
        cdef Py_ssize_t index
        if not self.direct_build:
            return PyObject_Vectorcall(self.build, stack + 1, <size_t>n | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL)
        if not self.fast_construct or n != PyTuple_GET_SIZE(self.names):
            return PyObject_Vectorcall(self.cls, stack + 1, <size_t>n | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL)
        obj = PyBaseObject_Type.tp_new(<type>self.cls, <PyObject*>_EMPTY, NULL)
        if not self.call_init:
            for index in range(n):
                set_field(obj, <object>PyTuple_GET_ITEM(self.names, index), <object>stack[index + 1])
            return obj
        stack[0] = <PyObject*>obj
        try:
            PyObject_Vectorcall(self.init, stack, <size_t>(n + 1), NULL)
        finally:
            stack[0] = NULL
        return obj

    cdef tuple _run_simple(self, const uint8_t* p, Py_ssize_t offset, Py_ssize_t end):
        """Fixed-width fields only, no hooks, vp_compile'd class: decode straight into the new instance."""
        cdef Py_ssize_t index, n = self.n_simple
        cdef PyObject* stack[MAX_FIELDS + 1]
        cdef object value
        if offset + self.simple_size > end:
            for index in range(n):
                if offset + self.simple_sizes[index] > end:
                    _short(offset, self.simple_sizes[index], end, "fixed-size field")
                offset += self.simple_sizes[index]
        obj = PyBaseObject_Type.tp_new(<type>self.cls, <PyObject*>_EMPTY, NULL)
        if not self.call_init:
            for index in range(n):
                set_field(obj, <object>PyTuple_GET_ITEM(self.names, index),
                          dec_item(p + offset, self.simple_codes[index], self.simple_sizes[index], False))
                offset += self.simple_sizes[index]
            return obj, offset
        stack[0] = <PyObject*>obj
        for index in range(n):
            stack[index + 1] = NULL
        try:
            for index in range(n):
                value = dec_item(p + offset, self.simple_codes[index], self.simple_sizes[index], False)
                Py_XINCREF(<PyObject*>value)
                stack[index + 1] = <PyObject*>value
                offset += self.simple_sizes[index]
            PyObject_Vectorcall(self.init, stack, n + 1, NULL)
        finally:
            for index in range(n):
                Py_XDECREF(stack[index + 1])
        return obj, offset

    cdef int _apply_hooks(self, list values) except -1:
        cdef Py_ssize_t index, n = min(PyList_GET_SIZE(values), PyTuple_GET_SIZE(self.hooks))
        for index in range(n):
            hook = <object>PyTuple_GET_ITEM(self.hooks, index)
            value = <object>PyList_GET_ITEM(values, index)
            if hook is not None and not (self.hooks_skip_none and value is None):
                values[index] = hook(value)
        return 0

    cdef int _apply_hooks_to(self, PyObject** stack, Py_ssize_t n) except -1:
        """``_apply_hooks`` over the owned values at ``stack[1:n + 1]``."""
        cdef Py_ssize_t index
        cdef object hook, value
        n = min(n, PyTuple_GET_SIZE(self.hooks))
        for index in range(n):
            hook = <object>PyTuple_GET_ITEM(self.hooks, index)
            value = <object>stack[index + 1]
            if hook is not None and not (self.hooks_skip_none and value is None):
                value = hook(value)
                Py_INCREF(value)
                Py_XDECREF(stack[index + 1])
                stack[index + 1] = <PyObject*>value
        return 0


cdef tuple _EMPTY = ()


# --- the Serializer -------------------------------------------------------------------------------------

cdef class Serializer:
    """Packs and unpacks Serializables with a table of named packers (py-ipv8's Serializer API)."""

    cdef public dict _packers
    cdef dict _pack_plans
    cdef dict _unpack_plans
    cdef dict _format_ops
    cdef object _last_unpack_cls          # one-entry cache in front of _unpack_plans
    cdef _UnpackPlan _last_unpack_plan
    cdef object _last_pack_cls            # one-entry cache in front of _pack_plans
    cdef object _last_pack_plan           # its _PackPlan, or False
    cdef object __weakref__

    def __init__(self):
        self._packers = dict(default_formats(PACKERS, self))
        self._pack_plans = {}
        self._unpack_plans = {}
        self._format_ops = {}

    def get_available_formats(self):
        """Every registered format name, in registration order."""
        return list(self._packers)

    def get_packer_for(self, name):
        """The packer registered under ``name`` (KeyError if there is none)."""
        return self._packers[name]

    def add_packer(self, name, packer):
        """Register (or replace) the packer for format ``name``."""
        self._packers[name] = packer
        self._pack_plans.clear()
        self._unpack_plans.clear()
        self._format_ops.clear()
        self._last_unpack_cls = None
        self._last_unpack_plan = None
        self._last_pack_cls = None
        self._last_pack_plan = None

    def pack(self, fmt, item):
        """Pack one value with the packer of ``fmt``."""
        return self._packers[fmt].pack(item)

    def unpack(self, fmt, data, offset=0):
        """Unpack one value: ``fmt`` is a format name, a Serializable class or ``[Class]``."""
        out = []
        if isinstance(fmt, list):
            offset = self._packers["payload-list"].unpack(data, offset, out, fmt[0])
        elif isinstance(fmt, type) and issubclass(fmt, Serializable):
            offset = self._packers["payload"].unpack(data, offset, out, fmt)
        else:
            offset = self._packers[fmt].unpack(data, offset, out)
        return out[0], offset

    def pack_serializable(self, serializable):
        """The bytes of one Serializable."""
        cdef Writer w
        cdef object plan
        try:
            plan = self._pack_plan_of(type(serializable))
            if plan is not False and (<_PackPlan>plan).fixed:
                return (<_PackPlan>plan).pack_fixed(serializable)
        except PackError:
            raise
        except Exception as exc:
            raise PackError(f"Could not pack {type(serializable).__name__}: {exc!r}") from exc
        w_init(&w)
        try:
            self._pack_checked(&w, serializable)
            return PyBytes_FromStringAndSize(w.buf, w.length)
        finally:
            w_free(&w)

    def pack_serializable_list(self, serializables):
        """The concatenated bytes of several Serializables."""
        cdef Writer w
        w_init(&w)
        try:
            for serializable in serializables:
                self._pack_checked(&w, serializable)
            return PyBytes_FromStringAndSize(w.buf, w.length)
        finally:
            w_free(&w)

    def pack_packet(self, prefix, int msg_id, serializables, public_key_bin=None):
        """``prefix ‖ msg_id ‖ [u16 length ‖ public_key_bin] ‖ serializables`` in one buffer (a datagram, or for
        a signed one the bytes to sign): ``join_packet`` of ``pack_serializable_list``."""
        cdef Writer w
        w_init(&w)
        try:
            write_header(&w, prefix, msg_id, public_key_bin)
            for serializable in serializables:
                self._pack_checked(&w, serializable)
            return PyBytes_FromStringAndSize(w.buf, w.length)
        finally:
            w_free(&w)

    def unpack_serializable(self, serializable, data, Py_ssize_t offset=0):
        """Unpack one instance of class ``serializable`` at ``offset``: ``(instance, new_offset)``."""
        if type(data) is not bytes:
            data = bytes(data)
        return self._unpack_window(serializable, data, offset, PyBytes_GET_SIZE(data))

    def unpack_serializable_list(self, serializables, data, Py_ssize_t offset=0, bint consume_all=True):
        """Unpack instances of the given classes one after another; with ``consume_all`` nothing may be
        left over, otherwise the leftover bytes are appended as the last element."""
        cdef Py_ssize_t end
        if type(data) is not bytes:
            data = bytes(data)
        end = PyBytes_GET_SIZE(data)
        result = []
        for cls in serializables:
            obj, offset = self._unpack_window(cls, data, offset, end)
            result.append(obj)
        if consume_all:
            if offset != end:
                raise PackError(f"{end - offset} trailing bytes after offset {offset}")
        else:
            result.append(data[offset:])
        return result

    # --- internals shared with nested payloads ---

    cdef int _pack_checked(self, Writer* w, object obj) except -1:
        """``_pack_into``, reporting every failure as PackError (as py-ipv8's pack_serializable does)."""
        try:
            return self._pack_into(w, obj)
        except PackError:
            raise
        except Exception as exc:
            raise PackError(f"Could not pack {type(obj).__name__}: {exc!r}") from exc

    cdef inline object _pack_plan_of(self, object cls):
        """The class's _PackPlan, or False (one-entry cache, then the plan table, then compiled)."""
        cdef object found
        if cls is self._last_pack_cls:
            return self._last_pack_plan
        found = self._pack_plans.get(cls)
        if found is None:
            found = self._pack_plans[cls] = self._compile_pack(cls)
        self._last_pack_cls = cls
        self._last_pack_plan = found
        return found

    cdef int _pack_into(self, Writer* w, object obj) except -1:
        cdef object found = self._pack_plan_of(type(obj))
        if found is False:
            return self._pack_generic(w, obj)
        return (<_PackPlan>found).run(w, obj)

    cdef int _pack_generic(self, Writer* w, object obj) except -1:
        for item in obj.to_pack_list():
            fmt = item[0]
            op = self._format_ops.get(fmt)
            if op is None:
                if fmt not in self._packers:
                    raise PackError(f"unknown format {fmt!r}")
                op = self._format_ops[fmt] = op_of(self._packers[fmt])
            enc_args(w, <COp>op, tuple(item[1:]))
        return 0

    cdef tuple _unpack_window(self, object cls, bytes data, Py_ssize_t offset, Py_ssize_t end):
        cdef object plan
        if cls is self._last_unpack_cls:
            return self._last_unpack_plan.run(data, offset, end)
        plan = self._unpack_plans.get(cls)
        if plan is None:
            plan = self._unpack_plans[cls] = self._compile_unpack(cls)
        self._last_unpack_cls = cls
        self._last_unpack_plan = <_UnpackPlan>plan
        return (<_UnpackPlan>plan).run(data, offset, end)

    cdef list _fields(self, list format_list, list extras, list format_names):
        ops = []
        for entry in format_list:
            if isinstance(entry, str):
                if entry not in self._packers:
                    raise PackError(f"unknown format {entry!r}")
                ops.append(op_of(self._packers[entry]))
                extras.append(())
                format_names.append(entry)
            elif isinstance(entry, list) and len(entry) == 1:
                ops.append(op_of(self._packers["payload-list"]))
                extras.append((entry[0],))
                format_names.append("payload-list")
            elif isinstance(entry, type) and issubclass(entry, Serializable):
                ops.append(op_of(self._packers["payload"]))
                extras.append((entry,))
                format_names.append("payload")
            else:
                raise PackError(f"invalid format list entry {entry!r}")
        return ops

    cdef object _compile_pack(self, object cls):
        """A _PackPlan reading attributes directly, or False to go through ``to_pack_list``."""
        cdef _PackPlan plan
        cdef Py_ssize_t index
        layout = layout_of(cls)
        if layout is None or not layout.direct_pack:
            return False
        format_list = format_list_of(cls)
        try:
            ops = self._fields(list(format_list), [], [])
        except PackError:
            return False
        widths = [8 if entry == "bits" else 1 for entry in format_list]
        if sum(widths) != len(layout.names):
            return False
        plan = _PackPlan.__new__(_PackPlan)
        plan.ops = ops
        plan.widths = widths
        plan.names = tuple([_intern(name) for name in layout.names])
        plan.hooks = tuple(layout.pack_hooks)
        plan.has_hooks = any(hook is not None for hook in plan.hooks)
        plan.fixed = not plan.has_hooks and len(ops) == len(plan.names) and len(ops) <= MAX_FIELDS \
            and all((<COp>op).kind == K_STRUCT and (<COp>op).n_items == 1 for op in ops)
        if plan.fixed:
            plan.n_fixed = len(ops)
            for index, op in enumerate(ops):
                plan.fixed_codes[index] = (<COp>op).item_code[0]
                plan.fixed_sizes[index] = (<COp>op).size
                plan.fixed_size += (<COp>op).size
        return plan

    cdef _UnpackPlan _compile_unpack(self, object cls):
        cdef _UnpackPlan plan = _UnpackPlan.__new__(_UnpackPlan)
        cdef Py_ssize_t index
        plan.extras = []
        plan.format_names = []
        plan.ops = self._fields(list(format_list_of(cls)), plan.extras, plan.format_names)
        plan.cls = cls
        plan.build = cls.from_unpack_list
        plan.one_value = len(plan.ops) <= MAX_FIELDS and all(single_value(<COp>op) for op in plan.ops)
        layout = layout_of(cls)
        plan.direct_build = layout is not None and layout.direct_build
        if plan.direct_build:
            plan.fast_construct = layout.fast_construct and len(layout.names) <= MAX_FIELDS
            plan.init = cls.__init__
            plan.names = tuple([_intern(name) for name in layout.names])
            plan.hooks = tuple(layout.unpack_hooks)
            plan.has_hooks = any(hook is not None for hook in plan.hooks)
            plan.hooks_skip_none = layout.hooks_skip_none
            plan.simple = plan.fast_construct and not plan.has_hooks and len(plan.names) == len(plan.ops) \
                and all((<COp>op).kind == K_STRUCT and not (<COp>op).as_tuple for op in plan.ops)
            plan.simple_size = sum((<COp>op).size for op in plan.ops) if plan.simple else 0
            plan.call_init = len(plan.names) >= INIT_CALL_FIELDS
            if plan.simple:
                plan.n_simple = len(plan.ops)
                for index, op in enumerate(plan.ops):
                    plan.simple_codes[index] = (<COp>op).item_code[0]
                    plan.simple_sizes[index] = (<COp>op).size
        return plan


default_serializer = Serializer()


# --- packet envelope ---------------------------------------------------------------------------------------

cdef int write_header(Writer* w, object prefix, int msg_id, object public_key_bin) except -1:
    """``prefix ‖ msg_id ‖ [u16 length ‖ public_key_bin]``, checked."""
    if type(prefix) is not bytes:
        prefix = as_bytes(prefix, "a prefix")
    if PyBytes_GET_SIZE(prefix) != PREFIX:
        raise PackError(f"a prefix is {PREFIX} bytes, not {PyBytes_GET_SIZE(prefix)}")
    if not 0 <= msg_id <= 255:
        raise PackError(f"message id {msg_id} is not in 0..255")
    w_bytes(w, PyBytes_AS_STRING(prefix), PREFIX)
    w_reserve(w, 1)[0] = <char>msg_id
    if public_key_bin is not None:
        public_key_bin = as_bytes(public_key_bin, "a public key")
        enc_prefixed(w, 2, PyBytes_GET_SIZE(public_key_bin), PyBytes_AS_STRING(public_key_bin),
                     PyBytes_GET_SIZE(public_key_bin))
    return 0
