"""Running ``python -m asyncssl.bench`` from the smoke tests, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncssl


def run_bench(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    # A child process: the bench pins the OpenSSL build in the environment of its own
    # measuring child (and starts client processes), which want a fresh interpreter anyway.
    env = dict(os.environ)
    package_parent = str(Path(asyncssl.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [package_parent, env.get("PYTHONPATH", "")] if p)
    return subprocess.run([sys.executable, "-m", "asyncssl.bench", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, check=False)
