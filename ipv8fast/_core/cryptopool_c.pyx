# cython: language_level=3
"""Ed25519 verification on worker threads (compiled twin of ``cryptopool_py``).

A :class:`VerifyPool` owns ``threads`` native threads (``csrc/cryptopool.c``) that never hold the GIL nor
touch a Python object: the loop thread copies each datagram's signed bytes, its signature and the public key
into a job of a bounded ring (``limit`` jobs), the workers run libsodium's ``crypto_sign_open`` (the pointer
``ed25519_c`` bound) and mark the job done, and an eventfd (a pipe elsewhere) watched with
``loop.add_reader`` wakes the loop. Everything queued (verification jobs, and packets deferred behind them)
is delivered on the loop thread strictly in submission order, so handlers see packets in arrival order. A
context is ``(callback, is_verification, community, ...)``: ``callback(context, valid)`` delivers it.
Once per loop iteration in which datagrams arrived (the endpoint's ``call_soon``) the loop verifies its share
of the still-unclaimed jobs itself, with the GIL released (:meth:`VerifyPool.flush`): at low load that is
today's inline latency, under load it adds a verifier while leaving the workers theirs.
"""
from libc.errno cimport errno

from ipv8fast._core.ed25519_c cimport sign_open_function

import asyncio
import logging
import weakref
from collections import deque

from ipv8fast._core import ed25519_c as _ed25519
from ipv8fast._core.limits import VERIFY_HEAP_LIMIT, VERIFY_QUEUE_LIMIT

__all__ = ["AVAILABLE", "VerifyPool", "live_threads", "settle_all"]

cdef extern from "cryptopool.h" nogil:
    ctypedef int (*cp_verify_fn)(unsigned char *, unsigned long long *, const unsigned char *, unsigned long long,
                                 const unsigned char *)
    enum:
        CP_PENDING
        CP_VALID
        CP_INVALID
        CP_EMPTY
    cp_pool *cp_create(cp_verify_fn verify, size_t capacity, size_t heap_limit, int threads)
    int cp_submit(cp_pool *pool, const unsigned char *signature, const unsigned char *public_key,
                  const unsigned char *message, size_t length)
    int cp_steal(cp_pool *pool)
    size_t cp_unclaimed(cp_pool *pool)
    int cp_front(cp_pool *pool)
    int cp_wait_front(cp_pool *pool)
    void cp_pop(cp_pool *pool)
    size_t cp_queued(cp_pool *pool)
    int cp_fd(cp_pool *pool)
    void cp_clear(cp_pool *pool)
    void cp_destroy(cp_pool *pool)
    int cp_live_threads()

#: worker threads are possible here (the compiled twin, with libsodium bound)
AVAILABLE = bool(_ed25519.AVAILABLE) and sign_open_function() != NULL

_logger = logging.getLogger("ipv8fast.cryptopool")
_pools = weakref.WeakSet()


def live_threads() -> int:
    """Verification worker threads alive in this process (all pools)."""
    return cp_live_threads()


def settle_all() -> None:
    """Verify and deliver everything queued in every open pool of this thread's loop, now."""
    for pool in list(_pools):
        (<VerifyPool>pool).settle()


def _ready(reference) -> None:
    pool = reference()
    if pool is not None:
        pool._on_ready()


