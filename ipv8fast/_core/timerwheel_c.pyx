"""Hierarchical timer wheel driven by one asyncio timer (compiled twin of ``timerwheel_py``).

Entries live in one growable C array of nodes linked into per-slot circular lists (indices, never
pointers, so the array may move when it grows). Each of the 7 levels has 64 slots and a 64-bit occupancy
bitmap; an entry is filed on the level of the highest 6-bit group in which its due tick differs from the
current tick. Scheduling and cancelling are O(1); one ``loop.call_at`` is armed for the earliest
occupied slot. Entries fire in due order, never early, as ``callback(arg)``; a callback that raises is
reported to ``loop.call_exception_handler``. Handles are opaque ints (slot index + allocation sequence).
"""
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.dict cimport PyDict_Clear, PyDict_DelItem, PyDict_GetItem, PyDict_Next, PyDict_SetItem, PyDict_Size
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_AsDouble
from cpython.long cimport PyLong_FromSsize_t
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from libc.math cimport ceil
from libc.stdint cimport int16_t, int32_t, int64_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

import asyncio
import gc as _gc_module
import inspect
import logging
import random as _random_module
import time as _time_module
from asyncio.base_events import BaseEventLoop

from ipv8fast._core.identifiers_c cimport IdentifierPool
from ipv8fast._core.limits import DEFAULT_TICK, EXHAUSTED_MESSAGE, LEVELS, MAX_POOL_SIZE, SLOT_BITS

