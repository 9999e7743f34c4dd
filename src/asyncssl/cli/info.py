"""``python -m asyncssl info``: what asyncssl is built against and can do here."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .. import _binding
from ..tls import trust as _trust


def collect() -> dict[str, Any]:
    return {
        "linked": _binding.openssl_version(),
        "linked_number": hex(_binding.openssl_version_number()),
        "compiled": _binding.compiled_version(),
        "openssl_dir": _binding.openssl_prefix() or "(system library)",
        "capabilities": _binding.capabilities(),
        "missing_calls": dict(sorted(_binding.MISSING.items())),
        "ca_lookup": [loc.__dict__ for loc in _trust.lookup_plan()],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m asyncssl info", description=__doc__)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    info = collect()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"OpenSSL linked:   {info['linked']} ({info['linked_number']})")
    print(f"OpenSSL compiled: {info['compiled']}")
    print(f"OPENSSLDIR:       {info['openssl_dir']}  (the library's configuration and CA directory, built in)")
    print("capabilities:")
    for name, value in info["capabilities"].items():
        print(f"  {name:<20} {'yes' if value else 'no'}")
    if info["missing_calls"]:
        by_version: dict[str, list[str]] = {}
        for call, version in info["missing_calls"].items():
            by_version.setdefault(version, []).append(call)
        print("calls this OpenSSL lacks (they raise SSL.NotSupportedError):")
        for version, calls in sorted(by_version.items()):
            print(f"  OpenSSL {version}+: {len(calls)} calls, e.g. {', '.join(calls[:4])}")
    print("CA certificate lookup (in order; fallbacks are used only when no default is usable):")
    for loc in info["ca_lookup"]:
        print(f"  [{'found' if loc['usable'] else 'none '}] {loc['kind']:<4} {loc['path']}  ({loc['source']})")
    return 0
