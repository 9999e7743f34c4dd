"""Sockets and subprocesses for real-peer tests, with bounded waits."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import time


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def openssl_process(args: list[str], *, wait_for: bytes | None, timeout: float = 10.0):
    """Run the openssl CLI; wait until its output contains `wait_for`; kill it on exit.

    Yields ``(proc, output)`` where ``output`` is a bytearray that keeps collecting
    stdout+stderr (call ``read_more(proc, output)``).
    """
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = bytearray()
    os.set_blocking(proc.stdout.fileno(), False)
    try:
        if wait_for is not None:
            deadline = time.monotonic() + timeout
            while wait_for not in output:
                left = deadline - time.monotonic()
                if left <= 0 or proc.poll() is not None and not read_more(proc, output, 0):
                    raise AssertionError(f"openssl did not print {wait_for!r}: {bytes(output)!r}")
                read_more(proc, output, min(left, 0.2))
        yield proc, output
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        for f in (proc.stdin, proc.stdout):
            with contextlib.suppress(Exception):
                f.close()


def read_more(proc, output: bytearray, timeout: float) -> int:
    """Append whatever the process printed within `timeout` seconds; returns bytes read."""
    r, _, _ = select.select([proc.stdout], [], [], timeout)
    if not r:
        return 0
    try:
        chunk = proc.stdout.read(65536) or b""
    except BlockingIOError:
        return 0
    output += chunk
    return len(chunk)


def wait_output(proc, output: bytearray, needle: bytes, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while needle not in output:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"expected {needle!r} in openssl output: {bytes(output)!r}")
        if not read_more(proc, output, min(left, 0.2)) and proc.poll() is not None:
            raise AssertionError(f"openssl exited without printing {needle!r}: {bytes(output)!r}")
