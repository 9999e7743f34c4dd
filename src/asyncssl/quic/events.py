"""The event-loop calls shared by QUIC connections, streams and listeners, and the one
"wait for the network" helper the synchronous API uses when asked to block while the
object is in non-blocking mode.

Every QUIC object is an ``SSL *``. The classes using :class:`QuicEventMethods` (streams,
listeners) provide ``_live_ssl()``, which returns the pointer or raises a clear ``Error``
once the object (or its parent) is closed, so no call ever reaches OpenSSL with a freed
pointer. ``Connection`` has its own event methods (one implementation for TLS, DTLS and
QUIC) on its ``_live_ssl(engine=True)``.
"""

from __future__ import annotations

import select
import time
from collections.abc import Callable

from .._binding import CData, check, ffi, has, lib
from .._binding.errors import Error
from .._binding.guard import ACCESS, IN_CALLBACK_MESSAGE, guarded

__all__ = ["QuicEventMethods", "wait_for_network", "zero_timeout_pause", "event_timeout", "check_may_enter", "IN_CALLBACK_MESSAGE"]

_may_enter = lib.asyncssl_quic_may_enter


def check_may_enter(what: str = "this QUIC call") -> None:
    """Raise instead of entering the QUIC engine from inside an OpenSSL callback (fault 4).

    Outside callbacks it also performs the QUIC frees that were queued inside one
    (``asyncssl_quic_free``, src/_cffi_src/reentry.py). One C call.
    """
    if not _may_enter():
        raise Error(IN_CALLBACK_MESSAGE.format(what=what))


def event_timeout(ssl_ptr: CData) -> float | None:
    """Corresponds to ``SSL_get_event_timeout``: seconds until handle_events() is due, None = no timer."""
    seconds: float = lib.asyncssl_event_timeout(ssl_ptr)
    if seconds == -2.0:
        check(False, "SSL_get_event_timeout")
    return None if seconds < 0 else seconds


def _fd(getter: Callable[[CData], int], ssl_ptr: CData, which: str) -> int:
    fd = getter(ssl_ptr)
    if fd == -2:
        check(False, f"SSL_get_{which}poll_descriptor")
    return fd


# With a thread-assisted client (OSSL_QUIC_client_thread_method) the assist thread reads
# the socket and moves data into the streams itself: the application thread's select()
# may never see the socket readable. Its sleeps are capped so it notices within 20 ms.
_ASSISTED_POLL = 0.02
_HAS_DOMAIN_FLAGS = has("SSL_get_domain_flags")


def _thread_assisted(ssl_ptr: CData) -> bool:
    if not _HAS_DOMAIN_FLAGS:
        return False
    flags = ffi.new("uint64_t *")
    return bool(lib.SSL_get_domain_flags(ssl_ptr, flags) == 1 and flags[0] & lib.SSL_DOMAIN_FLAG_THREAD_ASSISTED)


# The longest a blocking QUIC call sleeps before it looks again: blocking is done in
# Python, in waits of at most this long, so that Ctrl-C (SIGINT) interrupts it as it
# interrupts Python's own sockets, a close() from another thread ends it, and a datagram
# another thread took off the shared socket cannot leave it asleep forever.
WAIT_SLICE = 0.1


def zero_timeout_pause(streak: int) -> float:
    """How long to sleep after `streak` consecutive zero event timeouts (0.0: do not).

    During a rapid shutdown OpenSSL reports a timeout of 0 for about 0.1 s (reference
    notes, Appendix C): a few immediate retries, then growing naps of 1 to 20 ms, so that
    window is never a busy loop. The blocking calls and the asyncio adapter both use it.
    """
    return 0.0 if streak <= 3 else min(0.001 * streak, 0.02)


