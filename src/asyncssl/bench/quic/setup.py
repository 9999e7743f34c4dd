"""What one ``bench quic`` run sets up (certificates, the C binaries, the workers' environment,
who can run) and the shapes of what it measures: shared by the suite and its report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TypedDict

from .. import isolate, report
from .common import LABELS, NAMES, Result
from .run import Side, python_worker

# One bulk repetition of one contender: each side's own report.
Run = dict[str, Result]  # {"server": ..., "client": ...}


class Measured(TypedDict):
    """What ``_measure`` collects for ``report.document``."""

    bulk: dict[str, list[Run | None]]  # per contender, per repetition; None where the step failed
    many: list[dict[str, Any]]  # per repetition: {"server", "client"} or {"failed": why}
    failed: dict[str, str]


# --- setting up --------------------------------------------------------------------------------------


class Setup:
    """Certificates, the C binaries, the workers' environment, and who can run."""

    def __init__(self, args: argparse.Namespace, directory: Path, progress: report.Progress) -> None:
        from ..ccompile import CCompileError, linked_prefix
        from ..certs import write_certificates

        self.args = args
        self.certs = write_certificates(directory)
        prefix = linked_prefix()
        self.env = isolate.child_environment(None)
        self.prefix = prefix
        self.unavailable: dict[str, str] = {}
        self.binaries: dict[str, str] = {}
        chosen = [args.profile] if args.profile else (args.only or list(NAMES))
        if "c" in chosen:
            progress.note("compiling asyncssl/bench/csrc/quic_bench_{client,server}.c against the linked OpenSSL")
            try:
                from ..ccompile import c_source, compile_c

                for side in ("client", "server"):
                    self.binaries[side] = str(compile_c(c_source(f"quic_bench_{side}.c"), prefix))
            except CCompileError as exc:
                self.unavailable["c"] = str(exc)
        if "aioquic" in chosen:
            try:
                import aioquic  # noqa: F401
            except ImportError as exc:
                self.unavailable["aioquic"] = f"aioquic is not installed ({exc}); pip install aioquic"
        self.contenders = [n for n in chosen if n not in self.unavailable]
        for name, why in self.unavailable.items():
            progress.note(f"{LABELS[name]}: not measured — {why}")

    def bulk_pair(self, name: str, profile: dict[str, str] | None = None) -> tuple[Side, Side]:
        certs, args = self.certs, self.args
        if name == "c":
            return (Side([self.binaries["server"], str(certs.certfile), str(certs.keyfile)]),
                    Side(lambda port: [self.binaries["client"], str(port), str(certs.cafile), str(args.bytes),
                                       str(args.write_size)]))
        profile = profile or {}
        server: dict[str, Any] = {"contender": name, "role": "server", "certfile": str(certs.certfile),
                  "keyfile": str(certs.keyfile), "profile": profile.get("server")}
        client: dict[str, Any] = {"contender": name, "role": "client", "cafile": str(certs.cafile), "total": args.bytes,
                  "chunk": args.write_size, "profile": profile.get("client")}
        return Side(python_worker(server)), Side(lambda port: python_worker({**client, "port": port}))

    def many_pair(self) -> tuple[Side, Side]:
        certs, args = self.certs, self.args
        common: dict[str, Any] = {"contender": "aio", "connections": args.connections, "streams": args.streams}
        server = {**common, "role": "many-server", "certfile": str(certs.certfile), "keyfile": str(certs.keyfile)}
        client = {**common, "role": "many-client", "cafile": str(certs.cafile), "size": args.many_bytes}
        return Side(python_worker(server)), Side(lambda port: python_worker({**client, "port": port}))
