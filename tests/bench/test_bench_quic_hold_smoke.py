"""Smoke test of ``python -m asyncssl bench quic --hold N`` (one server holding idle connections).

Never a speed assertion (DESIGN.md section 5): only that the server held every connection
its client processes opened, measured its windows, timed a listener tick and an SSL_poll
over the connections for asyncssl and for OpenSSL's C server, and wrote the JSON. Bounded: 8 connections from 2 processes, two windows of 0.2 s.
"""

from __future__ import annotations

import json

import pytest
from helpers.bench import run_bench

import asyncssl  # noqa: F401 - the bench needs the built extension


@pytest.mark.requires("quic_server")
def test_hold_reports_every_connection_still_open_and_the_tick_cost(tmp_path):
    result = run_bench("quic", "--hold", "8", "--hold-clients", "2", "--hold-windows", "2",
                       "--hold-window-seconds", "0.2", "--hold-contenders", "aio,aio-tuned,c", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    [json_file] = tmp_path.glob("quic-hold-8-*.json")
    data = json.loads(json_file.read_text())
    assert data["suite"] == "quic-hold"
    for name in ("aio", "aio-tuned", "c"):   # c: OpenSSL's own C server, held by asyncssl clients
        entry = data["hold"]["results"][name]
        assert entry["connections"] == 8 and entry["still_open"] == 8, entry
        assert len(entry["idle_cpu_percent_per_window"]) == 2
        assert entry["connections_per_second"] > 0 and all(t > 0 for t in entry["tick_us"])
        assert all(t > 0 for t in entry["poll_us"])
        assert entry["status"] in ("PASS", "MISS")
        assert [c["connections"] for c in data["hold"]["raw"][name]["clients"]] == [4, 4]
    assert data["hold"]["raw"]["aio-tuned"]["shards"] > 1
    assert "one listener tick" in result.stdout and "idle server CPU <= 1%" in result.stdout


def test_hold_needs_at_least_one_connection_per_client():
    result = run_bench("quic", "--hold", "1", "--hold-clients", "2")
    assert result.returncode == 2 and "at least --hold-clients" in result.stderr