__all__ = ["CacheBase", "CacheStore", "RandomCacheBase", "TimerWheel", "describe_bad_cache", "prefix_of"]

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    static inline int tw_highest_bit(unsigned long long x) { return 63 - __builtin_clzll(x); }
    static inline int tw_lowest_bit(unsigned long long x) { return __builtin_ctzll(x); }
    #else
    static inline int tw_highest_bit(unsigned long long x) { int n = -1; while (x) { x >>= 1; n++; } return n; }
    static inline int tw_lowest_bit(unsigned long long x) { int n = 0; while (!(x & 1ULL)) { x >>= 1; n++; } return n; }
    #endif
    """
    int tw_highest_bit(unsigned long long x) nogil
    int tw_lowest_bit(unsigned long long x) nogil

cdef extern from "monotonic.h" nogil:
    double ipv8fast_monotonic()

cdef extern from "Python.h":
    unsigned long PyThread_get_thread_ident()


cdef enum:
    C_SLOT_BITS = 6
    C_SLOTS = 64
    C_SLOT_MASK = 63
    C_LEVELS = 7
    N_WHEEL = C_LEVELS * C_SLOTS
    IMMEDIATE = N_WHEEL
    FIRING = N_WHEEL + 1
    N_SENTINELS = N_WHEEL + 2
    INITIAL_CAPACITY = 1024

if N_SENTINELS > 32767:
    raise ImportError(f"{__name__}: a node's list index is an int16")
if (C_SLOT_BITS, C_LEVELS) != (SLOT_BITS, LEVELS):
    raise ImportError(f"{__name__} was compiled for another wheel geometry than ipv8fast._core.limits")

_MONOTONIC_IS_CLOCK_GETTIME = \
    _time_module.get_clock_info("monotonic").implementation == "clock_gettime(CLOCK_MONOTONIC)"

# ticks the wheel can hold ahead of now (2**42 - 1: too wide for an enum)
cdef int64_t MAX_SPAN = (<int64_t>1 << (C_SLOT_BITS * C_LEVELS)) - 1

cdef struct Node:  # 32 bytes
    int32_t prev
    int32_t next
    int16_t list      # sentinel of the list holding this node; -1 when the node is free
    uint16_t owned    # 1: ``arg`` is an owned ``(callback, arg)`` tuple; 0: a borrowed cache (CacheStore)
    uint32_t seq      # allocation sequence: makes handles of reused nodes differ
    double when
    PyObject *arg

cdef struct SortItem:
    uint64_t key    # the due time as an unsigned integer of the same order (_sort_key)
    int32_t index


cdef inline uint64_t _sort_key(double when) noexcept nogil:
    """An unsigned integer ordered as the double ``when`` (not NaN) is: IEEE-754 bits, sign folded."""
    cdef uint64_t bits
    if when == 0.0:
        when = 0.0  # -0.0 sorts as 0.0
    memcpy(&bits, &when, sizeof(bits))
    if bits >> 63:
        return ~bits
    return bits | (<uint64_t>1 << 63)


cdef SortItem *_radix_sort(SortItem *items, SortItem *spare, int32_t n) noexcept nogil:
    """Stable LSD radix sort by ``key``, one pass per byte in which the keys differ (entries of one slot are
    due within one tick, so their high bytes agree). Returns the array that holds the result."""
    cdef uint64_t first = items[0].key, differ = 0
    cdef int32_t i, total, count
    cdef int32_t counts[256]
    cdef int shift, digit
    cdef SortItem *swap
    for i in range(1, n):
        differ |= items[i].key ^ first
    for shift in range(0, 64, 8):
        if not ((differ >> shift) & 0xFF):
            continue
        memset(counts, 0, sizeof(counts))
        for i in range(n):
            counts[(items[i].key >> shift) & 0xFF] += 1
        total = 0
        for digit in range(256):
            count = counts[digit]
            counts[digit] = total
            total += count
        for i in range(n):
            digit = <int>((items[i].key >> shift) & 0xFF)
            spare[counts[digit]] = items[i]
            counts[digit] += 1
        swap = items
        items = spare
        spare = swap
    return items


cdef class TimerWheel:
    """Many timers on one event-loop timer. Handles are opaque ints."""

    cdef Node *nodes
    cdef int32_t capacity
    cdef int32_t used       # nodes below this have been handed out at least once; those above are untouched
    cdef int32_t free_head  # freed nodes (below ``used``), linked through ``next``
    cdef int64_t count
    cdef uint32_t seq
    cdef uint64_t bitmaps[C_LEVELS]
    cdef int64_t cur
    cdef double origin
    cdef double _tick
    cdef object _loop
    cdef object _time
    cdef bint _monotonic  # the loop's clock is time.monotonic(): read it directly
    cdef bint _base_loop  # an asyncio BaseEventLoop: its _thread_id says whether it runs on this thread
    cdef object _timer
    cdef int64_t armed_tick
    cdef object _immediate_handle
    cdef object _on_timer_cb
    cdef object _run_immediate_cb

    def __cinit__(self):
        self.nodes = NULL
        self.capacity = 0
        self.used = 0

    def __init__(self, loop=None, double tick=DEFAULT_TICK):
        if not tick > 0 or tick == float("inf"):
            raise ValueError(f"tick must be a positive number of seconds, not {tick!r}")
        self._tick = tick
        self._timer = None
        self._immediate_handle = None
        self._bind(asyncio.get_event_loop() if loop is None else loop)
        self._on_timer_cb = self._on_timer
        self._run_immediate_cb = self._run_immediate
        self._reset_nodes()

    cdef void _bind(self, object loop) except *:
        """Run on ``loop`` from now on (only while no entry is pending)."""
        if self._timer is not None:
            self._timer.cancel()
        self._loop = loop
        self._time = loop.time
        self._base_loop = isinstance(loop, BaseEventLoop)
        self._monotonic = (getattr(type(loop), "time", None) is BaseEventLoop.time
                           and _MONOTONIC_IS_CLOCK_GETTIME)
        self.origin = self._time()
        self.cur = 0
        self._timer = None
        self.armed_tick = -1

    def __dealloc__(self):
        self._release_all()
        if self.nodes != NULL:
            PyMem_Free(self.nodes)
            self.nodes = NULL

    @property
    def loop(self):
        return self._loop

    @property
    def tick(self):
        return self._tick

    def __len__(self):
        return self.count

    def __contains__(self, handle):
        return self._lookup(handle) >= 0

    cdef inline double _now(self) except? -1.0:
        cdef double now
        if self._monotonic:
            now = ipv8fast_monotonic()
            if now >= 0.0:
                return now
        return self._time()

    def call_later(self, double delay, callback, arg=None):
        """Run ``callback(arg)`` after ``delay`` seconds (next loop iteration if ``delay <= 0``)."""
        cdef double now = self._now()
        cdef int32_t index
        if delay <= 0:
            index = self._alloc(now, callback, arg)
            self._link_tail(IMMEDIATE, index)
            if self._immediate_handle is None:
                self._immediate_handle = self._loop.call_soon(self._run_immediate_cb)
            return self._handle_of(index)
        return self._schedule(now + delay, callback, arg)

    def call_at(self, double when, callback, arg=None):
        """Run ``callback(arg)`` once ``loop.time() >= when``; returns a handle for :meth:`cancel`."""
        return self._schedule(when, callback, arg)

    cdef object _schedule(self, double when, object callback, object arg):
        cdef int32_t index
        cdef int64_t event
        if when != when:
            raise ValueError("when is NaN")
        if self.count == 0:
            self._fast_forward(self._now())
        index = self._alloc(when, callback, arg)
        event = self._file(index)
        if self._timer is None or event < self.armed_tick:
            self._arm(event)
        return self._handle_of(index)

    def cancel(self, handle):
        """Forget the entry ``handle``; False if it already fired or was cancelled."""
        cdef int32_t index = self._lookup(handle)
        if index < 0:
            return False
        self._unlink(index)
        self._free(index)
        return True

    def clear(self):
        """Cancel every entry; returns how many there were."""
        cdef int64_t count = self.count
        if self._immediate_handle is not None:
            self._immediate_handle.cancel()
            self._immediate_handle = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self.armed_tick = -1
        self._release_all()
        self._reset_nodes()
        return count

    # -- node storage ---------------------------------------------------------------------------------

    cdef void _reset_nodes(self) except *:
        cdef int32_t i
        cdef Node *fresh = <Node *>PyMem_Malloc(INITIAL_CAPACITY * sizeof(Node))
        if fresh == NULL:
            raise MemoryError()
        if self.nodes != NULL:
            PyMem_Free(self.nodes)
        self.nodes = fresh
        self.capacity = INITIAL_CAPACITY
        for i in range(N_SENTINELS):
            fresh[i].prev = i
            fresh[i].next = i
            fresh[i].list = <int16_t>i
            fresh[i].owned = 0
            fresh[i].arg = NULL
        self.free_head = -1
        self.used = N_SENTINELS
        self.count = 0
        for i in range(C_LEVELS):
            self.bitmaps[i] = 0

    cdef void _release_all(self) noexcept:
        """Drop the references of every live node (the array itself is kept)."""
        cdef int32_t i
        cdef PyObject *arg
        cdef bint owned
        if self.nodes == NULL:
            return
        for i in range(N_SENTINELS, self.used):
            if self.nodes[i].list >= 0:
                arg = self.nodes[i].arg
                owned = self.nodes[i].owned
                self.nodes[i].arg = NULL
                self.nodes[i].owned = 0
                self.nodes[i].list = -1
                if owned:  # not owned: a borrowed entry (a CacheStore's cache, held by its buckets)
                    Py_XDECREF(arg)
                if self.nodes == NULL:
                    return

    cdef int32_t _alloc(self, double when, object callback, object arg) except -1:
        cdef tuple pair = (callback, arg)
        cdef int32_t index = self._alloc_node(when)
        Py_INCREF(pair)
        self.nodes[index].arg = <PyObject *>pair
        self.nodes[index].owned = 1
        return index

    cdef uint64_t _schedule_borrowed(self, double delay, PyObject *arg) except 0:
        """File a borrowed entry (no reference is taken: the caller keeps ``arg`` alive while it is pending);
        it fires as ``self._expire(arg)``. Returns its handle."""
        cdef double now = self._now()
        cdef double when
        cdef int32_t index
        cdef int64_t event
        if delay <= 0:
            index = self._alloc_node(now)
            self.nodes[index].arg = arg
            self._link_tail(IMMEDIATE, index)
            if self._immediate_handle is None:
                self._immediate_handle = self._loop.call_soon(self._run_immediate_cb)
        else:
            when = now + delay
            if when != when:
                raise ValueError("when is NaN")
            if self.count == 0:
                self._fast_forward(now)
            index = self._alloc_node(when)
            self.nodes[index].arg = arg
            event = self._file(index)
            if self._timer is None or event < self.armed_tick:
                self._arm(event)
        return (<uint64_t>self.nodes[index].seq << 32) | <uint64_t>index

    cdef int _expire(self, object arg) except -1:
        """A borrowed entry is due (CacheStore times its cache out)."""
        return 0

    cdef inline bint _cancel_raw(self, uint64_t handle) noexcept:
        cdef int32_t index = <int32_t>(handle & 0xFFFFFFFFULL)
        if index < N_SENTINELS or index >= self.used:
            return False
        if self.nodes[index].list < 0 or self.nodes[index].seq != <uint32_t>(handle >> 32):
            return False
        self._unlink(index)
        self._free(index)
        return True

    cdef inline bint _pending_raw(self, uint64_t handle) noexcept:
        cdef int32_t index = <int32_t>(handle & 0xFFFFFFFFULL)
        if index < N_SENTINELS or index >= self.used:
            return False
        return self.nodes[index].list >= 0 and self.nodes[index].seq == <uint32_t>(handle >> 32)

    cdef int32_t _alloc_node(self, double when) except -1:
        cdef int32_t index
        cdef int32_t new_capacity
        cdef Node *grown
        if self.free_head >= 0:
            index = self.free_head
            self.free_head = self.nodes[index].next
        else:  # a node never used yet: the array's untouched tail costs no resident memory
            if self.used == self.capacity:
                if self.capacity >= 0x40000000:
                    raise OverflowError("timer wheel is full")
                new_capacity = self.capacity * 2
                grown = <Node *>PyMem_Realloc(self.nodes, new_capacity * sizeof(Node))
                if grown == NULL:
                    raise MemoryError()
                self.nodes = grown
                self.capacity = new_capacity
            index = self.used
            self.used += 1
        self.seq += 1
        if self.seq > 0x7FFFFFFF:
            self.seq = 1  # handles are never 0 (0 means "no timer" to a CacheBase) and leave bit 63 free
        self.nodes[index].seq = self.seq
        self.nodes[index].when = when
        self.nodes[index].owned = 0
        self.nodes[index].arg = NULL
        self.count += 1
        return index

    cdef void _free(self, int32_t index) noexcept:
        """Return an unlinked node to the free list, then drop its references (may run arbitrary code)."""
        cdef PyObject *arg = self.nodes[index].arg
        cdef bint owned = self.nodes[index].owned
        self.nodes[index].owned = 0
        self.nodes[index].arg = NULL
        self.nodes[index].list = -1
        self.nodes[index].next = self.free_head
        self.free_head = index
        self.count -= 1
        if self.count == 0 and self.capacity > INITIAL_CAPACITY and self.nodes[FIRING].next == FIRING:
            self._shrink()
        if owned:
            Py_XDECREF(arg)

    cdef void _shrink(self) noexcept:
        """Give the memory of a drained wheel back (nothing is linked anywhere)."""
        cdef int32_t i
        cdef Node *small = <Node *>PyMem_Realloc(self.nodes, INITIAL_CAPACITY * sizeof(Node))
        if small == NULL:
            return
        self.nodes = small
        self.capacity = INITIAL_CAPACITY
        self.free_head = -1
        self.used = N_SENTINELS

    cdef object _handle_of(self, int32_t index):
        return (<uint64_t>self.nodes[index].seq << 32) | <uint64_t>index

    cdef int32_t _lookup(self, object handle) except -2:
        cdef uint64_t value
        cdef int32_t index
        if not isinstance(handle, int) or handle < 0 or handle > 0xFFFFFFFFFFFFFFFF:
            return -1
        value = handle
        index = <int32_t>(value & 0xFFFFFFFFULL)
        if index < N_SENTINELS or index >= self.used:
            return -1
        if self.nodes[index].list < 0 or self.nodes[index].seq != <uint32_t>(value >> 32):
            return -1
        return index

    # -- lists ----------------------------------------------------------------------------------------

    cdef inline void _link_tail(self, int32_t sentinel, int32_t index) noexcept:
        cdef Node *nodes = self.nodes
        cdef int32_t last = nodes[sentinel].prev
        nodes[index].prev = last
        nodes[index].next = sentinel
        nodes[index].list = <int16_t>sentinel
        nodes[last].next = index
        nodes[sentinel].prev = index

    cdef inline void _unlink(self, int32_t index) noexcept:
        cdef Node *nodes = self.nodes
        cdef int32_t sentinel = nodes[index].list
        nodes[nodes[index].prev].next = nodes[index].next
        nodes[nodes[index].next].prev = nodes[index].prev
        if sentinel < N_WHEEL and nodes[sentinel].next == sentinel:
            self.bitmaps[sentinel >> C_SLOT_BITS] &= ~(1ULL << (sentinel & C_SLOT_MASK))

    cdef void _splice_all(self, int32_t source, int32_t target) noexcept:
        """Move every node of list ``source`` to the end of list ``target``."""
        cdef Node *nodes = self.nodes
        cdef int32_t index = nodes[source].next
        cdef int32_t first, last
        if index == source:
            return
        while index != source:
            nodes[index].list = <int16_t>target
            index = nodes[index].next
        first = nodes[source].next
        last = nodes[source].prev
        nodes[source].next = source
        nodes[source].prev = source
        nodes[first].prev = nodes[target].prev
        nodes[nodes[target].prev].next = first
        nodes[last].next = target
        nodes[target].prev = last
        if source < N_WHEEL:
            self.bitmaps[source >> C_SLOT_BITS] &= ~(1ULL << (source & C_SLOT_MASK))

    # -- wheel ----------------------------------------------------------------------------------------

    cdef int64_t _file(self, int32_t index) noexcept:
        """Link node ``index`` into its slot; returns the tick at which that slot needs attention."""
        cdef int64_t cur = self.cur
        cdef double exact = (self.nodes[index].when - self.origin) / self._tick
        cdef int64_t target
        cdef int level, shift, slot
        if exact >= <double>(cur + MAX_SPAN):
            target = cur + MAX_SPAN
        else:
            exact = ceil(exact)
            target = <int64_t>exact if exact > <double>cur else cur
        if target == cur:
            level = 0
        else:
            level = tw_highest_bit(<uint64_t>(target ^ cur)) // C_SLOT_BITS
        shift = level * C_SLOT_BITS
        slot = <int>((target >> shift) & C_SLOT_MASK)
        self._link_tail(level * C_SLOTS + slot, index)
        self.bitmaps[level] |= 1ULL << slot
        if level == 0:
            return target
        return (target >> shift) << shift

    cdef void _fast_forward(self, double now) noexcept:
        cdef int64_t now_tick = <int64_t>((now - self.origin) / self._tick) + 1
        if now_tick > self.cur:
            self.cur = now_tick

    cdef void _arm(self, int64_t event) except *:
        if self._timer is not None:
            self._timer.cancel()
        self.armed_tick = event
        self._timer = self._loop.call_at(self.origin + event * self._tick, self._on_timer_cb)

    cdef void _cascade(self) noexcept:
        cdef int level, slot
        cdef int32_t sentinel, index
        for level in range(C_LEVELS - 1, 0, -1):
            slot = <int>((self.cur >> (level * C_SLOT_BITS)) & C_SLOT_MASK)
            if self.bitmaps[level] & (1ULL << slot):
                sentinel = level * C_SLOTS + slot
                self.bitmaps[level] &= ~(1ULL << slot)
                index = self.nodes[sentinel].next
                while index != sentinel:
                    self._unlink(index)
                    self._file(index)
                    index = self.nodes[sentinel].next

    cdef int _next_event(self, int64_t *tick) noexcept:
        """Level of the earliest occupied slot (its tick in ``tick``), or -1 when the wheel is empty."""
        cdef int level, shift, position, slot
        cdef uint64_t candidates
        for level in range(C_LEVELS):
            shift = level * C_SLOT_BITS
            position = <int>((self.cur >> shift) & C_SLOT_MASK)
            if level:
                position += 1
                if position == C_SLOTS:
                    continue
            candidates = (self.bitmaps[level] >> position) << position
            if candidates:
                slot = tw_lowest_bit(candidates)
                tick[0] = ((self.cur >> (shift + C_SLOT_BITS)) << (shift + C_SLOT_BITS)) | (<int64_t>slot << shift)
                return level
        return -1

    def _on_timer(self):
        cdef int64_t event
        cdef int64_t armed = self.armed_tick
        cdef double now = self._now()
        cdef int64_t now_tick = <int64_t>((now - self.origin) / self._tick)
        if armed > now_tick and now >= self.origin + armed * self._tick:
            now_tick = armed  # the division may round just below the tick the timer was armed for
        self._timer = None
        self.armed_tick = -1
        self._advance(now_tick)
        if self._next_event(&event) >= 0 and (self._timer is None or event < self.armed_tick):
            self._arm(event)

    cdef object _expire_callable(self):
        return None

    def _run_immediate(self):
        self._immediate_handle = None
        self._splice_all(IMMEDIATE, FIRING)
        self._fire(0.0, False)

    cdef void _advance(self, int64_t now_tick) except *:
        cdef int64_t tick
        cdef int level
        while True:
            self._cascade()
            level = self._next_event(&tick)
            if level < 0 or tick > now_tick:
                break
            self.cur = tick
            if level == 0:
                self.cur = tick + 1
                self._splice_all(<int32_t>(tick & C_SLOT_MASK), FIRING)
                self._order_firing()
                self._fire(self._now(), True)
        if self.cur <= now_tick:
            self.cur = now_tick + 1
            self._cascade()

    cdef void _order_firing(self) except *:
        """Sort the firing list by due time (stable); usually it is already in order."""
        cdef Node *nodes = self.nodes
        cdef int32_t index = nodes[FIRING].next
        cdef int32_t n = 0, i
        cdef bint ordered = True
        cdef double last = -1e308
        cdef SortItem *items
        cdef SortItem *ordered_items
        while index != FIRING:
            if nodes[index].when < last:
                ordered = False
            last = nodes[index].when
            n += 1
            index = nodes[index].next
        if ordered:
            return
        items = <SortItem *>PyMem_Malloc(2 * <size_t>n * sizeof(SortItem))
        if items == NULL:
            raise MemoryError()
        index = nodes[FIRING].next
        for i in range(n):
            items[i].key = _sort_key(nodes[index].when)
            items[i].index = index
            index = nodes[index].next
        ordered_items = _radix_sort(items, items + n, n)
        nodes[FIRING].next = FIRING
        nodes[FIRING].prev = FIRING
        for i in range(n):
            self._link_tail(FIRING, ordered_items[i].index)
        PyMem_Free(items)

    cdef void _fire(self, double now, bint check_due) except *:
        """Run the firing list; entries not due yet (parked at the horizon) are filed again."""
        cdef int32_t index
        cdef object callback, arg
        cdef bint borrowed
        while self.nodes[FIRING].next != FIRING:
            index = self.nodes[FIRING].next
            self._unlink(index)
            if check_due and self.nodes[index].when > now:
                self._file(index)
                continue
            borrowed = not self.nodes[index].owned
            arg = <object>self.nodes[index].arg
            if borrowed:
                callback = None
            else:
                callback, arg = <tuple>arg
            self._free(index)
            try:
                if borrowed:
                    self._expire(arg)
                else:
                    callback(arg)
            except (SystemExit, KeyboardInterrupt):
                self._splice_all(FIRING, IMMEDIATE)
                if self.nodes[IMMEDIATE].next != IMMEDIATE and self._immediate_handle is None:
                    self._immediate_handle = self._loop.call_soon(self._run_immediate_cb)
                raise
            except BaseException as exc:
                if borrowed:
                    callback = self._expire_callable()
                self._loop.call_exception_handler({
                    "message": f"Exception in timer wheel callback {callback!r}({arg!r})",
                    "exception": exc,
                })


# -- the RequestCache's store: its caches, their timeouts on this wheel, the number pools -----------------------
#
# A pending cache's wheel entry is *borrowed*: the node points at the cache without a reference, because the
# store's ``buckets`` (plain dicts, which the GC traverses) hold it. Every path that takes a cache out of the
# buckets cancels its node first (pop), or finds it already freed (a firing entry, ``clear``), so a node never
# outlives its cache, and every reference to a pending cache is one the GC can see.

cdef extern from "Python.h":
    PyObject *_PyType_Lookup(PyTypeObject *type, object name)
    bint PyMethod_Check(object op)
    PyObject *PyMethod_GET_FUNCTION(object op)
    PyObject *PyMethod_GET_SELF(object op)
    int PyObject_GC_IsTracked(PyObject *op)
    void PyObject_GC_Track(PyObject *op)
    void PyObject_GC_UnTrack(PyObject *op)
    PyTypeObject *Py_TYPE(PyObject *op)

#: Random draws tried before a prefix gets an identifier pool (py-ipv8 makes 1000, then gives up).
DEF C_QUICK_DRAWS = 8
DEF C_MAX_DRAWS = 1000
QUICK_DRAWS = C_QUICK_DRAWS
MAX_DRAWS = C_MAX_DRAWS

cdef object _draw = _random_module.random
#: sizes up to this draw their number in C arithmetic, exactly as ``int(random.random() * size)`` would
cdef Py_ssize_t C_DRAW_LIMIT = 1 << 53


cdef inline object _draw_below(object size, Py_ssize_t c_size):
    """``int(random.random() * size)``; ``c_size`` is ``size`` when it is an int up to C_DRAW_LIMIT, else -1."""
    cdef object drawn = _draw()
    if c_size >= 0 and type(drawn) is float:
        return PyLong_FromSsize_t(<Py_ssize_t>(PyFloat_AS_DOUBLE(drawn) * <double>c_size))
    return int(drawn * size)


cdef inline Py_ssize_t _c_size(object size) except -2:
    """``size`` for _draw_below's C path, or -1 when it is not a plain int in 0 .. C_DRAW_LIMIT."""
    cdef Py_ssize_t n
    if type(size) is not int:
        return -1
    try:
        n = size
    except OverflowError:
        return -1
    return n if 0 <= n <= C_DRAW_LIMIT else -1


