"""Smoke test of ``bench quic``'s "connections/s against N server processes" workload.

``--quick --scale-processes-only``: one and two ``aio.quic_serve(reuse_port=True)``
processes on one port, and as many of OpenSSL's own C server (``quic_scale_server``), C
clients (``quic_connect_bench``) in parallel, one connection each. Never a speed assertion (DESIGN.md section 5): only that every step produced a
positive rate, that every connection was echoed by one of the server processes, that the
servers exited, and that the target is reported as a PASS/MISS line. Bounded: a few
seconds.
"""

from __future__ import annotations

import json
import os

import pytest
from helpers.bench import run_bench

import asyncssl  # noqa: F401 - the bench needs the built extension

CONNECTIONS = 8  # one per client process (bench/quic/procs.py CLIENT_PROCESSES)


@pytest.fixture(scope="module")
def procs_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench-quic-procs")
    result = run_bench("quic", "--quick", "--scale-processes-only", "--scale-connections", str(CONNECTIONS),
                       "--out", str(out), timeout=180)
    assert result.returncode == 0, result.stderr
    [json_file] = out.glob("quic-scale*.json")
    return result, json.loads(json_file.read_text())


@pytest.mark.requires("quic_server")
def test_one_and_two_server_processes_report_positive_rates(procs_run):
    _, data = procs_run
    procs = data["scale"]["processes"]
    assert procs["unavailable"] is None and procs["failed"] == {}
    assert procs["settings"]["processes"] == [1, 2]
    assert set(procs["configs"]) == {"aio", "aio-tuned", "c", "c-tuned"}
    for config, entry in procs["configs"].items():
        assert [row["processes"] for row in entry["rows"]] == [1, 2], config
        for row in entry["rows"]:
            assert row["connections_per_second"]["median"] > 0, (config, row)
            assert row["server_cpu_ms_per_connection"] > 0 and row["client_cpu_ms_per_connection"] > 0
        assert entry["rows"][1]["ratio_to_1"] > 0 and entry["cap_1_to_2"] > 0
        for n, runs in entry["runs"].items():
            [run] = runs
            assert len(run["servers"]) == int(n)
            # every connection was echoed by one of the processes sharing the port (with
            # Retry too: the retried Initial reaches the process that issued the token)
            assert sum(s["echoes"] for s in run["servers"]) == run["connections"] > 0
            assert run["connections"] == CONNECTIONS
            assert len({s["pid"] for s in run["servers"]}) == int(n)


@pytest.mark.requires("quic_server")
def test_the_server_processes_are_gone(procs_run):
    _, data = procs_run
    for entry in data["scale"]["processes"]["configs"].values():
        for runs in entry["runs"].values():
            for server in runs[0]["servers"]:
                with pytest.raises(ProcessLookupError):
                    os.kill(server["pid"], 0)


@pytest.mark.requires("quic_server")
def test_the_target_is_a_pass_or_miss_line(procs_run):
    result, data = procs_run
    targets = data["scale"]["processes"]["targets"]
    assert [t["config"] for t in targets] == ["aio", "aio-tuned", "c", "c-tuned"]
    assert all(t["status"] in ("PASS", "MISS") for t in targets)
    assert "connections/s from 1 to 2 processes >= 1.7x (aio): " in result.stdout
    assert "connections/s from 1 to 2 processes >= 1.7x (c): " in result.stdout
    assert "CPU per connection (N=2): server" in result.stdout
    assert "procs aio" in result.stderr   # progress on stderr
    assert "QUIC-at-scale targets" not in result.stdout   # only this workload ran


@pytest.mark.parametrize("argv", [["--scale-processes", "0"], ["--scale-processes", "1,x"],
                                  ["--scale-processes-only", "--no-scale"],
                                  ["--scale-processes-only", "--scale-processes", "none"],
                                  ["--scale-process-clients", "0"]])
def test_bad_process_options_are_usage_errors(argv):
    result = run_bench("quic", *argv)
    assert result.returncode == 2, result.stderr
