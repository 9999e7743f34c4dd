"""``python -m asyncssl``: info, demo, client, server, bench."""

from __future__ import annotations

import importlib
import sys

# Subcommand -> module in asyncssl.cli (or elsewhere) with a main(argv) -> int.
COMMANDS = {
    "info": ("asyncssl.cli.info", "linked/compiled OpenSSL versions, capabilities, CA lookup paths"),
    "demo": ("asyncssl.cli.demo", "the main job: QUIC streams, offloaded TLS handshakes, DTLS under loss"),
    "client": ("asyncssl.cli.client", "a TLS / DTLS / QUIC client for interop and debugging"),
    "server": ("asyncssl.cli.server", "a TLS / DTLS / QUIC server for interop and debugging"),
    "bench": ("asyncssl.bench", "benchmarks against C, Python's ssl, pyOpenSSL and aioquic"),
}


def usage() -> str:
    lines = ["usage: python -m asyncssl COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<8} {help_text}" for name, (_mod, help_text) in COMMANDS.items()]
    lines += ["", "Run `python -m asyncssl COMMAND --help` for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    status: int = module.main(rest)
    return status


if __name__ == "__main__":
    sys.exit(main())
