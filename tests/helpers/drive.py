"""Drive a non-blocking asyncssl Connection on a socket: the event-loop pattern in miniature.

Wait on the socket for what the Want* error names, and at most ``get_event_timeout()``
seconds; when the timer fires, call ``handle_events()``. Nothing else (no polling).
"""

from __future__ import annotations

import select
import time

from asyncssl import SSL


def drive(conn, sock, op, *args, timeout: float = 10.0):
    """Call ``op(*args)`` until it stops raising WantRead/WantWrite; bounded by `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return op(*args)
        except SSL.WantReadError:
            wait(conn, sock, deadline, write=False)
        except SSL.WantWriteError:
            wait(conn, sock, deadline, write=True)


def wait(conn, sock, deadline: float, *, write: bool) -> None:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("operation did not complete in time")
    timer = conn.get_event_timeout()
    wait_for = left if timer is None else min(left, timer)
    r, w, _ = select.select([] if write else [sock], [sock] if write else [], [], wait_for)
    if not r and not w and timer is not None and timer <= wait_for:
        conn.handle_events()


def recv_exactly(conn, sock, n: int, timeout: float = 10.0) -> bytes:
    out = bytearray()
    while len(out) < n:
        out += drive(conn, sock, conn.recv, n - len(out), timeout=timeout)
    return bytes(out)
