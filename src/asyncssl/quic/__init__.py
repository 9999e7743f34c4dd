"""QUIC: the QUIC part of a ``Connection``, streams, the listener, ``SSL_poll``, events and the UDP socket."""
