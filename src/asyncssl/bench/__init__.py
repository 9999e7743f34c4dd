"""``python -m asyncssl bench SUITE …``: the benchmarks (DESIGN.md section 7).

Each suite is a module in this package with a ``main(argv) -> int`` and a one-line
``DESCRIPTION``.  To add one (``offload``, ``quic``), write ``asyncssl/bench/<name>.py``
with those two names and add a row to ``SUITES`` below; nothing else changes.  The
modules are imported only when chosen, so a suite whose peers are missing (aioquic, say)
never stops the others from running.

Shared pieces, for new suites to reuse rather than copy:
- ``report``    progress lines (stderr), tables (stdout), JSON and the PNG plot;
- ``timing``    the adaptive batch timer, round-robin scheduling, medians;
- ``ccompile``  compiling a C contender against the OpenSSL asyncssl is linked with;
- ``isolate``   running the measurement in a child whose environment pins that build;
- ``certs``     throw-away certificates written as PEM files.
"""

from __future__ import annotations

import importlib
import sys
from typing import Protocol, cast

# suite name -> module (relative to this package).  Order is the order of the help text.
SUITES: dict[str, str] = {
    "tls": ".tls",
    "tls-aio": ".tls.aio_workloads",
    "tls-costs": ".tls.costs",
    "offload": ".offload",
    "quic": ".quic",
}


class _Suite(Protocol):
    """What a suite module provides (see the module docstring)."""

    DESCRIPTION: str

    def main(self, argv: list[str]) -> int: ...


def _import_suite(module_name: str) -> _Suite:
    return cast(_Suite, importlib.import_module(module_name, __name__))


def _usage() -> str:
    lines = ["usage: python -m asyncssl bench SUITE [options]   (SUITE --help for its options)", "", "suites:"]
    for name, module_name in SUITES.items():
        try:
            description = _import_suite(module_name).DESCRIPTION
        except Exception as exc:  # a suite that cannot even import still shows up, with why
            description = f"(unavailable: {exc})"
        lines.append(f"  {name:<10} {description}")
    lines.append(f"  {'all':<10} every suite above in turn (the options are passed to each)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the suite named by ``argv[0]`` with the rest of ``argv``; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name == "all":
        # worst exit status wins, but every suite runs
        return max(_import_suite(module).main(list(rest)) for module in SUITES.values())
    if name not in SUITES:
        print(f"unknown benchmark suite {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    return _import_suite(SUITES[name]).main(rest)
