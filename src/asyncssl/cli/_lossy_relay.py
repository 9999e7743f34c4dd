"""An asyncio UDP relay on 127.0.0.1 that drops (and can delay) datagrams, for the DTLS demo.

Client datagrams arriving at the relay's port go to the upstream address; replies go back
to the last client seen. Each direction drops with probability `drop` from a seeded RNG,
so a run is repeatable.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any, cast


class LossyRelay(asyncio.DatagramProtocol):
    def __init__(self, upstream: tuple[str, int], drop: float, seed: int = 7) -> None:
        self.upstream = upstream
        self.drop = drop
        self._rng = random.Random(seed)
        self._transport: asyncio.DatagramTransport | None = None
        self._client: tuple[str | Any, int] | None = None
        self.forwarded = 0
        self.dropped = 0

    @classmethod
    async def start(cls, upstream: tuple[str, int], drop: float, seed: int = 7) -> LossyRelay:
        loop = asyncio.get_running_loop()
        relay = cls(upstream, drop, seed)
        await loop.create_datagram_endpoint(lambda: relay, local_addr=("127.0.0.1", 0))
        return relay

    @property
    def address(self) -> tuple[str, int]:
        assert self._transport is not None, "the relay is started"
        sockname: tuple[str, int] = self._transport.get_extra_info("sockname")
        return sockname[:2]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)  # a datagram endpoint's

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if addr[:2] == self.upstream[:2] and addr[1] == self.upstream[1]:
            target = self._client
        else:
            self._client = addr
            target = self.upstream
        if target is None:
            return
        if self._rng.random() < self.drop:
            self.dropped += 1
            return
        self.forwarded += 1
        assert self._transport is not None  # datagrams arrive only after connection_made
        self._transport.sendto(data, target)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