cdef object _get_running_loop = asyncio._get_running_loop
cdef object _ensure_future = asyncio.ensure_future
cdef object _isawaitable = inspect.isawaitable
cdef object _FINDER_NAME = "find_unclaimed_identifier"
cdef PyObject *_HAS_FUNCTION = NULL  # CacheStore.has (set once CacheStore exists; the class keeps it alive)
cdef object _NO_FUTURES = ()
#: empty buckets a store keeps for their prefixes (saves a dict per cache where one is pending at a time)
DEF C_EMPTY_BUCKETS_KEPT = 8


cdef inline int _release(IdentifierPool pool, object number) except -1:
    cdef Py_ssize_t at = pool.index_of(number)
    if at >= 0:
        pool.release_at(at)
    return 0


cdef uint64_t FUTURES_BIT = (<uint64_t>1) << 63
cdef uint64_t HANDLE_MASK = FUTURES_BIT - 1


cdef inline object _futures_of(CacheBase cache):
    """The cache's managed futures list, or None."""
    if not cache.timer & FUTURES_BIT:
        return None
    return cache.__dict__.get("_managed_futures")


cdef class CacheBase:
    """What every NumberCache is: ``(prefix, number)``, its managed futures and its pending timeout."""

    cdef public object _prefix
    cdef public object _number
    # the wheel handle of the pending timeout (0: none) in bits 0..62; bit 63 (FUTURES_BIT): the instance
    # dict holds ``_managed_futures``, which most caches never have (a field would cost 16 bytes each)
    cdef uint64_t timer
    # no ``__dict__`` / ``__weakref__`` here: NumberCache (a plain Python subclass) gets CPython's own lazy
    # managed dict and a weakref slot, where a ``cdef dict __dict__`` would cost an empty dict per instance

    def __init__(self, request_cache, prefix, number):
        cdef object has = request_cache.has
        cdef PyObject *store
        if PyMethod_Check(has) and PyMethod_GET_FUNCTION(has) == _HAS_FUNCTION:
            store = PyMethod_GET_SELF(has)  # RequestCache's bound CacheStore.has: no call
            if (<CacheStore>store)._contains(prefix, number):
                raise RuntimeError(f"This number is already in use '{number}'")
        elif has(prefix, number):
            raise RuntimeError(f"This number is already in use '{number}'")
        self._prefix = prefix
        self._number = number

    @property
    def _timer(self):
        return (self.timer & HANDLE_MASK) or None

    @property
    def _managed_futures(self):
        return _futures_of(self)

    @_managed_futures.setter
    def _managed_futures(self, value):
        if value is None:
            if self.timer & FUTURES_BIT:
                self.__dict__.pop("_managed_futures", None)
                self.timer &= HANDLE_MASK
        else:
            self.__dict__["_managed_futures"] = value
            self.timer |= FUTURES_BIT

    @property
    def prefix(self):
        return self._prefix

    @property
    def number(self):
        return self._number

    @property
    def managed_futures(self):
        """The live list of ``(future, on_timeout_value)`` pairs resolved when this cache times out."""
        futures = _futures_of(self)
        if futures is None:
            futures = []
            self._managed_futures = futures
        return futures

    @property
    def timeout_delay(self):
        """Seconds until :meth:`on_timeout` (override in subclasses)."""
        return 10.0

    def register_future(self, future, on_timeout=None):
        """On timeout, ``future`` gets ``on_timeout`` as its exception (an Exception instance) or result."""
        self.managed_futures.append((future, on_timeout))

    def on_timeout(self):
        """Called when this cache times out (after it was removed from its RequestCache); may be a coroutine
        function, whose coroutine the RequestCache then runs."""
        return None

    def __str__(self):
        return f"<{type(self).__name__} {self._prefix}-{self._number}>"


