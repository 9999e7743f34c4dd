"""Randomized QUIC crash-safety runs: listeners, connections and streams closed, dropped and
collected in random orders (the UDP socket closed under a live connection too); several threads
on one connection or stream; server and client callbacks that close, re-enter the engine or raise;
asyncio cancellation at every await of ``aio.quic_connect``/``QuicConnection``/streams/``quic_serve``
handlers. Each run is a fresh interpreter; a signal death or a hang fails with its seed.

ASYNCSSL_STRESS_RUNS (default 10) sets the runs per scenario; ASYNCSSL_STRESS_SEED replays one seed.
"""

from __future__ import annotations

import pytest
from helpers.subproc import run_scenario, stress_seeds

from asyncssl import capabilities

SEEDS = stress_seeds(2000)

pytestmark = [
    pytest.mark.quic,
    pytest.mark.skipif(not capabilities()["quic_server"], reason="the linked OpenSSL has no QUIC server (needs 3.5+)"),
]


@pytest.mark.parametrize("scenario", ["quic_lifetimes", "quic_threads", "quic_callbacks", "quic_aio_cancel"])
@pytest.mark.parametrize("seed", SEEDS)
def test_quic_stress(scenario, seed):
    code = f"from helpers.quic_stress_scenarios import run\nrun({scenario!r}, {seed})\n"
    out = run_scenario(code, seed=seed, timeout=120)
    assert out.endswith(f"{scenario} {seed} ok\n"), out
