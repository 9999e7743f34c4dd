"""Randomized crash-safety runs (issue 10): TLS, DTLS and MODE_ASYNC objects closed, dropped and
collected in random orders; every callback type closing, re-entering and raising; several threads
on one object; asyncio clients cancelled at random points of the TLS and DTLS adapters. Each run is a fresh interpreter; a signal death or hang fails with its seed.

ASYNCSSL_STRESS_RUNS (default 10) sets the runs per scenario; ASYNCSSL_STRESS_SEED replays one seed.
"""

from __future__ import annotations

import pytest
from helpers.subproc import run_scenario, stress_seeds

import asyncssl

SEEDS = stress_seeds(1000)

needs_async = pytest.mark.skipif(not asyncssl.is_async_capable(), reason="ASYNC_is_capable() is 0 here")


@needs_async
@pytest.mark.parametrize("scenario", ["lifetimes", "callbacks", "threads", "aio_cancel", "tls_native"])
@pytest.mark.parametrize("seed", SEEDS)
def test_stress(scenario, seed):
    code = f"from helpers.stress_scenarios import run\nrun({scenario!r}, {seed})\n"
    out = run_scenario(code, seed=seed, timeout=120)
    assert out.endswith(f"{scenario} {seed} ok\n"), out