#: class -> the ``__init__`` that follows RandomCacheBase's in its MRO, or None when that is CacheBase's
cdef dict _NEXT_INIT = {}


cdef object _next_init(type cls):
    cdef PyObject *found = PyDict_GetItem(_NEXT_INIT, cls)
    if found != NULL:
        return <object>found
    mro = cls.__mro__
    following = None
    for klass in mro[mro.index(RandomCacheBase) + 1:]:
        if "__init__" in klass.__dict__:
            following = None if klass is CacheBase else klass.__dict__["__init__"]
            break
    _NEXT_INIT[cls] = following
    return following


cdef class RandomCacheBase(CacheBase):
    """A cache whose number is a random unclaimed one in ``range(cls.identifier_range)``."""

    identifier_range = 65536

    def __init__(self, request_cache, prefix):
        cdef type cls = type(self)
        cdef PyObject *finder = _PyType_Lookup(<PyTypeObject *>cls, _FINDER_NAME)
        if finder == <PyObject *>_DEFAULT_FINDER:
            number = _find_unclaimed(request_cache, prefix, cls.identifier_range)
        else:
            number = self.find_unclaimed_identifier(request_cache, prefix)
        following = _next_init(cls)
        if following is not None:  # another __init__ sits between this one and CacheBase's in the MRO
            following(self, request_cache, prefix, number)
            return
        # CacheBase.__init__ without its "in use?" lookup: the number was just found unclaimed
        self._prefix = prefix
        self._number = number

    @classmethod
    def find_unclaimed_identifier(cls, request_cache, prefix):
        """A number not in use under ``prefix``; RuntimeError if none can be found."""
        return _find_unclaimed(request_cache, prefix, cls.identifier_range)


