"""Asynchronous crypto offload: ``SSL_MODE_ASYNC`` rules, ``ASYNC_WAIT_CTX``, completion callbacks, sign jobs, providers."""
