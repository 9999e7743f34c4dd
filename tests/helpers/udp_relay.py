"""A lossy, reordering UDP relay on 127.0.0.1 for tests of datagram protocols (QUIC, DTLS).

    with UdpRelay(("127.0.0.1", server_port), drop_rate=0.05, reorder_rate=0.05, seed=1) as relay:
        client.connect(relay.address)     # talk to relay.address instead of the server

Theory of operation: one thread, one ``selectors`` loop. The relay listens on an
ephemeral port of 127.0.0.1. Each distinct client address gets its own socket connected
to the upstream (like a NAT), so replies find their way back to the right client. Every
datagram, in either direction, is independently

- dropped with probability ``drop_rate``,
- duplicated with probability ``duplicate_rate``,
- held back for ``reorder_delay`` seconds with probability ``reorder_rate`` (datagrams
  sent meanwhile overtake it: that is the reordering),

using one ``random.Random(seed)``, so a failing run can be replayed. ``drop_filter``
(optional) sees ``(direction, datagram)`` and may force a drop (return True), e.g. to lose
every first flight; ``direction`` is ``"up"`` (client → upstream) or ``"down"``.

The relay is bounded: it stops by itself after ``lifetime`` seconds, and ``close()`` (or
leaving the ``with`` block) stops it at once and joins the thread. It never raises into
the test: socket errors on one datagram (e.g. ICMP port unreachable once a peer is gone)
are counted in ``stats["errors"]`` and ignored.
"""

from __future__ import annotations

import heapq
import random
import selectors
import socket
import threading
import time
from collections.abc import Callable

Address = tuple[str, int]

_MAX_DATAGRAM = 65535


class UdpRelay:
    """Relays datagrams between any number of clients and one upstream, with loss and reordering."""

    def __init__(
        self,
        upstream: Address,
        *,
        drop_rate: float = 0.0,
        reorder_rate: float = 0.0,
        reorder_delay: float = 0.01,
        duplicate_rate: float = 0.0,
        seed: int = 0,
        lifetime: float = 30.0,
        drop_filter: Callable[[str, bytes], bool] | None = None,
        host: str = "127.0.0.1",
    ):
        for name, rate in (("drop_rate", drop_rate), ("reorder_rate", reorder_rate),
                           ("duplicate_rate", duplicate_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate!r}")
        if lifetime <= 0:
            raise ValueError("lifetime must be positive: the relay always stops by itself")
        self.upstream = upstream
        self.drop_rate = drop_rate
        self.reorder_rate = reorder_rate
        self.reorder_delay = reorder_delay
        self.duplicate_rate = duplicate_rate
        self.lifetime = lifetime
        self.drop_filter = drop_filter
        self._rng = random.Random(seed)
        self.stats = {"up": 0, "down": 0, "dropped": 0, "reordered": 0, "duplicated": 0, "errors": 0}

        self._front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._front.bind((host, 0))
        self._front.setblocking(False)
        self.address: Address = self._front.getsockname()

        self._sel = selectors.DefaultSelector()
        self._sel.register(self._front, selectors.EVENT_READ, None)
        self._backs: dict[Address, socket.socket] = {}   # client address -> its upstream socket
        self._held: list[tuple[float, int, str, socket.socket, Address | None, bytes]] = []
        self._seq = 0
        # A socketpair wakes the loop for close(); no polling interval needed.
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"UdpRelay{self.address[1]}", daemon=True)
        self._thread.start()

    # --- public ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self.address[1]

    def close(self) -> None:
        """Stop relaying, join the thread, close every socket. Idempotent."""
        if not self._stop.is_set():
            self._stop.set()
            try:
                self._wake_w.send(b"x")
            except OSError:
                pass
        self._thread.join(timeout=5)

    def __enter__(self) -> UdpRelay:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- the loop ---------------------------------------------------------------------------

    def _run(self) -> None:
        deadline = time.monotonic() + self.lifetime
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if now >= deadline:
                    break
                self._release_due(now)
                timeout = deadline - now
                if self._held:
                    timeout = min(timeout, max(0.0, self._held[0][0] - now))
                for key, _ in self._sel.select(timeout):
                    if key.data == "wake":
                        return
                    self._receive(key.fileobj, key.data)
        finally:
            self._stop.set()
            self._sel.close()
            for s in (self._front, self._wake_r, self._wake_w, *self._backs.values()):
                s.close()

    def _receive(self, sock: socket.socket, client: Address | None) -> None:
        # Drain everything that is queued on this socket.
        while True:
            try:
                data, addr = sock.recvfrom(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.stats["errors"] += 1
                return
            if client is None:  # from a client, to the upstream
                back = self._backs.get(addr)
                if back is None:
                    back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    back.bind((self.address[0], 0))
                    back.connect(self.upstream)
                    back.setblocking(False)
                    self._backs[addr] = back
                    self._sel.register(back, selectors.EVENT_READ, addr)
                self._route("up", back, None, data)
            else:  # from the upstream, back to its client
                self._route("down", self._front, client, data)

    def _route(self, direction: str, sock: socket.socket, dest: Address | None, data: bytes) -> None:
        self.stats[direction] += 1
        rng = self._rng
        if (self.drop_filter is not None and self.drop_filter(direction, data)) or rng.random() < self.drop_rate:
            self.stats["dropped"] += 1
            return
        copies = 2 if rng.random() < self.duplicate_rate else 1
        if copies == 2:
            self.stats["duplicated"] += 1
        for _ in range(copies):
            if rng.random() < self.reorder_rate:
                self.stats["reordered"] += 1
                self._seq += 1
                heapq.heappush(self._held, (time.monotonic() + self.reorder_delay, self._seq, direction, sock, dest, data))
            else:
                self._send(sock, dest, data)

    def _release_due(self, now: float) -> None:
        while self._held and self._held[0][0] <= now:
            _, _, _, sock, dest, data = heapq.heappop(self._held)
            self._send(sock, dest, data)

    def _send(self, sock: socket.socket, dest: Address | None, data: bytes) -> None:
        try:
            if dest is None:
                sock.send(data)
            else:
                sock.sendto(data, dest)
        except OSError:
            # Full buffer or a peer that is gone (ICMP unreachable): a lost datagram,
            # which is exactly what the protocols under test must survive.
            self.stats["errors"] += 1
