"""``SSL.poll``: ``SSL_poll`` over QUIC listeners, connections and streams (3.3+; blocking 3.5+).

The GIL is released while ``SSL_poll`` waits (cffi releases it around every C call), so
other Python threads keep running; the wait is cut into slices so Ctrl-C interrupts it,
and every polled object's guard is entered, so a close() from another thread frees it
only after the poll.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

from .._binding import CData, ffi, lib, not_supported
from .._binding.guard import ACCESS, refusal
from .errors import quic_error_from_queue
from .events import WAIT_SLICE, check_may_enter

__all__ = ["poll", "PollGroup"]


def poll(items: Iterable[tuple[Any, int]], timeout: float | None = None) -> list[int]:
    """Corresponds to ``SSL_poll``: wait until one of `items` has an event, or `timeout` passes.

    `items` is a sequence of ``(obj, events)``: `obj` a ``Connection``, ``Stream`` or
    ``Listener`` (or ``None``, a placeholder that never reports anything), `events` a
    mask of ``SSL.POLL_EVENT_*``. Returns the revents, one per item, in the same order
    (all zero on timeout). `timeout` None waits forever, 0 only looks. Events are
    level-triggered: an event that was handled must be masked out, or the next call
    returns at once. ``POLL_EVENT_F`` in a revents entry means that item could not be
    polled (e.g. a closed object).
    """
    if timeout is not None:
        if not isinstance(timeout, (int, float)) or math.isnan(timeout) or timeout < 0:
            raise ValueError("timeout must be None (wait forever) or a number of seconds >= 0")
    items = list(items)
    if not lib.ASYNCSSL_HAS_SSL_POLL:
        raise not_supported("SSL_poll")
    check_may_enter("SSL.poll()")
    if timeout != 0 and not lib.ASYNCSSL_HAS_BLOCKING_SSL_POLL:
        # 3.3/3.4 reject any timeout but zero (SSL_poll(3) HISTORY).
        raise not_supported("SSL_poll with a non-zero timeout", "3.5")
    if not items:
        if timeout is None:
            raise ValueError("poll() with no items and no timeout would wait forever")
        time.sleep(timeout)
        return []
    arr = ffi.new("SSL_POLL_ITEM[]", len(items))
    entered = []   # guards of the polled objects: none is freed while SSL_poll looks at it
    try:
        for i, item in enumerate(items):
            try:
                obj, events = item
            except (TypeError, ValueError):
                raise TypeError("each poll item must be an (object, events) pair") from None
            if not isinstance(events, int) or events < 0:
                raise TypeError("events must be a non-negative int mask of SSL.POLL_EVENT_* values")
            if obj is None:
                # A placeholder: an SSL-type descriptor with a NULL pointer is skipped by
                # SSL_poll. (A TYPE_NONE descriptor is *not* skipped despite the docs: it
                # fails the whole call, openssl/openssl#32114.)
                lib.asyncssl_poll_item_set(arr + i, ffi.NULL, events)
                continue
            get_ptr = getattr(obj, "_live_ssl", None)  # what every SSL* owner has
            if get_ptr is None:
                raise TypeError(f"SSL.poll() takes QUIC Connection, Stream or Listener objects, not "
                                f"{type(obj).__name__} (SSL_poll cannot watch sockets or other fds)")
            # A Connection: a TLS/DTLS one raises (clearly); a QUIC one gives the pointer with
            # its engine checks, which a stream's or listener's _live_ssl() always makes.
            require_quic = getattr(obj, "_require_quic", None)
            if require_quic is not None:
                require_quic()
            code = lib.asyncssl_guard_enter(obj._guard, ACCESS)
            if code:
                raise refusal(code, obj, "poll")
            entered.append(obj._guard)
            ptr = get_ptr(engine=True) if require_quic is not None else get_ptr()
            lib.asyncssl_poll_item_set(arr + i, ptr, events)
        return _poll_in_slices(arr, len(items), timeout)
    finally:
        for guard in entered:
            lib.asyncssl_guard_leave(guard)


def _poll_in_slices(arr: CData, n: int, timeout: float | None) -> list[int]:
    """``SSL_poll`` for up to `timeout` seconds, in waits of at most ``WAIT_SLICE``.

    Between slices control returns to Python, so Ctrl-C (a signal handler that raises)
    interrupts a long poll as it interrupts ``select.select``.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    tv = ffi.new("struct timeval *")
    count = ffi.new("size_t *")
    while True:
        left = WAIT_SLICE if deadline is None else max(0.0, min(WAIT_SLICE, deadline - time.monotonic()))
        tv.tv_sec = int(left)
        tv.tv_usec = int((left - int(left)) * 1e6)
        lib.ERR_clear_error()
        ret = lib.SSL_poll(arr, n, ffi.sizeof("SSL_POLL_ITEM"), tv, 0, count)
        if ret != 1 and count[0] == 0:
            raise quic_error_from_queue(None, "SSL_poll")
        lib.ERR_clear_error()
        if count[0] or (deadline is not None and time.monotonic() >= deadline):
            return [int(arr[i].revents) for i in range(n)]


