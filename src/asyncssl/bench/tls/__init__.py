"""``python -m asyncssl bench tls``."""

from .suite import DESCRIPTION, main

__all__ = ["DESCRIPTION", "main"]
