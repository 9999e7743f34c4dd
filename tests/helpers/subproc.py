"""Run a crash scenario in a fresh interpreter, so that a signal death fails the test instead of the run.

The scenario's code runs after ``from helpers.kit import *`` (certificates, memory-BIO
pairs, the simulated accelerator); it prints what the test checks. A process killed by
a signal, a non-zero exit or a timeout fails with the signal's name, the seed (if any)
and the process's stderr.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    env = dict(os.environ)
    import asyncssl

    # the asyncssl this test process imported (the installed one under nox, src/ in a checkout)
    paths = [str(TESTS_DIR), str(Path(asyncssl.__file__).resolve().parent.parent)]
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")])
    env["PYTHONFAULTHANDLER"] = "1"   # a crash prints the Python stacks of every thread
    return env


def run_scenario(code: str, *, timeout: float = 60.0, seed: int | None = None, args: tuple[str, ...] = ()) -> str:
    """Run `code` (dedented) in ``sys.executable``; returns its stdout, fails the test otherwise."""
    script = "from helpers.kit import *  # noqa: F403\n" + textwrap.dedent(code)
    label = f" (seed {seed}: rerun with that seed to reproduce)" if seed is not None else ""
    try:
        proc = subprocess.run([sys.executable, "-c", script, *args], env=_env(), capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"scenario hung for {timeout} s{label}\nstdout:\n{exc.stdout}\nstderr:\n{exc.stderr}") \
            from None
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        raise AssertionError(f"scenario died of {name}{label}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    if proc.returncode != 0:
        raise AssertionError(f"scenario exited with {proc.returncode}{label}\nstdout:\n{proc.stdout}\n"
                             f"stderr:\n{proc.stderr}")
    return proc.stdout


def stress_seeds(first: int) -> list[int]:
    """The seeds of a stress suite: ASYNCSSL_STRESS_RUNS (default 10) from `first` on, or the one
    ASYNCSSL_STRESS_SEED names (to replay a failure)."""
    one = os.environ.get("ASYNCSSL_STRESS_SEED")
    if one:
        return [int(one)]
    return [first + i for i in range(int(os.environ.get("ASYNCSSL_STRESS_RUNS", "10")))]
