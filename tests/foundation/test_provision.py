"""wheels/provision_openssl.py: cached builds are reused; bad requests fail clearly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "wheels" / "provision_openssl.py"
PINS = json.loads((ROOT / "wheels" / "openssl-pins.json").read_text())


def provision(cache: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ASYNCSSL_OPENSSL_CACHE": str(cache)}
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)


def test_a_finished_build_in_the_cache_is_reused_without_rebuilding(tmp_path: Path):
    version = PINS["3.5"]["version"]
    prefix = tmp_path / f"{version}-shared"
    prefix.mkdir()
    (prefix / ".asyncssl-build.json").write_text(json.dumps(
        {"version": version, "static": False, "configure": [f"--openssldir={prefix / 'ssl'}"],
         "shlib_variant": "-asyncssl"}))
    result = provision(tmp_path, "3.5")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(prefix)
    assert "reusing cached OpenSSL" in result.stderr
    # no download, no build: nothing was fetched into the cache and no build log written
    assert not (tmp_path / "downloads").exists()
    assert not list(tmp_path.glob("build-*.log"))


def test_a_build_for_another_openssldir_is_not_reused(tmp_path: Path):
    # The OPENSSLDIR is baked in (a wheel's must be a path on users' machines).
    version = PINS["3.5"]["version"]
    prefix = tmp_path / f"{version}-shared"
    prefix.mkdir()
    (prefix / ".asyncssl-build.json").write_text(json.dumps(
        {"version": version, "static": False, "configure": ["--openssldir=/usr/local/ssl"]}))
    env = {**os.environ, "ASYNCSSL_OPENSSL_CACHE": str(tmp_path), "ASYNCSSL_DEBIAN_MIRROR": "http://127.0.0.1:9/none"}
    result = subprocess.run([sys.executable, str(SCRIPT), "3.5"], env=env, capture_output=True, text=True, timeout=120)
    assert "reusing" not in result.stderr
    assert result.returncode != 0  # it tried to fetch and build instead (no network here)


def test_an_unfinished_build_is_not_reused(tmp_path: Path):
    # A prefix without the completion stamp (an interrupted build) must not be trusted.
    (tmp_path / f"{PINS['3.5']['version']}-shared").mkdir()
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / f"openssl_{PINS['3.5']['version']}.orig.tar.gz").write_bytes(b"not a tarball")
    env = {**os.environ, "ASYNCSSL_OPENSSL_CACHE": str(tmp_path), "ASYNCSSL_DEBIAN_MIRROR": "http://127.0.0.1:9/none"}
    result = subprocess.run([sys.executable, str(SCRIPT), "3.5"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "reusing" not in result.stderr


def test_unknown_series_is_refused_with_the_known_ones(tmp_path: Path):
    result = provision(tmp_path, "1.1")
    assert result.returncode == 2
    assert "unknown OpenSSL series '1.1'" in result.stderr
    assert "3.5" in result.stderr and "4.0" in result.stderr


def test_pins_name_a_version_and_a_sha256_for_each_series():
    for series in ("3.5", "4.0"):
        pin = PINS[series]
        assert pin["version"].startswith(series + ".")
        assert len(pin["sha256"]) == 64 and int(pin["sha256"], 16) >= 0
