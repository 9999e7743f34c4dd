"""Smoke test of ``python -m asyncssl bench tls``: it runs, and its JSON is well formed.

Never a speed assertion (DESIGN.md section 5): only that every contender that could run
produced positive numbers under the expected keys, and that the report says which OpenSSL
each one used and what it negotiated.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.bench import run_bench

import asyncssl  # noqa: F401 - the bench needs the built extension

TESTS = {"bulk": "MB/s", "pingpong": "round trips/s", "handshake": "handshakes/s"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    result = run_bench("tls", "--quick", "--out", str(out))
    assert result.returncode == 0, result.stderr
    [json_file] = out.glob("tls*.json")
    return result, json.loads(json_file.read_text()), out


def test_quick_run_reports_every_available_contender_with_positive_numbers(quick_run):
    result, data, _ = quick_run
    assert data["suite"] == "tls"
    assert {"settings", "contenders", "tests", "targets", "ratios_vs_c", "files"} <= data.keys()
    assert set(data["tests"]) == set(TESTS)
    available = [n for n, c in data["contenders"].items() if not n.startswith("_") and c["available"]]
    assert "ssl" in available  # the standard library is always there
    for test, unit in TESTS.items():
        assert data["tests"][test]["unit"] == unit
        for name in available:
            summary = data["tests"][test]["results"][name]
            assert summary["median"] > 0
            assert len(summary["values"]) == data["settings"]["repeat"]
            assert all(v > 0 for v in summary["values"])


def test_each_contender_says_which_openssl_and_what_it_negotiated(quick_run):
    _, data, _ = quick_run
    for name, entry in data["contenders"].items():
        if name.startswith("_"):
            continue
        if not entry["available"]:
            assert entry["reason"]
            continue
        assert entry["openssl"].startswith("OpenSSL ")
        assert entry["openssl_source"]
        assert entry["negotiated"]["protocol"] == "TLSv1.3"
        assert entry["negotiated"]["cipher"]


def test_quick_run_prints_progress_table_and_target_lines(quick_run):
    result, data, out = quick_run
    assert "rep 1/" in result.stderr  # one progress line per step, on stderr
    assert "contender" in result.stdout and "asyncssl targets" in result.stdout
    assert len(data["targets"]) == 6
    assert all(t["status"] in ("PASS", "MISS") or t["status"].startswith("n/a") for t in data["targets"])
    if data["files"]["png"]:  # matplotlib installed
        assert Path(data["files"]["png"]).is_file()


def test_unknown_suite_and_unknown_contender_are_clear_errors():
    result = run_bench("nope")
    assert result.returncode == 2 and "unknown benchmark suite 'nope'" in result.stderr
    result = run_bench("tls", "--only", "gnutls")
    assert result.returncode == 2 and "unknown contender: gnutls" in result.stderr


def test_profile_prints_cprofile_top_entries():
    result = run_bench("tls", "--quick", "--profile", "ssl")
    assert result.returncode == 0, result.stderr
    assert "Python ssl pingpong:" in result.stdout
    assert "tottime" in result.stdout  # pstats' header
