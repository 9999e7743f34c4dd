"""Smoke test of ``python -m asyncssl bench tls-aio``: every contender runs every workload
over real loopback TCP in two processes, and the JSON is well formed. Never a speed assertion."""

from __future__ import annotations

import json

import pytest
from helpers.bench import run_bench


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench-aio")
    result = run_bench("tls-aio", "--quick", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return result, json.loads((out / "tls-aio.json").read_text())


def test_every_available_contender_measured_every_workload(quick_run):
    result, data = quick_run
    assert data["suite"] == "tls-aio" and not data["failed"], data["failed"]
    measured = {name for values in data["values"].values() for name in values}
    assert {"aio", "aio-uvloop", "asyncio", "uvloop"} <= measured   # uvloop is in the test extra
    for test, per in data["values"].items():
        for name, values in per.items():
            # idle is an RSS difference (KiB per connection): only rates must be positive
            assert values and all(v > 0 if test != "idle" else isinstance(v, float) for v in values), (test, name, values)
    assert "asyncssl.aio targets" in result.stdout
    assert all(t["status"] in ("PASS", "MISS") for t in data["targets"] if t["baseline"] in measured)