def wait_for_network(ssl_ptr: CData, deadline: float | None, zero_streak: list[int]) -> None:
    """Sleep until the network or the timer of `ssl_ptr` needs attention, then handle_events().

    This is the loop of openssl-quic(7), "APPLICATION-DRIVEN EVENT LOOPS": poll the read
    descriptor if ``SSL_net_read_desired``, the write descriptor if
    ``SSL_net_write_desired``, up to ``SSL_get_event_timeout`` -- and never longer than
    ``WAIT_SLICE`` (the callers loop). `zero_streak` counts consecutive zero timeouts:
    during a rapid shutdown OpenSSL reports 0 for about 0.1 s (reference notes, Appendix
    C), so after a few we sleep briefly instead of spinning. Raises ``TimeoutError``
    once `deadline` (``time.monotonic()``) has passed. A signal handler that raises
    (KeyboardInterrupt) interrupts the sleep.
    """
    timeout = event_timeout(ssl_ptr)
    if _thread_assisted(ssl_ptr):
        timeout = _ASSISTED_POLL if timeout is None else min(timeout, _ASSISTED_POLL)
    if deadline is not None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the QUIC operation did not complete in time")
        timeout = left if timeout is None else min(timeout, left)
    if timeout is not None and timeout <= 0:
        zero_streak[0] += 1
        pause = zero_timeout_pause(zero_streak[0])
        if pause:
            time.sleep(pause)
    else:
        zero_streak[0] = 0
        rfd = _fd(lib.asyncssl_get_rpoll_fd, ssl_ptr, "r") if lib.SSL_net_read_desired(ssl_ptr) else -1
        wfd = _fd(lib.asyncssl_get_wpoll_fd, ssl_ptr, "w") if lib.SSL_net_write_desired(ssl_ptr) else -1
        rlist = [rfd] if rfd >= 0 else []
        wlist = [wfd] if wfd >= 0 else []
        if not rlist and not wlist and timeout is None:
            raise Error("the QUIC object has nothing to wait for (no timer, no network interest): "
                        "it cannot make progress by waiting")
        timeout = WAIT_SLICE if timeout is None else min(timeout, WAIT_SLICE)
        if rlist or wlist:
            select.select(rlist, wlist, [], timeout)
        else:
            time.sleep(timeout)
    lib.SSL_handle_events(ssl_ptr)
    # handle_events failures surface through the next real call; keep the queue clean.
    lib.ERR_clear_error()


class QuicEventMethods:
    """``handle_events``, timeouts and poll descriptors: the same on connections, streams, listeners.

    Each runs inside the object's in-call guard (``_guard``, SHARED for QUIC), so a
    close() from another thread frees the object only after the call has returned.
    """

    __slots__ = ()

    def _live_ssl(self) -> CData:  # pragma: no cover - provided by the classes using this mixin
        raise NotImplementedError

    @guarded(ACCESS)
    def handle_events(self) -> None:
        """Corresponds to ``SSL_handle_events``: process timers and pending network I/O now."""
        ptr = self._live_ssl()
        check(lib.SSL_handle_events(ptr) == 1, "SSL_handle_events")

    @guarded(ACCESS)
    def get_event_timeout(self) -> float | None:
        """Corresponds to ``SSL_get_event_timeout``: seconds until ``handle_events()`` is due.

        ``None`` means no timer is running. Re-query it after every other call.
        """
        return event_timeout(self._live_ssl())

    @guarded(ACCESS)
    def net_read_desired(self) -> bool:
        """Corresponds to ``SSL_net_read_desired``: poll the read descriptor for readability."""
        return bool(lib.SSL_net_read_desired(self._live_ssl()))

    @guarded(ACCESS)
    def net_write_desired(self) -> bool:
        """Corresponds to ``SSL_net_write_desired``: poll the write descriptor for writability."""
        return bool(lib.SSL_net_write_desired(self._live_ssl()))

    @guarded(ACCESS)
    def get_rpoll_descriptor(self) -> int:
        """Corresponds to ``SSL_get_rpoll_descriptor``: the socket fd to poll for reading (-1: none)."""
        return _fd(lib.asyncssl_get_rpoll_fd, self._live_ssl(), "r")

    @guarded(ACCESS)
    def get_wpoll_descriptor(self) -> int:
        """Corresponds to ``SSL_get_wpoll_descriptor``: the socket fd to poll for writing (-1: none)."""
        return _fd(lib.asyncssl_get_wpoll_fd, self._live_ssl(), "w")

    @guarded(ACCESS)
    def set_blocking_mode(self, blocking: bool) -> None:
        """Corresponds to ``SSL_set_blocking_mode``: application-level blocking of QUIC calls.

        The UDP socket itself always stays non-blocking; in blocking mode OpenSSL waits
        inside the C call (the GIL is released meanwhile).
        """
        ptr = self._live_ssl()
        check(lib.SSL_set_blocking_mode(ptr, 1 if blocking else 0) == 1, "SSL_set_blocking_mode")

    @guarded(ACCESS)
    def get_blocking_mode(self) -> bool:
        """Corresponds to ``SSL_get_blocking_mode``."""
        return bool(lib.SSL_get_blocking_mode(self._live_ssl()) == 1)

    @guarded(ACCESS)
    def _wait(self, deadline: float | None, streak: list[int]) -> None:
        wait_for_network(self._live_ssl(), deadline, streak)
