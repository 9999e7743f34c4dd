"""One side of one QUIC benchmark step, in its own process (so its CPU time is its own).

    python -m asyncssl.bench.quic.worker '{"contender": "sync", "role": "server", ...}'

A server prints ``READY <port>`` as soon as it listens; every worker ends with one line
``RESULT <json>``. With ``"profile": FILE`` the side runs under cProfile and the stats
are dumped to FILE for the parent to print (``--profile``).
"""

from __future__ import annotations

import cProfile
import json
import sys
from collections.abc import Callable
from typing import Any, Protocol

from .common import Ready, Result


class _Peer(Protocol):
    """What every contender's module provides (``sync_peer``, ``aio_peer``, ``aioquic_peer``)."""

    def client(self, port: int, cafile: str, total: int, chunk: int) -> Result: ...

    def server(self, certfile: str, keyfile: str, ready: Ready) -> Result: ...


def _ready(port: int) -> None:
    print(f"READY {port}", flush=True)


def _entry(job: dict[str, Any]) -> tuple[Callable[..., Result], tuple[Any, ...]]:
    """The function (and its arguments) that runs this side."""
    contender, role = job["contender"], job["role"]
    if role in ("scale-server", "scale-client", "latency"):  # aio, aioquic or qh3: scale_peer.py
        from . import scale_peer

        if role == "scale-server":
            return scale_peer.server, (contender, job["certfile"], job["keyfile"], _ready, job.get("validate", True),
                                       job.get("shards", 1), job.get("reuse_port", False), job.get("port", 0),
                                       job.get("until_signal", False), job.get("cafile"))
        if role == "scale-client":
            return scale_peer.client, (contender, job["port"], job["cafile"], job["connections"], job["idle"])
        return scale_peer.latency, (contender, job["certfile"], job["keyfile"], job["cafile"], job["rounds"],
                                    job.get("validate", True), job.get("shards", 1))
    if role in ("hold-server", "hold-client"):  # bench quic --hold: hold_peer.py
        from . import hold_peer

        if role == "hold-server":
            return hold_peer.server, (contender, job["certfile"], job["keyfile"], _ready, job["expect"],
                                      job["windows"], job["window_seconds"], job.get("validate", True),
                                      job.get("shards", 1))
        return hold_peer.client, (contender, job["port"], job["cafile"], job["connections"])
    module: _Peer
    if contender == "sync":
        from . import sync_peer

        module = sync_peer
    elif contender == "aio":
        from . import aio_peer

        module = aio_peer
    elif contender == "aioquic":
        from . import aioquic_peer

        module = aioquic_peer
    else:
        raise SystemExit(f"unknown contender {contender!r}")
    if role == "client":
        return module.client, (job["port"], job["cafile"], job["total"], job["chunk"])
    if role == "server":
        return module.server, (job["certfile"], job["keyfile"], _ready)
    if role == "many-client" and contender == "aio":  # the many-connection test: asyncssl asyncio only
        return aio_peer.many_client, (job["port"], job["cafile"], job["connections"], job["streams"], job["size"])
    if role == "many-server" and contender == "aio":
        return aio_peer.many_server, (job["certfile"], job["keyfile"], _ready, job["connections"], job["streams"])
    raise SystemExit(f"no role {role!r} for contender {contender!r}")


def main(argv: list[str]) -> int:
    job = json.loads(argv[0])
    function, args = _entry(job)
    if job.get("profile"):
        profiler = cProfile.Profile()
        result = profiler.runcall(function, *args)
        profiler.dump_stats(job["profile"])
    else:
        result = function(*args)
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