cdef class VerifyPool:
    """``threads`` verification workers and a queue of at most ``limit`` packets, delivered on ``loop``."""

    def __init__(self, int threads, Py_ssize_t limit=VERIFY_QUEUE_LIMIT, size_t heap_limit=VERIFY_HEAP_LIMIT,
                 loop=None):
        if not AVAILABLE:
            raise RuntimeError("libsodium is not bound: signatures are verified inline")
        if threads < 1 or limit < 1:
            raise ValueError(f"a VerifyPool needs at least one thread and one slot, not {threads} / {limit}")
        self._loop = loop if loop is not None else asyncio.get_running_loop()
        self._contexts = deque()
        self.threads = threads
        self.limit = limit
        self._pool = cp_create(<cp_verify_fn>sign_open_function(), <size_t>limit, heap_limit, threads)
        if self._pool == NULL:
            raise OSError(errno, "cannot start the signature verification threads")
        self._fd = cp_fd(self._pool)
        try:
            self._loop.add_reader(self._fd, _ready, weakref.ref(self))  # a dropped endpoint frees its pool
        except BaseException:
            self._closed = True
            with nogil:
                cp_destroy(self._pool)
            self._pool = NULL
            raise
        _pools.add(self)

    def __dealloc__(self):
        if self._pool != NULL:
            try:
                self._loop.remove_reader(self._fd)
            except Exception:  # noqa: BLE001 - the loop is closed or gone
                pass
            with nogil:
                cp_destroy(self._pool)
            self._pool = NULL

    @property
    def queued(self) -> int:
        """Packets waiting: verifications in flight or done but not delivered, and packets deferred behind them."""
        return len(self._contexts)

    @property
    def closed(self) -> bool:
        return self._closed

    cdef int submit(self, tuple context, const unsigned char *signature, const unsigned char *public_key,
                    const unsigned char *message, size_t length) except -1:
        """Queue a verification of ``message``; ``context[0](context, valid)`` runs at its turn. 0: full."""
        if self._closing or len(self._contexts) >= self.limit:
            return 0
        if cp_submit(self._pool, signature, public_key, message, length) != 0:
            return 0
        self._contexts.append(context)
        return 1

    cdef int defer(self, tuple context) except -1:
        """Queue ``context[0](context, True)`` behind the verifications in flight. 0: full."""
        if self._closing or len(self._contexts) >= self.limit:
            return 0
        self._contexts.append(context)
        return 1

    def flush(self) -> None:
        """Verify this thread's share of the jobs no worker has claimed yet (GIL released), deliver what is
        done. The share is 1 / (threads + 1) of them, rounded up: one job alone (low load) is verified here
        at once, as inline. Jobs still unclaimed after that bring another flush at the next loop iteration,
        after the I/O that is ready by then: under load the loop thread takes turns between new datagrams
        and its share of verifications, and with nothing else to do it ends up helping with every job."""
        cdef cp_pool *pool = self._pool
        cdef size_t share, left
        cdef size_t parts = <size_t>self.threads + 1
        if pool == NULL or self._delivering:
            return
        with nogil:
            share = (cp_unclaimed(pool) + parts - 1) // parts
            while share > 0 and cp_steal(pool):
                share -= 1
            left = cp_unclaimed(pool)
        self._deliver()
        if left and not self._again_scheduled and self._pool != NULL:
            self._again_scheduled = True
            self._loop.call_soon(self._flush_again)

    def _flush_again(self) -> None:
        self._again_scheduled = False
        self.flush()

    def _on_ready(self) -> None:
        if self._pool != NULL:
            cp_clear(self._pool)
            self._deliver()

    cdef void _deliver(self) except *:
        cdef int state
        cdef tuple context
        if self._delivering or self._pool == NULL:
            return
        self._delivering = True
        contexts = self._contexts
        try:
            while contexts:
                context = <tuple>contexts[0]
                if context[1]:
                    state = cp_front(self._pool)
                    if state == CP_PENDING:
                        break
                    cp_pop(self._pool)
                else:
                    state = CP_VALID
                contexts.popleft()
                try:
                    context[0](context, state == CP_VALID)
                except Exception:
                    _logger.exception("delivering a verified packet failed")
        finally:
            self._delivering = False
        if self._closing and not self._closed:
            self.settle()
            self._shutdown()

    def settle(self) -> None:
        """Verify (helping the workers) and deliver every queued packet before returning."""
        cdef cp_pool *pool = self._pool
        if pool == NULL or self._delivering:
            return
        while self._contexts:
            with nogil:
                while cp_steal(pool):
                    pass
                cp_wait_front(pool)
            self._deliver()
            if self._delivering or self._pool == NULL:
                return

    def close(self) -> None:
        """Deliver everything queued, stop and join the workers. Later packets are verified inline."""
        if self._closed:
            return
        self._closing = True
        self.settle()
        if not self._delivering:
            self._shutdown()

    cdef void _shutdown(self) except *:
        cdef cp_pool *pool = self._pool
        if self._closed:
            return
        self._closed = True
        _pools.discard(self)
        try:
            self._loop.remove_reader(self._fd)
        except (RuntimeError, ValueError):  # the loop is already closed
            pass
        self._pool = NULL
        if pool != NULL:
            with nogil:
                cp_destroy(pool)
        if self._contexts:  # only if a delivery closed the pool and then queued more: never silently lost
            _logger.warning("%d queued packets were dropped at shutdown", len(self._contexts))
            for context in self._contexts:
                (<tuple>context)[2].drops["shutdown"] += 1
            self._contexts.clear()