class PollGroup:
    """Many QUIC objects asked at once which of them have news.

    For an event loop that holds thousands of idle connections: instead of one Python
    call per connection per pass, one C call (``asyncssl_poll_ready``: ``SSL_poll`` with a
    zero timeout and ``SSL_POLL_FLAG_NO_HANDLE_EVENTS``, each object inside its guard while
    it is looked at) returns those with any of `events`. Members are ``key -> obj`` (obj
    a QUIC Connection, Stream or Listener; `key` what :meth:`ready` returns, e.g. the
    application's wrapper). Events are level-triggered, so a member that was reported
    and not handled is reported again.

    The C array of guards is kept up to date in place: ``add`` appends, ``discard`` moves
    the last member into the hole, both O(1). (Rebuilding it on every change made a
    server that opens connections while it holds thousands pay for all of them each time
    one came or went.) The guards it points to are held alive by the group (a closed
    member's guard refuses, and the member is then reported, so that its owner finds out
    with an ordinary call).
    """

    _FIRST_CAPACITY = 64

    def __init__(self, events: int) -> None:
        self._events = events
        # Position i of each list is one member: its key, its guard (held alive), and
        # _slots[i] the guard's pointer as the C call reads it. _index: key -> i.
        self._keys: list[Any] = []
        self._guards: list[CData] = []
        self._index: dict[Any, int] = {}
        self._slots: CData = ffi.new("asyncssl_guard *[]", self._FIRST_CAPACITY)
        self._out: CData = ffi.new("size_t[]", self._FIRST_CAPACITY)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def add(self, key: Any, obj: Any) -> None:
        if key in self._index:
            return
        n = len(self._keys)
        if n == len(self._slots):
            slots = ffi.new("asyncssl_guard *[]", 2 * n)
            ffi.memmove(slots, self._slots, n * ffi.sizeof("asyncssl_guard *"))
            self._slots, self._out = slots, ffi.new("size_t[]", 2 * n)
        guard = obj._guard
        self._slots[n] = guard
        self._keys.append(key)
        self._guards.append(guard)
        self._index[key] = n

    def discard(self, key: Any) -> None:
        i = self._index.pop(key, None)
        if i is None:
            return
        last = len(self._keys) - 1
        if i != last:
            moved = self._keys[last]
            self._keys[i], self._guards[i], self._slots[i] = moved, self._guards[last], self._slots[last]
            self._index[moved] = i
        self._keys.pop()
        self._guards.pop()
        self._slots[last] = ffi.NULL

    def ready(self) -> list[Any]:
        """The keys of the members that have any of the group's events now (all of them
        where the linked OpenSSL has no SSL_poll)."""
        keys = self._keys
        if not keys:
            return []
        if not lib.ASYNCSSL_HAS_SSL_POLL:
            return keys[:]
        check_may_enter("PollGroup.ready()")
        out = self._out
        count = lib.asyncssl_poll_ready(self._slots, len(keys), self._events, out)
        if count < 0:
            return keys[:]
        return [keys[out[i]] for i in range(count)]
