"""Value types of asynchronous crypto offload, shared by ``SSL`` and the top-level API."""

from __future__ import annotations

import enum

from .._binding import lib


class AsyncStatus(enum.IntEnum):
    """What an offloading provider reported (``ASYNC_WAIT_CTX_get_status``, ``SSL_get_async_status``).

    ``OK``: the operation was submitted and a completion will come; ``EAGAIN``: the
    device refused it for now, retry the call; ``ERR``: it failed, expect no completion;
    ``UNSUPPORTED``: the provider sets no status (e.g. it only publishes wait fds).
    """

    UNSUPPORTED = lib.ASYNC_STATUS_UNSUPPORTED
    ERR = lib.ASYNC_STATUS_ERR
    OK = lib.ASYNC_STATUS_OK
    EAGAIN = lib.ASYNC_STATUS_EAGAIN
