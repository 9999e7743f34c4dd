#!/usr/bin/env python3
"""Set up a working checkout on a fresh machine: the README's quick start runs this.

    python3 tools/bootstrap.py              # .venv with asyncssl built against OpenSSL 3.5 LTS, and nox
    python3 tools/bootstrap.py --tools-only # .venv with nox only (the test matrix builds its own)

What it does:
1. checks the build prerequisites (C compiler, make, perl, OpenSSL 3 headers) and, when run as
   root on Debian/Ubuntu, installs the missing ones with apt-get; otherwise says what to install;
2. creates .venv and installs nox (and ruff) into it;
3. unless --tools-only: provisions OpenSSL 3.5 (wheels/provision_openssl.py: a pinned,
   SHA-256-checked build cached outside the work tree) and installs asyncssl built against it.

The 3.5 build has its own soname (libssl-asyncssl.so.3), so asyncssl loads it beside the system
libssl that Python's ssl uses, in any import order, with no environment variable.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
APT_PACKAGES = {"make": "make", "perl": "perl", "pkg-config": "pkg-config"}


def say(msg: str) -> None:
    print(f"[bootstrap] {msg}", flush=True)


def missing_prerequisites() -> list[str]:
    missing = [pkg for tool, pkg in APT_PACKAGES.items() if shutil.which(tool) is None]
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        missing.append("gcc")
    if not Path("/usr/include/openssl/ssl.h").is_file() and not os.environ.get("OPENSSL_DIR"):
        missing.append("libssl-dev")
    return missing


def ensure_prerequisites() -> None:
    missing = missing_prerequisites()
    if not missing:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say(f"installing {' '.join(missing)} with apt-get")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        return
    sys.exit(f"[bootstrap] missing build prerequisites: {' '.join(missing)}. Install them "
             f"(Debian/Ubuntu: sudo apt-get install {' '.join(missing)}) and run this again.")


def venv_python() -> Path:
    return VENV / "bin" / "python"


def pip(*args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(venv_python()), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
                   check=True, env=env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tools-only", action="store_true", help="only nox and ruff, no asyncssl build")
    parser.add_argument("--openssl", default="3.5", help="OpenSSL series to build against (default 3.5)")
    args = parser.parse_args()

    ensure_prerequisites()
    if not venv_python().exists():
        say(f"creating {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip("nox", "ruff")
    if args.tools_only:
        say("ready: .venv/bin/nox")
        return 0

    prefix = subprocess.run([sys.executable, str(ROOT / "wheels" / "provision_openssl.py"), args.openssl],
                            check=True, stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()[-1]
    env = {**os.environ, "OPENSSL_DIR": prefix}
    say(f"building asyncssl against OpenSSL at {prefix}")
    pip("--force-reinstall", "--no-cache-dir", "--no-deps", str(ROOT), env=env)
    pip(f"{ROOT}[test,bench]", env=env)
    say("ready: .venv/bin/python -m asyncssl demo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
