"""Running coroutines from plain pytest tests, always with a bound."""

from __future__ import annotations

import asyncio


def run(coro, timeout: float = 30.0):
    """Run a coroutine to completion in a fresh loop; fail instead of hanging."""
    return asyncio.run(asyncio.wait_for(coro, timeout))
