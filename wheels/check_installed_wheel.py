#!/usr/bin/env python3
"""Check the asyncssl this interpreter imports is the installed static wheel, with the pinned OpenSSL.

    VENV/bin/python wheels/check_installed_wheel.py --series 3.5

Run it with the test virtualenv's python from outside the source tree. Fails unless
- ``asyncssl`` is imported from this environment's site-packages (not a checkout's src/),
- it reports the pinned OpenSSL version (wheels/openssl-pins.json) at runtime and at
  compile time, linked statically, and
- it lives in one process with Python's own ``ssl`` module, whichever is imported first,
  each keeping its own OpenSSL (the wheel's symbols are hidden, so neither interposes).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import sysconfig
from pathlib import Path

PINS = Path(__file__).resolve().parent / "openssl-pins.json"

# Both orders, and real work on both sides after the other was loaded.
TWO_OPENSSLS = """
import {first}, {second}
import ssl, asyncssl
ctx = ssl.create_default_context()
ctx.load_default_certs()
print(ssl.OPENSSL_VERSION)
print(asyncssl.openssl_version())
print(asyncssl.capabilities()["quic_server"])
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", default="3.5", help="series in openssl-pins.json the wheel bundles")
    args = parser.parse_args()
    version = json.loads(PINS.read_text())[args.series]["version"]

    import asyncssl
    from asyncssl import _binding

    problems = []
    where = Path(asyncssl.__file__).resolve()
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    print(f"asyncssl imported from {where}")
    if site not in where.parents:
        problems.append(f"asyncssl comes from {where}, not from this environment's {site}")
    runtime, compiled = asyncssl.openssl_version(), _binding.compiled_version()
    print(f"OpenSSL runtime: {runtime}; compiled: {compiled}")
    for what, text in (("runtime", runtime), ("compile-time", compiled)):
        if not text.startswith(f"OpenSSL {version} "):
            problems.append(f"{what} OpenSSL is {text!r}, not the pinned {version}")
    if not asyncssl.capabilities()["static_openssl"]:
        problems.append("capabilities()['static_openssl'] is False: the wheel links a shared OpenSSL")

    for first, second in (("ssl", "asyncssl"), ("asyncssl", "ssl")):
        proc = subprocess.run([sys.executable, "-c", TWO_OPENSSLS.format(first=first, second=second)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            problems.append(f"`import {first}, {second}` failed:\n{proc.stderr}")
            continue
        python_ssl, ours, quic_server = proc.stdout.split("\n")[:3]
        print(f"import {first}, {second}: ssl has {python_ssl!r}, asyncssl has {ours!r}")
        if not ours.startswith(f"OpenSSL {version} ") or quic_server != "True":
            problems.append(f"after `import {first}, {second}` asyncssl has {ours!r} (quic_server {quic_server})")
    for problem in problems:
        print(f"check_installed_wheel: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