cdef object _DEFAULT_FINDER = RandomCacheBase.__dict__["find_unclaimed_identifier"]
cdef object _DEFAULT_DELAY = CacheBase.__dict__["timeout_delay"]


cdef object _find_unclaimed(object request_cache, object prefix, object size):
    store = getattr(request_cache, "_store", None)
    if type(store) is CacheStore:
        return (<CacheStore>store).find_unclaimed(prefix, size)
    cdef Py_ssize_t c_size = _c_size(size)
    for _ in range(C_MAX_DRAWS):  # py-ipv8's way, on any object with has()
        number = _draw_below(size, c_size)
        if not request_cache.has(prefix, number):
            return number
    raise RuntimeError(EXHAUSTED_MESSAGE)


def describe_bad_cache(cache):
    """Why ``add`` refused ``cache`` (the message of its AssertionError)."""
    if not isinstance(cache, CacheBase):
        return f"cache must be a NumberCache, not {type(cache).__name__}"
    if not isinstance((<CacheBase>cache)._number, int):
        return f"cache number must be an int, not {type((<CacheBase>cache)._number).__name__}"
    return f"cache prefix must be a str, not {type((<CacheBase>cache)._prefix).__name__}"


cpdef object prefix_of(object prefix):
    """A cache class stands for its ``name``; anything else is used as given."""
    return getattr(prefix, "name") if isinstance(prefix, type) else prefix


