"""Running one client/server pair as two processes and collecting what each side reports.

The server starts first and prints ``READY <port>``; the client is then started with
that port; both end with one JSON result line (the C programs print the JSON alone, the
Python workers prefix it with ``RESULT``). A side that fails, or a server that outlives
its client by more than a few seconds, is reported with its stderr; the server is then
terminated (only that process, by its handle).
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

READY_TIMEOUT = 30.0  # seconds for a server to start listening (a busy machine, cold imports)


class StepFailed(RuntimeError):
    """One side of a step failed; the message carries that side's stderr."""


@dataclass
class Side:
    """How to start one side: ``argv`` (a function of the server's port for clients)."""

    argv: list[str] | Callable[[int], list[str]]


def python_worker(job: dict[str, Any]) -> list[str]:
    return [sys.executable, "-m", "asyncssl.bench.quic.worker", json.dumps(job)]


def _result(stdout: str, who: str) -> dict[str, Any]:
    for line in reversed(stdout.strip().splitlines()):
        line = line.removeprefix("RESULT ").strip()
        if line.startswith("{"):
            result: dict[str, Any] = json.loads(line)
            return result
    raise StepFailed(f"{who} printed no result:\n{stdout[-2000:]}")


def _tail(text: str | bytes | None, lines: int = 15) -> str:
    if isinstance(text, bytes):  # TimeoutExpired carries the raw bytes read so far, even with text=True
        text = text.decode(errors="replace")
    return "\n".join((text or "").strip().splitlines()[-lines:])


def run_pair(server: Side, client: Side, env: dict[str, str], timeout: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """Start the server, then the client against it; return ``(server_result, client_result)``."""
    assert not callable(server.argv), "a server is started before any port is known"
    proc = subprocess.Popen(server.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        port = _await_ready(proc)
        argv = client.argv(port) if callable(client.argv) else client.argv
        try:
            done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise StepFailed(f"the client did not finish within {timeout:.0f} s:\n{_tail(exc.stderr)}") from None
        if done.returncode != 0:
            raise StepFailed(f"the client failed ({done.returncode}):\n{_tail(done.stderr)}")
        client_result = _result(done.stdout, "the client")
        try:
            out, err = proc.communicate(timeout=15.0)
        except subprocess.TimeoutExpired:
            raise StepFailed("the server did not exit after its client finished") from None
        if proc.returncode != 0:
            raise StepFailed(f"the server failed ({proc.returncode}):\n{_tail(err)}")
        return _result(out, "the server"), client_result
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _await_ready(proc: subprocess.Popen[str]) -> int:
    assert proc.stdout is not None  # started with stdout=PIPE
    ready, _, _ = select.select([proc.stdout], [], [], READY_TIMEOUT)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("READY "):
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate()
        raise StepFailed(f"the server did not start ({line.strip() or 'no READY line'}):\n{_tail(err)}")
    return int(line.split()[1])
