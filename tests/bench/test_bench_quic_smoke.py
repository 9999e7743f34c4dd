"""Smoke test of ``python -m asyncssl bench quic --quick``: it runs and its JSON is well formed.

Never a speed assertion (DESIGN.md section 5): only that every contender that could run
produced positive numbers under the expected keys, that the many-connection test
reported its figures, and that the targets are reported as PASS/MISS lines.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.bench import run_bench

import asyncssl  # noqa: F401 - the bench needs the built extension

CONTENDERS = ("c", "sync", "aio", "aioquic")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench-quic")
    result = run_bench("quic", "--quick", "--out", str(out))
    assert result.returncode == 0, result.stderr
    [json_file] = out.glob("quic*.json")
    return result, json.loads(json_file.read_text()), out


@pytest.mark.requires("quic_server")
def test_quick_run_reports_positive_bulk_numbers_for_every_contender_that_ran(quick_run):
    _, data, _ = quick_run
    assert data["suite"] == "quic"
    assert {"settings", "contenders", "tests", "many", "targets", "ratios_vs_c", "files", "failed"} <= data.keys()
    assert set(data["tests"]) == {"bulk", "client_cpu", "server_cpu"}
    ran = [n for n, c in data["contenders"].items() if c["available"]]
    assert {"sync", "aio"} <= set(ran)  # asyncssl itself always runs where the QUIC server exists
    assert set(ran) <= set(CONTENDERS)
    for name in ran:
        bulk = data["tests"]["bulk"]["results"][name]
        assert bulk["median"] > 0 and all(v > 0 for v in bulk["values"])
        for side in ("client_cpu", "server_cpu"):
            assert data["tests"][side]["results"][name]["median"] >= 0
        assert data["contenders"][name]["openssl"]
    for entry in data["contenders"].values():
        if not entry["available"] and "reason" in entry:
            assert entry["reason"]


@pytest.mark.requires("quic_server")
def test_quick_run_reports_the_many_connection_figures(quick_run):
    _, data, _ = quick_run
    many = data["many"]
    assert many["connections"] == 100 and many["streams_per_connection"] == 4
    assert many["completion_seconds"]["median"] > 0
    assert isinstance(many["errors"], int) and many["errors"] >= 0
    assert isinstance(many["all_complete"], bool)
    assert many["rss_per_connection_bytes"]["values"]  # a number, whatever its size


@pytest.mark.requires("quic_server")
def test_quick_run_prints_progress_table_and_target_lines(quick_run):
    result, data, _ = quick_run
    assert "rep 1/" in result.stderr  # progress on stderr
    assert "asyncssl targets" in result.stdout and "contender" in result.stdout
    assert len(data["targets"]) == 5
    assert all(t["status"] in ("PASS", "MISS") or t["status"].startswith("n/a") for t in data["targets"])
    if data["files"]["png"]:  # matplotlib installed
        assert Path(data["files"]["png"]).is_file()


@pytest.mark.requires("quic_server")
def test_profile_prints_cprofile_entries_for_both_sides():
    result = run_bench("quic", "--quick", "--profile", "sync", "--profile-top", "5")
    assert result.returncode == 0, result.stderr
    assert "client side" in result.stdout and "server side" in result.stdout
    assert "tottime" in result.stdout  # pstats' header


def test_unknown_contender_is_a_clear_error():
    result = run_bench("quic", "--only", "quiche")
    assert result.returncode == 2 and "unknown contender: quiche" in result.stderr
