"""The small application protocol every QUIC test server speaks (aioquic's and ours).

The first line of each client-initiated stream is a command; the server acts on it as
soon as the line is complete:

    echo\\n           echo every byte back; conclude (FIN) after the client's FIN
    sha256\\n         read to FIN, reply b"<length> <sha256 hex>" and FIN
    send N\\n         send N bytes of pattern(N), then FIN
    reset CODE\\n     reset the stream's send part with application error CODE
    stop CODE\\n      STOP_SENDING with CODE on the stream's receive part
    push-bidi N\\n    open N bidirectional streams, write b"push <i>" + FIN on each
    push-uni N\\n     the same with unidirectional streams
    close CODE REASON\\n  close the connection with application error CODE and REASON

Each test then asserts on what the *client* observes, and, where it matters, on what the
server recorded (``ServerEvents``).
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from dataclasses import dataclass, field

ALPN = b"asyncssl-test"


def pattern(n: int, seed: int = 0) -> bytes:
    """n deterministic pseudo-random bytes (random, so reordering bugs cannot hide)."""
    return random.Random(seed * 1_000_003 + n).randbytes(n)


def digest_reply(data: bytes) -> bytes:
    return b"%d %s" % (len(data), hashlib.sha256(data).hexdigest().encode())


@dataclass
class Command:
    verb: str
    args: list[str]


def parse_command(line: bytes) -> Command:
    parts = line.decode("ascii", "replace").strip().split(" ", 2)
    return Command(parts[0], parts[1:])


@dataclass
class ServerEvents:
    """What a test server saw, recorded thread-safely for the test to assert on."""

    handshakes: list[bytes] = field(default_factory=list)          # negotiated ALPN per connection
    closes: list[tuple[int, bytes, bool]] = field(default_factory=list)  # (error_code, reason, is_app)
    resets: list[tuple[int, int]] = field(default_factory=list)    # (stream_id, app_error_code) received
    stop_sendings: list[tuple[int, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def add(self, kind: str, item) -> None:
        with self._cond:
            getattr(self, kind).append(item)
            self._cond.notify_all()

    def wait_for(self, predicate, timeout: float = 10.0, what: str = "server event"):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate(self)
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}; server saw {self!r}")
                self._cond.wait(left)
