"""``python -m asyncssl bench quic``."""

from .suite import DESCRIPTION, main

__all__ = ["DESCRIPTION", "main"]
