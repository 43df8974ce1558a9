"""Round-robin discovery-strategy scheduler (compiled twin of ``scheduler_py``).

Same behaviour and public names as ``scheduler_py``; see its module docstring for the semantics. The pass
loop runs in C: entries are read straight from the snapshot tuple, ``target_peers`` is compared as a C
long when it is an int, and the clock is ``CLOCK_MONOTONIC`` unless one is injected.
"""
from cpython.list cimport PyList_GET_SIZE
from cpython.set cimport PySet_GET_SIZE
from cpython.object cimport PyObject
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE

import logging

from ipv8fast._core.limits import MIN_PAUSE
from ipv8fast._core.scheduler_types import Registration, check_interval as _check_interval, check_target as _target

__all__ = ["StrategyScheduler"]

from time import monotonic as _py_monotonic

cdef extern from "monotonic.h" nogil:
    double ipv8fast_monotonic()

cdef object MINUS_ONE = -1
cdef double C_MIN_PAUSE = MIN_PAUSE


cdef inline double _now() except? -1.0:
    cdef double now = ipv8fast_monotonic()
    return now if now >= 0.0 else _py_monotonic()


cdef class StrategyScheduler:
    """Calls registered discovery strategies round-robin; see ``scheduler_py``."""

    cdef list _strategies
    cdef object _pass          # tuple snapshot of the pass in progress, or None
    cdef Py_ssize_t _cursor
    cdef double _interval
    cdef double _smooth
    cdef set _dead             # ids of snapshot entries removed during the pass
    cdef set _counting_types   # strategy classes known to define get_peer_count
    cdef bint _running
    cdef object _logger
    cdef object _clock         # None: CLOCK_MONOTONIC
    cdef public Py_ssize_t errors
    cdef Py_ssize_t _stepped

    def __init__(self, walk_interval=0.5, *, logger=None, clock=None):
        self._interval = _check_interval(walk_interval)
        self._logger = logger if logger is not None else logging.getLogger("ipv8fast.strategy_scheduler")
        self._clock = clock
        self._strategies = []
        self._pass = None
        self._cursor = 0
        self._smooth = 0.0
        self._dead = set()
        self._counting_types = set()
        self._running = False
        self.errors = 0
        self._stepped = 0

    # -- registry ------------------------------------------------------------------------------------

    @property
    def strategies(self):
        """The live registry list (py-ipv8's ``IPv8.strategies``); direct edits count from the next pass."""
        return self._strategies

    @strategies.setter
    def strategies(self, value):
        if not isinstance(value, list):
            raise TypeError(f"strategies: expected a list of (strategy, target_peers), got {value!r}")
        keep = {id(entry) for entry in value}
        self._kill([entry for entry in self._strategies if id(entry) not in keep])
        self._strategies = value

    @property
    def walk_interval(self):
        return self._interval

    @walk_interval.setter
    def walk_interval(self, value):
        self._interval = _check_interval(value)

    @property
    def in_pass(self):
        """True between the first and the last :meth:`advance` of a pass."""
        return self._pass is not None

    def __len__(self):
        return PyList_GET_SIZE(self._strategies)

    def add(self, overlay, strategy, target_peers):
        """Register ``strategy`` (for ``overlay``); it is stepped from the next pass on."""
        if not callable(getattr(strategy, "take_step", None)):
            raise TypeError(f"strategy: expected an object with take_step(), got {strategy!r}")
        entry = Registration(strategy, _target(target_peers), overlay)
        self._strategies.append(entry)
        return entry

    def remove(self, strategy):
        """Unregister every entry of ``strategy``; returns how many were removed."""
        return self._remove_where(lambda entry: entry[0] is strategy)

    def remove_overlay(self, overlay):
        """Unregister every strategy registered for ``overlay`` or whose ``.overlay`` is it."""
        def belongs(entry):
            return getattr(entry, "overlay", None) is overlay or getattr(entry[0], "overlay", None) is overlay
        return self._remove_where(belongs)

    def clear(self):
        """Unregister everything."""
        self._kill(self._strategies)
        del self._strategies[:]

    cdef Py_ssize_t _remove_where(self, predicate) except -1:
        cdef list removed = []
        cdef list kept = []
        for entry in self._strategies:
            try:
                gone = predicate(entry)
            except (TypeError, IndexError, KeyError):
                gone = False
            (removed if gone else kept).append(entry)
        if removed:
            self._kill(removed)
            self._strategies[:] = kept
        return len(removed)

    cdef int _kill(self, entries) except -1:
        if self._pass is not None or self._running:
            for entry in entries:
                self._dead.add(id(entry))
        return 0

    # -- stepping ------------------------------------------------------------------------------------

    cdef inline int _is_dead(self, object entry) except -1:
        return PySet_GET_SIZE(self._dead) != 0 and id(entry) in self._dead

    cdef int _step_raw(self, object entry) except -1:
        """Gate and step one entry, letting exceptions through; counts calls in ``_stepped``."""
        cdef long target_c
        cdef object strategy, target
        if isinstance(entry, tuple) and PyTuple_GET_SIZE(entry) == 2:
            strategy = <object>PyTuple_GET_ITEM(entry, 0)
            target = <object>PyTuple_GET_ITEM(entry, 1)
        else:
            strategy, target = entry
        if target is not MINUS_ONE:  # the small-int singleton: the common "always" case is one compare
            if type(target) is int:
                target_c = target
                if target_c != -1 and not self._gate_open(entry, strategy, target, target_c):
                    return 0
            elif target != -1 and not self._gate_open(entry, strategy, target, 0):
                return 0
        self._stepped += 1
        strategy.take_step()
        return 0

    cdef int _report(self, object entry) except -1:
        self.errors += 1
        self._logger.exception("Exception occurred while trying to walk: %r", entry)
        return 0

    cdef int _gate_open(self, object entry, object strategy, object target, long target_c) except -1:
        """1 if the strategy's peer count is below ``target`` (``target_c`` is valid for int targets)."""
        cdef long count_c
        cdef type kind = type(strategy)
        if kind in self._counting_types:
            count = strategy.get_peer_count()
        else:
            counter = getattr(strategy, "get_peer_count", None)
            if counter is None:
                count = len(entry.overlay.get_peers())
            else:
                if hasattr(kind, "get_peer_count"):
                    self._counting_types.add(kind)
                count = counter()
        if isinstance(count, int) and type(target) is int:
            count_c = count
            return 1 if count_c < target_c else 0
        return 1 if count < target else 0

    cdef Py_ssize_t _run_rest(self, tuple snapshot, Py_ssize_t start) except -1:
        """Step ``snapshot[start:]`` without pauses; returns the number of ``take_step`` calls."""
        cdef Py_ssize_t i = start, n = PyTuple_GET_SIZE(snapshot), before = self._stepped
        cdef object entry = None
        while i < n:
            try:  # set up once per pass, not per strategy; an error resumes with the next one
                while i < n:
                    entry = <object>PyTuple_GET_ITEM(snapshot, i)
                    i += 1
                    if not self._is_dead(entry):
                        self._step_raw(entry)
            except Exception:
                self._report(entry)
        return self._stepped - before

    def tick(self):
        """Run a pass now, without pauses; returns how many ``take_step`` calls were made.

        A pass in progress (see :meth:`advance`) is finished instead of starting a new one.
        """
        if self._running:
            raise RuntimeError("StrategyScheduler.tick() called from inside a pass")
        self._running = True
        try:
            if self._pass is None:
                return self._run_rest(tuple(self._strategies), 0)
            return self._run_rest(<tuple>self._pass, self._cursor)
        finally:
            self._end_pass()
            self._running = False

    cdef inline double _time(self) except? -1.0:
        if self._clock is None:
            return _now()
        return self._clock()

    def advance(self):
        """Run strategies until the next pause is due; return the pause in seconds.

        The pause after the last strategy of a pass is ``walk_interval`` (also with no strategies).
        """
        cdef tuple snapshot
        cdef Py_ssize_t n
        cdef double smooth, started = 0.0, pause
        cdef bint ran
        cdef object entry, interval
        if self._running:
            raise RuntimeError("StrategyScheduler.advance() called from inside a pass")
        if self._pass is None:
            if PyList_GET_SIZE(self._strategies) == 0:
                return self._interval
            self._pass = tuple(self._strategies)
            self._cursor = 0
            interval = self._interval
            self._smooth = interval // len(self._pass)  # Python float floor division, as py-ipv8
        self._running = True
        try:
            snapshot = <tuple>self._pass
            smooth = self._smooth
            if smooth <= C_MIN_PAUSE:  # no pause can fall due: finish the pass in one go
                self._run_rest(snapshot, self._cursor)
                self._end_pass()
                return self._interval
            n = PyTuple_GET_SIZE(snapshot)
            while True:
                entry = <object>PyTuple_GET_ITEM(snapshot, self._cursor)
                self._cursor += 1
                ran = not self._is_dead(entry)
                if ran:
                    started = self._time()
                    try:
                        self._step_raw(entry)
                    except Exception:
                        self._report(entry)
                while self._cursor < n and self._is_dead(<object>PyTuple_GET_ITEM(snapshot, self._cursor)):
                    self._cursor += 1
                if self._cursor >= n:
                    self._end_pass()
                    return self._interval
                if ran:
                    pause = smooth - (self._time() - started)
                    if pause > C_MIN_PAUSE:
                        return pause
        finally:
            self._running = False

    def reset(self):
        """Abandon the pass in progress; the next :meth:`advance` starts a new one."""
        if self._running:
            raise RuntimeError("StrategyScheduler.reset() called from inside a pass")
        self._end_pass()

    cdef void _end_pass(self):
        self._pass = None
        self._cursor = 0
        self._dead.clear()
