"""Smoke test of the "QUIC at scale" workloads of ``python -m asyncssl bench quic``.

Never a speed assertion (DESIGN.md section 5): only that asyncssl and qh3 (when
installed) produced positive numbers for every workload, that the JSON is well formed and
that the targets are reported as PASS/MISS lines. Bounded: a handful of connections and
rounds, so it takes a few seconds.
"""

from __future__ import annotations

import importlib.util
import json

import pytest
from helpers.bench import run_bench

import asyncssl  # noqa: F401 - the bench needs the built extension

WORKLOADS = ("connections_per_second", "connect_p50_ms", "connect_p99_ms", "echo_p50_ms",
             "rss_per_idle_connection_bytes", "idle_cpu_percent")


@pytest.fixture(scope="module")
def scale_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench-quic-scale")
    result = run_bench("quic", "--quick", "--scale-only", "--scale-contenders", "aio,qh3", "--scale-connections", "8",
                       "--latency-rounds", "5", "--idle-seconds", "0.2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    [json_file] = out.glob("quic-scale*.json")
    return result, json.loads(json_file.read_text())


@pytest.mark.requires("quic_server")
def test_every_workload_reports_numbers_for_asyncssl(scale_run):
    _, data = scale_run
    assert data["suite"] == "quic-scale"
    scale = data["scale"]
    assert scale["settings"]["connections"] == 8 and scale["settings"]["latency_rounds"] == 5
    for workload in WORKLOADS:
        entry = scale["results"][workload]["aio"]
        assert entry["values"], workload
        if workload != "rss_per_idle_connection_bytes":   # a difference of two RSS samples: any sign
            assert entry["median"] >= 0, workload
    assert scale["results"]["connections_per_second"]["aio"]["median"] > 0
    [run] = scale["runs"]["aio"]
    assert run["errors"] == [] and run["connections"] == 8
    assert len(scale["latency_runs"]["aio"][0]["connect_ms"]) == 5


@pytest.mark.requires("quic_server")
@pytest.mark.skipif(importlib.util.find_spec("qh3") is None, reason="qh3 is not installed (the bench extra has it)")
def test_qh3_is_measured_as_a_contender(scale_run):
    _, data = scale_run
    assert data["scale"]["contenders"]["qh3"]["available"]
    assert data["scale"]["results"]["connections_per_second"]["qh3"]["median"] > 0


@pytest.mark.requires("quic_server")
def test_targets_are_reported_as_pass_or_miss_lines(scale_run):
    result, data = scale_run
    targets = data["scale"]["targets"]
    assert [t["test"] for t in targets] == ["connections/s", "connections/s", "connect p50 ms (one process)",
                                            "server RSS / idle connection", "idle server CPU, % of a core"]
    assert all(t["status"] in ("PASS", "MISS") or t["status"].startswith("n/a") for t in targets)
    assert "QUIC-at-scale targets" in result.stdout and "conn/s" in result.stdout
    assert "rep 1/1  scale" in result.stderr   # progress on stderr


def test_scale_only_and_no_scale_exclude_each_other():
    result = run_bench("quic", "--scale-only", "--no-scale")
    assert result.returncode == 2 and "exclude each other" in result.stderr


@pytest.mark.requires("quic_server")
def test_the_server_processes_workload_runs_by_default(scale_run):
    # no --scale-processes: N = 1,2, for the asyncssl configurations among the contenders
    result, data = scale_run
    procs = data["scale"]["processes"]
    assert procs["settings"]["processes"] == [1, 2] and list(procs["configs"]) == ["aio"]
    assert all(row["connections_per_second"]["median"] > 0 for row in procs["configs"]["aio"]["rows"])
    assert "connections/s from 1 to 2 processes >= 1.7x (aio): " in result.stdout
