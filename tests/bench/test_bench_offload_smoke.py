"""Smoke test of ``python -m asyncssl bench offload``: it runs, and its JSON is well formed.

Never a speed assertion (DESIGN.md section 5): the machine running the tests may be busy,
so only that every configuration produced positive numbers under the expected keys, that
the accelerator really signed, and that the targets are reported as PASS/MISS.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.bench import run_bench

import asyncssl  # noqa: F401 - the bench needs the built extension

CONFIGS = {f"{mode}-{latency}ms" for mode in ("async", "blocking") for latency in (0, 1, 5)}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench-offload")
    result = run_bench("offload", "--quick", "--out", str(out))
    assert result.returncode == 0, result.stderr
    if "skipped" in result.stdout and not list(out.glob("offload*.json")):
        # no async jobs here (musl); the requires marker normally skips before this runs
        pytest.skip(result.stdout.strip())
    [json_file] = out.glob("offload*.json")
    return result, json.loads(json_file.read_text())


@pytest.mark.requires("async_mode")
def test_quick_run_measures_every_configuration_with_positive_numbers(quick_run):
    _, data = quick_run
    assert data["suite"] == "offload"
    assert {"settings", "configs", "targets", "async_vs_blocking", "files", "failed"} <= data.keys()
    assert data["failed"] == {}
    assert set(data["configs"]) == CONFIGS
    for name, entry in data["configs"].items():
        rates = entry["handshakes_per_s"]
        assert rates["median"] > 0, name
        assert len(rates["values"]) == data["settings"]["repeat"]
        assert all(v > 0 for v in rates["values"]), name
        assert entry["client_handshakes_per_s"]["median"] > 0, name
        assert entry["negotiated"]["protocol"] == "TLSv1.3"


@pytest.mark.requires("async_mode")
def test_the_accelerator_signs_every_handshake_and_pauses_only_under_mode_async(quick_run):
    _, data = quick_run
    for name, entry in data["configs"].items():
        counters = entry["accelerator"]
        assert counters["operations"] > 0, name
        if entry["async_mode"]:
            assert counters["pauses"] > 0, name
            assert entry["pauses_per_handshake"] > 0, name
        else:
            assert counters["pauses"] == 0 and counters["sync_operations"] > 0, name


@pytest.mark.requires("async_mode")
def test_targets_are_reported_as_pass_or_miss_with_table_and_files(quick_run):
    result, data = quick_run
    assert "rep 1/" in result.stderr  # progress on stderr
    assert "handshakes/s" in result.stdout and "offload targets" in result.stdout
    assert [t["name"] for t in data["targets"]] == ["latency_hiding", "async_vs_blocking"]
    for target in data["targets"]:
        assert target["status"] in ("PASS", "MISS")
        assert target["ratio"] > 0
        assert f"{target['status']}: {target['name']}" in result.stdout
    assert Path(data["files"]["json"]).is_file()
    if data["files"]["png"]:  # matplotlib installed
        assert Path(data["files"]["png"]).is_file()


def test_unknown_profile_configuration_is_a_clear_error():
    result = run_bench("offload", "--profile", "turbo-9ms")
    if "skipped" in result.stdout:  # a platform without async jobs says so and exits 0
        assert result.returncode == 0
        return
    assert result.returncode == 2 and "unknown configuration 'turbo-9ms'" in result.stderr
