"""build_ffi.py: finding OpenSSL and failing with an actionable message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_build_script(env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    # Importing build_ffi runs the lookup and the version check (compiling is not needed).
    env = {**os.environ, **env_overrides}
    return subprocess.run([sys.executable, "-c", "import build_ffi"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def old_openssl_prefix(tmp_path: Path) -> Path:
    """An install prefix whose headers are OpenSSL 1.1.1's (no OPENSSL_VERSION_MAJOR)."""
    (tmp_path / "include" / "openssl").mkdir(parents=True)
    (tmp_path / "include" / "openssl" / "opensslv.h").write_text(
        "#ifndef HEADER_OPENSSLV_H\n# define HEADER_OPENSSLV_H\n"
        '# define OPENSSL_VERSION_NUMBER  0x1010117fL\n# define OPENSSL_VERSION_TEXT "OpenSSL 1.1.1w  11 Sep 2023"\n#endif\n'
    )
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "libssl.so").write_bytes(b"")
    return tmp_path


def test_openssl_dir_pointing_at_nothing_fails_with_what_to_do(tmp_path: Path):
    result = run_build_script({"OPENSSL_DIR": str(tmp_path / "nowhere")})
    assert result.returncode != 0
    assert "OPENSSL_DIR" in result.stderr
    assert "has no include/openssl/opensslv.h" in result.stderr
    assert "provision_openssl.py" in result.stderr  # says how to get one


def test_openssl_dir_without_libraries_fails_with_what_to_do(tmp_path: Path, old_openssl_prefix: Path):
    (old_openssl_prefix / "lib" / "libssl.so").unlink()
    result = run_build_script({"OPENSSL_DIR": str(old_openssl_prefix)})
    assert result.returncode != 0
    assert "no lib/ or lib64/ with libssl" in result.stderr


def test_headers_older_than_3_0_fail_with_what_to_do(old_openssl_prefix: Path):
    result = run_build_script({"OPENSSL_DIR": str(old_openssl_prefix)})
    assert result.returncode != 0
    assert "older than 3.0" in result.stderr
    assert "OPENSSL_DIR" in result.stderr


def test_the_c_prelude_rejects_pre_3_0_headers_too():
    # The Python check is a friendly early message; the #error in C is the real gate.
    from_prelude = (ROOT / "src" / "_cffi_src" / "prelude.py").read_text()
    assert "#if OPENSSL_VERSION_NUMBER < 0x30000000L" in from_prelude
    assert "#error" in from_prelude