cdef class CacheStore(TimerWheel):
    """The caches of one RequestCache by ``(prefix, number)``, their timeouts (borrowed entries of this wheel)
    and the identifier pools of crowded prefixes. Every pending cache is held by ``buckets``."""

    cdef readonly dict buckets
    cdef readonly dict pools
    cdef readonly dict waiters
    cdef readonly set timeout_tasks
    cdef public bint closed
    cdef public object override
    cdef public object filters
    cdef public object logger
    cdef bint registered  # in _UNTRACKING: its pending caches are untracked by the GC
    cdef int empty_buckets  # buckets kept empty for their prefix's next cache (at most C_EMPTY_BUCKETS_KEPT)

    def __dealloc__(self):
        if self.registered:
            _track_caches(<PyObject *>self, True)
            _unregister(<PyObject *>self)

    def __init__(self, loop=None, double tick=DEFAULT_TICK):
        TimerWheel.__init__(self, loop, tick)
        self.buckets = {}
        self.pools = {}
        self.empty_buckets = 0
        self.waiters = {}
        self.timeout_tasks = set()
        self.closed = False
        self.override = None
        self.filters = None
        self.logger = logging.getLogger("RequestCache")

    def pending(self):
        """How many caches are stored."""
        cdef Py_ssize_t total = 0
        for bucket in self.buckets.values():
            total += len(<dict>bucket)
        return total

    cpdef follow_running_loop(self):
        """An empty wheel idle on another loop than the running one (made at import) moves to the running one."""
        cdef object running_on
        if self.count != 0 or self._immediate_handle is not None:
            return
        if self._base_loop:  # our loop runs on this thread, so it is the running one (no getpid() syscall)
            running_on = getattr(self._loop, "_thread_id", None)
            if type(running_on) is int and <unsigned long>running_on == PyThread_get_thread_ident():
                return
        loop = _get_running_loop()
        if loop is not None and loop is not self._loop:
            self._bind(loop)

    def rebind(self, loop):
        """Move this (empty) wheel to ``loop``."""
        self._bind(loop)

    def add(self, cache):
        """Store ``cache`` and schedule its timeout; None if its identifier is taken or after shutdown."""
        cdef CacheBase entry
        cdef dict bucket
        cdef PyObject *found
        cdef IdentifierPool pool
        cdef Py_ssize_t at
        cdef double seconds
        assert isinstance(cache, CacheBase) and isinstance((<CacheBase>cache)._number, int) and \
            isinstance((<CacheBase>cache)._prefix, str), describe_bad_cache(cache)
        entry = <CacheBase>cache
        prefix = entry._prefix
        number = entry._number
        if _PyType_Lookup(Py_TYPE(<PyObject *>cache), "timeout_delay") == <PyObject *>_DEFAULT_DELAY:
            delay = 10.0  # CacheBase's own property (a data descriptor: no instance attribute can hide it)
        else:
            delay = cache.timeout_delay
            assert isinstance(delay, (int, float)) and delay > 0, f"timeout_delay must be > 0, not {delay!r}"

        if self.closed:
            self.logger.warning("Dropping %s due to shutdown!", cache)
            managed = _futures_of(entry)
            if managed:
                for future, _ in managed:
                    future.cancel()
            return None

        found = PyDict_GetItem(self.buckets, prefix)
        if found == NULL:
            bucket = {}
            self.buckets[prefix] = bucket
        else:
            bucket = <dict>found
            if PyDict_Size(bucket) == 0:
                self.empty_buckets -= 1
            elif number in bucket:
                self.logger.error("Attempted to add cache %s twice!", cache)
                return None
        PyDict_SetItem(bucket, number, cache)
        if self.pools:
            found = PyDict_GetItem(self.pools, prefix)
            if found != NULL:
                pool = <IdentifierPool>found
                at = pool.index_of(number)
                if at >= 0:
                    pool.claim_at(at)

        if self.override is not None and (self.filters is None or isinstance(cache, self.filters)):
            seconds = self.override
        else:
            seconds = delay
        if self.count == 0:
            self.follow_running_loop()
        entry.timer = (entry.timer & FUTURES_BIT) | self._schedule_borrowed(seconds, <PyObject *>cache)
        if not self.registered:
            _register(self)
        PyObject_GC_UnTrack(<PyObject *>cache)  # while pending: see "pending caches and the GC" below

        if self.waiters:
            waiter = self.waiters.pop((prefix, number), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(cache)
        return cache

    def has(self, prefix, number):
        """Whether a cache is stored under ``(prefix, number)``; a class means its ``name``."""
        return self._contains(prefix, number)

    cdef inline bint _contains(self, object prefix, object number) except -1:
        cdef PyObject *found = PyDict_GetItem(self.buckets, prefix if type(prefix) is str else prefix_of(prefix))
        return found != NULL and number in <dict>found

    def get(self, prefix, number):
        """The cache under ``(prefix, number)``, or None."""
        cdef PyObject *found = PyDict_GetItem(self.buckets, prefix if type(prefix) is str else prefix_of(prefix))
        if found == NULL:
            return None
        return (<dict>found).get(number)

    def pop(self, prefix, number):
        """Remove and return the cache under ``(prefix, number)`` and cancel its timeout; KeyError if absent."""
        cdef PyObject *found
        cdef dict bucket
        cdef CacheBase entry
        if type(prefix) is not str:
            prefix = prefix_of(prefix)
        found = PyDict_GetItem(self.buckets, prefix)
        if found == NULL:
            raise KeyError(f"{prefix}:{number}")
        bucket = <dict>found
        cache = bucket.pop(number, None)
        if cache is None:
            raise KeyError(f"{prefix}:{number}")
        entry = <CacheBase>cache
        if entry.timer & HANDLE_MASK:  # before anything else may run: the node borrows the cache we now hold
            self._cancel_raw(entry.timer & HANDLE_MASK)
            entry.timer &= FUTURES_BIT
        if not PyObject_GC_IsTracked(<PyObject *>cache):
            PyObject_GC_Track(<PyObject *>cache)
        if PyDict_Size(bucket) == 0:
            self._emptied(prefix, bucket)
        elif self.pools:
            found = PyDict_GetItem(self.pools, prefix)
            if found != NULL:
                _release(<IdentifierPool>found, number)
        return cache

    cdef int _emptied(self, object prefix, dict bucket) except -1:
        """``prefix``'s bucket just lost its last cache: keep it for the next add (a few), drop its pool."""
        if self.empty_buckets < C_EMPTY_BUCKETS_KEPT:
            PyDict_Clear(bucket)  # back to the shared empty keys: nothing big is kept
            self.empty_buckets += 1
        else:
            PyDict_DelItem(self.buckets, prefix)
        if self.pools:
            self.pools.pop(prefix, None)
        return 0

    def is_pending(self, cache):
        """Whether ``cache``'s timeout is pending on this wheel."""
        cdef CacheBase entry = <CacheBase?>cache
        return entry.timer & HANDLE_MASK != 0 and self._pending_raw(entry.timer & HANDLE_MASK)

    def drop_all(self, bint cancel_futures):
        """Cancel every timeout and forget every cache (cancelling their managed futures if asked)."""
        cdef CacheBase entry
        self.clear()
        buckets = self.buckets
        self.buckets = {}
        self.pools = {}
        self.empty_buckets = 0
        for bucket in buckets.values():
            for cache in (<dict>bucket).values():
                entry = <CacheBase>cache
                entry.timer &= FUTURES_BIT
                if not PyObject_GC_IsTracked(<PyObject *>cache):
                    PyObject_GC_Track(<PyObject *>cache)
                managed = _futures_of(entry) if cancel_futures else None
                if managed:
                    for future, _ in managed:
                        future.cancel()

    cdef bint _forget(self, CacheBase cache) except -1:
        cdef PyObject *found = PyDict_GetItem(self.buckets, cache._prefix)
        cdef dict bucket
        if found == NULL:
            return False
        bucket = <dict>found
        stored = bucket.pop(cache._number, None)  # one lookup; the caller holds ``cache``, so no dealloc here
        if stored is not cache:
            if stored is not None:  # another cache under this number (never the case via add): put it back
                PyDict_SetItem(bucket, cache._number, stored)
            return False
        if not PyObject_GC_IsTracked(<PyObject *>cache):
            PyObject_GC_Track(<PyObject *>cache)
        if PyDict_Size(bucket) == 0:
            self._emptied(cache._prefix, bucket)
        elif self.pools:
            found = PyDict_GetItem(self.pools, cache._prefix)
            if found != NULL:
                _release(<IdentifierPool>found, cache._number)
        return True

    cdef object _expire_callable(self):
        return self._expire_entry

    def _expire_entry(self, cache):
        """Time ``cache`` out (what a borrowed entry runs when it is due)."""
        self._expire(cache)

    cdef int _expire(self, object cache) except -1:
        """Timeout order: remove, ``on_timeout()``, then resolve the managed futures."""
        cdef CacheBase entry = <CacheBase>cache
        entry.timer &= FUTURES_BIT
        if not self._forget(entry):
            return 0
        result = cache.on_timeout()
        if result is not None and _isawaitable(result):
            task = _ensure_future(result)
            self.timeout_tasks.add(task)
            task.add_done_callback(self.timeout_tasks.discard)
        managed = _futures_of(entry)
        if managed:
            for future, value in managed:
                if not future.done():
                    if isinstance(value, Exception):
                        future.set_exception(value)
                    else:
                        future.set_result(value)
        return 0

    cpdef object find_unclaimed(self, object prefix, object size):
        """RandomNumberCache's pick: py-ipv8's random draws, then an O(1) pool once the prefix is crowded."""
        cdef PyObject *found = PyDict_GetItem(self.buckets, prefix)
        cdef dict bucket
        cdef IdentifierPool pool
        cdef int draws
        cdef Py_ssize_t c_size = _c_size(size)
        cdef bint poolable
        if found == NULL or not <dict>found:
            return _draw_below(size, c_size)
        bucket = <dict>found
        found = PyDict_GetItem(self.pools, prefix)
        pool = None if found == NULL else <IdentifierPool>found
        if pool is None or pool._size != c_size:
            poolable = 0 < c_size <= MAX_POOL_SIZE and pool is None
            for draws in range(C_QUICK_DRAWS if poolable else C_MAX_DRAWS):
                number = _draw_below(size, c_size)
                if number not in bucket:
                    return number
            if not poolable:
                raise RuntimeError(EXHAUSTED_MESSAGE)
            pool = IdentifierPool(c_size, [n for n in bucket if type(n) is int and 0 <= n < c_size])
            self.pools[prefix] = pool
        return pool.pick(PyFloat_AsDouble(_draw()))


# -- the GC sees the wheel's own references ----------------------------------------------------------------------
#
# Cython's generated tp_traverse / tp_clear cover the object fields; the owned (callback, arg) references of
# the nodes live in a C array, so both slots are wrapped to visit / drop them too. Borrowed entries (pending
# caches) are skipped: their reference is the store's buckets', which the GC already sees.

ctypedef int (*_visitproc)(PyObject *, void *) noexcept
ctypedef int (*_traverseproc)(PyObject *, _visitproc, void *) noexcept
ctypedef int (*_inquiry)(PyObject *) noexcept

cdef extern from "Python.h":
    ctypedef struct _GCSlots "PyTypeObject":
        _traverseproc tp_traverse
        _inquiry tp_clear

cdef _traverseproc _wheel_traverse_base = NULL
cdef _traverseproc _store_traverse_base = NULL
cdef _inquiry _wheel_clear_base = NULL
cdef _inquiry _store_clear_base = NULL


cdef int _visit_nodes(PyObject *o, _visitproc visit, void *arg) noexcept:
    cdef TimerWheel wheel = <TimerWheel>o
    cdef Node *nodes = wheel.nodes
    cdef int32_t i
    cdef int result
    if nodes == NULL:
        return 0
    for i in range(N_SENTINELS, wheel.used):
        if nodes[i].list >= 0 and nodes[i].owned:
            result = visit(nodes[i].arg, arg)
            if result:
                return result
    return 0


cdef int _wheel_traverse(PyObject *o, _visitproc visit, void *arg) noexcept:
    cdef int result = _wheel_traverse_base(o, visit, arg)
    return result if result else _visit_nodes(o, visit, arg)


cdef int _store_traverse(PyObject *o, _visitproc visit, void *arg) noexcept:
    cdef int result = _store_traverse_base(o, visit, arg)
    return result if result else _visit_nodes(o, visit, arg)


cdef int _release_nodes(PyObject *o) noexcept:
    cdef TimerWheel wheel = <TimerWheel>o
    wheel._release_all()
    return 0


cdef int _wheel_clear(PyObject *o) noexcept:
    _release_nodes(o)
    return _wheel_clear_base(o) if _wheel_clear_base != NULL else 0


cdef int _store_clear(PyObject *o) noexcept:
    _release_nodes(o)
    if (<CacheStore>o).registered:
        _track_caches(o, True)
    return _store_clear_base(o) if _store_clear_base != NULL else 0


cdef _GCSlots *_wheel_type = <_GCSlots *>TimerWheel
cdef _GCSlots *_store_type = <_GCSlots *>CacheStore
_wheel_traverse_base = _wheel_type.tp_traverse
_store_traverse_base = _store_type.tp_traverse
_wheel_clear_base = _wheel_type.tp_clear
_store_clear_base = _store_type.tp_clear
if _wheel_traverse_base == NULL or _store_traverse_base == NULL:
    raise ImportError(f"{__name__}: the wheel types are not GC types")
_wheel_type.tp_traverse = _wheel_traverse
_store_type.tp_traverse = _store_traverse
_wheel_type.tp_clear = _wheel_clear
_store_type.tp_clear = _store_clear


# -- pending caches and the GC --------------------------------------------------------------------------------
#
# A pending cache is held by its store's buckets, and the store by the loop timer armed for it, so no young
# collection can ever free it; yet with the GC tracking them, a million pending caches are traversed again
# at every full collection and make those come often (a kept instance costs ~4x its creation). So ``add``
# untracks the cache and every path out of the buckets (pop, timeout, drop_all, the store's clear and
# dealloc) tracks it again. Untracking only ever keeps objects alive (what an untracked cache references
# looks referenced from outside), never frees one early; and so that no cycle through a pending cache leaks
# (a store whose loop is gone, see test_a_cycle_through_a_pending_cache_is_collected), the ``gc.callbacks``
# hook below tracks every pending cache of every store in ``_UNTRACKING`` when a full collection starts and
# untracks them again when it stops: full collections see exactly the heap they would see without this.

cdef PyObject **_UNTRACKING = NULL  # the stores that untracked caches (borrowed: a store leaves in its dealloc)
cdef Py_ssize_t _N_UNTRACKING = 0
cdef Py_ssize_t _CAP_UNTRACKING = 0


cdef int _register(CacheStore store) except -1:
    global _UNTRACKING, _N_UNTRACKING, _CAP_UNTRACKING
    cdef PyObject **grown
    cdef Py_ssize_t capacity
    if _N_UNTRACKING == _CAP_UNTRACKING:
        capacity = 16 if _CAP_UNTRACKING == 0 else _CAP_UNTRACKING * 2
        grown = <PyObject **>PyMem_Realloc(_UNTRACKING, capacity * sizeof(PyObject *))
        if grown == NULL:
            raise MemoryError()
        _UNTRACKING = grown
        _CAP_UNTRACKING = capacity
    _UNTRACKING[_N_UNTRACKING] = <PyObject *>store
    _N_UNTRACKING += 1
    store.registered = True
    return 0


cdef void _unregister(PyObject *store) noexcept:
    global _N_UNTRACKING
    cdef Py_ssize_t i
    for i in range(_N_UNTRACKING):
        if _UNTRACKING[i] == store:
            _UNTRACKING[i] = _UNTRACKING[_N_UNTRACKING - 1]
            _N_UNTRACKING -= 1
            return


cdef void _track_caches(PyObject *o, bint track) noexcept:
    """Track (or untrack) every cache in the buckets of the store ``o``."""
    cdef object buckets = (<CacheStore>o).buckets
    cdef Py_ssize_t outer = 0, inner
    cdef PyObject *key
    cdef PyObject *bucket
    cdef PyObject *cache
    if type(buckets) is not dict:  # cleared
        return
    while PyDict_Next(buckets, &outer, &key, &bucket):
        if type(<object>bucket) is not dict:
            continue
        inner = 0
        while PyDict_Next(<object>bucket, &inner, &key, &cache):
            if PyObject_GC_IsTracked(cache):
                if not track:
                    PyObject_GC_UnTrack(cache)
            elif track:
                PyObject_GC_Track(cache)


_HAS_FUNCTION = <PyObject *>CacheStore.__dict__["has"]


def _gc_phase(phase, info):
    """``gc.callbacks`` hook: a full collection sees every pending cache tracked."""
    cdef Py_ssize_t i
    if _N_UNTRACKING == 0 or info["generation"] != 2:
        return
    for i in range(_N_UNTRACKING):
        _track_caches(_UNTRACKING[i], phase == "start")


_gc_module.callbacks.append(_gc_phase)
