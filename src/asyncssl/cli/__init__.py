"""Command-line entry points of ``python -m asyncssl``; each module has ``main(argv) -> int``."""
