"""python -m asyncssl info."""

from __future__ import annotations

import json
import subprocess
import sys

import asyncssl


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "asyncssl", *args], capture_output=True, text=True, timeout=60)


def test_info_reports_versions_capabilities_and_ca_lookup():
    result = run("info")
    assert result.returncode == 0, result.stderr
    assert asyncssl.openssl_version() in result.stdout
    assert "OpenSSL compiled:" in result.stdout
    assert "quic_server" in result.stdout
    assert "CA certificate lookup" in result.stdout
    # OpenSSL's OPENSSLDIR, not the build variable OPENSSL_DIR
    assert "OPENSSLDIR:" in result.stdout and "OPENSSL_DIR" not in result.stdout


def test_info_json_matches_the_library():
    result = run("info", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["linked"] == asyncssl.openssl_version()
    assert info["capabilities"] == asyncssl.capabilities()
    assert all({"path", "kind", "usable", "source"} <= set(loc) for loc in info["ca_lookup"])


def test_unknown_command_is_refused_with_usage():
    result = run("frobnicate")
    assert result.returncode == 2
    assert "unknown command 'frobnicate'" in result.stderr
    assert "demo" in result.stderr
