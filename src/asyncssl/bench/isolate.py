"""Run a suite's measurements in a child process whose environment pins the OpenSSL build.

Why a child: the measurements run in a process whose OpenSSL configuration is the
benchmark's own, set before any OpenSSL is initialised. Python's ``ssl`` runs on the
library it was built with (the system's); asyncssl and the C contender on the build asyncssl
was compiled against: each contender's library is reported, never assumed.

The child gets ``OPENSSL_CONF`` naming a small configuration whose ``system_default``
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


def child_environment(policy: Path | None) -> dict[str, str]:
    """The parent's environment plus: the policy as OPENSSL_CONF, and the package on
    PYTHONPATH (the parent may have found it through sys.path tweaks, e.g. pytest's, that a
    child would not inherit)."""
    env = dict(os.environ)
    env[CHILD_MARK] = "1"
    if policy is not None:
        env["OPENSSL_CONF"] = str(policy)
    package_parent = str(Path(__file__).resolve().parents[2])
    rest = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != package_parent]
    env["PYTHONPATH"] = os.pathsep.join([package_parent, *rest])
    return env


def run_child(argv: list[str], env: dict[str, str]) -> int:
    """``python -m asyncssl.bench *argv`` in ``env``; stdout and stderr pass straight through."""
    return subprocess.run([sys.executable, "-m", "asyncssl.bench", *argv], env=env, check=False).returncode
