"""``python -m asyncssl demo``: the whole mission at once, on loopback, with what it measured.

1. QUIC: a server and a client exchanging data on several streams in parallel.
2. Offload: one thread serving many concurrent TLS clients while their handshake
   signatures run on a (simulated) crypto accelerator under ``SSL_MODE_ASYNC``.
3. DTLS: an exchange that survives dropped datagrams through its retransmission timers.

Certificates are generated on the fly. A part the linked OpenSSL cannot run says which
version brings it and how to build against it, and the others still run.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from .. import _binding
from ._demo_certs import DemoPKI
from ._demo_parts import PARTS, PartUnavailable


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m asyncssl demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {', '.join(PARTS)}")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (for tests)")
    args = parser.parse_args(argv)
    wanted = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = [p for p in wanted if p not in PARTS]
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")

    print(f"asyncssl demo — {_binding.openssl_version()} ({_binding.openssl_prefix() or 'system library'})")
    pki = DemoPKI.create()
    failures = 0
    for name in wanted:
        title, run = PARTS[name]
        print(f"\n== {title}")
        started = time.perf_counter()
        try:
            lines = asyncio.run(run(pki, quick=args.quick))
        except PartUnavailable as why:
            print(f"   skipped: {why}")
            continue
        except Exception as exc:  # a demo part failing must not hide the others
            failures += 1
            print(f"   FAILED: {type(exc).__name__}: {exc}")
            continue
        for line in lines:
            print(f"   {line}")
        print(f"   ({time.perf_counter() - started:.2f} s)")
    return 1 if failures else 0
