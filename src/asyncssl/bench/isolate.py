"""Run a suite's measurements in a child process whose environment pins the OpenSSL build.

Why a child: in one process there is one ``libssl.so.3``.  Python's ``_ssl`` loads it by
soname, so without ``LD_LIBRARY_PATH`` pointing at the build asyncssl was compiled
against, ``import ssl`` gets the system library and the "same OpenSSL" comparison is
quietly false (or asyncssl refuses to import, because the loaded library is older).
The environment must be right before the process starts, hence a child.

The child also gets ``OPENSSL_CONF`` naming a small configuration whose ``system_default``
section restricts every ``SSL_CTX`` created in that process to the benchmark's group and
TLS 1.3 suite.  Python's ``ssl`` has no API for TLS 1.3 suites, and this is OpenSSL's own,
documented way to set them process-wide; the other contenders set the same values
explicitly as well, and every contender's negotiated cipher and group is checked and
reported, so the policy is verified rather than assumed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHILD_MARK = "ASYNCSSL_BENCH_CHILD"


def in_child() -> bool:
    return os.environ.get(CHILD_MARK) == "1"


def write_policy(path: Path, groups: str, ciphersuites: str) -> Path:
    """An OpenSSL config that applies ``groups`` and ``ciphersuites`` to every SSL_CTX."""
    path.write_text(
        "# written by asyncssl.bench: the same key exchange and cipher for every contender\n"
        "openssl_conf = openssl_init\n\n"
        "[openssl_init]\nssl_conf = ssl_sect\n\n"
        "[ssl_sect]\nsystem_default = system_default_sect\n\n"
        f"[system_default_sect]\nGroups = {groups}\nCiphersuites = {ciphersuites}\n"
    )
    return path


def child_environment(libdir: str | None, policy: Path | None) -> dict[str, str]:
    """The parent's environment plus: the build's lib dir first on LD_LIBRARY_PATH, the
    policy as OPENSSL_CONF, and the package on PYTHONPATH (the parent may have found it
    through sys.path tweaks, e.g. pytest's, that a child would not inherit)."""
    env = dict(os.environ)
    env[CHILD_MARK] = "1"
    if libdir:
        rest = [p for p in env.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p and p != libdir]
        env["LD_LIBRARY_PATH"] = os.pathsep.join([libdir, *rest])
    if policy is not None:
        env["OPENSSL_CONF"] = str(policy)
    package_parent = str(Path(__file__).resolve().parents[2])
    rest = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != package_parent]
    env["PYTHONPATH"] = os.pathsep.join([package_parent, *rest])
    return env


def run_child(argv: list[str], env: dict[str, str]) -> int:
    """``python -m asyncssl.bench *argv`` in ``env``; stdout and stderr pass straight through."""
    return subprocess.run([sys.executable, "-m", "asyncssl.bench", *argv], env=env, check=False).returncode
