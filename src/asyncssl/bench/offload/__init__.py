"""``python -m asyncssl bench offload``."""

from .suite import DESCRIPTION, main

__all__ = ["DESCRIPTION", "main"]
